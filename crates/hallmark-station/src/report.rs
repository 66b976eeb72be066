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
    /// Station id.
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
    /// The print job, when a printer is configured.
    pub label_print: Option<crate::printer::PrintJob>,
    /// Why it failed.
    pub failure: Option<Failure>,
    /// Whole run, milliseconds.
    pub duration_ms: f64,
    /// The log file.
    pub log: String,
    /// Slot nickname.
    pub slot: Option<String>,
    /// What the run did: fresh, resume-install, reverify or reissue.
    pub plan: Option<String>,
    /// Certificates revoked (superseded) by this run.
    pub revoked_serials: Vec<String>,
    /// Number of the CRL published by this run, if it revoked anything.
    pub crl_number: Option<u64>,
    /// SBOM reference configured for the device's firmware version.
    pub sbom: Option<serde_json::Value>,
    /// SHA-256 of the station configuration in force.
    pub config_hash: String,
    /// What crossed the link (`bytes_to_device`, `bytes_from_device`, `round_trips`,
    /// retransmissions, corrupt and stale frames), whether the run passed or not;
    /// `null` for a dialect that does not count (AT-command modems).
    pub link: Option<hallmark_device::client::LinkStats>,
}

impl RunReport {
    pub(crate) fn new(
        run_id: String,
        station: &crate::pipeline::Station,
        request: &crate::pipeline::RunRequest,
        store: &hallmark_store::Store,
    ) -> RunReport {
        RunReport {
            run_id,
            outcome: Outcome::Fail,
            station: station.station_id.clone(),
            port: request.port.to_string(),
            uid: None,
            hardware_id: None,
            model: None,
            firmware_version: None,
            steps: Vec::new(),
            cert_pem: None,
            chain_pem: None,
            cert_serial: None,
            cert_fingerprint: None,
            label_pdf: None,
            label_print: None,
            failure: None,
            duration_ms: 0.0,
            log: store.path().display().to_string(),
            slot: request.slot.clone(),
            plan: None,
            revoked_serials: Vec::new(),
            crl_number: None,
            sbom: None,
            config_hash: station.config.hash.clone(),
            link: None,
        }
    }
}
