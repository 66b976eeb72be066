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

/// A booted emulated board; QEMU is killed on drop.
struct Emulated {
    qemu: Child,
    port: String,
}

impl Emulated {
    fn boot(image: &Path) -> Emulated {
        let mut qemu = Command::new("qemu-system-arm")
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
    let image = match ready() {
        Ok(image) => image,
        Err(why) => {
            assert!(std::env::var_os("HALLMARK_REQUIRE_QEMU").is_none(), "HALLMARK_REQUIRE_QEMU is set but {why}");
            eprintln!("SKIPPED (QEMU firmware): {why}");
            return;
        }
    };
    let board = Emulated::boot(&image);
    let station = Station::new();
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
}
