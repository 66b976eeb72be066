//! `hallmark --version [--json]`.

use crate::error::CliError;
use hallmark_station::build_info::BuildInfo;
use std::process::ExitCode;

pub fn run(json: bool) -> Result<ExitCode, CliError> {
    let exe = std::env::current_exe().ok();
    let info = BuildInfo::current(exe.as_deref());
    if json {
        println!("{}", serde_json::to_string(&info).unwrap_or_default());
    } else {
        println!("hallmark {}", info.version);
    }
    Ok(ExitCode::SUCCESS)
}
