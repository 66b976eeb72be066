//! The QA log: one SQLite file, append-only, every event hash-chained to the one
//! before it.
//!
//! - A run row is inserted when a run starts ([`Store::begin_run`]); nothing is ever
//!   updated or deleted (triggers refuse it).
//! - Each step writes a `start` event before it acts and an `end` event after.
//! - A run's outcome is its final `run`/`end` event; a run without one whose process
//!   is gone is closed as `INTERRUPTED` by [`Store::recover_interrupted`].
//! - [`Store::verify_chain`] recomputes the hash chain and names the first bad row.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod audit;
mod chain;
mod device_facts;
mod error;
mod export;
mod keys;
mod lines;
mod onboarding;
mod outbox;
mod query;
mod record;
mod schema;
mod stats;
mod step_event;
mod store;
mod uid_leases;

pub use audit::{audit_hash, CrlRow, EndingCertificate, RevocationRow};
pub use chain::{event_hash, ChainReport, HashInput, GENESIS};
pub use device_facts::{AuditFact, CertificateFact, DeviceFacts, EventFact, KeyFact, RunFacts};
pub use error::StoreError;
pub use export::{csv_field, csv_header, RunRecord, StepRecord, CERTIFICATE_EVENT, NOT_ENDED_OUTCOME};
pub use keys::key_sha256;
pub use lines::{LineFormat, RecordWriter};
pub use onboarding::OnboardingRecord;
pub use outbox::{OutboxRecord, OutboxState, OUTBOX_TABLES};
pub use query::{Comparison, Condition, Page, RunColumn, RunFilter, NO_RESULT_OUTCOME};
pub use record::{Identity, Step};
pub use stats::{HourRow, ParetoRow, Statistics, StatisticsCounts};
pub use step_event::{
    Connected, CsrVerified, Finished, Identified, Installed, KeyGenerated, LabelChecked, Labelled, LinkState,
    PlanRecord, ReadBack, ReadbackCompared, Retried, SelfTested, Signed, StepEvent, StepEventError,
};
pub use store::{
    AssignedUid, CertificateRecord, EventRecord, InterruptedRun, IssuedCertificate, Phase, RevokedBy, RunEnd,
    RunFailure, RunId, RunStart, Store, UidChoice,
};
pub use uid_leases::{LeasePosition, UidLease};

/// Current time as RFC 3339 UTC with milliseconds, the log's one time format.
pub fn now_rfc3339() -> String {
    rfc3339(time::OffsetDateTime::now_utc())
}

/// `t` in the log's one time format (RFC 3339 UTC with milliseconds).
pub fn rfc3339(t: time::OffsetDateTime) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    // Formatting a UTC timestamp with a fixed description cannot fail.
    t.to_offset(time::UtcOffset::UTC).format(&fmt).unwrap_or_default()
}
