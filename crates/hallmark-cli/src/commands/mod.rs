//! One module per subcommand.

mod ca;
mod conformance;
#[cfg(feature = "demo")]
mod demo;
mod evidence;
mod fleet;
mod label;
mod log;
mod ports;
mod probe;
mod provision;
mod run;
mod selftest;
#[cfg(feature = "demo")]
mod sim;
mod version;

use crate::args::{Cli, Command};
use crate::error::CliError;
use std::process::ExitCode;

pub fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let Some(command) = cli.command else {
        return version::run(cli.json);
    };
    match command {
        Command::Provision(a) => provision::run(a),
        #[cfg(feature = "demo")]
        Command::Sim(a) => sim::run(a),
        #[cfg(feature = "demo")]
        Command::Demo(a) => demo::run(a),
        Command::Run(a) => run::run(a),
        Command::Ca { command } => ca::run(command),
        Command::Log { command } => log::run(command),
        Command::Selftest(a) => selftest::run(a),
        Command::Label { command } => label::run(command),
        Command::Probe { command } => probe::run(command),
        Command::Fleet { command } => fleet::run(command),
        Command::Conformance(a) => conformance::run(a),
        Command::Evidence(a) => evidence::run(a),
        Command::Ports { json } => ports::run(json),
    }
}

/// A single-threaded runtime: one board per process, and the serial stream needs
/// a reactor.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| CliError::Io { what: "cannot start the async runtime".into(), source })
}
