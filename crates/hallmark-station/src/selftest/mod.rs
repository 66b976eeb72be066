//! Connection self-tests: the board proves, before its label prints, that its new
//! identity works.

mod link;
mod possession;

pub use link::{tls_link, LinkEvidence, LinkFailure, STATION_SERVER_NAME};
pub use possession::verify_possession;
