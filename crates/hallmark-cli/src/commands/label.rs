//! `hallmark label`: what engineers (and their CI) run on templates.

use crate::args::LabelCommand;
use crate::error::{CliError, EXIT_FAIL};
use crate::setup::{open_station, open_store};
use hallmark_label::{render, Format, LabelData, Template, KNOWN_FIELDS};
use serde_json::json;
use std::process::ExitCode;

pub fn run(command: LabelCommand) -> Result<ExitCode, CliError> {
    match command {
        LabelCommand::Check { template, fields, json } => {
            let data = record(&fields)?;
            let errors: Vec<String> = match Template::load_unchecked(&template) {
                Ok(t) => t.check(&data).iter().map(ToString::to_string).collect(),
                Err(e) => vec![e.to_string()],
            };
            if json {
                println!(
                    "{}",
                    json!({ "template": template.display().to_string(), "ok": errors.is_empty(), "errors": errors })
                );
            } else if errors.is_empty() {
                println!("{}: ok", template.display());
            } else {
                for e in &errors {
                    println!("{}: {e}", template.display());
                }
            }
            Ok(if errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_FAIL) })
        }
        LabelCommand::Render { template, fields, format, out } => {
            let format: Format = format.parse().map_err(CliError::Usage)?;
            let data = record(&fields)?;
            let t = Template::load_unchecked(&template).map_err(|e| CliError::Usage(e.to_string()))?;
            let bytes = match render(&t, &data, format) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("{}: {e}", template.display());
                    return Ok(ExitCode::from(EXIT_FAIL));
                }
            };
            std::fs::write(&out, &bytes)
                .map_err(|source| CliError::Io { what: format!("cannot write {}", out.display()), source })?;
            println!("wrote {} ({} bytes)", out.display(), bytes.len());
            Ok(ExitCode::SUCCESS)
        }
        LabelCommand::Reprint { uid, json, station } => {
            let s = open_station(&station)?;
            let store = open_store(&s.data_dir)?;
            let actor =
                station.operator.clone().or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "unknown".into());
            match s.reprint(&store, &uid, &actor) {
                Ok(r) if json => println!("{}", serde_json::to_string(&r).unwrap_or_default()),
                Ok(r) => {
                    println!("reprinted the label of {} (run {})", r.uid, r.run_id);
                    println!("  label {}", r.label_pdf);
                    if let Some(job) = &r.print {
                        println!("  {} {} {}", job.printer, job.outcome, job.job_id.as_deref().unwrap_or(""));
                    }
                }
                Err(f) => {
                    eprintln!("{}: {}", f.code.as_str(), f.message);
                    return Ok(ExitCode::from(EXIT_FAIL));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Sample values overridden by `name=value` pairs.
fn record(fields: &[String]) -> Result<LabelData, CliError> {
    let mut data = LabelData::sample();
    for f in fields {
        let (name, value) =
            f.split_once('=').ok_or_else(|| CliError::Usage(format!("--field {f:?}: write NAME=VALUE")))?;
        if !KNOWN_FIELDS.contains(&name) {
            return Err(CliError::Usage(format!("--field {name}: known fields are {}", KNOWN_FIELDS.join(", "))));
        }
        data = data.with(name, value);
    }
    Ok(data)
}
