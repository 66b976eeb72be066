//! Connection self-tests: the board proves, before its label prints, that its new
//! identity works.

mod broker;
mod link;
mod possession;

pub use broker::{broker_test, station_identity, BrokerEvidence, BrokerFailure};
pub use link::{tls_link, LinkEvidence, LinkFailure};
pub use possession::{verify_possession, PossessionError};
