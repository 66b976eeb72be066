//! Where the station keeps its log, CA and labels.

use std::path::{Path, PathBuf};

/// Environment variable overriding the platform's app-data directory.
pub const DATA_DIR_ENV: &str = "HALLMARK_DATA_DIR";

/// The station's data directory.
#[derive(Clone, Debug)]
pub struct DataDir(PathBuf);

impl DataDir {
    /// `--data-dir` if given, else `$HALLMARK_DATA_DIR`, else the platform's app-data
    /// directory (`~/.local/share/hallmark` on Linux).
    pub fn resolve(flag: Option<PathBuf>) -> Result<DataDir, crate::SetupError> {
        if let Some(p) = flag {
            return Ok(DataDir(p));
        }
        if let Some(p) = std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
            return Ok(DataDir(PathBuf::from(p)));
        }
        dirs::data_dir().map(|d| DataDir(d.join("hallmark"))).ok_or(crate::SetupError::NoDataDir(DATA_DIR_ENV))
    }

    /// A data directory at `path`.
    pub fn at(path: impl Into<PathBuf>) -> DataDir {
        DataDir(path.into())
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The SQLite log.
    pub fn log_path(&self) -> PathBuf {
        self.0.join("hallmark-log.sqlite")
    }

    /// The CA directory.
    pub fn ca_dir(&self) -> PathBuf {
        self.0.join("ca")
    }

    /// The configuration saved by the engineer screen when the station runs on the
    /// embedded default (read at start-up when no `--config` is given).
    pub fn config_path(&self) -> PathBuf {
        self.0.join("station.toml")
    }

    /// Where the station window writes QA exports.
    pub fn exports_dir(&self) -> PathBuf {
        self.0.join("exports")
    }

    /// Where label PDFs are saved.
    pub fn labels_dir(&self) -> PathBuf {
        self.0.join("labels")
    }
}
