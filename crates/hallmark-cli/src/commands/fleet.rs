//! `hallmark fleet init|status|sync|verify`: the fleet link of this station, printed.

use crate::args::{FleetCommand, StationArgs};
use crate::error::{CliError, EXIT_FAIL, EXIT_SETUP};
use crate::setup::{data_dir, load_config, open_station};
use hallmark_station::fleet_sync::{init_fleet, verify_fleet, FleetSync};
use std::process::ExitCode;

pub fn run(command: FleetCommand) -> Result<ExitCode, CliError> {
    match command {
        FleetCommand::Init { url, json, station } => {
            let url = match url {
                Some(u) => u,
                None => link(&station)?.settings.url,
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
            let (mut link, store) = open_link(&station)?;
            let report = link.status(&store)?;
            let answered = report.server.connected && report.server.error.is_none();
            if json {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
            } else {
                let s = &report.server;
                println!("Station {} → fleet {}", report.station, s.target);
                println!("  {}", if answered { "connected".to_string() } else { "NOT CONNECTED".to_string() });
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
                for stem in &report.uid_blocks {
                    let p = &stem.position;
                    println!(
                        "  UID numbers {}{}: {} left in {} leased blocks ({} in reserve){}",
                        stem.stem,
                        "#".repeat(stem.width),
                        p.left,
                        p.blocks,
                        p.reserve,
                        if p.next.is_none() {
                            " — NONE LEFT: this station cannot number boards until it leases more"
                        } else {
                            ""
                        }
                    );
                }
                if let Some(e) = &s.error {
                    println!("  {e}");
                }
            }
            Ok(if answered { ExitCode::SUCCESS } else { ExitCode::from(EXIT_FAIL) })
        }
        FleetCommand::Sync { json, station } => {
            let (mut link, store) = open_link(&station)?;
            let mut synced = link.sync(&store);
            // Revocations queued for this station need its CA: unlocked only then.
            if synced.as_ref().is_ok_and(|r| !r.revocations_waiting.is_empty()) {
                match open_station(&station) {
                    Ok(opened) => synced = link.sync_and_revoke(&store, &opened),
                    Err(e) => eprintln!(
                        "Revocations wait for this station's CA, which could not be unlocked: {e}. Run hallmark \
                         fleet sync with HALLMARK_CA_PASSPHRASE set (or hallmark run, which carries them out)."
                    ),
                }
            }
            match synced {
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
                        for r in &report.revocations_carried_out {
                            println!(
                                "  revoked {} (UID {}, {}) as asked at station {} by {}",
                                r.serial, r.uid, r.reason, r.requested_by, r.actor
                            );
                        }
                        for r in &report.revocations_waiting {
                            println!(
                                "  WAITING: revoke {} (UID {}, {}) as asked at station {} by {}",
                                r.serial, r.uid, r.reason, r.requested_by, r.actor
                            );
                        }
                        for l in &report.leased {
                            println!(
                                "  leased UID numbers {}{:0w$} to {}{:0w$}",
                                l.stem,
                                l.first,
                                l.stem,
                                l.last,
                                w = l.width
                            );
                        }
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
                    let done = report.waiting == 0 && report.revocations_waiting.is_empty();
                    Ok(if done { ExitCode::SUCCESS } else { ExitCode::from(EXIT_FAIL) })
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
        FleetCommand::Verify { url, json, station } => {
            let url = match url {
                Some(u) => u,
                None => link(&station)?.settings.url,
            };
            let report = match verify_fleet(&url) {
                Ok(report) => report,
                Err(e) if json => {
                    println!("{}", serde_json::json!({ "error": e.to_string() }));
                    return Ok(ExitCode::from(EXIT_SETUP));
                }
                Err(e) => return Err(e.into()),
            };
            if json {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
            } else {
                print_verify(&report);
            }
            Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::from(EXIT_FAIL) })
        }
    }
}

fn print_verify(report: &hallmark_fleet::VerifyReport) {
    println!("Fleet {}: {} stations", report.target, report.stations.len());
    for s in &report.stations {
        println!(
            "  {} (role {}): {} records, {} events, {} audit entries: {}",
            s.station,
            s.role.as_deref().unwrap_or("not bound yet"),
            s.records,
            s.events,
            s.audit_entries,
            if s.first_bad.is_none() { "intact" } else { "BROKEN" }
        );
        if let Some(bad) = &s.first_bad {
            println!("    {}", describe(bad));
        }
    }
    println!(
        "  {} open conflicts, {} certificates failing a cross-check",
        report.open_conflicts, report.cross_check_failures
    );
    for p in &report.problems {
        println!("    {}", describe(p));
    }
    println!("{}", if report.ok { "The fleet verifies." } else { "The fleet does NOT verify." });
}

/// "station bench-b record 7 (events row 3): why".
fn describe(bad: &hallmark_fleet::BadRow) -> String {
    let mut s = format!("station {}", bad.station);
    if let Some(seq) = bad.seq {
        s.push_str(&format!(" record {seq}"));
    }
    if let (Some(table), Some(row)) = (&bad.table, bad.row_id) {
        s.push_str(&format!(" ({table} row {row})"));
    }
    format!("{s}: {}", bad.why)
}

/// This station's fleet link and its log, outbox on.
fn open_link(args: &StationArgs) -> Result<(FleetSync, hallmark_store::Store), CliError> {
    let Link { settings, id, numbering } = link(args)?;
    let log = data_dir(args.data_dir.clone())?.log_path();
    Ok(FleetSync::open(settings, &id, numbering, &log)?)
}

/// What the station configuration says about the fleet link.
struct Link {
    settings: hallmark_config::FleetSection,
    id: String,
    numbering: hallmark_config::UidScheme,
}

/// The `[fleet]` section, the station id and the UID scheme, or why there is no fleet.
fn link(args: &StationArgs) -> Result<Link, CliError> {
    let config = load_config(args)?;
    let id = args.station.clone().unwrap_or_else(|| config.config.station.id.clone());
    let settings = config.config.fleet.clone().ok_or_else(|| {
        CliError::Usage(format!(
            "the station configuration ({}) has no [fleet] section; add [fleet] url = \"postgresql://USER@HOST:PORT/DB\" \
             (docs/fleet.md)",
            config.origin
        ))
    })?;
    Ok(Link { settings, id, numbering: config.config.uid.clone() })
}
