//! QA statistics: yield, first-pass yield, failures by step (Pareto), throughput.

use crate::query::RunFilter;
use crate::{Store, StoreError};
use rusqlite::params_from_iter;
use serde::Serialize;

/// One bar of the failure Pareto.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ParetoRow {
    /// Failing step.
    pub step: Option<String>,
    /// Failure code.
    pub code: Option<String>,
    /// Runs that failed so.
    pub count: u64,
    /// Cumulative share of all failed runs, percent.
    pub cumulative_percent: f64,
}

/// Runs finished in one hour.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct HourRow {
    /// `YYYY-MM-DDTHH` (UTC).
    pub hour: String,
    /// Runs that ended in that hour.
    pub runs: u64,
    /// Of which passed.
    pub passed: u64,
}

/// Statistics over the runs a filter selects.
#[derive(Clone, Debug, Serialize)]
pub struct Statistics {
    /// Runs.
    pub runs: u64,
    /// Passed runs.
    pub passed: u64,
    /// Failed runs.
    pub failed: u64,
    /// Interrupted (or still running) runs.
    pub interrupted: u64,
    /// Devices (distinct UIDs) with at least one run.
    pub devices: u64,
    /// Devices with at least one PASS.
    pub devices_passed: u64,
    /// Devices whose first run passed.
    pub devices_first_pass: u64,
    /// devices_passed / devices, percent.
    pub yield_percent: f64,
    /// devices_first_pass / devices, percent.
    pub first_pass_yield_percent: f64,
    /// Failures by step and code, most frequent first.
    pub failures_by_step: Vec<ParetoRow>,
    /// Throughput per hour.
    pub throughput_per_hour: Vec<HourRow>,
}

/// Two labels and two counts, the shape of every statistics query.
type Row = (Option<String>, Option<String>, u64, u64);

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    }
}

impl Store {
    /// Computes [`Statistics`] for the runs `filter` selects.
    pub fn statistics(&self, filter: &RunFilter) -> Result<Statistics, StoreError> {
        let (w, p) = filter.sql();
        let from = "FROM runs r LEFT JOIN run_results x ON x.run_id = r.id";
        let q = |sql: String| -> Result<Vec<Row>, StoreError> {
            let mut stmt = self.conn.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(p.iter()), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64, r.get::<_, Option<i64>>(3)?.unwrap_or(0) as u64))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        };
        let mut s = Statistics {
            runs: 0,
            passed: 0,
            failed: 0,
            interrupted: 0,
            devices: 0,
            devices_passed: 0,
            devices_first_pass: 0,
            yield_percent: 0.0,
            first_pass_yield_percent: 0.0,
            failures_by_step: Vec::new(),
            throughput_per_hour: Vec::new(),
        };
        for (outcome, _, n, _) in
            q(format!("SELECT COALESCE(x.outcome, 'INTERRUPTED'), NULL, COUNT(*), 0 {from} {w} GROUP BY 1"))?
        {
            s.runs += n;
            match outcome.as_deref() {
                Some("PASS") => s.passed += n,
                Some("FAIL") => s.failed += n,
                _ => s.interrupted += n,
            }
        }
        if let Some((_, _, devices, passed)) = q(format!(
            "SELECT NULL, NULL, COUNT(DISTINCT x.uid), COUNT(DISTINCT CASE WHEN x.outcome = 'PASS' THEN x.uid END)
             {from} {w} AND x.uid IS NOT NULL"
        ))?
        .pop()
        {
            s.devices = devices;
            s.devices_passed = passed;
        }
        if let Some((_, _, first_pass, _)) = q(format!(
            "SELECT NULL, NULL, COUNT(*), 0 FROM (SELECT MIN(r.id) AS first {from} {w} AND x.uid IS NOT NULL GROUP BY x.uid) f
             JOIN run_results y ON y.run_id = f.first WHERE y.outcome = 'PASS'"
        ))?
        .pop()
        {
            s.devices_first_pass = first_pass;
        }
        s.yield_percent = percent(s.devices_passed, s.devices);
        s.first_pass_yield_percent = percent(s.devices_first_pass, s.devices);
        let failures = s.failed + s.interrupted;
        let mut cumulative = 0;
        for (step, code, n, _) in q(format!(
            "SELECT x.failing_step, COALESCE(x.failure_code, 'INTERRUPTED'), COUNT(*), 0 {from} {w}
             AND COALESCE(x.outcome, 'INTERRUPTED') <> 'PASS' GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2"
        ))? {
            cumulative += n;
            s.failures_by_step.push(ParetoRow {
                step,
                code,
                count: n,
                cumulative_percent: percent(cumulative, failures),
            });
        }
        for (hour, _, n, passed) in q(format!(
            "SELECT substr(x.ended_at, 1, 13), NULL, COUNT(*), SUM(x.outcome = 'PASS') {from} {w}
             AND x.ended_at IS NOT NULL GROUP BY 1 ORDER BY 1"
        ))? {
            s.throughput_per_hour.push(HourRow { hour: hour.unwrap_or_default(), runs: n, passed });
        }
        Ok(s)
    }
}
