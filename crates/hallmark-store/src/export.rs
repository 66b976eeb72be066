//! Reading runs back for QA: one [`RunRecord`] per run, as JSON Lines or CSV.

use crate::store::process_alive;
use crate::{Store, StoreError};
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
    /// Station name.
    pub station: String,
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
    /// Serial of the certificate issued in this run.
    pub cert_serial: Option<String>,
    /// Failure code and message.
    pub failure: Option<Value>,
    /// Completed steps in order.
    pub steps: Vec<StepRecord>,
}

/// Header line of the CSV export.
pub fn csv_header() -> &'static str {
    "run_id,started_at,ended_at,station,port,operator,outcome,uid,hardware_id,model,firmware_version,cert_serial,failure_code,failure_message,steps"
}

fn csv_field(s: &str) -> String {
    // RFC 4180 quoting, and a leading quote mark against spreadsheet formula injection.
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
            self.port.clone(),
            opt(&self.operator),
            self.outcome.clone(),
            opt(&self.uid),
            opt(&self.hardware_id),
            opt(&self.model),
            opt(&self.firmware_version),
            opt(&self.cert_serial),
            failure_field("code"),
            failure_field("message"),
            steps.join(";"),
        ]
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",")
    }
}

impl Store {
    /// All runs, oldest first.
    pub fn runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, run_uuid, started_at, station, port, operator, pid, boot_id FROM runs ORDER BY id")?;
        let heads = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    RunRecord {
                        run_id: r.get(1)?,
                        started_at: r.get(2)?,
                        ended_at: None,
                        station: r.get(3)?,
                        port: r.get(4)?,
                        operator: r.get(5)?,
                        outcome: String::new(),
                        uid: None,
                        hardware_id: None,
                        model: None,
                        firmware_version: None,
                        cert_serial: None,
                        failure: None,
                        steps: Vec::new(),
                    },
                    r.get::<_, i64>(6)?,
                    r.get::<_, String>(7)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut ev = self.conn.prepare(
            "SELECT step, phase, outcome, duration_us, detail, at FROM events WHERE run_id = ?1 ORDER BY id",
        )?;
        let mut out = Vec::with_capacity(heads.len());
        for (id, mut rec, pid, boot) in heads {
            let events = ev.query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })?;
            for e in events {
                let (step, phase, outcome, ms, detail, at) = e?;
                let detail: Value = serde_json::from_str(&detail).unwrap_or(Value::Null);
                let text = |k: &str| detail.get(k).and_then(|v| v.as_str()).map(str::to_string);
                if let Some(uid) = text("uid") {
                    rec.uid = Some(uid);
                }
                if let Some(hw) = text("hardware_id") {
                    rec.hardware_id = Some(hw);
                }
                if let Some(m) = text("model") {
                    rec.model = Some(m);
                }
                if let Some(fw) = text("firmware_version") {
                    rec.firmware_version = Some(fw);
                }
                match (step.as_str(), phase.as_str()) {
                    ("run", "end") => {
                        rec.outcome = outcome.unwrap_or_default();
                        rec.ended_at = Some(at);
                        rec.failure = detail.get("failure").filter(|f| !f.is_null()).cloned();
                    }
                    ("certificate", _) => rec.cert_serial = text("serial"),
                    (_, "end") => rec.steps.push(StepRecord {
                        name: step,
                        outcome: outcome.unwrap_or_default(),
                        ms: ms.unwrap_or(0) as f64 / 1000.0,
                    }),
                    _ => {}
                }
            }
            if rec.ended_at.is_none() {
                rec.outcome = if process_alive(pid, &boot) { "RUNNING" } else { "INTERRUPTED" }.to_string();
            }
            out.push(rec);
        }
        Ok(out)
    }
}
