//! The engineer role: setting and changing the PIN, logging in with the lockout of
//! [`PinGuard`], and the session that locks itself again. Every PIN event is audited
//! (refusals and failed logins too); a PIN is set or a session opened only once its
//! audit entry is written. Time comes in as an [`Instant`] so tests can move it.

use super::{audit_before, AdminError};
use crate::datadir::DataDir;
use crate::engineer::{NewPin, PinFile, PinGuard};
use hallmark_ca::{CaStore, KeyLocation, Passphrase};
use hallmark_store::Store;
use serde_json::json;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long the role stays unlocked after the last engineer action.
pub const SESSION: Duration = Duration::from_secs(15 * 60);

/// The audit actor of engineer actions.
pub const ENGINEER: &str = "engineer";

/// What setting the first engineer PIN needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FirstPin {
    /// Proof of authority over the station: its CA passphrase (or token PIN).
    CaSecret,
    /// Nothing: a demo station, whose CA is thrown away with its data.
    Free,
}

/// The role as a screen shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoleStatus {
    /// A PIN has been set on this station.
    pub pin_set: bool,
    /// The role is unlocked.
    pub unlocked: bool,
    /// Whole minutes (rounded up) until it locks itself again; 0 when locked.
    pub minutes_left: u64,
    /// Setting the first PIN needs the CA passphrase (or token PIN).
    pub needs_ca_secret: bool,
}

/// The engineer role of one station process. Its methods take `&self` and lock
/// only briefly (never while the CA is being unlocked), so a window can ask for the
/// status while a PIN is being set.
#[derive(Debug)]
pub struct EngineerRole {
    pins: PinFile,
    ca: CaStore,
    first_pin: FirstPin,
    session: Mutex<Session>,
}

#[derive(Debug, Default)]
struct Session {
    guard: PinGuard,
    unlocked_until: Option<Instant>,
}

impl EngineerRole {
    /// The role of the station in `dir` (its PIN file and CA), locked.
    pub fn new(dir: &DataDir, first_pin: FirstPin) -> EngineerRole {
        EngineerRole {
            pins: PinFile::in_dir(dir),
            ca: CaStore::new(dir.ca_dir()),
            first_pin,
            session: Mutex::default(),
        }
    }

    fn session(&self) -> MutexGuard<'_, Session> {
        // Every holder assigns whole values, so a panic elsewhere cannot leave the
        // session half-written: a poisoned lock is used as it is.
        self.session.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The role at `now`.
    pub fn status(&self, now: Instant) -> RoleStatus {
        let left = self.session().unlocked_until.filter(|t| now < *t).map(|t| (t - now).as_secs().div_ceil(60));
        RoleStatus {
            pin_set: self.pins.is_set(),
            unlocked: left.is_some(),
            minutes_left: left.unwrap_or(0),
            needs_ca_secret: self.first_pin == FirstPin::CaSecret,
        }
    }

    /// Checks the role is unlocked at `now` and keeps it unlocked for another
    /// [`SESSION`].
    pub fn require(&self, now: Instant) -> Result<(), AdminError> {
        let mut s = self.session();
        let unlocked = s.unlocked_until.is_some_and(|t| now < t);
        if !unlocked {
            return Err(AdminError::EngineerOnly);
        }
        s.unlocked_until = Some(now + SESSION);
        Ok(())
    }

    /// Sets the engineer PIN and unlocks the role. The first PIN needs `ca_secret`
    /// (the CA passphrase or token PIN) unless the station is a demo; changing it
    /// needs the unlocked role. Audited `engineer-pin-set` / `engineer-pin-changed`
    /// before the PIN file is written; a wrong CA secret is audited as
    /// `engineer-pin-refused`.
    pub fn set_pin(&self, store: &Store, pin: &str, ca_secret: Option<&str>, now: Instant) -> Result<(), AdminError> {
        let new: NewPin = pin.parse()?;
        let first = !self.pins.is_set();
        if !first {
            self.require(now)?;
        } else if self.first_pin == FirstPin::CaSecret {
            let secret = ca_secret.filter(|s| !s.is_empty()).ok_or(AdminError::CaSecretMissing)?;
            if !unlocks_ca(&self.ca, secret) {
                audit_before(store, ENGINEER, "engineer-pin-refused", &json!({ "reason": "wrong CA passphrase" }))?;
                return Err(AdminError::CaSecretWrong);
            }
        }
        let action = if first { "engineer-pin-set" } else { "engineer-pin-changed" };
        audit_before(store, ENGINEER, action, &json!({}))?;
        self.pins.set(&new)?;
        self.session().unlocked_until = Some(now + SESSION);
        Ok(())
    }

    /// Unlocks the role with the PIN (lockout after repeated wrong PINs). Audited
    /// `engineer-login` before the role opens, `engineer-login-failed` with the
    /// reason otherwise.
    pub fn login(&self, store: &Store, pin: &str, now: Instant) -> Result<(), AdminError> {
        // scrypt takes ~0.1 s on purpose; the counter must see attempts one by one.
        let checked = self.session().guard.check(&self.pins, pin, now);
        match checked {
            Ok(()) => {
                audit_before(store, ENGINEER, "engineer-login", &json!({}))?;
                self.session().unlocked_until = Some(now + SESSION);
                Ok(())
            }
            Err(e) => {
                audit_before(store, ENGINEER, "engineer-login-failed", &json!({ "reason": e.to_string() }))?;
                Err(e.into())
            }
        }
    }

    /// Locks the role.
    pub fn logout(&self) {
        self.session().unlocked_until = None;
    }
}

/// Whether `secret` unlocks the station's CA: its passphrase, or the PIN of the
/// token holding its issuing key. No CA, no proof.
fn unlocks_ca(ca: &CaStore, secret: &str) -> bool {
    match ca.key_location() {
        Ok(Some(KeyLocation::File)) => ca.unlock(&Passphrase::for_unlock(secret.to_string())).is_ok(),
        Ok(Some(KeyLocation::Token(_))) => ca.unlock_token(secret).is_ok(),
        _ => false,
    }
}
