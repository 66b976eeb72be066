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

/// What [`Statistics`] are made of, as a database's queries count it over the runs a
/// filter selects (the local log's here, the fleet's in `hallmark-fleet`).
/// [`Statistics::from_counts`] turns it into shares and the Pareto, the one
/// definition of that arithmetic.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatisticsCounts {
    /// Runs per outcome (`PASS`, `FAIL`; any other value counts as interrupted).
    pub outcomes: Vec<(String, u64)>,
    /// Distinct UIDs in the results of the selected runs.
    pub devices: u64,
    /// Of which have a PASS run.
    pub devices_passed: u64,
    /// Of which passed on their first selected run.
    pub devices_first_pass: u64,
    /// Runs that did not pass, by failing step and failure code (interrupted runs
    /// without a code as `INTERRUPTED`), most frequent first.
    pub failures: Vec<(Option<String>, Option<String>, u64)>,
    /// Runs that ended per hour (`YYYY-MM-DDTHH`) and how many of them passed,
    /// oldest first.
    pub hours: Vec<(String, u64, u64)>,
}

/// Two labels and two counts, the shape of every statistics query.
type Row = (Option<String>, Option<String>, u64, u64);

/// `part` of `whole` in percent, one decimal.
fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    }
}

impl Statistics {
    /// Yield, first-pass yield and the Pareto's cumulative shares from the counts.
    pub fn from_counts(counts: StatisticsCounts) -> Statistics {
        let mut s = Statistics {
            runs: 0,
            passed: 0,
            failed: 0,
            interrupted: 0,
            devices: counts.devices,
            devices_passed: counts.devices_passed,
            devices_first_pass: counts.devices_first_pass,
            yield_percent: percent(counts.devices_passed, counts.devices),
            first_pass_yield_percent: percent(counts.devices_first_pass, counts.devices),
            failures_by_step: Vec::new(),
            throughput_per_hour: Vec::new(),
        };
        for (outcome, n) in &counts.outcomes {
            s.runs += n;
            match outcome.as_str() {
                "PASS" => s.passed += n,
                "FAIL" => s.failed += n,
                _ => s.interrupted += n,
            }
        }
        let failures = s.failed + s.interrupted;
        let mut cumulative = 0;
        for (step, code, count) in counts.failures {
            cumulative += count;
            s.failures_by_step.push(ParetoRow { step, code, count, cumulative_percent: percent(cumulative, failures) });
        }
        s.throughput_per_hour =
            counts.hours.into_iter().map(|(hour, runs, passed)| HourRow { hour, runs, passed }).collect();
        s
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
        let mut counts = StatisticsCounts::default();
        for (outcome, _, n, _) in
            q(format!("SELECT COALESCE(x.outcome, 'INTERRUPTED'), NULL, COUNT(*), 0 {from} {w} GROUP BY 1"))?
        {
            counts.outcomes.push((outcome.unwrap_or_default(), n));
        }
        if let Some((_, _, devices, passed)) = q(format!(
            "SELECT NULL, NULL, COUNT(DISTINCT x.uid), COUNT(DISTINCT CASE WHEN x.outcome = 'PASS' THEN x.uid END)
             {from} {w} AND x.uid IS NOT NULL"
        ))?
        .pop()
        {
            counts.devices = devices;
            counts.devices_passed = passed;
        }
        if let Some((_, _, first_pass, _)) = q(format!(
            "SELECT NULL, NULL, COUNT(*), 0 FROM (SELECT MIN(r.id) AS first {from} {w} AND x.uid IS NOT NULL GROUP BY x.uid) f
             JOIN run_results y ON y.run_id = f.first WHERE y.outcome = 'PASS'"
        ))?
        .pop()
        {
            counts.devices_first_pass = first_pass;
        }
        for (step, code, n, _) in q(format!(
            "SELECT x.failing_step, COALESCE(x.failure_code, 'INTERRUPTED'), COUNT(*), 0 {from} {w}
             AND COALESCE(x.outcome, 'INTERRUPTED') <> 'PASS' GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2"
        ))? {
            counts.failures.push((step, code, n));
        }
        for (hour, _, n, passed) in q(format!(
            "SELECT substr(x.ended_at, 1, 13), NULL, COUNT(*), SUM(x.outcome = 'PASS') {from} {w}
             AND x.ended_at IS NOT NULL GROUP BY 1 ORDER BY 1"
        ))? {
            counts.hours.push((hour.unwrap_or_default(), n, passed));
        }
        Ok(Statistics::from_counts(counts))
    }
}
