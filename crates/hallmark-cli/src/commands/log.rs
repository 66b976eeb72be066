//! `hallmark log export` and `hallmark log verify`.

use crate::args::{ExportFormat, LogCommand};
use crate::error::{CliError, EXIT_FAIL};
use crate::setup::data_dir;
use hallmark_store::{csv_header, Store};
use std::io::Write;
use std::process::ExitCode;

pub fn run(cmd: LogCommand) -> Result<ExitCode, CliError> {
    match cmd {
        LogCommand::Export { format, data_dir: dir, out } => {
            let store = open(dir)?;
            let mut text = String::new();
            if let ExportFormat::Csv = format {
                text.push_str(csv_header());
                text.push('\n');
            }
            for run in store.runs()? {
                let line = match format {
                    ExportFormat::Jsonl => serde_json::to_string(&run).unwrap_or_default(),
                    ExportFormat::Csv => run.to_csv(),
                };
                text.push_str(&line);
                text.push('\n');
            }
            let io = |source| CliError::Io { what: "cannot write the export".into(), source };
            match out {
                Some(path) => std::fs::write(&path, text).map_err(io)?,
                None => std::io::stdout().write_all(text.as_bytes()).map_err(io)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        LogCommand::Verify { data_dir: dir, json } => {
            let report = open(dir)?.verify_chain()?;
            if json {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
            } else if let Some(id) = report.first_broken_event {
                println!("BROKEN at event {id}: {}", report.problem.as_deref().unwrap_or(""));
            } else {
                println!("OK: {} events, hash chain intact", report.events);
            }
            Ok(if report.first_broken_event.is_some() { ExitCode::from(EXIT_FAIL) } else { ExitCode::SUCCESS })
        }
    }
}

fn open(dir: Option<std::path::PathBuf>) -> Result<Store, CliError> {
    let path = data_dir(dir)?.log_path();
    if !path.exists() {
        return Err(CliError::Usage(format!(
            "no log at {}: nothing has been provisioned with this data directory",
            path.display()
        )));
    }
    Ok(Store::open_read_only(&path)?)
}
