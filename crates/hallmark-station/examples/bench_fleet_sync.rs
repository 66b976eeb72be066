//! Benchmark: the fleet sync into a real PostgreSQL (started here, as the tests do).
//!
//! ```sh
//! cargo run --release -p hallmark-store --example bench_log -- 10000 /tmp/fleet-a.sqlite
//! cargo run --release -p hallmark-station --example bench_fleet_sync -- /tmp/fleet-a.sqlite [more logs...]
//! ```
//!
//! Each log given is one station (`bench-1`, `bench-2`, ...) with its whole history
//! waiting in the outbox (a station that joins a fleet, or comes back after a long
//! outage). All stations sync at once through `FleetSync::sync`, the code
//! `hallmark run` uses, each in its own thread with its own connection. Prints per
//! station and in total: records, runs, seconds, records and runs per second.
//! `BATCH=n` sets the batch size (default 500). A measurement, never a test; the logs
//! are copied first and left unchanged.

#[path = "../../hallmark-fleet/tests/support/mod.rs"]
mod pg;

use hallmark_config::FleetSection;
use hallmark_station::fleet_sync::FleetSync;
use hallmark_store::Store;
use std::time::Instant;

fn main() {
    let logs: Vec<String> = std::env::args().skip(1).collect();
    if logs.is_empty() {
        eprintln!("usage: bench_fleet_sync LOG.sqlite [LOG.sqlite ...] (make one with bench_log)");
        std::process::exit(2);
    }
    let batch: usize = std::env::var("BATCH").ok().and_then(|b| b.parse().ok()).unwrap_or(500);
    let Some(server) = pg::TestPostgres::start("bench_fleet_sync") else { std::process::exit(2) };
    server.create_database("bench");
    let url = server.url(pg::SUPERUSER, "bench");
    hallmark_fleet::Fleet::connect(&url, Some(server.password())).and_then(|mut f| f.init()).expect("fleet init");
    let work = tempfile::tempdir().expect("temp dir");
    let stores: Vec<(String, Store, i64)> = logs
        .iter()
        .enumerate()
        .map(|(i, log)| {
            let copy = work.path().join(format!("station-{i}.sqlite"));
            std::fs::copy(log, &copy).expect("copy the log");
            let store = Store::open(&copy).expect("open the copy");
            let t = Instant::now();
            store.enable_outbox().expect("enable the outbox");
            let runs = store.runs().map(|r| r.len() as i64).unwrap_or(0);
            println!(
                "bench-{}: {} runs, {} records listed in the outbox in {:.2} s",
                i + 1,
                runs,
                store.outbox_state().expect("outbox").last_seq,
                t.elapsed().as_secs_f64()
            );
            (format!("bench-{}", i + 1), store, runs)
        })
        .collect();
    std::env::set_var("HALLMARK_FLEET_PASSWORD", server.password());
    let started = Instant::now();
    let results: Vec<(String, u64, i64, f64)> = std::thread::scope(|s| {
        let handles: Vec<_> = stores
            .into_iter()
            .map(|(station, store, runs)| {
                let mut settings = FleetSection::new(&url);
                settings.batch = batch;
                s.spawn(move || {
                    let t = Instant::now();
                    let report = FleetSync::new(settings, &station).sync(&store).expect("sync");
                    assert_eq!(report.waiting, 0);
                    (station, report.sent, runs, t.elapsed().as_secs_f64())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("sync thread")).collect()
    });
    let wall = started.elapsed().as_secs_f64();
    for (station, sent, runs, secs) in &results {
        println!(
            "{station}: {sent} records ({runs} runs) in {secs:.2} s = {:.0} records/s, {:.0} runs/s",
            *sent as f64 / secs,
            *runs as f64 / secs
        );
    }
    let sent: u64 = results.iter().map(|r| r.1).sum();
    let runs: i64 = results.iter().map(|r| r.2).sum();
    println!(
        "all {} stations: {sent} records ({runs} runs) in {wall:.2} s = {:.0} records/s, {:.0} runs/s (batch {batch})",
        results.len(),
        sent as f64 / wall,
        runs as f64 / wall
    );
}
