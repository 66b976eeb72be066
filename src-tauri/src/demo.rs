//! The demo station: a throwaway data directory and CA (random passphrase, never
//! stored) and simulated boards on real pseudo-terminals, one per slot. After each
//! run a slot's board is replaced by a fresh one, like the next board in a fixture.

use hallmark_sim::{Board, BoardState, Fault, Pty};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A simulated fixture: its port and the switch that swaps in the next board.
pub struct SimSlot {
    /// Slot name.
    pub name: String,
    /// The pty the station opens.
    pub port: PathBuf,
    next: Arc<AtomicBool>,
}

impl SimSlot {
    /// Puts the next (fresh) board in the fixture.
    pub fn next_board(&self) {
        self.next.store(true, Ordering::Relaxed);
    }
}

/// Starts a simulated board for `name` with `faults`, re-seated with a fresh board
/// after every [`SimSlot::next_board`].
pub fn sim_slot(name: &str, faults: Vec<Fault>) -> Result<SimSlot, String> {
    let mut pty = Pty::open().map_err(|e| e.to_string())?;
    let port = pty.path.clone();
    let next = Arc::new(AtomicBool::new(false));
    let flag = next.clone();
    std::thread::spawn(move || loop {
        let Ok(mut board) = Board::new(BoardState::fresh(), None, faults.clone()) else { return };
        board.serve_until(&mut pty.master, &flag);
        flag.store(false, Ordering::Relaxed);
    });
    Ok(SimSlot { name: name.to_string(), port, next })
}

/// The demo configuration (and its text): the embedded default with `slots` as its
/// fixtures.
pub fn demo_config<'a>(
    slots: impl Iterator<Item = &'a SimSlot>,
) -> Result<(hallmark_config::LoadedConfig, String), String> {
    let example = hallmark_config::EXAMPLE;
    let start = example.find("[[slot]]").ok_or("the example configuration has no [[slot]]")?;
    let end = example.find("# How a board gets its UID").ok_or("the example configuration changed")?;
    let fixtures: String = slots
        .map(|s| format!("[[slot]]\nname = \"{}\"\nport = \"{}\"\nauto_start = false\n\n", s.name, s.port.display()))
        .collect();
    let text = format!("{}{fixtures}{}", &example[..start], &example[end..]);
    let config = hallmark_config::LoadedConfig::parse(&text, "demo (embedded defaults, simulated boards)")
        .map_err(|e| e.to_string())?;
    Ok((config, text))
}

/// A fresh demo data directory.
pub fn demo_data_dir() -> Result<PathBuf, String> {
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let dir = std::env::temp_dir().join(format!("hallmark-demo-{stamp}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// Demo slots: a healthy board, plus one per requested fault.
pub fn demo_slots(faults: &[String]) -> Result<BTreeMap<String, SimSlot>, String> {
    let mut slots = BTreeMap::new();
    slots.insert("SIM-A".to_string(), sim_slot("SIM-A", Vec::new())?);
    for (i, f) in faults.iter().enumerate() {
        let fault: Fault = f.parse().map_err(|e: hallmark_sim::SimError| e.to_string())?;
        let name = format!("SIM-{}", (b'B' + i as u8) as char);
        slots.insert(name.clone(), sim_slot(&name, vec![fault])?);
    }
    Ok(slots)
}
