//! `hallmark`: the station's command line. Thin: parsing, wiring and output; the
//! work happens in the library crates.
#![forbid(unsafe_code)]

mod args;
mod commands;
mod error;
mod passphrase;
mod setup;
mod sim_probe;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = args::Cli::parse();
    match commands::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(error::EXIT_SETUP)
        }
    }
}
