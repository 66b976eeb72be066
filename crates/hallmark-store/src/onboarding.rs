//! The onboarding export: the currently valid certificate of every device that
//! passed, for bulk import into a cloud device registry.

use crate::query::RunFilter;
use crate::{Store, StoreError};
use rusqlite::params_from_iter;
use serde::Serialize;

/// One device for a cloud registry.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct OnboardingRecord {
    /// Device UID (= certificate CN = MQTT username).
    pub uid: String,
    /// Certificate serial, hex.
    pub serial: String,
    /// SHA-256 fingerprint, hex.
    pub fingerprint: String,
    /// The device certificate, PEM.
    pub certificate_pem: String,
}

impl Store {
    /// Devices with a PASS run among the runs `filter` selects, each with its latest
    /// certificate if that is not revoked.
    pub fn onboarding(&self, filter: &RunFilter, mut f: impl FnMut(OnboardingRecord)) -> Result<(), StoreError> {
        let (w, p) = filter.sql();
        let mut stmt = self.conn.prepare(&format!(
            "SELECT c.uid, c.serial, c.fingerprint, c.pem FROM certificates c
             WHERE c.id = (SELECT MAX(c2.id) FROM certificates c2 WHERE c2.uid = c.uid)
               AND NOT EXISTS (SELECT 1 FROM revocations v WHERE v.serial = c.serial)
               AND c.uid IN (SELECT x.uid FROM runs r JOIN run_results x ON x.run_id = r.id {w} AND x.outcome = 'PASS')
             ORDER BY c.id"
        ))?;
        let mut rows = stmt.query(params_from_iter(p.iter()))?;
        while let Some(r) = rows.next()? {
            f(OnboardingRecord {
                uid: r.get(0)?,
                serial: r.get(1)?,
                fingerprint: r.get(2)?,
                certificate_pem: r.get(3)?,
            });
        }
        Ok(())
    }
}

impl OnboardingRecord {
    /// CSV header.
    pub fn csv_header() -> &'static str {
        "uid,serial,fingerprint_sha256,certificate_pem"
    }

    /// One CSV row (the PEM is quoted; it contains newlines).
    pub fn to_csv(&self) -> String {
        use crate::export::csv_field;
        [&self.uid, &self.serial, &self.fingerprint, &self.certificate_pem]
            .iter()
            .map(|f| csv_field(f))
            .collect::<Vec<_>>()
            .join(",")
    }
}
