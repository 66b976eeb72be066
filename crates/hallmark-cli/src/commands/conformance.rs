//! `hallmark conformance`: the conformance kit's report as a table or JSON.

use crate::args::ConformanceArgs;
use crate::commands::runtime;
use crate::error::{CliError, EXIT_FAIL};
use hallmark_station::conformance::{self, Options, Report, Verdict, CHECKS};
use hallmark_station::transport::{open_serial, PortName};
use std::process::ExitCode;
use std::time::Duration;

pub fn run(args: ConformanceArgs) -> Result<ExitCode, CliError> {
    if args.list {
        if args.json {
            println!("{}", serde_json::to_string(CHECKS).unwrap_or_default());
        } else {
            for c in CHECKS {
                println!("{:<4} {:<7} {}", c.id, c.section, c.rule);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let port = PortName::parse(args.port.as_deref().unwrap_or_default())?;
    let options = Options {
        answer: Duration::from_millis(args.answer_ms),
        keygen: Duration::from_millis(args.keygen_ms),
        quiet: Duration::from_millis(args.quiet_ms),
    };
    let report = runtime()?.block_on(async {
        let link = open_serial(&port, args.baud)?;
        Ok::<_, CliError>(conformance::run(link, options).await?)
    })?;
    if args.json {
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        print_table(&report);
    }
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_FAIL) })
}

fn print_table(report: &Report) {
    println!(
        "Board {} ({} {}), capabilities {:#07b}",
        report.hardware_id,
        if report.model.is_empty() { "no model" } else { &report.model },
        report.firmware_version,
        report.capabilities
    );
    println!("{:<4} {:<7} {:<4}  rule / what the board did", "row", "section", "");
    for row in &report.rows {
        println!("{:<4} {:<7} {}  {}", row.check.id, row.check.section, row.verdict.as_str(), row.check.rule);
        println!("{:<18}{}", "", row.detail);
    }
    println!(
        "{} passed, {} failed, {} skipped.{}",
        report.count(Verdict::Pass),
        report.count(Verdict::Fail),
        report.count(Verdict::Skip),
        if report.passed() {
            " The board conforms on every row checked; erase its test identity before provisioning it."
        } else {
            " Fix the failed rows (docs/protocol.md, section given), then run the kit again."
        }
    );
}
