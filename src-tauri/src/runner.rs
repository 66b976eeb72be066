//! The station actor: one thread owns the [`Station`] and a single-threaded async
//! runtime on which every slot's run is a task (as in `hallmark run`). Commands arrive
//! over a channel; progress leaves as `run-event` events. The core needs no `Send`
//! or `Sync` for this, and a slow board never blocks the window.
//!
//! Everything that needs the unlocked CA or the configuration in force (runs,
//! reprints, test prints, revocations, configuration and label-template changes)
//! goes through here; the rules of a change are the core's (`hallmark_station::admin`).

use crate::autostart;
use crate::demo::SimSlot;
use crate::ipc::{ApiError, FailureCode, RunEvent, RunView, StepView};
use hallmark_ca::Reason;
use hallmark_station::admin::{AdminError, ConfigChange, ConfigSource};
use hallmark_station::pipeline::{LinkTarget, Observer, RunRequest, Station, Step};
use hallmark_station::report::{RunReport, StepReport};
use hallmark_station::startup::{StartupError, StartupReport};
use hallmark_store::Store;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::mpsc;
use tauri::{AppHandle, Emitter};

/// Steps of a usual fresh run, for the progress bar.
const USUAL_STEPS: &[Step] = hallmark_station::pipeline::FRESH_RUN_STEPS;

type Reply<T> = mpsc::Sender<Result<T, ApiError>>;

/// What the window asks of the station.
pub enum Command {
    /// Run the board in `slot`.
    Start {
        /// Slot.
        slot: String,
        /// Operator badge (else the last one scanned).
        operator: Option<String>,
        /// Scanned pre-printed label.
        scanned_uid: Option<String>,
        /// Told when the run is over (auto-start waits for it).
        done: Option<tokio::sync::oneshot::Sender<()>>,
    },
    /// The operator badge scanned at the station (used by auto-started runs).
    Operator(Option<String>),
    /// Reprint the label of `uid`.
    Reprint {
        /// UID.
        uid: String,
        /// Operator.
        operator: Option<String>,
        /// Answer: the PDF.
        reply: Reply<String>,
    },
    /// Print the template with sample values.
    TestPrint {
        /// Who.
        actor: String,
        /// Answer.
        reply: Reply<hallmark_station::pipeline::TestPrint>,
    },
    /// Revoke a UID's (or serial's) certificates and publish the CRL.
    Revoke {
        /// UID or serial.
        target: String,
        /// Reason.
        reason: Reason,
        /// Who.
        actor: String,
        /// Answer: what was revoked here or queued for another station.
        reply: Reply<crate::ipc::RevokeView>,
    },
    /// Write the signed evidence of `uid` (needs the unlocked CA the station holds).
    Evidence {
        /// UID.
        uid: String,
        /// Who asks.
        actor: String,
        /// Answer: the files.
        reply: Reply<crate::ipc::EvidenceView>,
    },
    /// Carry out the revocations other stations queued for this one in the fleet.
    FleetRevocations,
    /// Put a new configuration in force (between runs) and save it.
    Reconfigure {
        /// What changes.
        change: Box<ConfigChange>,
        /// Answer: the station as it now is.
        reply: Reply<Reconfigured>,
    },
    /// Save the station's label template and put it in force (between runs).
    SaveTemplate {
        /// The configuration in force, its text and file.
        source: Box<ConfigSource>,
        /// The template.
        text: String,
        /// Who.
        actor: String,
        /// Answer: the station as it now is.
        reply: Reply<Reconfigured>,
    },
}

/// The station after a change the engineer made.
pub struct Reconfigured {
    /// What the window shows of it.
    pub info: StationInfo,
    /// The configuration now in force, its text and file.
    pub source: ConfigSource,
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
        self.tx
            .send(c)
            .map_err(|_| ApiError::new(FailureCode::Station, "The station has stopped.", "Restart the application."))
    }

    /// Sends a command that answers, and waits for the answer off the async runtime.
    pub async fn ask<T: Send + 'static>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, ApiError> {
        let (reply, answer) = mpsc::channel();
        self.send(make(reply))?;
        tauri::async_runtime::spawn_blocking(move || answer.recv())
            .await
            .map_err(|e| no_answer().with_detail(e))?
            .map_err(|_| no_answer())?
    }
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
    /// What start-up found (only when the station has just started).
    pub startup: Option<StartupReport>,
    /// The fleet sync's state, when `[fleet]` is configured (only at start).
    pub fleet: Option<hallmark_station::fleet_sync::SyncWatch>,
}

fn info(station: &Station) -> StationInfo {
    StationInfo {
        station_id: station.station_id.clone(),
        slots: station.config.config.slot.clone(),
        origin: station.config.origin.clone(),
        data_dir: station.data_dir.path().display().to_string(),
        startup: None,
        fleet: None,
    }
}

/// The actor's state on its thread.
struct Actor {
    app: AppHandle,
    tx: tokio::sync::mpsc::UnboundedSender<Command>,
    busy: Rc<RefCell<BTreeSet<String>>>,
    sims: Rc<BTreeMap<String, SimSlot>>,
    operator: Rc<RefCell<Option<String>>>,
    /// Bumped when the configuration changes: auto-start watchers of the old one stop.
    generation: Rc<Cell<u64>>,
}

/// Starts the station thread with the station `build` makes; returns once it is
/// built (or failed to be).
pub fn start(
    app: AppHandle,
    build: Box<dyn FnOnce() -> Result<(Station, StartupReport), StartupError> + Send>,
    sims: BTreeMap<String, SimSlot>,
) -> (Runner, Result<StationInfo, StartupError>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Command>();
    let (ready_tx, ready_rx) = mpsc::channel();
    let actor_tx = tx.clone();
    std::thread::spawn(move || {
        let (mut station, startup) = match build() {
            Ok((s, report)) => (Rc::new(s), report),
            Err(e) => {
                ready_tx.send(Err(e)).ok();
                return;
            }
        };
        // With [fleet], records go to the fleet server in the background for as long
        // as this station runs (the settings it started with).
        let fleet_sync = station.start_fleet_sync();
        let fleet = fleet_sync.as_ref().map(|sync| sync.watch());
        ready_tx.send(Ok(StationInfo { startup: Some(startup), fleet, ..info(&station) })).ok();
        let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(_) => return,
        };
        let local = tokio::task::LocalSet::new();
        let actor = Actor {
            app,
            tx: actor_tx,
            busy: Rc::default(),
            sims: Rc::new(sims),
            operator: Rc::default(),
            generation: Rc::default(),
        };
        local.block_on(&rt, async move {
            actor.watch_slots(&station);
            actor.tick_fleet_revocations(&station);
            while let Some(command) = rx.recv().await {
                actor.handle(&mut station, command);
            }
        });
    });
    let info = ready_rx.recv().unwrap_or_else(|_| Err(StartupError::Stopped));
    (Runner { tx }, info)
}

impl Actor {
    fn handle(&self, station: &mut Rc<Station>, command: Command) {
        match command {
            Command::Start { slot, operator, scanned_uid, done } => {
                self.start(station, slot, operator, scanned_uid, done)
            }
            Command::Operator(badge) => *self.operator.borrow_mut() = badge,
            Command::Reprint { uid, operator, reply } => {
                let result = open_log(station).and_then(|store| {
                    station
                        .reprint(&store, &uid, operator.as_deref().unwrap_or("operator"))
                        .map(|r| r.label_pdf)
                        .map_err(|f| ApiError::from(&f))
                });
                reply.send(result).ok();
            }
            Command::TestPrint { actor, reply } => {
                let result = open_log(station)
                    .and_then(|store| station.test_print(&store, &actor).map_err(|f| ApiError::from(&f)));
                reply.send(result).ok();
            }
            Command::Revoke { target, reason, actor, reply } => {
                let result = open_log(station).and_then(|store| {
                    station.revoke_or_queue(&store, &target, reason, &actor).map(revoke_view).map_err(ApiError::from)
                });
                reply.send(result).ok();
            }
            Command::Evidence { uid, actor, reply } => {
                let result = open_log(station).and_then(|store| {
                    let dir = station.data_dir.exports_dir().join("evidence");
                    hallmark_station::evidence::EvidenceWriter::new(station, &store, &actor)
                        .write(&uid, &dir)
                        .map(crate::ipc::EvidenceView::from)
                        .map_err(ApiError::from)
                });
                reply.send(result).ok();
            }
            Command::FleetRevocations => {
                // Holds the station only while it works, like a run.
                let station = station.clone();
                tokio::task::spawn_local(async move {
                    if let Ok(store) = open_log(&station) {
                        // A failure is retried at the next tick; the requests stay open.
                        let _ = station.carry_out_queued(&store).await;
                    }
                });
            }
            Command::Reconfigure { change, reply } => {
                let result = self.change(station, |s, store| s.change_configuration(store, *change));
                reply.send(result).ok();
            }
            Command::SaveTemplate { source, text, actor, reply } => {
                let result = self.change(station, |s, store| s.save_label_template(store, &source, &text, &actor));
                reply.send(result).ok();
            }
        }
    }

    /// Makes an engineer change that needs the station alone, then restarts the
    /// auto-start watchers for the configuration now in force.
    fn change(
        &self,
        station: &mut Rc<Station>,
        change: impl FnOnce(&mut Station, &Store) -> Result<ConfigSource, AdminError>,
    ) -> Result<Reconfigured, ApiError> {
        // Every run task holds the station for its whole life, so the station is ours
        // alone exactly when no slot is running.
        let s = Rc::get_mut(station).ok_or(AdminError::SlotRunning)?;
        let store = open_log(s)?;
        let source = change(s, &store)?;
        self.generation.set(self.generation.get() + 1);
        self.watch_slots(station);
        Ok(Reconfigured { info: info(station), source })
    }

    fn start(
        &self,
        station: &Rc<Station>,
        slot: String,
        operator: Option<String>,
        scanned_uid: Option<String>,
        done: Option<tokio::sync::oneshot::Sender<()>>,
    ) {
        if !self.busy.borrow_mut().insert(slot.clone()) {
            let busy = ApiError::new(FailureCode::SlotBusy, "This slot is running.", "Wait for its result.");
            emit(&self.app, RunEvent::Error { slot, error: busy });
            return;
        }
        let operator = operator.or_else(|| self.operator.borrow().clone());
        let (station, app, busy, sims) = (station.clone(), self.app.clone(), self.busy.clone(), self.sims.clone());
        tokio::task::spawn_local(async move {
            let event = run_slot(&station, &app, &slot, operator, scanned_uid).await;
            emit(&app, event);
            if let Some(sim) = sims.get(&slot) {
                sim.next_board();
            }
            busy.borrow_mut().remove(&slot);
            if let Some(done) = done {
                done.send(()).ok();
            }
        });
    }

    /// One auto-start watcher per serial slot with `auto_start`.
    /// With a fleet, asks for the revocations queued for this station every sync
    /// interval (a timer that holds no station, so changes are never blocked by it).
    fn tick_fleet_revocations(&self, station: &Station) {
        let Some(settings) = &station.config.config.fleet else { return };
        let (tx, every) = (self.tx.clone(), std::time::Duration::from_millis(settings.sync_interval_ms));
        tokio::task::spawn_local(async move {
            while tx.send(Command::FleetRevocations).is_ok() {
                tokio::time::sleep(every).await;
            }
        });
    }

    fn watch_slots(&self, station: &Station) {
        for slot in station.config.config.slot.iter().filter(|s| s.auto_start) {
            let Ok(LinkTarget::Serial(port)) = LinkTarget::for_slot(slot) else { continue };
            let watcher = autostart::Watcher {
                slot: slot.name.clone(),
                port,
                tx: self.tx.clone(),
                app: self.app.clone(),
                busy: self.busy.clone(),
                generation: self.generation.clone(),
                mine: self.generation.get(),
            };
            tokio::task::spawn_local(watcher.run());
        }
    }
}

fn open_log(station: &Station) -> Result<Store, ApiError> {
    Store::open(&station.data_dir.log_path()).map_err(|e| {
        ApiError::new(
            FailureCode::LogUnavailable,
            "The QA log cannot be opened.",
            "Call the line engineer (check the data directory).",
        )
        .with_detail(e)
    })
}

/// The station thread did not answer (it stopped).
/// A revocation as the engineer screen shows it.
fn revoke_view(outcome: hallmark_station::fleet_revocations::RevokeOutcome) -> crate::ipc::RevokeView {
    use hallmark_station::fleet_revocations::RevokeOutcome;
    match outcome {
        RevokeOutcome::Revoked { serials, published } => {
            crate::ipc::RevokeView { serials, crl_number: published.number as u32, queued_for: Vec::new() }
        }
        RevokeOutcome::Queued(requests) => {
            let mut stations: Vec<String> = requests.iter().map(|r| r.issuer_station.clone()).collect();
            stations.dedup();
            crate::ipc::RevokeView {
                serials: requests.into_iter().map(|r| r.serial).collect(),
                crl_number: 0,
                queued_for: stations,
            }
        }
    }
}

fn no_answer() -> ApiError {
    ApiError::new(FailureCode::Station, "The station did not answer.", "Restart the application.")
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
        return error(ApiError::new(
            FailureCode::Station,
            format!("There is no slot {slot}."),
            "Restart the application.",
        ));
    };
    let port = match LinkTarget::for_slot(config) {
        Ok(p) => p,
        Err(e) => {
            return error(
                ApiError::new(
                    FailureCode::Station,
                    format!("Slot {slot} has no usable link."),
                    "Ask the line engineer to correct the slot's configuration.",
                )
                .with_detail(e),
            )
        }
    };
    let store = match open_log(station) {
        Ok(s) => s,
        Err(e) => return error(e),
    };
    let request = RunRequest { port, slot: Some(slot.to_string()), operator, scanned_uid };
    let observer = GuiObserver { app: app.clone(), slot: slot.to_string() };
    match station.provision_serial(&store, &request, &observer, std::future::pending()).await {
        Ok(report) => RunEvent::Finished { slot: slot.to_string(), run: run_view(&report) },
        Err(f) => error(ApiError::from(&f)),
    }
}

/// Sends a run event to the window.
pub fn emit(app: &AppHandle, event: RunEvent) {
    app.emit("run-event", event).ok();
}

struct GuiObserver {
    app: AppHandle,
    slot: String,
}

impl Observer for GuiObserver {
    fn step_started(&self, step: Step) {
        let index = USUAL_STEPS.iter().position(|s| *s == step).map(|i| i as u32 + 1).unwrap_or(0);
        emit(
            &self.app,
            RunEvent::Step {
                slot: self.slot.clone(),
                step: step.as_str().to_string(),
                index,
                total: USUAL_STEPS.len() as u32,
            },
        );
    }

    fn step_ended(&self, _step: &StepReport) {}
}

/// The report as the window shows it.
pub fn run_view(r: &RunReport) -> RunView {
    RunView {
        station: Some(r.station.clone()),
        run_id: r.run_id.clone(),
        outcome: r.outcome.as_str().to_string(),
        slot: r.slot.clone(),
        uid: r.uid.clone(),
        operator: None,
        started_at: None,
        failure: r.failure.as_ref().map(ApiError::from),
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
