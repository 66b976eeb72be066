use thiserror::Error;

/// Exit code: the board failed.
pub const EXIT_FAIL: u8 = 1;
/// Exit code: the station could not run (setup, CA, log, arguments).
pub const EXIT_SETUP: u8 = 2;

/// Errors that stop the station before or around a run (not a board failure).
#[derive(Debug, Error)]
pub enum CliError {
    #[error("{0}")]
    Ca(#[from] hallmark_ca::CaError),
    #[error("{0}")]
    Store(#[from] hallmark_store::StoreError),
    #[error("{0}")]
    Label(#[from] hallmark_label::LabelError),
    #[cfg(feature = "demo")]
    #[error("{0}")]
    Sim(#[from] hallmark_sim::SimError),
    #[error("{0}")]
    Config(#[from] hallmark_config::ConfigError),
    #[error("{0}")]
    Startup(#[from] hallmark_station::startup::StartupError),
    #[error("{0}")]
    Setup(#[from] hallmark_station::SetupError),
    #[error("{0}")]
    Fleet(#[from] hallmark_fleet::FleetError),
    #[error("{0}")]
    CaHierarchy(#[from] hallmark_station::ca_hierarchy::CaHierarchyError),
    #[error("{0}")]
    Conformance(#[from] hallmark_station::conformance::ConformanceError),
    #[error("{0}")]
    Evidence(#[from] hallmark_station::evidence::EvidenceError),
    #[error("{0}")]
    Usage(String),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

impl From<hallmark_station::transport::PortError> for CliError {
    fn from(e: hallmark_station::transport::PortError) -> CliError {
        CliError::Setup(e.into())
    }
}
