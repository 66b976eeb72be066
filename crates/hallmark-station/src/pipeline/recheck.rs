//! Re-checking a provisioned board: read the certificate it holds, look it up in the
//! log and run the configured self-test with it, changing nothing on the board. QA
//! uses it for returns and audits; it is how a revocation is seen to bite at the
//! broker. Recorded in the audit chain (before and after), not as a run, so yield
//! figures stay about provisioning.

use super::errors::{self, sanitize};
use super::selftest_step::self_test;
use super::{connect_serial, Station, Step};
use crate::dialect::{Dialect, HallmarkV1};
use crate::transport::PortName;
use crate::{Failure, FailureCode};
use hallmark_ca::fingerprint;
use hallmark_store::{SelfTested, Store};
use serde::Serialize;
use serde_json::json;

/// The result of a re-check (`hallmark selftest --json`).
#[derive(Clone, Debug, Serialize)]
pub struct RecheckReport {
    /// `PASS` or `FAIL`.
    pub outcome: &'static str,
    /// The port.
    pub port: String,
    /// UID: the certificate's CN.
    pub uid: Option<String>,
    /// SHA-256 of the certificate the board holds.
    pub cert_fingerprint: Option<String>,
    /// Its serial, if this station issued it.
    pub cert_serial: Option<String>,
    /// Whether the log has it as issued for that UID.
    pub issued_by_station: bool,
    /// The log's revocation reason, if revoked.
    pub revoked: Option<String>,
    /// What the self-test proved (as the `selftest` step records it).
    pub selftest: Option<SelfTested>,
    /// Why it failed.
    pub failure: Option<Failure>,
}

impl Station {
    /// Re-runs the self-test on the board at `port` with the identity it holds.
    pub async fn recheck_serial(&self, store: &Store, port: &PortName, actor: &str) -> Result<RecheckReport, Failure> {
        store
            .append_audit(actor, "selftest-start", &json!({ "port": port.as_str(), "station": self.station_id }))
            .map_err(errors::log_failed)?;
        let mut report = RecheckReport {
            outcome: "FAIL",
            port: port.to_string(),
            uid: None,
            cert_fingerprint: None,
            cert_serial: None,
            issued_by_station: false,
            revoked: None,
            selftest: None,
            failure: None,
        };
        match self.recheck(store, port, &mut report).await {
            Ok(evidence) => {
                report.outcome = "PASS";
                report.selftest = Some(evidence);
            }
            Err(f) => report.failure = Some(f),
        }
        let detail = serde_json::to_value(&report).unwrap_or_default();
        store.append_audit(actor, "selftest", &detail).map_err(errors::log_failed)?;
        Ok(report)
    }

    async fn recheck(&self, store: &Store, port: &PortName, report: &mut RecheckReport) -> Result<SelfTested, Failure> {
        let mut dialect = HallmarkV1::new(connect_serial(port, self.timeouts)?).tuned(self.link_tuning());
        let (board, capabilities) = dialect.identify().await.map_err(|e| e.at(Step::Identify))?;
        if !board.has_certificate {
            return Err(Failure::new(
                FailureCode::SelftestFailed,
                "The board holds no certificate.",
                "Provision it first.",
            )
            .with_reason("no-identity"));
        }
        let der = dialect.read_certificate().await.map_err(|e| e.at(Step::Identify))?;
        let fp = fingerprint(&der);
        report.cert_fingerprint = Some(fp.clone());
        let uid = common_name(&der).ok_or_else(|| {
            Failure::new(
                FailureCode::SelftestFailed,
                "The board's certificate has no readable CN (UID).",
                "Set the board aside for engineering.",
            )
            .with_reason("bad-certificate")
        })?;
        report.uid = Some(uid.clone());
        let issued = store.certificates(&uid).map_err(errors::log_failed)?;
        if let Some(c) = issued.iter().find(|c| c.fingerprint == fp) {
            report.issued_by_station = true;
            report.cert_serial = Some(c.serial.clone());
            report.revoked = c.revoked.clone();
        }
        let (_, detail) = self_test(&mut dialect, &capabilities, self, &uid, &der).await?;
        Ok(detail)
    }
}

/// The subject CN of a DER certificate, printable ASCII only.
fn common_name(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let cn = cert.subject().iter_common_name().next()?.as_str().ok()?.to_string();
    let clean = sanitize(&cn);
    (!clean.is_empty() && clean == cn).then_some(clean)
}
