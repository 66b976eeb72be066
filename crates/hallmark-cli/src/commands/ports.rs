//! `hallmark ports`.

use crate::error::CliError;
use hallmark_station::transport::list_ports;
use std::process::ExitCode;

pub fn run(json: bool) -> Result<ExitCode, CliError> {
    let ports = list_ports()?;
    if json {
        println!("{}", serde_json::to_string(&ports).unwrap_or_default());
    } else if ports.is_empty() {
        println!("No serial ports found. (Pseudo-terminals such as the simulator's are never listed; pass their path to --port.)");
    } else {
        for p in ports {
            println!("{:<24} {}", p.name, p.description);
        }
    }
    Ok(ExitCode::SUCCESS)
}
