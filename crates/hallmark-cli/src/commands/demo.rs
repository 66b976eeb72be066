//! `hallmark demo`: a fresh simulated board on a real pty, provisioned end to end.

use crate::args::DemoArgs;
use crate::commands::provision::{exit_code, print_summary, provision};
use crate::error::CliError;
use crate::setup::{open_station, open_store};
use hallmark_sim::{Board, BoardState, Pty};
use hallmark_station::pipeline::RunRequest;
use hallmark_station::transport::PortName;
use std::process::ExitCode;

pub fn run(args: DemoArgs) -> Result<ExitCode, CliError> {
    let station = open_station(&args.station)?;
    let store = open_store(&station.data_dir)?;
    let state = BoardState::fresh();
    let state_path = station.data_dir.path().join("sim").join(format!("demo-{}.json", state.hardware_id));
    state.save(&state_path)?;
    let mut board = Board::new(state, Some(state_path.clone()), Vec::new())?;
    let mut pty = Pty::open()?;
    let port = PortName::parse(&pty.path.display().to_string())?;
    eprintln!("Simulated board {} on {}", board.state().hardware_id, port.as_str());
    // The board runs on its own thread, like a separate device on the other end of
    // the cable; it ends with the process.
    std::thread::spawn(move || board.serve(&mut pty.master));
    let request = RunRequest {
        port: port.into(),
        slot: Some("demo".into()),
        operator: args.station.operator.clone(),
        scanned_uid: None,
    };
    let report = provision(&station, &store, &request, true)?;
    print_summary(&report);
    eprintln!("The board's flash is in {} (run it again with: hallmark sim --state <that file>)", state_path.display());
    Ok(exit_code(&report))
}
