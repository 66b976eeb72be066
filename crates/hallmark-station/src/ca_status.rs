//! The CA at a glance (`hallmark ca show`, the engineer screen): both certificates,
//! how many device certificates were issued and revoked, the newest CRL, and
//! warnings an engineer must act on before they stop the line.

use crate::datadir::DataDir;
use crate::SetupError;
use hallmark_ca::{fingerprint, CaStore};
use hallmark_config::StationConfig;
use hallmark_store::Store;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::parse_x509_certificate;

/// Warn when the CRL's nextUpdate is this close.
pub const CRL_WARNING_DAYS: i64 = 2;

/// One CA certificate.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CaCertificate {
    /// Subject DN.
    pub subject: String,
    /// Serial, hex.
    pub serial: String,
    /// Validity start, RFC 3339.
    pub not_before: String,
    /// Validity end, RFC 3339.
    pub not_after: String,
    /// SHA-256 fingerprint of the DER.
    pub sha256: String,
}

/// The newest CRL.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CrlStatus {
    /// CRL number.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub number: u64,
    /// thisUpdate.
    pub this_update: String,
    /// nextUpdate.
    pub next_update: String,
    /// Certificates listed.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub entries: u64,
}

/// The CA's state (the JSON of `hallmark ca show --json`).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CaStatus {
    /// Root CA.
    pub root: CaCertificate,
    /// Issuing CA (signs device certificates).
    pub issuing: CaCertificate,
    /// Device certificates issued.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub certificates_issued: u64,
    /// Of which revoked.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub certificates_revoked: u64,
    /// The newest CRL.
    pub crl: Option<CrlStatus>,
    /// What needs attention, in words.
    pub warnings: Vec<String>,
}

/// Reads the CA status from the data directory and the log (if there is one yet).
pub fn ca_status(dir: &DataDir, config: &StationConfig, now: OffsetDateTime) -> Result<CaStatus, SetupError> {
    let failed = |e: &dyn std::fmt::Display| SetupError::CaStatus(e.to_string());
    let (root, issuing) = CaStore::new(dir.ca_dir()).certificates().map_err(|e| failed(&e))?;
    let log = dir.log_path();
    let store = if log.exists() { Some(Store::open_read_only(&log).map_err(|e| failed(&e))?) } else { None };
    let (issued, revoked) = match &store {
        Some(s) => s.certificate_counts().map_err(|e| failed(&e))?,
        None => (0, 0),
    };
    let crl = match &store {
        Some(s) => s.latest_crl().map_err(|e| failed(&e))?,
        None => None,
    };
    let (root, _) = describe(&root).map_err(|e| failed(&e))?;
    let (issuing, issuing_end) = describe(&issuing).map_err(|e| failed(&e))?;
    let mut warnings = Vec::new();
    if issuing_end - now < Duration::days(config.ca.expiry_warning_days.into()) {
        warnings.push(format!("the issuing CA expires on {}", issuing.not_after));
    }
    let profile = crate::profile::leaf_profile(&config.certificate).map_err(|e| failed(&e))?;
    if profile.validity.not_after(now) > issuing_end {
        warnings.push(
            "device certificates issued now would outlive the issuing CA: shorten certificate.validity_days or renew the CA"
                .into(),
        );
    }
    match &crl {
        None if revoked > 0 => {
            warnings.push("certificates are revoked but no CRL was ever published: run `hallmark ca crl`".into())
        }
        Some(c) => {
            if let Ok(next) = OffsetDateTime::parse(&c.next_update, &Rfc3339) {
                if next - now < Duration::days(CRL_WARNING_DAYS) {
                    warnings.push(format!(
                        "the CRL's nextUpdate is {}: run `hallmark ca crl` and reload the broker",
                        c.next_update
                    ));
                }
            }
        }
        None => {}
    }
    Ok(CaStatus {
        root,
        issuing,
        certificates_issued: issued,
        certificates_revoked: revoked,
        crl: crl.map(|c| CrlStatus {
            number: c.number,
            this_update: c.this_update,
            next_update: c.next_update,
            entries: c.revoked,
        }),
        warnings,
    })
}

fn describe(der: &[u8]) -> Result<(CaCertificate, OffsetDateTime), String> {
    let (_, c) = parse_x509_certificate(der).map_err(|e| format!("CA certificate unreadable: {e}"))?;
    let not_after = c.validity().not_after.to_datetime();
    Ok((
        CaCertificate {
            subject: c.subject().to_string(),
            serial: c.raw_serial_as_string(),
            not_before: c.validity().not_before.to_datetime().format(&Rfc3339).unwrap_or_default(),
            not_after: not_after.format(&Rfc3339).unwrap_or_default(),
            sha256: fingerprint(der),
        },
        not_after,
    ))
}
