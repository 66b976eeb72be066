//! Several stations, one record (issue #17): real `hallmark` processes, simulated
//! boards, and a real PostgreSQL started by the test
//! (`crates/hallmark-fleet/tests/support`), run as the `postgres` user under root.

#[path = "../../crates/hallmark-fleet/tests/support/mod.rs"]
pub(crate) mod pg;

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
        Bench::with_fleet(pg, db, role, uid_scheme, "")
    }

    /// A bench whose `[fleet]` section also holds `fleet_extra` (TOML lines).
    fn with_fleet(pg: &TestPostgres, db: &str, role: &str, uid_scheme: &str, fleet_extra: &str) -> Bench {
        let station = Station::new();
        let uid = match uid_scheme {
            "sequence" => "[uid]\nscheme = \"sequence\"\nprefix = \"HM-\"\nwidth = 4",
            _ => "[uid]\nscheme = \"hardware-id\"\nprefix = \"\"",
        };
        let config = station.config(&[("[uid]\nscheme = \"hardware-id\"\nprefix = \"\"", uid)]);
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str(&format!("\n[fleet]\nurl = \"{}\"\nbatch = 50\n{fleet_extra}\n", pg.url(role, db)));
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
        for _ in 0..n {
            let (code, report) = self.provision_one();
            assert_eq!(code, 0, "{}: {report}", self.id);
        }
    }

    /// Provisions one fresh simulated board: exit code and report.
    fn provision_one(&self) -> (i32, Value) {
        static BOARDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let i = BOARDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.provision_board(&self.station.board_state(&format!("board-{i}")))
    }

    /// Provisions the simulated board whose flash is `state`: exit code and report.
    fn provision_board(&self, state: &std::path::Path) -> (i32, Value) {
        let sim = Sim::start(state, &[]);
        let out = self.cmd(&["provision", "--json", "--port", &sim.port]).output().unwrap();
        let report = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{}: {}", self.id, String::from_utf8_lossy(&out.stderr)));
        (out.status.code().unwrap_or(-1), report)
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
    // The `sequence` scheme with small blocks: every bench leases several times while
    // the others do.
    let benches: Vec<Bench> =
        ["a", "b", "c"].iter().map(|r| Bench::with_fleet(&pg, "fleet3", r, "sequence", "uid_block = 7")).collect();
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
    assert_eq!(count(&pg, "fleet3", "SELECT COUNT(DISTINCT hardware_id) FROM hallmark.fleet_uids"), 3 * BOARDS as i64);
    assert_eq!(
        count(&pg, "fleet3", "SELECT COUNT(DISTINCT serial) FROM hallmark.fleet_certificates"),
        3 * BOARDS as i64
    );
    // Every UID came from a block leased to the bench that gave it.
    assert_eq!(
        count(
            &pg,
            "fleet3",
            "SELECT COUNT(*) FROM hallmark.fleet_uids u WHERE NOT EXISTS (
               SELECT 1 FROM hallmark.uid_blocks b WHERE b.station = u.station AND b.stem = 'HM-'
                 AND substr(u.uid, 4, 4)::bigint BETWEEN b.first AND b.last)"
        ),
        0
    );
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

/// A fresh board's flash, and a copy of it: one board (one hardware id) brought to
/// two benches.
fn board_and_its_clone(bench: &Bench, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let state = bench.station.board_state(name);
    drop(Sim::start(&state, &[])); // writes the fresh board's flash
    let clone = bench.station.board_state(&format!("{name}-clone"));
    std::fs::copy(&state, &clone).unwrap();
    (state, clone)
}

/// What the identification of the bench's newest run recorded of the fleet check.
fn fleet_check(bench: &Bench) -> Value {
    let detail: String = bench
        .station
        .db()
        .query_row(
            "SELECT detail FROM events WHERE step = 'identify' AND phase = 'end' ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    serde_json::from_str::<Value>(&detail).unwrap()["fleet_check"].clone()
}

fn certificates(bench: &Bench) -> i64 {
    bench.station.db().query_row("SELECT COUNT(*) FROM certificates", [], |r| r.get(0)).unwrap()
}

#[test]
fn a_board_another_bench_provisioned_is_refused_before_anything_is_signed() {
    let pg = server!("a_board_another_bench_provisioned_is_refused_before_anything_is_signed");
    fleet(&pg, "claimed", &["a", "b"]);
    let a = Bench::new(&pg, "claimed", "a", "hardware-id");
    let b = Bench::new(&pg, "claimed", "b", "hardware-id");
    let (board, clone) = board_and_its_clone(&a, "claimed-board");
    let (code, first) = a.provision_board(&board);
    assert_eq!(code, 0, "{first}");
    assert_eq!(fleet_check(&a)["result"], "clear");
    assert_eq!(a.fleet("sync").0, 0);
    let (code, refused) = b.provision_board(&clone);
    assert_ne!(code, 0, "{refused}");
    assert_eq!(refused["failure"]["code"], "UID_COLLISION", "{refused}");
    assert_eq!(refused["failure"]["reason"], "fleet-claim", "{refused}");
    let what = refused["failure"]["what"].as_str().unwrap();
    assert!(what.contains("station bench-a") && what.contains(first["uid"].as_str().unwrap()), "{what}");
    assert_eq!(refused["steps"].as_array().unwrap().last().unwrap()["name"], "identify", "{refused}");
    assert_eq!(certificates(&b), 0, "nothing was signed at the second bench");
}

#[test]
fn a_sequence_bench_runs_its_own_board_again_and_another_bench_is_refused_it() {
    let pg = server!("a_sequence_bench_runs_its_own_board_again_and_another_bench_is_refused_it");
    fleet(&pg, "own_board", &["a", "b"]);
    let a = Bench::with_fleet(&pg, "own_board", "a", "sequence", "uid_block = 5");
    let b = Bench::with_fleet(&pg, "own_board", "b", "sequence", "uid_block = 5");
    let (board, clone) = board_and_its_clone(&a, "own");
    let (code, first) = a.provision_board(&board);
    assert_eq!(code, 0, "{first}");
    assert_eq!(a.fleet("sync").0, 0);
    // The same board at the same bench: the fleet check passes (its own claim is its
    // log's to judge), and the station's own re-provisioning rule decides.
    let (code, again) = a.provision_board(&board);
    assert_ne!(code, 0, "{again}");
    assert_eq!(again["failure"]["code"], "ALREADY_PROVISIONED", "{again}");
    // A copy of its flash at the other bench is refused before anything is signed.
    let (code, refused) = b.provision_board(&clone);
    assert_ne!(code, 0, "{refused}");
    assert_eq!(refused["failure"]["reason"], "fleet-claim", "{refused}");
    assert_eq!(certificates(&b), 0);
}

#[test]
fn benches_cut_off_from_the_fleet_proceed_and_the_fleet_reconciles_with_an_alarm() {
    let mut pg = server!("benches_cut_off_from_the_fleet_proceed_and_the_fleet_reconciles_with_an_alarm");
    fleet(&pg, "reconcile", &["a", "b"]);
    let a = Bench::new(&pg, "reconcile", "a", "hardware-id");
    let b = Bench::new(&pg, "reconcile", "b", "hardware-id");
    let (board, clone) = board_and_its_clone(&a, "twice");
    pg.stop();
    for (bench, state) in [(&a, &board), (&b, &clone)] {
        let (code, report) = bench.provision_board(state);
        assert_eq!(code, 0, "when_offline = proceed (the default): {report}");
        let check = fleet_check(bench);
        assert_eq!(check["result"], "not-checked", "{check}");
        assert!(check["why"].as_str().unwrap().contains("cannot connect"), "{check}");
    }
    pg.start_again();
    assert_eq!(a.fleet("sync").0, 0);
    let (code, reconciled) = b.fleet("sync");
    assert_eq!(code, 0, "the records arrive: {reconciled}");
    let conflicts = reconciled["conflicts"].as_array().unwrap();
    for what in ["uid", "hardware_id"] {
        assert!(
            conflicts.iter().any(|c| c["what"] == what && c["holder_station"] == "bench-a"),
            "{what}: {reconciled}"
        );
    }
    let (_, status) = b.fleet("status");
    assert!(status["server"]["station_open_conflicts"].as_i64().unwrap() >= 2, "{status}");
    let holder: String =
        pg.admin("reconcile").query_one("SELECT station FROM hallmark.fleet_uids", &[]).unwrap().get(0);
    assert_eq!(holder, "bench-a", "nothing was overwritten");
}

#[test]
fn a_bench_set_to_refuse_signs_nothing_while_the_fleet_is_down() {
    let mut pg = server!("a_bench_set_to_refuse_signs_nothing_while_the_fleet_is_down");
    fleet(&pg, "refuse", &["a"]);
    let bench = Bench::with_fleet(&pg, "refuse", "a", "hardware-id", "when_offline = \"refuse\"");
    pg.stop();
    let (code, refused) = bench.provision_one();
    assert_ne!(code, 0, "{refused}");
    assert_eq!(refused["failure"]["code"], "FLEET_UNAVAILABLE", "{refused}");
    assert_eq!(refused["failure"]["reason"], "fleet-check", "{refused}");
    assert!(refused["failure"]["todo"].as_str().unwrap().contains("hallmark fleet status"), "{refused}");
    assert_eq!(certificates(&bench), 0);
    pg.start_again();
    let (code, passed) = bench.provision_one();
    assert_eq!(code, 0, "{passed}");
    assert_eq!(fleet_check(&bench)["result"], "clear");
}

#[test]
fn a_sequence_bench_numbers_through_an_outage_until_its_leased_blocks_run_out() {
    let mut pg = server!("a_sequence_bench_numbers_through_an_outage_until_its_leased_blocks_run_out");
    fleet(&pg, "outage_uids", &["a"]);
    let bench = Bench::with_fleet(&pg, "outage_uids", "a", "sequence", "uid_block = 3");
    // A sync leases a block to number from and one in reserve: six numbers.
    let (code, synced) = bench.fleet("sync");
    assert_eq!(code, 0, "{synced}");
    assert_eq!(synced["leased"].as_array().unwrap().len(), 2, "{synced}");
    let (_, status) = bench.fleet("status");
    let blocks = &status["uid_blocks"][0];
    assert_eq!(
        (&blocks["stem"], &blocks["left"], &blocks["reserve"]),
        (&Value::from("HM-"), &Value::from(6), &Value::from(1)),
        "{status}"
    );
    pg.stop();
    let uids: Vec<String> = (0..6)
        .map(|_| {
            let (code, report) = bench.provision_one();
            assert_eq!(code, 0, "{report}");
            report["uid"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(uids, ["HM-0001", "HM-0002", "HM-0003", "HM-0004", "HM-0005", "HM-0006"]);
    let (code, refused) = bench.provision_one();
    assert_ne!(code, 0, "{refused}");
    assert_eq!(refused["failure"]["code"], "FLEET_UNAVAILABLE", "{refused}");
    assert_eq!(refused["failure"]["reason"], "uid-blocks-exhausted", "{refused}");
    assert!(refused["failure"]["what"].as_str().unwrap().contains("every UID number the fleet leased"), "{refused}");
    assert_eq!(certificates(&bench), 6, "nothing was signed for the seventh board");
    let (code, status) = bench.fleet("status");
    assert_eq!(code, 1, "{status}");
    assert_eq!(status["uid_blocks"][0]["left"], 0, "{status}");
    pg.start_again();
    // Back online: the run leases what it needs itself.
    let (code, passed) = bench.provision_one();
    assert_eq!(code, 0, "{passed}");
    assert_eq!(passed["uid"], "HM-0007");
    let (code, synced) = bench.fleet("sync");
    assert_eq!(code, 0, "{synced}");
    assert!(synced["conflicts"].as_array().unwrap().is_empty(), "{synced}");
    assert_eq!(count(&pg, "outage_uids", "SELECT COUNT(*) FROM hallmark.uid_blocks WHERE station = 'bench-a'"), 4);
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

/// `hallmark log ARGS` of `bench`: over its own log, or with `--fleet` over the fleet
/// its configuration names (with its role's password).
fn log(bench: &Bench, args: &[&str]) -> Output {
    hallmark()
        .arg("log")
        .args(args)
        .arg("--data-dir")
        .arg(bench.station.data_dir())
        .arg("--config")
        .arg(&bench.config)
        .env("HALLMARK_FLEET_PASSWORD", format!("pw-{}", bench.id.trim_start_matches("bench-")))
        .output()
        .unwrap()
}

/// The output's lines; the command must have succeeded.
fn out_lines(out: Output) -> Vec<String> {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect()
}

fn json_lines(out: Output) -> Vec<Value> {
    out_lines(out).iter().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn qa_across_the_fleet_equals_the_union_of_the_benches_logs() {
    let mut pg = server!("qa_across_the_fleet_equals_the_union_of_the_benches_logs");
    fleet(&pg, "qa", &["a", "b"]);
    let a = Bench::new(&pg, "qa", "a", "hardware-id");
    let b = Bench::new(&pg, "qa", "b", "hardware-id");
    // One board provisioned at bench A, then (the fleet out of reach, so B cannot
    // know) at bench B: one device with a run at each.
    let (board, clone) = board_and_its_clone(&a, "travelling");
    pg.stop();
    let (code, first) = a.provision_board(&board);
    assert_eq!(code, 0, "{first}");
    let (code, again) = b.provision_board(&clone);
    assert_eq!(code, 0, "{again}");
    let uid = first["uid"].as_str().unwrap();
    assert_eq!(again["uid"], uid);
    pg.start_again();
    a.provision(2);
    b.provision(2);
    // And a board that fails its CSR check at bench B.
    let bad = Sim::start(&b.station.board_state("bad-csr"), &["bad-csr-signature"]);
    assert_eq!(b.cmd(&["provision", "--json", "--port", &bad.port]).output().unwrap().status.code(), Some(1));
    for bench in [&a, &b] {
        let (code, synced) = bench.fleet("sync");
        assert_eq!(code, 0, "{synced}");
    }

    // Statistics: the fleet's counts are the benches' added up, but for the
    // travelling board, one device with a run at each; each station's line is its own
    // log's.
    let local: Vec<Value> = [&a, &b].iter().map(|s| json_lines(log(s, &["stats", "--json"])).remove(0)).collect();
    let fleet_stats = json_lines(log(&a, &["stats", "--fleet", "--json"])).remove(0);
    for key in ["runs", "passed", "failed", "interrupted"] {
        let sum: u64 = local.iter().map(|l| l[key].as_u64().unwrap()).sum();
        assert_eq!(fleet_stats[key].as_u64(), Some(sum), "{key}: {fleet_stats}");
    }
    let devices: u64 = local.iter().map(|l| l["devices"].as_u64().unwrap()).sum();
    let passed: u64 = local.iter().map(|l| l["devices_passed"].as_u64().unwrap()).sum();
    assert_eq!(fleet_stats["devices_passed"].as_u64(), Some(passed - 1), "{fleet_stats}");
    assert_eq!(fleet_stats["devices"].as_u64(), Some(devices - 1), "the travelling board is one device: {fleet_stats}");
    assert_eq!((fleet_stats["runs"].as_u64(), fleet_stats["failed"].as_u64()), (Some(7), Some(1)), "{fleet_stats}");
    let stations = fleet_stats["stations"].as_array().unwrap();
    assert_eq!(stations.len(), 2, "{fleet_stats}");
    for (line, (bench, l)) in stations.iter().zip([&a, &b].iter().zip(&local)) {
        assert_eq!(line["station"], bench.id.as_str());
        for (key, local_key) in
            [("runs", "runs"), ("passed", "passed"), ("devices", "devices"), ("yield_percent", "yield_percent")]
        {
            assert_eq!(line[key], l[local_key], "{key} of {}: {fleet_stats}", bench.id);
        }
    }
    // One station's fleet statistics are its log's, to the last field.
    for (bench, l) in [&a, &b].iter().zip(&local) {
        let mut mine = json_lines(log(&a, &["stats", "--fleet", "--json", "--station", &bench.id])).remove(0);
        assert_eq!(mine["stations"].as_array().unwrap().len(), 1);
        mine.as_object_mut().unwrap().remove("stations");
        assert_eq!(&mine, l, "{}", bench.id);
    }
    let text = out_lines(log(&b, &["stats", "--fleet"]));
    assert!(text.iter().any(|l| l == "yield per station:"), "{text:?}");
    assert!(text.iter().any(|l| l.trim_start().starts_with("bench-b ")), "{text:?}");

    // Exports: the union of the benches' exports, by start time.
    let mut union: Vec<Value> =
        [&a, &b].iter().flat_map(|s| json_lines(log(s, &["export", "--format", "jsonl"]))).collect();
    union.sort_by(|x, y| {
        (x["started_at"].as_str(), x["station"].as_str()).cmp(&(y["started_at"].as_str(), y["station"].as_str()))
    });
    assert_eq!(json_lines(log(&b, &["export", "--fleet", "--format", "jsonl"])), union);
    let csv = |bench: &Bench, fleet: bool| {
        let mut args = vec!["export", "--format", "csv"];
        if fleet {
            args.push("--fleet");
        }
        out_lines(log(bench, &args))
    };
    let fleet_csv = csv(&a, true);
    let mut local_csv: Vec<String> = csv(&a, false).into_iter().chain(csv(&b, false).into_iter().skip(1)).collect();
    assert_eq!(fleet_csv[0], local_csv[0], "the same header");
    let (mut fleet_rows, mut local_rows) = (fleet_csv[1..].to_vec(), local_csv.split_off(1));
    fleet_rows.sort();
    local_rows.sort();
    assert_eq!(fleet_rows, local_rows);
    // A page and a filter, as on a bench.
    let page = json_lines(log(&a, &["export", "--fleet", "--format", "jsonl", "--limit", "2", "--offset", "3"]));
    assert_eq!(page, union[3..5].to_vec());
    let failed = json_lines(log(&a, &["export", "--fleet", "--format", "jsonl", "--outcome", "fail"]));
    assert_eq!(failed, union.iter().filter(|r| r["outcome"] == "FAIL").cloned().collect::<Vec<_>>());

    // The travelling board's history: its runs at bench A and at bench B, in order.
    let history = json_lines(log(&b, &["history", uid, "--fleet"]));
    let seen: Vec<(&str, &str)> =
        history.iter().map(|r| (r["station"].as_str().unwrap(), r["outcome"].as_str().unwrap())).collect();
    assert_eq!(seen, [("bench-a", "PASS"), ("bench-b", "PASS")], "{history:?}");
    assert_eq!(history[0], json_lines(log(&a, &["history", uid]))[0]);
    assert_eq!(history[1], json_lines(log(&b, &["history", uid]))[0]);

    // Onboarding: every device that passed, with its newest certificate across the
    // fleet (the travelling board's from bench B).
    let onboarding = |bench: &Bench, fleet: bool| {
        let mut args = vec!["onboarding", "--format", "jsonl"];
        if fleet {
            args.push("--fleet");
        }
        let mut rows = json_lines(log(bench, &args));
        rows.sort_by(|x, y| x["uid"].as_str().cmp(&y["uid"].as_str()));
        rows
    };
    let mut expected: Vec<Value> = onboarding(&a, false).into_iter().filter(|r| r["uid"] != uid).collect();
    expected.extend(onboarding(&b, false));
    expected.sort_by(|x, y| x["uid"].as_str().cmp(&y["uid"].as_str()));
    assert_eq!(expected.len(), 5);
    assert_eq!(onboarding(&b, true), expected);
}

#[test]
fn qa_with_fleet_needs_a_fleet_section_and_a_fleet_that_answers() {
    let mut pg = server!("qa_with_fleet_needs_a_fleet_section_and_a_fleet_that_answers");
    // A bench without [fleet]: refused in words, exit 2, and nothing written.
    let plain = Station::new();
    let sim = Sim::start(&plain.board_state("b"), &[]);
    assert_eq!(plain.provision(&sim.port, &[]).0, 0);
    let out_file = plain.data_dir().join("export.jsonl");
    for args in [
        vec!["export", "--fleet", "--format", "jsonl", "--out", out_file.to_str().unwrap()],
        vec!["history", "X", "--fleet"],
        vec!["stats", "--fleet", "--json"],
        vec!["onboarding", "--fleet"],
    ] {
        let out = hallmark().arg("log").args(&args).arg("--data-dir").arg(plain.data_dir()).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no [fleet] section") && err.contains("--config FILE"), "{args:?}: {err}");
    }
    assert!(!out_file.exists(), "no half-written export");
    assert_eq!(json_lines(plain.hallmark(&["log", "export", "--format", "jsonl"])).len(), 1, "the local log as before");

    // A fleet that is down: exit 2 and why, while the bench's own log still answers.
    fleet(&pg, "qa_down", &["a"]);
    let bench = Bench::new(&pg, "qa_down", "a", "hardware-id");
    bench.provision(1);
    assert_eq!(bench.fleet("sync").0, 0);
    assert_eq!(json_lines(log(&bench, &["stats", "--fleet", "--json"]))[0]["runs"], 1);
    pg.stop();
    for args in [vec!["stats", "--fleet"], vec!["export", "--fleet", "--format", "csv"]] {
        let out = log(&bench, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("cannot connect to the fleet server"), "{args:?}");
    }
    assert_eq!(json_lines(log(&bench, &["stats", "--json"]))[0]["runs"], 1);
    // A wrong password is the fleet's refusal, in words.
    pg.start_again();
    let out = hallmark()
        .args(["log", "stats", "--fleet", "--config"])
        .arg(&bench.config)
        .arg("--data-dir")
        .arg(bench.station.data_dir())
        .env("HALLMARK_FLEET_PASSWORD", "wrong")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refused the login"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
