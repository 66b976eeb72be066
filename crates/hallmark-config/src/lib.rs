//! The station configuration: one TOML file with a `version` key, unknown keys
//! rejected. The SHA-256 of the file's bytes is recorded with every run, so QA can
//! tell which configuration produced a record.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod edit;
mod model;

pub use edit::{apply_edit, ConfigEdit, PrinterEdit, SelftestEdit, SlotEdit, UidEdit};

pub use model::*;

use sha2::{Digest, Sha256};
use std::path::Path;

/// The configuration version this build reads.
pub const CONFIG_VERSION: u32 = 1;

/// The commented example shipped in `config/station.example.toml`; also the
/// embedded default.
pub const EXAMPLE: &str = include_str!("../../../config/station.example.toml");

/// Errors reading a configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the station configuration {path}: {source}")]
    Read {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// TOML syntax error, unknown key or wrong type.
    #[error("station configuration {origin} is invalid: {message}")]
    Invalid {
        /// File or "embedded default".
        origin: String,
        /// What is wrong and where.
        message: String,
    },
}

/// A parsed configuration with the hash of the text it came from.
#[derive(Clone, Debug)]
pub struct LoadedConfig {
    /// The configuration.
    pub config: StationConfig,
    /// SHA-256 of the file's bytes, hex.
    pub hash: String,
    /// Where it came from.
    pub origin: String,
}

impl LoadedConfig {
    /// Parses `text` (from `origin`) and validates it.
    pub fn parse(text: &str, origin: &str) -> Result<LoadedConfig, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid { origin: origin.to_string(), message };
        let config: StationConfig = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        config.validate().map_err(invalid)?;
        Ok(LoadedConfig { config, hash: hex::encode(Sha256::digest(text.as_bytes())), origin: origin.to_string() })
    }

    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<LoadedConfig, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The embedded default (the shipped example).
    pub fn embedded_default() -> LoadedConfig {
        // The example is parsed by a unit test; failure here is a build defect.
        Self::parse(EXAMPLE, "embedded default").expect("shipped example configuration is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_example_parses() {
        let c = LoadedConfig::embedded_default();
        assert_eq!(c.config.version, 1);
        assert_eq!(c.hash.len(), 64);
        assert!(!c.config.slot.is_empty());
    }

    #[test]
    fn unknown_keys_and_versions_are_refused() {
        let with_typo = EXAMPLE.replacen("[station]", "[station]\ncolour = \"red\"", 1);
        let e = LoadedConfig::parse(&with_typo, "t").unwrap_err().to_string();
        assert!(e.contains("colour"), "{e}");
        let v2 = EXAMPLE.replacen("version = 1", "version = 2", 1);
        let e = LoadedConfig::parse(&v2, "t").unwrap_err().to_string();
        assert!(e.contains("version 2"), "{e}");
    }

    #[test]
    fn a_fleet_names_its_server_and_never_its_password() {
        let with = |section: &str| LoadedConfig::parse(&format!("{EXAMPLE}\n[fleet]\n{section}"), "t");
        let ok = with("url = \"postgresql://station_a@db.example:5432/hallmark\"\n").unwrap();
        let fleet = ok.config.fleet.unwrap();
        assert_eq!((fleet.sync_interval_ms, fleet.batch, fleet.uid_block), (2000, 500, 1000));
        assert_eq!(fleet.when_offline, WhenOffline::Proceed);
        let refuse = with("url = \"postgresql://a@h/db\"\nwhen_offline = \"refuse\"\nuid_block = 50\n").unwrap();
        let refuse = refuse.config.fleet.unwrap();
        assert_eq!((refuse.when_offline, refuse.uid_block), (WhenOffline::Refuse, 50));
        assert!(LoadedConfig::embedded_default().config.fleet.is_none(), "no fleet by default");
        for (section, words) in [
            ("url = \"postgresql://a@h/db\"\npassword = \"x\"\n", "HALLMARK_FLEET_PASSWORD"),
            ("url = \"postgresql://a:secret@h/db\"\n", "carries a password"),
            ("url = \"mysql://a@h/db\"\n", "postgresql://"),
            ("url = \"postgresql://h:5432/db\"\n", "database user"),
            ("url = \"postgresql://a@h/db\"\nbatch = 0\n", "batch"),
            ("url = \"postgresql://a@h/db\"\nuid_block = 0\n", "uid_block"),
            ("url = \"postgresql://a@h/db\"\nwhen_offline = \"guess\"\n", "when_offline"),
        ] {
            let e = with(section).unwrap_err().to_string();
            assert!(e.contains(words), "{section}: {e}");
        }
    }

    #[test]
    fn slot_names_must_be_unique() {
        let text = format!("{EXAMPLE}\n[[slot]]\nname = \"A\"\nport = \"/dev/ttyUSB9\"\n");
        let e = LoadedConfig::parse(&text, "t").unwrap_err().to_string();
        assert!(e.contains("slot"), "{e}");
    }

    #[test]
    fn modem_slots_need_a_sec_tag_and_a_serial_port() {
        let slot = |extra: &str| format!("{EXAMPLE}\n[[slot]]\nname = \"M\"\nport = \"/dev/ttyACM0\"\n{extra}");
        let ok =
            LoadedConfig::parse(&slot("dialect = \"nrf91-at\"\nsec_tag = 42\nat_mode = \"shell\"\n"), "t").unwrap();
        let m = ok.config.slot.last().unwrap();
        assert_eq!((m.dialect, m.sec_tag, m.at_mode), (DialectKind::Nrf91At, Some(42), AtModeSetting::Shell));
        for (extra, words) in [
            ("dialect = \"nrf91-at\"\n", "needs sec_tag"),
            ("dialect = \"nrf91-at\"\nsec_tag = 2147483648\n", "reserved"),
            ("sec_tag = 42\n", "are for dialect"),
            ("hardware_id = \"uuid\"\n", "are for dialect"),
            ("dialect = \"nrf91-at\"\nsec_tag = 1\nhardware_id = \"serial\"\n", "serial"),
            ("dialect = \"nrf92\"\nsec_tag = 1\n", "nrf92"),
        ] {
            let e = LoadedConfig::parse(&slot(extra), "t").unwrap_err().to_string();
            assert!(e.contains(words), "{extra}: {e}");
        }
        let probe = format!(
            "{EXAMPLE}\n[[slot]]\nname = \"P\"\nprobe = \"0d28:0204\"\nchip = \"nRF9160_xxAA\"\ndialect = \"nrf91-at\"\nsec_tag = 1\n"
        );
        let e = LoadedConfig::parse(&probe, "t").unwrap_err().to_string();
        assert!(e.contains("not a probe"), "{e}");
    }

    #[test]
    fn broker_mode_needs_a_usable_broker() {
        let broker = |section: &str| {
            EXAMPLE.replacen("[selftest]\nmode = \"auto\"", &format!("[selftest]\nmode = \"broker\"\n{section}"), 1)
        };
        let e = LoadedConfig::parse(&broker(""), "t").unwrap_err().to_string();
        assert!(e.contains("[selftest.broker]"), "{e}");
        let e =
            LoadedConfig::parse(&broker("[selftest.broker]\naddress = \"localhost\""), "t").unwrap_err().to_string();
        assert!(e.contains("host:port"), "{e}");
        let ok = LoadedConfig::parse(&broker("[selftest.broker]\naddress = \"127.0.0.1:8883\""), "t").unwrap();
        let b = ok.config.selftest.broker.unwrap();
        assert_eq!(b.host_port().unwrap(), ("127.0.0.1".to_string(), 8883));
        assert_eq!(b.server_name().unwrap(), "127.0.0.1");
        assert_eq!(b.timeout_ms, 5000);
        let e = LoadedConfig::parse(&broker("[selftest.broker]\naddress = \"h:1\"\ntimeout_ms = 5"), "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("timeout_ms"), "{e}");
    }
}
