//! `hallmark provision`.

use crate::args::ProvisionArgs;
use crate::commands::runtime;
use crate::error::{CliError, EXIT_FAIL};
use crate::setup::open_station;
use hallmark_station::pipeline::{Observer, Silent, Station};
use hallmark_station::report::{Outcome, RunReport, StepReport};
use hallmark_station::transport::PortName;
use std::process::ExitCode;

/// Prints step progress for a person at the terminal.
pub struct ConsoleObserver;

impl Observer for ConsoleObserver {
    fn step_ended(&self, step: &StepReport) {
        let mark = if step.outcome == "PASS" { "ok  " } else { "FAIL" };
        eprintln!("  [{mark}] {:<9} {:>9.1} ms", step.name, step.ms);
    }
}

pub fn run(args: ProvisionArgs) -> Result<ExitCode, CliError> {
    let port = PortName::parse(&args.port).map_err(CliError::Usage)?;
    let station = open_station(&args.station)?;
    let report = provision(&station, &port, args.station.operator.clone(), !args.json)?;
    if args.json {
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        print_summary(&report);
    }
    Ok(exit_code(&report))
}

/// Runs one board; Ctrl-C cancels (recorded as INTERRUPTED).
pub fn provision(
    station: &Station,
    port: &PortName,
    operator: Option<String>,
    show_progress: bool,
) -> Result<RunReport, CliError> {
    let observer: &dyn Observer = if show_progress { &ConsoleObserver } else { &Silent };
    let rt = runtime()?;
    let cancel = async {
        // If the signal handler cannot be installed, never cancel.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    rt.block_on(station.provision_serial(port, operator, observer, cancel)).map_err(|f| CliError::Usage(f.to_string()))
}

pub fn exit_code(report: &RunReport) -> ExitCode {
    if report.outcome == Outcome::Pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAIL)
    }
}

pub fn print_summary(r: &RunReport) {
    let uid = r.uid.as_deref().unwrap_or("(unknown)");
    match (&r.outcome, &r.failure) {
        (Outcome::Pass, _) => {
            println!("PASS  {uid}");
            println!("  certificate serial {}", r.cert_serial.as_deref().unwrap_or(""));
            println!("  label              {}", r.label_pdf.as_deref().unwrap_or(""));
        }
        (outcome, failure) => {
            println!("{}  {uid}", outcome.as_str());
            if let Some(f) = failure {
                println!("  {}: {}", f.code.as_str(), f.message);
            }
        }
    }
    println!("  run {} in {:.1} ms, logged in {}", r.run_id, r.duration_ms, r.log);
}
