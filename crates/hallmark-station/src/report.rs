//! What one run produced: the `hallmark provision --json` contract.

use crate::Failure;
use serde::Serialize;

/// Final outcome of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    /// Every step passed.
    Pass,
    /// A step failed.
    Fail,
    /// The run was stopped (operator cancel).
    Interrupted,
}

impl Outcome {
    /// As written in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Interrupted => "INTERRUPTED",
        }
    }
}

/// One step's result.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StepReport {
    /// Step name.
    pub name: String,
    /// PASS / FAIL / INTERRUPTED.
    pub outcome: String,
    /// Duration in milliseconds (microsecond resolution).
    pub ms: f64,
}

/// Everything a run produced. Fields are only ever added, never renamed.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// Run id (UUID-like, also in the log).
    pub run_id: String,
    /// Final outcome.
    pub outcome: Outcome,
    /// Station name.
    pub station: String,
    /// Port the board was on.
    pub port: String,
    /// Device UID (certificate CN, label).
    pub uid: Option<String>,
    /// Hardware id, hex.
    pub hardware_id: Option<String>,
    /// Device model.
    pub model: Option<String>,
    /// Device firmware version.
    pub firmware_version: Option<String>,
    /// Steps in order.
    pub steps: Vec<StepReport>,
    /// Issued certificate (PEM).
    pub cert_pem: Option<String>,
    /// Chain (PEM): issuing CA then root.
    pub chain_pem: Option<String>,
    /// Certificate serial, hex.
    pub cert_serial: Option<String>,
    /// Certificate SHA-256 fingerprint, hex.
    pub cert_fingerprint: Option<String>,
    /// Saved label PDF.
    pub label_pdf: Option<String>,
    /// Why it failed.
    pub failure: Option<Failure>,
    /// Whole run, milliseconds.
    pub duration_ms: f64,
    /// The log file.
    pub log: String,
}
