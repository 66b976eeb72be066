//! Schema migrations keyed by `PRAGMA user_version`, each in one transaction.

use crate::StoreError;
use rusqlite::Connection;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 7;

const V1: &str = r#"
CREATE TABLE runs (
    id           INTEGER PRIMARY KEY,
    run_uuid     TEXT NOT NULL UNIQUE,
    started_at   TEXT NOT NULL,
    station      TEXT NOT NULL,
    port         TEXT NOT NULL,
    operator     TEXT,
    tool_version TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    boot_id      TEXT NOT NULL
);
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    at          TEXT NOT NULL,
    step        TEXT NOT NULL,
    phase       TEXT NOT NULL CHECK (phase IN ('start', 'end')),
    outcome     TEXT,
    duration_us INTEGER,
    detail      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE
);
CREATE INDEX events_run ON events(run_id, id);
CREATE TABLE certificates (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    uid         TEXT NOT NULL,
    serial      TEXT NOT NULL UNIQUE,
    fingerprint TEXT NOT NULL,
    not_before  TEXT NOT NULL,
    not_after   TEXT NOT NULL,
    pem         TEXT NOT NULL,
    csr         BLOB NOT NULL,
    issued_at   TEXT NOT NULL
);
CREATE INDEX certificates_uid ON certificates(uid);
CREATE TRIGGER runs_append_only_u BEFORE UPDATE ON runs BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER runs_append_only_d BEFORE DELETE ON runs BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER events_append_only_u BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER events_append_only_d BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER certificates_append_only_u BEFORE UPDATE ON certificates BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER certificates_append_only_d BEFORE DELETE ON certificates BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
"#;

/// Version 2: slots and configuration hash per run, UID assignments (never twice),
/// revocations, and one result row per finished run for fast QA queries. Results of
/// version-1 runs are filled in from their final events.
const V2: &str = r#"
ALTER TABLE runs ADD COLUMN slot TEXT;
ALTER TABLE runs ADD COLUMN config_hash TEXT;
CREATE TABLE uids (
    uid         TEXT PRIMARY KEY,
    hardware_id TEXT NOT NULL UNIQUE,
    scheme      TEXT NOT NULL,
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    assigned_at TEXT NOT NULL
);
CREATE TABLE revocations (
    serial     TEXT PRIMARY KEY REFERENCES certificates(serial),
    reason     TEXT NOT NULL,
    revoked_at TEXT NOT NULL,
    run_id     INTEGER REFERENCES runs(id)
);
CREATE TABLE run_results (
    run_id           INTEGER PRIMARY KEY REFERENCES runs(id),
    ended_at         TEXT NOT NULL,
    outcome          TEXT NOT NULL,
    uid              TEXT,
    hardware_id      TEXT,
    model            TEXT,
    firmware_version TEXT,
    failing_step     TEXT,
    failure_code     TEXT,
    failure_message  TEXT,
    duration_us      INTEGER
);
CREATE INDEX run_results_outcome ON run_results(outcome, run_id);
CREATE INDEX run_results_uid ON run_results(uid, run_id);
CREATE INDEX run_results_hardware ON run_results(hardware_id, run_id);
CREATE INDEX run_results_step ON run_results(failing_step, run_id);
CREATE INDEX run_results_ended ON run_results(ended_at);
CREATE INDEX runs_started ON runs(started_at);
CREATE INDEX runs_operator ON runs(operator);
CREATE INDEX runs_station ON runs(station);
CREATE INDEX runs_slot ON runs(slot);
CREATE TRIGGER uids_append_only_u BEFORE UPDATE ON uids BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER uids_append_only_d BEFORE DELETE ON uids BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER revocations_append_only_u BEFORE UPDATE ON revocations BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER revocations_append_only_d BEFORE DELETE ON revocations BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER run_results_append_only_u BEFORE UPDATE ON run_results BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER run_results_append_only_d BEFORE DELETE ON run_results BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;

INSERT INTO uids (uid, hardware_id, scheme, run_id, assigned_at)
SELECT c.uid, c.uid, 'hardware-id', MIN(c.run_id), MIN(c.issued_at) FROM certificates c GROUP BY c.uid;
"#;

/// Version 2's result rows for runs a version-1 log finished, from their final events
/// (`?1`: the identification step's name).
const V2_RESULTS: &str = r#"
INSERT INTO run_results (run_id, ended_at, outcome, uid, hardware_id, model, firmware_version, failing_step,
                         failure_code, failure_message, duration_us)
SELECT e.run_id, e.at, e.outcome,
       json_extract(e.detail, '$.uid'),
       (SELECT json_extract(i.detail, '$.hardware_id') FROM events i
         WHERE i.run_id = e.run_id AND i.step = ?1 AND i.phase = 'end' AND json_extract(i.detail, '$.hardware_id') IS NOT NULL),
       (SELECT json_extract(i.detail, '$.model') FROM events i
         WHERE i.run_id = e.run_id AND i.step = ?1 AND i.phase = 'end' AND json_extract(i.detail, '$.model') IS NOT NULL),
       (SELECT json_extract(i.detail, '$.firmware_version') FROM events i
         WHERE i.run_id = e.run_id AND i.step = ?1 AND i.phase = 'end' AND json_extract(i.detail, '$.firmware_version') IS NOT NULL),
       (SELECT f.step FROM events f WHERE f.run_id = e.run_id AND f.phase = 'end' AND f.step NOT IN ('run', 'certificate')
         AND f.outcome <> 'PASS' ORDER BY f.id DESC LIMIT 1),
       json_extract(e.detail, '$.failure.code'),
       json_extract(e.detail, '$.failure.message'),
       e.duration_us
FROM events e WHERE e.step = 'run' AND e.phase = 'end'
"#;

/// Version 3: station-level actions outside runs (revocations from the CLI, later
/// configuration changes) in their own hash-chained `audit` table, and every CRL
/// the station issued.
const V3: &str = r#"
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL UNIQUE
);
CREATE TABLE crls (
    number      INTEGER PRIMARY KEY,
    this_update TEXT NOT NULL,
    next_update TEXT NOT NULL,
    revoked     INTEGER NOT NULL,
    der         BLOB NOT NULL
);
CREATE TRIGGER audit_append_only_u BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER audit_append_only_d BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER crls_append_only_u BEFORE UPDATE ON crls BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER crls_append_only_d BEFORE DELETE ON crls BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
"#;

/// Version 4: every certified public key bound to one UID (SHA-256 of its DER
/// SubjectPublicKeyInfo as primary key), so the database refuses a second identity for
/// a copied or replayed key, as it refuses a second board for a UID. Keys of
/// certificates issued before are bound by [`bind_existing_keys`].
const V4: &str = r#"
CREATE TABLE public_keys (
    key_sha256 TEXT PRIMARY KEY,
    uid        TEXT NOT NULL,
    run_id     INTEGER NOT NULL REFERENCES runs(id),
    bound_at   TEXT NOT NULL
);
CREATE INDEX public_keys_uid ON public_keys(uid);
CREATE TRIGGER public_keys_append_only_u BEFORE UPDATE ON public_keys BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER public_keys_append_only_d BEFORE DELETE ON public_keys BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
"#;

/// Version 5: what identification found, one row per run, so that queries, exports
/// and the recovery of interrupted runs read columns instead of parsing step details.
/// Runs of older logs are filled in from their identification events.
const V5: &str = r#"
CREATE TABLE run_identity (
    run_id           INTEGER PRIMARY KEY REFERENCES runs(id),
    uid              TEXT,
    hardware_id      TEXT,
    model            TEXT,
    firmware_version TEXT,
    sbom             TEXT
);
CREATE TRIGGER run_identity_append_only_u BEFORE UPDATE ON run_identity BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER run_identity_append_only_d BEFORE DELETE ON run_identity BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
"#;

/// Version 6: the fleet outbox (`outbox.rs`). The triggers that fill it are created
/// only when a fleet is configured ([`crate::Store::enable_outbox`]).
const V6: &str = r#"
CREATE TABLE outbox (
    seq    INTEGER PRIMARY KEY,
    tbl    TEXT NOT NULL,
    row_id INTEGER NOT NULL
);
CREATE TABLE outbox_acks (
    seq INTEGER PRIMARY KEY,
    at  TEXT NOT NULL
);
CREATE TRIGGER outbox_append_only_u BEFORE UPDATE ON outbox BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER outbox_append_only_d BEFORE DELETE ON outbox BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER outbox_acks_append_only_u BEFORE UPDATE ON outbox_acks BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER outbox_acks_append_only_d BEFORE DELETE ON outbox_acks BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
"#;

/// Version 7: UID counter blocks the fleet leased to this station (`uid_leases.rs`).
const V7: &str = r#"
CREATE TABLE uid_leases (
    stem      TEXT NOT NULL,
    first     INTEGER NOT NULL,
    last      INTEGER NOT NULL,
    width     INTEGER NOT NULL,
    leased_at TEXT NOT NULL,
    PRIMARY KEY (stem, first)
);
CREATE TRIGGER uid_leases_append_only_u BEFORE UPDATE ON uid_leases BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER uid_leases_append_only_d BEFORE DELETE ON uid_leases BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
"#;

/// Fills `run_identity` for runs recorded before version 5 from the last end event
/// of their identification step that names a hardware id.
fn identities_from_events(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    tx.execute(
        "INSERT OR IGNORE INTO run_identity (run_id, uid, hardware_id, model, firmware_version, sbom)
         SELECT e.run_id, json_extract(e.detail, '$.uid'), json_extract(e.detail, '$.hardware_id'),
                json_extract(e.detail, '$.model'), json_extract(e.detail, '$.firmware_version'),
                json_extract(e.detail, '$.sbom')
           FROM events e
          WHERE e.id IN (SELECT MAX(id) FROM events WHERE step = ?1 AND phase = 'end'
                           AND json_extract(detail, '$.hardware_id') IS NOT NULL GROUP BY run_id)",
        [crate::Step::Identify.as_str()],
    )?;
    Ok(())
}

/// Binds the key of every certificate already in the log (oldest first; if an older
/// log holds one key under two UIDs, the first UID keeps it).
fn bind_existing_keys(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    let mut rows = Vec::new();
    {
        let mut stmt = tx.prepare("SELECT uid, run_id, pem, issued_at FROM certificates ORDER BY id")?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            rows.push((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?));
        }
    }
    for (uid, run_id, pem, issued_at) in rows {
        let Some(key) = crate::keys::key_sha256_of_pem(&pem) else { continue };
        tx.execute(
            "INSERT OR IGNORE INTO public_keys (key_sha256, uid, run_id, bound_at) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![key, uid, run_id, issued_at],
        )?;
    }
    Ok(())
}

/// Brings the database to [`SCHEMA_VERSION`], or refuses a newer one.
pub fn migrate(conn: &mut Connection, path: &str) -> Result<(), StoreError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema { path: path.to_string(), found, supported: SCHEMA_VERSION });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
    // Re-read inside the lock: another station process may have migrated meanwhile.
    let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current < 1 {
        tx.execute_batch(V1)?;
    }
    if current < 2 {
        tx.execute_batch(V2)?;
        tx.execute(V2_RESULTS, [crate::Step::Identify.as_str()])?;
    }
    if current < 3 {
        tx.execute_batch(V3)?;
    }
    if current < 4 {
        tx.execute_batch(V4)?;
        bind_existing_keys(&tx)?;
    }
    if current < 5 {
        tx.execute_batch(V5)?;
        identities_from_events(&tx)?;
    }
    if current < 6 {
        tx.execute_batch(V6)?;
    }
    if current < 7 {
        tx.execute_batch(V7)?;
    }
    tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
    tx.commit()?;
    Ok(())
}
