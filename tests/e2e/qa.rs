//! What QA gets from the log: filters, history, statistics, onboarding, and proof
//! that nobody edited it.

use crate::support::*;
use std::process::Command;

fn populated() -> (Station, Vec<Sim>) {
    let station = Station::new();
    let good = Sim::start(&station.board_state("good"), &[]);
    let bad = Sim::start(&station.board_state("bad"), &["bad-csr-signature"]);
    assert_eq!(station.provision(&good.port, &["--operator", "op-1", "--slot", "A"]).0, 0);
    assert_eq!(station.provision(&bad.port, &["--operator", "op-2", "--slot", "B"]).0, 1);
    (station, vec![good, bad])
}

fn lines(out: std::process::Output) -> Vec<String> {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect()
}

#[test]
fn filters_history_statistics_and_onboarding() {
    let (station, boards) = populated();
    let failed = lines(station.hallmark(&["log", "export", "--format", "jsonl", "--outcome", "fail"]));
    assert_eq!(failed.len(), 1);
    assert!(failed[0].contains("\"failing_step\":\"csr\""));
    assert_eq!(lines(station.hallmark(&["log", "export", "--format", "csv", "--operator", "op-1"])).len(), 2);
    assert_eq!(
        lines(station.hallmark(&["log", "export", "--format", "jsonl", "--slot", "B", "--failing-step", "csr"])).len(),
        1
    );
    assert_eq!(lines(station.hallmark(&["log", "export", "--format", "jsonl", "--from", "2999-01-01"])).len(), 0);
    assert_eq!(
        lines(station.hallmark(&["log", "export", "--format", "jsonl", "--limit", "1", "--offset", "1"])).len(),
        1
    );

    let uid = boards[0].state_json()["hardware_id"].as_str().unwrap().to_string();
    let history = lines(station.hallmark(&["log", "history", &uid]));
    assert_eq!(history.len(), 1);
    let run: serde_json::Value = serde_json::from_str(&history[0]).unwrap();
    assert_eq!(run["sbom"]["sbom"], "urn:hallmark:sbom:sim-1.0.0", "SBOM reference recorded for the firmware");

    let stats: serde_json::Value =
        serde_json::from_str(&lines(station.hallmark(&["log", "stats", "--json"]))[0]).unwrap();
    assert_eq!(
        (stats["runs"].as_u64(), stats["passed"].as_u64(), stats["devices"].as_u64()),
        (Some(2), Some(1), Some(2))
    );
    assert_eq!(stats["yield_percent"], 50.0);
    assert_eq!(stats["failures_by_step"][0]["code"], "CSR_SIGNATURE_INVALID");
    assert!(lines(station.hallmark(&["log", "stats"])).iter().any(|l| l.contains("first-pass yield 50.0%")));

    let onboarding = std::fs::read_to_string({
        let path = station.data_dir().join("onboarding.csv");
        lines(station.hallmark(&["log", "onboarding", "--out", path.to_str().unwrap()]));
        path
    })
    .unwrap();
    assert!(onboarding.starts_with("uid,serial,fingerprint_sha256,certificate_pem\n"));
    assert!(onboarding.contains(&format!("{uid},")));
    assert!(onboarding.contains("-----BEGIN CERTIFICATE-----"));
    assert_eq!(onboarding.matches("BEGIN CERTIFICATE").count(), 1, "only the board that passed");
}

#[test]
fn config_hash_in_the_log_is_the_file_hash() {
    let station = Station::new();
    let config = station.config(&[("id = \"bench-1\"", "id = \"qa-bench\"")]);
    let sim = Sim::start(&station.board_state("b"), &[]);
    let out = hallmark()
        .args(["provision", "--json", "--port", &sim.port, "--config", config.to_str().unwrap(), "--data-dir"])
        .arg(station.data_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected = run_ok(Command::new("sha256sum").arg(&config));
    let expected = expected.split_whitespace().next().unwrap();
    assert_eq!(r["config_hash"], expected);
    assert_eq!(station.export_jsonl()[0]["config_hash"], expected);
    assert_eq!(station.export_jsonl()[0]["station"], "qa-bench");
}

#[test]
fn edits_and_deletions_with_the_sqlite3_cli_are_detected() {
    for (what, sql) in [
        ("edit", "DROP TRIGGER events_append_only_u; UPDATE events SET outcome = 'PASS' WHERE step = 'csr' AND phase = 'end';"),
        ("delete", "DROP TRIGGER events_append_only_d; DELETE FROM events WHERE step = 'csr' AND phase = 'end';"),
        ("blocked", "UPDATE events SET outcome = 'PASS';"),
    ] {
        let (station, _boards) = populated();
        let db = station.data_dir().join("hallmark-log.sqlite");
        let out = Command::new("sqlite3").arg(&db).arg(sql).output().expect("sqlite3 (apt sqlite3) is installed");
        let verify = station.hallmark(&["log", "verify"]);
        if what == "blocked" {
            assert!(!out.status.success(), "the trigger refuses a plain UPDATE");
            assert!(String::from_utf8_lossy(&out.stderr).contains("append-only"));
            assert!(verify.status.success());
        } else {
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(verify.status.code(), Some(1), "{what} went unnoticed");
            assert!(String::from_utf8_lossy(&verify.stdout).contains("BROKEN at event"));
        }
    }
}
