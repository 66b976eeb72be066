//! Crash safety: the station process is SIGKILLed at random points of runs, many
//! times. After every restart the log verifies, every started run is present, no UID
//! or serial is duplicated, and each board ends with exactly one valid certificate,
//! the one it holds.

use crate::support::*;
use rand::Rng;
use std::process::Stdio;
use std::time::{Duration, Instant};

const ITERATIONS: usize = 50;

fn count_runs(station: &Station) -> i64 {
    if !station.data_dir().join("hallmark-log.sqlite").exists() {
        return 0;
    }
    station.db().query_row("SELECT COUNT(*) FROM runs", [], |r| r.get(0)).unwrap_or(0)
}

#[test]
fn random_kills_never_lose_a_run_or_make_a_second_identity() {
    let station = Station::new();
    let fast = ["--response-timeout-ms", "300", "--attempts", "3"];
    let mut rng = rand::thread_rng();
    // Calibrate: how long does one run take here, from its log row to the end? Kills
    // are then spread over that span, however fast or loaded the machine is.
    let calibration = Sim::start(&station.board_state("calibration"), &[]);
    let run_span = {
        let mut child = station.spawn_provision(&calibration.port, &fast, Stdio::null());
        while count_runs(&station) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let t = Instant::now();
        assert!(child.wait().unwrap().success(), "the calibration run passes");
        t.elapsed()
    };
    let mut boards: Vec<Sim> = vec![calibration, Sim::start(&station.board_state("board-0"), &[])];
    let mut started = 1i64;
    for _ in 0..ITERATIONS {
        let port = boards.last().map(|b| b.port.clone()).unwrap_or_default();
        let before = count_runs(&station);
        let mut child = station.spawn_provision(&port, &fast, Stdio::null());
        started += 1;
        let deadline = Instant::now() + Duration::from_secs(30);
        while count_runs(&station) == before && Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let span_us = (run_span.as_micros() as u64 * 3 / 2).max(1_000);
        std::thread::sleep(Duration::from_micros(rng.gen_range(0..span_us)));
        child.kill().ok();
        child.wait().unwrap();
        // A run that finished before the kill has its result row: move on to a new
        // board once this one passed or was refused.
        let last: Option<(String, Option<String>)> = station
            .db()
            .query_row("SELECT outcome, failure_code FROM run_results ORDER BY run_id DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .ok();
        if let Some((outcome, code)) = last {
            if outcome == "PASS" || code.as_deref() == Some("ALREADY_PROVISIONED") {
                let n = boards.len();
                boards.push(Sim::start(&station.board_state(&format!("board-{n}")), &[]));
            }
        }
        let verify = station.hallmark(&["log", "verify"]);
        assert!(verify.status.success(), "log broken after a kill: {}", String::from_utf8_lossy(&verify.stdout));
    }
    // Every board, run once more without interruption, ends provisioned.
    for board in &boards {
        let (code, r) = station.provision(&board.port, &fast);
        started += 1;
        assert!(
            code == 0 || r["failure"]["code"] == "ALREADY_PROVISIONED",
            "board {} did not recover: {r}",
            board.state.display()
        );
    }

    let runs = station.export_jsonl();
    let count = |o: &str| runs.iter().filter(|r| r["outcome"] == o).count();
    eprintln!(
        "crash harness: {started} runs on {} boards: {} PASS, {} FAIL, {} INTERRUPTED",
        boards.len(),
        count("PASS"),
        count("FAIL"),
        count("INTERRUPTED")
    );
    assert_eq!(runs.len() as i64, started, "every started run is in the log");
    assert!(count("INTERRUPTED") > 0, "some kills landed mid-run");
    assert!(runs.iter().all(|r| ["PASS", "FAIL", "INTERRUPTED"].contains(&r["outcome"].as_str().unwrap())));
    let db = station.db();
    let dup_uids: i64 = db
        .query_row("SELECT COUNT(*) FROM (SELECT uid FROM uids GROUP BY uid HAVING COUNT(*) > 1)", [], |r| r.get(0))
        .unwrap();
    let dup_serials: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM (SELECT serial FROM certificates GROUP BY serial HAVING COUNT(*) > 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!((dup_uids, dup_serials), (0, 0));
    for board in &boards {
        let state = board.state_json();
        let uid = state["hardware_id"].as_str().unwrap();
        assert_eq!(station.valid_certificates(uid), 1, "board {uid}: exactly one valid certificate");
        let held = state["certificate"].as_str().expect("the board holds a certificate");
        let valid_pem: String = db
            .query_row(
                "SELECT pem FROM certificates WHERE uid = ?1 AND serial NOT IN (SELECT serial FROM revocations)",
                [uid],
                |r| r.get(0),
            )
            .unwrap();
        let (_, pem) = x509_parser::pem::parse_x509_pem(valid_pem.as_bytes()).unwrap();
        let hex: String = pem.contents.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(held, hex, "board {uid} holds its one valid certificate");
    }
    assert!(station.hallmark(&["log", "verify"]).status.success());
}
