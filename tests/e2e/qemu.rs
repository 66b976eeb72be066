//! The reference agent as Cortex-M4 firmware on QEMU's `mps2-an386`
//! (`firmware/qemu-mps2`, built by `scripts/test.sh`): the station provisions the
//! emulated board over its emulated UART like any board on a serial port.
//!
//! Without QEMU or the image the test says so and skips, unless
//! `HALLMARK_REQUIRE_QEMU=1` (CI), when that is a failure.

use crate::support::*;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn image() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../firmware/qemu-mps2/target/thumbv7em-none-eabihf/release/hallmark-fw-qemu-mps2")
}

/// The image and QEMU, or why the test cannot run.
fn ready() -> Result<PathBuf, String> {
    let image = image();
    if !image.exists() {
        return Err(format!("no firmware image at {} (cargo build --release in firmware/qemu-mps2)", image.display()));
    }
    match Command::new("qemu-system-arm").arg("--version").output() {
        Ok(out) if out.status.success() => Ok(image),
        _ => Err("qemu-system-arm is not installed (scripts/setup.sh --dev installs it)".into()),
    }
}

/// The image, or `None` after saying why the test skips (a failure under
/// `HALLMARK_REQUIRE_QEMU`).
fn image_or_skip() -> Option<PathBuf> {
    match ready() {
        Ok(image) => Some(image),
        Err(why) => {
            assert!(std::env::var_os("HALLMARK_REQUIRE_QEMU").is_none(), "HALLMARK_REQUIRE_QEMU is set but {why}");
            eprintln!("SKIPPED (QEMU firmware): {why}");
            None
        }
    }
}

/// A booted emulated board; QEMU is killed on drop.
struct Emulated {
    qemu: Child,
    port: String,
}

impl Emulated {
    /// Boots the image; its storage (semihosting files) lives in `flash`.
    fn boot(image: &Path, flash: &Path) -> Emulated {
        let mut qemu = Command::new("qemu-system-arm")
            .current_dir(flash)
            .args(["-machine", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "pty"])
            .args(["-semihosting-config", "enable=on,target=native", "-kernel"])
            .arg(image)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start qemu-system-arm");
        let out = qemu.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                // "char device redirected to /dev/pts/N (label serial0)"
                if let Some(at) = line.find("/dev/pts/") {
                    let port: String = line[at..].split_whitespace().next().unwrap_or_default().to_string();
                    tx.send(port).ok();
                }
            }
        });
        let port = rx.recv_timeout(Duration::from_secs(20)).expect("QEMU names its serial pty within 20 s");
        Emulated { qemu, port }
    }
}

impl Drop for Emulated {
    fn drop(&mut self) {
        self.qemu.kill().ok();
        self.qemu.wait().ok();
    }
}

#[test]
fn the_firmware_on_an_emulated_cortex_m4_is_provisioned_end_to_end() {
    let Some(image) = image_or_skip() else { return };
    let station = Station::new();
    let flash = tempfile::tempdir().unwrap();
    let board = Emulated::boot(&image, flash.path());
    let (code, r) = station.provision(&board.port, &[]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["outcome"], "PASS");
    assert_eq!(r["model"], "HM-QEMU-MPS2", "the firmware answered, not a simulator");
    let tmp = tempfile::tempdir().unwrap();
    openssl_verifies(&r, tmp.path());
    assert_eq!(station.step_detail("selftest")["mode"], "possession", "the image signs a station nonce");
    assert_eq!(scan_pdf(Path::new(r["label_pdf"].as_str().unwrap())), r["uid"].as_str().unwrap());
    // The same board again: it holds its identity, and the default policy refuses it.
    let (code, again) = station.provision(&board.port, &[]);
    assert_eq!(code, 1, "{again}");
    assert_eq!(again["failure"]["code"], "ALREADY_PROVISIONED", "{again}");
    // And after a power cycle too: the emulated flash kept the chip id and identity.
    drop(board);
    let board = Emulated::boot(&image, flash.path());
    let (_, rebooted) = station.provision(&board.port, &[]);
    assert_eq!(rebooted["failure"]["code"], "ALREADY_PROVISIONED", "{rebooted}");
    assert_eq!(rebooted["uid"], r["uid"]);
}

#[test]
fn firmware_killed_mid_install_resumes_without_a_second_certificate() {
    let Some(image) = image_or_skip() else { return };
    let station = Station::new();
    let flash = tempfile::tempdir().unwrap();
    let board = Emulated::boot(&image, flash.path());
    let mut run = station.spawn_provision(&board.port, &["--response-timeout-ms", "1500"], Stdio::null());
    // Power is cut once the certificate is signed (recorded before it leaves the
    // station): during the install, or at the latest just after it.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while station.db_if_exists().is_none_or(|db| certificates(&db) == 0) {
        assert!(std::time::Instant::now() < deadline, "no certificate signed within 60 s");
        std::thread::sleep(Duration::from_millis(2));
    }
    drop(board);
    assert!(!run.wait().unwrap().success(), "the run cannot pass without its board");
    // Power back on: the same chip, with the key it made and whatever it committed.
    let board = Emulated::boot(&image, flash.path());
    let (code, r) = station.provision(&board.port, &[]);
    assert_eq!(code, 0, "{r}");
    assert!(["resume-install", "reverify"].contains(&r["plan"].as_str().unwrap()), "{r}");
    eprintln!("after the power cut: plan {}", r["plan"]);
    assert_eq!(station.certificates_issued(), 1, "the certificate signed before the cut is the one installed");
    let tmp = tempfile::tempdir().unwrap();
    openssl_verifies(&r, tmp.path());
}

#[test]
fn the_firmware_passes_the_conformance_kit() {
    let Some(image) = image_or_skip() else { return };
    let flash = tempfile::tempdir().unwrap();
    let board = Emulated::boot(&image, flash.path());
    let out = hallmark()
        .args(["conformance", "--port", &board.port, "--json", "--answer-ms", "5000"])
        .output()
        .expect("run hallmark conformance");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(out.status.code(), Some(0), "{report}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(report["model"], "HM-QEMU-MPS2", "the firmware answered, not a simulator");
    let skipped: Vec<&str> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verdict"] != "PASS")
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    // The image has no TLS stack: T1 and T2 check that it refuses those requests. It
    // reads back by digest (D1, D2 pass) but has no room for link tuning's buffers.
    assert_eq!(skipped, ["L1", "L2", "L3"], "{report}");
}

fn certificates(db: &rusqlite::Connection) -> i64 {
    db.query_row("SELECT COUNT(*) FROM certificates", [], |row| row.get(0)).unwrap_or(0)
}
