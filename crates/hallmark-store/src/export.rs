//! Reading runs back for QA: one [`RunRecord`] per run, as JSON Lines or CSV,
//! streamed so that a log of millions of runs exports in constant memory.

use crate::query::{Page, RunFilter};
use crate::store::process_alive;
use crate::{Store, StoreError};
use rusqlite::params_from_iter;
use serde::Serialize;
use serde_json::Value;

/// One step of a run as QA sees it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StepRecord {
    /// Step name.
    pub name: String,
    /// PASS / FAIL / ….
    pub outcome: String,
    /// Duration in milliseconds (microsecond resolution).
    pub ms: f64,
}

/// One run as QA sees it.
#[derive(Clone, Debug, Serialize)]
pub struct RunRecord {
    /// Run uuid.
    pub run_id: String,
    /// Start time.
    pub started_at: String,
    /// End time, if ended.
    pub ended_at: Option<String>,
    /// Station id.
    pub station: String,
    /// Slot nickname.
    pub slot: Option<String>,
    /// Port or probe.
    pub port: String,
    /// Operator.
    pub operator: Option<String>,
    /// PASS, FAIL, INTERRUPTED or RUNNING.
    pub outcome: String,
    /// Device UID, once decided.
    pub uid: Option<String>,
    /// Hardware id (hex), once known.
    pub hardware_id: Option<String>,
    /// Device model.
    pub model: Option<String>,
    /// Device firmware version.
    pub firmware_version: Option<String>,
    /// SBOM reference recorded for that firmware.
    pub sbom: Option<Value>,
    /// Serial of the certificate issued in this run.
    pub cert_serial: Option<String>,
    /// The step that failed.
    pub failing_step: Option<String>,
    /// Failure code and message.
    pub failure: Option<Value>,
    /// SHA-256 of the station configuration in force.
    pub config_hash: Option<String>,
    /// Steps in order.
    pub steps: Vec<StepRecord>,
}

/// Header line of the CSV export.
pub fn csv_header() -> &'static str {
    "run_id,started_at,ended_at,station,slot,port,operator,outcome,uid,hardware_id,model,firmware_version,cert_serial,failing_step,failure_code,failure_message,config_hash,steps"
}

/// One CSV field: RFC 4180 quoting, and a leading `'` against spreadsheet formula
/// injection (device-supplied text ends up here).
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

impl RunRecord {
    /// The record as one CSV line (no newline), columns as in [`csv_header`].
    pub fn to_csv(&self) -> String {
        let opt = |o: &Option<String>| o.clone().unwrap_or_default();
        let failure_field =
            |k: &str| self.failure.as_ref().and_then(|f| f.get(k)).and_then(|v| v.as_str()).unwrap_or("").to_string();
        let steps: Vec<String> = self.steps.iter().map(|s| format!("{}:{}:{}", s.name, s.outcome, s.ms)).collect();
        [
            self.run_id.clone(),
            self.started_at.clone(),
            opt(&self.ended_at),
            self.station.clone(),
            opt(&self.slot),
            self.port.clone(),
            opt(&self.operator),
            self.outcome.clone(),
            opt(&self.uid),
            opt(&self.hardware_id),
            opt(&self.model),
            opt(&self.firmware_version),
            opt(&self.cert_serial),
            opt(&self.failing_step),
            failure_field("code"),
            failure_field("message"),
            opt(&self.config_hash),
            steps.join(";"),
        ]
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",")
    }
}

impl Store {
    /// How many runs `filter` selects.
    pub fn count_runs(&self, filter: &RunFilter) -> Result<u64, StoreError> {
        let (where_sql, params) = filter.sql();
        let sql = format!("SELECT COUNT(*) FROM runs r LEFT JOIN run_results x ON x.run_id = r.id {where_sql}");
        Ok(self.conn.query_row(&sql, params_from_iter(params.iter()), |r| r.get::<_, i64>(0))? as u64)
    }

    /// Every event of one run (by its UUID), in order: step, phase, outcome,
    /// duration in µs, detail.
    #[allow(clippy::type_complexity)]
    pub fn run_events(
        &self,
        run_uuid: &str,
    ) -> Result<Vec<(String, String, Option<String>, Option<i64>, Value)>, StoreError> {
        let mut q = self.conn.prepare(
            "SELECT e.step, e.phase, e.outcome, e.duration_us, e.detail FROM events e JOIN runs r ON r.id = e.run_id
             WHERE r.run_uuid = ?1 ORDER BY e.id",
        )?;
        let rows = q.query_map([run_uuid], |r| {
            let detail: String = r.get(4)?;
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, serde_json::from_str(&detail).unwrap_or(Value::Null)))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// All runs, oldest first.
    pub fn runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        let mut out = Vec::new();
        self.for_each_run(&RunFilter::default(), None, |r| out.push(r))?;
        Ok(out)
    }

    /// Calls `f` for each run matching `filter`, oldest first, streaming: runs and
    /// their events are read with two ordered queries merged on the run id.
    pub fn for_each_run(
        &self,
        filter: &RunFilter,
        page: Option<Page>,
        mut f: impl FnMut(RunRecord),
    ) -> Result<(), StoreError> {
        let (where_sql, params) = filter.sql();
        let limit = page.map(|p| format!("LIMIT {} OFFSET {}", p.limit, p.offset)).unwrap_or_default();
        let selected = format!(
            "SELECT r.id FROM runs r LEFT JOIN run_results x ON x.run_id = r.id {where_sql} ORDER BY r.id {limit}"
        );
        let mut runs = self.conn.prepare(&format!(
            "SELECT r.id, r.run_uuid, r.started_at, r.station, r.slot, r.port, r.operator, r.pid, r.boot_id,
                    r.config_hash, x.ended_at, x.outcome, COALESCE(x.uid, i.uid), COALESCE(x.hardware_id, i.hardware_id),
                    COALESCE(x.model, i.model), COALESCE(x.firmware_version, i.firmware_version),
                    x.failing_step, x.failure_code, x.failure_message, i.sbom
             FROM runs r LEFT JOIN run_results x ON x.run_id = r.id LEFT JOIN run_identity i ON i.run_id = r.id
             WHERE r.id IN ({selected}) ORDER BY r.id"
        ))?;
        let mut events = self.conn.prepare(&format!(
            "SELECT run_id, step, phase, outcome, duration_us, detail FROM events
             WHERE run_id IN ({selected}) AND phase = 'end' ORDER BY run_id, id"
        ))?;
        let mut run_rows = runs.query(params_from_iter(params.iter()))?;
        let mut event_rows = events.query(params_from_iter(params.iter()))?;
        let mut pending_event: Option<EventRow> = None;
        while let Some(r) = run_rows.next()? {
            let id: i64 = r.get(0)?;
            let ended: Option<String> = r.get(10)?;
            let pid: i64 = r.get(7)?;
            let boot: String = r.get(8)?;
            let outcome: Option<String> = r.get(11)?;
            let failure_code: Option<String> = r.get(17)?;
            let failure = failure_code.map(
                |code| serde_json::json!({ "code": code, "message": r.get::<_, Option<String>>(18).ok().flatten() }),
            );
            let mut rec = RunRecord {
                run_id: r.get(1)?,
                started_at: r.get(2)?,
                ended_at: ended.clone(),
                station: r.get(3)?,
                slot: r.get(4)?,
                port: r.get(5)?,
                operator: r.get(6)?,
                outcome: outcome.unwrap_or_else(|| {
                    if process_alive(pid, &boot) { NOT_ENDED_OUTCOME } else { crate::NO_RESULT_OUTCOME }.to_string()
                }),
                uid: r.get(12)?,
                hardware_id: r.get(13)?,
                model: r.get(14)?,
                firmware_version: r.get(15)?,
                sbom: r
                    .get::<_, Option<String>>(19)?
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .filter(|v: &Value| !v.is_null()),
                cert_serial: None,
                failing_step: r.get(16)?,
                failure,
                config_hash: r.get(9)?,
                steps: Vec::new(),
            };
            loop {
                let ev = match pending_event.take() {
                    Some(e) => e,
                    None => match event_rows.next()? {
                        Some(e) => (e.get(0)?, e.get(1)?, e.get(2)?, e.get(3)?, e.get(4)?, e.get(5)?),
                        None => break,
                    },
                };
                if ev.0 != id {
                    pending_event = Some(ev);
                    break;
                }
                rec.push_end_event(ev.1, ev.3, ev.4, Some(&ev.5));
            }
            f(rec);
        }
        Ok(())
    }
}

/// run id, step, phase, outcome, duration (µs), detail.
type EventRow = (i64, String, String, Option<String>, Option<i64>, String);

impl RunRecord {
    /// Adds one `end` event of the run, in the log's order: a step becomes a
    /// [`StepRecord`], the log's own [`CERTIFICATE_EVENT`] gives `cert_serial` from
    /// its detail, the log's other own events are left out. The one way a run's
    /// events become its record, for the local log and the fleet. `detail` is read
    /// only for [`CERTIFICATE_EVENT`], so a reader may fetch it for that event only.
    pub fn push_end_event(
        &mut self,
        step: String,
        outcome: Option<String>,
        duration_us: Option<i64>,
        detail: Option<&str>,
    ) {
        match step.as_str() {
            // The log's own events: the certificate's serial is the only fact a run takes.
            CERTIFICATE_EVENT => {
                let detail: Value = detail.and_then(|d| serde_json::from_str(d).ok()).unwrap_or(Value::Null);
                self.cert_serial = detail.get("serial").and_then(|v| v.as_str()).map(str::to_string);
            }
            own if crate::record::OWN_EVENTS.contains(&own) => {}
            _ => self.steps.push(StepRecord { name: step, outcome: outcome.unwrap_or_default(), ms: ms(duration_us) }),
        }
    }
}

/// The log's own event recording an issued certificate: the one event whose detail
/// [`RunRecord::push_end_event`] reads.
pub const CERTIFICATE_EVENT: &str = "certificate";

/// The outcome a reader that cannot tell whether a run's station process still runs
/// (the fleet, on another machine) gives a run without a result: it has not ended as
/// far as that reader knows. Filters still count it as
/// [`crate::NO_RESULT_OUTCOME`], as they do on the station.
pub const NOT_ENDED_OUTCOME: &str = "RUNNING";

fn ms(us: Option<i64>) -> f64 {
    us.unwrap_or(0) as f64 / 1000.0
}
