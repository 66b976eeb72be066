//! Everything the log holds about one device, for its evidence record: every run with
//! every event (times, details and chain hashes), every certificate with its state,
//! the keys bound to it and the audit entries that name it or its certificates.

use crate::export::RunRecord;
use crate::query::RunFilter;
use crate::{Store, StoreError};
use rusqlite::params;
use serde::Serialize;
use serde_json::Value;

/// One logged event, with the hash that ties it into the log's chain.
#[derive(Clone, Debug, Serialize)]
pub struct EventFact {
    /// When it was written (RFC 3339).
    pub at: String,
    /// The step.
    pub step: String,
    /// `start` or `end`.
    pub phase: String,
    /// PASS / FAIL / … on `end`.
    pub outcome: Option<String>,
    /// The step's duration in µs, on `end`.
    pub duration_us: Option<i64>,
    /// The detail as logged.
    pub detail: Value,
    /// The event's chain hash.
    pub hash: String,
}

/// One run of the device, with its events.
#[derive(Clone, Debug, Serialize)]
pub struct RunFacts {
    /// The run as the QA export shows it.
    #[serde(flatten)]
    pub run: RunRecord,
    /// Every event, in order.
    pub events: Vec<EventFact>,
}

/// A certificate issued to the device.
#[derive(Clone, Debug, Serialize)]
pub struct CertificateFact {
    /// Serial, hex.
    pub serial: String,
    /// SHA-256 fingerprint of the DER, hex.
    pub fingerprint: String,
    /// Start of validity (RFC 3339).
    pub not_before: String,
    /// End of validity (RFC 3339).
    pub not_after: String,
    /// When the station signed it.
    pub issued_at: String,
    /// The run that issued it.
    pub run_id: String,
    /// PEM.
    pub pem: String,
    /// Revocation reason, if revoked.
    pub revoked_reason: Option<String>,
    /// When it was revoked.
    pub revoked_at: Option<String>,
}

/// A public key bound to the device.
#[derive(Clone, Debug, Serialize)]
pub struct KeyFact {
    /// SHA-256 of its SubjectPublicKeyInfo DER, hex.
    pub key_sha256: String,
    /// When the station bound it to the UID.
    pub bound_at: String,
}

/// An audit entry about the device (retirement, revocation, reprint, …).
#[derive(Clone, Debug, Serialize)]
pub struct AuditFact {
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// Its detail as logged.
    pub detail: Value,
    /// The entry's chain hash.
    pub hash: String,
}

/// What the log knows about one UID.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceFacts {
    /// Every run of the UID, oldest first.
    pub runs: Vec<RunFacts>,
    /// Every certificate, oldest first.
    pub certificates: Vec<CertificateFact>,
    /// Every public key bound to it, oldest first.
    pub keys: Vec<KeyFact>,
    /// Audit entries naming it or one of its certificates, oldest first.
    pub audit: Vec<AuditFact>,
}

impl Store {
    /// What the log knows about `uid`; `None` when no run ever had that UID.
    pub fn device_facts(&self, uid: &str) -> Result<Option<DeviceFacts>, StoreError> {
        let mut runs = Vec::new();
        self.for_each_run(&RunFilter { uid: Some(uid.to_string()), ..RunFilter::default() }, None, |run| {
            runs.push(RunFacts { run, events: Vec::new() })
        })?;
        if runs.is_empty() {
            return Ok(None);
        }
        let mut events = self.conn.prepare(
            "SELECT e.at, e.step, e.phase, e.outcome, e.duration_us, e.detail, e.hash
             FROM events e JOIN runs r ON r.id = e.run_id WHERE r.run_uuid = ?1 ORDER BY e.id",
        )?;
        for run in &mut runs {
            let rows = events.query_map([&run.run.run_id], |r| {
                Ok(EventFact {
                    at: r.get(0)?,
                    step: r.get(1)?,
                    phase: r.get(2)?,
                    outcome: r.get(3)?,
                    duration_us: r.get(4)?,
                    detail: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or(Value::Null),
                    hash: r.get(6)?,
                })
            })?;
            run.events = rows.collect::<Result<_, _>>()?;
        }
        let mut stmt = self.conn.prepare(
            "SELECT c.serial, c.fingerprint, c.not_before, c.not_after, c.issued_at, r.run_uuid, c.pem,
                    v.reason, v.revoked_at
             FROM certificates c JOIN runs r ON r.id = c.run_id LEFT JOIN revocations v ON v.serial = c.serial
             WHERE c.uid = ?1 ORDER BY c.id",
        )?;
        let certificates = stmt
            .query_map([uid], |r| {
                Ok(CertificateFact {
                    serial: r.get(0)?,
                    fingerprint: r.get(1)?,
                    not_before: r.get(2)?,
                    not_after: r.get(3)?,
                    issued_at: r.get(4)?,
                    run_id: r.get(5)?,
                    pem: r.get(6)?,
                    revoked_reason: r.get(7)?,
                    revoked_at: r.get(8)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut stmt =
            self.conn.prepare("SELECT key_sha256, bound_at FROM public_keys WHERE uid = ?1 ORDER BY rowid")?;
        let keys = stmt
            .query_map([uid], |r| Ok(KeyFact { key_sha256: r.get(0)?, bound_at: r.get(1)? }))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut stmt = self.conn.prepare(
            "SELECT at, actor, action, detail, hash FROM audit
             WHERE json_extract(detail, '$.uid') = ?1
                OR json_extract(detail, '$.serial') IN (SELECT serial FROM certificates WHERE uid = ?1)
             ORDER BY id",
        )?;
        let audit = stmt
            .query_map(params![uid], |r| {
                Ok(AuditFact {
                    at: r.get(0)?,
                    actor: r.get(1)?,
                    action: r.get(2)?,
                    detail: serde_json::from_str(&r.get::<_, String>(3)?).unwrap_or(Value::Null),
                    hash: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(DeviceFacts { runs, certificates, keys, audit }))
    }
}
