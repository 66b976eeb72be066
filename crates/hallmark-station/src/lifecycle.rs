//! A device identity's later life (issue #18): certificates that end soon, and
//! devices taken out of service. Retiring is a revocation with reason
//! `cessationOfOperation`, audited as a retirement before it acts, published in the
//! CRL; with a fleet, another station's device is queued for that station.

use crate::crl::CrlError;
use crate::fleet_revocations::RevokeOutcome;
use crate::pipeline::Station;
use hallmark_ca::Reason;
use hallmark_store::{EndingCertificate, Store, StoreError};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// A certificate that ends within the window asked for.
#[derive(Clone, Debug, Serialize)]
pub struct Expiring {
    /// The certificate.
    #[serde(flatten)]
    pub certificate: EndingCertificate,
    /// Whole days from now to its end (negative: already ended).
    pub days_left: i64,
    /// It has ended already (and was never revoked).
    pub expired: bool,
}

/// Unrevoked device certificates of this log that end within `within` of `now`
/// (already ended ones included), soonest first.
pub fn expiring(store: &Store, now: OffsetDateTime, within: Duration) -> Result<Vec<Expiring>, StoreError> {
    let until = (now + within).format(&Rfc3339).unwrap_or_default();
    Ok(store
        .certificates_ending_by(&until)?
        .into_iter()
        .map(|certificate| {
            let end = OffsetDateTime::parse(&certificate.not_after, &Rfc3339).unwrap_or(now);
            Expiring { days_left: (end - now).whole_days(), expired: end <= now, certificate }
        })
        .collect())
}

/// `90d`, `12w` or `90` (days) as a duration; `None` for anything else.
pub fn parse_window(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, "d"),
    };
    let n: i64 = number.parse().ok()?;
    match unit {
        "d" => Some(Duration::days(n)),
        "w" => Some(Duration::weeks(n)),
        _ => None,
    }
}

impl Station {
    /// Takes the device `uid` out of service: audited as `retire` first, then every
    /// unrevoked certificate of it revoked for `cessationOfOperation` and the CRL
    /// published (or, another fleet station's device, queued for it).
    pub fn retire(&self, store: &Store, uid: &str, actor: &str) -> Result<RevokeOutcome, CrlError> {
        let detail = serde_json::json!({ "uid": uid, "reason": Reason::CessationOfOperation.as_str() });
        store.append_audit(actor, "retire", &detail)?;
        self.revoke_or_queue(store, uid, Reason::CessationOfOperation, actor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_days_or_weeks() {
        assert_eq!(parse_window("90d"), Some(Duration::days(90)));
        assert_eq!(parse_window("12w"), Some(Duration::weeks(12)));
        assert_eq!(parse_window("30"), Some(Duration::days(30)));
        assert_eq!(parse_window("3 months"), None);
        assert_eq!(parse_window("d"), None);
    }
}
