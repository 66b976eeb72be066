//! Engineer commands: the role (PIN), station configuration, printer and CA.
//! Every change needs the unlocked role and is written to the log's audit chain
//! before it takes effect; failed PIN attempts are audited too.

use super::{lock, AppState};
use crate::ipc::*;
use crate::runner::{Command, ConfigChange};
use hallmark_ca::{CaStore, KeyLocation, Passphrase, Reason};
use hallmark_config::{apply_edit, ConfigEdit, LoadedConfig};
use hallmark_station::ca_status::{ca_status as read_ca_status, CaStatus};
use hallmark_station::engineer::{EngineerError, NewPin, PinFile, PinGuard};
use hallmark_store::Store;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tauri::{Emitter, State};

/// How long the role stays unlocked after the last engineer action.
const SESSION: Duration = Duration::from_secs(15 * 60);

/// The configuration in force and where a change goes.
pub struct ConfigSource {
    /// The configuration in force.
    pub config: LoadedConfig,
    /// Its text.
    pub text: String,
    /// Where a change is saved: the file it came from, else `<data>/station.toml`.
    pub file: PathBuf,
}

impl ConfigSource {
    /// The configured label template file, resolved like the station does.
    pub fn template_path(&self) -> Option<PathBuf> {
        hallmark_station::assemble::template_path(&self.config, Some(&self.file))
    }
}

/// The engineer role in this window (locked until the PIN is entered).
#[derive(Default)]
pub struct Session {
    guard: PinGuard,
    unlocked_until: Option<Instant>,
}

impl Session {
    fn unlocked(&self, now: Instant) -> bool {
        self.unlocked_until.is_some_and(|t| now < t)
    }
}

fn pin_file(state: &AppState) -> Result<PinFile, ApiError> {
    state.data_dir().map(PinFile::in_dir)
}

/// Appends an audit entry to the log.
pub fn audit(state: &AppState, actor: &str, action: &str, detail: serde_json::Value) -> Result<(), ApiError> {
    Store::open(&state.log).and_then(|s| s.append_audit(actor, action, &detail)).map_err(|e| {
        // Audited before it acts: no entry, no action.
        ApiError::new(
            FailureCode::LogUnavailable,
            "The QA log could not be written, so nothing was done.",
            "Call the line engineer (check the data directory).",
        )
        .with_detail(e)
    })
}

fn engineer_error(e: EngineerError) -> ApiError {
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
            format!(
                "Try again: {remaining} attempts left before a {}-minute lockout.",
                hallmark_station::engineer::LOCKOUT.as_secs() / 60
            ),
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

/// A rule written as a clause ("choose a PIN that ...") as a sentence.
fn sentence(clause: &str) -> String {
    let mut chars = clause.chars();
    let first = chars.next().map(|c| c.to_uppercase().collect::<String>()).unwrap_or_default();
    format!("{first}{}.", chars.as_str().trim_end_matches('.'))
}

/// The audit actor for engineer actions.
pub const ACTOR: &str = "engineer";

/// Checks the role is unlocked and keeps it unlocked for another [`SESSION`].
pub fn require_engineer(state: &AppState) -> Result<(), ApiError> {
    let mut s = lock(&state.engineer);
    let now = Instant::now();
    if !s.unlocked(now) {
        return Err(ApiError::new(
            FailureCode::EngineerOnly,
            "This needs the engineer role.",
            "Enter the engineer PIN first.",
        ));
    }
    s.unlocked_until = Some(now + SESSION);
    Ok(())
}

fn view(state: &AppState) -> EngineerView {
    // Demo stations set their first PIN without the CA passphrase.
    let demo = state.demo();
    let s = lock(&state.engineer);
    let now = Instant::now();
    let left = s.unlocked_until.filter(|t| now < *t).map(|t| (t - now).as_secs().div_ceil(60));
    EngineerView {
        pin_set: pin_file(state).map(|f| f.is_set()).unwrap_or(false),
        unlocked: left.is_some(),
        minutes_left: left.unwrap_or(0) as u32,
        needs_ca_passphrase: !demo,
    }
}

/// The engineer role's state.
#[tauri::command]
pub fn engineer_state(state: State<'_, AppState>) -> EngineerView {
    view(&state)
}

/// Sets the engineer PIN. The first PIN needs the CA passphrase (proof of authority
/// over the station; not on a demo station); changing it needs the unlocked role.
#[tauri::command]
pub async fn engineer_set_pin(
    state: State<'_, AppState>,
    pin: String,
    ca_passphrase: Option<String>,
) -> Result<EngineerView, ApiError> {
    let new: NewPin = pin.parse().map_err(engineer_error)?;
    let file = pin_file(&state)?;
    let first = !file.is_set();
    if !first {
        require_engineer(&state)?;
    } else if !state.demo() {
        let passphrase = ca_passphrase.filter(|p| !p.is_empty()).ok_or_else(|| {
            ApiError::new(
                FailureCode::CaPassphrase,
                "Setting the first engineer PIN needs the CA passphrase of this station.",
                "Enter the CA passphrase (or token PIN) too.",
            )
        })?;
        let ca = CaStore::new(state.data_dir()?.ca_dir());
        let ok = tauri::async_runtime::spawn_blocking(move || match ca.key_location() {
            Ok(Some(KeyLocation::File)) => ca.unlock(&Passphrase::for_unlock(passphrase)).is_ok(),
            Ok(Some(KeyLocation::Token(_))) => ca.unlock_token(&passphrase).is_ok(),
            _ => false,
        })
        .await
        .unwrap_or(false);
        if !ok {
            audit(&state, ACTOR, "engineer-pin-refused", json!({ "reason": "wrong CA passphrase" }))?;
            return Err(ApiError::new(
                FailureCode::CaPassphrase,
                "That is not the CA passphrase (or token PIN) of this station.",
                "Enter it again, or ask whoever holds it.",
            ));
        }
    }
    audit(&state, ACTOR, if first { "engineer-pin-set" } else { "engineer-pin-changed" }, json!({}))?;
    file.set(&new).map_err(engineer_error)?;
    lock(&state.engineer).unlocked_until = Some(Instant::now() + SESSION);
    Ok(view(&state))
}

/// Unlocks the engineer role with the PIN.
#[tauri::command]
pub async fn engineer_login(state: State<'_, AppState>, pin: String) -> Result<EngineerView, ApiError> {
    let file = pin_file(&state)?;
    let result = {
        let mut s = lock(&state.engineer);
        // scrypt on purpose takes ~0.1 s; the window thread is not this one.
        let r = s.guard.check(&file, &pin, Instant::now());
        if r.is_ok() {
            s.unlocked_until = Some(Instant::now() + SESSION);
        }
        r
    };
    match result {
        Ok(()) => {
            audit(&state, ACTOR, "engineer-login", json!({}))?;
            Ok(view(&state))
        }
        Err(e) => {
            audit(&state, ACTOR, "engineer-login-failed", json!({ "reason": e.to_string() }))?;
            Err(engineer_error(e))
        }
    }
}

/// Locks the engineer role.
#[tauri::command]
pub fn engineer_logout(state: State<'_, AppState>) -> EngineerView {
    lock(&state.engineer).unlocked_until = None;
    view(&state)
}

fn config_view(source: &ConfigSource) -> ConfigView {
    ConfigView {
        edit: ConfigEdit::from_config(&source.config.config),
        origin: source.config.origin.clone(),
        file: source.file.display().to_string(),
        hash: source.config.hash.clone(),
    }
}

/// The configuration in force, as the form edits it.
#[tauri::command]
pub fn config_get(state: State<'_, AppState>) -> ConfigView {
    config_view(&lock(&state.config))
}

/// Checks, audits, saves and puts in force a changed configuration (between runs).
#[tauri::command]
pub async fn config_save(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    edit: ConfigEdit,
) -> Result<ConfigView, ApiError> {
    require_engineer(&state)?;
    save_config(&app, &state, edit, false).await
}

/// Puts `edit` in force through the station actor and updates what the window shows.
/// `reload` saves even when no setting changed (the template file did).
pub async fn save_config(
    app: &tauri::AppHandle,
    state: &AppState,
    edit: ConfigEdit,
    reload: bool,
) -> Result<ConfigView, ApiError> {
    let (config, text, file, changes) = {
        let source = lock(&state.config);
        let origin = source.file.display().to_string();
        let invalid = |e: hallmark_config::ConfigError| {
            ApiError::new(
                FailureCode::ConfigRejected,
                "The configuration was not accepted.",
                "Correct it and save again.",
            )
            .with_detail(e)
        };
        let text = apply_edit(&source.text, &origin, &edit).map_err(invalid)?;
        let config = LoadedConfig::parse(&text, &origin).map_err(invalid)?;
        let changes = edit.changes_from(&ConfigEdit::from_config(&source.config.config));
        (config, text, source.file.clone(), changes)
    };
    if changes.is_empty() && !reload {
        return Err(ApiError::new(FailureCode::ConfigRejected, "Nothing was changed.", "Change a setting, then save."));
    }
    let change =
        ConfigChange { config: config.clone(), text: text.clone(), file: file.clone(), actor: ACTOR.into(), changes };
    let info = state.runner.ask(|reply| Command::Reconfigure { change: Box::new(change), reply }).await?;
    let view = {
        let mut source = lock(&state.config);
        *source = ConfigSource { config, text, file };
        config_view(&source)
    };
    {
        let mut station = lock(&state.view);
        station.station_id = info.station_id;
        station.slots = crate::slot_views(&info.slots);
        station.config_origin = info.origin;
    }
    app.emit("station-changed", ()).ok();
    Ok(view)
}

/// The CA: certificates, counts, CRL, warnings.
#[tauri::command]
pub fn ca_status(state: State<'_, AppState>) -> Result<CaStatus, ApiError> {
    let dir = state.data_dir()?;
    let config = lock(&state.config).config.config.clone();
    read_ca_status(dir, &config, time::OffsetDateTime::now_utc()).map_err(|e| {
        ApiError::new(FailureCode::CaFailed, "The CA's status cannot be read.", "Call the line engineer.")
            .with_detail(e)
    })
}

/// Revokes every valid certificate of a UID (or one serial) and publishes the CRL.
#[tauri::command]
pub async fn ca_revoke(state: State<'_, AppState>, target: String, reason: String) -> Result<RevokeView, ApiError> {
    require_engineer(&state)?;
    let reason: Reason = reason.parse().map_err(|e: String| {
        ApiError::new(FailureCode::CaFailed, "That is not a revocation reason.", "Choose one of the listed reasons.")
            .with_detail(e)
    })?;
    let target = target.trim().to_string();
    if target.is_empty() {
        return Err(ApiError::new(
            FailureCode::CaFailed,
            "There is nothing to revoke.",
            "Enter the UID (or certificate serial) to revoke.",
        ));
    }
    let (serials, crl) =
        state.runner.ask(|reply| Command::Revoke { target, reason, actor: ACTOR.into(), reply }).await?;
    Ok(RevokeView { serials, crl_number: crl as u32 })
}

/// The printer in force.
#[tauri::command]
pub fn printer_info(state: State<'_, AppState>) -> PrinterView {
    let source = lock(&state.config);
    PrinterView {
        printer: source
            .config
            .config
            .label
            .printer
            .as_ref()
            .map(hallmark_station::printer::describe)
            .unwrap_or_default(),
    }
}

/// Prints the template with sample values (UID `TEST-PRINT`); audited.
#[tauri::command]
pub async fn printer_test(state: State<'_, AppState>) -> Result<PrintView, ApiError> {
    let done = state.runner.ask(|reply| Command::TestPrint { actor: ACTOR.into(), reply }).await?;
    Ok(PrintView {
        label_pdf: done.label_pdf,
        printer: done.print.as_ref().map(|j| j.printer.clone()),
        outcome: done.print.as_ref().map(|j| j.outcome.clone()),
        job_id: done.print.and_then(|j| j.job_id),
    })
}
