//! Provisioning over SWD/RTT, with the real station code above the probe: the
//! simulated probe (`--probe sim:STATE`) carries the protocol through in-memory RTT
//! rings with SEGGER's 16-byte down buffer, and serves the chip's unique id from the
//! registers its family keeps it in (chip-uids.toml).

use crate::support::*;
use serde_json::Value;
use std::path::Path;

fn provision_swd(station: &Station, state: &Path, chip: &str, extra: &[&str], faults: &str) -> (i32, Value) {
    let out = hallmark()
        .env("HALLMARK_SIM_PROBE_FAULTS", faults)
        .args(["provision", "--json", "--station", "e2e-bench", "--probe"])
        .arg(format!("sim:{}", state.display()))
        .args(["--chip", chip, "--data-dir"])
        .arg(station.data_dir())
        .args(extra)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), json)
}

#[test]
fn nrf52_board_is_provisioned_over_rtt_with_its_ficr_id_as_uid() {
    let station = Station::new();
    let state = station.board_state("nrf");
    let (code, r) = provision_swd(&station, &state, "nRF52840_xxAA", &[], "");
    assert_eq!(code, 0, "{r}");
    assert!(r["port"].as_str().unwrap().starts_with("probe:sim:"));
    let d = station.step_detail("connect");
    assert_eq!(d["chip"], "nRF52840_xxAA");
    assert_eq!(d["chip_uid"], r["hardware_id"], "the SWD-read id is the one the UID comes from");
    assert_eq!(r["uid"], r["hardware_id"]);
    assert_eq!(scan_pdf(Path::new(r["label_pdf"].as_str().unwrap())), r["uid"].as_str().unwrap());
    // The simulated flash holds the certificate that was issued.
    let board: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert!(board["certificate"].as_str().is_some_and(|c| !c.is_empty()));
}

#[test]
fn stm32_96_bit_id_needs_a_label_that_fits_it() {
    let station = Station::new();
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../label-templates");
    // GS1 (21) holds at most 20 characters: refused before any board is touched.
    let dm = templates.join("datamatrix-25x12.toml");
    let out = hallmark()
        .args(["provision", "--probe", "sim", "--chip", "STM32F401RETx", "--label-template", dm.to_str().unwrap()])
        .arg("--data-dir")
        .arg(station.data_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("24-character UID") && err.contains("(21) needs 1 to 20 characters"), "{err}");
    // The QR label prints it.
    let qr = templates.join("qr-logo-62x29.toml");
    let (code, r) = provision_swd(
        &station,
        &station.board_state("stm"),
        "STM32F401RETx",
        &["--label-template", qr.to_str().unwrap()],
        "",
    );
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["uid"].as_str().unwrap().len(), 24, "96-bit UID: {r}");
    assert_eq!(station.step_detail("connect")["chip_uid"], r["uid"]);
}

#[test]
fn firmware_reporting_another_id_than_the_silicon_is_refused_before_signing() {
    let station = Station::new();
    let (code, r) = provision_swd(&station, &station.board_state("b"), "nRF52832_xxAA", &[], "chip-uid-mismatch");
    assert_eq!(code, 1, "{r}");
    assert_eq!(failed_step(&r), "identify");
    assert_eq!(r["failure"]["code"], "UID_COLLISION");
    assert!(r["failure"]["message"].as_str().unwrap().contains("read over SWD"));
    assert_eq!(station.certificates_issued(), 0);
}

#[test]
fn chips_without_a_readable_id_use_the_firmware_id_and_say_why() {
    let station = Station::new();
    let (code, r) = provision_swd(&station, &station.board_state("rp"), "RP2040", &[], "");
    assert_eq!(code, 0, "{r}");
    let d = station.step_detail("connect");
    assert!(d["chip_uid"].is_null());
    assert!(d["chip_uid_note"].as_str().unwrap().contains("external flash"), "{d}");
}

#[test]
fn flashed_image_is_recorded_with_its_hash() {
    let station = Station::new();
    let image = station.data_dir().join("provisioning-fw.bin");
    std::fs::write(&image, vec![0xA5; 4096]).unwrap();
    let (code, r) = provision_swd(
        &station,
        &station.board_state("f"),
        "nRF52840_xxAA",
        &["--flash", image.to_str().unwrap(), "--bin-base", "0x0"],
        "",
    );
    assert_eq!(code, 0, "{r}");
    let flash = &station.step_detail("connect")["flash"];
    assert_eq!(flash["image"], "provisioning-fw.bin");
    assert_eq!(flash["size"], 4096);
    assert_eq!(flash["sha256"], sha256_hex(&image));
    assert_eq!(flash["verified"], true);
}

fn sha256_hex(file: &Path) -> String {
    let out = run_ok(std::process::Command::new("sha256sum").arg(file));
    out.split_whitespace().next().unwrap().to_string()
}

#[test]
fn unknown_chips_are_refused_with_suggestions() {
    let station = Station::new();
    let out = hallmark()
        .args(["provision", "--probe", "sim", "--chip", "nRF52999_xxAA", "--data-dir"])
        .arg(station.data_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown chip") && err.contains("did you mean nRF52"), "{err}");
    let config = station.config(&[(
        "[[slot]]\nname = \"A\"\nport = \"/dev/ttyUSB0\"",
        "[[slot]]\nname = \"A\"\nprobe = \"sim\"\nchip = \"STM32F999\"",
    )]);
    let out = station.hallmark(&["run", "--once", "--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("slot A: unknown chip"));
}

#[test]
fn a_probe_slot_runs_from_the_configuration() {
    let station = Station::new();
    let state = station.board_state("slot");
    let config = station.config(&[(
        "[[slot]]\nname = \"A\"\nport = \"/dev/ttyUSB0\"\nauto_start = false\n\n[[slot]]\nname = \"B\"\nport = \"/dev/ttyUSB1\"\nauto_start = false",
        &format!("[[slot]]\nname = \"SWD\"\nprobe = \"sim:{}\"\nchip = \"nRF5340_xxAA\"", state.display()),
    )]);
    let out = station.hallmark(&["run", "--once", "--json", "--config", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(r["slot"], "SWD");
    assert_eq!(r["outcome"], "PASS");
}

/// The whole flow on real hardware: `HALLMARK_HIL_PROBE` (selector) and
/// `HALLMARK_HIL_CHIP` (probe-rs name), optionally `HALLMARK_HIL_FLASH` (image).
/// See docs/hardware-testing.md.
#[test]
#[ignore = "needs a debug probe and board"]
fn hardware_in_the_loop() {
    let probe = std::env::var("HALLMARK_HIL_PROBE").expect("set HALLMARK_HIL_PROBE");
    let chip = std::env::var("HALLMARK_HIL_CHIP").expect("set HALLMARK_HIL_CHIP");
    let station = Station::new();
    let mut cmd = hallmark();
    cmd.args(["provision", "--json", "--probe", &probe, "--chip", &chip, "--data-dir"]).arg(station.data_dir());
    if let Ok(image) = std::env::var("HALLMARK_HIL_FLASH") {
        cmd.args(["--flash", &image]);
    }
    let out = cmd.output().unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["outcome"], "PASS", "{r}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(station.step_detail("connect")["chip_uid"], r["hardware_id"]);
}
