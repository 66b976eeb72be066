//! The time the station issues device certificates at.
//!
//! Production uses [`SystemClock`]. The seam exists so that what depends on issuing
//! time (validity, the issuing CA's own expiry) can be driven deliberately — a test
//! issues an already-expired certificate through the same path a run takes, and a
//! station could take its time from a trusted source. The station's own one-day
//! service certificates (link self-test server, broker subscriber) are checked by
//! peers against their wall clock right now, so they use the system time.

use time::OffsetDateTime;

/// A source of "now" for issuing device certificates.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> OffsetDateTime;
}

/// The machine's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}
