//! Several boards on several slots at once: each slot's result is its own.

use crate::support::*;
use std::process::Stdio;

fn slots_config(station: &Station, slots: &[(&str, &str)]) -> std::path::PathBuf {
    let mut text = String::from("version = 1\n[station]\nid = \"gang-1\"\n[uid]\nscheme = \"hardware-id\"\n");
    for (name, port) in slots {
        text.push_str(&format!("[[slot]]\nname = \"{name}\"\nport = \"{port}\"\n"));
    }
    let path = station.data_dir().join("gang.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn parallel_slots_keep_their_results_apart_and_a_hanging_board_stalls_no_one() {
    let station = Station::new();
    let boards = [
        ("A", Sim::start(&station.board_state("a"), &[])),
        ("B", Sim::start(&station.board_state("b"), &["csr-wrong-key"])),
        ("C", Sim::start(&station.board_state("c"), &["silent"])),
        ("D", Sim::start(&station.board_state("d"), &[])),
    ];
    let config = slots_config(&station, &boards.iter().map(|(n, s)| (*n, s.port.as_str())).collect::<Vec<_>>());
    let out = hallmark()
        .args(["run", "--once", "--json", "--response-timeout-ms", "1500", "--attempts", "2", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(station.data_dir())
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "not every slot passed");
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4);
    // The silent board finishes last: the others did not wait for it.
    assert_eq!(lines[3]["slot"], "C");
    for (name, sim) in &boards {
        let r = lines.iter().find(|l| l["slot"] == *name).unwrap();
        assert_eq!(r["port"], sim.port.as_str(), "slot {name} ran on its own port");
        assert_eq!(r["station"], "gang-1");
        match *name {
            "A" | "D" => {
                assert_eq!(r["outcome"], "PASS", "{r}");
                assert_eq!(r["uid"], sim.state_json()["hardware_id"], "slot {name} got its own board's UID");
                let (_, pem) = x509_parser::pem::parse_x509_pem(r["cert_pem"].as_str().unwrap().as_bytes()).unwrap();
                let hex: String = pem.contents.iter().map(|b| format!("{b:02x}")).collect();
                assert_eq!(
                    sim.state_json()["certificate"].as_str().unwrap(),
                    hex,
                    "slot {name} installed its own cert"
                );
            }
            "B" => {
                assert_eq!(r["failure"]["code"], "CSR_KEY_MISMATCH");
                assert!(sim.state_json()["certificate"].is_null());
            }
            _ => {
                assert_eq!(r["failure"]["code"], "DEVICE_TIMEOUT");
                assert!(sim.state_json()["certificate"].is_null());
            }
        }
    }
    let runs = station.export_jsonl();
    assert_eq!(runs.len(), 4);
    assert!(runs.iter().all(|r| r["config_hash"].as_str().map(str::len) == Some(64)));
    assert!(station.hallmark(&["log", "verify"]).status.success());
}

#[test]
fn auto_start_runs_a_board_when_it_appears() {
    let station = Station::new();
    let sim = Sim::start(&station.board_state("a"), &[]);
    let config = station.data_dir().join("auto.toml");
    std::fs::write(
        &config,
        format!(
            "version = 1\n[station]\nid = \"auto\"\n[uid]\nscheme = \"hardware-id\"\n[[slot]]\nname = \"A\"\nport = \"{}\"\nauto_start = true\n",
            sim.port
        ),
    )
    .unwrap();
    let mut child = hallmark()
        .args(["run", "--json", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(station.data_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            tx.send(line).ok();
        }
    });
    let line = rx.recv_timeout(std::time::Duration::from_secs(30)).expect("a run starts by itself");
    child.kill().ok();
    child.wait().ok();
    let r: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(r["outcome"], "PASS", "{r}");
    assert_eq!(r["slot"], "A");
}
