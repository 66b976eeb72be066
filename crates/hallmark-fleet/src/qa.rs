//! QA across the fleet: the local log's exports, device history, statistics and
//! onboarding export, answered from every station's synced records
//! (`hallmark log export|history|stats|onboarding --fleet`).
//!
//! The answers are the local store's types ([`RunRecord`], [`Statistics`],
//! [`OnboardingRecord`]) and a filter means what it means on a station: its
//! conditions come from [`RunFilter::conditions`], the one definition, and only the
//! spelling of each column is this module's ([`fleet_column`]); statistics are put
//! together by [`Statistics::from_counts`], as the store does; a run's steps by
//! [`RunRecord::push_end_event`]. What differs, because several logs are one here:
//!
//! - Runs are listed by start time, then station, then run number (text compared in
//!   byte order, as SQLite does). Within a station that is the log's own order as long
//!   as its clock did not step back.
//! - A device's first run (first-pass yield) is its earliest across the fleet; its
//!   onboarding certificate is its newest across the fleet, and a revocation recorded
//!   by any station counts.
//! - A run the fleet holds without a result is [`NOT_ENDED_OUTCOME`]: the fleet
//!   cannot tell a run still going from a station that stopped (a station closes such
//!   runs as `INTERRUPTED` when it starts again, and syncs that). Filters and
//!   statistics count it as interrupted, as on a station.
//! - `station` is the station id the records were synced under.
//! - Only what stations have synced is known.
//!
//! Listings are read a batch at a time, each batch one call with the call deadline
//! (a run and its steps from one snapshot), so an export of millions of runs needs
//! neither one long transaction nor memory for all of it; statistics are one
//! read-only snapshot under the longer deadline [`Fleet::verify`] has.

use crate::client::{check_schema, snapshot, Fail, Live};
use crate::{Fleet, FleetError};
use hallmark_store::{
    Condition, OnboardingRecord, Page, RunColumn, RunFilter, RunRecord, Statistics, StatisticsCounts,
    CERTIFICATE_EVENT, NOT_ENDED_OUTCOME, NO_RESULT_OUTCOME,
};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio_postgres::types::ToSql;

/// Runs (or certificates) read per call.
const BATCH: u64 = 2_000;

/// One station's share of the fleet's runs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StationYield {
    /// The station id.
    pub station: String,
    /// Its runs the filter selects.
    pub runs: u64,
    /// Of which passed.
    pub passed: u64,
    /// Failed.
    pub failed: u64,
    /// Interrupted (or not ended as far as the fleet knows).
    pub interrupted: u64,
    /// Devices (distinct UIDs in the results) with a run at this station.
    pub devices: u64,
    /// Of which passed here.
    pub devices_passed: u64,
    /// devices_passed / devices, percent (as [`Statistics::yield_percent`]).
    pub yield_percent: f64,
}

/// [`Statistics`] over the fleet's runs, and the yield of each station.
#[derive(Clone, Debug, Serialize)]
pub struct FleetStatistics {
    /// The statistics, as a station computes them over its own log (the JSON has
    /// their fields at the top level).
    #[serde(flatten)]
    pub statistics: Statistics,
    /// Per station, by station id.
    pub stations: Vec<StationYield>,
}

/// The fleet's spelling of a filter column over `hallmark.fleet_runs f`. Text is
/// compared in byte order (`COLLATE "C"`), as the stations' SQLite does; the
/// result's UID and hardware id are their own columns (schema version 5).
pub(crate) fn fleet_column(column: RunColumn) -> String {
    match column {
        RunColumn::StartedAt => r#"f.started_at COLLATE "C""#.into(),
        RunColumn::Outcome => format!("COALESCE(f.outcome, '{NO_RESULT_OUTCOME}')"),
        RunColumn::Uid => "f.result_uid".into(),
        RunColumn::HardwareId => "f.result_hardware_id".into(),
        RunColumn::Operator => "f.operator".into(),
        RunColumn::Station => "f.station".into(),
        RunColumn::Slot => "f.slot".into(),
        RunColumn::FailingStep => "f.failing_step".into(),
        RunColumn::FirmwareVersion => "f.firmware_version".into(),
        RunColumn::RunUuid => "f.run_uuid".into(),
    }
}

/// The order runs are listed in, and its index (`fleet_runs_qa_order`).
const RUN_ORDER: &str = r#"f.started_at COLLATE "C", f.station COLLATE "C", f.run_id"#;

/// A statement being built: its text and its parameters, numbered as they are bound.
#[derive(Default)]
struct Sql {
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Sql {
    /// Binds `value`, returning its placeholder (`$n`).
    fn bind(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.params.push(Box::new(value));
        format!("${}", self.params.len())
    }

    /// `WHERE` over `hallmark.fleet_runs f`: runs whose own record arrived, and the
    /// filter's conditions.
    fn runs_where(&mut self, filter: &RunFilter) -> String {
        let mut sql = "WHERE f.started_at IS NOT NULL".to_string();
        for Condition { column, comparison, value } in filter.conditions() {
            let placeholder = self.bind(value.to_string());
            sql.push_str(&format!(" AND {} {} {placeholder}", fleet_column(column), comparison.sql()));
        }
        sql
    }

    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect()
    }
}

/// Where the next batch starts: after this (time, station, row).
type Key = (String, String, i64);

impl Fleet {
    /// Calls `f` for each run of the fleet that `filter` selects (and `page` keeps), in
    /// start-time order across stations, as [`hallmark_store::Store::for_each_run`]
    /// does for one log; returns how many. Read a batch at a time, each batch under
    /// the call deadline.
    pub fn for_each_run(
        &mut self,
        filter: &RunFilter,
        page: Option<Page>,
        f: impl FnMut(RunRecord),
    ) -> Result<u64, FleetError> {
        self.for_each_run_in_batches(filter, page, BATCH, f)
    }

    /// [`Fleet::for_each_run`] reading `batch` runs per call: for tests of the paging.
    #[doc(hidden)]
    pub fn for_each_run_in_batches(
        &mut self,
        filter: &RunFilter,
        page: Option<Page>,
        batch: u64,
        mut f: impl FnMut(RunRecord),
    ) -> Result<u64, FleetError> {
        let batch = batch.max(1);
        let mut left = page.map_or(u64::MAX, |p| p.limit);
        let mut offset = page.map_or(0, |p| p.offset);
        let mut after: Option<Key> = None;
        let mut count = 0;
        while left > 0 {
            let want = left.min(batch);
            let from = after.as_ref();
            let runs = self.call("reading runs from the fleet", |mut live| async move {
                let result = runs_batch(&mut live, filter, from, offset, want).await;
                (live, result)
            })?;
            let got = runs.len() as u64;
            after = runs.last().map(|(key, _)| key.clone());
            for (_, run) in runs {
                f(run);
            }
            count += got;
            left -= got;
            offset = 0;
            if got < want {
                break;
            }
        }
        Ok(count)
    }

    /// How many of the fleet's runs `filter` selects, as
    /// [`hallmark_store::Store::count_runs`] counts one log's (a page's total).
    pub fn count_runs(&mut self, filter: &RunFilter) -> Result<u64, FleetError> {
        self.call("counting the fleet's runs", |mut live| async move {
            let result = async {
                check_schema(&mut live).await?;
                let mut sql = Sql::default();
                let w = sql.runs_where(filter);
                let p = sql.params();
                let row = live.client.query_one(&format!("SELECT count(*) FROM hallmark.fleet_runs f {w}"), &p).await?;
                Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
            }
            .await;
            (live, result)
        })
    }

    /// [`Statistics`] over the fleet's runs that `filter` selects, as
    /// [`hallmark_store::Store::statistics`] computes them for one log, and each
    /// station's yield. One read-only snapshot; its deadline is ten minutes or the
    /// call deadline, whichever is longer.
    pub fn statistics(&mut self, filter: &RunFilter) -> Result<FleetStatistics, FleetError> {
        let deadline = self.report_deadline();
        self.call_within("computing the fleet's statistics", deadline, |mut live| async move {
            let result = statistics_tx(&mut live, filter, deadline).await;
            (live, result)
        })
    }

    /// Calls `f` for each device with a PASS run among the fleet's runs `filter`
    /// selects, with its newest certificate across the fleet if no station revoked
    /// it, as [`hallmark_store::Store::onboarding`] does for one log (in issue-time
    /// order); returns how many. Read a batch at a time, each under the call deadline.
    pub fn onboarding(&mut self, filter: &RunFilter, f: impl FnMut(OnboardingRecord)) -> Result<u64, FleetError> {
        self.onboarding_in_batches(filter, BATCH, f)
    }

    /// [`Fleet::onboarding`] reading `batch` devices per call: for tests of the paging.
    #[doc(hidden)]
    pub fn onboarding_in_batches(
        &mut self,
        filter: &RunFilter,
        batch: u64,
        mut f: impl FnMut(OnboardingRecord),
    ) -> Result<u64, FleetError> {
        let batch = batch.max(1);
        let mut after: Option<Key> = None;
        let mut count = 0;
        loop {
            let from = after.as_ref();
            let records = self.call("reading the onboarding export from the fleet", |mut live| async move {
                let result = onboarding_batch(&mut live, filter, from, batch).await;
                (live, result)
            })?;
            let got = records.len() as u64;
            after = records.last().map(|(key, _)| key.clone());
            for (_, record) in records {
                f(record);
            }
            count += got;
            if got < batch {
                return Ok(count);
            }
        }
    }
}

/// One batch of runs in list order, with their steps, from one snapshot.
async fn runs_batch(
    live: &mut Live,
    filter: &RunFilter,
    after: Option<&Key>,
    offset: u64,
    limit: u64,
) -> Result<Vec<(Key, RunRecord)>, Fail> {
    check_schema(live).await?;
    let mut sql = Sql::default();
    let mut selected = sql.runs_where(filter);
    if let Some((at, station, run)) = after {
        let (a, s, r) = (sql.bind(at.clone()), sql.bind(station.clone()), sql.bind(*run));
        selected.push_str(&format!(r#" AND ({RUN_ORDER}) > ({a}, {s}, {r})"#));
    }
    let limit = sql.bind(i64::try_from(limit).unwrap_or(i64::MAX));
    let offset = sql.bind(i64::try_from(offset).unwrap_or(i64::MAX));
    // The page first, then what each of its runs needs: skipped rows cost no lookups.
    let query = format!(
        r#"SELECT f.started_at, f.station, f.run_id, f.run_uuid, f.ended_at, f.slot, f.port, f.operator, f.outcome,
                  f.uid, f.hardware_id, f.model, f.firmware_version, f.failing_step, f.failure_code,
                  f.failure_message, f.config_hash, i.sbom
             FROM (SELECT f.* FROM hallmark.fleet_runs f {selected} ORDER BY {RUN_ORDER} LIMIT {limit} OFFSET {offset}) f
             LEFT JOIN LATERAL (SELECT r.body->>'sbom' AS sbom FROM hallmark.records r
                                 WHERE r.station = f.station AND r.tbl = 'run_identity' AND r.row_id = f.run_id
                                 ORDER BY r.seq LIMIT 1) i ON true
            ORDER BY {RUN_ORDER}"#
    );
    let tx = snapshot(&mut live.client, None).await?;
    // Small indexed reads, costed high for their JSON expressions: compiling them
    // (JIT) would take longer than running them.
    tx.batch_execute("SET LOCAL jit = off").await?;
    let rows = tx.query(&query, &sql.params()).await?;
    let mut runs: Vec<(Key, RunRecord)> = Vec::with_capacity(rows.len());
    for r in &rows {
        let station: String = r.get(1);
        let run_id: i64 = r.get(2);
        let failure_code: Option<String> = r.get(14);
        let failure =
            failure_code.map(|code| serde_json::json!({ "code": code, "message": r.get::<_, Option<String>>(15) }));
        let record = RunRecord {
            run_id: r.get::<_, Option<String>>(3).unwrap_or_default(),
            started_at: r.get(0),
            ended_at: r.get(4),
            station: station.clone(),
            slot: r.get(5),
            port: r.get::<_, Option<String>>(6).unwrap_or_default(),
            operator: r.get(7),
            outcome: r.get::<_, Option<String>>(8).unwrap_or_else(|| NOT_ENDED_OUTCOME.to_string()),
            uid: r.get(9),
            hardware_id: r.get(10),
            model: r.get(11),
            firmware_version: r.get(12),
            sbom: r
                .get::<_, Option<String>>(17)
                .and_then(|t| serde_json::from_str(&t).ok())
                .filter(|v: &Value| !v.is_null()),
            cert_serial: None,
            failing_step: r.get(13),
            failure,
            config_hash: r.get(16),
            steps: Vec::new(),
        };
        runs.push(((record.started_at.clone(), station, run_id), record));
    }
    if !runs.is_empty() {
        let stations: Vec<&str> = runs.iter().map(|((_, s, _), _)| s.as_str()).collect();
        let run_ids: Vec<i64> = runs.iter().map(|((_, _, r), _)| *r).collect();
        // Every end event of these runs, in each log's order; a detail only where a
        // run record reads one. One index probe per run (`records_events_run`): the
        // subquery is kept apart (OFFSET 0), or the planner, misjudging the JSON
        // conditions, scans every event of the fleet instead.
        let events = tx
            .query(
                "SELECT k.i, e.step, e.outcome, e.duration_us, e.detail
                   FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS k(station, run_id, i)
                  CROSS JOIN LATERAL (
                        SELECT e.row_id, e.body->>'step' AS step, e.body->>'outcome' AS outcome,
                               e.body->>'duration_us' AS duration_us,
                               CASE WHEN e.body->>'step' = $3 THEN e.body->>'detail' END AS detail
                          FROM hallmark.records e
                         WHERE e.tbl = 'events' AND e.station = k.station
                           AND hallmark.json_bigint(e.body->'run_id') = k.run_id AND e.body->>'phase' = 'end'
                        OFFSET 0) e
                  ORDER BY k.i, e.row_id",
                &[&stations, &run_ids, &CERTIFICATE_EVENT],
            )
            .await?;
        for e in &events {
            // k.i numbers the runs of this batch from 1.
            let run = usize::try_from(e.get::<_, i64>(0) - 1).ok().and_then(|i| runs.get_mut(i));
            if let (Some((_, run)), Some(step)) = (run, e.get::<_, Option<String>>(1)) {
                // As text, parsed here: json_bigint's pattern match in the select list
                // costs more than the rest of the query.
                let duration_us = e.get::<_, Option<&str>>(3).and_then(|d| d.parse::<i64>().ok());
                run.push_end_event(step, e.get(2), duration_us, e.get::<_, Option<&str>>(4));
            }
        }
    }
    tx.commit().await?;
    Ok(runs)
}

/// The statistics transaction.
async fn statistics_tx(live: &mut Live, filter: &RunFilter, deadline: Duration) -> Result<FleetStatistics, Fail> {
    check_schema(live).await?;
    let mut sql = Sql::default();
    let w = sql.runs_where(filter);
    let p = sql.params();
    let from = "FROM hallmark.fleet_runs f";
    let tx = snapshot(&mut live.client, Some(deadline)).await?;
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    let mut counts = StatisticsCounts::default();
    let outcome = format!("COALESCE(f.outcome, '{NO_RESULT_OUTCOME}')");
    for r in tx.query(&format!("SELECT {outcome}, count(*) {from} {w} GROUP BY 1"), &p).await? {
        counts.outcomes.push((r.get(0), n(r.get(1))));
    }
    let devices = tx
        .query_one(
            &format!(
                "SELECT count(DISTINCT f.result_uid), count(DISTINCT f.result_uid) FILTER (WHERE f.outcome = 'PASS')
                 {from} {w} AND f.result_uid IS NOT NULL"
            ),
            &p,
        )
        .await?;
    (counts.devices, counts.devices_passed) = (n(devices.get(0)), n(devices.get(1)));
    // A device's first run is its earliest across the fleet.
    counts.devices_first_pass = n(tx
        .query_one(
            &format!(
                "SELECT count(*) FROM (SELECT DISTINCT ON (f.result_uid) f.outcome {from} {w}
                   AND f.result_uid IS NOT NULL ORDER BY f.result_uid, {RUN_ORDER}) first WHERE first.outcome = 'PASS'"
            ),
            &p,
        )
        .await?
        .get(0));
    // NULL steps first and text in byte order, as SQLite sorts them.
    for r in tx
        .query(
            &format!(
                r#"SELECT f.failing_step, COALESCE(f.failure_code, '{NO_RESULT_OUTCOME}'), count(*) {from} {w}
                   AND {outcome} <> 'PASS' GROUP BY 1, 2
                   ORDER BY 3 DESC, f.failing_step COLLATE "C" NULLS FIRST,
                            COALESCE(f.failure_code, '{NO_RESULT_OUTCOME}') COLLATE "C""#
            ),
            &p,
        )
        .await?
    {
        counts.failures.push((r.get(0), r.get(1), n(r.get(2))));
    }
    for r in tx
        .query(
            &format!(
                r#"SELECT substr(f.ended_at, 1, 13), count(*), count(*) FILTER (WHERE f.outcome = 'PASS')
                   {from} {w} AND f.ended_at IS NOT NULL GROUP BY 1 ORDER BY substr(f.ended_at, 1, 13) COLLATE "C""#
            ),
            &p,
        )
        .await?
    {
        counts.hours.push((r.get(0), n(r.get(1)), n(r.get(2))));
    }
    let mut stations: BTreeMap<String, StatisticsCounts> = BTreeMap::new();
    for r in tx.query(&format!("SELECT f.station, {outcome}, count(*) {from} {w} GROUP BY 1, 2"), &p).await? {
        stations.entry(r.get(0)).or_default().outcomes.push((r.get(1), n(r.get(2))));
    }
    for r in tx
        .query(
            &format!(
                "SELECT f.station, count(DISTINCT f.result_uid),
                        count(DISTINCT f.result_uid) FILTER (WHERE f.outcome = 'PASS')
                 {from} {w} AND f.result_uid IS NOT NULL GROUP BY 1"
            ),
            &p,
        )
        .await?
    {
        let c = stations.entry(r.get(0)).or_default();
        (c.devices, c.devices_passed) = (n(r.get(1)), n(r.get(2)));
    }
    tx.commit().await?;
    let stations = stations
        .into_iter()
        .map(|(station, c)| {
            let s = Statistics::from_counts(c);
            StationYield {
                station,
                runs: s.runs,
                passed: s.passed,
                failed: s.failed,
                interrupted: s.interrupted,
                devices: s.devices,
                devices_passed: s.devices_passed,
                yield_percent: s.yield_percent,
            }
        })
        .collect();
    Ok(FleetStatistics { statistics: Statistics::from_counts(counts), stations })
}

/// The order certificates are listed in, and its index (`fleet_certificates_qa_order`).
const CERTIFICATE_ORDER: &str = r#"c.issued_at COLLATE "C", c.station COLLATE "C", c.row_id"#;

/// One batch of the onboarding export in issue order.
async fn onboarding_batch(
    live: &mut Live,
    filter: &RunFilter,
    after: Option<&Key>,
    batch: u64,
) -> Result<Vec<(Key, OnboardingRecord)>, Fail> {
    check_schema(live).await?;
    let mut sql = Sql::default();
    let passed = sql.runs_where(filter);
    let mut query = format!(
        r#"SELECT c.issued_at, c.station, c.row_id, c.uid, c.serial, c.fingerprint, r.body->>'pem'
             FROM hallmark.fleet_certificates c
             JOIN hallmark.records r ON r.station = c.station AND r.seq = c.seq
            WHERE NOT EXISTS (SELECT 1 FROM hallmark.fleet_revocations v WHERE v.serial = c.serial)
              AND NOT EXISTS (SELECT 1 FROM hallmark.fleet_certificates n WHERE n.uid = c.uid
                                 AND (n.issued_at COLLATE "C", n.station COLLATE "C", n.row_id) > ({CERTIFICATE_ORDER}))
              AND EXISTS (SELECT 1 FROM hallmark.fleet_runs f {passed} AND f.result_uid = c.uid AND f.outcome = 'PASS')"#
    );
    if let Some((at, station, row)) = after {
        let (a, s, r) = (sql.bind(at.clone()), sql.bind(station.clone()), sql.bind(*row));
        query.push_str(&format!(" AND ({CERTIFICATE_ORDER}) > ({a}, {s}, {r})"));
    }
    let limit = sql.bind(i64::try_from(batch).unwrap_or(i64::MAX));
    query.push_str(&format!(" ORDER BY {CERTIFICATE_ORDER} LIMIT {limit}"));
    let tx = live.client.build_transaction().read_only(true).start().await?;
    tx.batch_execute("SET LOCAL jit = off").await?;
    let rows = tx.query(&query, &sql.params()).await?;
    tx.commit().await?;
    Ok(rows
        .iter()
        .map(|r| {
            let key: Key = (r.get::<_, Option<String>>(0).unwrap_or_default(), r.get(1), r.get(2));
            let record = OnboardingRecord {
                uid: r.get(3),
                serial: r.get(4),
                fingerprint: r.get(5),
                certificate_pem: r.get::<_, Option<String>>(6).unwrap_or_default(),
            };
            (key, record)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_filter_column_is_spelled_over_fleet_runs() {
        let filter = RunFilter {
            from: Some("2026-01-01".into()),
            to: Some("2026-02-01".into()),
            outcome: Some("INTERRUPTED".into()),
            uid: Some("U".into()),
            hardware_id: Some("H".into()),
            operator: Some("op".into()),
            station: Some("s".into()),
            slot: Some("A".into()),
            failing_step: Some("csr".into()),
            firmware_version: Some("1.0.0".into()),
            run_id: Some("r".into()),
        };
        let mut sql = Sql::default();
        let w = sql.runs_where(&filter);
        assert_eq!(sql.params.len(), 11);
        assert!(w.contains("f.firmware_version = $10"), "{w}");
        assert!(w.starts_with("WHERE f.started_at IS NOT NULL AND f.started_at COLLATE \"C\" >= $1"), "{w}");
        assert!(w.contains("COALESCE(f.outcome, 'INTERRUPTED') = $3"), "{w}");
        assert!(w.contains("f.result_uid = $4") && w.contains("f.result_hardware_id = $5"), "{w}");
        assert!(w.ends_with("f.run_uuid = $11"), "{w}");
    }

    #[test]
    fn the_qa_migration_is_the_last() {
        let last = crate::schema::MIGRATIONS[crate::SCHEMA_VERSION as usize - 1];
        assert!(last.contains("result_uid") && last.contains("records_events_run"));
    }
}
