//! Every simulator fault ends in a FAIL with a specific code, in bounded time, with
//! the run recorded and no certificate installed where signing must not happen.

use crate::support::*;
use std::time::{Duration, Instant};

/// Fast deadlines so faults resolve quickly: 400 ms per answer, 1 s for keygen,
/// 2 attempts per request.
const FAST: &[&str] = &["--response-timeout-ms", "400", "--keygen-timeout-ms", "1000", "--attempts", "2"];

struct Case {
    /// One or more simulator faults, comma-separated.
    fault: &'static str,
    code: &'static str,
    step: &'static str,
    /// Whether a certificate was signed (and logged) before the failure.
    signed: bool,
    /// Whether the board ends up holding it (failures after install).
    installed: bool,
}

fn check(case: Case) {
    let station = Station::new();
    let faults: Vec<&str> = case.fault.split(',').collect();
    let sim = Sim::start(&station.board_state("board"), &faults);
    let started = Instant::now();
    let (code, r) = station.provision(&sim.port, FAST);
    let took = started.elapsed();
    assert_eq!(code, 1, "{}: {r}", case.fault);
    assert_eq!(r["outcome"], "FAIL");
    assert_eq!(r["failure"]["code"], case.code, "{}: {r}", case.fault);
    let message = r["failure"]["message"].as_str().unwrap();
    assert!(message.len() > 40, "the operator gets a real explanation: {message}");
    assert_eq!(failed_step(&r), case.step, "{}", case.fault);
    assert!(took < Duration::from_secs(15), "{} took {took:?}", case.fault);
    // The board got an identity only if the failure came after install.
    assert_eq!(!sim.state_json()["certificate"].is_null(), case.installed, "{}: certificate installed", case.fault);
    assert_eq!(station.certificates_issued(), i64::from(case.signed), "{}: certificates issued", case.fault);
    // And the run is in the log with the same code.
    let runs = station.export_jsonl();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["outcome"], "FAIL");
    assert_eq!(runs[0]["failure"]["code"], case.code);
    assert_eq!(runs[0]["steps"].as_array().unwrap().last().unwrap()["name"], case.step);
}

#[test]
fn slow_keygen_times_out() {
    check(Case { fault: "slow-keygen=5000", code: "DEVICE_TIMEOUT", step: "keygen", signed: false, installed: false });
}

#[test]
fn silent_board_times_out_at_identify() {
    check(Case { fault: "silent", code: "DEVICE_TIMEOUT", step: "identify", signed: false, installed: false });
}

#[test]
fn board_unplugged_after_keygen_is_link_lost() {
    check(Case { fault: "drop-after=keygen", code: "LINK_LOST", step: "csr", signed: false, installed: false });
}

#[test]
fn board_unplugged_after_csr_loses_link_during_install() {
    // The certificate was signed and logged before it was sent; the board never got it.
    check(Case { fault: "drop-after=csr", code: "LINK_LOST", step: "install", signed: true, installed: false });
}

#[test]
fn every_frame_corrupted_is_link_corrupt() {
    check(Case {
        fault: "corrupt-frames=1.0",
        code: "LINK_CORRUPT",
        step: "identify",
        signed: false,
        installed: false,
    });
}

#[test]
fn bad_csr_signature_is_refused_before_signing() {
    check(Case {
        fault: "bad-csr-signature",
        code: "CSR_SIGNATURE_INVALID",
        step: "csr",
        signed: false,
        installed: false,
    });
}

#[test]
fn csr_for_another_key_is_refused_before_signing() {
    check(Case { fault: "csr-wrong-key", code: "CSR_KEY_MISMATCH", step: "csr", signed: false, installed: false });
}

#[test]
fn oversized_frame_is_refused() {
    check(Case {
        fault: "oversized-frame",
        code: "FRAME_TOO_LARGE",
        step: "identify",
        signed: false,
        installed: false,
    });
}

#[test]
fn newer_protocol_version_is_refused() {
    check(Case {
        fault: "wrong-protocol-version",
        code: "UNSUPPORTED_PROTOCOL",
        step: "identify",
        signed: false,
        installed: false,
    });
}

#[test]
fn firmware_without_key_generation_is_refused() {
    check(Case {
        fault: "no-capabilities",
        code: "KEY_UNSUPPORTED",
        step: "identify",
        signed: false,
        installed: false,
    });
}

#[test]
fn undecodable_answer_is_a_protocol_violation() {
    check(Case {
        fault: "garbage-response",
        code: "PROTOCOL_VIOLATION",
        step: "keygen",
        signed: false,
        installed: false,
    });
}

#[test]
fn device_reported_error_is_shown() {
    check(Case { fault: "storage-error", code: "DEVICE_ERROR", step: "keygen", signed: false, installed: false });
}

#[test]
fn readback_that_differs_fails() {
    check(Case {
        fault: "readback-mismatch",
        code: "READBACK_MISMATCH",
        step: "readback",
        signed: true,
        installed: true,
    });
}

#[test]
fn self_test_signed_with_another_key_fails() {
    check(Case {
        // Possession mode (the board offers no TLS), signing with the wrong key.
        fault: "no-tls,selftest-wrong-key",
        code: "SELFTEST_FAILED",
        step: "selftest",
        signed: true,
        installed: true,
    });
}

#[test]
fn blank_hardware_id_gives_no_uid() {
    let station = Station::new();
    let state = station.board_state("blank");
    let blank = serde_json::json!({
        "hardware_id": "0000000000000000", "model": "HM-SIM-1", "firmware_version": "1.0.0-sim",
        "secret_key": null, "certificate": null, "chain": null, "trust_anchor": null,
    });
    std::fs::write(&state, blank.to_string()).unwrap();
    let sim = Sim::start(&state, &[]);
    let (code, r) = station.provision(&sim.port, FAST);
    assert_eq!(code, 1);
    assert_eq!(r["failure"]["code"], "UID_INVALID");
    assert_eq!(failed_step(&r), "identify");
    assert_eq!(station.certificates_issued(), 0);
}

#[test]
fn label_that_cannot_be_saved_fails_the_run() {
    let station = Station::new();
    // A file where the labels directory should be.
    std::fs::write(station.data_dir().join("labels"), b"not a directory").unwrap();
    let sim = Sim::start(&station.board_state("board"), &[]);
    let (code, r) = station.provision(&sim.port, FAST);
    assert_eq!(code, 1);
    assert_eq!(r["failure"]["code"], "LABEL_FAILED");
    assert_eq!(failed_step(&r), "label");
}

#[test]
fn occasional_corruption_is_recovered_by_retransmission() {
    let station = Station::new();
    let sim = Sim::start(&station.board_state("board"), &["corrupt-frames=0.15"]);
    let (code, r) = station.provision(&sim.port, &["--attempts", "6", "--response-timeout-ms", "500"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["outcome"], "PASS");
    assert!(!sim.state_json()["certificate"].is_null());
}

#[test]
fn missing_port_fails_at_connect_and_is_recorded() {
    let station = Station::new();
    let (code, r) = station.provision("/dev/hallmark-no-such-port", FAST);
    assert_eq!(code, 1);
    assert_eq!(r["failure"]["code"], "PORT_OPEN_FAILED");
    assert_eq!(failed_step(&r), "connect");
    assert_eq!(station.export_jsonl()[0]["failure"]["code"], "PORT_OPEN_FAILED");
}

#[test]
fn tls_handshake_with_a_key_that_does_not_match_the_certificate_fails() {
    check(Case { fault: "tls-wrong-key", code: "SELFTEST_FAILED", step: "selftest", signed: true, installed: true });
}
