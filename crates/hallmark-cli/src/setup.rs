//! Assembling a [`Station`] from the configuration, the data directory and flags.

use crate::args::StationArgs;
use crate::error::CliError;
use crate::passphrase;
use hallmark_config::LoadedConfig;
use hallmark_station::assemble::Overrides;
use hallmark_station::datadir::DataDir;
use hallmark_station::pipeline::Station;
use hallmark_station::startup::{ConfigChoice, OpenOptions};
use hallmark_store::Store;

pub fn data_dir(flag: Option<std::path::PathBuf>) -> Result<DataDir, CliError> {
    DataDir::resolve(flag).map_err(CliError::Setup)
}

/// The configuration from `--config`, else the one saved in the data directory by
/// the station window, else the embedded default; and the file it came from.
pub fn load_config_from(args: &StationArgs) -> Result<(LoadedConfig, Option<std::path::PathBuf>), CliError> {
    Ok(hallmark_station::assemble::load_config(args.config.as_deref(), &data_dir(args.data_dir.clone())?)?)
}

/// The configuration (see [`load_config_from`]).
pub fn load_config(args: &StationArgs) -> Result<LoadedConfig, CliError> {
    Ok(load_config_from(args)?.0)
}

/// Opens a connection to the log (start-up already closed interrupted runs).
pub fn open_store(data_dir: &DataDir) -> Result<Store, CliError> {
    Ok(Store::open(&data_dir.log_path())?)
}

/// Starts the station the way every front end does ([`Station::open`]), asking for
/// the CA's secrets on the terminal when the environment does not hold them, and
/// prints what start-up found.
pub fn open_station(args: &StationArgs) -> Result<Station, CliError> {
    let options = OpenOptions {
        data_dir: data_dir(args.data_dir.clone())?,
        config: ConfigChoice::Resolve(args.config.clone()),
        overrides: Overrides {
            label_template: args.label_template.clone(),
            station_id: args.station.clone(),
            response_ms: args.response_timeout_ms,
            keygen_ms: args.keygen_timeout_ms,
            attempts: args.attempts,
        },
        probes: std::sync::Arc::new(crate::sim_probe::Probes),
    };
    let (station, report) = Station::open(options, &passphrase::Terminal)?;
    for note in report.notes(&station.data_dir.ca_dir()) {
        eprintln!("note: {note}");
    }
    Ok(station)
}

/// How the station reaches a configured slot's board.
pub fn slot_link(slot: &hallmark_config::SlotConfig) -> Result<hallmark_station::pipeline::LinkTarget, CliError> {
    hallmark_station::pipeline::LinkTarget::for_slot(slot).map_err(CliError::Setup)
}
