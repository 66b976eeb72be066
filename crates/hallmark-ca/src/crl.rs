//! Revocation reasons and certificate revocation lists.

use crate::{CaError, IssuingCa};
use rcgen::{CertificateRevocationListParams, KeyIdMethod, RevocationReason, RevokedCertParams, SerialNumber};
use std::fmt;
use std::str::FromStr;
use time::OffsetDateTime;

/// RFC 5280 revocation reasons, named as in the RFC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// unspecified (0)
    Unspecified,
    /// keyCompromise (1)
    KeyCompromise,
    /// affiliationChanged (3)
    AffiliationChanged,
    /// superseded (4): replaced by a newer certificate.
    Superseded,
    /// cessationOfOperation (5): the device is retired.
    CessationOfOperation,
    /// certificateHold (6)
    CertificateHold,
    /// privilegeWithdrawn (9)
    PrivilegeWithdrawn,
}

const NAMES: [(&str, Reason); 7] = [
    ("unspecified", Reason::Unspecified),
    ("keyCompromise", Reason::KeyCompromise),
    ("affiliationChanged", Reason::AffiliationChanged),
    ("superseded", Reason::Superseded),
    ("cessationOfOperation", Reason::CessationOfOperation),
    ("certificateHold", Reason::CertificateHold),
    ("privilegeWithdrawn", Reason::PrivilegeWithdrawn),
];

impl Reason {
    /// The RFC 5280 name.
    pub fn as_str(self) -> &'static str {
        NAMES.iter().find(|(_, r)| *r == self).map(|(n, _)| *n).unwrap_or("unspecified")
    }

    fn rcgen(self) -> RevocationReason {
        match self {
            Reason::Unspecified => RevocationReason::Unspecified,
            Reason::KeyCompromise => RevocationReason::KeyCompromise,
            Reason::AffiliationChanged => RevocationReason::AffiliationChanged,
            Reason::Superseded => RevocationReason::Superseded,
            Reason::CessationOfOperation => RevocationReason::CessationOfOperation,
            Reason::CertificateHold => RevocationReason::CertificateHold,
            Reason::PrivilegeWithdrawn => RevocationReason::PrivilegeWithdrawn,
        }
    }
}

impl FromStr for Reason {
    type Err = String;

    fn from_str(s: &str) -> Result<Reason, String> {
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s))
            .map(|(_, r)| *r)
            .ok_or_else(|| format!("unknown revocation reason {s:?}; use one of {}", NAMES.map(|(n, _)| n).join(", ")))
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One revoked certificate.
#[derive(Clone, Debug)]
pub struct Revoked {
    /// Serial, hex.
    pub serial_hex: String,
    /// Why.
    pub reason: Reason,
    /// When.
    pub revoked_at: OffsetDateTime,
}

/// A signed CRL.
#[derive(Clone, Debug)]
pub struct Crl {
    /// DER.
    pub der: Vec<u8>,
    /// PEM (`X509 CRL`).
    pub pem: String,
}

impl IssuingCa {
    /// Signs a CRL listing `revoked`, numbered `number`, valid from `this_update`
    /// to `next_update`.
    pub fn crl(
        &self,
        revoked: &[Revoked],
        number: u64,
        this_update: OffsetDateTime,
        next_update: OffsetDateTime,
    ) -> Result<Crl, CaError> {
        let mut revoked_certs = Vec::with_capacity(revoked.len());
        for r in revoked {
            let serial = hex::decode(&r.serial_hex)
                .map_err(|_| CaError::Signing(format!("serial {} in the log is not hex", r.serial_hex)))?;
            revoked_certs.push(RevokedCertParams {
                serial_number: SerialNumber::from_slice(&serial),
                revocation_time: r.revoked_at.replace_nanosecond(0).unwrap_or(r.revoked_at),
                reason_code: Some(r.reason.rcgen()),
                invalidity_date: None,
            });
        }
        let params = CertificateRevocationListParams {
            this_update: this_update.replace_nanosecond(0).unwrap_or(this_update),
            next_update: next_update.replace_nanosecond(0).unwrap_or(next_update),
            crl_number: SerialNumber::from_slice(&number.to_be_bytes()),
            issuing_distribution_point: None,
            revoked_certs,
            // The CRL's AKI must equal the issuing certificate's own SKI (which an
            // imported CA may have computed differently, e.g. with SHA-1).
            key_identifier_method: match self.issuing_key_id() {
                Some(ski) => KeyIdMethod::PreSpecified(ski),
                None => KeyIdMethod::Sha256,
            },
        };
        let crl = params.signed_by(&self.issuer)?;
        Ok(Crl { der: crl.der().to_vec(), pem: crl.pem()? })
    }
}
