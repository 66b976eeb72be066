//! The Tauri commands: thin adapters from IPC types to the station core. Operator
//! commands are here; QA, engineer and label-editor commands have their own modules.

pub mod engineer;
pub mod label;
pub mod qa;

use crate::ipc::*;
use crate::runner::{Command, Runner};
use hallmark_store::Store;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use tauri::State;

/// What the commands share.
pub struct AppState {
    /// The station as the window shows it (changes with the configuration).
    pub view: Mutex<StationView>,
    /// The station thread.
    pub runner: Runner,
    /// The QA log.
    pub log: PathBuf,
    /// The data directory (none when the station could not start).
    pub data_dir: Option<hallmark_station::datadir::DataDir>,
    /// The configuration in force, its text and where changes are saved.
    pub config: Mutex<engineer::ConfigSource>,
    /// The engineer role (none when the station did not start).
    pub engineer: Option<std::sync::Arc<hallmark_station::admin::EngineerRole>>,
    /// The fleet sync's state (none without `[fleet]`).
    pub fleet: Option<hallmark_station::fleet_sync::SyncWatch>,
}

impl AppState {
    /// The data directory, or why there is none (the station did not start).
    pub fn data_dir(&self) -> Result<&hallmark_station::datadir::DataDir, ApiError> {
        self.data_dir.as_ref().ok_or_else(|| {
            ApiError::new(FailureCode::Station, "The station did not start.", "Fix the start-up error first.")
        })
    }

    /// A demo station (throwaway data and CA).
    pub fn demo(&self) -> bool {
        lock(&self.view).demo
    }
}

/// Locks a piece of shared state; a panic while holding it cannot leave it
/// half-written (every holder assigns whole values), so a poisoned lock is used as is.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The QA log cannot be read.
pub fn log_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        FailureCode::LogUnavailable,
        "The QA log cannot be read.",
        "Call the line engineer (check the data directory).",
    )
    .with_detail(e)
}

/// The QA log, read-only.
pub fn open_log(state: &AppState) -> Result<Store, ApiError> {
    Store::open_read_only(&state.log).map_err(log_error)
}

/// The station: id, slots, demo mode, start-up error.
#[tauri::command]
pub fn station_info(state: State<'_, AppState>) -> StationView {
    let fleet = lock(&state.config).config.config.fleet.is_some();
    StationView { fleet, ..lock(&state.view).clone() }
}

/// Every slot's link as it is now (the operator screen polls it: a fixture unplugged
/// or plugged in shows without a restart).
#[tauri::command]
pub fn slot_links(state: State<'_, AppState>) -> Vec<hallmark_station::fixture::SlotLink> {
    hallmark_station::fixture::slot_links(&lock(&state.config).config.config.slot)
}

/// The fleet link as it is now (the operator screen polls it); `null` without a fleet.
#[tauri::command]
pub fn fleet_state(state: State<'_, AppState>) -> Option<FleetView> {
    state.fleet.as_ref().map(|watch| FleetView::from(&watch.state()))
}

/// Starts a run on a slot; progress arrives as `run-event`s.
#[tauri::command]
pub fn start_run(
    state: State<'_, AppState>,
    slot: String,
    operator: Option<String>,
    scanned_uid: Option<String>,
) -> Result<(), ApiError> {
    if let Some(e) = &lock(&state.view).error {
        return Err(e.clone());
    }
    state.runner.send(Command::Start { slot, operator, scanned_uid, done: None })
}

/// The operator badge scanned at the station (auto-started runs are recorded with it).
#[tauri::command]
pub fn set_operator(state: State<'_, AppState>, operator: Option<String>) -> Result<(), ApiError> {
    state.runner.send(Command::Operator(operator))
}

/// Reprints the label of a UID's latest passing run; returns the PDF path.
#[tauri::command]
pub async fn reprint(state: State<'_, AppState>, uid: String, operator: Option<String>) -> Result<String, ApiError> {
    state.runner.ask(|reply| Command::Reprint { uid, operator, reply }).await
}
