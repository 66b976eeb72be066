//! Putting a [`Station`] together from its parts, the same way for every front end
//! (CLI, GUI): the label template, checks of probe slots, deadlines and the
//! certificate profile. [`Station::open`](crate::startup) is the entry point that
//! uses these; obtaining the CA's secrets is the front end's business.

use crate::client::Timeouts;
use crate::datadir::DataDir;
use crate::pipeline::Station;
use crate::probe::ProbeBackend;
use crate::SetupError;
use hallmark_ca::IssuingCa;
use hallmark_config::LoadedConfig;
use hallmark_label::{LabelData, Template};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What a front end may override from the configuration.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// Label template file instead of the configuration's.
    pub label_template: Option<PathBuf>,
    /// Station id instead of `station.id`.
    pub station_id: Option<String>,
    /// Per-attempt answer deadline, ms.
    pub response_ms: Option<u64>,
    /// Per-attempt key-generation deadline, ms.
    pub keygen_ms: Option<u64>,
    /// Attempts per request.
    pub attempts: Option<u32>,
}

/// The configuration a station runs with: `flag` (`--config`, `$HALLMARK_CONFIG`),
/// else the one the engineer screen saved in the data directory, else the embedded
/// default. Also returns the file it came from (`None`: embedded).
pub fn load_config(
    flag: Option<&Path>,
    dir: &DataDir,
) -> Result<(LoadedConfig, Option<PathBuf>), hallmark_config::ConfigError> {
    let saved = dir.config_path();
    match flag {
        Some(p) => Ok((LoadedConfig::load(p)?, Some(p.to_path_buf()))),
        None if saved.exists() => Ok((LoadedConfig::load(&saved)?, Some(saved))),
        None => Ok((LoadedConfig::embedded_default(), None)),
    }
}

/// Where the label template comes from: the override, else the configuration's
/// (relative to the configuration file), else the embedded default.
pub fn label_template(
    config: &LoadedConfig,
    config_path: Option<&std::path::Path>,
    over: &Overrides,
) -> Result<Template, SetupError> {
    let path = over.label_template.clone().or_else(|| template_path(config, config_path));
    match path {
        Some(path) => {
            Template::load(&path).map_err(|source| SetupError::Template { path: path.display().to_string(), source })
        }
        None => Ok(Template::embedded_default()),
    }
}

/// The configured template file, relative to the configuration file's directory.
pub fn template_path(config: &LoadedConfig, config_path: Option<&Path>) -> Option<PathBuf> {
    let base = config_path.and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default();
    config.config.label.template.as_ref().map(|t| base.join(t))
}

/// Assembles the station from a configuration that passed [`check`].
pub fn assemble(
    config: LoadedConfig,
    data_dir: DataDir,
    ca: IssuingCa,
    label_template: Template,
    checked: Checked,
    probes: Arc<dyn ProbeBackend>,
) -> Station {
    let fleet =
        config.config.fleet.clone().map(|settings| crate::fleet_gate::FleetGate::new(settings, &checked.station_id));
    Station {
        ca,
        label_template,
        leaf_profile: checked.leaf_profile,
        data_dir,
        fleet,
        station_id: checked.station_id,
        timeouts: checked.timeouts,
        config,
        probes,
        clock: Arc::new(crate::clock::SystemClock),
    }
}

/// What a configuration gives the station once it has passed every check.
pub struct Checked {
    timeouts: Timeouts,
    leaf_profile: hallmark_ca::LeafProfile,
    station_id: String,
}

/// Checks a configuration with its label template the way [`assemble`] does (probe
/// chips, the label against the chips' UIDs, the certificate profile), without
/// touching a running station.
pub fn check(config: &LoadedConfig, label_template: &Template, over: &Overrides) -> Result<Checked, SetupError> {
    for slot in &config.config.slot {
        if let Some(chip) = &slot.chip {
            check_probe_chip(chip, config, label_template)
                .map_err(|e| e.in_slot(&slot.name).in_config(&config.origin))?;
        }
    }
    let t = &config.config.timeouts;
    let timeouts = Timeouts {
        response: Duration::from_millis(over.response_ms.unwrap_or(t.response_ms)),
        keygen: Duration::from_millis(over.keygen_ms.unwrap_or(t.keygen_ms)),
        attempts: over.attempts.unwrap_or(t.attempts),
    };
    let leaf_profile = crate::profile::leaf_profile(&config.config.certificate)
        .map_err(|e| SetupError::from(e).in_config(&config.origin))?;
    let station_id = over.station_id.clone().unwrap_or_else(|| config.config.station.id.clone());
    Ok(Checked { timeouts, leaf_profile, station_id })
}

impl Station {
    /// Puts a checked configuration in force (between runs: the caller owns the
    /// station exclusively). The CA, data directory and probes stay.
    pub fn reconfigure(&mut self, config: LoadedConfig, label_template: Template, checked: Checked) {
        self.leaf_profile = checked.leaf_profile;
        self.timeouts = checked.timeouts;
        self.station_id = checked.station_id;
        self.label_template = label_template;
        self.fleet = fleet_gate(&config, &self.station_id);
        self.config = config;
    }
}

/// The runs' link to the fleet the configuration names, if any.
fn fleet_gate(config: &LoadedConfig, station_id: &str) -> Option<Arc<crate::fleet_gate::FleetGate>> {
    config.config.fleet.clone().map(|settings| crate::fleet_gate::FleetGate::new(settings, station_id))
}

/// Checks a chip name against probe-rs's registry, and the label against the longest
/// UID the chip's id gives (96-bit STM32 ids are 24 hex digits).
pub fn check_probe_chip(chip: &str, config: &LoadedConfig, label: &Template) -> Result<(), SetupError> {
    let problem = |problem: String| SetupError::ProbeChip { chip: chip.to_string(), problem };
    crate::probe::check_chip(chip).map_err(|e| problem(e.to_string()))?;
    let family = crate::probe::uid::family_of(chip).filter(|f| !f.words.is_empty());
    if let (Some(f), hallmark_config::UidScheme::HardwareId { prefix }) = (family, &config.config.uid) {
        let uid = format!("{prefix}{}", "0".repeat(f.words.len() * 8));
        label.validate(&LabelData::sample().with("uid", uid.clone())).map_err(|e| {
            problem(format!("the label cannot print the {}-character UID of a {}: {e}", uid.len(), f.name))
        })?;
    }
    Ok(())
}
