//! A fixture's line in the simulator (issue #19): `hallmark sim --baud B
//! --turnaround-ms T` makes every byte cost its time on a UART and every answer wait
//! out a USB-UART's latency, so a run costs at least what its bytes and turnarounds
//! cost; the run report says how many of each crossed.

use crate::support::*;

/// The floor of a run on `baud` with `turnaround_ms`: its bytes at 10 bits each,
/// plus one latency per turnaround.
fn floor_ms(link: &serde_json::Value, baud: f64, turnaround_ms: f64) -> f64 {
    let bytes = link["bytes_to_device"].as_f64().unwrap() + link["bytes_from_device"].as_f64().unwrap();
    bytes * 10.0 / baud * 1000.0 + link["round_trips"].as_f64().unwrap() * turnaround_ms
}

#[test]
fn a_paced_simulator_costs_what_the_bytes_and_turnarounds_cost() {
    let station = Station::new();
    let fast = Sim::start(&station.board_state("fast"), &[]);
    let (code, unpaced) = station.provision(&fast.port, &[]);
    assert_eq!(code, 0, "{unpaced}");

    let slow = Sim::start_args(&station.board_state("slow"), &["--baud", "115200", "--turnaround-ms", "16"]);
    let (code, paced) = station.provision(&slow.port, &[]);
    assert_eq!(code, 0, "{paced}");
    let link = &paced["link"];
    assert_eq!(link["round_trips"], unpaced["link"]["round_trips"], "pacing changes the time, not the exchange");
    let floor = floor_ms(link, 115_200.0, 16.0);
    let took = paced["duration_ms"].as_f64().unwrap();
    assert!(took >= floor, "the paced run took {took:.0} ms, less than its floor of {floor:.0} ms: {link}");
    assert!(unpaced["duration_ms"].as_f64().unwrap() < floor / 3.0, "{unpaced}");
}

/// The station's chain and trust anchor as one PEM file, issuing CA first: what a
/// firmware team builds into the boards of a batch.
fn chain_pem(station: &Station) -> std::path::PathBuf {
    let ca = station.data_dir().join("ca");
    let mut pem = std::fs::read_to_string(ca.join("issuing.crt.pem")).unwrap();
    pem.push_str(&std::fs::read_to_string(ca.join("root.crt.pem")).unwrap());
    let path = station.data_dir().join("carried-chain.pem");
    std::fs::write(&path, pem).unwrap();
    path
}

#[test]
fn a_fresh_run_needs_eight_turnarounds_and_reads_back_digests() {
    let station = Station::new();
    let sim = Sim::start(&station.board_state("fresh"), &[]);
    let (code, report) = station.provision(&sim.port, &[]);
    assert_eq!(code, 0, "{report}");
    let link = &report["link"];
    assert!(link["round_trips"].as_u64().unwrap() <= 8, "{link}");
    assert!(link["requests"].as_u64().unwrap() > link["round_trips"].as_u64().unwrap(), "bursts: {link}");
    let install = station.step_detail("install");
    assert_eq!((install["chain_sent"].as_bool(), install["trust_anchor_sent"].as_bool()), (Some(true), Some(true)));
    assert_eq!(install["burst_lost_answer"], false, "{install}");
    let readback = station.step_detail("readback");
    assert_eq!(readback["compared"], "digests", "{readback}");
    // The digests the board reported are those of what was issued.
    let cert = openssl_verifies(&report, station.data_dir());
    let der = std::process::Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(&cert)
        .output()
        .unwrap()
        .stdout;
    use sha2::Digest;
    assert_eq!(readback["certificate_sha256"], hex::encode(sha2::Sha256::digest(&der)));

    // A board carrying the batch's chain gets only its certificate.
    let carried = chain_pem(&station);
    let carrier = Sim::start_args(&station.board_state("carrier"), &["--carry-chain", carried.to_str().unwrap()]);
    let (code, carried_run) = station.provision(&carrier.port, &[]);
    assert_eq!(code, 0, "{carried_run}");
    let install = station.step_detail("install");
    assert_eq!((install["chain_sent"].as_bool(), install["trust_anchor_sent"].as_bool()), (Some(false), Some(false)));
    let sent = |r: &serde_json::Value| r["link"]["bytes_to_device"].as_u64().unwrap();
    let (chain_len, anchor_len) =
        (install["chain_len"].as_u64().unwrap(), install["trust_anchor_len"].as_u64().unwrap());
    assert!(
        sent(&carried_run) + chain_len + anchor_len <= sent(&report) + 64,
        "{} vs {}",
        sent(&carried_run),
        sent(&report)
    );
    // The board installed the carried objects: its state holds the whole chain.
    let state = carrier.state_json();
    assert!(state["chain"].as_str().is_some_and(|c| !c.is_empty()), "{state}");
}

#[test]
fn a_board_without_the_line_speed_capabilities_still_provisions() {
    let station = Station::new();
    let sim = Sim::start(&station.board_state("old"), &["legacy"]);
    let (code, report) = station.provision(&sim.port, &[]);
    assert_eq!(code, 0, "{report}");
    let link = &report["link"];
    assert_eq!(link["requests"], link["round_trips"], "one request at a time: {link}");
    assert!(link["round_trips"].as_u64().unwrap() > 8, "{link}");
    assert_eq!(station.step_detail("readback")["compared"], "bytes");
    assert_eq!(station.step_detail("install")["window"], 1);
    openssl_verifies(&report, station.data_dir());
}

#[test]
fn a_full_read_back_is_a_configuration_choice() {
    let station = Station::new();
    let config = station.config(&[("readback = \"digests\"", "readback = \"full\"")]);
    let sim = Sim::start(&station.board_state("audited"), &[]);
    let (code, report) = station.provision(&sim.port, &["--config", config.to_str().unwrap()]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(station.step_detail("readback")["compared"], "bytes");
    // And a board whose storage changed a byte fails either way.
    for readback in ["digests", "full"] {
        let config = station.config(&[("readback = \"digests\"", &format!("readback = \"{readback}\""))]);
        let sim = Sim::start(&station.board_state(&format!("flipped-{readback}")), &["readback-mismatch"]);
        let (code, report) = station.provision(&sim.port, &["--config", config.to_str().unwrap()]);
        assert_eq!((code, failed_step(&report)), (1, "readback".to_string()), "{readback}: {report}");
        assert_eq!(report["failure"]["code"], "READBACK_MISMATCH", "{report}");
    }
}

#[test]
fn a_lost_answer_in_a_burst_is_recovered_without_a_second_identity() {
    let station = Station::new();
    for (name, faults) in [("burst", vec!["lose-commit-answer"]), ("old", vec!["lose-commit-answer", "legacy"])] {
        let sim = Sim::start(&station.board_state(name), &faults);
        let (code, report) = station.provision(&sim.port, &[]);
        assert_eq!(code, 0, "{name}: {report}");
        let install = station.step_detail("install");
        if name == "burst" {
            // The burst lost the commit's answer: everything was staged and committed
            // again, one request at a time.
            assert_eq!(install["burst_lost_answer"], true, "{install}");
        } else {
            // An old board answers the retransmitted commit from its replay cache.
            assert_eq!(report["link"]["retransmissions"], 1, "{report}");
        }
        openssl_verifies(&report, station.data_dir());
        assert_eq!(station.valid_certificates(report["uid"].as_str().unwrap()), 1);
    }
}

#[test]
fn a_link_setting_out_of_range_is_refused_in_words() {
    let station = Station::new();
    let config = station.config(&[("window = 8", "window = 9")]);
    let sim = Sim::start(&station.board_state("any"), &[]);
    let out = station.provision_output(&sim.port, &["--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("link.window must be 1 to 8"), "{stderr}");
}

#[test]
fn a_board_that_takes_larger_frames_than_offered_is_stopped_before_signing() {
    let station = Station::new();
    let config = station.config(&[("max_frame = 8256", "max_frame = 2048")]);
    let sim = Sim::start(&station.board_state("greedy"), &["link-info-oversized"]);
    let (code, report) = station.provision(&sim.port, &["--config", config.to_str().unwrap()]);
    assert_eq!((code, failed_step(&report)), (1, "csr".to_string()), "{report}");
    assert_eq!(report["failure"]["code"], "PROTOCOL_VIOLATION", "{report}");
    assert!(report["failure"]["message"].as_str().unwrap().contains("8256-byte frames"), "{report}");
    assert_eq!(station.certificates_issued(), 0);
}
