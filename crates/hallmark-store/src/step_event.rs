//! What each step of a run records when it ends: one type per step's `PASS` detail,
//! gathered in [`StepEvent`]. The pipeline builds these, the store serialises them
//! once ([`crate::Store::end_step`]), and readers get them back through
//! [`StepEvent::parse`], so the keys are spelled in one place.
//!
//! The JSON is the evidence in the hash-chained log: existing logs, the e2e tests, the
//! window and the exports read these keys, so a field's name, its `null`-or-absent
//! rule and its order (the JSON order when `serde_json` keeps it) never change. A
//! field may only be added, and then readers of older logs must cope with it missing.
//!
//! What the device crate or a dialect defines (a flash record, self-test evidence,
//! link statistics, dialect facts) stays open JSON here: the store sits below those
//! crates and cannot name their types, and the log keeps what they reported.

use crate::Step;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The end of one step: its `PASS` detail, or the failure it ended with.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum StepEvent {
    /// `connect` passed.
    Connected(Connected),
    /// `identify` passed.
    Identified(Identified),
    /// `label-check` passed.
    LabelChecked(LabelChecked),
    /// `keygen` passed.
    KeyGenerated(KeyGenerated),
    /// `csr` passed.
    CsrVerified(CsrVerified),
    /// `sign` passed.
    Signed(Signed),
    /// `install` passed.
    Installed(Installed),
    /// `readback` passed.
    ReadBack(ReadBack),
    /// `selftest` passed.
    SelfTested(SelfTested),
    /// `finish` passed.
    Finished(Finished),
    /// `label` passed.
    Labelled(Labelled),
    /// The step failed or was cut short: `{ "failure": … }`.
    Failed {
        /// The step that failed (the event's `step` column, not part of the detail).
        #[serde(skip)]
        step: Step,
        /// The failure as the station serialises it (`code`, `message`, `what`, `todo`,
        /// …; `null` for a step cut short without one). Open JSON: failures are the
        /// station's vocabulary, not the log's.
        failure: Value,
    },
}

/// Why a step's detail could not be read as its [`StepEvent`].
#[derive(Debug, thiserror::Error)]
#[error("the {step} detail does not have the shape of a {step} event: {source}")]
pub struct StepEventError {
    /// The step whose detail it was.
    pub step: Step,
    /// What did not fit.
    #[source]
    pub source: serde_json::Error,
}

impl StepEvent {
    /// The step this event ends.
    pub fn step(&self) -> Step {
        match self {
            StepEvent::Connected(_) => Step::Connect,
            StepEvent::Identified(_) => Step::Identify,
            StepEvent::LabelChecked(_) => Step::LabelCheck,
            StepEvent::KeyGenerated(_) => Step::Keygen,
            StepEvent::CsrVerified(_) => Step::Csr,
            StepEvent::Signed(_) => Step::Sign,
            StepEvent::Installed(_) => Step::Install,
            StepEvent::ReadBack(_) => Step::Readback,
            StepEvent::SelfTested(_) => Step::Selftest,
            StepEvent::Finished(_) => Step::Finish,
            StepEvent::Labelled(_) => Step::Label,
            StepEvent::Failed { step, .. } => *step,
        }
    }

    /// `step` failed with `failure` (the station's failure, serialised).
    pub fn failed(step: Step, failure: Value) -> StepEvent {
        StepEvent::Failed { step, failure }
    }

    /// The detail as the log records it.
    pub fn to_detail(&self) -> Result<Value, serde_json::Error> {
        serde_json::to_value(self)
    }

    /// Reads back the `end` detail of `step`: the one way to get a step's detail typed.
    /// A detail that is an object with `failure` as its only key is the failed event
    /// (the end events of `FAIL` and `INTERRUPTED` steps).
    pub fn parse(step: Step, detail: &Value) -> Result<StepEvent, StepEventError> {
        let err = |source| StepEventError { step, source };
        if let Some(map) = detail.as_object() {
            if map.len() == 1 {
                if let Some(failure) = map.get("failure") {
                    return Ok(StepEvent::failed(step, failure.clone()));
                }
            }
        }
        fn read<T: serde::de::DeserializeOwned>(detail: &Value) -> Result<T, serde_json::Error> {
            T::deserialize(detail)
        }
        Ok(match step {
            Step::Connect => StepEvent::Connected(read(detail).map_err(err)?),
            Step::Identify => StepEvent::Identified(read(detail).map_err(err)?),
            Step::LabelCheck => StepEvent::LabelChecked(read(detail).map_err(err)?),
            Step::Keygen => StepEvent::KeyGenerated(read(detail).map_err(err)?),
            Step::Csr => StepEvent::CsrVerified(read(detail).map_err(err)?),
            Step::Sign => StepEvent::Signed(read(detail).map_err(err)?),
            Step::Install => StepEvent::Installed(read(detail).map_err(err)?),
            Step::Readback => StepEvent::ReadBack(read(detail).map_err(err)?),
            Step::Selftest => StepEvent::SelfTested(read(detail).map_err(err)?),
            Step::Finish => StepEvent::Finished(read(detail).map_err(err)?),
            Step::Label => StepEvent::Labelled(read(detail).map_err(err)?),
        })
    }
}

/// How the link was opened. Which of the three shapes a `connect` detail has says how
/// the station reached the board (serial port, a link opened by the caller, a probe).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Connected {
    /// Attached through a debug probe (RTT link), perhaps after flashing.
    // First: tried in order when read back, and its keys are the most specific.
    Probe {
        /// The probe, as listed.
        probe: String,
        /// The configured probe selector.
        selector: String,
        /// The probe-rs target name.
        chip: String,
        /// The chip's unique id read over SWD (hex, upper case), if it could be.
        chip_uid: Option<String>,
        /// Why the chip's unique id could not be read.
        chip_uid_note: Option<String>,
        /// What was flashed (the probe backend's record), if anything.
        flash: Option<Value>,
    },
    /// A link the caller opened, spoken to in `dialect`.
    // Before `Serial`, whose one key it shares.
    Link {
        /// The port as recorded for the run.
        port: String,
        /// Always [`LinkState::Open`].
        link: LinkState,
        /// The dialect's name.
        dialect: String,
    },
    /// A serial port the station opened.
    Serial {
        /// The port.
        port: String,
    },
}

/// The state of a link the caller opened (there is only one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkState {
    /// Open when the run started.
    Open,
}

/// What identification found and decided.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Identified {
    /// The UID the board gets (or has).
    pub uid: String,
    /// Hardware id, hex, upper case.
    pub hardware_id: String,
    /// Model, sanitised.
    pub model: String,
    /// Firmware version, sanitised.
    pub firmware_version: String,
    /// The firmware's SBOM reference from the configuration (`{sbom, sha256}`), or
    /// `null`: the configuration's shape, which may grow.
    pub sbom: Option<Value>,
    /// The dialect's name; absent in logs written before the dialect seam.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialect: Option<String>,
    /// The board binds its CSR to a station challenge.
    pub csr_binding: bool,
    /// The board held a key already.
    pub has_key: bool,
    /// Fingerprint of the certificate the board holds, if it holds one this station
    /// issued.
    pub installed_fingerprint: Option<String>,
    /// What the run does with this board.
    pub plan: PlanRecord,
    /// The dialect's own facts (protocol version, capability bits), merged in after the
    /// keys above and never overriding one: see [`Identified::with_extra`].
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Identified {
    /// The same identification with what the fleet check found (`fleet_check`),
    /// written over anything the board's own detail named so.
    pub fn with_fleet_check(mut self, check: Option<Value>) -> Identified {
        if let Some(check) = check {
            self.extra.insert("fleet_check".into(), check);
        }
        self
    }

    /// Adds the dialect's facts (a JSON object; anything else adds nothing), except
    /// those whose key the record already has: the station's values win.
    pub fn with_extra(mut self, extra: &Value) -> Identified {
        const OWN: [&str; 10] = [
            "uid",
            "hardware_id",
            "model",
            "firmware_version",
            "sbom",
            "dialect",
            "csr_binding",
            "has_key",
            "installed_fingerprint",
            "plan",
        ];
        for (k, v) in extra.as_object().into_iter().flatten() {
            if !OWN.contains(&k.as_str()) && !self.extra.contains_key(k) {
                self.extra.insert(k.clone(), v.clone());
            }
        }
        self
    }
}

/// The plan decided at `identify`, as the log records it (`{"plan": "fresh",
/// "supersede": […]}`).
///
/// A mirror of the station's `pipeline::plan::Plan`, which the store cannot name (the
/// station depends on the store): QA reads plans back typed ("which runs re-issued"),
/// and the station's tests check that both serialise the same.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "plan", rename_all = "kebab-case")]
pub enum PlanRecord {
    /// New key, new certificate.
    Fresh {
        /// Serials revoked as superseded before signing.
        supersede: Vec<String>,
    },
    /// Install a certificate issued in an interrupted run.
    ResumeInstall {
        /// Its serial.
        serial: String,
    },
    /// Re-verify the installed certificate; nothing new is issued.
    Reverify {
        /// Its serial.
        serial: String,
    },
    /// New certificate for the board's existing key.
    Reissue {
        /// Serials revoked as superseded before signing.
        supersede: Vec<String>,
    },
}

/// The label laid out with the board's real values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelChecked {
    /// The template's name.
    pub template: String,
}

/// The key the board generated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyGenerated {
    /// The public key, uncompressed SEC1, hex.
    pub public_key: String,
    /// The board held a key before (now replaced).
    pub replaced_key: bool,
    /// The dialect's facts about the key (an attestation, say); absent when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Value>,
}

/// The CSR, read and verified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsrVerified {
    /// SHA-256 of the CSR's DER, hex.
    pub csr_sha256: String,
    /// Its length in bytes.
    pub csr_len: usize,
    /// It carried this session's challenge.
    pub bound: bool,
    /// The key's id ([`crate::key_sha256`] of its SubjectPublicKeyInfo).
    pub key_sha256: String,
    /// The first read failed on a link fault and the step read again.
    #[serde(default, skip_serializing_if = "is_false")]
    pub retried: bool,
}

/// What the read-back compared with what was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReadbackCompared {
    /// The objects, read back whole.
    Bytes,
    /// The board's SHA-256 of each object as it stores it.
    Digests,
}

/// The certificate signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed {
    /// Serial, hex.
    pub serial: String,
    /// SHA-256 fingerprint, hex.
    pub fingerprint: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// Serials revoked as superseded before signing.
    pub superseded: Vec<String>,
}

/// What the dialect reports about the install (Hallmark v1: serial and lengths).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Installed {
    /// The dialect's detail, as it gave it.
    pub detail: Value,
}

/// The digests read back, each equal to what was written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadBack {
    /// `<item>_sha256` → SHA-256 read, hex; the items are the dialect's
    /// (`certificate`, `chain`, `trust_anchor`).
    #[serde(flatten)]
    pub digests: BTreeMap<String, String>,
    /// The first read failed on a link fault and the step read again.
    #[serde(default, skip_serializing_if = "is_false")]
    pub retried: bool,
    /// How the board reported what it stores (absent in runs logged before issue #19:
    /// they read the bytes back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared: Option<ReadbackCompared>,
}

/// The self-test that proved the new identity, by mode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum SelfTested {
    /// Mutual TLS over the provisioning link.
    Link {
        /// The handshake's evidence (the device crate's `LinkEvidence`).
        evidence: Value,
    },
    /// The board signed a station nonce with its new key.
    Possession {
        /// The nonce, hex.
        nonce: String,
    },
    /// The board cannot sign on request (an AT-command modem): its key was generated
    /// with an attestation checked at `keygen`, it still lists that key, and the
    /// certificate is for it.
    #[serde(rename = "attested-key")]
    AttestedKey {
        /// What the dialect checked (the attestation, the key's listing).
        evidence: Value,
    },
    /// The board published at the broker with its new identity.
    Broker {
        /// Fingerprint of the certificate the board presented.
        peer_fingerprint: String,
        /// The round trip's evidence (the device crate's `BrokerEvidence`).
        evidence: Value,
    },
}

/// What the dialect reports when the session ends (Hallmark v1: link statistics).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Finished {
    /// The dialect's detail, as it gave it.
    pub detail: Value,
}

/// The label kept and printed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Labelled {
    /// The PDF kept in the data directory.
    pub path: String,
    /// SHA-256 of the PDF, hex.
    pub sha256: String,
    /// The template's name.
    pub template: String,
    /// The field values the label was made with (what a reprint prints again).
    pub fields: BTreeMap<String, String>,
    /// The print job (the station's printer record), `null` without a printer.
    pub print: Option<Value>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A read-only step's event, which records that the step read twice.
pub trait Retried {
    /// The same event, marked as read twice.
    fn retried(self) -> Self;
}

impl Retried for CsrVerified {
    fn retried(self) -> Self {
        CsrVerified { retried: true, ..self }
    }
}

impl Retried for ReadBack {
    fn retried(self) -> Self {
        ReadBack { retried: true, ..self }
    }
}

macro_rules! into_event {
    ($($t:ident => $v:ident),* $(,)?) => {$(
        impl From<$t> for StepEvent {
            fn from(e: $t) -> StepEvent {
                StepEvent::$v(e)
            }
        }
    )*};
}

into_event! {
    Connected => Connected, Identified => Identified, LabelChecked => LabelChecked,
    KeyGenerated => KeyGenerated, CsrVerified => CsrVerified, Signed => Signed, Installed => Installed,
    ReadBack => ReadBack, SelfTested => SelfTested, Finished => Finished, Labelled => Labelled,
}
