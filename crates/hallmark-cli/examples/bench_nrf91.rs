//! Benchmark: provision N simulated nRF91 modems over real pseudo-terminals paced as
//! a UART (115200 baud by default: every byte in both directions takes 10 bit times)
//! and print the time per modem next to the bytes that had to cross the line and the
//! time those bytes alone need at that baud rate.
//!
//! `cargo run --release -p hallmark-cli --example bench_nrf91 -- 20 [BAUD]`
//!
//! Figures go to docs/performance.md; this is a measurement, never a test.

use hallmark_sim::modem::{Modem, ModemState};
use hallmark_sim::Pty;
use hallmark_station::assemble::Overrides;
use hallmark_station::datadir::DataDir;
use hallmark_station::pipeline::{LinkTarget, ModemTarget, RunRequest, Silent, Station};
use hallmark_station::startup::{ConfigChoice, GivenSecrets, OpenOptions};
use hallmark_station::transport::PortName;
use hallmark_store::Store;
use std::time::Instant;

fn main() {
    let runs: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    let baud: u32 = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(115_200);
    let dir = tempfile::tempdir().expect("temp dir");
    let options = OpenOptions {
        data_dir: DataDir::at(dir.path()),
        config: ConfigChoice::Resolve(None),
        overrides: Overrides::default(),
        probes: std::sync::Arc::new(hallmark_station::probe::SystemProbes),
    };
    let secrets = GivenSecrets { passphrase: Some(format!("bench-{}", std::process::id()).repeat(2)), token_pin: None };
    let (station, _) = Station::open(options, &secrets).expect("station");
    let store = Store::open(&station.data_dir.log_path()).expect("log");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let (mut total_ms, mut bytes, mut commands) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let pty = Pty::open().expect("pty");
        let port = PortName::parse(&pty.path.display().to_string()).expect("port");
        let mut modem = Modem::new(ModemState::fresh(), None, Vec::new());
        std::thread::spawn(move || {
            // The whole pty, its slave end included, lives as long as the modem.
            let mut pty = pty;
            let mut line = hallmark_sim::Paced::new(&mut pty.master, baud, std::time::Duration::ZERO);
            modem.serve(&mut line);
        });
        let target = ModemTarget::new(port, 42, hallmark_config::AtModeSetting::Plain, None).expect("target");
        let request = RunRequest {
            port: LinkTarget::Modem(target),
            slot: Some("bench".into()),
            operator: None,
            scanned_uid: None,
        };
        let started = Instant::now();
        let report =
            runtime.block_on(station.provision_serial(&store, &request, &Silent, std::future::pending())).expect("run");
        total_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(report.outcome.as_str(), "PASS", "{:?}", report.failure);
        let events = store.run_events(&report.run_id).expect("events");
        let finish = events.iter().find(|e| e.0 == "finish" && e.1 == "end").map(|e| e.4.clone()).unwrap_or_default();
        let at = &finish["at"];
        bytes.push(at["bytes_out"].as_u64().unwrap_or(0) + at["bytes_in"].as_u64().unwrap_or(0));
        commands.push(at["commands"].as_u64().unwrap_or(0));
    }
    total_ms.sort_by(f64::total_cmp);
    let median = total_ms[total_ms.len() / 2];
    let p95 = total_ms[(total_ms.len() * 95 / 100).min(total_ms.len() - 1)];
    let mean_bytes = bytes.iter().sum::<u64>() as f64 / bytes.len() as f64;
    let line_ms = mean_bytes * 10.0 / baud as f64 * 1000.0;
    println!("nRF91 modems over AT at {baud} baud (paced pseudo-terminal), {runs} runs");
    println!("  per modem: median {median:.0} ms, p95 {p95:.0} ms, max {:.0} ms", total_ms[total_ms.len() - 1]);
    println!("  line: {mean_bytes:.0} bytes in both directions, {} commands; those bytes alone take {line_ms:.0} ms at {baud} baud", commands[0]);
    println!("  (identify waits 200 ms for the line to settle, as Nordic's tools do)");
}
