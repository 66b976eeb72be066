use thiserror::Error;

/// Errors from the QA log.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database was written by a newer Hallmark.
    #[error("the log {path} has schema version {found}, newer than this station supports ({supported}); update Hallmark before using this log")]
    NewerSchema {
        /// File.
        path: String,
        /// Version in the file.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// The log holds something it cannot (a fleet outbox row without its row).
    #[error("the log is inconsistent: {0}; run `hallmark log verify` and keep the file for QA")]
    Corrupt(String),
    /// SQLite failed.
    #[error("log database error: {0}; check disk space and permissions of the data directory")]
    Sql(#[from] rusqlite::Error),
    /// The data directory cannot be created.
    #[error("cannot create the data directory {path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The UID is already held by another board.
    #[error("UID {uid} already belongs to the board with hardware id {hardware_id}; a UID is never given twice")]
    UidTaken {
        /// The UID.
        uid: String,
        /// Its holder.
        hardware_id: String,
    },
    /// The public key is already bound to another UID: one public key, one identity.
    #[error("this public key is already certified for UID {uid}; a key is never certified for two UIDs")]
    KeyBound {
        /// The UID the key belongs to.
        uid: String,
    },
    /// A scanned UID differs from the one the board already has.
    #[error("this board (hardware id {hardware_id}) already has UID {has}, but {offered} was scanned; use its existing label")]
    UidMismatch {
        /// The board.
        hardware_id: String,
        /// Its UID.
        has: String,
        /// What was scanned.
        offered: String,
    },
    /// The counter ran out of digits.
    #[error("the UID sequence {stem} is exhausted; widen uid.width or change the prefix")]
    SequenceExhausted {
        /// Prefix + date part.
        stem: String,
    },
    /// Under a fleet, the `sequence` scheme has used every counter the fleet leased to
    /// this station for the stem.
    #[error("this station has used every UID number the fleet leased to it for {stem}")]
    UidBlocksExhausted {
        /// Prefix + date part.
        stem: String,
    },
    /// A step's detail could not be serialised (a bug: the types serialise by design).
    #[error("the {step} detail could not be written as JSON: {source}")]
    Detail {
        /// The step.
        step: crate::Step,
        /// Cause.
        source: serde_json::Error,
    },
    /// Asked for a run that does not exist.
    #[error("no run with id {0} in the log")]
    UnknownRun(String),
}
