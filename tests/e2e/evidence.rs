//! Signed evidence per device (issue #18), checked by tools that are not ours:
//! openssl verifies the detached CMS signature with only the root certificate and
//! refuses it after a one-byte edit of the record or the signature; poppler reads the
//! PDF page.

use crate::support::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn cms_verify(json: &Path, p7s: &Path, root: &Path) -> std::process::Output {
    Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
        .arg(p7s)
        .arg("-content")
        .arg(json)
        .arg("-CAfile")
        .arg(root)
        .args(["-out", "/dev/null"])
        .output()
        .unwrap()
}

/// The root certificate of the chain a provisioning report carries, written beside the
/// station's data (what an auditor is handed separately).
fn root_of(station: &Station, report: &Value) -> std::path::PathBuf {
    let root = station.data_dir().join("root.pem");
    let chain = report["chain_pem"].as_str().unwrap();
    std::fs::write(&root, chain.split_inclusive("-----END CERTIFICATE-----\n").last().unwrap()).unwrap();
    root
}

/// A board provisioned, brought back (a later run), then retired: its evidence
/// holds every step with its time, both runs, the certificate, the retirement, and
/// verifies offline.
#[test]
fn a_devices_evidence_verifies_offline_with_only_the_root_and_not_after_an_edit() {
    let station = Station::new();
    let sim = Sim::start(&station.board_state("b"), &[]);
    let (code, first) = station.provision(&sim.port, &[]);
    assert_eq!(code, 0, "{first}");
    // A later run of the same board: refused as already provisioned, and part of its history.
    let (code, again) = station.provision(&sim.port, &[]);
    assert_eq!((code, &again["failure"]["code"]), (1, &Value::from("ALREADY_PROVISIONED")), "{again}");
    let uid = first["uid"].as_str().unwrap();
    let out = station.hallmark(&["ca", "retire", uid, "--actor", "service-desk"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let dir = station.data_dir().join("evidence");
    let out = station.hallmark(&["evidence", uid, "--out", dir.to_str().unwrap(), "--actor", "auditor", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let files: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (json, p7s, pdf) =
        (dir.join(format!("{uid}.json")), dir.join(format!("{uid}.json.p7s")), dir.join(format!("{uid}.pdf")));
    assert_eq!(files["json"], json.to_str().unwrap());
    assert_eq!(files["status"], "retired");

    // The record.
    let record: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(record["format"], "hallmark-evidence/1");
    assert_eq!(record["device"]["uid"], uid);
    assert_eq!(record["device"]["hardware_id"], first["hardware_id"]);
    assert_eq!(record["status"], "retired");
    assert_eq!(record["generated_by"]["actor"], "auditor");
    let runs = record["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "both runs of the UID");
    assert!(runs.iter().all(|r| r["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["hash"].as_str().unwrap().len() == 64)));
    let p = &record["provisioning"];
    assert_eq!(p["certificate_serial"], first["cert_serial"]);
    let steps: Vec<&str> = p["steps"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap()).collect();
    for step in ["connect", "identify", "keygen", "csr", "sign", "install", "readback", "selftest", "label", "run"] {
        assert!(steps.contains(&step), "{step} missing from {steps:?}");
    }
    assert!(p["steps"].as_array().unwrap().iter().all(|s| s["ended_at"].as_str().unwrap().starts_with("20")));
    assert_eq!(p["public_key_sha256"].as_str().unwrap().len(), 64);
    assert!(p["self_test"]["mode"].is_string(), "{}", p["self_test"]);
    assert!(p["label"]["sha256"].is_string(), "{}", p["label"]);
    let certs = record["certificates"].as_array().unwrap();
    assert_eq!(certs[0]["pem"], first["cert_pem"]);
    assert_eq!(certs[0]["status"], "revoked");
    assert_eq!(certs[0]["revoked_reason"], "cessationOfOperation");
    assert_eq!(record["ca_chain_pem"], first["chain_pem"]);
    let actions: Vec<&str> =
        record["lifecycle"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert!(actions.starts_with(&["retire", "revoke"]), "{actions:?}");

    // The signature: good with the root alone, bad after one byte of either file.
    let root = root_of(&station, &first);
    let ok = cms_verify(&json, &p7s, &root);
    assert!(ok.status.success(), "openssl refused the evidence: {}", String::from_utf8_lossy(&ok.stderr));
    let mut bytes = std::fs::read(&json).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x20;
    let edited = dir.join("edited.json");
    std::fs::write(&edited, &bytes).unwrap();
    assert!(!cms_verify(&edited, &p7s, &root).status.success(), "openssl accepted an edited record");
    let mut sig = std::fs::read(&p7s).unwrap();
    let last = sig.len() - 10;
    sig[last] ^= 0x01;
    let edited_sig = dir.join("edited.p7s");
    std::fs::write(&edited_sig, &sig).unwrap();
    assert!(!cms_verify(&json, &edited_sig, &root).status.success(), "openssl accepted an edited signature");
    // Another root does not vouch for it.
    let other = Station::new();
    let sim2 = Sim::start(&other.board_state("b"), &[]);
    let (_, r2) = other.provision(&sim2.port, &[]);
    let other_root = root_of(&other, &r2);
    assert!(!cms_verify(&json, &p7s, &other_root).status.success(), "another station's root vouched for it");

    // The page.
    let text = run_ok(Command::new("pdftotext").args(["-layout"]).arg(&pdf).arg("-"));
    for word in [uid, "RETIRED", "cessationOfOperation", "openssl cms -verify", files["sha256"].as_str().unwrap()] {
        assert!(
            text.split_whitespace().collect::<String>().contains(&word.replace(' ', "")),
            "{word:?} not on the page:\n{text}"
        );
    }

    // The log: the signer certified and audited before the record, the record's hash audited.
    let audited: Vec<(String, String)> = station
        .db()
        .prepare("SELECT action, detail FROM audit WHERE action LIKE 'evidence%' ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(audited.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(), ["evidence-signer", "evidence"]);
    let detail: Value = serde_json::from_str(&audited[1].1).unwrap();
    assert_eq!(detail["sha256"], files["sha256"]);
    assert_eq!(detail["uid"], uid);
}

/// A UID the log does not know, or one that would name a file elsewhere: said, exit 2,
/// nothing written.
#[test]
fn evidence_of_an_unknown_or_unsafe_uid_is_refused_and_writes_nothing() {
    let station = Station::new();
    let sim = Sim::start(&station.board_state("b"), &[]);
    let (code, r) = station.provision(&sim.port, &[]);
    assert_eq!(code, 0, "{r}");
    let dir = station.data_dir().join("evidence");
    for (uid, says) in
        [("HM-NOPE", "has no device"), ("../escape", "cannot name a file"), (".hidden", "cannot name a file")]
    {
        let out = station.hallmark(&["evidence", uid, "--out", dir.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{uid}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(says), "{uid}: {}", String::from_utf8_lossy(&out.stderr));
    }
    assert!(!dir.exists() || std::fs::read_dir(&dir).unwrap().next().is_none(), "something was written");
    assert!(!station.data_dir().join("escape.json").exists());
}

/// A batch: every device of the selected runs gets its signed record, the manifest
/// lists each record's SHA-256 and verifies with the root only, and the QA report
/// draws its charts.
#[test]
fn a_batch_has_a_signed_manifest_of_every_record_and_a_report_with_charts() {
    let station = Station::new();
    let mut boards = Vec::new();
    for (name, faults) in
        [("a", &[][..]), ("b", &[][..]), ("c", &["readback-mismatch"][..]), ("d", &["bad-csr-signature"][..])]
    {
        let sim = Sim::start(&station.board_state(name), faults);
        let (code, r) = station.provision(&sim.port, &[]);
        assert_eq!(code, if faults.is_empty() { 0 } else { 1 }, "{r}");
        boards.push(r);
    }
    // A run that failed still reports what crossed its link (issue #19).
    // (Hello, key, the CSR burst, the install burst, the digests that did not match.)
    assert!(boards[2]["link"]["round_trips"].as_u64().unwrap() >= 5, "{}", boards[2]["link"]);
    assert!(boards[2]["link"]["bytes_from_device"].as_u64().unwrap() > 0);
    let dir = station.data_dir().join("batch");
    let out = station.hallmark(&[
        "evidence",
        "--batch",
        "--from",
        "2000-01-01",
        "--firmware",
        "1.0.0-sim",
        "--out",
        dir.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let files: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((files["devices"].as_u64(), files["runs"].as_u64()), (Some(4), Some(4)), "{files}");

    let manifest_path = dir.join("manifest.json");
    let manifest: Value = serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    assert_eq!(manifest["format"], "hallmark-evidence-batch/1");
    assert_eq!(manifest["selection"]["from"], "2000-01-01");
    assert_eq!(manifest["selection"]["firmware_version"], "1.0.0-sim");
    assert_eq!(manifest["statistics"]["runs"], 4);
    assert_eq!(manifest["statistics"]["passed"], 2);
    let devices = manifest["devices"].as_array().unwrap();
    let status = |uid: &Value| devices.iter().find(|d| &d["uid"] == uid).map(|d| d["status"].clone()).unwrap();
    assert_eq!(status(&boards[0]["uid"]), "active");
    assert_eq!(status(&boards[2]["uid"]), "incomplete", "signed, but its read-back failed");
    assert_eq!(status(&boards[3]["uid"]), "never-certified");
    for d in devices {
        let bytes = std::fs::read(dir.join(d["record"].as_str().unwrap())).unwrap();
        let sum = run_ok(Command::new("sha256sum").arg(dir.join(d["record"].as_str().unwrap())));
        assert!(sum.starts_with(d["sha256"].as_str().unwrap()), "{sum} vs {d}");
        assert!(!bytes.is_empty());
    }
    let root = root_of(&station, &boards[0]);
    let ok = cms_verify(&manifest_path, &dir.join("manifest.json.p7s"), &root);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    for d in devices {
        let json = dir.join(d["record"].as_str().unwrap());
        let p7s = dir.join(format!("{}.p7s", d["record"].as_str().unwrap()));
        assert!(cms_verify(&json, &p7s, &root).status.success(), "{d}");
    }

    // The report: the words, and the charts as ink in colour.
    let report = dir.join("report.pdf");
    let text = run_ok(Command::new("pdftotext").args(["-layout"]).arg(&report).arg("-"));
    for word in ["Provisioning batch report", "Failures by step", "READBACK_MISMATCH", "Throughput", "CRL"] {
        assert!(text.contains(word), "{word:?} not in the report:\n{text}");
    }
    run_ok(
        Command::new("pdftoppm")
            .args(["-r", "40", "-png", "-f", "1", "-singlefile"])
            .arg(&report)
            .arg(dir.join("page")),
    );
    let png = std::fs::read(dir.join("page.png")).unwrap();
    let mut reader = png::Decoder::new(std::io::Cursor::new(png)).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let samples = info.color_type.samples();
    let coloured = buf[..info.buffer_size()].chunks(samples).filter(|p| (p[0] as i32 - p[2] as i32).abs() > 60).count();
    assert!(coloured > 300, "the report's first page has {coloured} coloured pixels: no charts");

    // Filters that select nothing: said, exit 2, nothing written.
    let empty = station.data_dir().join("empty");
    let out = station.hallmark(&["evidence", "--batch", "--firmware", "9.9.9", "--out", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("matches the filters"));
    assert!(!empty.exists());
    // A UID and --batch together: refused by the argument parser.
    assert_eq!(station.hallmark(&["evidence", "X", "--batch", "--out", "/tmp/x"]).status.code(), Some(2));
}
