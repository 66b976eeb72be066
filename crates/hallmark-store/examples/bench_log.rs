//! Benchmark: QA queries over a generated log of N runs (default 1,000,000).
//!
//! `cargo run --release -p hallmark-store --example bench_log -- 1000000 /tmp/big-log.sqlite`
//!
//! Generates realistic runs (85% pass, failures spread over steps, ~300 boards an
//! hour, 12 chained events per run) straight into a real log file, then times: a
//! filtered page, a deep page, one device's history, statistics, a full CSV export,
//! and hash-chain verification. A measurement, never a test.

use hallmark_store::{event_hash, HashInput, Page, RunFilter, Store, GENESIS};
use rusqlite::params;
use std::io::Write;
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

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let path = args.next().unwrap_or_else(|| "/tmp/hallmark-bench-log.sqlite".into());
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(format!("{path}-wal"));
    let t = Instant::now();
    generate(std::path::Path::new(&path), n);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!("generated {n} runs in {:.1} s, {:.0} MiB", t.elapsed().as_secs_f64(), size as f64 / 1048576.0);

    let store = Store::open_read_only(std::path::Path::new(&path)).expect("open");
    let time = |label: &str, f: &mut dyn FnMut() -> u64| {
        let t = Instant::now();
        let rows = f();
        println!("{label:<44} {:>9.1} ms  ({rows} rows)", t.elapsed().as_secs_f64() * 1000.0);
    };
    let failed_csr =
        RunFilter { outcome: Some("FAIL".into()), failing_step: Some("csr".into()), ..RunFilter::default() };
    time("filtered page (FAIL at csr, first 50)", &mut || {
        count(&store, &failed_csr, Some(Page { limit: 50, offset: 0 }))
    });
    let deep = Page { limit: 50, offset: n / 2 };
    time("page 50 rows at offset n/2, no filter", &mut || count(&store, &RunFilter::default(), Some(deep)));
    let uid = RunFilter { uid: Some(format!("HM{:08}", n / 3 / 2)), ..RunFilter::default() };
    time("per-device history (one UID)", &mut || count(&store, &uid, None));
    let operator = RunFilter {
        operator: Some("op-3".into()),
        from: Some("2026-02-01".into()),
        to: Some("2026-02-08".into()),
        ..RunFilter::default()
    };
    time("operator + one week, all rows", &mut || count(&store, &operator, None));
    time("statistics (yield, FPY, Pareto, per hour)", &mut || {
        let s = store.statistics(&RunFilter::default()).expect("stats");
        s.runs
    });
    time("full CSV export", &mut || {
        let mut out = std::io::BufWriter::new(std::io::sink());
        let mut rows = 0;
        store
            .for_each_run(&RunFilter::default(), None, |r| {
                rows += 1;
                let _ = writeln!(out, "{}", r.to_csv());
            })
            .expect("export");
        rows
    });
    time("log verify (hash chain)", &mut || store.verify_chain().expect("verify").events);
}

fn count(store: &Store, filter: &RunFilter, page: Option<Page>) -> u64 {
    let mut rows = 0;
    store.for_each_run(filter, page, |_| rows += 1).expect("query");
    rows
}

/// Writes `n` runs in one transaction with the same schema and hash chain as the
/// station (durability off: this is a generator, not a station).
fn generate(path: &std::path::Path, n: u64) {
    drop(Store::open(path).expect("create"));
    let mut conn = rusqlite::Connection::open(path).expect("open");
    conn.execute_batch("PRAGMA synchronous = OFF; PRAGMA journal_mode = WAL;").expect("pragmas");
    let tx = conn.transaction().expect("tx");
    let mut prev = GENESIS.to_string();
    let mut seed: u64 = 0x9E3779B97F4A7C15;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    {
        let mut run_stmt = tx
            .prepare("INSERT INTO runs (id, run_uuid, started_at, station, port, operator, tool_version, pid, boot_id, slot, config_hash) VALUES (?1, ?2, ?3, 'bench-1', '/dev/ttyUSB0', ?4, 'bench', 1, 'bench', ?5, 'cfg')")
            .expect("prepare");
        let mut ev_stmt = tx
            .prepare("INSERT INTO events (run_id, at, step, phase, outcome, duration_us, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
            .expect("prepare");
        let mut res_stmt = tx
            .prepare("INSERT INTO run_results (run_id, ended_at, outcome, uid, hardware_id, model, firmware_version, failing_step, failure_code, failure_message, duration_us) VALUES (?1, ?2, ?3, ?4, ?5, 'HM-SIM-1', '1.0.0', ?6, ?7, ?8, 6000)")
            .expect("prepare");
        for id in 1..=n {
            // ~300 boards an hour from 2026-01-01; one board in 7 needs a second run.
            let secs = id * 12;
            let at = format!(
                "2026-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
                1 + (secs / 86400 / 28) % 12,
                1 + (secs / 86400) % 28,
                (secs / 3600) % 24,
                (secs / 60) % 60,
                secs % 60
            );
            let device = if id % 7 == 0 { id / 2 - 1 } else { id / 2 };
            let uid = format!("HM{device:08}");
            let uuid = format!("{id:032x}");
            run_stmt
                .execute(params![
                    id as i64,
                    uuid,
                    at,
                    format!("op-{}", id % 8),
                    format!("{}", (b'A' + (id % 4) as u8) as char)
                ])
                .expect("run");
            let fail_at = if rnd() % 100 < 15 { Some((rnd() % STEPS.len() as u64) as usize) } else { None };
            let mut event = |step: &str, outcome: Option<&str>, detail: String| {
                let hash = event_hash(&HashInput {
                    prev_hash: &prev,
                    run_uuid: &uuid,
                    at: &at,
                    step,
                    phase: "end",
                    outcome,
                    duration_us: Some(500),
                    detail: &detail,
                });
                ev_stmt.execute(params![id as i64, at, step, "end", outcome, 500, detail, prev, hash]).expect("event");
                prev = hash;
            };
            for (i, step) in STEPS.iter().enumerate() {
                let failed = fail_at == Some(i);
                let detail = if *step == "identify" {
                    format!("{{\"uid\":\"{uid}\",\"hardware_id\":\"{uid}\"}}")
                } else {
                    "{}".into()
                };
                event(step, Some(if failed { "FAIL" } else { "PASS" }), detail);
                if failed {
                    break;
                }
            }
            let outcome = if fail_at.is_some() { "FAIL" } else { "PASS" };
            event("run", Some(outcome), format!("{{\"outcome\":\"{outcome}\",\"uid\":\"{uid}\"}}"));
            let step = fail_at.map(|i| STEPS[i]);
            let code = step.map(|_| "LINK_LOST");
            res_stmt
                .execute(params![id as i64, at, outcome, uid, uid, step, code, code.map(|_| "lost")])
                .expect("result");
        }
    }
    tx.commit().expect("commit");
}
