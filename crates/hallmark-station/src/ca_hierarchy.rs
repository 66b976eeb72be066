//! The station's part of one CA hierarchy for a fleet (issue #17): signing another
//! station's issuing CA where the fleet root is, recorded in this station's audit log.
//! The certificate work itself is `hallmark_ca::CaStore::sign_station`.

use crate::datadir::DataDir;
use hallmark_ca::{CaError, CaStore, Passphrase, StationCaCertificate};
use hallmark_store::{Store, StoreError};

/// Why a station CA could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum CaHierarchyError {
    /// The root refused or could not sign.
    #[error("{0}")]
    Ca(#[from] CaError),
    /// The audit log could not be written (nothing was handed out).
    #[error("{0}")]
    Log(#[from] StoreError),
}

/// Signs a station's issuing CA request (`csr_pem`) with the root key in `data_dir`,
/// valid for `days`, and records who signed what in the audit log before handing
/// the certificate out.
pub fn sign_station(
    data_dir: &DataDir,
    csr_pem: &str,
    passphrase: &Passphrase,
    days: u32,
    actor: &str,
) -> Result<StationCaCertificate, CaHierarchyError> {
    let signed =
        CaStore::new(data_dir.ca_dir()).sign_station(csr_pem, passphrase, days, time::OffsetDateTime::now_utc())?;
    let store = Store::open(&data_dir.log_path())?;
    let detail = serde_json::json!({
        "name": signed.name,
        "serial": signed.serial_hex,
        "fingerprint": signed.fingerprint,
        "key_sha256": signed.key_sha256,
        "not_after": signed.not_after.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
    });
    store.append_audit(actor, "ca-sign-station", &detail)?;
    Ok(signed)
}
