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
    let root = station.data_dir().join("root.pem");
    let chain = first["chain_pem"].as_str().unwrap();
    std::fs::write(&root, chain.split_inclusive("-----END CERTIFICATE-----\n").last().unwrap()).unwrap();
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
    let other_root = other.data_dir().join("root.pem");
    let chain2 = r2["chain_pem"].as_str().unwrap();
    std::fs::write(&other_root, chain2.split_inclusive("-----END CERTIFICATE-----\n").last().unwrap()).unwrap();
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
