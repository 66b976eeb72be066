//! Schema migrations keyed by `PRAGMA user_version`, each in one transaction.

use crate::StoreError;
use rusqlite::Connection;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 1;

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
    tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
    tx.commit()?;
    Ok(())
}
