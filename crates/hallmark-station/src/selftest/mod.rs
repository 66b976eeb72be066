//! Connection self-tests: the board proves, before its label prints, that its new
//! identity works.

mod link;
mod possession;

pub use link::{tls_link, LinkEvidence, LinkFailure};
pub use possession::verify_possession;
