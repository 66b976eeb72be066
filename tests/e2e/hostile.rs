//! A hostile or broken board against the real station: copied keys, replayed CSRs,
//! answers sent before they were asked for, keys the station cannot use, long ids
//! and strings, and a board that disconnects before its run ends. Each case is one
//! the station once got wrong (see `docs/reliability.md`, threat model).

use crate::support::*;
use serde_json::{json, Value};

const FAST: &[&str] = &["--response-timeout-ms", "400", "--keygen-timeout-ms", "1000", "--attempts", "2"];

/// Words a person reads must not carry Rust debug output, raw OIDs or parser dumps.
fn assert_plain_words(message: &str) {
    for leak in ["{", "}", "Der(", "Unexpected", "expected ", " got ", "1.3.132", "1.2.840", "os error", "Some("] {
        assert!(!message.contains(leak), "operator message leaks technical text {leak:?}: {message}");
    }
}

fn fail(station: &Station, sim: &Sim, extra: &[&str], code: &str, step: &str) -> Value {
    let (exit, r) = station.provision(&sim.port, extra);
    assert_eq!(exit, 1, "{r}");
    assert_eq!(r["failure"]["code"], code, "{r}");
    assert_eq!(failed_step(&r), step, "{r}");
    assert_plain_words(r["failure"]["message"].as_str().unwrap());
    r
}

/// A board that provisioned, and its state file (with its key).
fn genuine_board(station: &Station) -> (std::path::PathBuf, String) {
    let state = station.board_state("genuine");
    let sim = Sim::start(&state, &[]);
    let (code, r) = station.provision(&sim.port, FAST);
    assert_eq!(code, 0, "{r}");
    (state, r["uid"].as_str().unwrap().to_string())
}

fn onboarded_uids(station: &Station) -> Vec<String> {
    let out = station.hallmark(&["log", "onboarding", "--format", "jsonl"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["uid"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_key_certified_for_one_board_is_never_certified_for_another() {
    let station = Station::new();
    let (genuine, uid) = genuine_board(&station);
    // A board holding a copy of the genuine board's key (or relaying to it): it can
    // bind the CSR to the session, sign self-tests, everything but be a new identity.
    for faults in [
        vec![format!("key-of={}", genuine.display())],
        vec![format!("key-of={}", genuine.display()), "no-csr-binding".to_string()],
    ] {
        let clone = Sim::start(&station.board_state(&format!("clone-{}", faults.len())), &faults_ref(&faults));
        let r = fail(&station, &clone, FAST, "KEY_REUSED", "sign");
        assert!(r["failure"]["message"].as_str().unwrap().contains(&uid), "names the key's owner: {r}");
        assert!(clone.state_json()["certificate"].is_null());
    }
    assert_eq!(station.certificates_issued(), 1, "only the genuine board's certificate exists");
    assert_eq!(station.valid_certificates(&uid), 1);
    assert_eq!(onboarded_uids(&station), [uid]);
}

fn faults_ref(faults: &[String]) -> Vec<&str> {
    faults.iter().map(String::as_str).collect()
}

#[test]
fn a_replayed_csr_is_refused_as_not_bound_to_the_session() {
    let station = Station::new();
    let (genuine, _) = genuine_board(&station);
    let replay = format!("replay-csr={}", genuine.display());
    let sim = Sim::start(&station.board_state("replayer"), &[&replay]);
    let r = fail(&station, &sim, FAST, "CSR_NOT_BOUND", "csr");
    assert!(r["failure"]["detail"].as_str().unwrap().contains("challengePassword"), "{r}");
    assert_eq!(station.certificates_issued(), 1);
    // A replaying board built to the original protocol cannot be asked to bind: the
    // key itself is refused.
    let old = Sim::start(&station.board_state("old-replayer"), &[&replay, "no-csr-binding"]);
    fail(&station, &old, FAST, "KEY_REUSED", "sign");
    assert_eq!(station.certificates_issued(), 1);
}

#[test]
fn boards_built_to_the_original_protocol_provision_unless_binding_is_required() {
    let station = Station::new();
    let sim = Sim::start(&station.board_state("old"), &["no-csr-binding"]);
    let (code, r) = station.provision(&sim.port, FAST);
    assert_eq!(code, 0, "{r}");
    assert_eq!(station.step_detail("csr")["bound"], false);
    let required = station.config(&[("csr_binding = \"when-offered\"", "csr_binding = \"required\"")]);
    let sim = Sim::start(&station.board_state("old-2"), &["no-csr-binding"]);
    let config = ["--config", required.to_str().unwrap()];
    let r = fail(&station, &sim, &[FAST, &config].concat(), "CSR_NOT_BOUND", "identify");
    assert!(r["steps"].as_array().unwrap().iter().all(|s| s["name"] != "keygen"), "nothing generated: {r}");
    // A current board is bound under either setting.
    let sim = Sim::start(&station.board_state("new"), &[]);
    let (code, r) = station.provision(&sim.port, &config);
    assert_eq!(code, 0, "{r}");
    assert_eq!(station.step_detail("csr")["bound"], true);
    assert_eq!(station.certificates_issued(), 2);
}

#[test]
fn answers_sent_before_the_request_are_discarded() {
    let station = Station::new();
    let state = station.board_state("eager");
    let sim = Sim::start(&state, &["answer-ahead"]);
    let (code, r) = station.provision(&sim.port, FAST);
    assert_eq!(code, 0, "a forged early KeyGenerated must not replace the real one: {r}");
    // The key the station certified is the board's own.
    let logged = station.step_detail("keygen")["public_key"].as_str().unwrap().to_string();
    let cert_pem = r["cert_pem"].as_str().unwrap();
    let der = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).unwrap().1.contents;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    assert_eq!(hex::encode(&cert.public_key().subject_public_key.data), logged);
    assert!(!sim.state_json()["certificate"].is_null());
}

#[test]
fn a_board_flooding_answers_is_cut_off() {
    let station = Station::new();
    let sim = Sim::start(&station.board_state("flood"), &["flood-answers"]);
    let r = fail(&station, &sim, FAST, "PROTOCOL_VIOLATION", "keygen");
    assert!(r["failure"]["message"].as_str().unwrap().contains("never made"), "{r}");
    assert_eq!(station.certificates_issued(), 0);
}

#[test]
fn keys_the_station_cannot_use_are_named_when_they_arrive() {
    for (fault, code, words) in [
        ("keygen-p384", "KEY_UNSUPPORTED", "ECDSA P-384"),
        ("keygen-compressed", "KEY_UNSUPPORTED", "compressed point"),
        ("keygen-off-curve", "KEY_INVALID", "not a point on the curve"),
    ] {
        let station = Station::new();
        let sim = Sim::start(&station.board_state("k"), &[fault]);
        let r = fail(&station, &sim, FAST, code, "keygen");
        assert!(r["failure"]["message"].as_str().unwrap().contains(words), "{fault}: {r}");
        assert!(r["failure"]["detail"].as_str().is_some(), "{fault}: technical detail kept for the log: {r}");
        assert_eq!(station.certificates_issued(), 0);
    }
}

fn board_with(station: &Station, name: &str, hardware_id: &str, model: &str, firmware: &str) -> std::path::PathBuf {
    let state = station.board_state(name);
    let board = json!({
        "hardware_id": hardware_id, "model": model, "firmware_version": firmware,
        "secret_key": null, "certificate": null, "chain": null, "trust_anchor": null,
    });
    std::fs::write(&state, board.to_string()).unwrap();
    state
}

#[test]
fn hardware_ids_up_to_the_protocol_limit_get_a_uid() {
    let station = Station::new();
    let mut uids = Vec::new();
    for (name, bytes) in [("id20", 20), ("id32", 32)] {
        let hw: String = (0..bytes).map(|i| format!("{:02X}", i + 0x41)).collect();
        let sim = Sim::start(&board_with(&station, name, &hw, "HM-SIM-1", "1.0.0"), &[]);
        let (code, r) = station.provision(&sim.port, FAST);
        assert_eq!(code, 0, "{bytes}-byte hardware id: {r}");
        let uid = r["uid"].as_str().unwrap().to_string();
        assert_eq!(uid.len(), 16, "80 bits of the id's hash, short enough for the label: {uid}");
        assert_eq!(r["hardware_id"], hw);
        uids.push(uid);
    }
    assert_ne!(uids[0], uids[1]);
}

#[test]
fn long_model_and_firmware_strings_still_make_a_label_that_scans() {
    let station = Station::new();
    let model = "M".repeat(64);
    let firmware = "9".repeat(64);
    let sim = Sim::start(&board_with(&station, "long", "10AB20CD30EF4051", &model, &firmware), &[]);
    let (code, r) = station.provision(&sim.port, FAST);
    assert_eq!(code, 0, "{r}");
    assert_eq!(scan_pdf(std::path::Path::new(r["label_pdf"].as_str().unwrap())), r["uid"].as_str().unwrap());
}

#[test]
fn a_label_without_room_fails_before_anything_is_signed() {
    let station = Station::new();
    let template = station.data_dir().join("narrow.toml");
    std::fs::write(
        &template,
        "name = \"narrow\"\nwidth_mm = 50.0\nheight_mm = 25.0\ndpi = 300\nmargin_mm = 1.0\n\n[[element]]\nkind = \
         \"text\"\nx_mm = 2.0\ny_mm = 2.0\nsize_pt = 8.0\ntext = \"{model}\"\nmax_width_mm = 20.0\n",
    )
    .unwrap();
    let sim = Sim::start(&board_with(&station, "wide", "10AB20CD30EF4052", &"W".repeat(64), "1.0"), &[]);
    let args = [FAST, &["--label-template", template.to_str().unwrap()]].concat();
    let r = fail(&station, &sim, &args, "LABEL_FAILED", "label-check");
    assert!(r["failure"]["message"].as_str().unwrap().contains("Nothing was issued"), "{r}");
    assert_eq!(station.certificates_issued(), 0);
    assert!(sim.state_json()["secret_key"].is_null(), "no key generated either");
}

#[test]
fn nothing_is_printed_for_a_run_that_fails_after_the_self_test() {
    let station = Station::new();
    let config = station.config(&[(
        "[label]\n# template = \"label-templates/default-50x25.toml\"   # embedded default when absent",
        "[label]\n[label.printer]\nkind = \"folder\"\npath = \"hot-folder\"\nformat = \"pdf\"",
    )]);
    let args = [FAST, &["--config", config.to_str().unwrap()]].concat();
    // Possession self-test (no TLS), then the board is gone before `Finish`.
    let sim = Sim::start(&station.board_state("gone"), &["no-tls", "drop-after=selftest"]);
    fail(&station, &sim, &args, "LINK_LOST", "finish");
    let printed = std::fs::read_dir(station.data_dir().join("hot-folder")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(printed, 0, "no label for a run that did not pass");
    let pdfs = std::fs::read_dir(station.data_dir().join("labels")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(pdfs, 0);
    // The next run finishes the board and prints its one label.
    drop(sim);
    let sim = Sim::start(&station.board_state("gone"), &[]);
    let (code, r) = station.provision(&sim.port, &args);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["plan"], "reverify");
    assert_eq!(std::fs::read_dir(station.data_dir().join("hot-folder")).unwrap().count(), 1);
}

#[test]
fn a_board_that_offers_tls_but_has_none_fails_as_unsupported() {
    let station = Station::new();
    let config = station.config(&[("[selftest]\nmode = \"auto\"", "[selftest]\nmode = \"link\"")]);
    let sim = Sim::start(&station.board_state("notls"), &["tls-unsupported"]);
    let r =
        fail(&station, &sim, &[FAST, &["--config", config.to_str().unwrap()]].concat(), "SELFTEST_FAILED", "selftest");
    assert_eq!(r["failure"]["reason"], "unsupported", "{r}");
    // A board that does not offer it at all gets the same reason, at identify: it is
    // refused before anything is generated or issued for it.
    let sim = Sim::start(&station.board_state("notls-2"), &["no-tls"]);
    let r =
        fail(&station, &sim, &[FAST, &["--config", config.to_str().unwrap()]].concat(), "SELFTEST_FAILED", "identify");
    assert_eq!(r["failure"]["reason"], "unsupported", "{r}");
    assert!(r["cert_serial"].is_null(), "{r}");
}

#[test]
fn protocol_violations_are_explained_in_words_with_detail_for_the_log() {
    let station = Station::new();
    let sim = Sim::start(&station.board_state("garbage"), &["garbage-response"]);
    let r = fail(&station, &sim, FAST, "PROTOCOL_VIOLATION", "keygen");
    assert!(!r["failure"]["detail"].as_str().unwrap().is_empty(), "{r}");
    // The logged failure carries the detail too.
    let logged = station.step_detail("keygen");
    assert_eq!(logged["failure"]["detail"], r["failure"]["detail"]);
}
