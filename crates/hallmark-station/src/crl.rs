//! Publishing the CRL: after every revocation the station signs a new CRL (next
//! number), records it in the log and writes it where brokers load it.

use crate::pipeline::Station;
use hallmark_ca::{pem_encode, Crl, Reason, Revoked};
use hallmark_store::{CrlRow, Store};
use std::path::PathBuf;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Why a CRL could not be published.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CrlError {
    /// Reading or recording in the log failed.
    #[error("{0}")]
    Store(#[from] hallmark_store::StoreError),
    /// Signing failed.
    #[error("{0}")]
    Ca(#[from] hallmark_ca::CaError),
    /// Nothing to revoke.
    #[error("no valid certificate for {0:?} (neither a serial nor a UID with an unrevoked certificate)")]
    NothingToRevoke(String),
    /// The fleet could not take a revocation for another station's certificate.
    #[error("{0}")]
    Fleet(hallmark_fleet::FleetError),
    /// The CRL file could not be written.
    #[error("cannot write the CRL to {path}: {source}; check the [crl] path and its permissions")]
    Write {
        /// Where.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// A published CRL.
#[derive(Clone, Debug)]
pub struct Published {
    /// CRL number.
    pub number: u64,
    /// The CRL.
    pub crl: Crl,
    /// Where it was written.
    pub path: PathBuf,
    /// Certificates listed.
    pub revoked: usize,
}

impl Station {
    /// Where the current CRL lives.
    pub fn crl_path(&self) -> PathBuf {
        self.config.config.crl.path.clone().unwrap_or_else(|| self.data_dir.ca_dir().join("crl.pem"))
    }

    /// Signs, records and writes a fresh CRL listing every revocation in the log, all
    /// under the log's write lock (see [`Store::issue_crl`]).
    pub fn publish_crl(&self, store: &Store) -> Result<Published, CrlError> {
        let now = OffsetDateTime::now_utc();
        let next = now + time::Duration::days(self.config.config.crl.validity_days.into());
        let path = self.crl_path();
        let row = store.issue_crl(
            |rows, number| {
                let revoked: Vec<Revoked> = rows
                    .iter()
                    .map(|r| Revoked {
                        serial_hex: r.serial.clone(),
                        reason: r.reason.parse().unwrap_or(Reason::Unspecified),
                        revoked_at: OffsetDateTime::parse(&r.revoked_at, &Rfc3339).unwrap_or(now),
                    })
                    .collect();
                let crl = self.ca.crl(&revoked, number, now, next)?;
                Ok::<_, CrlError>(CrlRow {
                    number,
                    this_update: now.format(&Rfc3339).unwrap_or_default(),
                    next_update: next.format(&Rfc3339).unwrap_or_default(),
                    revoked: revoked.len() as u64,
                    der: crl.der,
                })
            },
            |row| write_atomically(&path, pem_encode("X509 CRL", &row.der).as_bytes()),
        )?;
        let crl = Crl { pem: pem_encode("X509 CRL", &row.der), der: row.der };
        Ok(Published { number: row.number, crl, revoked: row.revoked as usize, path })
    }

    /// Revokes every unrevoked certificate of `target` (a UID or a serial) for
    /// `reason`, recording who did it, then publishes the CRL. Returns the serials.
    pub fn revoke(
        &self,
        store: &Store,
        target: &str,
        reason: Reason,
        actor: &str,
    ) -> Result<(Vec<String>, Published), CrlError> {
        let mut fresh = Vec::new();
        for serial in store.serials_for(target.trim())? {
            if !store.is_revoked(&serial)? {
                fresh.push(serial);
            }
        }
        if fresh.is_empty() {
            return Err(CrlError::NothingToRevoke(target.to_string()));
        }
        for serial in &fresh {
            store.record_revocation(hallmark_store::RevokedBy::Actor(actor), serial, reason.as_str())?;
        }
        Ok((fresh, self.publish_crl(store)?))
    }

    /// Publishes a CRL if some revocation is not on the newest one yet (e.g. a run
    /// that revoked and then could not publish).
    pub fn publish_crl_if_needed(&self, store: &Store) -> Result<Option<Published>, CrlError> {
        if store.unpublished_revocations()? {
            return self.publish_crl(store).map(Some);
        }
        Ok(None)
    }
}

/// Writes through a temporary file unique to this process, then renames: a broker
/// reloading mid-write never sees half a CRL.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<(), CrlError> {
    let write = |source| CrlError::Write { path: path.display().to_string(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(write)?;
    }
    let tmp = path.with_extension(format!("pem.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(write)?;
    std::fs::rename(&tmp, path).map_err(write)
}
