//! A fixture's line in the simulator (issue #19): `hallmark sim --baud B
//! --turnaround-ms T` makes every byte cost its time on a UART and every answer wait
//! out a USB-UART's latency, so a run costs at least what its bytes and turnarounds
//! cost; the run report says how many of each crossed.

use crate::support::*;

/// The floor of a run on `baud` with `turnaround_ms`: its bytes at 10 bits each,
/// plus one turnaround per request.
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
