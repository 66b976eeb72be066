//! The device dialect seam, driven in process: the pipeline decides from the
//! capabilities a dialect reports, never from the protocol behind it. A dialect that
//! wraps Hallmark v1 and reports less (or reports digests only) stands in for a board
//! that speaks another dialect, such as an AT-command modem.

mod harness;

use hallmark_ca::IssuingCa;
use hallmark_config::BrokerSection;
use hallmark_station::client::DeviceClient;
use hallmark_station::dialect::{
    BoardFacts, Capabilities, DeviceError, Dialect, GeneratedKey, HallmarkV1, Installation, ReadBack,
};
use hallmark_station::pipeline::{LinkTarget, Silent};
use hallmark_station::report::{Outcome, RunReport};
use hallmark_station::selftest::{BrokerEvidence, BrokerFailure, LinkEvidence, LinkFailure};
use hallmark_station::transport::PortName;
use hallmark_station::Failure;
use hallmark_store::{IssuedCertificate, Store};
use harness::{board, board_from, paused_runtime, request, serve, Bench};
use serde_json::{json, Value};
use tokio::io::DuplexStream;

/// Hallmark v1 as a board that offers less: `shape` edits what it reports.
struct Shaped {
    inner: HallmarkV1<DuplexStream>,
    shape: fn(&mut Capabilities),
    /// Reports digests only, and this one instead of the real one for the chain.
    chain_digest: Option<&'static str>,
    /// Dialect-specific keygen facts (an attestation, say).
    keygen_detail: Value,
}

impl Shaped {
    fn new(link: DuplexStream, bench: &Bench, shape: fn(&mut Capabilities)) -> Shaped {
        let inner = HallmarkV1::new(DeviceClient::new(link, bench.station.timeouts));
        Shaped { inner, shape, chain_digest: None, keygen_detail: Value::Null }
    }
}

impl Dialect for Shaped {
    fn name(&self) -> &'static str {
        "shaped-v1"
    }
    async fn identify(&mut self) -> Result<(BoardFacts, Capabilities), DeviceError> {
        let (facts, mut capabilities) = self.inner.identify().await?;
        (self.shape)(&mut capabilities);
        Ok((facts, capabilities))
    }
    async fn installed_fingerprint(&mut self, issued: &[IssuedCertificate]) -> Result<Option<String>, DeviceError> {
        self.inner.installed_fingerprint(issued).await
    }
    async fn read_certificate(&mut self) -> Result<Vec<u8>, DeviceError> {
        self.inner.read_certificate().await
    }
    async fn generate_key(&mut self) -> Result<GeneratedKey, DeviceError> {
        let mut key = self.inner.generate_key().await?;
        key.detail = self.keygen_detail.clone();
        Ok(key)
    }
    async fn certificate_request(&mut self, challenge: Option<&[u8]>) -> Result<Vec<u8>, DeviceError> {
        self.inner.certificate_request(challenge).await
    }
    async fn install(&mut self, installation: &Installation) -> Result<Value, DeviceError> {
        self.inner.install(installation).await
    }
    async fn read_back(&mut self, installation: &Installation) -> Result<Vec<ReadBack>, DeviceError> {
        let mut read = self.inner.read_back(installation).await?;
        if let Some(digest) = self.chain_digest {
            for item in &mut read {
                item.read_len = None;
                if item.name == "chain" {
                    item.read_sha256 = digest.to_string();
                }
            }
        }
        Ok(read)
    }
    async fn sign_nonce(&mut self, nonce: &[u8]) -> Result<Vec<u8>, DeviceError> {
        self.inner.sign_nonce(nonce).await
    }
    async fn tls_link(&mut self, ca: &IssuingCa, certificate: &[u8]) -> Result<LinkEvidence, LinkFailure> {
        self.inner.tls_link(ca, certificate).await
    }
    async fn broker_test(
        &mut self,
        ca: &IssuingCa,
        station_id: &str,
        broker: &BrokerSection,
        uid: &str,
    ) -> Result<BrokerEvidence, BrokerFailure> {
        self.inner.broker_test(ca, station_id, broker, uid).await
    }
    async fn finish(&mut self) -> Result<Value, DeviceError> {
        self.inner.finish().await
    }
}

/// Runs `sim` (a simulated board) through a [`Shaped`] dialect made by `make`.
fn run_shaped(
    bench: &Bench,
    store: &Store,
    sim: &mut hallmark_sim::Board,
    make: impl FnOnce(DuplexStream) -> Shaped,
) -> Result<RunReport, Failure> {
    let (station_end, board_end) = tokio::io::duplex(1 << 16);
    let request = request(LinkTarget::Serial(PortName::parse("/dev/shaped").expect("port name")), None);
    let dialect = make(station_end);
    paused_runtime().block_on(async {
        let run = bench.station.provision_dialect(store, &request, dialect, &Silent, std::future::pending());
        let (report, ()) = tokio::join!(run, serve(sim, board_end));
        report
    })
}

fn steps(report: &RunReport) -> Vec<&str> {
    report.steps.iter().map(|s| s.name.as_str()).collect()
}

/// The detail of `step`'s end event.
fn end_detail(store: &Store, report: &RunReport, step: &str) -> Value {
    let events = store.run_events(&report.run_id).expect("events");
    events.into_iter().find(|e| e.0 == step && e.1 == "end").map(|e| e.4).unwrap_or(Value::Null)
}

#[test]
fn the_run_record_names_the_dialect_and_keeps_its_keygen_facts() {
    let bench = Bench::new();
    let store = bench.store();
    let report = run_shaped(&bench, &store, &mut board(&[]), |link| Shaped {
        keygen_detail: json!({ "attestation": "checked" }),
        ..Shaped::new(link, &bench, |_| {})
    })
    .expect("run");
    assert_eq!(report.outcome, Outcome::Pass, "{:?}", report.failure);
    assert_eq!(end_detail(&store, &report, "connect")["dialect"], "shaped-v1");
    let identify = end_detail(&store, &report, "identify");
    assert_eq!(identify["dialect"], "shaped-v1");
    // The dialect's own facts are kept next to the pipeline's.
    assert!(identify["capabilities"].is_u64(), "{identify}");
    assert_eq!(end_detail(&store, &report, "keygen")["device"]["attestation"], "checked");
}

#[test]
fn a_board_without_the_configured_self_test_is_refused_before_anything_is_issued() {
    let bench = Bench::new();
    let store = bench.store();
    let report = run_shaped(&bench, &store, &mut board(&[]), |link| {
        Shaped::new(link, &bench, |c| {
            c.self_tests.possession = false;
            c.self_tests.tls_link = false;
        })
    })
    .expect("the run is logged");
    let failure = report.failure.as_ref().expect("refused");
    assert_eq!(failure.code.as_str(), "SELFTEST_FAILED");
    assert_eq!(failure.reason.as_deref(), Some("unsupported"));
    assert!(failure.what.contains("Nothing was generated or issued"), "{}", failure.what);
    assert_eq!(steps(&report), ["connect", "identify"]);
    assert!(report.cert_serial.is_none());
    let uid = report.uid.as_deref().unwrap_or_default();
    assert!(store.certificates(uid).expect("certificates").is_empty(), "nothing may be signed for {uid}");
}

#[test]
fn a_board_that_cannot_request_a_certificate_for_its_key_gets_a_new_key_when_resuming() {
    let bench = Bench::new();
    let store = bench.store();
    // The first run signs, then the board refuses the installation: the log holds a
    // certificate the board never installed, for the key the board still holds.
    let mut rejecting = board(&["reject-install"]);
    let first = run_shaped(&bench, &store, &mut rejecting, |link| Shaped::new(link, &bench, |_| {})).expect("run");
    assert_eq!(first.failure.as_ref().map(|f| f.code.as_str()).as_deref(), Some("INSTALL_REJECTED"));
    let old = first.cert_serial.clone().expect("signed before the install");
    // Resumed through a dialect that cannot show it still holds that key.
    let mut sim = board_from(rejecting.state().clone(), None, &[]);
    let second =
        run_shaped(&bench, &store, &mut sim, |link| Shaped::new(link, &bench, |c| c.csr_for_existing_key = false))
            .expect("second run");
    assert_eq!(second.outcome, Outcome::Pass, "{:?}", second.failure);
    assert_eq!(second.plan.as_deref(), Some("resume-install"));
    assert!(steps(&second).contains(&"keygen"), "a new key is generated: {:?}", steps(&second));
    assert_eq!(second.revoked_serials, vec![old.clone()], "the certificate never installed is superseded");
    assert_ne!(second.cert_serial.as_deref(), Some(old.as_str()));
    let keys = |r: &RunReport| end_detail(&store, r, "csr")["key_sha256"].clone();
    assert_ne!(keys(&first), keys(&second), "the new certificate is for a new key");
    let uid = second.uid.as_deref().expect("uid");
    let issued = store.certificates(uid).expect("certificates");
    assert_eq!(issued.iter().filter(|c| c.revoked.is_none()).count(), 1, "one valid certificate");
}

#[test]
fn a_board_that_reports_a_different_digest_fails_readback_and_says_which() {
    let bench = Bench::new();
    let store = bench.store();
    let report = run_shaped(&bench, &store, &mut board(&[]), |link| Shaped {
        chain_digest: Some("00"),
        ..Shaped::new(link, &bench, |_| {})
    })
    .expect("the run is logged");
    let failure = report.failure.as_ref().expect("fails");
    assert_eq!(failure.code.as_str(), "READBACK_MISMATCH");
    assert!(
        failure.what.contains("different chain") && failure.what.contains("a different digest read"),
        "{}",
        failure.what
    );
    assert_eq!(steps(&report).last(), Some(&"readback"));
}
