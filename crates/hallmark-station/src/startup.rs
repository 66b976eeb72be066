//! Station start-up, the same for every front end: [`Station::open`] loads the
//! configuration, creates the data directory, loads the label template, unlocks (or
//! creates) the CA, assembles the station, closes runs a stopped station left open,
//! publishes revocations that never reached a CRL and looks at every slot's link. What
//! it found is a [`StartupReport`] the CLI prints and the window shows.
//!
//! The front end only decides where secrets come from ([`CaSecrets`]: a terminal
//! prompt, an environment variable, a throwaway demo passphrase).

use crate::assemble::{assemble, label_template, Overrides};
use crate::crl::Published;
use crate::datadir::DataDir;
use crate::fixture::{slot_links, SlotLink};
use crate::pipeline::Station;
use crate::probe::ProbeBackend;
use crate::{Failure, FailureCode};
use hallmark_ca::{CaError, CaStore, KeyLocation, Passphrase};
use hallmark_config::LoadedConfig;
use hallmark_store::{InterruptedRun, RunFailure, Store};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// Where the CA's secrets come from; each front end decides (terminal, environment).
pub trait CaSecrets {
    /// The CA passphrase. `creating`: a new CA will be made with it (enforce the
    /// minimum length, ask twice).
    fn passphrase(&self, creating: bool) -> Result<Passphrase, CaError>;
    /// The PIN of the token holding the issuing key.
    fn token_pin(&self) -> Result<String, CaError>;
}

/// Secrets a front end already holds (environment variables, a throwaway demo
/// passphrase); a missing one is an error that says how to provide it.
#[derive(Clone, Default)]
pub struct GivenSecrets {
    /// The CA passphrase.
    pub passphrase: Option<String>,
    /// The token PIN.
    pub token_pin: Option<String>,
}

impl GivenSecrets {
    /// `HALLMARK_CA_PASSPHRASE` and `HALLMARK_PKCS11_PIN`.
    pub fn from_env() -> GivenSecrets {
        GivenSecrets { passphrase: std::env::var(PASSPHRASE_ENV).ok(), token_pin: std::env::var(PIN_ENV).ok() }
    }
}

/// The environment variable holding the CA passphrase.
pub const PASSPHRASE_ENV: &str = "HALLMARK_CA_PASSPHRASE";
/// The environment variable holding the token PIN.
pub const PIN_ENV: &str = "HALLMARK_PKCS11_PIN";

impl CaSecrets for GivenSecrets {
    fn passphrase(&self, creating: bool) -> Result<Passphrase, CaError> {
        let p = self.passphrase.clone().ok_or_else(|| {
            CaError::SecretMissing(format!("the CA passphrase is needed: start the station with {PASSPHRASE_ENV} set"))
        })?;
        if creating {
            Passphrase::for_new_ca(p)
        } else {
            Ok(Passphrase::for_unlock(p))
        }
    }

    fn token_pin(&self) -> Result<String, CaError> {
        self.token_pin.clone().ok_or_else(|| {
            CaError::SecretMissing(format!("the token PIN is needed: start the station with {PIN_ENV} set"))
        })
    }
}

/// Which configuration the station runs with.
#[derive(Clone, Debug)]
pub enum ConfigChoice {
    /// `--config` / `$HALLMARK_CONFIG` if given, else the one saved in the data
    /// directory, else the embedded default ([`crate::assemble::load_config`]).
    Resolve(Option<PathBuf>),
    /// A configuration the front end built (the demo), and the file it is saved to.
    Given {
        /// The configuration.
        config: Box<LoadedConfig>,
        /// Its file (relative template paths are resolved against it).
        file: Option<PathBuf>,
    },
}

/// What [`Station::open`] needs.
pub struct OpenOptions {
    /// The data directory (created if missing).
    pub data_dir: DataDir,
    /// The configuration.
    pub config: ConfigChoice,
    /// Front-end overrides (CLI flags).
    pub overrides: Overrides,
    /// Debug probes for SWD slots.
    pub probes: Arc<dyn ProbeBackend>,
}

/// Why the station could not start. Each message says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    /// The configuration file could not be read or is invalid.
    #[error(transparent)]
    Config(#[from] hallmark_config::ConfigError),
    /// The data directory could not be created.
    #[error(
        "cannot create the data directory {path}: {source}. Check that the station's user may write there, \
         or choose another directory with --data-dir or HALLMARK_DATA_DIR."
    )]
    DataDir {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The configuration (with its label template) does not pass the station's checks.
    #[error(transparent)]
    Invalid(#[from] crate::SetupError),
    /// The CA could not be unlocked or created.
    #[error(transparent)]
    Ca(#[from] CaError),
    /// The log could not be opened or repaired.
    #[error(transparent)]
    Log(#[from] hallmark_store::StoreError),
    /// The thread starting the station stopped before it finished (a bug: the
    /// technical detail is in the station's error output).
    #[error("the station stopped while starting; restart the application and report it if it happens again")]
    Stopped,
}

/// What happened to revocations waiting for a CRL at start-up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CrlAtStart {
    /// Every revocation is on the newest CRL.
    UpToDate,
    /// Revocations were waiting; a new CRL was published.
    Published {
        /// CRL number.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        number: u64,
        /// Certificates it lists.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        revoked: u64,
        /// Where it was written.
        path: String,
    },
    /// Revocations are waiting and publishing failed (the station still starts).
    Failed {
        /// What went wrong, in words.
        detail: String,
    },
}

/// What start-up found and did; both front ends show it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StartupReport {
    /// A new CA was created (first start on this data directory).
    pub ca_created: bool,
    /// Runs a stopped station left open, now closed as `INTERRUPTED`.
    pub interrupted: Vec<InterruptedRun>,
    /// Revocations waiting for a CRL.
    pub crl: CrlAtStart,
    /// Every slot's link as found at start.
    pub slots: Vec<SlotLink>,
}

impl StartupReport {
    /// What an operator or engineer should know, one sentence each (the CLI's notes;
    /// the window words the same facts in the operator's language).
    pub fn notes(&self, ca_dir: &std::path::Path) -> Vec<String> {
        let mut notes = Vec::new();
        if self.ca_created {
            notes.push(format!("created a new station CA in {}", ca_dir.display()));
        }
        for run in &self.interrupted {
            notes.push(format!(
                "run {} was left open by a station that stopped; it is recorded as INTERRUPTED. {}",
                run.run_id,
                run_again(run)
            ));
        }
        match &self.crl {
            CrlAtStart::UpToDate => {}
            CrlAtStart::Published { number, revoked, path } => {
                notes.push(format!("published CRL #{number} ({revoked} entries) to {path}"))
            }
            CrlAtStart::Failed { detail } => notes.push(format!(
                "revocations are waiting to be published but the CRL failed: {detail}. \
                 Brokers do not know of them yet: fix the [crl] path, then restart the station."
            )),
        }
        notes
    }
}

/// "Run board X in slot A again", from what the interrupted run got to.
fn run_again(run: &InterruptedRun) -> String {
    let board = match (&run.uid, &run.hardware_id) {
        (Some(uid), _) => format!("board {uid}"),
        (None, Some(hw)) => format!("the board with hardware id {hw}"),
        (None, None) => "its board".to_string(),
    };
    let place = run.slot.as_ref().map(|s| format!(" in slot {s}")).unwrap_or_else(|| format!(" on {}", run.port));
    let step = run.step.as_ref().map(|s| format!(" (it stopped at {s})")).unwrap_or_default();
    format!("Run {board}{place} again{step}: it resumes safely.")
}

impl Station {
    /// Starts a station: everything a front end needs before its first run.
    pub fn open(options: OpenOptions, secrets: &dyn CaSecrets) -> Result<(Station, StartupReport), StartupError> {
        let OpenOptions { data_dir, config, overrides, probes } = options;
        let (config, config_file) = match config {
            ConfigChoice::Resolve(flag) => crate::assemble::load_config(flag.as_deref(), &data_dir)?,
            ConfigChoice::Given { config, file } => (*config, file),
        };
        std::fs::create_dir_all(data_dir.path())
            .map_err(|source| StartupError::DataDir { path: data_dir.path().display().to_string(), source })?;
        let template = label_template(&config, config_file.as_deref(), &overrides).map_err(StartupError::Invalid)?;
        // Check the configuration before the CA is unlocked or created: a bad file
        // must not leave a fresh CA behind.
        let checked = crate::assemble::check(&config, &template, &overrides).map_err(StartupError::Invalid)?;
        let (ca, ca_created) = unlock_ca(&CaStore::new(data_dir.ca_dir()), secrets)?;
        let station = assemble(config, data_dir, ca, template, checked, probes);
        let store = Store::open(&station.data_dir.log_path())?;
        if station.config.config.fleet.is_some() {
            // From here on every row the log gains is also queued for the fleet.
            store.enable_outbox()?;
            // Which CA signs this station's devices, for the fleet's broker files.
            let issuing = hallmark_ca::fingerprint(station.ca.issuing_der());
            store.note_ca_certificate(&issuing, &station.ca.chain_pem())?;
        }
        // The store records what it is given: the code and words are the station's.
        let closing = Failure::new(
            FailureCode::Interrupted,
            "The station stopped during this run (crash, power cut or kill).",
            "Run the board again: it resumes safely.",
        );
        // Strings and a unit enum always serialize; Null would still close the runs.
        let record = serde_json::to_value(&closing).unwrap_or_default();
        let code = closing.code.as_str();
        let interrupted =
            store.recover_interrupted(&RunFailure { code: &code, message: &closing.message, record: &record })?;
        let crl = match station.publish_crl_if_needed(&store) {
            Ok(None) => CrlAtStart::UpToDate,
            Ok(Some(p)) => published(&p),
            Err(e) => CrlAtStart::Failed { detail: e.to_string() },
        };
        let slots = slot_links(&station.config.config.slot);
        Ok((station, StartupReport { ca_created, interrupted, crl, slots }))
    }
}

fn published(p: &Published) -> CrlAtStart {
    CrlAtStart::Published { number: p.number, revoked: p.revoked as u64, path: p.path.display().to_string() }
}

/// Unlocks the CA in `store`, or creates one on first start; `true` if created.
fn unlock_ca(store: &CaStore, secrets: &dyn CaSecrets) -> Result<(hallmark_ca::IssuingCa, bool), CaError> {
    Ok(match store.key_location()? {
        Some(KeyLocation::Token(_)) => (store.unlock_token(&secrets.token_pin()?)?, false),
        Some(KeyLocation::File) => (store.unlock(&secrets.passphrase(false)?)?, false),
        None => (store.create(&secrets.passphrase(true)?, time::OffsetDateTime::now_utc())?, true),
    })
}
