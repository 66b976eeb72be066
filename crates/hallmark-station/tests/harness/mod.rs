//! The in-process bench: the station core and the simulated board (the reference
//! agent with software keys and the simulator's faults) over an in-memory duplex link,
//! under paused tokio time, so a deadline of seconds costs nothing and a run takes
//! milliseconds. Everything else is real: the CA, the SQLite log, the label renderer.
//! The end-to-end tests keep what needs outside tools (openssl, zbarimg, mosquitto,
//! CUPS, the window).

#![allow(dead_code)] // each test binary uses its own part of the bench

use hallmark_config::LoadedConfig;
use hallmark_protocol::FrameDecoder;
use hallmark_sim::{Board, BoardState, Fault};
use hallmark_station::assemble::{check, Overrides};
use hallmark_station::datadir::DataDir;
use hallmark_station::pipeline::{LinkTarget, RunRequest, Silent, Station};
use hallmark_station::report::RunReport;
use hallmark_station::startup::{ConfigChoice, GivenSecrets, OpenOptions};
use hallmark_station::transport::PortName;
use hallmark_station::Failure;
use hallmark_store::Store;
use std::future::Future;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

/// A station on a fresh data directory, started the way the front ends start it.
pub struct Bench {
    /// The station (its configuration can be changed between runs).
    pub station: Station,
    /// The data directory (kept for the bench's life).
    pub dir: tempfile::TempDir,
}

impl Bench {
    /// A station with the embedded default configuration and a new CA.
    pub fn new() -> Bench {
        let dir = tempfile::tempdir().expect("temporary directory");
        let options = OpenOptions {
            data_dir: DataDir::at(dir.path()),
            config: ConfigChoice::Resolve(None),
            overrides: Overrides::default(),
            probes: std::sync::Arc::new(hallmark_station::probe::SystemProbes),
        };
        let secrets = GivenSecrets { passphrase: Some("in-process bench passphrase".into()), token_pin: None };
        let (station, _) = Station::open(options, &secrets).expect("the bench station starts");
        Bench { station, dir }
    }

    /// Puts the embedded default configuration, changed by `edit`, in force (through
    /// the station's own checks, as the engineer screen does).
    pub fn configure(&mut self, edit: impl FnOnce(String) -> String) {
        let text = edit(hallmark_config::EXAMPLE.to_string());
        let config = LoadedConfig::parse(&text, "bench").expect("bench configuration parses");
        let template = self.station.label_template.clone();
        let checked = check(&config, &template, &Overrides::default()).expect("bench configuration checks");
        self.station.reconfigure(config, template, checked);
    }

    /// A connection to the bench's log.
    pub fn store(&self) -> Store {
        Store::open(&self.station.data_dir.log_path()).expect("log opens")
    }

    /// Runs `board` once over an in-memory link.
    pub async fn run(&self, store: &Store, board: &mut Board, scanned_uid: Option<&str>) -> Result<RunReport, Failure> {
        self.run_until(store, board, scanned_uid, std::future::pending()).await
    }

    /// Runs `board` once; the run is cancelled when `cancel` completes.
    pub async fn run_until(
        &self,
        store: &Store,
        board: &mut Board,
        scanned_uid: Option<&str>,
        cancel: impl Future<Output = ()>,
    ) -> Result<RunReport, Failure> {
        let (station_end, board_end) = tokio::io::duplex(1 << 16);
        let request = request(LinkTarget::Serial(PortName::parse("/dev/bench").expect("port name")), scanned_uid);
        let run = self.station.provision_link(store, &request, station_end, &Silent, cancel);
        let (report, ()) = tokio::join!(run, serve(board, board_end));
        report
    }
}

impl Bench {
    /// Runs whatever is at `target` through the station's own transports (a serial
    /// port or a debug probe), as `hallmark provision` does.
    pub async fn run_at(&self, store: &Store, target: LinkTarget) -> Result<RunReport, Failure> {
        let request = request(target, None);
        self.station.provision_serial(store, &request, &Silent, std::future::pending()).await
    }
}

/// A run request for `port` in slot `H`.
pub fn request(port: LinkTarget, scanned_uid: Option<&str>) -> RunRequest {
    RunRequest {
        port,
        slot: Some("H".into()),
        operator: Some("bench".into()),
        scanned_uid: scanned_uid.map(Into::into),
    }
}

/// A factory-fresh simulated board with `faults` (names as `hallmark sim --fault`).
pub fn board(faults: &[&str]) -> Board {
    board_from(BoardState::fresh(), None, faults)
}

/// A simulated board from a state, saved to `path` if given.
pub fn board_from(state: BoardState, path: Option<std::path::PathBuf>, faults: &[&str]) -> Board {
    let faults: Vec<Fault> = faults.iter().map(|f| f.parse().expect("fault name")).collect();
    Board::new(state, path, faults).expect("board")
}

/// Serves `board` on its end of the link until the station closes it, or a
/// `drop-after` fault unplugs the board (the link closes when the station next sends).
pub async fn serve(board: &mut Board, link: DuplexStream) {
    let (mut rd, mut wr) = tokio::io::split(link);
    let mut decoder = FrameDecoder::with_limit(board.receive_limit());
    let mut buf = [0u8; 1024];
    let mut unplugged = false;
    loop {
        let n = match rd.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if unplugged {
            return;
        }
        for &byte in &buf[..n] {
            // A bad frame is dropped silently, as a device does; the station retransmits.
            let Some(Ok(frame)) = decoder.push(byte) else { continue };
            let answer = board.respond(&frame);
            tokio::time::sleep(answer.delay).await;
            if wr.write_all(&answer.wire).await.is_err() {
                return;
            }
            unplugged |= answer.dropped.is_some();
        }
    }
}

/// A current-thread runtime with paused time.
pub fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().expect("runtime")
}
