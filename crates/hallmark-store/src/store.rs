//! Opening the log and appending to it.

use crate::chain::{event_hash, HashInput, GENESIS};
use crate::{now_rfc3339, schema, ChainReport, StoreError};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Row id of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunId(pub i64);

/// `start` is written before a step acts, `end` after it finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Before acting.
    Start,
    /// After acting.
    End,
}

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Phase::Start => "start",
            Phase::End => "end",
        }
    }
}

/// What is known when a run starts.
#[derive(Clone, Debug)]
pub struct RunStart {
    /// Globally unique run id (also printed to the operator and in JSON).
    pub run_uuid: String,
    /// Station name.
    pub station: String,
    /// Port or probe the board is on.
    pub port: String,
    /// Operator badge, if scanned.
    pub operator: Option<String>,
    /// Hallmark version.
    pub tool_version: String,
}

/// One event to append.
#[derive(Clone, Debug)]
pub struct EventRecord<'a> {
    /// Step name (`hello`, `keygen`, … or `run`).
    pub step: &'a str,
    /// Start or end.
    pub phase: Phase,
    /// `PASS` / `FAIL` / `INTERRUPTED` on `end`.
    pub outcome: Option<&'a str>,
    /// Duration in microseconds on `end`.
    pub duration_us: Option<i64>,
    /// Structured detail (JSON object).
    pub detail: Value,
}

/// A certificate about to be handed to a device.
#[derive(Clone, Debug)]
pub struct CertificateRecord<'a> {
    /// Device UID (= CN).
    pub uid: &'a str,
    /// Serial, hex.
    pub serial: &'a str,
    /// SHA-256 fingerprint, hex.
    pub fingerprint: &'a str,
    /// Validity start (RFC 3339).
    pub not_before: &'a str,
    /// Validity end (RFC 3339).
    pub not_after: &'a str,
    /// PEM.
    pub pem: &'a str,
    /// The CSR exactly as the device sent it.
    pub csr: &'a [u8],
}

/// An open log.
pub struct Store {
    pub(crate) conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating and migrating as needed) the log for writing.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|source| StoreError::Io { path: parent.display().to_string(), source })?;
        }
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // WAL lets QA read while stations write; FULL makes every commit durable
        // before the station acts on it (the log is evidence).
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&mut conn, &path.display().to_string())?;
        Ok(Store { conn, path: path.to_path_buf() })
    }

    /// Opens an existing log read-only (exports, verification).
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found > schema::SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: path.display().to_string(),
                found,
                supported: schema::SCHEMA_VERSION,
            });
        }
        Ok(Store { conn, path: path.to_path_buf() })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Inserts the run row and its first event, before anything touches the board.
    pub fn begin_run(&self, start: &RunStart) -> Result<RunId, StoreError> {
        let tx = self.begin()?;
        let at = now_rfc3339();
        tx.execute(
            "INSERT INTO runs (run_uuid, started_at, station, port, operator, tool_version, pid, boot_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                start.run_uuid,
                at,
                start.station,
                start.port,
                start.operator,
                start.tool_version,
                std::process::id(),
                boot_id()
            ],
        )?;
        let run = RunId(tx.last_insert_rowid());
        let detail = serde_json::json!({
            "station": start.station, "port": start.port, "operator": start.operator,
            "tool_version": start.tool_version,
        });
        let event = EventRecord { step: "run", phase: Phase::Start, outcome: None, duration_us: None, detail };
        insert_event(&tx, run, &start.run_uuid, &event)?;
        tx.commit()?;
        Ok(run)
    }

    /// Appends one event to a run.
    pub fn append_event(&self, run: RunId, event: &EventRecord<'_>) -> Result<(), StoreError> {
        let tx = self.begin()?;
        let uuid = run_uuid(&tx, run)?;
        insert_event(&tx, run, &uuid, event)?;
        tx.commit()?;
        Ok(())
    }

    /// Records an issued certificate (and a chained event saying so) before the
    /// certificate leaves the station.
    pub fn record_certificate(&self, run: RunId, cert: &CertificateRecord<'_>) -> Result<(), StoreError> {
        let tx = self.begin()?;
        let uuid = run_uuid(&tx, run)?;
        tx.execute(
            "INSERT INTO certificates (run_id, uid, serial, fingerprint, not_before, not_after, pem, csr, issued_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                run.0,
                cert.uid,
                cert.serial,
                cert.fingerprint,
                cert.not_before,
                cert.not_after,
                cert.pem,
                cert.csr,
                now_rfc3339()
            ],
        )?;
        let detail = serde_json::json!({
            "uid": cert.uid, "serial": cert.serial, "fingerprint": cert.fingerprint,
            "csr_sha256": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(cert.csr)),
        });
        let event =
            EventRecord { step: "certificate", phase: Phase::End, outcome: Some("ISSUED"), duration_us: None, detail };
        insert_event(&tx, run, &uuid, &event)?;
        tx.commit()?;
        Ok(())
    }

    /// Certificates issued so far for `uid`, oldest first: (serial, fingerprint).
    pub fn certificates_for_uid(&self, uid: &str) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT serial, fingerprint FROM certificates WHERE uid = ?1 ORDER BY id")?;
        let rows = stmt.query_map([uid], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Closes runs left open by a station process that no longer exists (crash,
    /// power cut, kill) with an `INTERRUPTED` end event. Returns their uuids.
    pub fn recover_interrupted(&self) -> Result<Vec<String>, StoreError> {
        let open = self.open_runs()?;
        let mut closed = Vec::new();
        for (run, uuid, pid, boot) in open {
            if process_alive(pid, &boot) {
                continue;
            }
            let detail = serde_json::json!({
                "outcome": "INTERRUPTED",
                "failure": {"code": "INTERRUPTED", "message": "The station stopped during this run (crash, power cut or kill). Check the board and run it again."},
            });
            let event =
                EventRecord { step: "run", phase: Phase::End, outcome: Some("INTERRUPTED"), duration_us: None, detail };
            self.append_event(run, &event)?;
            closed.push(uuid);
        }
        Ok(closed)
    }

    fn open_runs(&self) -> Result<Vec<(RunId, String, i64, String)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT r.id, r.run_uuid, r.pid, r.boot_id FROM runs r
             WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.run_id = r.id AND e.step = 'run' AND e.phase = 'end')",
        )?;
        let rows = stmt.query_map([], |r| Ok((RunId(r.get(0)?), r.get(1)?, r.get(2)?, r.get(3)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Recomputes the hash chain over all events.
    pub fn verify_chain(&self) -> Result<ChainReport, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT e.id, r.run_uuid, e.at, e.step, e.phase, e.outcome, e.duration_us, e.detail, e.prev_hash, e.hash
             FROM events e JOIN runs r ON r.id = e.run_id ORDER BY e.id",
        )?;
        let mut rows = stmt.query([])?;
        let mut expected_prev = GENESIS.to_string();
        let mut count = 0u64;
        while let Some(row) = rows.next()? {
            count += 1;
            let id: i64 = row.get(0)?;
            let (uuid, at, step, phase): (String, String, String, String) =
                (row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?);
            let outcome: Option<String> = row.get(5)?;
            let duration_us: Option<i64> = row.get(6)?;
            let detail: String = row.get(7)?;
            let prev_hash: String = row.get(8)?;
            let hash: String = row.get(9)?;
            let broken = |problem: &str| ChainReport {
                events: count,
                first_broken_event: Some(id),
                problem: Some(problem.to_string()),
            };
            if prev_hash != expected_prev {
                return Ok(broken("prev_hash does not match the previous event: an event was removed or inserted"));
            }
            let input = HashInput {
                prev_hash: &prev_hash,
                run_uuid: &uuid,
                at: &at,
                step: &step,
                phase: &phase,
                outcome: outcome.as_deref(),
                duration_us,
                detail: &detail,
            };
            if event_hash(&input) != hash {
                return Ok(broken("content does not match its hash: the event was edited"));
            }
            expected_prev = hash;
        }
        Ok(ChainReport { events: count, first_broken_event: None, problem: None })
    }

    fn begin(&self) -> Result<rusqlite::Transaction<'_>, StoreError> {
        // IMMEDIATE takes the write lock up front so the "last hash" we read is still
        // the last one when we insert, even with several station processes.
        Ok(rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?)
    }
}

fn run_uuid(tx: &rusqlite::Transaction<'_>, run: RunId) -> Result<String, StoreError> {
    tx.query_row("SELECT run_uuid FROM runs WHERE id = ?1", [run.0], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::UnknownRun(run.0.to_string()))
}

fn insert_event(
    tx: &rusqlite::Transaction<'_>,
    run: RunId,
    uuid: &str,
    event: &EventRecord<'_>,
) -> Result<(), StoreError> {
    let prev: String = tx
        .query_row("SELECT hash FROM events ORDER BY id DESC LIMIT 1", [], |r| r.get(0))
        .optional()?
        .unwrap_or_else(|| GENESIS.to_string());
    let at = now_rfc3339();
    let detail = event.detail.to_string();
    let hash = event_hash(&HashInput {
        prev_hash: &prev,
        run_uuid: uuid,
        at: &at,
        step: event.step,
        phase: event.phase.as_str(),
        outcome: event.outcome,
        duration_us: event.duration_us,
        detail: &detail,
    });
    tx.execute(
        "INSERT INTO events (run_id, at, step, phase, outcome, duration_us, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![run.0, at, event.step, event.phase.as_str(), event.outcome, event.duration_us, detail, prev, hash],
    )?;
    Ok(())
}

/// Identifies this boot of the machine, so a pid from before a reboot is never
/// mistaken for a live process.
fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").map(|s| s.trim().to_string()).unwrap_or_default()
}

pub(crate) fn process_alive(pid: i64, boot: &str) -> bool {
    if boot.is_empty() || boot != boot_id() {
        return false;
    }
    if pid as u32 == std::process::id() {
        // Our own process: any open run of ours that is not in progress in this
        // process was abandoned; the caller only recovers at start-up.
        return false;
    }
    Path::new(&format!("/proc/{pid}")).exists()
}
