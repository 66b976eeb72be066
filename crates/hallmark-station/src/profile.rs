//! The certificate profile from the station configuration.

use hallmark_ca::{KeyAlgorithm, LeafProfile, Validity};
use hallmark_config::CertificateSection;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// What is wrong with `[certificate]`, in words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProfileProblem(pub String);

/// Builds the CA's leaf profile from `[certificate]`.
pub fn leaf_profile(c: &CertificateSection) -> Result<LeafProfile, ProfileProblem> {
    let validity = if c.no_expiry {
        Validity::NoExpiry
    } else if let Some(t) = &c.not_after {
        let t = OffsetDateTime::parse(t, &Rfc3339)
            .map_err(|e| ProfileProblem(format!("certificate.not_after {t:?} is not an RFC 3339 time: {e}")))?;
        if t <= OffsetDateTime::now_utc() {
            return Err(ProfileProblem(format!("certificate.not_after {t} is in the past")));
        }
        Validity::Until(t)
    } else {
        Validity::For(time::Duration::days(c.validity_days.into()))
    };
    let key_algorithms = c
        .key_algorithms
        .iter()
        .map(|a| a.parse::<KeyAlgorithm>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(ProfileProblem)?;
    Ok(LeafProfile {
        validity,
        key_algorithms,
        san_uri: c.san_uri.clone(),
        san_dns: c.san_dns.clone(),
        crl_url: c.crl_url.clone(),
        ca_issuers_url: c.ca_issuers_url.clone(),
        organization: c.organization.clone(),
        organizational_unit: c.organizational_unit.clone(),
        subject_serial_number: c.serial_number.clone(),
    })
}
