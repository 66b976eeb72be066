//! Command-line interface. Names, flags and exit codes are a contract with factory
//! scripts: add to them, never change them.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "hallmark", version, about = "Hallmark factory provisioning station")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Provision one board: identity, certificate, self-test, label. Exit 0 on PASS,
    /// 1 on FAIL, 2 when the station itself cannot run (CA, log, arguments).
    Provision(ProvisionArgs),
    /// Run a simulated board on a pseudo-terminal; prints the port path as the first
    /// line on stdout and serves until killed.
    Sim(SimArgs),
    /// Start a fresh simulated board and provision it end to end (the demo).
    Demo(DemoArgs),
    /// QA log commands.
    Log {
        #[command(subcommand)]
        command: LogCommand,
    },
    /// List serial ports on this machine.
    Ports {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args, Debug, Clone)]
pub struct StationArgs {
    /// Data directory (log, CA, labels). Default: $HALLMARK_DATA_DIR, else the
    /// platform's app-data directory.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Station name recorded with each run. Default: the host name.
    #[arg(long)]
    pub station: Option<String>,
    /// Operator badge recorded with the run.
    #[arg(long)]
    pub operator: Option<String>,
    /// Label template file (TOML). Default: the embedded 50x25 mm template.
    #[arg(long, value_name = "FILE")]
    pub label_template: Option<PathBuf>,
    /// Per-attempt deadline for a device answer.
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    pub response_timeout_ms: u64,
    /// Per-attempt deadline for on-device key generation.
    #[arg(long, default_value_t = 10000, value_name = "MS")]
    pub keygen_timeout_ms: u64,
    /// Attempts per request before giving up (retransmissions + 1).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub attempts: u32,
}

#[derive(clap::Args, Debug)]
pub struct ProvisionArgs {
    /// Serial port of the board (e.g. /dev/ttyUSB0, or the path `hallmark sim` printed).
    #[arg(long)]
    pub port: String,
    /// Print one JSON object with the run's result on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub station: StationArgs,
}

#[derive(clap::Args, Debug)]
pub struct SimArgs {
    /// The board's "flash" (JSON). Created as a fresh board if missing.
    /// Default: <data dir>/sim/board.json.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Misbehave on purpose: slow-keygen[=MS], drop-after=STEP, corrupt-frames=RATE,
    /// bad-csr-signature, csr-wrong-key, oversized-frame, silent. Repeatable.
    #[arg(long = "fault", value_name = "FAULT")]
    pub faults: Vec<String>,
    /// Data directory (only used for the default state path).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    #[command(flatten)]
    pub station: StationArgs,
}

#[derive(Subcommand, Debug)]
pub enum LogCommand {
    /// Export every run (one record per run).
    Export {
        /// Output format.
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Write to a file instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Check the log's hash chain; exit 0 if intact, 1 if broken.
    Verify {
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}
