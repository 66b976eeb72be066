//! Opening the log and appending to it.

use crate::chain::{event_hash, HashInput, GENESIS};
use crate::{now_rfc3339, schema, ChainReport, Step, StepEvent, StepEventError, StoreError};
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
    /// Slot (fixture) nickname.
    pub slot: Option<String>,
    /// SHA-256 of the active station configuration.
    pub config_hash: Option<String>,
}

/// How a run ended, written as the run's final event and its result row.
#[derive(Clone, Debug, Default)]
pub struct RunEnd {
    /// PASS / FAIL / INTERRUPTED.
    pub outcome: String,
    /// Device UID, if decided.
    pub uid: Option<String>,
    /// Hardware id, hex.
    pub hardware_id: Option<String>,
    /// Device model.
    pub model: Option<String>,
    /// Firmware version.
    pub firmware_version: Option<String>,
    /// The step that failed.
    pub failing_step: Option<String>,
    /// Failure code.
    pub failure_code: Option<String>,
    /// Failure message.
    pub failure_message: Option<String>,
    /// Whole run in microseconds.
    pub duration_us: Option<i64>,
    /// More detail for the event.
    pub detail: Value,
}

/// A certificate as recorded in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// Serial, hex.
    pub serial: String,
    /// SHA-256 fingerprint, hex.
    pub fingerprint: String,
    /// PEM.
    pub pem: String,
    /// Run that issued it.
    pub run_uuid: String,
    /// That run's outcome (None while running or never closed).
    pub run_outcome: Option<String>,
    /// Revocation reason, if revoked.
    pub revoked: Option<String>,
}

/// Who revoked a certificate.
#[derive(Clone, Copy, Debug)]
pub enum RevokedBy<'a> {
    /// A run (re-issue).
    Run(RunId),
    /// A person or tool outside a run (badge, user name).
    Actor(&'a str),
}

/// How [`Store::assign_uid`] should pick a UID for a board it has not seen.
pub enum UidChoice<'a> {
    /// This exact UID (from the hardware id, or scanned).
    Fixed(String),
    /// The next counter after `stem`, `width` digits; `finish` appends the check
    /// character to the UID without it.
    Sequence {
        /// Prefix and date part.
        stem: String,
        /// Counter digits.
        width: usize,
        /// Adds the check character.
        finish: &'a dyn Fn(&str) -> String,
        /// Number only from blocks the fleet leased to this station
        /// ([`Store::record_uid_lease`]), never past them.
        leased: bool,
    },
}

/// The counter after the highest one a UID of `stem` uses in this log (a station on
/// its own).
fn next_local_counter(tx: &rusqlite::Transaction<'_>, stem: &str, width: usize) -> Result<u64, StoreError> {
    let len_without_check = stem.len() + width;
    let last: Option<String> = tx
        .query_row(
            "SELECT uid FROM uids WHERE substr(uid, 1, ?2) = ?1 AND length(uid) >= ?3 ORDER BY uid DESC LIMIT 1",
            params![stem, stem.len() as i64, len_without_check as i64],
            |r| r.get(0),
        )
        .optional()?;
    Ok(match last {
        Some(l) => l.get(stem.len()..len_without_check).and_then(|d| d.parse::<u64>().ok()).unwrap_or(0) + 1,
        None => 1,
    })
}

/// The UID a board got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssignedUid {
    /// The UID.
    pub uid: String,
    /// The board had this UID from an earlier run.
    pub existing: bool,
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
    /// The certified key's id ([`crate::key_sha256`] of its SubjectPublicKeyInfo).
    pub key_sha256: &'a str,
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
            "INSERT INTO runs (run_uuid, started_at, station, port, operator, tool_version, pid, boot_id, slot, config_hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                start.run_uuid,
                at,
                start.station,
                start.port,
                start.operator,
                start.tool_version,
                std::process::id(),
                boot_id(),
                start.slot,
                start.config_hash
            ],
        )?;
        let run = RunId(tx.last_insert_rowid());
        let detail = serde_json::json!({
            "station": start.station, "port": start.port, "operator": start.operator,
            "tool_version": start.tool_version, "slot": start.slot, "config_hash": start.config_hash,
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

    /// Appends the `start` event of `step` (before the step acts).
    pub fn start_step(&self, run: RunId, step: Step) -> Result<(), StoreError> {
        let event = EventRecord {
            step: step.as_str(),
            phase: Phase::Start,
            outcome: None,
            duration_us: None,
            detail: Value::Object(serde_json::Map::new()),
        };
        self.append_event(run, &event)
    }

    /// Appends the `end` event of the step `event` ends, with `outcome` (`PASS`,
    /// `FAIL`, `INTERRUPTED`) and its duration: the one place a step's detail is
    /// serialised.
    pub fn end_step(&self, run: RunId, outcome: &str, duration_us: i64, event: &StepEvent) -> Result<(), StoreError> {
        let step = event.step();
        let detail = event.to_detail().map_err(|source| StoreError::Detail { step, source })?;
        let event = EventRecord {
            step: step.as_str(),
            phase: Phase::End,
            outcome: Some(outcome),
            duration_us: Some(duration_us),
            detail,
        };
        self.append_event(run, &event)
    }

    /// Records an issued certificate (and a chained event saying so) before the
    /// certificate leaves the station.
    pub fn record_certificate(&self, run: RunId, cert: &CertificateRecord<'_>) -> Result<(), StoreError> {
        let tx = self.begin()?;
        let uuid = run_uuid(&tx, run)?;
        // One public key, one identity: the key's first UID keeps it for good.
        tx.execute(
            "INSERT OR IGNORE INTO public_keys (key_sha256, uid, run_id, bound_at) VALUES (?1, ?2, ?3, ?4)",
            params![cert.key_sha256, cert.uid, run.0, now_rfc3339()],
        )?;
        let owner: String =
            tx.query_row("SELECT uid FROM public_keys WHERE key_sha256 = ?1", [cert.key_sha256], |r| r.get(0))?;
        if owner != cert.uid {
            return Err(StoreError::KeyBound { uid: owner });
        }
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
            "not_before": cert.not_before, "not_after": cert.not_after,
            "pem_sha256": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(cert.pem.as_bytes())),
            "key_sha256": cert.key_sha256,
            "csr_sha256": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(cert.csr)),
        });
        let event =
            EventRecord { step: "certificate", phase: Phase::End, outcome: Some("ISSUED"), duration_us: None, detail };
        insert_event(&tx, run, &uuid, &event)?;
        tx.commit()?;
        Ok(())
    }

    /// The UID a public key is bound to ([`crate::key_sha256`]), if it was ever certified.
    pub fn key_owner(&self, key_sha256: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT uid FROM public_keys WHERE key_sha256 = ?1", [key_sha256], |r| r.get(0))
            .optional()?)
    }

    /// Closes runs left open by a station process that no longer exists (crash,
    /// power cut, kill) with an `INTERRUPTED` end event carrying `failure`. Returns
    /// what they got to.
    pub fn recover_interrupted(&self, failure: &RunFailure<'_>) -> Result<Vec<InterruptedRun>, StoreError> {
        let open = self.open_runs()?;
        let mut closed = Vec::new();
        for OpenRun { run, uuid, pid, boot, slot, port } in open {
            if process_alive(pid, &boot) {
                continue;
            }
            let (uid, hardware_id, failing_step) = self.run_progress(run)?;
            let found = InterruptedRun {
                run_id: uuid,
                slot,
                port,
                uid: uid.clone(),
                hardware_id: hardware_id.clone(),
                step: failing_step.clone(),
            };
            let end = RunEnd {
                // The outcome, not a failure code: PASS / FAIL / INTERRUPTED are the log's own.
                outcome: "INTERRUPTED".into(),
                uid,
                hardware_id,
                failing_step,
                failure_code: Some(failure.code.into()),
                failure_message: Some(failure.message.into()),
                detail: serde_json::json!({ "failure": failure.record }),
                ..RunEnd::default()
            };
            self.end_run(run, &end)?;
            closed.push(found);
        }
        Ok(closed)
    }

    /// What an unfinished run got to: UID, hardware id and the step it was in.
    fn run_progress(&self, run: RunId) -> Result<Progress, StoreError> {
        let (uid, hardware_id) = self
            .conn
            .query_row("SELECT uid, hardware_id FROM run_identity WHERE run_id = ?1", [run.0], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?
            .unwrap_or((None, None));
        let mut stmt =
            self.conn.prepare("SELECT step FROM events WHERE run_id = ?1 AND phase = 'start' ORDER BY id DESC")?;
        let mut steps = stmt.query([run.0])?;
        let mut step = None;
        while let Some(row) = steps.next()? {
            let name: String = row.get(0)?;
            if !crate::record::OWN_EVENTS.contains(&name.as_str()) {
                step = Some(name);
                break;
            }
        }
        Ok((uid, hardware_id, step))
    }

    /// Records what identification found about the run's board, as soon as it is
    /// known (the first record of a run stands).
    pub fn record_identity(&self, run: RunId, identity: &crate::Identity) -> Result<(), StoreError> {
        let sbom = identity.sbom.as_ref().map(Value::to_string);
        self.conn.execute(
            "INSERT OR IGNORE INTO run_identity (run_id, uid, hardware_id, model, firmware_version, sbom)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![run.0, identity.uid, identity.hardware_id, identity.model, identity.firmware_version, sbom],
        )?;
        Ok(())
    }

    /// Writes the run's final event and its result row, in one transaction.
    pub fn end_run(&self, run: RunId, end: &RunEnd) -> Result<(), StoreError> {
        let tx = self.begin()?;
        // Under the write lock: another station process may have just closed it
        // (two processes recovering interrupted runs at the same time).
        let already: bool =
            tx.query_row("SELECT EXISTS (SELECT 1 FROM run_results WHERE run_id = ?1)", [run.0], |r| r.get(0))?;
        if already {
            return Ok(());
        }
        let uuid = run_uuid(&tx, run)?;
        let mut detail = end.detail.clone();
        if let Value::Object(map) = &mut detail {
            map.insert("outcome".into(), Value::from(end.outcome.clone()));
            map.insert("uid".into(), end.uid.clone().into());
        }
        let event = EventRecord {
            step: "run",
            phase: Phase::End,
            outcome: Some(&end.outcome),
            duration_us: end.duration_us,
            detail,
        };
        insert_event(&tx, run, &uuid, &event)?;
        tx.execute(
            "INSERT INTO run_results (run_id, ended_at, outcome, uid, hardware_id, model, firmware_version, failing_step,
                                      failure_code, failure_message, duration_us)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                run.0,
                now_rfc3339(),
                end.outcome,
                end.uid,
                end.hardware_id,
                end.model,
                end.firmware_version,
                end.failing_step,
                end.failure_code,
                end.failure_message,
                end.duration_us
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The UID of a board (by hardware id): its existing one, or a new one per
    /// `choice`. The database guarantees a UID is never given to two boards.
    pub fn assign_uid(
        &self,
        run: RunId,
        hardware_id: &str,
        scheme: &str,
        choice: UidChoice<'_>,
    ) -> Result<AssignedUid, StoreError> {
        let tx = self.begin()?;
        let existing: Option<String> =
            tx.query_row("SELECT uid FROM uids WHERE hardware_id = ?1", [hardware_id], |r| r.get(0)).optional()?;
        if let Some(uid) = existing {
            if let UidChoice::Fixed(wanted) = &choice {
                if wanted != &uid && scheme == "scanned" {
                    return Err(StoreError::UidMismatch {
                        hardware_id: hardware_id.into(),
                        has: uid,
                        offered: wanted.clone(),
                    });
                }
            }
            return Ok(AssignedUid { uid, existing: true });
        }
        let uid = match choice {
            UidChoice::Fixed(uid) => uid,
            UidChoice::Sequence { stem, width, finish, leased } => {
                let next = if leased {
                    let next = crate::uid_leases::lease_position(&tx, &stem, width)?.next;
                    next.ok_or_else(|| StoreError::UidBlocksExhausted { stem: stem.clone() })?
                } else {
                    next_local_counter(&tx, &stem, width)?
                };
                let counter = format!("{next:0width$}");
                if counter.len() > width {
                    return Err(StoreError::SequenceExhausted { stem });
                }
                finish(&format!("{stem}{counter}"))
            }
        };
        let holder: Option<String> =
            tx.query_row("SELECT hardware_id FROM uids WHERE uid = ?1", [&uid], |r| r.get(0)).optional()?;
        if let Some(holder) = holder {
            return Err(StoreError::UidTaken { uid, hardware_id: holder });
        }
        tx.execute(
            "INSERT INTO uids (uid, hardware_id, scheme, run_id, assigned_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![uid, hardware_id, scheme, run.0, now_rfc3339()],
        )?;
        let uuid = run_uuid(&tx, run)?;
        let detail = serde_json::json!({ "uid": uid, "hardware_id": hardware_id, "scheme": scheme });
        let event =
            EventRecord { step: "uid", phase: Phase::End, outcome: Some("ASSIGNED"), duration_us: None, detail };
        insert_event(&tx, run, &uuid, &event)?;
        tx.commit()?;
        Ok(AssignedUid { uid, existing: false })
    }

    /// Records a revocation (append-only) with a chained event: in the run that
    /// revoked it, or in the audit table for a person's action.
    pub fn record_revocation(&self, by: RevokedBy<'_>, serial: &str, reason: &str) -> Result<(), StoreError> {
        let tx = self.begin()?;
        let run = match by {
            RevokedBy::Run(run) => Some(run.0),
            RevokedBy::Actor(_) => None,
        };
        tx.execute(
            "INSERT INTO revocations (serial, reason, revoked_at, run_id) VALUES (?1, ?2, ?3, ?4)",
            params![serial, reason, now_rfc3339(), run],
        )?;
        let detail = serde_json::json!({ "serial": serial, "reason": reason });
        match by {
            RevokedBy::Run(run) => {
                let uuid = run_uuid(&tx, run)?;
                let event = EventRecord {
                    step: "revocation",
                    phase: Phase::End,
                    outcome: Some("REVOKED"),
                    duration_us: None,
                    detail,
                };
                insert_event(&tx, run, &uuid, &event)?;
            }
            RevokedBy::Actor(actor) => crate::audit::insert_audit(&tx, actor, "revoke", &detail)?,
        }
        tx.commit()?;
        Ok(())
    }

    /// Whether a run for `uid` passed at or after the run that issued `serial`.
    pub fn passed_since(&self, uid: &str, serial: &str) -> Result<bool, StoreError> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM run_results x WHERE x.uid = ?1 AND x.outcome = 'PASS'
               AND x.run_id >= (SELECT run_id FROM certificates WHERE serial = ?2))",
            [uid, serial],
            |r| r.get(0),
        )?)
    }

    /// The end event of `step` in the latest passing run of `uid` that passed it: the
    /// run's id and the event (for the label step: template, fields, print job), or
    /// why its detail could not be read as one (a log older than the event's shape).
    #[allow(clippy::type_complexity)]
    pub fn last_passed_step(
        &self,
        uid: &str,
        step: Step,
    ) -> Result<Option<(String, Result<StepEvent, StepEventError>)>, StoreError> {
        let row: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT r.run_uuid, e.detail FROM run_results x
                   JOIN runs r ON r.id = x.run_id
                   JOIN events e ON e.run_id = x.run_id AND e.step = ?2 AND e.phase = 'end' AND e.outcome = 'PASS'
                  WHERE x.uid = ?1 AND x.outcome = 'PASS'
                  ORDER BY e.id DESC LIMIT 1",
                params![uid, step.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.map(|(run, detail)| {
            let detail = serde_json::from_str(&detail).unwrap_or_default();
            (run, StepEvent::parse(step, &detail))
        }))
    }

    /// Every certificate issued for `uid`, oldest first, with revocation state.
    pub fn certificates(&self, uid: &str) -> Result<Vec<IssuedCertificate>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT c.serial, c.fingerprint, c.pem, r.run_uuid, x.outcome, v.reason
             FROM certificates c JOIN runs r ON r.id = c.run_id
             LEFT JOIN run_results x ON x.run_id = c.run_id
             LEFT JOIN revocations v ON v.serial = c.serial
             WHERE c.uid = ?1 ORDER BY c.id",
        )?;
        let rows = stmt.query_map([uid], |r| {
            Ok(IssuedCertificate {
                serial: r.get(0)?,
                fingerprint: r.get(1)?,
                pem: r.get(2)?,
                run_uuid: r.get(3)?,
                run_outcome: r.get(4)?,
                revoked: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn open_runs(&self) -> Result<Vec<OpenRun>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT r.id, r.run_uuid, r.pid, r.boot_id, r.slot, r.port FROM runs r
             WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.run_id = r.id AND e.step = 'run' AND e.phase = 'end')",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(OpenRun {
                run: RunId(r.get(0)?),
                uuid: r.get(1)?,
                pid: r.get(2)?,
                boot: r.get(3)?,
                slot: r.get(4)?,
                port: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Recomputes both hash chains (run events, then audit entries) and names the first
    /// row that does not fit.
    pub fn verify_chain(&self) -> Result<ChainReport, StoreError> {
        let mut report = ChainReport {
            events: 0,
            audit_entries: 0,
            first_broken_event: None,
            first_broken_audit: None,
            problem: None,
        };
        let mut stmt = self.conn.prepare(
            "SELECT e.id, e.prev_hash, e.hash, r.run_uuid, e.at, e.step, e.phase, e.outcome, e.duration_us, e.detail
             FROM events e JOIN runs r ON r.id = e.run_id ORDER BY e.id",
        )?;
        let events = stmt.query_map([], |row| {
            let detail: String = row.get(9)?;
            let (uuid, at, step, phase): (String, String, String, String) =
                (row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?);
            let (outcome, duration_us): (Option<String>, Option<i64>) = (row.get(7)?, row.get(8)?);
            let prev_hash: String = row.get(1)?;
            let computed = event_hash(&HashInput {
                prev_hash: &prev_hash,
                run_uuid: &uuid,
                at: &at,
                step: &step,
                phase: &phase,
                outcome: outcome.as_deref(),
                duration_us,
                detail: &detail,
            });
            Ok(ChainRow { id: row.get(0)?, prev_hash, hash: row.get(2)?, computed })
        })?;
        let (count, broken) = walk_chain(events, "event")?;
        report.events = count;
        if let Some((id, problem)) = broken {
            report.first_broken_event = Some(id);
            report.problem = Some(problem);
            return Ok(report);
        }
        let mut stmt =
            self.conn.prepare("SELECT id, prev_hash, hash, at, actor, action, detail FROM audit ORDER BY id")?;
        let audit = stmt.query_map([], |row| {
            let prev_hash: String = row.get(1)?;
            let (at, actor, action, detail): (String, String, String, String) =
                (row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?);
            let computed = crate::audit::audit_hash(&prev_hash, &at, &action, &actor, &detail);
            Ok(ChainRow { id: row.get(0)?, prev_hash, hash: row.get(2)?, computed })
        })?;
        let (count, broken) = walk_chain(audit, "audit entry")?;
        report.audit_entries = count;
        if let Some((id, problem)) = broken {
            report.first_broken_audit = Some(id);
            report.problem = Some(problem);
        }
        Ok(report)
    }

    pub(crate) fn begin(&self) -> Result<rusqlite::Transaction<'_>, StoreError> {
        // IMMEDIATE takes the write lock up front so the "last hash" we read is still
        // the last one when we insert, even with several station processes.
        Ok(rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?)
    }
}

/// One row of a hash chain: what it stores and what its content hashes to.
struct ChainRow {
    id: i64,
    prev_hash: String,
    hash: String,
    computed: String,
}

/// Walks a chain in order: rows seen, and the first bad row with what is wrong.
fn walk_chain(
    rows: impl Iterator<Item = rusqlite::Result<ChainRow>>,
    what: &str,
) -> Result<(u64, Option<(i64, String)>), StoreError> {
    let mut expected_prev = GENESIS.to_string();
    let mut count = 0u64;
    for row in rows {
        let row = row?;
        count += 1;
        if row.prev_hash != expected_prev {
            let problem = format!("prev_hash does not match the previous {what}: one was removed or inserted");
            return Ok((count, Some((row.id, problem))));
        }
        if row.computed != row.hash {
            return Ok((count, Some((row.id, format!("content does not match its hash: the {what} was edited")))));
        }
        expected_prev = row.hash;
    }
    Ok((count, None))
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

/// The failure [`Store::recover_interrupted`] records for each run it closes. The
/// caller names it: failure codes and their words belong to the station, not the log.
#[derive(Clone, Copy, Debug)]
pub struct RunFailure<'a> {
    /// Stable failure code, for the run's result row (`failure_code`).
    pub code: &'a str,
    /// One-line operator message, for the result row (`failure_message`).
    pub message: &'a str,
    /// The whole failure as the end event records it under `failure` (at least
    /// `code` and `message`, the same as above).
    pub record: &'a Value,
}

/// A run without an end, as [`Store::recover_interrupted`] finds it.
struct OpenRun {
    run: RunId,
    uuid: String,
    pid: i64,
    boot: String,
    slot: Option<String>,
    port: String,
}

/// A run a stopped station left open, closed as `INTERRUPTED` at start-up.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InterruptedRun {
    /// Run id.
    pub run_id: String,
    /// Slot, if the run had one.
    pub slot: Option<String>,
    /// Port or probe.
    pub port: String,
    /// UID, if the run got that far.
    pub uid: Option<String>,
    /// Hardware id (hex), if the board was identified.
    pub hardware_id: Option<String>,
    /// The step it was in.
    pub step: Option<String>,
}

/// UID, hardware id and last started step of an unfinished run.
type Progress = (Option<String>, Option<String>, Option<String>);

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
    // A killed station whose parent has not reaped it yet is a zombie: its /proc
    // entry exists, but it will never finish the run.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(process_state(&stat), Some('Z' | 'X')),
        Err(_) => false,
    }
}

/// The state letter of a `/proc/PID/stat` line (the field after the command name,
/// which is in parentheses and may itself contain spaces or parentheses).
fn process_state(stat: &str) -> Option<char> {
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_is_read_past_a_command_name_with_parentheses() {
        assert_eq!(process_state("42 (hallmark-station) S 1 42"), Some('S'));
        assert_eq!(process_state("42 (a) b) Z 1 42"), Some('Z'));
        assert_eq!(process_state("garbage"), None);
    }

    #[test]
    fn a_running_process_is_alive_and_a_killed_unreaped_one_is_not() {
        let mut running = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        assert!(process_alive(running.id().into(), &boot_id()));
        // Killed and not yet reaped by its parent (us): a zombie that will never finish a run.
        running.kill().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while process_alive(running.id().into(), &boot_id()) {
            assert!(std::time::Instant::now() < deadline, "a zombie counts as alive");
            std::thread::sleep(Duration::from_millis(10));
        }
        running.wait().unwrap();
        assert!(!process_alive(running.id().into(), &boot_id()), "reaped");
        assert!(!process_alive(running.id().into(), "another-boot"));
    }
}
