//! Saving the station's own label template (`<data>/label-templates/station.toml`):
//! checked like a configuration, audited (`label-template-change`, with both
//! hashes) before the file is written, then put in force by pointing the
//! configuration at it (a [`Station::change_configuration`]).

use super::{audit_before, AdminError, ConfigSource};
use crate::assemble::{check, Overrides};
use crate::pipeline::Station;
use hallmark_config::ConfigEdit;
use hallmark_label::Template;
use hallmark_store::Store;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::Path;

/// The station's label template, relative to the data directory.
pub const STATION_TEMPLATE: &str = "label-templates/station.toml";

impl Station {
    /// Saves `text` as the station's label template and puts it in force (between
    /// runs: the caller owns the station exclusively). `source` is the configuration
    /// in force with its text and file; returns the one now in force.
    ///
    /// The template must parse, lay out with sample values and fit the boards of
    /// `source` (the longest UID a probe slot's chip gives); otherwise nothing is
    /// audited or written.
    pub fn save_label_template(
        &mut self,
        store: &Store,
        source: &ConfigSource,
        text: &str,
        actor: &str,
    ) -> Result<ConfigSource, AdminError> {
        let template =
            Template::parse(text, Path::new(hallmark_label::ASSETS_DIR)).map_err(AdminError::TemplateInvalid)?;
        check(&source.config, &template, &Overrides::default())
            .map_err(|e| AdminError::TemplateMisfit(e.to_string()))?;
        let path = self.data_dir.path().join(STATION_TEMPLATE);
        let sha = |b: &[u8]| hex::encode(Sha256::digest(b));
        let before = std::fs::read(&path).ok().map(|b| sha(&b));
        let detail = json!({ "path": path, "before": before, "after": sha(text.as_bytes()) });
        audit_before(store, actor, "label-template-change", &detail)?;
        write(&path, text)
            .map_err(|e| AdminError::TemplateNotWritten { path: path.display().to_string(), reason: e.to_string() })?;
        let mut edit = ConfigEdit::from_config(&source.config.config);
        edit.label_template = path.display().to_string();
        // A reload even when the configuration already names this file: its content
        // changed.
        let change = source.change(&edit, actor, true)?;
        self.change_configuration(store, change)
    }
}

/// Writes through a temporary file, so a crash never leaves half a template.
fn write(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let partial = path.with_extension("toml.new");
    std::fs::write(&partial, text)?;
    std::fs::rename(&partial, path)
}
