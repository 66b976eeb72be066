//! `hallmark conformance`: the kit a firmware team runs against its board, through the
//! real binary and a simulated board on a real pseudo-terminal. (The kit's rows
//! against each protocol-breaking fault are covered in-process in
//! `crates/hallmark-device/tests/conformance.rs`; this checks the command's contract.)

use crate::support::*;
use serde_json::Value;

fn conformance(port: &str, extra: &[&str]) -> (i32, Value) {
    let out = hallmark()
        .args(["conformance", "--port", port, "--json", "--quiet-ms", "200"])
        .args(extra)
        .output()
        .expect("run hallmark conformance");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), report)
}

fn verdicts(report: &Value, verdict: &str) -> Vec<String> {
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["verdict"] == verdict)
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_simulator_conforms_and_a_board_that_reruns_retransmissions_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(&dir.path().join("good.json"), &[]);
    let (code, report) = conformance(&sim.port, &[]);
    assert_eq!(code, 0, "{report}");
    assert!(verdicts(&report, "FAIL").is_empty(), "{report}");
    assert_eq!(report["rows"].as_array().unwrap().len(), 49);
    assert_eq!(report["model"], "HM-SIM-1");
    // The kit leaves its test identity on the board, and will not run over it.
    let out = hallmark().args(["conformance", "--port", &sim.port]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("erase"), "{out:?}");

    let bad = Sim::start(&dir.path().join("bad.json"), &["no-replay-cache"]);
    let (code, report) = conformance(&bad.port, &[]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(verdicts(&report, "FAIL"), ["S7", "R1", "K4"], "{report}");
    let r1 = report["rows"].as_array().unwrap().iter().find(|r| r["id"] == "R1").unwrap();
    assert_eq!(r1["section"], "S5");
    assert!(r1["detail"].as_str().unwrap().contains("ran again"), "{r1}");
}

#[test]
fn the_table_names_every_row_and_the_list_needs_no_board() {
    let out = hallmark().args(["conformance", "--list", "--json"]).output().unwrap();
    assert!(out.status.success());
    let checks: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = checks.as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 49);
    // Every row id is documented in docs/protocol.md's conformance table.
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/protocol.md")).unwrap();
    for id in ids {
        assert!(doc.contains(&format!("| {id} |")), "docs/protocol.md has no conformance row {id}");
    }
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(&dir.path().join("b.json"), &["no-tls"]);
    let out = hallmark().args(["conformance", "--port", &sim.port, "--quiet-ms", "200"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("49 passed, 0 failed, 0 skipped"), "{text}");
}

#[test]
fn a_port_that_does_not_exist_is_a_setup_error() {
    let out = hallmark().args(["conformance", "--port", "/dev/does-not-exist"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).is_empty());
}
