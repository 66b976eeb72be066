//! The station actor: one thread owns the [`Station`] and a single-threaded async
//! runtime on which every slot's run is a task (as in `hallmark run`). Commands arrive
//! over a channel; progress leaves as `run-event` events. The core needs no `Send`
//! or `Sync` for this, and a slow board never blocks the window.

use crate::demo::SimSlot;
use crate::ipc::{ApiError, RunEvent, RunView, StepView};
use hallmark_station::pipeline::{LinkTarget, Observer, RunRequest, Station};
use hallmark_station::report::{RunReport, StepReport};
use hallmark_store::Store;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::mpsc;
use tauri::{AppHandle, Emitter};

/// Steps of a usual fresh run, for the progress bar.
const USUAL_STEPS: &[&str] =
    &["connect", "identify", "keygen", "csr", "sign", "install", "readback", "selftest", "label", "finish"];

/// What the window asks of the station.
pub enum Command {
    /// Run the board in `slot`.
    Start {
        /// Slot.
        slot: String,
        /// Operator badge.
        operator: Option<String>,
        /// Scanned pre-printed label.
        scanned_uid: Option<String>,
    },
    /// Reprint the label of `uid`.
    Reprint {
        /// UID.
        uid: String,
        /// Operator.
        operator: Option<String>,
        /// Answer.
        reply: mpsc::Sender<Result<String, ApiError>>,
    },
}

/// The handle the Tauri commands use.
pub struct Runner {
    tx: tokio::sync::mpsc::UnboundedSender<Command>,
}

impl Runner {
    /// A runner with no station behind it (the station could not start).
    pub fn closed() -> Runner {
        let (tx, _) = tokio::sync::mpsc::unbounded_channel();
        Runner { tx }
    }

    /// Sends a command to the station thread.
    pub fn send(&self, c: Command) -> Result<(), ApiError> {
        self.tx.send(c).map_err(|_| ApiError::new("STATION", "The station has stopped: restart the application."))
    }
}

/// Starts the station thread with the station `build` makes; returns once it is
/// built (or failed to be).
pub fn start(
    app: AppHandle,
    build: Box<dyn FnOnce() -> Result<Station, String> + Send>,
    sims: BTreeMap<String, SimSlot>,
) -> (Runner, Result<StationInfo, String>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Command>();
    let (ready_tx, ready_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let station = match build() {
            Ok(s) => Rc::new(s),
            Err(e) => {
                ready_tx.send(Err(e)).ok();
                return;
            }
        };
        let info = StationInfo {
            station_id: station.station_id.clone(),
            slots: station.config.config.slot.clone(),
            origin: station.config.origin.clone(),
            data_dir: station.data_dir.path().display().to_string(),
        };
        ready_tx.send(Ok(info)).ok();
        let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(_) => return,
        };
        let local = tokio::task::LocalSet::new();
        let sims = Rc::new(sims);
        local.block_on(&rt, async move {
            let busy: Rc<std::cell::RefCell<BTreeSet<String>>> = Rc::default();
            while let Some(command) = rx.recv().await {
                match command {
                    Command::Start { slot, operator, scanned_uid } => {
                        if !busy.borrow_mut().insert(slot.clone()) {
                            emit(&app, RunEvent::Error { slot, error: ApiError::new("BUSY", "This slot is running.") });
                            continue;
                        }
                        let (station, app, busy, sims) = (station.clone(), app.clone(), busy.clone(), sims.clone());
                        tokio::task::spawn_local(async move {
                            let event = run_slot(&station, &app, &slot, operator, scanned_uid).await;
                            emit(&app, event);
                            if let Some(sim) = sims.get(&slot) {
                                sim.next_board();
                            }
                            busy.borrow_mut().remove(&slot);
                        });
                    }
                    Command::Reprint { uid, operator, reply } => {
                        let result = Store::open(&station.data_dir.log_path())
                            .map_err(|e| ApiError::new("LOG", e.to_string()))
                            .and_then(|store| {
                                station
                                    .reprint(&store, &uid, operator.as_deref().unwrap_or("operator"))
                                    .map(|r| r.label_pdf)
                                    .map_err(|f| ApiError::new(&f.code.as_str(), f.message))
                            });
                        reply.send(result).ok();
                    }
                }
            }
        });
    });
    let info = ready_rx.recv().unwrap_or_else(|_| Err("the station thread stopped".into()));
    (Runner { tx }, info)
}

/// What the window needs to know about the station.
pub struct StationInfo {
    /// Station id.
    pub station_id: String,
    /// Slots.
    pub slots: Vec<hallmark_config::SlotConfig>,
    /// Configuration origin.
    pub origin: String,
    /// Data directory.
    pub data_dir: String,
}

async fn run_slot(
    station: &Station,
    app: &AppHandle,
    slot: &str,
    operator: Option<String>,
    scanned_uid: Option<String>,
) -> RunEvent {
    let error = |e: ApiError| RunEvent::Error { slot: slot.to_string(), error: e };
    let Some(config) = station.config.config.slot.iter().find(|s| s.name == slot) else {
        return error(ApiError::new("STATION", format!("There is no slot {slot}.")));
    };
    let port = match LinkTarget::for_slot(config) {
        Ok(p) => p,
        Err(e) => return error(ApiError::new("STATION", e)),
    };
    let store = match Store::open(&station.data_dir.log_path()) {
        Ok(s) => s,
        Err(e) => return error(ApiError::new("LOG", e.to_string())),
    };
    let request = RunRequest { port, slot: Some(slot.to_string()), operator, scanned_uid };
    let observer = GuiObserver { app: app.clone(), slot: slot.to_string() };
    match station.provision_serial(&store, &request, &observer, std::future::pending()).await {
        Ok(report) => RunEvent::Finished { slot: slot.to_string(), run: run_view(&report) },
        Err(f) => error(ApiError::new(&f.code.as_str(), f.message)),
    }
}

fn emit(app: &AppHandle, event: RunEvent) {
    app.emit("run-event", event).ok();
}

struct GuiObserver {
    app: AppHandle,
    slot: String,
}

impl Observer for GuiObserver {
    fn step_started(&self, step: &str) {
        let index = USUAL_STEPS.iter().position(|s| *s == step).map(|i| i as u32 + 1).unwrap_or(0);
        emit(
            &self.app,
            RunEvent::Step { slot: self.slot.clone(), step: step.to_string(), index, total: USUAL_STEPS.len() as u32 },
        );
    }

    fn step_ended(&self, _step: &StepReport) {}
}

/// The report as the window shows it.
pub fn run_view(r: &RunReport) -> RunView {
    RunView {
        run_id: r.run_id.clone(),
        outcome: r.outcome.as_str().to_string(),
        slot: r.slot.clone(),
        uid: r.uid.clone(),
        operator: None,
        started_at: None,
        failure: r.failure.as_ref().map(|f| ApiError::new(&f.code.as_str(), f.message.clone())),
        failing_step: r.steps.iter().find(|s| s.outcome != "PASS").map(|s| s.name.clone()),
        steps: r
            .steps
            .iter()
            .map(|s| StepView { name: s.name.clone(), outcome: s.outcome.clone(), ms: s.ms })
            .collect(),
        label_pdf: r.label_pdf.clone(),
        cert_serial: r.cert_serial.clone(),
    }
}
