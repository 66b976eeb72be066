//! The simulated board's "flash": hardware id, key and installed identity, kept in a
//! JSON file written atomically (temp file + rename) after every change.

use crate::SimError;
use hallmark_agent::InstalledIdentity;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What survives a power cycle of the simulated board.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BoardState {
    /// Hardware id, hex.
    pub hardware_id: String,
    /// Model.
    pub model: String,
    /// Firmware version.
    pub firmware_version: String,
    /// Private key scalar, hex (the simulator has no secure element).
    pub secret_key: Option<String>,
    /// Installed certificate, hex DER.
    pub certificate: Option<String>,
    /// Installed chain, hex DER.
    pub chain: Option<String>,
    /// Installed trust anchor, hex DER.
    pub trust_anchor: Option<String>,
}

impl BoardState {
    /// A factory-fresh board with a random 8-byte hardware id.
    pub fn fresh() -> BoardState {
        let mut id: [u8; 8] = rand::random();
        id[0] |= 0x10; // never all-zero
        BoardState {
            hardware_id: hex::encode_upper(id),
            model: "HM-SIM-1".into(),
            firmware_version: "1.0.0-sim".into(),
            secret_key: None,
            certificate: None,
            chain: None,
            trust_anchor: None,
        }
    }

    /// Loads `path`, or creates a fresh board there if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<BoardState, SimError> {
        let err = |why: String| SimError::State { path: path.display().to_string(), why };
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| err(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let s = BoardState::fresh();
                s.save(path)?;
                Ok(s)
            }
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// Writes the state atomically.
    pub fn save(&self, path: &Path) -> Result<(), SimError> {
        let err = |why: String| SimError::State { path: path.display().to_string(), why };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        }
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).map_err(|e| err(e.to_string()))?;
        std::fs::write(&tmp, text).map_err(|e| err(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
    }

    /// The installed identity, if complete.
    pub fn identity(&self) -> Option<InstalledIdentity> {
        let d = |s: &Option<String>| s.as_deref().and_then(|h| hex::decode(h).ok());
        Some(InstalledIdentity {
            certificate: d(&self.certificate)?,
            chain: d(&self.chain)?,
            trust_anchor: d(&self.trust_anchor)?,
        })
    }

    /// Records an installed identity.
    pub fn set_identity(&mut self, identity: Option<&InstalledIdentity>) {
        self.certificate = identity.map(|i| hex::encode(&i.certificate));
        self.chain = identity.map(|i| hex::encode(&i.chain));
        self.trust_anchor = identity.map(|i| hex::encode(&i.trust_anchor));
    }
}
