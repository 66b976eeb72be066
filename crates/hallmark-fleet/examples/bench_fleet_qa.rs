//! Benchmark: the QA queries over N runs (default 1,000,000) in the fleet database
//! (PostgreSQL, started here as the tests do) and in one station's SQLite log, side by
//! side.
//!
//! ```sh
//! cargo run --release -p hallmark-fleet --example bench_fleet_qa -- [N] [LOG.sqlite]
//! ```
//!
//! The same runs on both sides, from one set of formulas (`Run::new` here, and the
//! same arithmetic in SQL for PostgreSQL): four stations, ~300 boards an hour from
//! 2026-01-01, 15 % failing at a step spread over the eleven, one board in seven
//! needing a second run, 12 end events per run (as `hallmark-store`'s `bench_log`).
//!
//! - The SQLite log has the station's schema and hash chain, written in one
//!   transaction with durability off (a generator, not a station). An existing LOG
//!   with N runs is reused.
//! - PostgreSQL is filled the fast way, not through `Fleet::push`: `generate_series`
//!   straight into `hallmark.records` (runs, events and results, as a station's sync
//!   sends them, numbered with gaps) and the projection `hallmark.fleet_runs`, with the
//!   projection triggers off (`session_replication_role = replica`), then `VACUUM
//!   ANALYZE`. The server is the test harness's (`shared_buffers` 16 MB, `fsync` off),
//!   everything else PostgreSQL's defaults.
//!
//! Then it times, on each side, the queries QA runs — through the code `hallmark log …`
//! and `hallmark log … --fleet` use (`Store` and `Fleet`), each query run twice and
//! the second run timed (the first warms the caches) — checks that both sides give the
//! same answers, and prints a table. A measurement, never a test.
//! `BENCH_HOLD=SECONDS` keeps the loaded server up that long before the queries and
//! prints its port and password, for looking at plans with `psql`.

#[path = "../tests/support/mod.rs"]
mod pg;

use hallmark_fleet::Fleet;
use hallmark_store::{event_hash, HashInput, Page, RunFilter, RunRecord, Store, GENESIS};
use rusqlite::params;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// The steps of a fresh run, as the log names them.
const STEPS: [&str; 11] = {
    let mut names = [""; 11];
    let mut i = 0;
    while i < 11 {
        names[i] = hallmark_store::Step::FRESH_RUN[i].as_str();
        i += 1;
    }
    names
};

/// One generated run; `id` from 1.
struct Run {
    at: String,
    station: String,
    operator: String,
    slot: String,
    uid: String,
    /// The step that fails (index into STEPS), if one does.
    fail_at: Option<usize>,
}

impl Run {
    /// The formulas; `GENERATE_PG` spells the same in SQL.
    fn new(id: u64) -> Run {
        let secs = id * 12;
        let at = format!(
            "2026-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
            1 + (secs / 86400 / 28) % 12,
            1 + (secs / 86400) % 28,
            (secs / 3600) % 24,
            (secs / 60) % 60,
            secs % 60
        );
        let device = if id.is_multiple_of(7) { id / 2 - 1 } else { id / 2 };
        let h = (id * 2_654_435_761) % 1000;
        Run {
            at,
            station: format!("bench-{}", id % 4 + 1),
            operator: format!("op-{}", id % 8),
            slot: ((b'A' + ((id / 4) % 4) as u8) as char).to_string(),
            uid: format!("HM{device:08}"),
            fail_at: (h < 150).then_some((h * 11 / 150) as usize),
        }
    }
}

/// The same runs in PostgreSQL (`$1` = N): records as the stations' syncs send them,
/// and the projection the trigger would have made of them.
const GENERATE_PG: &str = r#"
SET session_replication_role = replica;
CREATE TEMP TABLE gen AS
SELECT id, at, 'bench-' || (id % 4 + 1) AS station, 'op-' || (id % 8) AS operator, chr(65 + ((id / 4) % 4)::int) AS slot,
       'HM' || lpad((CASE WHEN id % 7 = 0 THEN id / 2 - 1 ELSE id / 2 END)::text, 8, '0') AS uid,
       lpad(to_hex(id), 32, '0') AS uuid,
       CASE WHEN (id * 2654435761) % 1000 < 150 THEN ((id * 2654435761) % 1000 * 11 / 150)::int END AS fail_at
  FROM (SELECT id, format('2026-%s-%sT%s:%s:%s.000Z',
                          lpad((1 + (id * 12 / 86400 / 28) % 12)::text, 2, '0'), lpad((1 + (id * 12 / 86400) % 28)::text, 2, '0'),
                          lpad((id * 12 / 3600 % 24)::text, 2, '0'), lpad((id * 12 / 60 % 60)::text, 2, '0'),
                          lpad((id * 12 % 60)::text, 2, '0')) AS at
          FROM generate_series(1::bigint, $N::bigint) id) s;
INSERT INTO hallmark.records (station, seq, tbl, row_id, body)
SELECT station, id * 16, 'runs', id,
       jsonb_build_object('id', id, 'run_uuid', uuid, 'started_at', at, 'station', station, 'port', '/dev/ttyUSB0',
                          'operator', operator, 'tool_version', 'bench', 'pid', 1, 'boot_id', 'bench', 'slot', slot,
                          'config_hash', 'cfg')
  FROM gen;
INSERT INTO hallmark.records (station, seq, tbl, row_id, body)
SELECT g.station, g.id * 16 + 1 + k, 'events', g.id * 16 + k,
       jsonb_build_object('id', g.id * 16 + k, 'run_id', g.id, 'at', g.at, 'step', e.step, 'phase', 'end',
                          'outcome', e.outcome, 'duration_us', 500, 'detail', e.detail,
                          'prev_hash', md5(g.uuid || k) || md5(k || g.uuid), 'hash', md5(g.uuid || (k + 1)) || md5((k + 1) || g.uuid))
  FROM gen g
  CROSS JOIN LATERAL generate_series(0, coalesce(g.fail_at, 10) + 1) k
  CROSS JOIN LATERAL (SELECT
       CASE WHEN k = coalesce(g.fail_at, 10) + 1 THEN 'run'
            ELSE (ARRAY['connect','identify','label-check','keygen','csr','sign','install','readback','selftest','finish','label'])[k + 1] END AS step,
       CASE WHEN k = coalesce(g.fail_at, 10) + 1 THEN CASE WHEN g.fail_at IS NULL THEN 'PASS' ELSE 'FAIL' END
            WHEN k = g.fail_at THEN 'FAIL' ELSE 'PASS' END AS outcome,
       CASE WHEN k = coalesce(g.fail_at, 10) + 1
                 THEN format('{"outcome":"%s","uid":"%s"}', CASE WHEN g.fail_at IS NULL THEN 'PASS' ELSE 'FAIL' END, g.uid)
            WHEN k = 1 THEN format('{"uid":"%s","hardware_id":"%s"}', g.uid, g.uid) ELSE '{}' END AS detail) e;
INSERT INTO hallmark.records (station, seq, tbl, row_id, body)
SELECT station, id * 16 + 15, 'run_results', id,
       jsonb_build_object('run_id', id, 'ended_at', at, 'outcome', CASE WHEN fail_at IS NULL THEN 'PASS' ELSE 'FAIL' END,
                          'uid', uid, 'hardware_id', uid, 'model', 'HM-SIM-1', 'firmware_version', '1.0.0',
                          'failing_step', (ARRAY['connect','identify','label-check','keygen','csr','sign','install','readback','selftest','finish','label'])[fail_at + 1],
                          'failure_code', CASE WHEN fail_at IS NOT NULL THEN 'LINK_LOST' END,
                          'failure_message', CASE WHEN fail_at IS NOT NULL THEN 'lost' END, 'duration_us', 6000)
  FROM gen;
INSERT INTO hallmark.fleet_runs (station, run_id, run_uuid, started_at, slot, port, operator, tool_version, config_hash,
                                 uid, hardware_id, model, firmware_version, ended_at, outcome, failing_step, failure_code,
                                 failure_message, duration_us, result_uid, result_hardware_id)
SELECT station, id, uuid, at, slot, '/dev/ttyUSB0', operator, 'bench', 'cfg', uid, uid, 'HM-SIM-1', '1.0.0', at,
       CASE WHEN fail_at IS NULL THEN 'PASS' ELSE 'FAIL' END,
       (ARRAY['connect','identify','label-check','keygen','csr','sign','install','readback','selftest','finish','label'])[fail_at + 1],
       CASE WHEN fail_at IS NOT NULL THEN 'LINK_LOST' END, CASE WHEN fail_at IS NOT NULL THEN 'lost' END, 6000, uid, uid
  FROM gen;
INSERT INTO hallmark.stations (station, first_seen, last_seen) SELECT DISTINCT station, now(), now() FROM gen;
DROP TABLE gen;
SET session_replication_role = origin;
"#;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let log = args.next().unwrap_or_else(|| format!("/tmp/hallmark-bench-fleet-qa-{n}.sqlite"));
    let log = Path::new(&log);

    let t = Instant::now();
    if runs_in(log) == Some(n) {
        println!("reusing {} ({n} runs)", log.display());
    } else {
        generate_sqlite(log, n);
        println!("SQLite: generated {n} runs in {:.1} s", t.elapsed().as_secs_f64());
    }
    let size = std::fs::metadata(log).map(|m| m.len()).unwrap_or(0);
    println!("SQLite log: {:.0} MiB", size as f64 / 1_048_576.0);

    let Some(server) = pg::TestPostgres::start("bench_fleet_qa") else { std::process::exit(2) };
    server.create_database("bench");
    let url = server.url(pg::SUPERUSER, "bench");
    Fleet::connect(&url, Some(server.password())).and_then(|mut f| f.init()).expect("fleet init");
    let mut admin = server.admin("bench");
    let t = Instant::now();
    admin.batch_execute(&GENERATE_PG.replace("$N", &n.to_string())).expect("generate the fleet's runs");
    let loaded = t.elapsed().as_secs_f64();
    let t = Instant::now();
    admin.batch_execute("VACUUM (ANALYZE) hallmark.records, hallmark.fleet_runs").expect("vacuum");
    let db_size: i64 = admin.query_one("SELECT pg_database_size('bench')", &[]).expect("database size").get(0);
    println!(
        "PostgreSQL: {n} runs loaded in {loaded:.1} s, VACUUM ANALYZE {:.1} s, database {:.0} MiB",
        t.elapsed().as_secs_f64(),
        db_size as f64 / 1_048_576.0
    );

    if let Ok(secs) = std::env::var("BENCH_HOLD").map(|s| s.parse::<u64>().unwrap_or(600)) {
        // For looking at the plans: psql -h 127.0.0.1 -p PORT -U postgres bench
        println!("holding the server for {secs} s: port {}, password {}", server.port(), server.password());
        std::thread::sleep(std::time::Duration::from_secs(secs));
    }
    let store = Store::open_read_only(log).expect("open the log");
    let mut fleet = Fleet::connect(&url, Some(server.password())).expect("connect");

    println!();
    println!("| query | SQLite log | fleet (PostgreSQL) | rows |");
    println!("|---|---|---|---|");
    let failed_csr =
        RunFilter { outcome: Some("FAIL".into()), failing_step: Some("csr".into()), ..RunFilter::default() };
    let first = Some(Page { limit: 50, offset: 0 });
    compare_runs("filtered page: FAIL at `csr`, first 50", &store, &mut fleet, &failed_csr, first);
    let deep = Some(Page { limit: 50, offset: n / 2 });
    compare_runs(
        &format!("page of 50 at offset {}, no filter", n / 2),
        &store,
        &mut fleet,
        &RunFilter::default(),
        deep,
    );
    let uid = RunFilter { uid: Some(format!("HM{:08}", n / 3 / 2)), ..RunFilter::default() };
    compare_runs("one device's history (by UID)", &store, &mut fleet, &uid, None);
    let week = RunFilter {
        operator: Some("op-3".into()),
        from: Some("2026-02-01".into()),
        to: Some("2026-02-08".into()),
        ..RunFilter::default()
    };
    compare_runs("operator + one week, all rows", &store, &mut fleet, &week, None);

    let (local, local_ms) = timed(|| store.statistics(&RunFilter::default()).expect("statistics"));
    let (remote, remote_ms) = timed(|| fleet.statistics(&RunFilter::default()).expect("fleet statistics"));
    same(
        "statistics",
        serde_json::to_value(&local).expect("json"),
        serde_json::to_value(&remote.statistics).expect("json"),
    );
    row(
        "statistics: yield, first-pass yield, Pareto, per hour (fleet: + per station)",
        local_ms,
        remote_ms,
        local.runs,
    );

    let ((local_rows, local_digest), local_ms) = timed(|| {
        csv_export(|line| {
            let mut rows = 0;
            store
                .for_each_run(&RunFilter::default(), None, |r| {
                    rows += 1;
                    line(r)
                })
                .expect("export");
            rows
        })
    });
    let ((fleet_rows, fleet_digest), remote_ms) =
        timed(|| csv_export(|line| fleet.for_each_run(&RunFilter::default(), None, line).expect("fleet export")));
    same("full export", serde_json::json!([local_rows, local_digest]), serde_json::json!([fleet_rows, fleet_digest]));
    row("full CSV export (streamed)", local_ms, remote_ms, local_rows);
    println!();
    println!("Both sides gave the same answers.");
}

/// Writes every run `runs` gives to the line callback as CSV (into a sink): the rows,
/// and a digest of the lines to compare the two sides by.
fn csv_export(runs: impl FnOnce(&mut dyn FnMut(RunRecord)) -> u64) -> (u64, u64) {
    let mut out = std::io::BufWriter::new(std::io::sink());
    let mut digest = std::collections::hash_map::DefaultHasher::new();
    let rows = runs(&mut |r: RunRecord| {
        let line = r.to_csv();
        line.hash(&mut digest);
        let _ = writeln!(out, "{line}");
    });
    (rows, digest.finish())
}

/// Times one listing on both sides and checks they agree.
fn compare_runs(label: &str, store: &Store, fleet: &mut Fleet, filter: &RunFilter, page: Option<Page>) {
    let (local, local_ms) = timed(|| {
        let mut out = Vec::new();
        store.for_each_run(filter, page, |r| out.push(r)).expect("query");
        out
    });
    let (remote, remote_ms) = timed(|| {
        let mut out = Vec::new();
        fleet.for_each_run(filter, page, |r| out.push(r)).expect("fleet query");
        out
    });
    same(label, serde_json::to_value(&local).expect("json"), serde_json::to_value(&remote).expect("json"));
    row(label, local_ms, remote_ms, local.len() as u64);
}

fn same(label: &str, local: serde_json::Value, fleet: serde_json::Value) {
    assert!(local == fleet, "{label}: the fleet's answer differs from the log's");
}

/// The second of two runs (the first warms the caches: the log and the database were
/// just written, and together they do not fit in memory).
fn timed<T>(mut f: impl FnMut() -> T) -> (T, f64) {
    drop(f());
    let t = Instant::now();
    let v = f();
    (v, t.elapsed().as_secs_f64() * 1000.0)
}

fn row(label: &str, local_ms: f64, fleet_ms: f64, rows: u64) {
    let fmt = |ms: f64| if ms >= 1000.0 { format!("{:.1} s", ms / 1000.0) } else { format!("{ms:.1} ms") };
    println!("| {label} | {} | {} | {rows} |", fmt(local_ms), fmt(fleet_ms));
}

/// Runs in an existing log, if it is one.
fn runs_in(path: &Path) -> Option<u64> {
    let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    conn.query_row("SELECT COUNT(*) FROM runs", [], |r| r.get::<_, i64>(0)).ok().map(|n| n as u64)
}

/// Writes `n` runs into a fresh log in one transaction, with the station's schema and
/// hash chain (durability off: a generator, not a station).
fn generate_sqlite(path: &Path, n: u64) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    drop(Store::open(path).expect("create the log"));
    let mut conn = rusqlite::Connection::open(path).expect("open");
    conn.execute_batch("PRAGMA synchronous = OFF; PRAGMA journal_mode = WAL;").expect("pragmas");
    let tx = conn.transaction().expect("tx");
    let mut prev = GENESIS.to_string();
    {
        let mut run_stmt = tx
            .prepare(
                "INSERT INTO runs (id, run_uuid, started_at, station, port, operator, tool_version, pid, boot_id, slot, config_hash)
                 VALUES (?1, ?2, ?3, ?4, '/dev/ttyUSB0', ?5, 'bench', 1, 'bench', ?6, 'cfg')",
            )
            .expect("prepare");
        let mut ev_stmt = tx
            .prepare(
                "INSERT INTO events (run_id, at, step, phase, outcome, duration_us, detail, prev_hash, hash)
                 VALUES (?1, ?2, ?3, 'end', ?4, 500, ?5, ?6, ?7)",
            )
            .expect("prepare");
        let mut res_stmt = tx
            .prepare(
                "INSERT INTO run_results (run_id, ended_at, outcome, uid, hardware_id, model, firmware_version, failing_step,
                                          failure_code, failure_message, duration_us)
                 VALUES (?1, ?2, ?3, ?4, ?4, 'HM-SIM-1', '1.0.0', ?5, ?6, ?7, 6000)",
            )
            .expect("prepare");
        for id in 1..=n {
            let r = Run::new(id);
            let uuid = format!("{id:032x}");
            run_stmt.execute(params![id as i64, uuid, r.at, r.station, r.operator, r.slot]).expect("run");
            let mut event = |step: &str, outcome: &str, detail: String| {
                let hash = event_hash(&HashInput {
                    prev_hash: &prev,
                    run_uuid: &uuid,
                    at: &r.at,
                    step,
                    phase: "end",
                    outcome: Some(outcome),
                    duration_us: Some(500),
                    detail: &detail,
                });
                ev_stmt.execute(params![id as i64, r.at, step, outcome, detail, prev, hash]).expect("event");
                prev = hash;
            };
            let last = r.fail_at.unwrap_or(STEPS.len() - 1);
            for (i, step) in STEPS.iter().enumerate().take(last + 1) {
                let detail = if i == 1 {
                    format!("{{\"uid\":\"{}\",\"hardware_id\":\"{}\"}}", r.uid, r.uid)
                } else {
                    "{}".to_string()
                };
                event(step, if r.fail_at == Some(i) { "FAIL" } else { "PASS" }, detail);
            }
            let outcome = if r.fail_at.is_some() { "FAIL" } else { "PASS" };
            event("run", outcome, format!("{{\"outcome\":\"{outcome}\",\"uid\":\"{}\"}}", r.uid));
            let step = r.fail_at.map(|i| STEPS[i]);
            let code = step.map(|_| "LINK_LOST");
            res_stmt
                .execute(params![id as i64, r.at, outcome, r.uid, step, code, code.map(|_| "lost")])
                .expect("result");
        }
    }
    tx.commit().expect("commit");
}
