//! `hallmark fleet init|status|sync`: the fleet link of this station, printed.

use crate::args::{FleetCommand, StationArgs};
use crate::error::{CliError, EXIT_FAIL};
use crate::setup::{data_dir, load_config, open_store};
use hallmark_station::fleet_sync::{init_fleet, FleetSync};
use std::process::ExitCode;

pub fn run(command: FleetCommand) -> Result<ExitCode, CliError> {
    match command {
        FleetCommand::Init { url, json, station } => {
            let url = match url {
                Some(u) => u,
                None => link(&station)?.0.url,
            };
            let report = init_fleet(&url)?;
            if json {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
            } else if report.from_version == report.version {
                println!("The fleet schema is up to date (version {}).", report.version);
            } else {
                println!("The fleet schema is at version {} (was {}).", report.version, report.from_version);
            }
            Ok(ExitCode::SUCCESS)
        }
        FleetCommand::Status { json, station } => {
            let (settings, id) = link(&station)?;
            let store = open_store(&data_dir(station.data_dir.clone())?)?;
            store.enable_outbox()?;
            let report = FleetSync::new(settings, &id).status(&store)?;
            if json {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
            } else {
                let s = &report.server;
                println!("Station {} → fleet {}", report.station, s.target);
                println!(
                    "  {}",
                    if s.connected && s.error.is_none() {
                        "connected".to_string()
                    } else {
                        "NOT CONNECTED".to_string()
                    }
                );
                println!(
                    "  {} records waiting; last sync {}",
                    report.waiting,
                    report.last_sync.as_deref().unwrap_or("never")
                );
                if let Some(hw) = s.high_water {
                    println!(
                        "  the fleet holds {hw} records from this station; {} stations; {} open conflicts ({} involving this station)",
                        s.stations.unwrap_or(0),
                        s.open_conflicts.unwrap_or(0),
                        s.station_open_conflicts.unwrap_or(0)
                    );
                }
                if let Some(e) = &s.error {
                    println!("  {e}");
                }
            }
            Ok(if report.server.connected && report.server.error.is_none() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_FAIL)
            })
        }
        FleetCommand::Sync { json, station } => {
            let (settings, id) = link(&station)?;
            let store = open_store(&data_dir(station.data_dir.clone())?)?;
            store.enable_outbox()?;
            match FleetSync::new(settings, &id).sync(&store) {
                Ok(report) => {
                    if json {
                        println!("{}", serde_json::to_string(&report).unwrap_or_default());
                    } else {
                        println!(
                            "Sent {} records; the fleet holds {} from this station; {} waiting; {} conflicts.",
                            report.sent,
                            report.high_water,
                            report.waiting,
                            report.conflicts.len()
                        );
                        for c in &report.conflicts {
                            println!(
                                "  CONFLICT {} {} (record {}) already held by station {}",
                                c.what,
                                c.value,
                                c.seq,
                                c.holder_station.as_deref().unwrap_or("?")
                            );
                        }
                    }
                    Ok(if report.waiting == 0 { ExitCode::SUCCESS } else { ExitCode::from(EXIT_FAIL) })
                }
                Err(e) => {
                    if json {
                        println!("{}", serde_json::json!({ "error": e.to_string() }));
                    } else {
                        eprintln!("The records were not sent: {e}");
                    }
                    Ok(ExitCode::from(EXIT_FAIL))
                }
            }
        }
    }
}

/// The `[fleet]` section and the station id, or why there is none.
fn link(args: &StationArgs) -> Result<(hallmark_config::FleetSection, String), CliError> {
    let config = load_config(args)?;
    let id = args.station.clone().unwrap_or_else(|| config.config.station.id.clone());
    let settings = config.config.fleet.clone().ok_or_else(|| {
        CliError::Usage(format!(
            "the station configuration ({}) has no [fleet] section; add [fleet] url = \"postgresql://USER@HOST:PORT/DB\" \
             (docs/fleet.md)",
            config.origin
        ))
    })?;
    Ok((settings, id))
}
