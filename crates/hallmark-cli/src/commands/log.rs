//! `hallmark log …`: QA exports, history, statistics, onboarding, verification.

use crate::args::{ExportFormat, FilterArgs, LogCommand};
use crate::error::{CliError, EXIT_FAIL};
use crate::setup::data_dir;
use hallmark_store::{csv_header, LineFormat, OnboardingRecord, Page, RecordWriter, RunFilter, Store};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

pub fn run(cmd: LogCommand) -> Result<ExitCode, CliError> {
    match cmd {
        LogCommand::Export { format, data_dir: dir, out, limit, offset, filter } => {
            let store = open(dir)?;
            let page = limit.map(|limit| Page { limit, offset });
            write_out(out, |w| {
                let mut lines = writer(w, format, csv_header());
                store.for_each_run(&to_filter(filter), page, |run| lines.push(&run, |r| r.to_csv()))?;
                Ok(lines.finish()?)
            })
        }
        LogCommand::History { uid, data_dir: dir } => {
            let store = open(dir)?;
            let filter = RunFilter { uid: Some(uid), ..RunFilter::default() };
            write_out(None, |w| {
                let mut lines = writer(w, ExportFormat::Jsonl, "");
                store.for_each_run(&filter, None, |run| lines.push(&run, |r| r.to_csv()))?;
                Ok(lines.finish()?)
            })
        }
        LogCommand::Stats { data_dir: dir, json, filter } => {
            let s = open(dir)?.statistics(&to_filter(filter))?;
            if json {
                println!("{}", serde_json::to_string(&s).unwrap_or_default());
            } else {
                println!("runs {}  passed {}  failed {}  interrupted {}", s.runs, s.passed, s.failed, s.interrupted);
                println!(
                    "devices {}  yield {:.1}%  first-pass yield {:.1}%",
                    s.devices, s.yield_percent, s.first_pass_yield_percent
                );
                println!("failures by step:");
                for p in &s.failures_by_step {
                    println!(
                        "  {:<10} {:<24} {:>7}  {:>5.1}%",
                        p.step.as_deref().unwrap_or("-"),
                        p.code.as_deref().unwrap_or("-"),
                        p.count,
                        p.cumulative_percent
                    );
                }
                println!("throughput per hour (UTC):");
                for h in &s.throughput_per_hour {
                    println!("  {}:00  {:>6} runs  {:>6} passed", h.hour, h.runs, h.passed);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        LogCommand::Onboarding { format, data_dir: dir, out, filter } => {
            let store = open(dir)?;
            write_out(out, |w| {
                let mut lines = writer(w, format, OnboardingRecord::csv_header());
                store.onboarding(&to_filter(filter), |rec| lines.push(&rec, |r| r.to_csv()))?;
                Ok(lines.finish()?)
            })
        }
        LogCommand::Verify { data_dir: dir, json } => {
            let report = open(dir)?.verify_chain()?;
            if json {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
            } else if let Some(id) = report.first_broken_event {
                println!("BROKEN at event {id}: {}", report.problem.as_deref().unwrap_or(""));
            } else if let Some(id) = report.first_broken_audit {
                println!("BROKEN at audit entry {id}: {}", report.problem.as_deref().unwrap_or(""));
            } else {
                println!("OK: {} events and {} audit entries, hash chains intact", report.events, report.audit_entries);
            }
            Ok(if report.intact() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_FAIL) })
        }
    }
}

/// The store's writer for the CLI's format flag.
fn writer<'a>(w: &'a mut dyn Write, format: ExportFormat, csv_header: &str) -> RecordWriter<'a> {
    let format = match format {
        ExportFormat::Csv => LineFormat::Csv,
        ExportFormat::Jsonl => LineFormat::Jsonl,
    };
    RecordWriter::new(w, format, csv_header)
}

fn to_filter(f: FilterArgs) -> RunFilter {
    RunFilter {
        from: f.from,
        to: f.to,
        outcome: f.outcome.map(|o| o.to_uppercase()),
        uid: f.uid,
        hardware_id: f.hardware_id.map(|h| h.to_uppercase()),
        operator: f.operator,
        station: f.station,
        slot: f.slot,
        failing_step: f.failing_step,
        run_id: None,
    }
}

/// Streams output to a file or stdout through one buffer.
fn write_out(
    out: Option<PathBuf>,
    f: impl FnOnce(&mut dyn Write) -> Result<u64, CliError>,
) -> Result<ExitCode, CliError> {
    let io = |source| CliError::Io { what: "cannot write the output".into(), source };
    match out {
        Some(path) => {
            let mut w = BufWriter::new(std::fs::File::create(&path).map_err(io)?);
            f(&mut w)?;
            w.flush().map_err(io)?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = BufWriter::new(stdout.lock());
            f(&mut w)?;
            w.flush().map_err(io)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn open(dir: Option<PathBuf>) -> Result<Store, CliError> {
    let path = data_dir(dir)?.log_path();
    if !path.exists() {
        return Err(CliError::Usage(format!(
            "no log at {}: nothing has been provisioned with this data directory",
            path.display()
        )));
    }
    Ok(Store::open_read_only(&path)?)
}
