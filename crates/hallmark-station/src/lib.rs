//! Hallmark station core, free of any GUI.
//!
//! - [`transport`]: opening links to boards (serial ports today).
//! - [`client::DeviceClient`]: request/response over a link with deadlines,
//!   retransmission and strict checking of everything the device sends.
//! - [`pipeline::Provisioner`]: one run, step by step, logged before each action.
//! - [`report::RunReport`]: what a run produced (the CLI's `--json` contract).
//! - [`startup`]: `Station::open`, the one start-up every front end uses.
//! - [`admin`]: engineer changes (configuration, label template, the PIN role),
//!   audited before they act.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
pub mod assemble;
pub mod broker_files;
pub mod ca_status;
pub mod client;
pub mod clock;
pub mod crl;
pub mod datadir;
pub mod dialect;
pub mod engineer;
mod failure;
pub mod fixture;
pub mod pipeline;
pub mod presence;
pub mod printer;
pub mod probe;
pub mod profile;
pub mod report;
pub mod selftest;
mod setup_error;
pub mod startup;
pub mod transport;
mod uid;

pub use failure::{Failure, FailureCode};
pub use setup_error::SetupError;
pub use uid::Uid;

/// Hallmark's version, recorded with every run.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
