//! Assembling a [`Station`] from the configuration, the data directory and flags.

use crate::args::StationArgs;
use crate::error::CliError;
use crate::passphrase;
use hallmark_ca::{CaStore, KeyLocation};
use hallmark_config::LoadedConfig;
use hallmark_station::assemble::{assemble, label_template, Overrides};
use hallmark_station::datadir::DataDir;
use hallmark_station::pipeline::Station;
use hallmark_store::Store;

pub fn data_dir(flag: Option<std::path::PathBuf>) -> Result<DataDir, CliError> {
    DataDir::resolve(flag).map_err(CliError::Usage)
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

/// Opens a connection to the log, closing runs a stopped station left open.
pub fn open_store(data_dir: &DataDir) -> Result<Store, CliError> {
    let store = Store::open(&data_dir.log_path())?;
    for run in store.recover_interrupted()? {
        eprintln!("note: run {run} was left open by a station that stopped; it is recorded as INTERRUPTED");
    }
    Ok(store)
}

/// Loads the configuration, unlocks or creates the CA and loads the label template.
pub fn open_station(args: &StationArgs) -> Result<Station, CliError> {
    let (config, config_path) = load_config_from(args)?;
    let data_dir = data_dir(args.data_dir.clone())?;
    std::fs::create_dir_all(data_dir.path())
        .map_err(|source| CliError::Io { what: format!("cannot create {}", data_dir.path().display()), source })?;
    let over = Overrides {
        label_template: args.label_template.clone(),
        station_id: args.station.clone(),
        response_ms: args.response_timeout_ms,
        keygen_ms: args.keygen_timeout_ms,
        attempts: args.attempts,
    };
    let label_template = label_template(&config, config_path.as_deref(), &over).map_err(CliError::Usage)?;
    let ca_store = CaStore::new(data_dir.ca_dir());
    let ca = match ca_store.key_location()? {
        Some(KeyLocation::Token(_)) => ca_store.unlock_token(&passphrase::token_pin()?)?,
        Some(KeyLocation::File) => ca_store.unlock(&passphrase::obtain(false)?)?,
        None => {
            let ca = ca_store.create(&passphrase::obtain(true)?, time::OffsetDateTime::now_utc())?;
            eprintln!("note: created a new station CA in {}", ca_store.dir().display());
            ca
        }
    };
    assemble(config, data_dir, ca, label_template, &over, std::sync::Arc::new(crate::sim_probe::Probes))
        .map_err(CliError::Usage)
}

/// Publishes a CRL if a revocation is not on the newest one yet (a run that revoked
/// but could not publish). A failure here is reported and does not stop the station.
pub fn publish_pending_crl(station: &Station, store: &Store) {
    match station.publish_crl_if_needed(store) {
        Ok(Some(p)) => eprintln!("note: published CRL #{} ({} entries) to {}", p.number, p.revoked, p.path.display()),
        Ok(None) => {}
        Err(e) => eprintln!("warning: revocations are waiting to be published but the CRL failed: {e}"),
    }
}

/// How the station reaches a configured slot's board.
pub fn slot_link(slot: &hallmark_config::SlotConfig) -> Result<hallmark_station::pipeline::LinkTarget, CliError> {
    hallmark_station::pipeline::LinkTarget::for_slot(slot).map_err(CliError::Usage)
}
