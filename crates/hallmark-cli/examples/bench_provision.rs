//! Benchmark: provision N fresh simulated boards over real pseudo-terminals and
//! print per-step timings (median, p95, max) in milliseconds.
//!
//! `cargo run --release -p hallmark-cli --example bench_provision -- 50 [possession|broker]
//!  [--baud B] [--turnaround-ms T] [--legacy] [--carry-chain] [--slots S]`
//!
//! `broker` starts mosquitto (apt) on 127.0.0.1 with the files `ca broker-config`
//! writes and runs the broker self-test against it.
//!
//! Line speed (issue #19): `--baud`/`--turnaround-ms` pace each board's line as
//! `hallmark sim` does (a USB-UART's latency timer); `--legacy` boards lack the
//! line-speed capabilities (the "before"); `--carry-chain` boards carry the station's
//! chain and trust anchor; `--slots S` runs S boards at a time, each slot with its own
//! log connection, and prints the wall time of each round of S boards. With pacing it
//! prints the bytes, turnarounds, the floor (bytes x 10 / baud + turnarounds x T) and
//! the measured/floor ratio.
//!
//! Figures go to docs/performance.md; this is a measurement, never a test.

use hallmark_ca::{CaStore, LeafProfile, Passphrase};
use hallmark_config::LoadedConfig;
use hallmark_label::Template;
use hallmark_sim::{Board, BoardState, Paced, Pty};
use hallmark_station::client::Timeouts;
use hallmark_station::datadir::DataDir;
use hallmark_station::pipeline::{RunRequest, Silent, Station};
use hallmark_station::transport::PortName;
use hallmark_store::Store;
use std::collections::BTreeMap;
use std::time::Instant;

/// A `--name VALUE` argument.
fn flag<T: std::str::FromStr>(name: &str) -> Option<T> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok())
}

fn main() {
    let runs: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(30);
    // `possession`: boards without a TLS stack (self-test by nonce signature).
    let possession = std::env::args().any(|a| a == "possession");
    let broker = std::env::args().any(|a| a == "broker");
    let legacy = std::env::args().any(|a| a == "--legacy");
    let carry = std::env::args().any(|a| a == "--carry-chain");
    let baud: u32 = flag("--baud").unwrap_or(0);
    let turnaround_ms: u64 = flag("--turnaround-ms").unwrap_or(0);
    let slots: usize = flag("--slots").unwrap_or(1).max(1);
    let paced = baud > 0 || turnaround_ms > 0;
    let mut faults = if possession { vec![hallmark_sim::Fault::NoTls] } else { Vec::new() };
    if legacy {
        faults.push(hallmark_sim::Fault::Legacy);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = DataDir::at(dir.path());
    let passphrase = Passphrase::for_new_ca(format!("bench-{}", std::process::id()).repeat(2)).expect("passphrase");
    let t = Instant::now();
    let ca = CaStore::new(data_dir.ca_dir()).create(&passphrase, time::OffsetDateTime::now_utc()).expect("CA");
    let ca_create_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    CaStore::new(data_dir.ca_dir())
        .unlock(&Passphrase::for_unlock(format!("bench-{}", std::process::id()).repeat(2)))
        .expect("unlock");
    let ca_unlock_ms = t.elapsed().as_secs_f64() * 1000.0;
    let broker_port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("port").port();
    let config = if broker {
        let text = hallmark_config::EXAMPLE.replacen(
            "[selftest]\nmode = \"auto\"",
            &format!(
                "[selftest]\nmode = \"broker\"\n[selftest.broker]\naddress = \"127.0.0.1:{broker_port}\"\n\
                 server_name = \"localhost\""
            ),
            1,
        );
        LoadedConfig::parse(&text, "bench").expect("broker configuration")
    } else {
        LoadedConfig::embedded_default()
    };
    let station = Station {
        ca,
        label_template: Template::embedded_default(),
        leaf_profile: LeafProfile::default(),
        data_dir,
        station_id: config.config.station.id.clone(),
        timeouts: Timeouts::default(),
        config,
        probes: std::sync::Arc::new(hallmark_station::probe::SystemProbes),
        clock: std::sync::Arc::new(hallmark_station::clock::SystemClock),
        fleet: None,
    };
    let store = Store::open(&station.data_dir.log_path()).expect("log");
    let _mosquitto = broker.then(|| Mosquitto::start(&station, &store, dir.path(), broker_port));
    let carried = carry.then(|| (station.ca.chain_der(), station.ca.root_der().to_vec()));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let stores: Vec<Store> = (0..slots).map(|_| Store::open(&station.data_dir.log_path()).expect("log")).collect();
    let mut per_step: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut links = Vec::new();
    let mut rounds_ms = Vec::new();
    for _ in 0..runs.div_ceil(slots) {
        let boards: Vec<PortName> = (0..slots)
            .map(|_| {
                let mut board = Board::new(BoardState::fresh(), None, faults.clone()).expect("board");
                if let Some((chain, anchor)) = carried.clone() {
                    board = board.carry(chain, anchor);
                }
                let pty = Pty::open().expect("pty");
                let port = PortName::parse(&pty.path.display().to_string()).expect("port");
                std::thread::spawn(move || {
                    // The whole pty, its slave end included, lives as long as the board.
                    let mut pty = pty;
                    if paced {
                        let latency = std::time::Duration::from_millis(turnaround_ms);
                        board.serve(&mut Paced::new(&mut pty.master, baud, latency))
                    } else {
                        board.serve(&mut pty.master)
                    }
                });
                port
            })
            .collect();
        let started = Instant::now();
        let reports = rt.block_on(async {
            let runs = boards.into_iter().zip(&stores).map(|(port, store)| {
                let station = &station;
                async move { station.provision_serial(store, &request(port), &Silent, std::future::pending()).await }
            });
            futures_util::future::join_all(runs).await
        });
        rounds_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        for report in reports {
            let report = report.expect("run logged");
            assert!(report.failure.is_none(), "{:?}", report.failure);
            for s in &report.steps {
                if !order.contains(&s.name) {
                    order.push(s.name.clone());
                }
                per_step.entry(s.name.clone()).or_default().push(s.ms);
            }
            per_step.entry("whole run".into()).or_default().push(report.duration_ms);
            links.extend(report.link);
        }
    }
    order.push("whole run".into());
    println!(
        "{runs} runs, release build, simulated board on a pty, self-test {}{}{}{}",
        if possession {
            "possession"
        } else if broker {
            "broker (MQTT over mutual TLS, mosquitto on loopback)"
        } else {
            "link (mutual TLS)"
        },
        if legacy { ", legacy boards (no line-speed capabilities)" } else { "" },
        if carry { ", boards carry the chain" } else { "" },
        if paced { format!(", line {baud} baud, {turnaround_ms} ms latency") } else { String::new() },
    );
    println!("CA create (2 keys, scrypt): {ca_create_ms:.0} ms; CA unlock: {ca_unlock_ms:.0} ms");
    println!("{:<10} {:>9} {:>9} {:>9}", "step", "median", "p95", "max");
    for name in order {
        let mut v = per_step.remove(&name).unwrap_or_default();
        v.sort_by(|a, b| a.total_cmp(b));
        let pick = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        println!("{name:<10} {:>9.2} {:>9.2} {:>9.2}", pick(0.5), pick(0.95), v[v.len() - 1]);
    }
    if let Some(link) = links.first() {
        let bytes = link.bytes_to_device + link.bytes_from_device;
        println!(
            "link: {} bytes to the board, {} from it, {} turnarounds, {} requests, {} retransmissions in all runs",
            link.bytes_to_device,
            link.bytes_from_device,
            link.round_trips,
            link.requests,
            links.iter().map(|l| l.retransmissions).sum::<u32>()
        );
        if paced {
            let wire_ms = if baud > 0 { bytes as f64 * 10.0 / baud as f64 * 1000.0 } else { 0.0 };
            let floor = wire_ms + link.round_trips as f64 * turnaround_ms as f64;
            let whole = median(&rounds_ms);
            println!("floor {floor:.0} ms; median round / floor = {:.2}", whole / floor);
        }
    }
    if slots > 1 || paced {
        println!(
            "wall time of a round of {slots} board(s): median {:.0} ms, max {:.0} ms",
            median(&rounds_ms),
            rounds_ms.iter().cloned().fold(0.0, f64::max)
        );
    }
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn request(port: PortName) -> RunRequest {
    RunRequest { port: port.into(), slot: Some("bench".into()), operator: None, scanned_uid: None }
}

/// A mosquitto for the broker mode; killed on drop.
struct Mosquitto(std::process::Child);

impl Mosquitto {
    fn start(station: &Station, store: &Store, dir: &std::path::Path, port: u16) -> Mosquitto {
        use hallmark_station::broker_files::{write_mosquitto, MosquittoOptions};
        let crl = station.publish_crl(store).expect("CRL");
        let options = MosquittoOptions { hosts: Vec::new(), port, bind: Some("127.0.0.1".into()), days: 1 };
        let files = write_mosquitto(station, &crl.path, &dir.join("broker"), &options).expect("broker files");
        // Run as root, mosquitto would switch to its own user, which cannot read these files.
        let mut conf = std::fs::read_to_string(&files.conf).expect("conf");
        conf.push_str("user root\n");
        std::fs::write(&files.conf, conf).expect("conf");
        let child = std::process::Command::new("/usr/sbin/mosquitto")
            .arg("-c")
            .arg(&files.conf)
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("mosquitto (apt install mosquitto)");
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Mosquitto(child)
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}
