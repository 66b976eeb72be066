//! Starting simulated boards and stations for the tests.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const PASSPHRASE: &str = "e2e test passphrase, not a default";

/// A `hallmark` command with a clean environment for the station.
pub fn hallmark() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hallmark"));
    c.env_remove("HALLMARK_DATA_DIR").env("HALLMARK_CA_PASSPHRASE", PASSPHRASE).stdin(Stdio::null());
    c
}

/// A `hallmark sim` process; killed on drop.
pub struct Sim {
    child: Child,
    pub port: String,
    pub state: PathBuf,
}

impl Sim {
    pub fn start(state: &Path, faults: &[&str]) -> Sim {
        let faults: Vec<String> = faults.iter().flat_map(|f| ["--fault".to_string(), f.to_string()]).collect();
        Sim::start_args(state, &faults.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// A simulated nRF91 modem (`--dialect nrf91-at`) with `faults`.
    pub fn modem(state: &Path, faults: &[&str]) -> Sim {
        let mut args = vec!["--dialect", "nrf91-at"];
        args.extend(faults.iter().flat_map(|f| ["--fault", *f]));
        Sim::start_args(state, &args)
    }

    /// `hallmark sim --state <state> <args>`.
    pub fn start_args(state: &Path, args: &[&str]) -> Sim {
        let mut cmd = hallmark();
        cmd.arg("sim").arg("--state").arg(state).args(args);
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("spawn hallmark sim");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).ok();
            tx.send(line).ok();
        });
        let line = rx.recv_timeout(Duration::from_secs(20)).expect("sim prints its port within 20 s");
        let port = line.trim().to_string();
        assert!(port.starts_with("/dev/"), "first line must be the port path, got {port:?}");
        Sim { child, port, state: state.to_path_buf() }
    }

    /// The board's persistent state as the simulator saved it.
    pub fn state_json(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(&self.state).unwrap()).unwrap()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// A station data directory.
pub struct Station {
    pub dir: tempfile::TempDir,
    /// Extra environment for every station command (e.g. a PKCS#11 PIN).
    pub env: Vec<(String, String)>,
}

impl Station {
    pub fn new() -> Station {
        Station { dir: tempfile::tempdir().unwrap(), env: Vec::new() }
    }

    fn command(&self) -> Command {
        let mut c = hallmark();
        c.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn board_state(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.json"))
    }

    /// `hallmark provision --json` with fast deadlines; returns exit code and JSON.
    pub fn provision(&self, port: &str, extra: &[&str]) -> (i32, Value) {
        let out = self.provision_output(port, extra);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let json: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "provision printed no JSON ({e}); stdout {stdout:?}, stderr {:?}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), json)
    }

    pub fn provision_output(&self, port: &str, extra: &[&str]) -> Output {
        self.command()
            .args(["provision", "--json", "--station", "e2e-bench", "--port", port, "--data-dir"])
            .arg(self.data_dir())
            .args(extra)
            .output()
            .expect("run hallmark provision")
    }

    /// Starts `hallmark provision` on `port` without waiting for it (to interrupt it).
    pub fn spawn_provision(&self, port: &str, extra: &[&str], stdout: Stdio) -> Child {
        self.command()
            .args(["provision", "--port", port, "--data-dir"])
            .arg(self.data_dir())
            .args(extra)
            .stdout(stdout)
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn hallmark provision")
    }

    pub fn hallmark(&self, args: &[&str]) -> Output {
        self.command().args(args).arg("--data-dir").arg(self.data_dir()).output().unwrap()
    }

    pub fn export_jsonl(&self) -> Vec<Value> {
        let out = self.hallmark(&["log", "export", "--format", "jsonl"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    /// The log, once the station has created it.
    pub fn db_if_exists(&self) -> Option<rusqlite::Connection> {
        let path = self.data_dir().join("hallmark-log.sqlite");
        path.exists().then(|| rusqlite::Connection::open(path).ok()).flatten()
    }

    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.data_dir().join("hallmark-log.sqlite")).unwrap()
    }

    /// Writes a configuration: the shipped example with `(from, to)` replacements.
    pub fn config(&self, edits: &[(&str, &str)]) -> PathBuf {
        let mut text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/station.example.toml")).unwrap();
        for (from, to) in edits {
            assert!(text.contains(from), "example configuration has no {from:?}");
            text = text.replacen(from, to, 1);
        }
        let path = self.dir.path().join(format!("station-{}.toml", rand_suffix()));
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Certificates for `uid` that are not revoked.
    pub fn valid_certificates(&self, uid: &str) -> i64 {
        self.db()
            .query_row(
                "SELECT COUNT(*) FROM certificates c WHERE c.uid = ?1 AND c.serial NOT IN (SELECT serial FROM revocations)",
                [uid],
                |r| r.get(0),
            )
            .unwrap()
    }

    /// The logged detail of the latest `end` event of `step`.
    pub fn step_detail(&self, step: &str) -> Value {
        let detail: String = self
            .db()
            .query_row(
                "SELECT detail FROM events WHERE step = ?1 AND phase = 'end' ORDER BY id DESC LIMIT 1",
                [step],
                |r| r.get(0),
            )
            .unwrap();
        serde_json::from_str(&detail).unwrap()
    }

    pub fn certificates_issued(&self) -> i64 {
        self.db().query_row("SELECT COUNT(*) FROM certificates", [], |r| r.get(0)).unwrap()
    }
}

/// Runs a command and returns stdout, panicking with stderr on failure.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// openssl verifies the report's certificate as a TLS client certificate against the
/// chain the station shipped (issuing CA, then root); returns the certificate's file.
pub fn openssl_verifies(report: &Value, dir: &Path) -> PathBuf {
    let chain_pem = report["chain_pem"].as_str().unwrap();
    let blocks: Vec<&str> = chain_pem.split_inclusive("-----END CERTIFICATE-----\n").collect();
    assert_eq!(blocks.len(), 2, "chain = issuing CA then root");
    let (cert, issuing, root) = (dir.join("cert.pem"), dir.join("issuing.pem"), dir.join("root.pem"));
    std::fs::write(&cert, report["cert_pem"].as_str().unwrap()).unwrap();
    std::fs::write(&issuing, blocks[0]).unwrap();
    std::fs::write(&root, blocks[1]).unwrap();
    let verify = run_ok(
        Command::new("openssl")
            .args(["verify", "-x509_strict", "-purpose", "sslclient", "-CAfile"])
            .arg(&root)
            .arg("-untrusted")
            .arg(&issuing)
            .arg(&cert),
    );
    assert!(verify.trim().ends_with(": OK"), "{verify}");
    cert
}

pub fn step_names(report: &Value) -> Vec<String> {
    report["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_string()).collect()
}

pub fn failed_step(report: &Value) -> String {
    let steps = report["steps"].as_array().unwrap();
    let last = steps.last().expect("at least one step");
    assert_eq!(last["outcome"], "FAIL", "the last step of a failed run is the failing one: {report}");
    last["name"].as_str().unwrap().to_string()
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Feeding a string to a command's standard input.
pub trait StdinStr {
    fn stdin_str(&mut self, input: &str) -> &mut Self;
}

impl StdinStr for Command {
    fn stdin_str(&mut self, input: &str) -> &mut Self {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), input).unwrap();
        let (handle, _path) = file.keep().unwrap();
        self.stdin(handle)
    }
}

/// What zbar reads from a PDF rasterised at 300 dpi (one line per symbol).
pub fn scan_pdf(pdf: &Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("label");
    run_ok(Command::new("pdftoppm").args(["-r", "300", "-png", "-singlefile"]).arg(pdf).arg(&png));
    run_ok(Command::new("zbarimg").args(["--raw", "-q"]).arg(dir.path().join("label.png"))).trim_end().to_string()
}
