//! Talking to one board, whatever it speaks: the links (serial ports, debug probes
//! over RTT), the request/response client with deadlines and retransmission, the
//! device dialects behind one seam, the self-test conversations, and the failure
//! contract every run ends with. GUI-free and free of station state: the station
//! core (`hallmark-station`) decides what a run does; this crate carries it out on
//! the board and says, in words, what went wrong.
//!
//! - [`transport`]: opening serial links (the only code here that touches ports).
//! - [`probe`]: debug probes (probe-rs behind the `probe-rs` feature) and RTT.
//! - [`client::DeviceClient`]: Hallmark protocol v1 requests with deadlines,
//!   retransmission and strict checking of everything the device sends.
//! - [`conformance`]: the conformance kit firmware teams run against their board.
//! - [`dialect`]: the seam the pipeline talks to boards through.
//! - [`selftest`]: the connection self-tests a board runs with its new identity.
//! - [`Failure`], [`FailureCode`]: the one failure contract, and [`failures`] mapping
//!   link, device and probe errors to it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod conformance;
pub mod dialect;
mod failure;
pub mod failures;
pub mod probe;
pub mod selftest;
pub mod transport;

pub use failure::{Failure, FailureCode};
