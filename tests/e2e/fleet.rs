//! Several stations, one record (issue #17): real `hallmark` processes, simulated
//! boards, and a real PostgreSQL started by the test
//! (`crates/hallmark-fleet/tests/support`), run as the `postgres` user under root.

#[path = "../../crates/hallmark-fleet/tests/support/mod.rs"]
mod pg;

use crate::support::*;
use pg::{TestPostgres, SUPERUSER};
use serde_json::Value;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

macro_rules! server {
    ($name:expr) => {
        match TestPostgres::start($name) {
            Some(pg) => pg,
            None => return,
        }
    };
}

/// A fleet database with the schema made by `hallmark fleet init` (as the owner) and
/// one login role per station in `hallmark_station`.
fn fleet(pg: &TestPostgres, db: &str, stations: &[&str]) {
    pg.create_database(db);
    let out = hallmark()
        .args(["fleet", "init", "--json", "--url", &pg.url(SUPERUSER, db)])
        .env("HALLMARK_FLEET_PASSWORD", pg.password())
        .output()
        .unwrap();
    assert!(out.status.success(), "fleet init: {}", String::from_utf8_lossy(&out.stderr));
    let init: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(init["from_version"], 0);
    let mut admin = pg.admin(db);
    for s in stations {
        admin.batch_execute(&format!("CREATE ROLE {s} LOGIN PASSWORD 'pw-{s}' IN ROLE hallmark_station")).unwrap();
    }
}

/// One bench: its data directory, its configuration with `[fleet]` and its role.
struct Bench {
    station: Station,
    id: String,
    config: std::path::PathBuf,
}

impl Bench {
    fn new(pg: &TestPostgres, db: &str, role: &str, uid_scheme: &str) -> Bench {
        let station = Station::new();
        let uid = match uid_scheme {
            "sequence" => "[uid]\nscheme = \"sequence\"\nprefix = \"HM-\"\nwidth = 4",
            _ => "[uid]\nscheme = \"hardware-id\"\nprefix = \"\"",
        };
        let config = station.config(&[("[uid]\nscheme = \"hardware-id\"\nprefix = \"\"", uid)]);
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str(&format!("\n[fleet]\nurl = \"{}\"\nbatch = 50\n", pg.url(role, db)));
        std::fs::write(&config, text).unwrap();
        Bench { station, id: format!("bench-{role}"), config }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = hallmark();
        c.args(args)
            .arg("--data-dir")
            .arg(self.station.data_dir())
            .arg("--config")
            .arg(&self.config)
            .args(["--station", &self.id])
            .env("HALLMARK_FLEET_PASSWORD", format!("pw-{}", self.id.trim_start_matches("bench-")));
        c
    }

    /// Provisions `n` fresh simulated boards, one after the other.
    fn provision(&self, n: usize) {
        static BOARDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        for _ in 0..n {
            let i = BOARDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let sim = Sim::start(&self.station.board_state(&format!("board-{i}")), &[]);
            let out = self.cmd(&["provision", "--json", "--port", &sim.port]).output().unwrap();
            assert!(out.status.success(), "{}: {}", self.id, String::from_utf8_lossy(&out.stdout));
        }
    }

    fn fleet(&self, verb: &str) -> (i32, Value) {
        let out: Output = self.cmd(&["fleet", verb, "--json"]).output().unwrap();
        let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
            panic!("fleet {verb}: {} {}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
        });
        (out.status.code().unwrap_or(-1), json)
    }

    /// The local outbox's newest row.
    fn last_seq(&self) -> i64 {
        self.station.db().query_row("SELECT COALESCE(MAX(seq), 0) FROM outbox", [], |r| r.get(0)).unwrap()
    }

    fn runs(&self) -> i64 {
        self.station.db().query_row("SELECT COUNT(*) FROM runs", [], |r| r.get(0)).unwrap()
    }
}

fn count(pg: &TestPostgres, db: &str, sql: &str) -> i64 {
    pg.admin(db).query_one(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

#[test]
fn three_benches_provision_in_parallel_and_the_fleet_equals_their_logs() {
    let pg = server!("three_benches_provision_in_parallel_and_the_fleet_equals_their_logs");
    fleet(&pg, "fleet3", &["a", "b", "c"]);
    let benches: Vec<Bench> = ["a", "b", "c"].iter().map(|r| Bench::new(&pg, "fleet3", r, "hardware-id")).collect();
    const BOARDS: usize = 50;
    std::thread::scope(|s| {
        for bench in &benches {
            s.spawn(move || {
                bench.provision(BOARDS);
                let (code, report) = bench.fleet("sync");
                assert_eq!(code, 0, "{report}");
                assert_eq!(report["waiting"], 0, "{report}");
                assert!(report["conflicts"].as_array().unwrap().is_empty(), "{report}");
            });
        }
    });
    for bench in &benches {
        let station = &bench.id;
        let held = count(&pg, "fleet3", &format!("SELECT COUNT(*) FROM hallmark.records WHERE station = '{station}'"));
        assert_eq!(held, bench.last_seq(), "every local record of {station} is in the fleet, once");
        let max = count(&pg, "fleet3", &format!("SELECT MAX(seq) FROM hallmark.records WHERE station = '{station}'"));
        assert_eq!(max, held, "no gaps");
        let runs = count(
            &pg,
            "fleet3",
            &format!("SELECT COUNT(*) FROM hallmark.records WHERE station = '{station}' AND tbl = 'runs'"),
        );
        assert_eq!(runs, bench.runs());
        let (code, status) = bench.fleet("status");
        assert_eq!(code, 0, "{status}");
        assert_eq!(status["waiting"], 0);
        assert_eq!(status["server"]["high_water"], held);
        assert_eq!(status["server"]["stations"], 3);
    }
    assert_eq!(count(&pg, "fleet3", "SELECT COUNT(DISTINCT uid) FROM hallmark.fleet_uids"), 3 * BOARDS as i64);
    assert_eq!(count(&pg, "fleet3", "SELECT COUNT(*) FROM hallmark.fleet_conflicts"), 0);
    let (code, verified) = benches[0].fleet("verify");
    assert_eq!((code, &verified["ok"]), (0, &Value::Bool(true)), "{verified}");
}

#[test]
fn fleet_verify_after_a_sync_checks_the_bench_chain() {
    let pg = server!("fleet_verify_after_a_sync_checks_the_bench_chain");
    fleet(&pg, "verify", &["a"]);
    let bench = Bench::new(&pg, "verify", "a", "hardware-id");
    bench.provision(2);
    assert_eq!(bench.fleet("sync").0, 0);
    let (code, report) = bench.fleet("verify");
    assert_eq!(code, 0, "{report}");
    let station = &report["stations"][0];
    assert_eq!((&station["station"], &station["role"]), (&Value::from("bench-a"), &Value::from("a")), "{report}");
    assert!(station["events"].as_u64().unwrap() > 0 && station["first_bad"].is_null(), "{report}");
}

#[test]
fn a_bench_keeps_provisioning_while_the_fleet_is_down_and_catches_up() {
    let mut pg = server!("a_bench_keeps_provisioning_while_the_fleet_is_down_and_catches_up");
    fleet(&pg, "outage", &["a"]);
    let bench = Bench::new(&pg, "outage", "a", "hardware-id");
    bench.provision(2);
    assert_eq!(bench.fleet("sync").0, 0);
    pg.stop();
    bench.provision(3);
    let (code, failed) = bench.fleet("sync");
    assert_eq!(code, 1, "{failed}");
    assert!(!failed["error"].as_str().unwrap().is_empty(), "{failed}");
    let (code, status) = bench.fleet("status");
    assert_eq!(code, 1, "{status}");
    assert_eq!(status["server"]["connected"], false);
    assert!(status["waiting"].as_i64().unwrap() > 0, "{status}");
    pg.start_again();
    let (code, caught_up) = bench.fleet("sync");
    assert_eq!(code, 0, "{caught_up}");
    assert_eq!(caught_up["waiting"], 0);
    assert_eq!(count(&pg, "outage", "SELECT COUNT(*) FROM hallmark.records"), bench.last_seq());
    assert_eq!(count(&pg, "outage", "SELECT COUNT(*) FROM hallmark.records WHERE tbl = 'runs'"), 5);
}

#[test]
fn a_sync_killed_twenty_times_resumes_without_duplicates_or_gaps() {
    let pg = server!("a_sync_killed_twenty_times_resumes_without_duplicates_or_gaps");
    fleet(&pg, "kills", &["a"]);
    let bench = Bench::new(&pg, "kills", "a", "hardware-id");
    bench.provision(1);
    // Small batches: many server transactions to be killed between and inside.
    let config = std::fs::read_to_string(&bench.config).unwrap().replace("batch = 50", "batch = 3");
    std::fs::write(&bench.config, config).unwrap();
    let mut watch = pg.admin("kills");
    let mut held = || -> (i64, i64) {
        let row = watch.query_one("SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM hallmark.records", &[]).unwrap();
        (row.get(0), row.get(1))
    };
    let (mut killed_midway, mut killed_after_a_commit) = (0, 0);
    for round in 0..20u64 {
        // Enough waiting that a sync is still running when the kill lands.
        while bench.last_seq() - held().0 < 60 {
            bench.provision(1);
        }
        let before = held().0;
        let mut child = bench.cmd(&["fleet", "sync"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        // The kill is placed by what the server holds, not by a clock: every fourth
        // round before the first commit, the others after one to three batches.
        let batches = (round % 4) as i64;
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while held().0 < before + 3 * batches && child.try_wait().unwrap().is_none() {
            assert!(std::time::Instant::now() < deadline, "round {round}: the sync made no progress");
            std::thread::sleep(Duration::from_millis(1));
        }
        if child.try_wait().unwrap().is_none() {
            killed_midway += 1;
        }
        child.kill().ok(); // SIGKILL
        child.wait().unwrap();
        let (count, max) = held();
        assert_eq!(count, max, "round {round}: no gap");
        if count > before {
            killed_after_a_commit += 1;
        }
    }
    eprintln!("{killed_midway} of 20 syncs were killed before they finished, {killed_after_a_commit} after a commit");
    assert!(killed_midway >= 18, "the kills must land during a sync ({killed_midway})");
    assert!(killed_after_a_commit >= 10, "most kills must come after the server committed ({killed_after_a_commit})");
    let (code, done) = bench.fleet("sync");
    assert_eq!(code, 0, "{done}");
    assert_eq!(count(&pg, "kills", "SELECT COUNT(*) FROM hallmark.records"), bench.last_seq());
}

#[test]
fn two_benches_counting_their_own_sequence_claim_one_uid_and_the_fleet_raises_an_alarm() {
    let pg = server!("two_benches_counting_their_own_sequence_claim_one_uid_and_the_fleet_raises_an_alarm");
    fleet(&pg, "clash", &["a", "b"]);
    let a = Bench::new(&pg, "clash", "a", "sequence");
    let b = Bench::new(&pg, "clash", "b", "sequence");
    a.provision(1);
    b.provision(1);
    assert_eq!(a.fleet("sync").0, 0);
    let (_, second) = b.fleet("sync");
    let conflicts = second["conflicts"].as_array().unwrap();
    assert!(conflicts.iter().any(|c| c["what"] == "uid" && c["holder_station"] == "bench-a"), "{second}");
    let (_, status) = b.fleet("status");
    assert!(status["server"]["station_open_conflicts"].as_i64().unwrap() >= 1, "{status}");
    // Nothing was overwritten: the UID still belongs to the first claim.
    let holder: String = pg.admin("clash").query_one("SELECT station FROM hallmark.fleet_uids", &[]).unwrap().get(0);
    assert_eq!(holder, "bench-a");
}

#[test]
fn a_log_restored_from_an_older_copy_is_not_synced_over_the_fleet() {
    let pg = server!("a_log_restored_from_an_older_copy_is_not_synced_over_the_fleet");
    fleet(&pg, "restored", &["a"]);
    let bench = Bench::new(&pg, "restored", "a", "hardware-id");
    bench.provision(1);
    let log = bench.station.data_dir().join("hallmark-log.sqlite");
    let copy = bench.station.data_dir().join("older-copy.sqlite");
    bench.station.db().execute("VACUUM INTO ?1", [copy.to_str().unwrap()]).unwrap();
    bench.provision(2);
    assert_eq!(bench.fleet("sync").0, 0);
    let held = count(&pg, "restored", "SELECT COUNT(*) FROM hallmark.records");
    // The bench's log is put back to the older copy: its next records would reuse
    // sequence numbers the fleet already holds for other rows.
    for ext in ["-wal", "-shm"] {
        std::fs::remove_file(format!("{}{ext}", log.display())).ok();
    }
    std::fs::copy(&copy, &log).unwrap();
    bench.provision(1);
    let (code, refused) = bench.fleet("sync");
    assert_eq!(code, 1, "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("restored from an older copy"), "{refused}");
    assert_eq!(count(&pg, "restored", "SELECT COUNT(*) FROM hallmark.records"), held, "nothing was sent");
}
