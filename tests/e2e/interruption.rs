//! A run stopped by Ctrl-C or by a crash is never lost: it is recorded as
//! INTERRUPTED.

use crate::support::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn wait_for_run_row(station: &Station) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let path = station.data_dir().join("hallmark-log.sqlite");
        if path.exists() {
            let n: i64 = station
                .db()
                .query_row("SELECT COUNT(*) FROM events WHERE step = 'identify' AND phase = 'start'", [], |r| r.get(0))
                .unwrap_or(0);
            if n > 0 {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the run never started");
}

#[test]
fn ctrl_c_records_the_run_as_interrupted() {
    let station = Station::new();
    let sim = Sim::start(&station.board_state("board"), &["silent"]);
    let child = station.spawn_provision(&sim.port, &["--json", "--response-timeout-ms", "30000"], Stdio::piped());
    wait_for_run_row(&station);
    let st = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["outcome"], "INTERRUPTED");
    assert_eq!(r["failure"]["code"], "CANCELLED");
    let runs = station.export_jsonl();
    assert_eq!(runs[0]["outcome"], "INTERRUPTED");
    assert_eq!(runs[0]["steps"].as_array().unwrap().last().unwrap()["outcome"], "INTERRUPTED");
}

#[test]
fn killed_station_leaves_an_interrupted_run_not_a_lost_one() {
    let station = Station::new();
    let sim = Sim::start(&station.board_state("board"), &["silent"]);
    let mut child = station.spawn_provision(&sim.port, &["--json", "--response-timeout-ms", "30000"], Stdio::piped());
    wait_for_run_row(&station);
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let runs = station.export_jsonl();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["outcome"], "INTERRUPTED", "derived while nobody closed it");
    // The next station start closes it in the log for good.
    drop(sim);
    let sim = Sim::start(&station.board_state("board2"), &[]);
    let (code, _) = station.provision(&sim.port, &[]);
    assert_eq!(code, 0);
    let closed: i64 = station
        .db()
        .query_row(
            "SELECT COUNT(*) FROM events WHERE step = 'run' AND phase = 'end' AND outcome = 'INTERRUPTED'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(closed, 1);
    assert!(station.hallmark(&["log", "verify"]).status.success());
}
