//! `hallmark fleet verify`: every station's hash chains recomputed from the records
//! the fleet holds, exactly as the station's own log verifies them
//! (`hallmark_store::Store::verify_chain`), the records numbered without gaps, and the
//! cross-checks between the projections.
//!
//! Runs in one read-only REPEATABLE READ transaction (one snapshot of the whole fleet)
//! and reads the records through portals, a batch at a time, so a large fleet is
//! walked without holding it in memory.

use hallmark_store::{audit_hash, event_hash, HashInput, GENESIS};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use tokio_postgres::Transaction;

/// Rows read per round trip.
const BATCH: i32 = 5_000;

/// Cross-check findings listed at most (of each kind); the counts are complete.
const LISTED: i64 = 100;

/// What [`crate::Fleet::verify`] found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Every chain intact, no gap, every cross-check passed and no open conflict.
    pub ok: bool,
    /// `USER@HOST:PORT/DB`.
    pub target: String,
    /// One entry per station the fleet holds, by station id.
    pub stations: Vec<StationCheck>,
    /// Unresolved conflicts in the whole fleet (each makes verify fail).
    pub open_conflicts: i64,
    /// Certificates that fail a cross-check (the count is complete).
    pub cross_check_failures: i64,
    /// The open conflicts and cross-check failures, up to 100 of each.
    pub problems: Vec<BadRow>,
}

/// One station's part of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StationCheck {
    /// The station id.
    pub station: String,
    /// The database role the station id is bound to (`None`: not pushed since the
    /// schema upgrade to version 2).
    pub role: Option<String>,
    /// Records the fleet holds from it.
    pub records: i64,
    /// Its highest sequence number.
    pub high_water: i64,
    /// Events whose chain was checked.
    pub events: u64,
    /// Audit entries whose chain was checked.
    pub audit_entries: u64,
    /// The first problem: a missing record number, else the first broken event,
    /// else the first broken audit entry.
    pub first_bad: Option<BadRow>,
}

/// A row (or a missing one) that fails verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BadRow {
    /// The station.
    pub station: String,
    /// The record's sequence number (for a gap: the first missing one).
    pub seq: Option<i64>,
    /// The station's local table the record comes from.
    pub table: Option<String>,
    /// The row's id in that table.
    pub row_id: Option<i64>,
    /// What is wrong, in words.
    pub why: String,
}

/// A chain being walked for one station.
struct Walk {
    station: String,
    expected_prev: String,
    count: u64,
    bad: Option<BadRow>,
}

impl Walk {
    fn new(station: &str) -> Walk {
        Walk { station: station.to_string(), expected_prev: GENESIS.to_string(), count: 0, bad: None }
    }

    /// Checks one row: its stored `prev_hash` and `hash` against the chain so far and
    /// its recomputed hash (`Err`: the body lacks a field the hash needs).
    fn step(&mut self, seq: i64, table: &str, row_id: i64, body: &Value, computed: Result<String, String>, what: &str) {
        self.count += 1;
        if self.bad.is_some() {
            return;
        }
        let why = match (text(body, "prev_hash"), text(body, "hash")) {
            (Some(prev_hash), Some(hash)) => {
                if prev_hash != self.expected_prev {
                    format!("prev_hash does not match the previous {what}: one was removed or inserted")
                } else {
                    match computed {
                        Err(why) => why,
                        Ok(computed) if computed != hash => {
                            format!("content does not match its hash: the {what} was edited")
                        }
                        Ok(_) => {
                            self.expected_prev = hash.to_string();
                            return;
                        }
                    }
                }
            }
            _ => format!("the {what} carries no prev_hash or hash"),
        };
        self.bad = Some(BadRow {
            station: self.station.clone(),
            seq: Some(seq),
            table: Some(table.to_string()),
            row_id: Some(row_id),
            why,
        });
    }
}

fn text<'a>(body: &'a Value, field: &str) -> Option<&'a str> {
    body.get(field).and_then(Value::as_str)
}

/// A field the hash covers that may be NULL; `Err` when it is neither.
fn opt_text<'a>(body: &'a Value, field: &str) -> Result<Option<&'a str>, String> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("its {field} is not text")),
    }
}

fn opt_int(body: &Value, field: &str) -> Result<Option<i64>, String> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| format!("its {field} is not an integer")),
    }
}

fn need<'a>(body: &'a Value, field: &str) -> Result<&'a str, String> {
    text(body, field).ok_or_else(|| format!("the record carries no {field}"))
}

/// An event's hash as the log computes it; `runs` maps the station's run ids to uuids.
fn event_computed(body: &Value, runs: &HashMap<i64, String>) -> Result<String, String> {
    let run_id = opt_int(body, "run_id")?.ok_or("the record carries no run_id")?;
    let run_uuid = runs.get(&run_id).ok_or_else(|| format!("its run {run_id} is not in the fleet"))?;
    Ok(event_hash(&HashInput {
        prev_hash: need(body, "prev_hash")?,
        run_uuid,
        at: need(body, "at")?,
        step: need(body, "step")?,
        phase: need(body, "phase")?,
        outcome: opt_text(body, "outcome")?,
        duration_us: opt_int(body, "duration_us")?,
        detail: need(body, "detail")?,
    }))
}

fn audit_computed(body: &Value) -> Result<String, String> {
    Ok(audit_hash(
        need(body, "prev_hash")?,
        need(body, "at")?,
        need(body, "action")?,
        need(body, "actor")?,
        need(body, "detail")?,
    ))
}

/// Walks one table's chain for every station, in (station, row id) order; returns
/// each station's rows counted and first bad row.
async fn walk_table(
    tx: &Transaction<'_>,
    table: &str,
    runs: &HashMap<String, HashMap<i64, String>>,
) -> Result<HashMap<String, (u64, Option<BadRow>)>, tokio_postgres::Error> {
    let what = if table == "events" { "event" } else { "audit entry" };
    let portal = tx
        .bind(
            "SELECT station, seq, row_id, body FROM hallmark.records WHERE tbl = $1 ORDER BY station, row_id, seq",
            &[&table],
        )
        .await?;
    let mut done = HashMap::new();
    let mut walk: Option<Walk> = None;
    let empty = HashMap::new();
    loop {
        let rows = tx.query_portal(&portal, BATCH).await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let station: &str = row.get(0);
            let (seq, row_id, body): (i64, i64, Value) = (row.get(1), row.get(2), row.get(3));
            if walk.as_ref().map(|w| w.station.as_str()) != Some(station) {
                if let Some(w) = walk.take() {
                    done.insert(w.station, (w.count, w.bad));
                }
                walk = Some(Walk::new(station));
            }
            let computed = if table == "events" {
                event_computed(&body, runs.get(station).unwrap_or(&empty))
            } else {
                audit_computed(&body)
            };
            if let Some(w) = walk.as_mut() {
                w.step(seq, table, row_id, &body, computed, what);
            }
        }
    }
    if let Some(w) = walk.take() {
        done.insert(w.station, (w.count, w.bad));
    }
    Ok(done)
}

/// The verification, inside the caller's read-only snapshot.
pub(crate) async fn verify_tx(tx: &Transaction<'_>, target: &str) -> Result<VerifyReport, tokio_postgres::Error> {
    // Every station the records name, its role, count and highest number.
    let mut stations: Vec<StationCheck> = tx
        .query(
            "SELECT r.station, s.role, count(*), max(r.seq)
               FROM hallmark.records r LEFT JOIN hallmark.stations s ON s.station = r.station
              GROUP BY r.station, s.role ORDER BY r.station",
            &[],
        )
        .await?
        .iter()
        .map(|r| StationCheck {
            station: r.get(0),
            role: r.get(1),
            records: r.get(2),
            high_water: r.get(3),
            events: 0,
            audit_entries: 0,
            first_bad: None,
        })
        .collect();
    for s in stations.iter_mut().filter(|s| s.records != s.high_water) {
        // Numbers are unique and start at 1, so fewer records than the highest number
        // means a hole: the first missing number.
        let missing: i64 = tx
            .query_one(
                "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM hallmark.records WHERE station = $1 AND seq = 1) THEN 1
                        ELSE (SELECT min(r.seq) + 1 FROM hallmark.records r WHERE r.station = $1 AND NOT EXISTS
                                (SELECT 1 FROM hallmark.records n WHERE n.station = $1 AND n.seq = r.seq + 1)) END",
                &[&s.station],
            )
            .await?
            .get(0);
        s.first_bad = Some(BadRow {
            station: s.station.clone(),
            seq: Some(missing),
            table: None,
            row_id: None,
            why: format!(
                "record {missing} is missing: the fleet holds {} records up to number {}",
                s.records, s.high_water
            ),
        });
    }

    let mut runs: HashMap<String, HashMap<i64, String>> = HashMap::new();
    let portal =
        tx.bind("SELECT station, row_id, body->>'run_uuid' FROM hallmark.records WHERE tbl = 'runs'", &[]).await?;
    loop {
        let rows = tx.query_portal(&portal, BATCH).await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            if let Some(uuid) = row.get::<_, Option<String>>(2) {
                runs.entry(row.get(0)).or_default().insert(row.get(1), uuid);
            }
        }
    }
    let events = walk_table(tx, "events", &runs).await?;
    drop(runs);
    let audit = walk_table(tx, "audit", &HashMap::new()).await?;
    for s in &mut stations {
        let (n, bad) = events.get(&s.station).cloned().unwrap_or_default();
        s.events = n;
        if s.first_bad.is_none() {
            s.first_bad = bad;
        }
        let (n, bad) = audit.get(&s.station).cloned().unwrap_or_default();
        s.audit_entries = n;
        if s.first_bad.is_none() {
            s.first_bad = bad;
        }
    }

    let mut problems = Vec::new();
    let open_conflicts: i64 =
        tx.query_one("SELECT count(*) FROM hallmark.fleet_conflicts WHERE resolved_at IS NULL", &[]).await?.get(0);
    for r in tx
        .query(
            "SELECT f.station, f.seq, r.tbl, r.row_id, f.what, f.value, f.holder_station, f.holder_seq
               FROM hallmark.fleet_conflicts f
               LEFT JOIN hallmark.records r ON r.station = f.station AND r.seq = f.seq
              WHERE f.resolved_at IS NULL ORDER BY f.id LIMIT $1",
            &[&LISTED],
        )
        .await?
    {
        let (what, value): (String, String) = (r.get(4), r.get(5));
        let holder = match (r.get::<_, Option<String>>(6), r.get::<_, Option<i64>>(7)) {
            (Some(s), Some(q)) => format!(", already held by station {s} (record {q})"),
            _ => String::new(),
        };
        problems.push(BadRow {
            station: r.get(0),
            seq: Some(r.get(1)),
            table: r.get(2),
            row_id: r.get(3),
            why: format!("open conflict: {what} {value}{holder}"),
        });
    }

    // A certificate whose UID the fleet gives to another station (or to none), and a
    // certificate record the projections do not hold, each without a conflict that
    // explains it (a conflict at the certificate's record or at the station's claim
    // of that UID).
    const CROSS: &str = "
        WITH bad AS (
            SELECT c.station, c.seq, c.row_id, CASE WHEN u.station IS NULL
                     THEN format('certificate %s is for UID %s, which no station holds in fleet_uids', c.serial, c.uid)
                     ELSE format('certificate %s is for UID %s, which station %s holds in fleet_uids', c.serial, c.uid, u.station)
                   END AS why
              FROM hallmark.fleet_certificates c LEFT JOIN hallmark.fleet_uids u ON u.uid = c.uid
             WHERE u.station IS DISTINCT FROM c.station
               AND NOT EXISTS (SELECT 1 FROM hallmark.fleet_conflicts f
                                 JOIN hallmark.records r ON r.station = f.station AND r.seq = f.seq
                                WHERE f.station = c.station
                                  AND (f.seq = c.seq OR (r.tbl = 'uids' AND r.body->>'uid' = c.uid)))
            UNION ALL
            SELECT r.station, r.seq, r.row_id,
                   'the certificate record is neither in fleet_certificates nor named by a conflict'
              FROM hallmark.records r
             WHERE r.tbl = 'certificates'
               AND NOT EXISTS (SELECT 1 FROM hallmark.fleet_certificates c WHERE c.station = r.station AND c.seq = r.seq)
               AND NOT EXISTS (SELECT 1 FROM hallmark.fleet_conflicts f WHERE f.station = r.station AND f.seq = r.seq)
        )
        SELECT station, seq, row_id, why, count(*) OVER () FROM bad ORDER BY station, seq LIMIT $1";
    let mut cross_check_failures = 0;
    for r in tx.query(CROSS, &[&LISTED]).await? {
        cross_check_failures = r.get(4);
        problems.push(BadRow {
            station: r.get(0),
            seq: Some(r.get(1)),
            table: Some("certificates".into()),
            row_id: Some(r.get(2)),
            why: r.get(3),
        });
    }

    let ok = open_conflicts == 0 && cross_check_failures == 0 && stations.iter().all(|s| s.first_bad.is_none());
    Ok(VerifyReport { ok, target: target.to_string(), stations, open_conflicts, cross_check_failures, problems })
}
