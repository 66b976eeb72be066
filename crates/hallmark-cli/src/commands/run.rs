//! `hallmark run`: every configured slot in parallel. One board failing or hanging
//! never stalls another: each slot has its own link, log connection and deadlines,
//! and the slots are polled concurrently.

use crate::args::RunArgs;
use crate::commands::provision::{ctrl_c, print_summary, ConsoleObserver};
use crate::commands::runtime;
use crate::error::{CliError, EXIT_FAIL};
use crate::setup::{open_station, open_store};
use futures_util::future::join_all;
use hallmark_config::SlotConfig;
use hallmark_station::pipeline::{LinkTarget, Observer, RunRequest, Silent, Station};
use hallmark_station::presence::probe;
use hallmark_station::report::{Outcome, RunReport};
use hallmark_store::Store;
use std::process::ExitCode;
use std::time::Duration;

const POLL: Duration = Duration::from_millis(500);
const PROBE_WAIT: Duration = Duration::from_millis(300);

pub fn run(args: RunArgs) -> Result<ExitCode, CliError> {
    let station = open_station(&args.station)?;
    // With [fleet], records go to the fleet server in the background; the bench
    // works the same when it cannot be reached.
    let _fleet_sync = station.start_fleet_sync();
    let slots = station.config.config.slot.clone();
    if slots.is_empty() {
        return Err(CliError::Usage(format!("the configuration {} has no [[slot]]", station.config.origin)));
    }
    // One log connection per slot: SQLite serialises the writers.
    let first = open_store(&station.data_dir)?;
    let mut stores = vec![first];
    for _ in 1..slots.len() {
        stores.push(Store::open(&station.data_dir.log_path())?);
    }
    let mut requests = Vec::new();
    for slot in &slots {
        requests.push(RunRequest {
            port: crate::setup::slot_link(slot)?,
            slot: Some(slot.name.clone()),
            operator: args.station.operator.clone(),
            scanned_uid: None,
        });
    }
    // Revocations other stations queue for this one are carried out as they come.
    let revocation_log = Store::open(&station.data_dir.log_path())?;
    let rt = runtime()?;
    let work = slots
        .iter()
        .zip(&stores)
        .zip(&requests)
        .map(|((slot, store), request)| slot_loop(&station, store, request, slot, args.once, args.json));
    let all_passed = rt.block_on(async {
        tokio::select! {
            results = join_all(work) => results.into_iter().all(|ok| ok),
            () = ctrl_c(), if !args.once => true,
            () = station.serve_fleet_revocations(&revocation_log) => true,
        }
    });
    Ok(if all_passed { ExitCode::SUCCESS } else { ExitCode::from(EXIT_FAIL) })
}

/// Runs one slot: once, or (auto-start) every board that appears. Returns whether
/// every run passed.
async fn slot_loop(
    station: &Station,
    store: &Store,
    request: &RunRequest,
    slot: &SlotConfig,
    once: bool,
    json: bool,
) -> bool {
    let console = ConsoleObserver { prefix: format!("[{}]", slot.name) };
    let observer: &dyn Observer = if json { &Silent } else { &console };
    if once {
        return report(station.provision_serial(store, request, observer, std::future::pending()).await, json);
    }
    if !slot.auto_start {
        eprintln!("[{}] auto_start is off: this slot is not run by `hallmark run` without --once", slot.name);
        return true;
    }
    let LinkTarget::Serial(port) = &request.port else {
        eprintln!(
            "[{}] auto_start watches Hallmark boards on serial ports only: run probe slots with --once",
            slot.name
        );
        return true;
    };
    loop {
        eprintln!("[{}] waiting for a board on {}", slot.name, slot.port);
        let board = loop {
            if let Some(hw) = probe(port, PROBE_WAIT).await {
                break hw;
            }
            tokio::time::sleep(POLL).await;
        };
        // Continuous mode never ends by itself; each run's outcome is printed and logged.
        report(station.provision_serial(store, request, observer, std::future::pending()).await, json);
        eprintln!("[{}] remove the board", slot.name);
        while probe(port, PROBE_WAIT).await.as_ref() == Some(&board) {
            tokio::time::sleep(POLL).await;
        }
    }
}

fn report(result: Result<RunReport, hallmark_station::Failure>, json: bool) -> bool {
    match result {
        Ok(r) => {
            if json {
                println!("{}", serde_json::to_string(&r).unwrap_or_default());
            } else {
                print_summary(&r);
            }
            r.outcome == Outcome::Pass
        }
        Err(f) => {
            eprintln!("error: {f}");
            false
        }
    }
}
