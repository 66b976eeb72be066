//! Why the station cannot be set up as configured or asked: a port name, a slot, the
//! certificate profile, the broker, the label template, a probe chip, the data
//! directory, the CA's state. Raised before any board is touched; every message says
//! what is wrong and where, so the engineer can fix the configuration.

/// A setup problem (configuration, data directory, ports).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// A serial port cannot be named, opened or listed.
    #[error(transparent)]
    Port(#[from] crate::transport::PortError),
    /// A slot's link is not usable.
    #[error("slot {slot}: {source}")]
    Slot {
        /// The slot.
        slot: String,
        /// Why.
        #[source]
        source: Box<SetupError>,
    },
    /// No data directory could be found.
    #[error("no app-data directory on this system; pass --data-dir or set {0}")]
    NoDataDir(&'static str),
    /// A problem found in a configuration file.
    #[error("station configuration {origin}: {source}")]
    InConfig {
        /// Where the configuration came from.
        origin: String,
        /// What is wrong.
        #[source]
        source: Box<SetupError>,
    },
    /// The `[certificate]` section does not make a profile.
    #[error(transparent)]
    Profile(#[from] crate::profile::ProfileProblem),
    /// The `[selftest.broker]` section is not usable.
    #[error("[selftest.broker]: {0}")]
    Broker(String),
    /// The label template could not be loaded.
    #[error("{path}: {source}")]
    Template {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: hallmark_label::LabelError,
    },
    /// A probe chip is unknown, or the label cannot print the UID its id gives.
    #[error("{problem}")]
    ProbeChip {
        /// The chip.
        chip: String,
        /// What is wrong, in words.
        problem: String,
    },
    /// The CA certificate a modem slot is to install cannot be used.
    #[error("the modem CA certificate {path} cannot be used: {why}")]
    ModemCa {
        /// The file.
        path: String,
        /// Why.
        why: String,
    },
    /// The CA or the log could not be read for the CA status.
    #[error("{0}")]
    CaStatus(String),
}

impl SetupError {
    /// The same problem, said of slot `slot`.
    pub fn in_slot(self, slot: &str) -> SetupError {
        SetupError::Slot { slot: slot.to_string(), source: Box::new(self) }
    }

    /// The same problem, said of the configuration from `origin`.
    pub fn in_config(self, origin: &str) -> SetupError {
        SetupError::InConfig { origin: origin.to_string(), source: Box::new(self) }
    }
}
