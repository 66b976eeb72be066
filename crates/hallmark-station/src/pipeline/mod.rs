//! One provisioning run as an explicit sequence of named steps.
//!
//! Every step writes a `start` event to the log before it acts and an `end` event
//! after; a failure anywhere becomes one [`Failure`] (code + operator message) that
//! is logged and returned. If the log cannot be written the run stops.

mod errors;
mod steps;

use crate::client::{DeviceClient, Timeouts};
use crate::datadir::DataDir;
use crate::report::{Outcome, RunReport, StepReport};
use crate::transport::{open_serial, PortName, DEFAULT_BAUD};
use crate::{Failure, FailureCode};
use hallmark_ca::{IssuingCa, LeafProfile};
use hallmark_label::Template;
use hallmark_store::{EventRecord, Phase, RunId, RunStart, Store};
use serde_json::{json, Value};
use std::future::Future;
use std::time::Instant;

/// Everything a station needs to run boards, loaded once per session.
pub struct Station {
    /// Unlocked issuing CA.
    pub ca: IssuingCa,
    /// The QA log.
    pub store: Store,
    /// Label template.
    pub label_template: Template,
    /// Certificate profile.
    pub leaf_profile: LeafProfile,
    /// Data directory.
    pub data_dir: DataDir,
    /// Station name recorded with every run.
    pub station_name: String,
    /// Device deadlines.
    pub timeouts: Timeouts,
}

/// Progress notifications for a UI (CLI lines today, GUI tiles later).
pub trait Observer {
    /// A step started.
    fn step_started(&self, _step: &str) {}
    /// A step ended.
    fn step_ended(&self, _step: &StepReport) {}
}

/// An observer that ignores everything.
pub struct Silent;
impl Observer for Silent {}

/// A run in progress: its log id and what it has produced so far.
pub(crate) struct Run<'a> {
    pub(crate) station: &'a Station,
    pub(crate) id: RunId,
    pub(crate) report: RunReport,
    current: Option<(&'static str, Instant)>,
    observer: &'a dyn Observer,
}

impl Station {
    /// Provisions the board on a serial `port`. `cancel` resolving stops the run
    /// (recorded as INTERRUPTED). The run is in the log whatever happens.
    pub async fn provision_serial(
        &self,
        port: &PortName,
        operator: Option<String>,
        observer: &dyn Observer,
        cancel: impl Future<Output = ()>,
    ) -> Result<RunReport, Failure> {
        let mut run = self.begin_run(port.as_str(), operator, observer)?;
        let started = Instant::now();
        let result = {
            let work = steps::all(&mut run, port);
            tokio::pin!(work);
            tokio::select! {
                r = &mut work => r.map_err(|f| (Outcome::Fail, f)),
                () = cancel => Err((Outcome::Interrupted, Failure::new(
                    FailureCode::Cancelled,
                    "The run was cancelled by the operator. The board may be half-provisioned: run it again.",
                ))),
            }
        };
        run.finish(result, started)
    }

    fn begin_run<'a>(
        &'a self,
        port: &str,
        operator: Option<String>,
        observer: &'a dyn Observer,
    ) -> Result<Run<'a>, Failure> {
        let run_uuid = new_run_id();
        let start = RunStart {
            run_uuid: run_uuid.clone(),
            station: self.station_name.clone(),
            port: port.to_string(),
            operator,
            tool_version: crate::VERSION.to_string(),
        };
        let id = self.store.begin_run(&start).map_err(errors::log_failed)?;
        Ok(Run {
            station: self,
            id,
            report: RunReport {
                run_id: run_uuid,
                outcome: Outcome::Fail,
                station: self.station_name.clone(),
                port: port.to_string(),
                uid: None,
                hardware_id: None,
                model: None,
                firmware_version: None,
                steps: Vec::new(),
                cert_pem: None,
                chain_pem: None,
                cert_serial: None,
                cert_fingerprint: None,
                label_pdf: None,
                failure: None,
                duration_ms: 0.0,
                log: self.store.path().display().to_string(),
            },
            current: None,
            observer,
        })
    }
}

impl Run<'_> {
    /// Logs the start of `step` (before it acts).
    pub(crate) fn begin(&mut self, step: &'static str) -> Result<(), Failure> {
        let event = EventRecord { step, phase: Phase::Start, outcome: None, duration_us: None, detail: json!({}) };
        self.station.store.append_event(self.id, &event).map_err(errors::log_failed)?;
        self.current = Some((step, Instant::now()));
        self.observer.step_started(step);
        Ok(())
    }

    /// Logs the end of the current step with its result and detail.
    pub(crate) fn end<T>(&mut self, result: Result<(T, Value), Failure>) -> Result<T, Failure> {
        let (outcome, detail) = match &result {
            Ok((_, detail)) => ("PASS", detail.clone()),
            Err(f) => ("FAIL", json!({ "failure": f })),
        };
        self.close_step(outcome, detail)?;
        result.map(|(v, _)| v)
    }

    fn close_step(&mut self, outcome: &str, detail: Value) -> Result<(), Failure> {
        let Some((step, started)) = self.current.take() else { return Ok(()) };
        let us = started.elapsed().as_micros() as i64;
        let event = EventRecord { step, phase: Phase::End, outcome: Some(outcome), duration_us: Some(us), detail };
        let logged = self.station.store.append_event(self.id, &event).map_err(errors::log_failed);
        let report = StepReport { name: step.to_string(), outcome: outcome.to_string(), ms: us as f64 / 1000.0 };
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
            let detail = json!({ "failure": failure });
            self.close_step(outcome.as_str(), detail)?;
        }
        self.report.outcome = outcome;
        self.report.failure = failure;
        let run_us = started.elapsed().as_micros() as i64;
        self.report.duration_ms = run_us as f64 / 1000.0;
        let detail = json!({
            "outcome": outcome.as_str(),
            "uid": self.report.uid,
            "failure": self.report.failure,
            "cert_serial": self.report.cert_serial,
            "label_pdf": self.report.label_pdf,
        });
        let event = EventRecord {
            step: "run",
            phase: Phase::End,
            outcome: Some(outcome.as_str()),
            duration_us: Some(run_us),
            detail,
        };
        self.station.store.append_event(self.id, &event).map_err(errors::log_failed)?;
        Ok(self.report)
    }
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
                "Cannot open the serial port {port}: {e}. Check the cable and that no other program (a terminal, \
                 another station) has the port open, then run the board again."
            ),
        )
    })?;
    Ok(DeviceClient::new(stream, timeouts))
}
