//! The fleet outbox: with a fleet configured, every row the log gains is also listed
//! in `outbox`, in the same SQLite transaction (by triggers, so no write path can
//! forget it), numbered `seq` 1, 2, 3, ... in commit order without gaps. The fleet
//! sync sends rows in `seq` order and records in `outbox_acks` what the server
//! committed; the server's own high-water mark decides what is sent after a crash, so
//! an acknowledgement lost to a kill only means a batch is offered twice, which the
//! server ignores.
//!
//! Without a fleet there are no triggers and the outbox stays empty: the log behaves
//! as before. Enabling it lists every existing row first (the fleet gets the whole
//! history), in the order the tables depend on each other.

use crate::{Store, StoreError};
use rusqlite::types::ValueRef;
use rusqlite::{params, OptionalExtension};
use serde_json::{Map, Value};

/// The log's tables, in the order a backfill lists them (referenced tables first).
pub const OUTBOX_TABLES: &[&str] = &[
    "runs",
    "events",
    "run_identity",
    "uids",
    "certificates",
    "public_keys",
    "revocations",
    "run_results",
    "audit",
    "crls",
];

/// One row of the local log waiting for (or already sent to) the fleet.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct OutboxRecord {
    /// 1, 2, 3, ... per station, no gaps, in commit order.
    pub seq: i64,
    /// The local table the row is in (one of [`OUTBOX_TABLES`]).
    pub table: String,
    /// The row's `rowid` in that table.
    pub row_id: i64,
    /// The row as a JSON object: column name → value (BLOBs as lower-case hex).
    pub body: Value,
}

/// How far the outbox is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutboxState {
    /// Whether rows are being listed (a fleet is configured).
    pub enabled: bool,
    /// The newest `seq` listed (0 when none).
    pub last_seq: i64,
    /// The newest `seq` the fleet server acknowledged (0 when none).
    pub acknowledged: i64,
}

impl OutboxState {
    /// Rows waiting to be sent.
    pub fn waiting(&self) -> i64 {
        (self.last_seq - self.acknowledged).max(0)
    }
}

impl Store {
    /// Starts listing rows for the fleet (idempotent): creates the triggers and, the
    /// first time, lists every row already in the log.
    pub fn enable_outbox(&self) -> Result<(), StoreError> {
        let tx = self.begin()?;
        if !outbox_enabled(&tx)? {
            for table in OUTBOX_TABLES {
                tx.execute_batch(&format!(
                    "INSERT INTO outbox (tbl, row_id) SELECT '{table}', rowid FROM {table} ORDER BY rowid;
                     CREATE TRIGGER {table}_outbox AFTER INSERT ON {table}
                     BEGIN INSERT INTO outbox (tbl, row_id) VALUES ('{table}', NEW.rowid); END;"
                ))?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Up to `limit` rows after `seq`, in order, each with its content.
    pub fn outbox_after(&self, seq: i64, limit: usize) -> Result<Vec<OutboxRecord>, StoreError> {
        let mut stmt =
            self.conn.prepare_cached("SELECT seq, tbl, row_id FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let listed: Vec<(i64, String, i64)> = stmt
            .query_map(params![seq, limit as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        listed
            .into_iter()
            .map(|(seq, table, row_id)| Ok(OutboxRecord { body: self.row_json(&table, row_id)?, seq, table, row_id }))
            .collect()
    }

    /// One row of a log table as a JSON object.
    fn row_json(&self, table: &str, row_id: i64) -> Result<Value, StoreError> {
        // The name comes from our own triggers; checked anyway, as it is spliced into SQL.
        if !OUTBOX_TABLES.contains(&table) {
            return Err(StoreError::Corrupt(format!("the outbox lists a row of an unknown table {table:?}")));
        }
        let mut stmt = self.conn.prepare_cached(&format!("SELECT * FROM {table} WHERE rowid = ?1"))?;
        let names: Vec<String> = stmt.column_names().map(|s| s.to_string()).collect();
        let row = stmt
            .query_row([row_id], |r| {
                let mut object = Map::new();
                for (i, name) in names.iter().enumerate() {
                    let value = match r.get_ref(i)? {
                        ValueRef::Null => Value::Null,
                        ValueRef::Integer(n) => Value::from(n),
                        ValueRef::Real(x) => Value::from(x),
                        ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t).into_owned()),
                        ValueRef::Blob(b) => Value::from(hex::encode(b)),
                    };
                    object.insert(name.clone(), value);
                }
                Ok(Value::Object(object))
            })
            .optional()?;
        row.ok_or_else(|| {
            StoreError::Corrupt(format!("the outbox lists {table} row {row_id}, which is not in the log"))
        })
    }

    /// Records that the fleet server committed every row up to `seq`.
    pub fn acknowledge_outbox(&self, seq: i64) -> Result<(), StoreError> {
        let tx = self.begin()?;
        tx.execute(
            "INSERT OR IGNORE INTO outbox_acks (seq, at) SELECT ?1, ?2 WHERE ?1 > COALESCE((SELECT MAX(seq) FROM outbox_acks), 0)",
            params![seq, crate::now_rfc3339()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// When the fleet server last acknowledged rows (RFC 3339), if ever.
    pub fn outbox_acknowledged_at(&self) -> Result<Option<String>, StoreError> {
        Ok(self.conn.query_row("SELECT at FROM outbox_acks ORDER BY seq DESC LIMIT 1", [], |r| r.get(0)).optional()?)
    }

    /// Whether the outbox is on, its newest row and the newest acknowledged one.
    pub fn outbox_state(&self) -> Result<OutboxState, StoreError> {
        let enabled = outbox_enabled(&self.conn)?;
        let (last_seq, acknowledged) = self.conn.query_row(
            "SELECT COALESCE((SELECT MAX(seq) FROM outbox), 0), COALESCE((SELECT MAX(seq) FROM outbox_acks), 0)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(OutboxState { enabled, last_seq, acknowledged })
    }
}

/// Whether the outbox triggers exist (the first table's stands for all: they are
/// created together, in one transaction).
fn outbox_enabled(conn: &rusqlite::Connection) -> Result<bool, StoreError> {
    Ok(conn
        .query_row("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'runs_outbox'", [], |_| Ok(()))
        .optional()?
        .is_some())
}
