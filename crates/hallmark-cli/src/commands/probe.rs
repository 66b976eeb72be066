//! `hallmark probe`.

use crate::args::ProbeCommand;
use crate::error::{CliError, EXIT_FAIL};
use hallmark_station::probe::{check_chip, list_probes, uid::family_of};
use std::process::ExitCode;

pub fn run(command: ProbeCommand) -> Result<ExitCode, CliError> {
    match command {
        ProbeCommand::List { json } => {
            let probes = list_probes();
            if json {
                println!("{}", serde_json::to_string(&probes).unwrap_or_default());
            } else if probes.is_empty() {
                println!("no debug probes found (check USB and udev permissions)");
            } else {
                for p in probes {
                    println!("{:<32} {}", p.selector, p.name);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ProbeCommand::Chip { name } => match check_chip(&name) {
            Ok(()) => {
                match family_of(&name) {
                    Some(f) if f.unsupported.is_none() => {
                        println!("{name}: known; unique id read over SWD ({})", f.name)
                    }
                    Some(f) => println!(
                        "{name}: known; unique id not readable over SWD: {}",
                        f.unsupported.as_deref().unwrap_or("")
                    ),
                    None => {
                        println!("{name}: known; no unique-id location in chip-uids.toml (firmware must report it)")
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("{e}");
                Ok(ExitCode::from(EXIT_FAIL))
            }
        },
    }
}
