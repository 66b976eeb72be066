//! Hallmark station core, free of any GUI: running the station (start-up,
//! administration, the CA's state and CRL, printers, slots) and the run pipeline that
//! decides what happens to each board. Talking to the board itself (links, client,
//! dialects, probes, self-tests, the failure contract) is `hallmark-device`,
//! re-exported here under the same module names.
//!
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
pub mod build_info;
pub mod ca_hierarchy;
pub mod ca_status;
pub mod clock;
pub mod crl;
pub mod datadir;
pub mod engineer;
pub mod evidence;
pub mod fixture;
pub mod fleet_gate;
pub mod fleet_revocations;
pub mod fleet_sync;
pub mod lifecycle;
pub mod pipeline;
pub mod presence;
pub mod printer;
pub mod profile;
pub mod report;
mod setup_error;
pub mod startup;
mod uid;

// Talking to one board is `hallmark-device`'s; its modules keep their paths here.
pub use hallmark_device::{client, conformance, dialect, probe, selftest, transport, Failure, FailureCode};
pub use setup_error::SetupError;
pub use uid::Uid;

/// Hallmark's version, recorded with every run.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
