//! `hallmark selftest`: re-check a provisioned board's identity.

use crate::args::SelftestArgs;
use crate::commands::runtime;
use crate::error::{CliError, EXIT_FAIL};
use crate::setup::{open_station, open_store};
use hallmark_station::transport::PortName;
use std::process::ExitCode;

pub fn run(args: SelftestArgs) -> Result<ExitCode, CliError> {
    let port = PortName::parse(&args.port)?;
    let station = open_station(&args.station)?;
    let store = open_store(&station.data_dir)?;
    let actor =
        args.station.operator.clone().or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "unknown".into());
    let report = runtime()?
        .block_on(station.recheck_serial(&store, &port, &actor))
        .map_err(|f| CliError::Usage(f.to_string()))?;
    if args.json {
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        println!("{}  {}", report.outcome, report.uid.as_deref().unwrap_or("(unknown)"));
        if let Some(serial) = &report.cert_serial {
            println!(
                "  certificate serial {serial}{}",
                if report.issued_by_station { "" } else { " (not issued here)" }
            );
        } else if report.cert_fingerprint.is_some() {
            println!("  certificate not issued by this station");
        }
        if let Some(reason) = &report.revoked {
            println!("  revoked in the log ({reason})");
        }
        if let Some(f) = &report.failure {
            println!("  {}: {}", f.code.as_str(), f.message);
        }
    }
    Ok(if report.outcome == "PASS" { ExitCode::SUCCESS } else { ExitCode::from(EXIT_FAIL) })
}
