//! Everything that crosses the IPC boundary, as Rust types from which the TypeScript
//! bindings in `ui/src/bindings/` are generated (ts-rs). A unit test fails when the
//! checked-in bindings are stale.

use hallmark_station::admin::AdminError;
use hallmark_station::crl::CrlError;
use hallmark_station::engineer::{EngineerError, LOCKOUT};
use hallmark_station::Failure;
pub use hallmark_station::FailureCode;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// An error for the UI: a code from the one failure contract
/// ([`FailureCode`]), what happened and what to do in words (English; the UI may
/// word them in the operator's language by code), and technical detail apart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ApiError {
    /// Stable code: a run's failure code, or one of the window's own (`STATION`,
    /// `LOG`, `BUSY`, `CONFIG`, `CA`, ...).
    pub code: FailureCode,
    /// What happened.
    pub what: String,
    /// What to do about it.
    pub todo: String,
    /// Technical detail (an OS or parser error, a path), if any.
    pub detail: Option<String>,
}

impl ApiError {
    /// An error: what happened, and what to do about it.
    pub fn new(code: FailureCode, what: impl Into<String>, todo: impl Into<String>) -> ApiError {
        ApiError { code, what: what.into(), todo: todo.into(), detail: None }
    }

    /// The same error with technical detail.
    pub fn with_detail(mut self, detail: impl std::fmt::Display) -> ApiError {
        self.detail = Some(detail.to_string());
        self
    }

    /// A failure as the log recorded it (a run's `failure` JSON). A code this station
    /// does not know (a log written by a newer station) is named in the detail.
    pub fn recorded(failure: &serde_json::Value) -> ApiError {
        match serde_json::from_value::<Failure>(failure.clone()) {
            Ok(f) => ApiError::from(&f),
            Err(e) => ApiError::new(
                FailureCode::LogUnavailable,
                "This run's failure is recorded in a form this station does not know.",
                "Read it in the log export, or update the station.",
            )
            .with_detail(format!("{e}: {failure}")),
        }
    }
}

/// The one conversion from the core's failures to the window's errors.
impl From<&Failure> for ApiError {
    fn from(f: &Failure) -> ApiError {
        ApiError { code: f.code, what: f.what.clone(), todo: f.todo.clone(), detail: f.detail.clone() }
    }
}

/// An engineer change the core refused or could not complete, in the window's words.
impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> ApiError {
        let config = |what: &str, todo: &str| ApiError::new(FailureCode::ConfigRejected, what, todo);
        let label = |what: &str, todo: &str| ApiError::new(FailureCode::LabelTemplate, what, todo);
        let log = |what: &str| ApiError::new(FailureCode::LogUnavailable, what, CALL_ENGINEER_DATA_DIR);
        match e {
            AdminError::InvalidConfig(detail) => {
                config("The configuration was not accepted.", "Correct it and save again.").with_detail(detail)
            }
            AdminError::NothingChanged => config("Nothing was changed.", "Change a setting, then save."),
            AdminError::SlotRunning => ApiError::new(
                FailureCode::SlotBusy,
                "A slot is running.",
                "Wait for it to finish, then save the configuration again.",
            ),
            AdminError::NotSaved { file, reason } => config(
                "The configuration could not be saved. Nothing changed.",
                "Check that the configuration file can be written, then save again.",
            )
            .with_detail(format!("{file}: {reason}")),
            AdminError::NotAudited(e) => log("The QA log could not be written, so nothing was done.").with_detail(e),
            AdminError::ResultNotAudited(e) => {
                log("The change was made, but the QA log could not record it.").with_detail(e)
            }
            AdminError::EngineerOnly => ApiError::new(
                FailureCode::EngineerOnly,
                "This needs the engineer role.",
                "Enter the engineer PIN first.",
            ),
            AdminError::CaSecretMissing => ApiError::new(
                FailureCode::CaPassphrase,
                "Setting the first engineer PIN needs the CA passphrase of this station.",
                "Enter the CA passphrase (or token PIN) too.",
            ),
            AdminError::CaSecretWrong => ApiError::new(
                FailureCode::CaPassphrase,
                "That is not the CA passphrase (or token PIN) of this station.",
                "Enter it again, or ask whoever holds it.",
            ),
            AdminError::Pin(e) => e.into(),
            AdminError::TemplateInvalid(e) => label("The template is not valid.", FIX_TEMPLATE).with_detail(e),
            AdminError::TemplateMisfit(e) => {
                label("The template does not fit this station's boards.", FIX_TEMPLATE).with_detail(e)
            }
            AdminError::TemplateNotWritten { path, reason } => {
                label("The template could not be written.", "Check the data directory's permissions.")
                    .with_detail(format!("{path}: {reason}"))
            }
            e => ApiError::new(FailureCode::Station, "The change could not be made.", "Call the line engineer.")
                .with_detail(e),
        }
    }
}

const CALL_ENGINEER_DATA_DIR: &str = "Call the line engineer (check the data directory).";
const FIX_TEMPLATE: &str = "Fix the problems shown, then save again.";

/// The engineer PIN refused, or its file unusable.
impl From<EngineerError> for ApiError {
    fn from(e: EngineerError) -> ApiError {
        match e {
            EngineerError::NotSet => {
                ApiError::new(FailureCode::PinNotSet, "No engineer PIN is set on this station.", "Set one first.")
            }
            EngineerError::WeakPin(rule) => {
                ApiError::new(FailureCode::WeakPin, "That engineer PIN is not accepted.", sentence(&rule))
            }
            EngineerError::Wrong { remaining } => ApiError::new(
                FailureCode::WrongPin,
                "Wrong engineer PIN.",
                format!("Try again: {remaining} attempts left before a {}-minute lockout.", LOCKOUT.as_secs() / 60),
            ),
            EngineerError::LockedOut { seconds } => ApiError::new(
                FailureCode::LockedOut,
                "Too many wrong PINs: the engineer role is locked.",
                format!("Wait {seconds} s, then try again."),
            ),
            EngineerError::File { path, reason } => ApiError::new(
                FailureCode::PinFile,
                format!("The engineer PIN file {path} cannot be read or written."),
                "Check the data directory's permissions, or call the line engineer.",
            )
            .with_detail(reason),
        }
    }
}

/// A rule written as a clause ("choose a PIN that ...") as a sentence.
fn sentence(clause: &str) -> String {
    let mut chars = clause.chars();
    let first = chars.next().map(|c| c.to_uppercase().collect::<String>()).unwrap_or_default();
    format!("{first}{}.", chars.as_str().trim_end_matches('.'))
}

/// A revocation that did not go through, in words.
impl From<CrlError> for ApiError {
    fn from(e: CrlError) -> ApiError {
        match e {
            CrlError::NothingToRevoke(target) => ApiError::new(
                FailureCode::CaFailed,
                format!(
                    "There is no valid certificate for {target:?} (neither a serial nor a UID with an unrevoked \
                     certificate)."
                ),
                "Check the UID or serial.",
            ),
            e @ CrlError::Write { .. } => ApiError::new(
                FailureCode::CaFailed,
                "The new CRL could not be written.",
                "Check the [crl] path and its permissions.",
            )
            .with_detail(e),
            CrlError::Fleet(e) => ApiError::new(
                FailureCode::CaFailed,
                "Another station issued this certificate, and the revocation could not be queued in the fleet.",
                "Check the connection to the fleet server (hallmark fleet status) and try again.",
            )
            .with_detail(e),
            e => ApiError::new(
                FailureCode::CaFailed,
                "The revocation could not be completed.",
                "Call the line engineer.",
            )
            .with_detail(e),
        }
    }
}

/// One slot, as the operator screen shows it.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct SlotView {
    /// Nickname.
    pub name: String,
    /// Port or probe.
    pub link: String,
    /// Whether a fixture is connected on the port (as last looked).
    pub state: hallmark_station::fixture::LinkState,
    /// Runs start when a board appears.
    pub auto_start: bool,
}

/// The station's link to the fleet as the operator screen shows it, so a bench knows
/// when it is cut off (provisioning goes on locally either way).
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct FleetView {
    /// The last sync reached the fleet server.
    pub connected: bool,
    /// Records waiting to be sent.
    pub waiting: u32,
    /// When the last complete sync ended (RFC 3339).
    pub last_sync: Option<String>,
    /// Why the last sync failed, in words.
    pub last_error: Option<String>,
    /// Alarms raised for this station's records since start-up.
    pub conflicts: u32,
    /// UID numbers left in leased blocks for today's stem (`sequence` scheme).
    pub uid_numbers_left: Option<u32>,
}

impl From<&hallmark_station::fleet_sync::SyncState> for FleetView {
    fn from(s: &hallmark_station::fleet_sync::SyncState) -> FleetView {
        let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        FleetView {
            connected: s.connected,
            waiting: clamp(s.waiting.max(0) as u64),
            last_sync: s.last_sync.clone(),
            last_error: s.last_error.clone(),
            conflicts: clamp(s.conflicts),
            uid_numbers_left: s.uid_blocks.first().map(|b| clamp(b.position.left)),
        }
    }
}

/// The station at start-up.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct StationView {
    /// Station id.
    pub station_id: String,
    /// Slots.
    pub slots: Vec<SlotView>,
    /// A demo station with simulated boards.
    pub demo: bool,
    /// Where the configuration came from.
    pub config_origin: String,
    /// The data directory.
    pub data_dir: String,
    /// Why the station cannot run, if it cannot (no CA passphrase, bad configuration).
    pub error: Option<ApiError>,
    /// Full-screen kiosk mode requested.
    pub kiosk: bool,
    /// What start-up found (interrupted runs closed, a CRL published).
    pub startup: Option<hallmark_station::startup::StartupReport>,
    /// A fleet is configured: the QA screen can show every station's runs.
    pub fleet: bool,
}

/// One step of a run.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct StepView {
    /// Step name.
    pub name: String,
    /// PASS / FAIL.
    pub outcome: String,
    /// Duration, ms.
    pub ms: f64,
}

/// What the operator and QA see of a finished run.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct RunView {
    /// Run id.
    pub run_id: String,
    /// PASS / FAIL / INTERRUPTED.
    pub outcome: String,
    /// Slot.
    pub slot: Option<String>,
    /// UID.
    pub uid: Option<String>,
    /// Operator badge.
    pub operator: Option<String>,
    /// When it started (RFC 3339).
    pub started_at: Option<String>,
    /// Failure, if any.
    pub failure: Option<ApiError>,
    /// The failing step.
    pub failing_step: Option<String>,
    /// Steps.
    pub steps: Vec<StepView>,
    /// Label PDF on disk.
    pub label_pdf: Option<String>,
    /// Certificate serial.
    pub cert_serial: Option<String>,
    /// The station that ran it (shown with the fleet scope).
    pub station: Option<String>,
}

/// Progress of runs, pushed to the UI as the `run-event` event.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
// Events are built once and serialised at once: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
pub enum RunEvent {
    /// A step started.
    Step {
        /// Slot.
        slot: String,
        /// Step name.
        step: String,
        /// 1-based position among the usual steps.
        index: u32,
        /// Usual number of steps.
        total: u32,
    },
    /// The run ended.
    Finished {
        /// Slot.
        slot: String,
        /// The run.
        run: RunView,
    },
    /// Auto-start is watching the slot's port for a board.
    Waiting {
        /// Slot.
        slot: String,
    },
    /// The run could not start or be logged.
    Error {
        /// Slot.
        slot: String,
        /// Why.
        error: ApiError,
    },
}

/// QA filter.
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
pub struct RunQuery {
    /// PASS / FAIL / INTERRUPTED.
    pub outcome: Option<String>,
    /// UID.
    pub uid: Option<String>,
    /// Operator.
    pub operator: Option<String>,
    /// Slot.
    pub slot: Option<String>,
    /// Failing step.
    pub failing_step: Option<String>,
    /// From (date or RFC 3339).
    pub from: Option<String>,
    /// To.
    pub to: Option<String>,
    /// Page number, 0 = newest.
    pub page: u32,
    /// Rows per page.
    pub page_size: u32,
    /// Every station's runs from the fleet database instead of this station's log.
    #[serde(default)]
    pub fleet: bool,
}

/// One page of runs, newest first.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct RunPage {
    /// Runs the filter selects.
    pub total: u32,
    /// This page.
    pub runs: Vec<RunView>,
}

/// One logged event of a run.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct EventView {
    /// Step.
    pub step: String,
    /// start / end.
    pub phase: String,
    /// Outcome of an end event.
    pub outcome: Option<String>,
    /// Duration, ms.
    pub ms: Option<f64>,
    /// The logged detail, JSON text.
    pub detail: String,
}

/// A certificate as QA sees it.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct CertificateView {
    /// Serial (hex).
    pub serial: String,
    /// SHA-256 fingerprint.
    pub fingerprint: String,
    /// Subject.
    pub subject: String,
    /// Validity start.
    pub not_before: String,
    /// Validity end.
    pub not_after: String,
    /// Revocation reason, if revoked.
    pub revoked: Option<String>,
}

/// A run with everything QA needs.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct RunDetail {
    /// The run.
    pub run: RunView,
    /// Its events.
    pub events: Vec<EventView>,
    /// Certificates of its UID.
    pub certificates: Vec<CertificateView>,
}

/// `log verify`.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct VerifyView {
    /// Intact.
    pub ok: bool,
    /// Events checked.
    pub events: u32,
    /// What is wrong, if anything.
    pub problem: Option<String>,
}

/// Statistics for the QA charts.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct StatsView {
    /// Runs.
    pub runs: u32,
    /// Passed.
    pub passed: u32,
    /// Yield, percent.
    pub yield_percent: f64,
    /// First-pass yield, percent.
    pub first_pass_yield_percent: f64,
    /// Failures by step (Pareto): label and count.
    pub failures_by_step: Vec<(String, u32)>,
    /// Per hour: hour, runs, passed.
    pub per_hour: Vec<(String, u32, u32)>,
    /// With the fleet scope, per station: station, runs, devices, devices passed,
    /// yield percent.
    pub stations: Vec<(String, u32, u32, u32, f64)>,
}

/// A label preview.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct LabelPreview {
    /// PNG, base64, when the template is valid.
    pub png_base64: Option<String>,
    /// Problems, each placed at its element.
    pub errors: Vec<TemplateProblem>,
}

/// One problem of a label template, placed where the editor can show it.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct TemplateProblem {
    /// 1-based element number, when an element is at fault.
    pub element: Option<u32>,
    /// 1-based line in the template text (the element's `[[element]]` line, or where
    /// the syntax error is).
    pub line: Option<u32>,
    /// What is wrong and what to change.
    pub message: String,
}

/// The engineer role.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct EngineerView {
    /// A PIN has been set on this station.
    pub pin_set: bool,
    /// The role is unlocked in this window.
    pub unlocked: bool,
    /// Minutes until it locks itself again.
    pub minutes_left: u32,
    /// Setting the first PIN needs the CA passphrase (not on a demo station).
    pub needs_ca_passphrase: bool,
}

/// The configuration as the engineer screen edits it.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ConfigView {
    /// The editable settings.
    pub edit: hallmark_config::ConfigEdit,
    /// Where the configuration in force came from.
    pub origin: String,
    /// Where a change is saved.
    pub file: String,
    /// SHA-256 of the configuration in force (recorded with every run).
    pub hash: String,
}

/// The printer in force.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct PrinterView {
    /// `cups:<queue>`, `zpl-tcp:<address>`, `folder:<path>`, or empty (PDF archive only).
    pub printer: String,
}

/// What a (test) print did.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct PrintView {
    /// The PDF kept for it.
    pub label_pdf: String,
    /// The printer, if one is configured.
    pub printer: Option<String>,
    /// `submitted`, `sent` or `saved`.
    pub outcome: Option<String>,
    /// Job id or file written.
    pub job_id: Option<String>,
}

/// A revocation.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct RevokeView {
    /// Serials revoked (or, with `queued_for`, queued).
    pub serials: Vec<String>,
    /// The CRL published with them (0 when queued).
    pub crl_number: u32,
    /// Another fleet station issued them: the revocation is queued for these stations,
    /// which publish it at their next sync.
    pub queued_for: Vec<String>,
}

/// A device's signed evidence, written by the window.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct EvidenceView {
    /// `<UID>.json`.
    pub json: String,
    /// `<UID>.json.p7s`.
    pub signature: String,
    /// `<UID>.pdf`.
    pub pdf: String,
    /// The identity's state in the record.
    pub status: String,
    /// SHA-256 of the JSON.
    pub sha256: String,
}

impl From<hallmark_station::evidence::EvidenceFiles> for EvidenceView {
    fn from(f: hallmark_station::evidence::EvidenceFiles) -> EvidenceView {
        let path = |p: std::path::PathBuf| p.display().to_string();
        EvidenceView {
            json: path(f.json),
            signature: path(f.signature),
            pdf: path(f.pdf),
            status: f.status,
            sha256: f.sha256,
        }
    }
}

/// Evidence that could not be made, in words.
impl From<hallmark_station::evidence::EvidenceError> for ApiError {
    fn from(e: hallmark_station::evidence::EvidenceError) -> ApiError {
        use hallmark_station::evidence::EvidenceError;
        match e {
            EvidenceError::UnknownDevice(uid) => ApiError::new(
                FailureCode::LogUnavailable,
                format!("This station's log has no device {uid}."),
                "Check the UID; a device made at another fleet station has its evidence there.",
            ),
            e @ EvidenceError::Write { .. } => ApiError::new(
                FailureCode::LogUnavailable,
                "The evidence files could not be written.",
                "Check the data directory's exports folder and its permissions.",
            )
            .with_detail(e),
            e => ApiError::new(FailureCode::CaFailed, "The evidence could not be signed.", "Call the line engineer.")
                .with_detail(e),
        }
    }
}

/// An export written by the window.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ExportView {
    /// The file.
    pub path: String,
    /// Records in it.
    pub rows: u32,
}
