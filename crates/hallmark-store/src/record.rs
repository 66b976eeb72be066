//! The run record's vocabulary, shared by the pipeline that writes it and the queries
//! and exports that read it: the steps of a run, and what identification found. The
//! store's SQL never spells a step: it is given one of these, or reads the columns
//! these fill.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A step of a run, as the log names it (`events.step`; stable strings, QA filters and
/// exports use them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Step {
    /// Opening the link (serial port, or probe attach and flash).
    Connect,
    /// Asking the board who it is; deciding the UID and the plan.
    Identify,
    /// Laying the label out with the board's real values (before any key exists).
    LabelCheck,
    /// The board generates its key pair.
    Keygen,
    /// Reading and verifying the board's CSR.
    Csr,
    /// Signing the certificate (and revoking what it supersedes).
    Sign,
    /// Writing certificate, chain and trust anchor to the board.
    Install,
    /// Reading them back.
    Readback,
    /// Proving the new identity works.
    Selftest,
    /// Ending the session.
    Finish,
    /// Keeping and printing the label.
    Label,
}

impl Step {
    /// Every step of a fresh run, in order (a resumed or re-verified board skips some).
    pub const FRESH_RUN: [Step; 11] = [
        Step::Connect,
        Step::Identify,
        Step::LabelCheck,
        Step::Keygen,
        Step::Csr,
        Step::Sign,
        Step::Install,
        Step::Readback,
        Step::Selftest,
        Step::Finish,
        Step::Label,
    ];

    /// The name in the log.
    pub const fn as_str(self) -> &'static str {
        match self {
            Step::Connect => "connect",
            Step::Identify => "identify",
            Step::LabelCheck => "label-check",
            Step::Keygen => "keygen",
            Step::Csr => "csr",
            Step::Sign => "sign",
            Step::Install => "install",
            Step::Readback => "readback",
            Step::Selftest => "selftest",
            Step::Finish => "finish",
            Step::Label => "label",
        }
    }

    /// The step a log name stands for.
    pub fn parse(name: &str) -> Option<Step> {
        Step::FRESH_RUN.into_iter().find(|s| s.as_str() == name)
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What identification found about the board, recorded with the run as soon as it is
/// known (so an interrupted run still says which board it was).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// The UID the board gets (or has).
    pub uid: Option<String>,
    /// Hardware id, hex.
    pub hardware_id: Option<String>,
    /// Model, as the board reports it.
    pub model: Option<String>,
    /// Firmware version, as the board reports it.
    pub firmware_version: Option<String>,
    /// The firmware's SBOM reference from the configuration, if it has one.
    pub sbom: Option<Value>,
}

/// The log's own events around the steps (run lifecycle, UID, certificate,
/// revocation): never a step of the run, never in a run's step list.
pub(crate) const OWN_EVENTS: [&str; 4] = ["run", "uid", "certificate", "revocation"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_names_are_stable_and_round_trip() {
        let names: Vec<_> = Step::FRESH_RUN.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "connect",
                "identify",
                "label-check",
                "keygen",
                "csr",
                "sign",
                "install",
                "readback",
                "selftest",
                "finish",
                "label"
            ]
        );
        for s in Step::FRESH_RUN {
            assert_eq!(Step::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(Step::parse("run"), None, "the log's own events are not steps");
    }
}
