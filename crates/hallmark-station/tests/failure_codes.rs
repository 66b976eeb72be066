//! Every failure code the run pipeline can produce, driven in process: the simulated
//! board's faults over an in-memory link under paused time, and the station's own
//! failures (its log, its CA, its CRL, its printer, its probe) set up for real. Each
//! case checks the code, the step it failed at, and that the operator gets words.

mod harness;

use hallmark_sim::BoardState;
use hallmark_station::clock::Clock;
use hallmark_station::pipeline::LinkTarget;
use hallmark_station::probe::{Attached, ProbeBackend, ProbeError, ProbeTarget};
use hallmark_station::report::{Outcome, RunReport};
use hallmark_station::Failure;
use harness::{board, board_from, paused_runtime, Bench};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// The codes a run can end with; each needs a case below.
const PIPELINE_CODES: &[&str] = &[
    "PORT_OPEN_FAILED",
    "PROBE_FAILED",
    "FLASH_FAILED",
    "DEVICE_TIMEOUT",
    "LINK_LOST",
    "LINK_CORRUPT",
    "FRAME_TOO_LARGE",
    "PROTOCOL_VIOLATION",
    "UNSUPPORTED_PROTOCOL",
    "DEVICE_ERROR",
    "ALREADY_PROVISIONED",
    "UID_INVALID",
    "UID_COLLISION",
    "KEY_UNSUPPORTED",
    "CSR_INVALID",
    "CSR_SIGNATURE_INVALID",
    "CSR_KEY_MISMATCH",
    "CSR_ALGORITHM_REJECTED",
    "SIGNING_FAILED",
    "CRL_PUBLISH_FAILED",
    "INSTALL_REJECTED",
    "READBACK_MISMATCH",
    "SELFTEST_FAILED",
    "BROKER_UNAVAILABLE",
    "LABEL_FAILED",
    "PRINT_FAILED",
    "LOG_FAILED",
    "CANCELLED",
    "KEY_REUSED",
    "KEY_INVALID",
    "CSR_NOT_BOUND",
    "FLEET_UNAVAILABLE",
];

/// The failure of a run that must fail: from the report, or the error of a run that
/// could not even be logged.
fn failure(case: &str, result: Result<RunReport, Failure>) -> (Failure, Option<String>) {
    match result {
        Ok(report) => {
            // A cancelled run ends INTERRUPTED, every other failure FAIL.
            assert_ne!(report.outcome, Outcome::Pass, "{case}: the run should have failed (plan {:?})", report.plan);
            let step = report.steps.iter().find(|s| s.outcome != "PASS").map(|s| s.name.clone());
            (report.failure.expect("a failed run carries its failure"), step)
        }
        Err(f) => (f, None),
    }
}

/// Checks a failure and records its code as covered.
fn expect(seen: &mut BTreeSet<String>, case: &str, got: Result<RunReport, Failure>, code: &str, step: Option<&str>) {
    let (f, at) = failure(case, got);
    assert_eq!(f.code.as_str(), code, "{case}: {f} (detail {:?})", f.detail);
    if step.is_some() {
        assert_eq!(at.as_deref(), step, "{case}: failed at the wrong step");
    }
    assert!(f.message.len() > 20 && f.message.ends_with('.'), "{case}: the operator gets a sentence: {:?}", f.message);
    seen.insert(code.to_string());
}

/// A clock long after the issuing CA expired.
struct FarFuture;
impl Clock for FarFuture {
    fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc() + time::Duration::days(365 * 60)
    }
}

/// A probe whose flashing fails (the physical probe cannot exist here: the fake sits
/// behind the same trait the probe-rs backend implements).
struct FlashFails;
impl ProbeBackend for FlashFails {
    fn attach(&self, target: &ProbeTarget, _deadline: Duration) -> Result<Attached, ProbeError> {
        Err(ProbeError::Flash { image: format!("{:?}", target.flash), why: "verify failed at 0x0800_0000".into() })
    }
}

fn probe_target(selector: &str) -> LinkTarget {
    LinkTarget::Probe(ProbeTarget {
        selector: selector.into(),
        chip: "nRF52840_xxAA".into(),
        flash: Some("firmware.elf".into()),
        bin_base: None,
        allow_erase_all: false,
    })
}

#[test]
fn every_failure_code_the_pipeline_produces() {
    let started = std::time::Instant::now();
    let rt = paused_runtime();
    let mut bench = Bench::new();
    let store = bench.store();
    let mut seen = BTreeSet::new();
    let seen = &mut seen;

    // The board misbehaves.
    for (fault, code, step) in [
        ("silent", "DEVICE_TIMEOUT", "identify"),
        ("slow-keygen=60000", "DEVICE_TIMEOUT", "keygen"),
        ("drop-after=keygen", "LINK_LOST", "csr"),
        ("corrupt-frames=1", "LINK_CORRUPT", "identify"),
        ("oversized-frame", "FRAME_TOO_LARGE", "identify"),
        ("garbage-response", "PROTOCOL_VIOLATION", "keygen"),
        ("flood-answers", "PROTOCOL_VIOLATION", "keygen"),
        ("wrong-protocol-version", "UNSUPPORTED_PROTOCOL", "identify"),
        ("storage-error", "DEVICE_ERROR", "keygen"),
        ("keygen-compressed", "KEY_UNSUPPORTED", "keygen"),
        ("keygen-off-curve", "KEY_INVALID", "keygen"),
        ("garbage-csr", "CSR_INVALID", "csr"),
        ("bad-csr-signature", "CSR_SIGNATURE_INVALID", "csr"),
        ("csr-wrong-key", "CSR_KEY_MISMATCH", "csr"),
        ("reject-install", "INSTALL_REJECTED", "install"),
        ("readback-mismatch", "READBACK_MISMATCH", "readback"),
        ("tls-wrong-key", "SELFTEST_FAILED", "selftest"),
    ] {
        let got = rt.block_on(bench.run(&store, &mut board(&[fault]), None));
        expect(seen, fault, got, code, Some(step));
    }

    // A board already done is refused under the default policy.
    let mut done = board(&[]);
    let first = rt.block_on(bench.run(&store, &mut done, None)).expect("first run");
    assert_eq!(first.outcome, Outcome::Pass, "{first:?}");
    let got = rt.block_on(bench.run(&store, &mut done, None));
    expect(seen, "second run", got, "ALREADY_PROVISIONED", Some("identify"));

    // One key, one identity: a board holding a copy of another board's key.
    let genuine = bench.dir.path().join("genuine.json");
    let mut original = board_from(BoardState::fresh(), Some(genuine.clone()), &[]);
    assert_eq!(rt.block_on(bench.run(&store, &mut original, None)).unwrap().outcome, Outcome::Pass);
    let copy = format!("key-of={}", genuine.display());
    let got = rt.block_on(bench.run(&store, &mut board(&[copy.as_str()]), None));
    expect(seen, "key-of", got, "KEY_REUSED", Some("sign"));
    let replay = format!("replay-csr={}", genuine.display());
    let got = rt.block_on(bench.run(&store, &mut board(&[replay.as_str()]), None));
    expect(seen, "replay-csr", got, "CSR_NOT_BOUND", Some("csr"));

    // The configuration decides.
    bench.configure(|t| t.replace("key_algorithms = [\"p256\"]", "key_algorithms = [\"p384\"]"));
    let got = rt.block_on(bench.run(&store, &mut board(&[]), None));
    expect(seen, "p256 not allowed", got, "CSR_ALGORITHM_REJECTED", None);
    bench.configure(|t| t.replace("csr_binding = \"when-offered\"", "csr_binding = \"required\""));
    let got = rt.block_on(bench.run(&store, &mut board(&["no-csr-binding"]), None));
    expect(seen, "binding required", got, "CSR_NOT_BOUND", Some("identify"));
    bench.configure(|t| t.replace("scheme = \"hardware-id\"\nprefix = \"\"", "scheme = \"scanned\""));
    let got = rt.block_on(bench.run(&store, &mut board(&[]), Some("not a uid!")));
    expect(seen, "scanned garbage", got, "UID_INVALID", Some("identify"));
    assert_eq!(rt.block_on(bench.run(&store, &mut board(&[]), Some("LBL-0001"))).unwrap().outcome, Outcome::Pass);
    let got = rt.block_on(bench.run(&store, &mut board(&[]), Some("LBL-0001")));
    expect(seen, "label used twice", got, "UID_COLLISION", Some("identify"));
    // A fleet that cannot be asked (nothing listens on port 1), and a station set to
    // refuse then: nothing is generated or signed.
    bench.configure(|t| {
        let scanned = t.replace("scheme = \"hardware-id\"\nprefix = \"\"", "scheme = \"scanned\"");
        format!("{scanned}\n[fleet]\nurl = \"postgresql://bench@127.0.0.1:1/fleet\"\nwhen_offline = \"refuse\"\n")
    });
    let got = rt.block_on(bench.run(&store, &mut board(&[]), Some("LBL-0002")));
    expect(seen, "fleet down, refuse", got, "FLEET_UNAVAILABLE", Some("identify"));

    // The possession self-test: the board signs the station's nonce with another key.
    bench.configure(|t| t.replace("\nmode = \"auto\"", "\nmode = \"possession\""));
    let got = rt.block_on(bench.run(&store, &mut board(&["selftest-wrong-key"]), None));
    expect(seen, "possession, wrong key", got, "SELFTEST_FAILED", Some("selftest"));

    // The self-test broker is the station's side: nothing listens on its port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    bench.configure(|t| {
        t.replace(
            "\nmode = \"auto\"",
            &format!("\nmode = \"broker\"\n[selftest.broker]\naddress = \"{closed}\"\ntimeout_ms = 2000"),
        )
    });
    let got = rt.block_on(bench.run(&store, &mut board(&[]), None));
    expect(seen, "broker down", got, "BROKER_UNAVAILABLE", Some("selftest"));

    // The label cannot hold this board's model: refused before a key exists.
    bench.configure(|t| t);
    let saved = bench.station.label_template.clone();
    bench.station.label_template = hallmark_label::Template::parse(
        "name = \"narrow\"\nwidth_mm = 50.0\nheight_mm = 25.0\ndpi = 300\nmargin_mm = 1.0\n\n[[element]]\nkind = \
         \"text\"\nx_mm = 2.0\ny_mm = 2.0\nsize_pt = 8.0\ntext = \"{model}\"\nmax_width_mm = 20.0\n",
        std::path::Path::new("."),
    )
    .expect("narrow template");
    let wide = BoardState { model: "W".repeat(64), ..BoardState::fresh() };
    let got = rt.block_on(bench.run(&store, &mut board_from(wide, None, &[]), None));
    expect(seen, "narrow label", got, "LABEL_FAILED", Some("label-check"));
    bench.station.label_template = saved;

    // The printer's folder cannot be created (a file is in the way).
    let blocker = bench.dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"").unwrap();
    let folder = blocker.join("queue");
    bench.configure(|t| {
        t.replacen(
            "[label]",
            &format!("[label]\n[label.printer]\nkind = \"folder\"\npath = \"{}\"", folder.display()),
            1,
        )
    });
    let got = rt.block_on(bench.run(&store, &mut board(&[]), None));
    expect(seen, "printer folder", got, "PRINT_FAILED", Some("label"));

    // The CRL cannot be written when re-issuing supersedes a certificate.
    let crl = blocker.join("crl.pem");
    bench.configure(|t| {
        t.replace("policy = \"refuse\"", "policy = \"reissue\"").replacen(
            "[crl]",
            &format!("[crl]\npath = \"{}\"", crl.display()),
            1,
        )
    });
    let got = rt.block_on(bench.run(&store, &mut done, None));
    expect(seen, "reissue, CRL unwritable", got, "CRL_PUBLISH_FAILED", Some("sign"));
    bench.configure(|t| t);

    // The issuing CA has expired by the station's clock.
    bench.station.clock = Arc::new(FarFuture);
    let got = rt.block_on(bench.run(&store, &mut board(&[]), None));
    expect(seen, "CA expired", got, "SIGNING_FAILED", Some("sign"));
    bench.station.clock = Arc::new(hallmark_station::clock::SystemClock);

    // The operator cancels while the board generates its key.
    let mut slow = board(&["slow-keygen=60000"]);
    let got = rt.block_on(async {
        let cancel = tokio::time::sleep(Duration::from_millis(500));
        bench.run_until(&store, &mut slow, None, cancel).await
    });
    expect(seen, "cancel", got, "CANCELLED", Some("keygen"));

    // The station's own links: a port that does not exist, a probe that is not there,
    // a probe whose flashing fails.
    let port = LinkTarget::Serial(hallmark_station::transport::PortName::parse("/dev/ttyHALLMARK-BENCH-NONE").unwrap());
    expect(seen, "no port", rt.block_on(bench.run_at(&store, port)), "PORT_OPEN_FAILED", Some("connect"));
    let got = rt.block_on(bench.run_at(&store, probe_target("dead:beef")));
    expect(seen, "no probe", got, "PROBE_FAILED", Some("connect"));
    bench.station.probes = Arc::new(FlashFails);
    let got = rt.block_on(bench.run_at(&store, probe_target("0483:374b")));
    expect(seen, "flash", got, "FLASH_FAILED", Some("connect"));

    // A log the station cannot write: it refuses to act unlogged.
    let read_only = hallmark_store::Store::open_read_only(&bench.station.data_dir.log_path()).unwrap();
    let got = rt.block_on(bench.run(&read_only, &mut board(&[]), None));
    expect(seen, "read-only log", got, "LOG_FAILED", None);

    let missing: Vec<_> = PIPELINE_CODES.iter().filter(|c| !seen.contains(**c)).collect();
    assert!(missing.is_empty(), "codes without a case: {missing:?}");
    assert!(store.verify_chain().unwrap().intact(), "the log stays intact through every failure");
    eprintln!("{} failure codes driven in {:?} of wall time", seen.len(), started.elapsed());
}

#[test]
fn a_board_unplugged_after_any_step_resumes_on_the_next_run_with_one_certificate() {
    let rt = paused_runtime();
    let bench = Bench::new();
    let store = bench.store();
    // (drop-after=selftest acts on the possession self-test; the default here is TLS.)
    for step in ["hello", "keygen", "csr", "install", "readback"] {
        let fault = format!("drop-after={step}");
        let mut first = board(&[fault.as_str()]);
        let got = rt.block_on(bench.run(&store, &mut first, None));
        let (f, _) = failure(&fault, got);
        assert_eq!(f.code.as_str(), "LINK_LOST", "{fault}: {f}");
        // The same board, plugged in again without the fault.
        let mut again = board_from(first.state().clone(), None, &[]);
        let report = rt.block_on(bench.run(&store, &mut again, None)).expect("second run");
        assert_eq!(report.outcome, Outcome::Pass, "{fault}: {:?}", report.failure);
        let uid = report.uid.clone().expect("uid");
        let revoked: Vec<String> = store.revocations().unwrap().into_iter().map(|r| r.serial).collect();
        let valid = store.certificates(&uid).unwrap().into_iter().filter(|c| !revoked.contains(&c.serial)).count();
        assert_eq!(valid, 1, "{fault}: one valid certificate for {uid}");
        assert!(again.state().certificate.is_some(), "{fault}: installed");
    }
    assert!(store.verify_chain().unwrap().intact());
}
