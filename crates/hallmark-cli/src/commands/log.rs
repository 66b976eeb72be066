//! `hallmark log …`: QA exports, history, statistics, onboarding, verification; the
//! first four also over the fleet database with `--fleet` (`hallmark_fleet::Fleet`).

use crate::args::{ExportFormat, FilterArgs, FleetQaArgs, LogCommand, StationArgs};
use crate::error::{CliError, EXIT_FAIL};
use crate::setup::{data_dir, load_config};
use hallmark_fleet::Fleet;
use hallmark_store::{csv_header, LineFormat, OnboardingRecord, Page, RecordWriter, RunFilter, RunRecord, Store};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

pub fn run(cmd: LogCommand) -> Result<ExitCode, CliError> {
    match cmd {
        LogCommand::Export { format, data_dir: dir, out, limit, offset, filter, source } => {
            let mut from = Source::open(dir, &source)?;
            let page = limit.map(|limit| Page { limit, offset });
            let filter = to_filter(filter);
            write_out(out, |w| {
                let mut lines = writer(w, format, csv_header());
                from.for_each_run(&filter, page, |run| lines.push(&run, |r| r.to_csv()))?;
                Ok(lines.finish()?)
            })
        }
        LogCommand::History { uid, data_dir: dir, source } => {
            let mut from = Source::open(dir, &source)?;
            let filter = RunFilter { uid: Some(uid), ..RunFilter::default() };
            write_out(None, |w| {
                let mut lines = writer(w, ExportFormat::Jsonl, "");
                from.for_each_run(&filter, None, |run| lines.push(&run, |r| r.to_csv()))?;
                Ok(lines.finish()?)
            })
        }
        LogCommand::Stats { data_dir: dir, json, filter, source } => {
            let filter = to_filter(filter);
            let (s, stations) = match Source::open(dir, &source)? {
                Source::Log(store) => (store.statistics(&filter)?, None),
                Source::Fleet(mut fleet) => {
                    let f = fleet.statistics(&filter)?;
                    if json {
                        println!("{}", serde_json::to_string(&f).unwrap_or_default());
                        return Ok(ExitCode::SUCCESS);
                    }
                    (f.statistics, Some(f.stations))
                }
            };
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
                if let Some(stations) = stations {
                    println!("yield per station:");
                    for y in &stations {
                        println!(
                            "  {:<20} {:>7} runs  {:>7} passed  {:>7} devices  yield {:.1}%",
                            y.station, y.runs, y.passed, y.devices, y.yield_percent
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        LogCommand::Onboarding { format, data_dir: dir, out, filter, source } => {
            let mut from = Source::open(dir, &source)?;
            let filter = to_filter(filter);
            write_out(out, |w| {
                let mut lines = writer(w, format, OnboardingRecord::csv_header());
                from.onboarding(&filter, |rec| lines.push(&rec, |r| r.to_csv()))?;
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

pub(crate) fn to_filter(f: FilterArgs) -> RunFilter {
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
        firmware_version: f.firmware,
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

/// Where a QA command reads: this station's log, or the fleet database.
enum Source {
    Log(Store),
    /// Boxed: a connection with its runtime is large.
    Fleet(Box<Fleet>),
}

impl Source {
    /// The log in `dir`, or with `--fleet` a connection to the fleet named by the
    /// station configuration's `[fleet]` section (the log is not opened then).
    fn open(dir: Option<PathBuf>, source: &FleetQaArgs) -> Result<Source, CliError> {
        if !source.fleet {
            return Ok(Source::Log(open(dir)?));
        }
        let args = StationArgs { data_dir: dir, config: source.config.clone(), ..StationArgs::default() };
        let config = load_config(&args)?;
        let Some(fleet) = &config.config.fleet else {
            return Err(CliError::Usage(format!(
                "the station configuration ({}) has no [fleet] section, so --fleet has no fleet database to read: \
                 give the station's configuration with --config FILE, or add [fleet] url = \
                 \"postgresql://USER@HOST:PORT/DB\" to it (docs/fleet.md)",
                config.origin
            )));
        };
        Ok(Source::Fleet(Box::new(Fleet::connect_with_stored_password(&fleet.url)?)))
    }

    fn for_each_run(
        &mut self,
        filter: &RunFilter,
        page: Option<Page>,
        f: impl FnMut(RunRecord),
    ) -> Result<(), CliError> {
        match self {
            Source::Log(store) => store.for_each_run(filter, page, f)?,
            Source::Fleet(fleet) => {
                fleet.for_each_run(filter, page, f)?;
            }
        }
        Ok(())
    }

    fn onboarding(&mut self, filter: &RunFilter, f: impl FnMut(OnboardingRecord)) -> Result<(), CliError> {
        match self {
            Source::Log(store) => store.onboarding(filter, f)?,
            Source::Fleet(fleet) => {
                fleet.onboarding(filter, f)?;
            }
        }
        Ok(())
    }
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
