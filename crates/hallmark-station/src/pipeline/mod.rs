//! One provisioning run as an explicit sequence of named steps.
//!
//! Every step writes a `start` event to the log before it acts and an `end` event
//! after; a failure anywhere becomes one [`Failure`] (code + operator message) that
//! is logged and returned. If the log cannot be written the run stops. What a run
//! does is decided once, at `identify`, as a [`plan::Plan`].

pub(crate) mod errors;
mod fleet_step;
mod label_step;
mod modem;
pub mod plan;
mod recheck;
mod reprint;
mod selftest_step;
mod steps;

pub use modem::ModemTarget;
pub use recheck::RecheckReport;
pub use reprint::{Reprint, TestPrint};

use crate::client::{DeviceClient, Timeouts};
use crate::datadir::DataDir;
use crate::probe::{ProbeBackend, ProbeTarget};
use crate::report::{Outcome, RunReport, StepReport};
use crate::transport::{open_serial, PortName, DEFAULT_BAUD};
use crate::{Failure, FailureCode};
use hallmark_ca::{IssuingCa, LeafProfile};
use hallmark_config::LoadedConfig;
use hallmark_label::Template;
pub use hallmark_store::Step;
use hallmark_store::{Connected, LinkState, RunEnd, RunId, RunStart, StepEvent, Store};
use serde_json::json;
use std::future::Future;
use std::time::{Duration, Instant};

/// The steps of a fresh run, in order (a resumed or re-verified board skips some).
pub const FRESH_RUN_STEPS: &[Step] = &Step::FRESH_RUN;

/// Everything a station needs to run boards, loaded once per session and shared by
/// all slots. Each slot brings its own log connection.
pub struct Station {
    /// Unlocked issuing CA.
    pub ca: IssuingCa,
    /// Label template.
    pub label_template: Template,
    /// Certificate profile.
    pub leaf_profile: LeafProfile,
    /// Data directory.
    pub data_dir: DataDir,
    /// Station id recorded with every run.
    pub station_id: String,
    /// Device deadlines.
    pub timeouts: Timeouts,
    /// The configuration in force (UID scheme, policies, firmware SBOMs, its hash).
    pub config: LoadedConfig,
    /// Debug probes, for boards on SWD.
    pub probes: std::sync::Arc<dyn ProbeBackend>,
    /// The time device certificates are issued at.
    pub clock: std::sync::Arc<dyn crate::clock::Clock>,
    /// The station's questions to the fleet during runs, when `[fleet]` is configured.
    pub fleet: Option<std::sync::Arc<crate::fleet_gate::FleetGate>>,
}

impl Station {
    /// What the configuration's `[link]` asks of a Hallmark board's line.
    pub fn link_tuning(&self) -> crate::dialect::LinkTuning {
        let link = &self.config.config.link;
        crate::dialect::LinkTuning {
            readback: match link.readback {
                hallmark_config::ReadbackSetting::Digests => crate::dialect::Readback::Digests,
                hallmark_config::ReadbackSetting::Full => crate::dialect::Readback::Full,
            },
            max_frame: link.max_frame as usize,
            window: link.window,
        }
    }
}

/// How the station reaches a board.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkTarget {
    /// A serial port (USB-UART fixture).
    Serial(PortName),
    /// A debug probe: SWD attach, RTT link.
    Probe(ProbeTarget),
    /// An nRF91 modem on a serial port, spoken to in AT commands.
    Modem(ModemTarget),
}

impl std::fmt::Display for LinkTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkTarget::Serial(p) => write!(f, "{p}"),
            LinkTarget::Probe(t) => write!(f, "{t}"),
            LinkTarget::Modem(t) => write!(f, "{}", t.port),
        }
    }
}

impl LinkTarget {
    /// How the station reaches a configured slot's board.
    pub fn for_slot(slot: &hallmark_config::SlotConfig) -> Result<LinkTarget, crate::SetupError> {
        Ok(match &slot.probe {
            Some(selector) => LinkTarget::Probe(ProbeTarget {
                selector: selector.clone(),
                chip: slot.chip.clone().unwrap_or_default(),
                flash: slot.flash.clone(),
                bin_base: slot.bin_base,
                allow_erase_all: slot.allow_erase_all,
            }),
            None => {
                let in_slot = |e: crate::SetupError| e.in_slot(&slot.name);
                let port = PortName::parse(&slot.port).map_err(|e| in_slot(e.into()))?;
                match (slot.dialect, slot.sec_tag) {
                    (hallmark_config::DialectKind::Nrf91At, Some(sec_tag)) => LinkTarget::Modem(
                        ModemTarget::identified_by(
                            port,
                            sec_tag,
                            slot.at_mode,
                            slot.ca_file.as_deref(),
                            slot.hardware_id,
                        )
                        .map_err(in_slot)?,
                    ),
                    // The configuration's checks give every modem slot a sec tag.
                    _ => LinkTarget::Serial(port),
                }
            }
        })
    }
}

impl From<PortName> for LinkTarget {
    fn from(p: PortName) -> LinkTarget {
        LinkTarget::Serial(p)
    }
}

/// One board to run.
#[derive(Clone, Debug)]
pub struct RunRequest {
    /// Where the board is.
    pub port: LinkTarget,
    /// Slot nickname.
    pub slot: Option<String>,
    /// Operator badge.
    pub operator: Option<String>,
    /// UID scanned from a pre-printed label (for the `scanned` scheme).
    pub scanned_uid: Option<String>,
}

/// Progress notifications for a UI (CLI lines today, GUI tiles later).
pub trait Observer {
    /// A step started.
    fn step_started(&self, _step: Step) {}
    /// A step ended.
    fn step_ended(&self, _step: &StepReport) {}
}

/// An observer that ignores everything.
pub struct Silent;
impl Observer for Silent {}

/// A run in progress: its log id and what it has produced so far.
pub(crate) struct Run<'a> {
    pub(crate) station: &'a Station,
    pub(crate) store: &'a Store,
    pub(crate) request: &'a RunRequest,
    pub(crate) id: RunId,
    pub(crate) report: RunReport,
    /// The chip's unique id read over SWD, to check the firmware's claim against.
    pub(crate) chip_uid: Option<Vec<u8>>,
    current: Option<(Step, Instant)>,
    observer: &'a dyn Observer,
}

impl Station {
    /// Provisions the board on a serial port. `cancel` resolving stops the run
    /// (recorded as INTERRUPTED). The run is in the log whatever happens.
    pub async fn provision_serial(
        &self,
        store: &Store,
        request: &RunRequest,
        observer: &dyn Observer,
        cancel: impl Future<Output = ()>,
    ) -> Result<RunReport, Failure> {
        let mut run = self.begin_run(store, request, observer)?;
        let started = Instant::now();
        let result = cancellable(steps::all(&mut run), cancel).await;
        run.finish(result, started)
    }

    /// Provisions the board on a link that is already open (an in-process board, a
    /// link a test shapes) in Hallmark protocol v1; `request.port` is only recorded.
    /// Otherwise as [`Station::provision_serial`].
    pub async fn provision_link<L: crate::transport::Link>(
        &self,
        store: &Store,
        request: &RunRequest,
        link: L,
        observer: &dyn Observer,
        cancel: impl Future<Output = ()>,
    ) -> Result<RunReport, Failure> {
        let dialect = crate::dialect::HallmarkV1::new(DeviceClient::new(link, self.timeouts)).tuned(self.link_tuning());
        self.provision_dialect(store, request, dialect, observer, cancel).await
    }

    /// Provisions the board behind `dialect`, whose link is already open;
    /// `request.port` is only recorded. Otherwise as [`Station::provision_serial`].
    pub async fn provision_dialect<D: crate::dialect::Dialect>(
        &self,
        store: &Store,
        request: &RunRequest,
        mut dialect: D,
        observer: &dyn Observer,
        cancel: impl Future<Output = ()>,
    ) -> Result<RunReport, Failure> {
        let mut run = self.begin_run(store, request, observer)?;
        let started = Instant::now();
        let work = async {
            run.begin(Step::Connect)?;
            let connected = Connected::Link {
                port: request.port.to_string(),
                link: LinkState::Open,
                dialect: dialect.name().to_string(),
            };
            run.end(Ok(((), connected)))?;
            steps::provision(&mut run, &mut dialect).await
        };
        let result = cancellable(work, cancel).await;
        run.finish(result, started)
    }

    fn begin_run<'a>(
        &'a self,
        store: &'a Store,
        request: &'a RunRequest,
        observer: &'a dyn Observer,
    ) -> Result<Run<'a>, Failure> {
        let run_uuid = new_run_id();
        let start = RunStart {
            run_uuid: run_uuid.clone(),
            station: self.station_id.clone(),
            port: request.port.to_string(),
            operator: request.operator.clone(),
            tool_version: crate::VERSION.to_string(),
            slot: request.slot.clone(),
            config_hash: Some(self.config.hash.clone()),
        };
        let id = store.begin_run(&start).map_err(errors::log_failed)?;
        Ok(Run {
            station: self,
            store,
            request,
            id,
            report: RunReport::new(run_uuid, self, request, store),
            chip_uid: None,
            current: None,
            observer,
        })
    }
}

/// Runs `work` unless `cancel` resolves first (then the run is INTERRUPTED).
async fn cancellable(
    work: impl Future<Output = Result<(), Failure>>,
    cancel: impl Future<Output = ()>,
) -> Result<(), (Outcome, Failure)> {
    tokio::pin!(work);
    tokio::select! {
        r = &mut work => r.map_err(|f| (Outcome::Fail, f)),
        () = cancel => Err((Outcome::Interrupted, Failure::new(
            FailureCode::Cancelled,
            "The run was cancelled. The board may be half-provisioned.",
            "Run it again: it resumes safely.",
        ))),
    }
}

/// The longest a step may take in all, whatever the device does: a bound over the
/// per-request deadlines (requests × attempts × deadline) with room to spare.
pub(crate) fn step_deadline(step: Step, t: &Timeouts) -> Duration {
    let per_request = t.response * t.attempts;
    match step {
        Step::Keygen => t.keygen * t.attempts + per_request,
        // Certificate + chain + trust anchor: up to ~20 chunked requests.
        Step::Install | Step::Readback => per_request * 24,
        _ => per_request * 8,
    }
}

impl Run<'_> {
    /// Logs the start of `step` (before it acts).
    pub(crate) fn begin(&mut self, step: Step) -> Result<(), Failure> {
        self.store.start_step(self.id, step).map_err(errors::log_failed)?;
        self.current = Some((step, Instant::now()));
        self.observer.step_started(step);
        Ok(())
    }

    /// Records what identification found with the run, so that the log knows which
    /// board a run was for even if the station stops before the run ends.
    pub(crate) fn record_identity(&self) -> Result<(), Failure> {
        let r = &self.report;
        let identity = hallmark_store::Identity {
            uid: r.uid.clone(),
            hardware_id: r.hardware_id.clone(),
            model: r.model.clone(),
            firmware_version: r.firmware_version.clone(),
            sbom: r.sbom.clone(),
        };
        self.store.record_identity(self.id, &identity).map_err(errors::log_failed)
    }

    /// Logs the end of the current step with its result: the step's typed event, or
    /// the failure.
    pub(crate) fn end<T, E: Into<StepEvent>>(&mut self, result: Result<(T, E), Failure>) -> Result<T, Failure> {
        match result {
            Ok((v, event)) => {
                self.close_step("PASS", |_| event.into())?;
                Ok(v)
            }
            Err(f) => {
                self.close_step("FAIL", |step| StepEvent::failed(step, failure_json(Some(&f))))?;
                Err(f)
            }
        }
    }

    /// Logs the end of the current step, if one is open, with the event `event` makes
    /// for it.
    fn close_step(&mut self, outcome: &str, event: impl FnOnce(Step) -> StepEvent) -> Result<(), Failure> {
        let Some((step, started)) = self.current.take() else { return Ok(()) };
        let us = started.elapsed().as_micros() as i64;
        let event = event(step);
        // Each step's code builds its own event type: a mismatch is a bug in this crate.
        debug_assert_eq!(event.step(), step, "the event ends the step that is open");
        let logged = self.store.end_step(self.id, outcome, us, &event).map_err(errors::log_failed);
        let report =
            StepReport { name: step.as_str().to_string(), outcome: outcome.to_string(), ms: us as f64 / 1000.0 };
        self.observer.step_ended(&report);
        self.report.steps.push(report);
        logged
    }

    fn finish(mut self, result: Result<(), (Outcome, Failure)>, started: Instant) -> Result<RunReport, Failure> {
        let (outcome, failure) = match result {
            Ok(()) => (Outcome::Pass, None),
            Err((outcome, failure)) => (outcome, Some(failure)),
        };
        // A step cut short by cancellation still gets its end event.
        if self.current.is_some() {
            self.close_step(outcome.as_str(), |step| StepEvent::failed(step, failure_json(failure.as_ref())))?;
        }
        self.report.outcome = outcome;
        self.report.failure = failure;
        let run_us = started.elapsed().as_micros() as i64;
        self.report.duration_ms = run_us as f64 / 1000.0;
        let r = &self.report;
        let end = RunEnd {
            outcome: outcome.as_str().to_string(),
            uid: r.uid.clone(),
            hardware_id: r.hardware_id.clone(),
            model: r.model.clone(),
            firmware_version: r.firmware_version.clone(),
            failing_step: r.steps.iter().rev().find(|s| s.outcome != "PASS").map(|s| s.name.clone()),
            failure_code: r.failure.as_ref().map(|f| f.code.as_str()),
            failure_message: r.failure.as_ref().map(|f| f.message.clone()),
            duration_us: Some(run_us),
            detail: json!({
                "failure": r.failure, "cert_serial": r.cert_serial, "label_pdf": r.label_pdf, "plan": r.plan,
                "revoked": r.revoked_serials, "link": r.link,
            }),
        };
        self.store.end_run(self.id, &end).map_err(errors::log_failed)?;
        Ok(self.report)
    }
}

/// A failure as a failed step's event records it (`null` for none).
fn failure_json(failure: Option<&Failure>) -> serde_json::Value {
    // A `Failure` is strings and a code: serialising it cannot fail.
    serde_json::to_value(failure).unwrap_or_default()
}

/// 128 random bits as a UUID-shaped string (version 4 layout).
fn new_run_id() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0F) | 0x40;
    b[8] = (b[8] & 0x3F) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// Opens a serial link, as the `connect` step.
pub(crate) fn connect_serial(
    port: &PortName,
    timeouts: Timeouts,
) -> Result<DeviceClient<tokio_serial::SerialStream>, Failure> {
    let stream = open_serial(port, DEFAULT_BAUD).map_err(|e| {
        Failure::new(
            FailureCode::PortOpenFailed,
            format!(
                "Cannot open the serial port {port}: no fixture answers there, or another program (a terminal, \
                 another station) has it open."
            ),
            "Check the cable, then run the board again.",
        )
        .with_detail(e.to_string())
    })?;
    Ok(DeviceClient::new(stream, timeouts))
}
