//! `hallmark provision`.

use crate::args::{AtModeArg, DialectArg, ModemIdArg, ProvisionArgs};
use crate::commands::runtime;
use crate::error::{CliError, EXIT_FAIL};
use crate::setup::{open_station, open_store};
use hallmark_config::{AtModeSetting, ModemIdSetting};
use hallmark_station::pipeline::{LinkTarget, ModemTarget, Observer, RunRequest, Silent, Station};
use hallmark_station::probe::ProbeTarget;
use hallmark_station::report::{Outcome, RunReport, StepReport};
use hallmark_station::transport::PortName;
use hallmark_store::Store;
use std::process::ExitCode;

/// Prints step progress for a person at the terminal.
pub struct ConsoleObserver {
    pub prefix: String,
}

impl Observer for ConsoleObserver {
    fn step_ended(&self, step: &StepReport) {
        let mark = if step.outcome == "PASS" { "ok  " } else { "FAIL" };
        eprintln!("{}  [{mark}] {:<9} {:>9.1} ms", self.prefix, step.name, step.ms);
    }
}

pub fn run(args: ProvisionArgs) -> Result<ExitCode, CliError> {
    let port = match (&args.port, &args.probe) {
        (Some(port), _) if args.dialect == DialectArg::Nrf91At => {
            let Some(sec_tag) = args.sec_tag else {
                return Err(CliError::Usage("--dialect nrf91-at needs --sec-tag <the modem's sec tag>".into()));
            };
            let at_mode = match args.at_mode {
                AtModeArg::Auto => AtModeSetting::Auto,
                AtModeArg::Plain => AtModeSetting::Plain,
                AtModeArg::Shell => AtModeSetting::Shell,
            };
            let hardware_id = match args.hardware_id {
                ModemIdArg::Imei => ModemIdSetting::Imei,
                ModemIdArg::Uuid => ModemIdSetting::Uuid,
            };
            let port = PortName::parse(port)?;
            LinkTarget::Modem(ModemTarget::identified_by(port, sec_tag, at_mode, args.ca_file.as_deref(), hardware_id)?)
        }
        (Some(_), _)
            if args.sec_tag.is_some()
                || args.ca_file.is_some()
                || args.at_mode != AtModeArg::Auto
                || args.hardware_id != ModemIdArg::Imei =>
        {
            return Err(CliError::Usage(
                "--sec-tag, --at-mode, --hardware-id and --ca-file are for --dialect nrf91-at".into(),
            ))
        }
        (Some(port), _) => LinkTarget::Serial(PortName::parse(port)?),
        (None, Some(selector)) => {
            let chip = args.chip.clone().unwrap_or_default();
            hallmark_station::probe::check_chip(&chip).map_err(|e| CliError::Usage(e.to_string()))?;
            LinkTarget::Probe(ProbeTarget {
                selector: selector.clone(),
                chip,
                flash: args.flash.clone(),
                bin_base: args.bin_base,
                allow_erase_all: args.allow_erase_all,
            })
        }
        (None, None) => return Err(CliError::Usage("give --port or --probe".into())),
    };
    let station = open_station(&args.station)?;
    if let LinkTarget::Probe(t) = &port {
        hallmark_station::assemble::check_probe_chip(&t.chip, &station.config, &station.label_template)?;
    }
    let store = open_store(&station.data_dir)?;
    let request = RunRequest { port, slot: args.slot, operator: args.station.operator.clone(), scanned_uid: args.uid };
    let report = provision(&station, &store, &request, !args.json)?;
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
    store: &Store,
    request: &RunRequest,
    show_progress: bool,
) -> Result<RunReport, CliError> {
    let console = ConsoleObserver { prefix: String::new() };
    let observer: &dyn Observer = if show_progress { &console } else { &Silent };
    runtime()?
        .block_on(station.provision_serial(store, request, observer, ctrl_c()))
        .map_err(|f| CliError::Usage(f.to_string()))
}

/// Resolves on Ctrl-C; never, if the handler cannot be installed.
pub async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
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
    let slot = r.slot.as_deref().map(|s| format!("slot {s}  ")).unwrap_or_default();
    match (&r.outcome, &r.failure) {
        (Outcome::Pass, _) => {
            println!("{slot}PASS  {uid}  ({})", r.plan.as_deref().unwrap_or(""));
            println!("  certificate serial {}", r.cert_serial.as_deref().unwrap_or(""));
            println!("  label              {}", r.label_pdf.as_deref().unwrap_or(""));
        }
        (outcome, failure) => {
            println!("{slot}{}  {uid}", outcome.as_str());
            if let Some(f) = failure {
                println!("  {}: {}", f.code.as_str(), f.message);
            }
        }
    }
    println!("  run {} in {:.1} ms, logged in {}", r.run_id, r.duration_ms, r.log);
}
