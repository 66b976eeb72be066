//! Assembling a [`Station`] from the data directory and flags.

use crate::args::StationArgs;
use crate::error::CliError;
use crate::passphrase;
use hallmark_ca::{CaStore, LeafProfile};
use hallmark_label::Template;
use hallmark_station::client::Timeouts;
use hallmark_station::datadir::DataDir;
use hallmark_station::pipeline::Station;
use hallmark_store::Store;
use std::time::Duration;

pub fn data_dir(flag: Option<std::path::PathBuf>) -> Result<DataDir, CliError> {
    DataDir::resolve(flag).map_err(CliError::Usage)
}

/// Opens the log (closing runs a crashed station left open), unlocks or creates the
/// CA and loads the label template.
pub fn open_station(args: &StationArgs) -> Result<Station, CliError> {
    let data_dir = data_dir(args.data_dir.clone())?;
    std::fs::create_dir_all(data_dir.path())
        .map_err(|source| CliError::Io { what: format!("cannot create {}", data_dir.path().display()), source })?;
    let store = Store::open(&data_dir.log_path())?;
    for run in store.recover_interrupted()? {
        eprintln!("note: run {run} was left open by a station that stopped; it is recorded as INTERRUPTED");
    }
    let label_template = match &args.label_template {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|source| CliError::Io { what: format!("cannot read {}", path.display()), source })?;
            Template::from_toml(&text)?
        }
        None => Template::embedded_default(),
    };
    let ca_store = CaStore::new(data_dir.ca_dir());
    let (ca, created) = ca_store.open_or_create(passphrase::obtain)?;
    if created {
        eprintln!("note: created a new station CA in {}", ca_store.dir().display());
    }
    Ok(Station {
        ca,
        store,
        label_template,
        leaf_profile: LeafProfile::default(),
        data_dir,
        station_name: args.station.clone().unwrap_or_else(hostname),
        timeouts: Timeouts {
            response: Duration::from_millis(args.response_timeout_ms),
            keygen: Duration::from_millis(args.keygen_timeout_ms),
            attempts: args.attempts,
        },
    })
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "station".to_string())
}
