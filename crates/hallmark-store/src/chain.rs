//! The hash chain over events: each row's hash covers its content and the previous
//! row's hash, so editing, inserting or removing a row breaks every hash after it.

use sha2::{Digest, Sha256};

/// The `prev_hash` of the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields an event hash covers (public so that independent verifiers and bulk
/// tools can recompute the chain).
pub struct HashInput<'a> {
    /// Hash of the previous event ([`GENESIS`] for the first).
    pub prev_hash: &'a str,
    /// The run's uuid.
    pub run_uuid: &'a str,
    /// Event time.
    pub at: &'a str,
    /// Step.
    pub step: &'a str,
    /// `start` or `end`.
    pub phase: &'a str,
    /// Outcome.
    pub outcome: Option<&'a str>,
    /// Duration in microseconds.
    pub duration_us: Option<i64>,
    /// Detail JSON text.
    pub detail: &'a str,
}

/// SHA-256 over a JSON array of the fields (unambiguous framing), lower-case hex.
pub fn event_hash(i: &HashInput<'_>) -> String {
    let canonical =
        serde_json::json!([i.prev_hash, i.run_uuid, i.at, i.step, i.phase, i.outcome, i.duration_us, i.detail]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Result of [`crate::Store::verify_chain`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ChainReport {
    /// Events checked.
    pub events: u64,
    /// Audit entries checked.
    pub audit_entries: u64,
    /// `None` when intact; else the id of the first event whose hash is wrong.
    pub first_broken_event: Option<i64>,
    /// `None` when intact; else the id of the first bad audit entry.
    pub first_broken_audit: Option<i64>,
    /// What is wrong with that event.
    pub problem: Option<String>,
}

impl ChainReport {
    /// Whether both chains are intact.
    pub fn intact(&self) -> bool {
        self.first_broken_event.is_none() && self.first_broken_audit.is_none()
    }
}
