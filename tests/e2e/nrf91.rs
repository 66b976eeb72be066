//! nRF91 modems from the command line: `hallmark provision --dialect nrf91-at`
//! against `hallmark sim --dialect nrf91-at` on a real pseudo-terminal, checked by
//! openssl and zbarimg; modem faults from the outside; and modem slots next to a
//! Hallmark slot in `hallmark run`.

use crate::support::*;
use serde_json::Value;

const MODEM: &[&str] = &["--dialect", "nrf91-at", "--sec-tag", "42"];

#[test]
fn a_modem_is_provisioned_and_holds_exactly_its_certificate() {
    let station = Station::new();
    let sim = Sim::modem(&station.board_state("modem"), &[]);
    let (code, r) = station.provision(&sim.port, MODEM);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["outcome"], "PASS");
    let imei = sim.state_json()["imei"].as_str().unwrap().to_string();
    assert_eq!(r["hardware_id"], format!("0{imei}"), "the IMEI is the hardware id");
    let tmp = tempfile::tempdir().unwrap();
    openssl_verifies(&r, tmp.path());
    // The modem holds the certificate as PEM with CR LF, exactly as issued.
    let (_, pem) = x509_parser::pem::parse_x509_pem(r["cert_pem"].as_str().unwrap().as_bytes()).unwrap();
    let stored = sim.state_json()["credentials"]["42/1"].as_str().unwrap().to_string();
    let (_, stored_pem) = x509_parser::pem::parse_x509_pem(stored.as_bytes()).unwrap();
    assert_eq!(stored_pem.contents, pem.contents);
    assert!(stored.contains("\r\n") && !stored.replace("\r\n", "").contains('\n'), "CR LF line ends");
    assert!(sim.state_json()["credentials"]["42/0"].is_string(), "the CA the modem trusts");
    // The log holds the attestation and the self-test says what it proved.
    let keygen = station.step_detail("keygen");
    assert_eq!(keygen["device"]["attestation"]["device_uuid"], sim.state_json()["uuid"]);
    assert_eq!(station.step_detail("selftest")["mode"], "attested-key");
    // The label scans back to the UID.
    assert_eq!(scan_pdf(std::path::Path::new(r["label_pdf"].as_str().unwrap())), r["uid"].as_str().unwrap());
}

#[test]
fn modem_faults_fail_in_words_and_sign_nothing() {
    let station = Station::new();
    for (fault, code, step) in [
        ("modem-on", "DEVICE_ERROR", "keygen"),
        ("old-firmware", "UNSUPPORTED_PROTOCOL", "identify"),
        ("malformed-keygen", "PROTOCOL_VIOLATION", "keygen"),
        ("attestation-mismatch", "CSR_INVALID", "keygen"),
    ] {
        let sim = Sim::modem(&station.board_state(fault), &[fault]);
        let (exit, r) = station.provision(&sim.port, MODEM);
        assert_eq!(exit, 1, "{fault}: {r}");
        assert_eq!(r["failure"]["code"], code, "{fault}: {r}");
        assert_eq!(failed_step(&r), step, "{fault}");
        assert!(r["cert_serial"].is_null(), "{fault}: nothing signed");
        assert!(!r["failure"]["what"].as_str().unwrap().is_empty());
    }
    assert_eq!(station.certificates_issued(), 0);
}

#[test]
fn dialect_flags_are_checked_before_anything_runs() {
    let station = Station::new();
    let out = station.provision_output("/dev/null", &["--dialect", "nrf91-at"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--sec-tag"));
    for flags in [&["--sec-tag", "4"][..], &["--hardware-id", "uuid"]] {
        let out = station.provision_output("/dev/null", flags);
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("nrf91-at"), "{flags:?}");
    }
}

#[test]
fn two_modem_slots_and_a_hallmark_slot_run_in_parallel() {
    let station = Station::new();
    let a = Sim::modem(&station.board_state("m1"), &[]);
    let b = Sim::modem(&station.board_state("m2"), &["shell"]);
    let c = Sim::start(&station.board_state("h"), &[]);
    let mut text = String::from("version = 1\n[station]\nid = \"mixed-1\"\n[uid]\nscheme = \"hardware-id\"\n");
    for (name, sim, modem) in [("M1", &a, true), ("M2", &b, true), ("H", &c, false)] {
        text.push_str(&format!("[[slot]]\nname = \"{name}\"\nport = \"{}\"\n", sim.port));
        if modem {
            text.push_str("dialect = \"nrf91-at\"\nsec_tag = 42\n");
        }
    }
    let config = station.data_dir().join("mixed.toml");
    std::fs::write(&config, text).unwrap();
    let out = station.hallmark(&["run", "--once", "--json", "--config", config.to_str().unwrap()]);
    let lines: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(out.status.code(), Some(0), "{lines:?}");
    assert_eq!(lines.len(), 3);
    for (name, sim) in [("M1", &a), ("M2", &b), ("H", &c)] {
        let r = lines.iter().find(|l| l["slot"] == name).unwrap();
        assert_eq!(r["outcome"], "PASS", "{r}");
        assert_eq!(r["port"], sim.port.as_str());
    }
    assert!(station.hallmark(&["log", "verify"]).status.success());
}
