//! A simulated board: the reference agent with a software key store, its "flash" in
//! a JSON state file, served over a real pseudo-terminal so the station opens it
//! exactly like a USB-UART port. [`Fault`]s make it misbehave on purpose.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod board;
mod faults;
pub mod modem;
mod paced;
mod pty;
mod state;
pub mod tls;

pub use board::{Answer, Board, ServeEnd};
pub use faults::{Fault, FaultStep};
pub use paced::Paced;
pub use pty::Pty;
pub use state::BoardState;

/// Errors of the simulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The state file could not be read or written.
    #[error("board state file {path}: {why}")]
    State {
        /// File.
        path: String,
        /// Cause.
        why: String,
    },
    /// The pseudo-terminal could not be created.
    #[error("cannot create a pseudo-terminal: {0}")]
    Pty(String),
    /// A `--fault` value is not understood.
    #[error("unknown fault {0:?}; known: slow-keygen[=MS], drop-after=STEP, corrupt-frames=RATE, bad-csr-signature, csr-wrong-key, oversized-frame, silent, wrong-protocol-version, no-capabilities, garbage-response, storage-error, readback-mismatch, selftest-wrong-key, tls-wrong-key, no-tls")]
    BadFault(String),
}
