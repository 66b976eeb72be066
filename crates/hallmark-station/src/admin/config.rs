//! Changing the station's configuration: the file it came from and its text
//! ([`ConfigSource`]), a change computed from the engineer's form ([`ConfigChange`]),
//! and putting it in force ([`Station::change_configuration`]): checked with its label
//! template, audited (`config-change`), saved with the previous file kept beside it
//! (`config-change-failed` if that fails), put in force, audited again
//! (`config-changed`).

use super::{audit_before, AdminError};
use crate::assemble::{check, label_template, load_config, template_path, Overrides};
use crate::datadir::DataDir;
use crate::pipeline::Station;
use hallmark_config::{apply_edit, ConfigEdit, ConfigError, LoadedConfig};
use hallmark_store::Store;
use serde_json::json;
use std::path::{Path, PathBuf};

/// A configuration with its text and the file a change to it is saved to.
#[derive(Clone, Debug)]
pub struct ConfigSource {
    /// The configuration.
    pub config: LoadedConfig,
    /// Its text (comments and all: a change keeps them).
    pub text: String,
    /// Where a change is saved: the file it came from, else `<data>/station.toml`.
    pub file: PathBuf,
}

impl ConfigSource {
    /// The configuration a station runs with ([`load_config`]: `flag`, else the one
    /// saved in the data directory, else the embedded default) and where a change to
    /// it is saved.
    pub fn load(flag: Option<&Path>, dir: &DataDir) -> Result<ConfigSource, ConfigError> {
        let (config, file) = load_config(flag, dir)?;
        let text = match &file {
            Some(f) => std::fs::read_to_string(f)
                .map_err(|source| ConfigError::Read { path: f.display().to_string(), source })?,
            None => hallmark_config::EXAMPLE.to_string(),
        };
        Ok(ConfigSource { config, text, file: file.unwrap_or_else(|| dir.config_path()) })
    }

    /// The configured label template file, resolved like the station resolves it.
    pub fn template_path(&self) -> Option<PathBuf> {
        template_path(&self.config, Some(&self.file))
    }

    /// The change that writes `edit` into this configuration's text, parsed by the
    /// one parser, with the list of settings it changes (for the audit trail).
    /// `reload`: a change even when no setting differs (the template file did).
    pub fn change(&self, edit: &ConfigEdit, actor: &str, reload: bool) -> Result<ConfigChange, AdminError> {
        let origin = self.file.display().to_string();
        let invalid = |e: ConfigError| AdminError::InvalidConfig(e.to_string());
        let text = apply_edit(&self.text, &origin, edit).map_err(invalid)?;
        let config = LoadedConfig::parse(&text, &origin).map_err(invalid)?;
        let changes = edit.changes_from(&ConfigEdit::from_config(&self.config.config));
        if changes.is_empty() && !reload {
            return Err(AdminError::NothingChanged);
        }
        Ok(ConfigChange { config, text, file: self.file.clone(), actor: actor.to_string(), changes })
    }
}

/// A configuration change, parsed already; [`Station::change_configuration`] checks
/// it with its label template before anything is written.
#[derive(Clone, Debug)]
pub struct ConfigChange {
    /// The new configuration.
    pub config: LoadedConfig,
    /// Its text, to be saved.
    pub text: String,
    /// Where it is saved.
    pub file: PathBuf,
    /// Who, for the audit trail.
    pub actor: String,
    /// `setting: old → new`, for the audit trail.
    pub changes: Vec<String>,
}

impl Station {
    /// Checks, audits, saves and puts in force a configuration change (between runs:
    /// the caller owns the station exclusively). Returns the configuration now in
    /// force with its text and file.
    ///
    /// A configuration that does not pass the checks (with the label template it
    /// names) is refused with nothing audited or saved. `config-change` is audited
    /// before the file is written; if the save fails, `config-change-failed` is
    /// audited and the file and the configuration in force stay as they were.
    /// Front-end overrides do not apply: the file's settings are put in force as
    /// they are.
    pub fn change_configuration(&mut self, store: &Store, change: ConfigChange) -> Result<ConfigSource, AdminError> {
        let over = Overrides::default();
        let template = label_template(&change.config, Some(&change.file), &over)
            .map_err(|e| AdminError::InvalidConfig(e.to_string()))?;
        let checked = check(&change.config, &template, &over).map_err(|e| AdminError::InvalidConfig(e.to_string()))?;
        let file = change.file.display().to_string();
        let detail =
            json!({ "file": file, "before": self.config.hash, "after": change.config.hash, "changes": change.changes });
        audit_before(store, &change.actor, "config-change", &detail)?;
        if let Err(e) = save_keeping_previous(&change.file, &change.text) {
            // The failure is evidence too; the error the caller sees matters more
            // than a second log failure.
            let error = format!("{file}: {e}");
            store.append_audit(&change.actor, "config-change-failed", &json!({ "file": file, "error": error })).ok();
            return Err(AdminError::NotSaved { file, reason: e.to_string() });
        }
        let hash = change.config.hash.clone();
        self.reconfigure(change.config.clone(), template, checked);
        store
            .append_audit(&change.actor, "config-changed", &json!({ "file": file, "hash": hash }))
            .map_err(AdminError::ResultNotAudited)?;
        Ok(ConfigSource { config: change.config, text: change.text, file: change.file })
    }
}

/// Writes `text` to `file` through a temporary file (a crash never leaves half a
/// configuration), keeping the version it replaces as `*.toml.previous`.
pub fn save_keeping_previous(file: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    if file.exists() {
        std::fs::copy(file, file.with_extension("toml.previous"))?;
    }
    let tmp = file.with_extension("toml.new");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, file)
}
