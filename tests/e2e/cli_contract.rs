//! Station-level errors: exit code 2 and a message that says what to do.

use crate::support::*;

#[test]
fn no_passphrase_and_no_terminal_stops_with_exit_2() {
    let station = Station::new();
    let out = hallmark()
        .env_remove("HALLMARK_CA_PASSPHRASE")
        .args(["provision", "--port", "/dev/null", "--data-dir"])
        .arg(station.data_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HALLMARK_CA_PASSPHRASE"));
    assert!(!station.data_dir().join("ca/issuing.key.pem").exists(), "no CA without a passphrase");
}

#[test]
fn wrong_passphrase_and_short_passphrase_are_refused() {
    let station = Station::new();
    let short = hallmark()
        .env("HALLMARK_CA_PASSPHRASE", "short")
        .args(["provision", "--port", "/dev/null", "--data-dir"])
        .arg(station.data_dir())
        .output()
        .unwrap();
    assert_eq!(short.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 12"));

    let sim = Sim::start(&station.board_state("b"), &[]);
    assert_eq!(station.provision(&sim.port, &[]).0, 0);
    let wrong = hallmark()
        .env("HALLMARK_CA_PASSPHRASE", "not the right passphrase")
        .args(["provision", "--port", &sim.port, "--data-dir"])
        .arg(station.data_dir())
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong passphrase"));
}

#[test]
fn unknown_fault_is_a_usage_error() {
    let out = hallmark().args(["sim", "--state", "/tmp/unused-board.json", "--fault", "explode"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown fault"));
}

#[test]
fn tampered_log_fails_verification() {
    let station = Station::new();
    let sim = Sim::start(&station.board_state("b"), &[]);
    assert_eq!(station.provision(&sim.port, &[]).0, 0);
    let db = station.db();
    db.execute_batch("DROP TRIGGER events_append_only_u; UPDATE events SET outcome = 'FAIL' WHERE id = 3;").unwrap();
    drop(db);
    let out = station.hallmark(&["log", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("BROKEN at event 3"));
}
