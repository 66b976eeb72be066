//! Station-level actions outside runs (revocations from the CLI, and later
//! configuration changes), hash-chained in their own `audit` table; and the CRLs the
//! station issued.

use crate::chain::{event_hash, HashInput, GENESIS};
use crate::{now_rfc3339, Store, StoreError};
use rusqlite::{params, OptionalExtension, Transaction};
use serde_json::Value;

/// The `run_uuid` under which audit entries are hashed (they belong to no run).
const AUDIT_SCOPE: &str = "audit";

/// One revocation as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevocationRow {
    /// Certificate serial, hex.
    pub serial: String,
    /// RFC 5280 reason name.
    pub reason: String,
    /// When (RFC 3339).
    pub revoked_at: String,
    /// The certificate's UID.
    pub uid: String,
}

/// A CRL the station issued.
#[derive(Clone, Debug)]
pub struct CrlRow {
    /// CRL number.
    pub number: u64,
    /// thisUpdate (RFC 3339).
    pub this_update: String,
    /// nextUpdate (RFC 3339).
    pub next_update: String,
    /// Revoked certificates listed.
    pub revoked: u64,
    /// DER.
    pub der: Vec<u8>,
}

pub(crate) fn insert_audit(tx: &Transaction<'_>, actor: &str, action: &str, detail: &Value) -> Result<(), StoreError> {
    let prev: String = tx
        .query_row("SELECT hash FROM audit ORDER BY id DESC LIMIT 1", [], |r| r.get(0))
        .optional()?
        .unwrap_or_else(|| GENESIS.to_string());
    let at = now_rfc3339();
    let detail = detail.to_string();
    let hash = audit_hash(&prev, &at, action, actor, &detail);
    tx.execute(
        "INSERT INTO audit (at, actor, action, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![at, actor, action, detail, prev, hash],
    )?;
    Ok(())
}

/// The hash of an audit entry: [`event_hash`] with the run uuid `audit`, the action
/// as the step and the actor as the phase (public so that the fleet's verifier
/// recomputes the chain exactly as the log does).
pub fn audit_hash(prev: &str, at: &str, action: &str, actor: &str, detail: &str) -> String {
    event_hash(&HashInput {
        prev_hash: prev,
        run_uuid: AUDIT_SCOPE,
        at,
        step: action,
        phase: actor,
        outcome: None,
        duration_us: None,
        detail,
    })
}

/// A device certificate that is not revoked, with its end of validity.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct EndingCertificate {
    /// The device.
    pub uid: String,
    /// Its serial (hex).
    pub serial: String,
    /// SHA-256 of its DER.
    pub fingerprint: String,
    /// End of validity (RFC 3339).
    pub not_after: String,
}

impl Store {
    /// Appends an audit entry (who did what, outside any run).
    pub fn append_audit(&self, actor: &str, action: &str, detail: &Value) -> Result<(), StoreError> {
        let tx = self.begin()?;
        insert_audit(&tx, actor, action, detail)?;
        tx.commit()?;
        Ok(())
    }

    /// Records the CA certificates the station signs with (`ca-certificate`: the
    /// issuing certificate's fingerprint and the chain as PEM), once per issuing
    /// certificate: with a fleet, this is how other stations and the broker learn
    /// which CAs sign the fleet's devices. Returns whether it was new.
    pub fn note_ca_certificate(&self, fingerprint: &str, chain_pem: &str) -> Result<bool, StoreError> {
        let tx = self.begin()?;
        let known: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM audit WHERE action = 'ca-certificate'
                              AND json_extract(detail, '$.fingerprint') = ?1)",
            [fingerprint],
            |r| r.get(0),
        )?;
        if !known {
            let detail = serde_json::json!({ "fingerprint": fingerprint, "chain_pem": chain_pem });
            insert_audit(&tx, "station", "ca-certificate", &detail)?;
        }
        tx.commit()?;
        Ok(!known)
    }

    /// Unrevoked certificates whose `not_after` is at or before `until` (RFC 3339,
    /// UTC), soonest first: what `hallmark ca expiring` lists.
    pub fn certificates_ending_by(&self, until: &str) -> Result<Vec<EndingCertificate>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT c.uid, c.serial, c.fingerprint, c.not_after FROM certificates c
              WHERE c.not_after <= ?1 AND NOT EXISTS (SELECT 1 FROM revocations v WHERE v.serial = c.serial)
              ORDER BY c.not_after, c.id",
        )?;
        let rows = stmt.query_map([until], |r| {
            Ok(EndingCertificate { uid: r.get(0)?, serial: r.get(1)?, fingerprint: r.get(2)?, not_after: r.get(3)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many audit entries have `action`.
    pub fn audit_count(&self, action: &str) -> Result<i64, StoreError> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM audit WHERE action = ?1", [action], |r| r.get(0))?)
    }

    /// Every revocation, oldest first.
    pub fn revocations(&self) -> Result<Vec<RevocationRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT v.serial, v.reason, v.revoked_at, c.uid FROM revocations v
             JOIN certificates c ON c.serial = v.serial ORDER BY v.rowid",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(RevocationRow { serial: r.get(0)?, reason: r.get(1)?, revoked_at: r.get(2)?, uid: r.get(3)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Issues a CRL atomically under the log's write lock: `sign` gets every
    /// revocation and the next CRL number and returns the signed CRL; it is recorded
    /// (with a chained audit entry) and `publish` writes it out before the lock is
    /// released, so concurrent stations can neither skip a revocation nor overwrite a
    /// newer CRL with an older one.
    pub fn issue_crl<E: From<StoreError>>(
        &self,
        sign: impl FnOnce(&[RevocationRow], u64) -> Result<CrlRow, E>,
        publish: impl FnOnce(&CrlRow) -> Result<(), E>,
    ) -> Result<CrlRow, E> {
        let tx = self.begin()?;
        let revoked = self.revocations()?;
        let number: i64 = tx
            .query_row("SELECT COALESCE(MAX(number), 0) + 1 FROM crls", [], |r| r.get(0))
            .map_err(StoreError::from)?;
        let crl = sign(&revoked, number as u64)?;
        tx.execute(
            "INSERT INTO crls (number, this_update, next_update, revoked, der) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![crl.number as i64, crl.this_update, crl.next_update, crl.revoked as i64, crl.der],
        )
        .map_err(StoreError::from)?;
        let detail = serde_json::json!({
            "number": crl.number, "revoked": crl.revoked, "this_update": crl.this_update,
            "next_update": crl.next_update,
            "sha256": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&crl.der)),
        });
        insert_audit(&tx, "station", "crl", &detail)?;
        publish(&crl)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(crl)
    }

    /// Whether some revocation is not yet on the newest CRL.
    pub fn unpublished_revocations(&self) -> Result<bool, StoreError> {
        Ok(self.conn.query_row(
            "SELECT (SELECT COUNT(*) FROM revocations) > COALESCE((SELECT revoked FROM crls ORDER BY number DESC LIMIT 1), 0)",
            [],
            |r| r.get(0),
        )?)
    }

    /// The newest CRL.
    pub fn latest_crl(&self) -> Result<Option<CrlRow>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT number, this_update, next_update, revoked, der FROM crls ORDER BY number DESC LIMIT 1",
                [],
                |r| {
                    Ok(CrlRow {
                        number: r.get::<_, i64>(0)? as u64,
                        this_update: r.get(1)?,
                        next_update: r.get(2)?,
                        revoked: r.get::<_, i64>(3)? as u64,
                        der: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    /// Certificates issued and revoked so far.
    pub fn certificate_counts(&self) -> Result<(u64, u64), StoreError> {
        Ok(self.conn.query_row(
            "SELECT (SELECT COUNT(*) FROM certificates), (SELECT COUNT(*) FROM revocations)",
            [],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        )?)
    }

    /// Serials of the certificates a target names: a serial (hex), or every valid
    /// certificate of a UID.
    pub fn serials_for(&self, target: &str) -> Result<Vec<String>, StoreError> {
        let serial = target.to_ascii_lowercase();
        let mut stmt = self.conn.prepare(
            "SELECT serial FROM certificates WHERE serial = ?1
             UNION
             SELECT serial FROM certificates WHERE uid = ?2 AND serial NOT IN (SELECT serial FROM revocations)",
        )?;
        let rows = stmt.query_map([&serial, &target.to_string()], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether `serial` is revoked.
    pub fn is_revoked(&self, serial: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT EXISTS (SELECT 1 FROM revocations WHERE serial = ?1)", [serial], |r| r.get(0))?)
    }
}
