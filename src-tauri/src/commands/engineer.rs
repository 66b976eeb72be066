//! Engineer commands: the role (PIN), station configuration, printer and CA. The
//! rules (what needs the role, what is audited before it acts) are the core's
//! (`hallmark_station::admin`); these commands translate between the window and it.

use super::{lock, AppState};
use crate::ipc::*;
use crate::runner::{Command, Reconfigured};
use hallmark_ca::Reason;
use hallmark_config::ConfigEdit;
use hallmark_station::admin::{AdminError, EngineerRole};
use hallmark_station::ca_status::{ca_status as read_ca_status, CaStatus};
use hallmark_store::Store;
use std::sync::Arc;
use std::time::Instant;
use tauri::{Emitter, State};

pub use hallmark_station::admin::ConfigSource;
/// The audit actor for engineer actions.
pub use hallmark_station::admin::ENGINEER as ACTOR;

/// The engineer role; there is none when the station did not start.
fn role(state: &AppState) -> Result<Arc<EngineerRole>, ApiError> {
    state.data_dir()?;
    // A station with a data directory always has its role (lib.rs).
    state.engineer.clone().ok_or_else(|| AdminError::EngineerOnly.into())
}

/// Runs `f` with the QA log off the async runtime: a PIN check or a CA unlock takes
/// a while on purpose.
async fn with_log<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Store) -> Result<T, AdminError> + Send + 'static,
) -> Result<T, ApiError> {
    let log = state.log.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let store = Store::open(&log).map_err(AdminError::NotAudited)?;
        f(&store).map_err(ApiError::from)
    })
    .await
    .map_err(|e| {
        ApiError::new(FailureCode::Station, "The station did not answer.", "Restart the application.").with_detail(e)
    })?
}

/// Checks the role is unlocked and keeps it unlocked for another session.
pub fn require_engineer(state: &AppState) -> Result<(), ApiError> {
    match &state.engineer {
        Some(role) => Ok(role.require(Instant::now())?),
        // Without a station there is no role to unlock.
        None => Err(AdminError::EngineerOnly.into()),
    }
}

fn view(state: &AppState) -> EngineerView {
    match &state.engineer {
        Some(role) => {
            let s = role.status(Instant::now());
            EngineerView {
                pin_set: s.pin_set,
                unlocked: s.unlocked,
                minutes_left: s.minutes_left as u32,
                needs_ca_passphrase: s.needs_ca_secret,
            }
        }
        None => EngineerView { pin_set: false, unlocked: false, minutes_left: 0, needs_ca_passphrase: !state.demo() },
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
    let role = role(&state)?;
    with_log(&state, move |store| role.set_pin(store, &pin, ca_passphrase.as_deref(), Instant::now())).await?;
    Ok(view(&state))
}

/// Unlocks the engineer role with the PIN.
#[tauri::command]
pub async fn engineer_login(state: State<'_, AppState>, pin: String) -> Result<EngineerView, ApiError> {
    let role = role(&state)?;
    with_log(&state, move |store| role.login(store, &pin, Instant::now())).await?;
    Ok(view(&state))
}

/// Locks the engineer role.
#[tauri::command]
pub fn engineer_logout(state: State<'_, AppState>) -> EngineerView {
    if let Some(role) = &state.engineer {
        role.logout();
    }
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
    let change = lock(&state.config).change(&edit, ACTOR, false)?;
    let done = state.runner.ask(|reply| Command::Reconfigure { change: Box::new(change), reply }).await?;
    Ok(show_reconfigured(&app, &state, done))
}

/// Shows the configuration the station put in force: the form, the operator screen.
pub fn show_reconfigured(app: &tauri::AppHandle, state: &AppState, done: Reconfigured) -> ConfigView {
    let view = {
        let mut source = lock(&state.config);
        *source = done.source;
        config_view(&source)
    };
    {
        let mut station = lock(&state.view);
        station.station_id = done.info.station_id;
        station.slots = crate::slot_views(&done.info.slots);
        station.config_origin = done.info.origin;
    }
    app.emit("station-changed", ()).ok();
    view
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
    state.runner.ask(|reply| Command::Revoke { target, reason, actor: ACTOR.into(), reply }).await
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
