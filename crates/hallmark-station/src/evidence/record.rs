//! The device evidence record: what the log holds about one UID, arranged so that an
//! auditor reads the identity's whole life in one JSON document. Its shape is a
//! contract (`format` names its version); fields may be added, never renamed.

use hallmark_store::{AuditFact, CertificateFact, CrlRow, DeviceFacts, EventFact, KeyFact, RunFacts};
use serde::Serialize;
use serde_json::Value;

/// The record's format and version.
pub const FORMAT: &str = "hallmark-evidence/1";

/// One device's evidence.
#[derive(Clone, Debug, Serialize)]
pub struct EvidenceRecord {
    /// [`FORMAT`].
    pub format: &'static str,
    /// When the record was made (RFC 3339).
    pub generated_at: String,
    /// Which station made it, with which software, for whom.
    pub generated_by: Generator,
    /// The device as last identified.
    pub device: DeviceSummary,
    /// The identity now: `active` (a valid certificate from a run that passed),
    /// `incomplete` (a valid certificate, but its run did not pass), `revoked`,
    /// `retired`, `expired` or `never-certified`.
    pub status: &'static str,
    /// The run that gave the device its current identity (the last run that passed
    /// and issued a certificate), step by step.
    pub provisioning: Option<Provisioning>,
    /// Every certificate the device was issued, oldest first, with its state.
    pub certificates: Vec<CertificateEvidence>,
    /// The station's CA chain (issuing CA … root), PEM.
    pub ca_chain_pem: String,
    /// The CRL the station last published, at the time of the record.
    pub crl: Option<CrlState>,
    /// Every public key bound to the UID.
    pub keys: Vec<KeyFact>,
    /// Every run of the UID, oldest first, with every logged event and its chain hash.
    pub runs: Vec<RunFacts>,
    /// Audit entries about the device: revocations, retirement, reprints.
    pub lifecycle: Vec<AuditFact>,
}

/// Who made the record.
#[derive(Clone, Debug, Serialize)]
pub struct Generator {
    /// Station id.
    pub station: String,
    /// Hallmark version.
    pub hallmark_version: &'static str,
    /// Who asked for it.
    pub actor: String,
}

/// The device's facts, from its last identified run.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceSummary {
    /// UID.
    pub uid: String,
    /// Hardware id (hex).
    pub hardware_id: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Firmware version.
    pub firmware_version: Option<String>,
    /// SBOM reference recorded for that firmware.
    pub sbom: Option<Value>,
}

/// One step of the provisioning run.
#[derive(Clone, Debug, Serialize)]
pub struct StepTime {
    /// Step name.
    pub step: String,
    /// Its start event's time.
    pub started_at: Option<String>,
    /// Its end event's time.
    pub ended_at: String,
    /// PASS / FAIL / ….
    pub outcome: Option<String>,
    /// Duration, ms.
    pub ms: Option<f64>,
}

/// How the current identity was made.
#[derive(Clone, Debug, Serialize)]
pub struct Provisioning {
    /// The run's id.
    pub run_id: String,
    /// Station, slot, port and operator of that run.
    pub station: String,
    /// Slot nickname.
    pub slot: Option<String>,
    /// Port or probe.
    pub port: String,
    /// Operator.
    pub operator: Option<String>,
    /// Start and end.
    pub started_at: String,
    /// End.
    pub ended_at: Option<String>,
    /// SHA-256 of the station configuration in force.
    pub config_hash: Option<String>,
    /// Every step with its times.
    pub steps: Vec<StepTime>,
    /// SHA-256 of the key's SubjectPublicKeyInfo, as the CSR step verified it.
    pub public_key_sha256: Option<String>,
    /// Serial of the certificate it issued.
    pub certificate_serial: Option<String>,
    /// The self-test's evidence as logged (mode, peer fingerprint, broker, nonce, …).
    pub self_test: Option<Value>,
    /// The label as logged (template, PDF hash, printer and job).
    pub label: Option<Value>,
}

/// A certificate and its state when the record was made.
#[derive(Clone, Debug, Serialize)]
pub struct CertificateEvidence {
    /// The log's facts.
    #[serde(flatten)]
    pub certificate: CertificateFact,
    /// `valid`, `revoked` or `expired`.
    pub status: &'static str,
}

/// The last CRL the station published.
#[derive(Clone, Debug, Serialize)]
pub struct CrlState {
    /// CRL number.
    pub number: u64,
    /// thisUpdate.
    pub this_update: String,
    /// nextUpdate.
    pub next_update: String,
    /// Certificates it lists.
    pub revoked: u64,
}

impl From<&CrlRow> for CrlState {
    fn from(c: &CrlRow) -> CrlState {
        CrlState {
            number: c.number,
            this_update: c.this_update.clone(),
            next_update: c.next_update.clone(),
            revoked: c.revoked,
        }
    }
}

/// What the record is built from besides the log's facts.
pub struct RecordContext<'a> {
    /// Now, RFC 3339 (compared as text with the log's times).
    pub now: &'a str,
    /// Station id.
    pub station: &'a str,
    /// Who asks.
    pub actor: &'a str,
    /// The CA chain, PEM.
    pub ca_chain_pem: String,
    /// The last published CRL.
    pub crl: Option<CrlRow>,
}

/// Arranges the log's facts about `uid` into its record.
pub fn build(uid: &str, facts: DeviceFacts, cx: RecordContext<'_>) -> EvidenceRecord {
    let certificates: Vec<CertificateEvidence> = facts
        .certificates
        .into_iter()
        .map(|c| {
            let status = match (&c.revoked_reason, c.not_after.as_str() <= cx.now) {
                (Some(_), _) => "revoked",
                (None, true) => "expired",
                (None, false) => "valid",
            };
            CertificateEvidence { certificate: c, status }
        })
        .collect();
    let retired = facts.audit.iter().any(|a| a.action == "retire");
    let passed = |run_id: &str| facts.runs.iter().any(|r| r.run.run_id == run_id && r.run.outcome == "PASS");
    let valid: Vec<&CertificateEvidence> = certificates.iter().filter(|c| c.status == "valid").collect();
    let status = match certificates.last() {
        None => "never-certified",
        Some(_) if valid.iter().any(|c| passed(&c.certificate.run_id)) => "active",
        // Signed, but the run that signed it did not pass (read-back, self-test…).
        Some(_) if !valid.is_empty() => "incomplete",
        Some(_) if retired => "retired",
        Some(last) => last.status,
    };
    let identified = facts.runs.iter().rev().find(|r| r.run.hardware_id.is_some()).map(|r| &r.run);
    let device = DeviceSummary {
        uid: uid.to_string(),
        hardware_id: identified.and_then(|r| r.hardware_id.clone()),
        model: identified.and_then(|r| r.model.clone()),
        firmware_version: identified.and_then(|r| r.firmware_version.clone()),
        sbom: identified.and_then(|r| r.sbom.clone()),
    };
    let provisioning = facts
        .runs
        .iter()
        .rev()
        .find(|r| r.run.outcome == "PASS" && r.run.cert_serial.is_some())
        .or_else(|| facts.runs.iter().rev().find(|r| r.run.outcome == "PASS"))
        .map(provisioning);
    EvidenceRecord {
        format: FORMAT,
        generated_at: cx.now.to_string(),
        generated_by: Generator {
            station: cx.station.to_string(),
            hallmark_version: crate::VERSION,
            actor: cx.actor.to_string(),
        },
        device,
        status,
        provisioning,
        certificates,
        ca_chain_pem: cx.ca_chain_pem,
        crl: cx.crl.as_ref().map(CrlState::from),
        keys: facts.keys,
        runs: facts.runs,
        lifecycle: facts.audit,
    }
}

fn provisioning(run: &RunFacts) -> Provisioning {
    let end_detail = |step: &str| -> Option<&EventFact> {
        run.events.iter().rev().find(|e| e.step == step && e.phase == "end" && e.outcome.as_deref() == Some("PASS"))
    };
    let mut steps: Vec<StepTime> = Vec::new();
    for e in &run.events {
        if e.phase == "start" {
            steps.push(StepTime {
                step: e.step.clone(),
                started_at: Some(e.at.clone()),
                ended_at: String::new(),
                outcome: None,
                ms: None,
            });
            continue;
        }
        let ms = e.duration_us.map(|us| us as f64 / 1000.0);
        match steps.iter_mut().rev().find(|s| s.step == e.step && s.ended_at.is_empty()) {
            Some(s) => {
                s.ended_at = e.at.clone();
                s.outcome = e.outcome.clone();
                s.ms = ms;
            }
            None => steps.push(StepTime {
                step: e.step.clone(),
                started_at: None,
                ended_at: e.at.clone(),
                outcome: e.outcome.clone(),
                ms,
            }),
        }
    }
    let r = &run.run;
    Provisioning {
        run_id: r.run_id.clone(),
        station: r.station.clone(),
        slot: r.slot.clone(),
        port: r.port.clone(),
        operator: r.operator.clone(),
        started_at: r.started_at.clone(),
        ended_at: r.ended_at.clone(),
        config_hash: r.config_hash.clone(),
        steps,
        public_key_sha256: end_detail("csr")
            .and_then(|e| e.detail.get("key_sha256"))
            .and_then(|v| v.as_str())
            .map(String::from),
        certificate_serial: r.cert_serial.clone(),
        self_test: end_detail("selftest").map(|e| e.detail.clone()),
        label: end_detail("label").map(|e| e.detail.clone()),
    }
}
