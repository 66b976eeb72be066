//! nRF91 modems over AT commands, in process: the `nrf91-at` dialect against the
//! simulated modem over an in-memory line, through the real pipeline, CA, log and
//! label. Each modem fault ends in its own failure code and signs nothing it should
//! not.

mod harness;

use hallmark_sim::modem::{Modem, ModemFault, ModemState};
use hallmark_station::dialect::nrf91::at::AtMode;
use hallmark_station::dialect::{Nrf91At, Nrf91Options};
use hallmark_station::pipeline::{LinkTarget, Silent};
use hallmark_station::report::{Outcome, RunReport};
use hallmark_station::transport::PortName;
use hallmark_station::Failure;
use hallmark_store::Store;
use harness::{paused_runtime, request, Bench};
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

/// Serves `modem` on its end of the line until the station closes it.
async fn serve_modem(modem: &mut Modem, line: DuplexStream) {
    let (mut rd, mut wr) = tokio::io::split(line);
    let mut buf = [0u8; 1024];
    loop {
        let n = match rd.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let out = modem.receive(&buf[..n]);
        if !out.is_empty() && wr.write_all(&out).await.is_err() {
            return;
        }
    }
}

fn options() -> Nrf91Options {
    Nrf91Options { command: Duration::from_secs(2), keygen: Duration::from_secs(10), ..Nrf91Options::for_sec_tag(42) }
}

/// Runs `modem` once through the station.
fn run(bench: &Bench, store: &Store, modem: &mut Modem, options: Nrf91Options) -> Result<RunReport, Failure> {
    let (station_end, modem_end) = tokio::io::duplex(1 << 16);
    let request = request(LinkTarget::Serial(PortName::parse("/dev/modem").expect("port name")), None);
    let dialect = Nrf91At::new(station_end, options);
    paused_runtime().block_on(async {
        let run = bench.station.provision_dialect(store, &request, dialect, &Silent, std::future::pending());
        let (report, ()) = tokio::join!(run, serve_modem(modem, modem_end));
        report
    })
}

fn end_detail(store: &Store, report: &RunReport, step: &str) -> Value {
    let events = store.run_events(&report.run_id).expect("events");
    events.into_iter().find(|e| e.0 == step && e.1 == "end").map(|e| e.4).unwrap_or(Value::Null)
}

fn modem(faults: &[ModemFault]) -> Modem {
    Modem::new(ModemState::fresh(), None, faults.to_vec())
}

#[test]
fn a_modem_is_provisioned_end_to_end() {
    let bench = Bench::new();
    let store = bench.store();
    let mut m = modem(&[]);
    let report = run(&bench, &store, &mut m, options()).expect("run");
    assert_eq!(report.outcome, Outcome::Pass, "{:?}", report.failure);
    let steps: Vec<&str> = report.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(steps, hallmark_store::Step::FRESH_RUN.map(|s| s.as_str()), "a modem runs every step");
    let identify = end_detail(&store, &report, "identify");
    assert_eq!(identify["dialect"], "nrf91-at");
    assert_eq!(identify["imei"], m.state().imei);
    assert_eq!(identify["modem_firmware"], "mfw_nrf91x1_2.0.2");
    assert_eq!(report.hardware_id.as_deref(), Some(format!("0{}", m.state().imei).as_str()));
    let keygen = end_detail(&store, &report, "keygen");
    assert_eq!(keygen["device"]["attestation"]["device_uuid"], m.state().uuid);
    assert_eq!(keygen["device"]["attestation"]["sec_tag"], 42);
    let selftest = end_detail(&store, &report, "selftest");
    assert_eq!(selftest["mode"], "attested-key", "{selftest}");
    assert_eq!(selftest["evidence"]["certificate_key_is_attested_key"], true);
    // The modem holds exactly the certificate the log has, as the station wrote it.
    let cert = report.cert_pem.as_deref().expect("certificate");
    let der = x509_parser::pem::parse_x509_pem(cert.as_bytes()).expect("pem").1.contents;
    let text = hallmark_station::dialect::nrf91::cmng::pem_text(&[&der]);
    assert_eq!(m.state().credentials.get("42/1"), Some(&text));
    assert!(m.state().credentials.contains_key("42/0"), "the CA the modem trusts is installed");
}

/// Runs a fresh modem with `faults` and returns the failure and the steps run.
fn fails(faults: &[ModemFault], options: Nrf91Options) -> (Failure, Vec<String>, Option<String>) {
    let bench = Bench::new();
    let store = bench.store();
    let mut m = modem(faults);
    let report = run(&bench, &store, &mut m, options).expect("the run is logged");
    assert_ne!(report.outcome, Outcome::Pass, "{faults:?} should fail");
    let steps = report.steps.iter().map(|s| s.name.clone()).collect();
    (report.failure.expect("failure"), steps, report.cert_serial)
}

#[test]
fn each_modem_fault_has_its_own_failure_and_signs_nothing_it_should_not() {
    // (fault, code, failing step, reason or words in what)
    let cases: &[(ModemFault, &str, &str, &str)] = &[
        (ModemFault::ModemOn, "DEVICE_ERROR", "keygen", "cme-518"),
        (ModemFault::StorageFull, "DEVICE_ERROR", "install", "cme-515"),
        (ModemFault::MalformedKeygen, "PROTOCOL_VIOLATION", "keygen", "malformed"),
        (ModemFault::AttestationMismatch, "CSR_INVALID", "keygen", "attestation does not match"),
        (ModemFault::KeyMissing, "READBACK_MISMATCH", "readback", "private key"),
        (ModemFault::WrongReadback, "READBACK_MISMATCH", "readback", "different certificate"),
        (ModemFault::OldFirmware, "UNSUPPORTED_PROTOCOL", "identify", "older than 1.3.0"),
        (ModemFault::Garbage, "DEVICE_TIMEOUT", "identify", "neither as plain AT"),
        (ModemFault::Silent, "DEVICE_TIMEOUT", "identify", "neither as plain AT"),
        (ModemFault::OtherUuid, "CSR_INVALID", "keygen", "attestation does not match"),
    ];
    for &(fault, code, step, words) in cases {
        let (failure, steps, serial) = fails(&[fault], options());
        assert_eq!(failure.code.as_str(), code, "{fault:?}: {failure:?}");
        assert_eq!(steps.last().map(String::as_str), Some(step), "{fault:?}: {steps:?}");
        let said = format!("{} {}", failure.reason.as_deref().unwrap_or_default(), failure.what);
        assert!(said.contains(words), "{fault:?}: {said}");
        if ["identify", "keygen"].contains(&step) {
            assert!(serial.is_none(), "{fault:?}: nothing may be signed");
        }
    }
}

#[test]
fn a_modem_can_be_identified_by_its_device_uuid() {
    let mut bench = Bench::new();
    let store = bench.store();
    let uuid_mode = || Nrf91Options { hardware_id: hallmark_station::dialect::ModemId::Uuid, ..options() };
    // A 16-byte id makes a 32-character UID, which the default 50 x 25 mm label
    // cannot carry as Code 128: refused at label-check, before any key exists.
    let mut m = modem(&[]);
    let report = run(&bench, &store, &mut m, uuid_mode()).expect("run");
    let failure = report.failure.clone().expect("refused");
    assert_eq!(
        (failure.code.as_str().as_ref(), report.steps.last().map(|s| s.name.as_str())),
        ("LABEL_FAILED", Some("label-check"))
    );
    assert!(m.state().credentials.is_empty(), "nothing generated");
    // With station-allocated UIDs another modem passes, known by its UUID (the first
    // keeps the UID it was given: a board keeps its UID).
    let mut m = modem(&[]);
    bench.configure(|t| {
        t.replace(
            "scheme = \"hardware-id\"\nprefix = \"\"",
            "scheme = \"sequence\"\nprefix = \"M\"\ndate = \"YY\"\nwidth = 6\ncheck = \"none\"",
        )
    });
    let report = run(&bench, &store, &mut m, uuid_mode()).expect("run");
    assert_eq!(report.outcome, Outcome::Pass, "{:?}", report.failure);
    let uuid_hex = m.state().uuid.replace('-', "").to_uppercase();
    assert_eq!(report.hardware_id.as_deref(), Some(uuid_hex.as_str()));
    let identify = end_detail(&store, &report, "identify");
    assert_eq!(identify["device_uuid"], m.state().uuid);
    assert_eq!(identify["imei"], m.state().imei, "the IMEI is recorded all the same");
}

#[test]
fn shell_firmware_is_detected_and_plain_csrs_are_accepted_too() {
    let bench = Bench::new();
    let store = bench.store();
    let mut m = modem(&[ModemFault::Shell, ModemFault::PlainCsr]);
    let report = run(&bench, &store, &mut m, options()).expect("run");
    assert_eq!(report.outcome, Outcome::Pass, "{:?}", report.failure);
    assert_eq!(end_detail(&store, &report, "identify")["at_mode"], "shell");
    // A modem that reports an empty tag as "not found" (513) has an empty tag.
    let mut m = modem(&[ModemFault::CredentialMissing]);
    let report = run(&bench, &store, &mut m, options()).expect("run");
    assert_eq!(report.outcome, Outcome::Pass, "{:?}", report.failure);
    assert_eq!(end_detail(&store, &report, "identify")["has_key"], false);
    // Configured, not detected.
    let mut m = modem(&[ModemFault::Shell]);
    let report = run(&bench, &store, &mut m, Nrf91Options { mode: Some(AtMode::Shell), ..options() }).expect("run");
    assert_eq!(report.outcome, Outcome::Pass, "{:?}", report.failure);
}

#[test]
fn a_provisioned_modem_is_recognised_by_its_listed_digest() {
    let bench = Bench::new();
    let store = bench.store();
    let mut m = modem(&[]);
    let first = run(&bench, &store, &mut m, options()).expect("run");
    assert_eq!(first.outcome, Outcome::Pass, "{:?}", first.failure);
    // The same modem again: it holds this station's certificate, so the default
    // policy refuses it as already provisioned.
    let second = run(&bench, &store, &mut m, options()).expect("run");
    let failure = second.failure.clone().expect("refused");
    assert_eq!(failure.code.as_str(), "ALREADY_PROVISIONED", "{failure:?}");
    let serial = first.cert_serial.expect("serial");
    assert!(failure.what.contains(&serial), "it is named by the certificate it holds: {}", failure.what);
}
