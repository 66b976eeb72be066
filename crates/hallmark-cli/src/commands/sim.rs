//! `hallmark sim`.

use crate::args::{DialectArg, SimArgs};
use crate::error::CliError;
use crate::setup::data_dir;
use hallmark_sim::{Board, BoardState, Fault, Paced, Pty, ServeEnd};
use std::io::Write;
use std::process::ExitCode;

pub fn run(args: SimArgs) -> Result<ExitCode, CliError> {
    if args.dialect == DialectArg::Nrf91At {
        return modem(args);
    }
    let faults = args.faults.iter().map(|f| f.parse::<Fault>()).collect::<Result<Vec<_>, _>>()?;
    let state_path = match args.state {
        Some(p) => p,
        None => data_dir(args.data_dir)?.path().join("sim").join("board.json"),
    };
    let state = BoardState::load_or_create(&state_path)?;
    let mut board = Board::new(state, Some(state_path.clone()), faults.clone())?;
    if let Some(path) = &args.carry_chain {
        let (chain, anchor) = carried_chain(path)?;
        board = board.carry(chain, anchor);
    }
    let mut pty = Pty::open()?;
    // The first stdout line is the contract: the port to open.
    println!("{}", pty.path.display());
    std::io::stdout().flush().ok();
    eprintln!(
        "sim: board {} ({}), state {}, faults {:?}, {}",
        board.state().hardware_id,
        if board.state().certificate.is_some() { "provisioned" } else { "blank" },
        state_path.display(),
        faults,
        pacing(args.baud, args.turnaround_ms)
    );
    let served = match (args.baud, args.turnaround_ms) {
        (None, None) => board.serve(&mut pty.master),
        (baud, turnaround) => board.serve(&mut Paced::new(
            &mut pty.master,
            baud.unwrap_or(0),
            std::time::Duration::from_millis(turnaround.unwrap_or(0)),
        )),
    };
    match served {
        ServeEnd::Dropped(step) => {
            eprintln!("sim: dropping the link after {step:?} (fault)");
            Ok(ExitCode::SUCCESS)
        }
        ServeEnd::Eof => Ok(ExitCode::SUCCESS),
        ServeEnd::Io(e) => Err(CliError::Usage(format!("sim: pty failed: {e}"))),
    }
}

/// The line's timing, in words for the simulator's first log line.
fn pacing(baud: Option<u32>, latency_ms: Option<u64>) -> String {
    match (baud, latency_ms) {
        (None, None) => "unpaced".to_string(),
        (baud, latency) => format!("paced at {} baud, {} ms USB latency", baud.unwrap_or(0), latency.unwrap_or(0)),
    }
}

/// The chain (every certificate, concatenated DER) and trust anchor (the last) in a
/// `--carry-chain` PEM file.
fn carried_chain(path: &std::path::Path) -> Result<(Vec<u8>, Vec<u8>), CliError> {
    let bad = |why: String| CliError::Usage(format!("--carry-chain {}: {why}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let certificates = hallmark_ca::import::pem_certificates(&text).map_err(bad)?;
    let Some(anchor) = certificates.last().cloned() else {
        return Err(bad("no certificate in it; give the issuing CA and the root, in PEM".into()));
    };
    Ok((certificates.concat(), anchor))
}

/// `hallmark sim --dialect nrf91-at`: a simulated nRF91 modem on a pseudo-terminal.
fn modem(args: SimArgs) -> Result<ExitCode, CliError> {
    use hallmark_sim::modem::{Modem, ModemFault, ModemState};
    let faults = args.faults.iter().map(|f| f.parse::<ModemFault>()).collect::<Result<Vec<_>, _>>()?;
    let state_path = match args.state {
        Some(p) => p,
        None => data_dir(args.data_dir)?.path().join("sim").join("modem.json"),
    };
    let state = ModemState::load_or_create(&state_path)?;
    let mut modem = Modem::new(state, Some(state_path.clone()), faults.clone());
    let mut pty = Pty::open()?;
    // The first stdout line is the contract: the port to open.
    println!("{}", pty.path.display());
    std::io::stdout().flush().ok();
    eprintln!(
        "sim: nRF91 modem IMEI {} ({}), state {}, faults {:?}, {}",
        modem.state().imei,
        modem.state().firmware,
        state_path.display(),
        faults,
        pacing(args.baud, args.turnaround_ms)
    );
    match (args.baud, args.turnaround_ms) {
        (None, None) => modem.serve(&mut pty.master),
        (baud, latency) => modem.serve(&mut Paced::new(
            &mut pty.master,
            baud.unwrap_or(0),
            std::time::Duration::from_millis(latency.unwrap_or(0)),
        )),
    }
    Ok(ExitCode::SUCCESS)
}
