//! One simulated board provisioned end to end, checked by tools we did not write.

use crate::support::*;
use std::path::Path;
use std::process::Command;
use x509_parser::prelude::*;

#[test]
fn provisions_a_board_and_everything_checks_out() {
    let station = Station::new();
    let sim = Sim::start(&station.board_state("board"), &[]);
    let (code, r) = station.provision(&sim.port, &[]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["outcome"], "PASS");
    assert!(r["failure"].is_null());
    assert_eq!(
        step_names(&r),
        [
            "connect",
            "identify",
            "label-check",
            "keygen",
            "csr",
            "sign",
            "install",
            "readback",
            "selftest",
            "finish",
            "label"
        ]
    );
    assert!(r["steps"].as_array().unwrap().iter().all(|s| s["outcome"] == "PASS" && s["ms"].as_f64().unwrap() >= 0.0));
    let uid = r["uid"].as_str().unwrap().to_string();
    assert_eq!(uid, sim.state_json()["hardware_id"].as_str().unwrap(), "UID = hardware id in hex");

    // openssl verifies the certificate against the chain we shipped.
    let tmp = tempfile::tempdir().unwrap();
    let cert = openssl_verifies(&r, tmp.path());

    // The profile, as openssl prints it.
    let text = run_ok(Command::new("openssl").args(["x509", "-noout", "-text", "-in"]).arg(&cert));
    assert!(text.contains(&format!("Subject: CN = {uid}")), "{text}");
    assert!(text.contains("CA:FALSE"));
    assert!(text.contains("Digital Signature"));
    assert!(text.contains("TLS Web Client Authentication"));
    assert!(text.contains("X509v3 Subject Key Identifier"));
    assert!(text.contains("X509v3 Authority Key Identifier"));
    assert!(!text.contains("Certificate Sign"));
    let serial_hex = r["cert_serial"].as_str().unwrap();
    assert_eq!(serial_hex.len(), 32, "16-byte serial");
    assert!(u8::from_str_radix(&serial_hex[..2], 16).unwrap() < 0x80, "top bit clear");

    // The CSR's public key (as logged) is the certificate's, and the board holds
    // exactly the issued certificate.
    let csr: Vec<u8> = station.db().query_row("SELECT csr FROM certificates", [], |row| row.get(0)).unwrap();
    let (_, csr) = X509CertificationRequest::from_der(&csr).unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(r["cert_pem"].as_str().unwrap().as_bytes()).unwrap();
    let cert_der = pem.contents;
    let (_, parsed) = parse_x509_certificate(&cert_der).unwrap();
    assert_eq!(csr.certification_request_info.subject_pki.raw, parsed.public_key().raw);
    assert_eq!(sim.state_json()["certificate"].as_str().unwrap(), hex(&cert_der));

    // The label scans to exactly the UID.
    assert_eq!(scan_pdf(Path::new(r["label_pdf"].as_str().unwrap())), uid);

    // The SQLite log holds the run, its steps and the certificate; the chain is intact.
    let runs = station.export_jsonl();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["run_id"], r["run_id"]);
    assert_eq!(runs[0]["outcome"], "PASS");
    assert_eq!(runs[0]["uid"], uid.as_str());
    assert_eq!(runs[0]["cert_serial"], serial_hex);
    assert_eq!(runs[0]["station"], "e2e-bench");
    assert_eq!(runs[0]["steps"].as_array().unwrap().len(), 11);
    let step_events: i64 = station
        .db()
        .query_row("SELECT COUNT(*) FROM events WHERE phase = 'start' AND step != 'run'", [], |row| row.get(0))
        .unwrap();
    assert_eq!(step_events, 11, "every step logged its start before acting");
    // What the run cost the line (issue #19): both directions carried certificates
    // (the TLS self-test's), bursts put several requests in one turnaround, none was
    // repeated on a clean link.
    let link = &station.step_detail("finish")["link"];
    assert!(link["bytes_to_device"].as_u64().unwrap() > 1000, "{link}");
    assert!(link["bytes_from_device"].as_u64().unwrap() > 1000, "{link}");
    assert!((1..=8).contains(&link["round_trips"].as_u64().unwrap()), "{link}");
    assert!(link["requests"].as_u64().unwrap() > link["round_trips"].as_u64().unwrap(), "{link}");
    assert_eq!(link["retransmissions"], 0, "{link}");
    assert_eq!(&r["link"], link, "the report carries what the log holds");
    let verify = station.hallmark(&["log", "verify"]);
    assert!(verify.status.success());
    assert!(String::from_utf8_lossy(&verify.stdout).contains("intact"));
    let csv = String::from_utf8(station.hallmark(&["log", "export", "--format", "csv"]).stdout).unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("run_id,started_at"));
    assert!(lines.next().unwrap().contains(",PASS,"));
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
