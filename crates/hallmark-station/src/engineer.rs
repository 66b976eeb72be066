//! The engineer role: changing the station's configuration, printer or CA state
//! needs a PIN. The PIN is stored only as a salted scrypt hash (`<data>/engineer-pin`,
//! mode 0600); repeated wrong PINs lock the role out for a while. There is no default
//! PIN: until one is set, nothing is unlocked.

use crate::datadir::DataDir;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Wrong PINs in a row before a lockout.
pub const MAX_FAILURES: u32 = 5;
/// How long a lockout lasts.
pub const LOCKOUT: Duration = Duration::from_secs(300);

/// scrypt cost: N = 2^15, r = 8, p = 1 (32 MiB, ~0.1 s): slow to guess offline.
const LOG_N: u8 = 15;
const R: u32 = 8;
const P: u32 = 1;
const HASH_LEN: usize = 32;

/// Errors of the engineer role.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EngineerError {
    /// No PIN has been set on this station.
    #[error("no engineer PIN is set on this station: set one first")]
    NotSet,
    /// The PIN is not acceptable as a new PIN.
    #[error("{0}")]
    WeakPin(String),
    /// Wrong PIN.
    #[error("wrong engineer PIN ({remaining} attempts left before a {minutes}-minute lockout)", minutes = LOCKOUT.as_secs() / 60)]
    Wrong {
        /// Attempts left.
        remaining: u32,
    },
    /// Too many wrong PINs.
    #[error("too many wrong PINs: the engineer role is locked for {seconds} s more")]
    LockedOut {
        /// Seconds left.
        seconds: u64,
    },
    /// The PIN file cannot be read or written.
    #[error("the engineer PIN file {path}: {reason}")]
    File {
        /// File.
        path: String,
        /// Why.
        reason: String,
    },
}

/// A new PIN: 6 to 12 digits (a keypad works with gloves), not one digit repeated
/// and not a straight run such as 123456.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPin(String);

impl std::fmt::Debug for NewPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPin(***)")
    }
}

impl std::str::FromStr for NewPin {
    type Err = EngineerError;

    fn from_str(s: &str) -> Result<NewPin, EngineerError> {
        let weak = |m: &str| Err(EngineerError::WeakPin(m.to_string()));
        if !(6..=12).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
            return weak("the engineer PIN must be 6 to 12 digits");
        }
        let b = s.as_bytes();
        let steps: Vec<i16> = b.windows(2).map(|w| i16::from(w[1]) - i16::from(w[0])).collect();
        if steps.iter().all(|&d| d == 0) || steps.iter().all(|&d| d == 1) || steps.iter().all(|&d| d == -1) {
            return weak("choose a PIN that is not one digit repeated or a straight run like 123456");
        }
        Ok(NewPin(s.to_string()))
    }
}

/// The stored PIN hash.
#[derive(Clone, Debug)]
pub struct PinFile {
    path: PathBuf,
}

impl PinFile {
    /// The station's PIN file.
    pub fn in_dir(dir: &DataDir) -> PinFile {
        PinFile { path: dir.path().join("engineer-pin") }
    }

    /// A PIN has been set.
    pub fn is_set(&self) -> bool {
        self.path.exists()
    }

    fn error(&self, reason: impl std::fmt::Display) -> EngineerError {
        EngineerError::File { path: self.path.display().to_string(), reason: reason.to_string() }
    }

    /// Stores `pin` (hashed, salted), replacing any previous PIN.
    pub fn set(&self, pin: &NewPin) -> Result<(), EngineerError> {
        let salt: [u8; 16] = rand::random();
        let hash = derive(pin.0.as_bytes(), &salt).map_err(|e| self.error(e))?;
        let line = format!("scrypt${LOG_N}${R}${P}${}${}\n", hex::encode(salt), hex::encode(hash));
        let dir = self.path.parent().ok_or_else(|| self.error("has no directory"))?;
        std::fs::create_dir_all(dir).map_err(|e| self.error(e))?;
        let tmp = self.path.with_extension("new");
        write_private(&tmp, line.as_bytes()).map_err(|e| self.error(e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| self.error(e))
    }

    /// Whether `pin` is the stored PIN.
    pub fn matches(&self, pin: &str) -> Result<bool, EngineerError> {
        if !self.is_set() {
            return Err(EngineerError::NotSet);
        }
        let text = std::fs::read_to_string(&self.path).map_err(|e| self.error(e))?;
        let parts: Vec<&str> = text.trim().split('$').collect();
        let [alg, log_n, r, p, salt, hash] = parts[..] else {
            return Err(self.error("is damaged: set the PIN again"));
        };
        if alg != "scrypt" || (log_n, r, p) != (&LOG_N.to_string()[..], &R.to_string()[..], &P.to_string()[..]) {
            return Err(self.error("uses parameters this version does not know: set the PIN again"));
        }
        let salt = hex::decode(salt).map_err(|_| self.error("is damaged: set the PIN again"))?;
        let expected = hex::decode(hash).map_err(|_| self.error("is damaged: set the PIN again"))?;
        let got = derive(pin.as_bytes(), &salt).map_err(|e| self.error(e))?;
        // Compare every byte whatever the first difference: no timing hint.
        Ok(expected.len() == got.len() && got.iter().zip(&expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0)
    }
}

fn derive(pin: &[u8], salt: &[u8]) -> Result<[u8; HASH_LEN], String> {
    let params = scrypt::Params::new(LOG_N, R, P, HASH_LEN).map_err(|e| e.to_string())?;
    let mut out = [0u8; HASH_LEN];
    scrypt::scrypt(pin, salt, &params, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Counts wrong PINs and enforces the lockout (per station process).
#[derive(Debug, Default)]
pub struct PinGuard {
    failures: u32,
    locked_until: Option<Instant>,
}

impl PinGuard {
    /// Checks `pin` against `file` at `now`.
    pub fn check(&mut self, file: &PinFile, pin: &str, now: Instant) -> Result<(), EngineerError> {
        if let Some(until) = self.locked_until {
            if now < until {
                return Err(EngineerError::LockedOut { seconds: (until - now).as_secs().max(1) });
            }
            self.locked_until = None;
            self.failures = 0;
        }
        if file.matches(pin)? {
            self.failures = 0;
            return Ok(());
        }
        self.failures += 1;
        if self.failures >= MAX_FAILURES {
            self.locked_until = Some(now + LOCKOUT);
            return Err(EngineerError::LockedOut { seconds: LOCKOUT.as_secs() });
        }
        Err(EngineerError::Wrong { remaining: MAX_FAILURES - self.failures })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_pins_are_refused() {
        for bad in ["12345", "1234567890123", "12a456", "000000", "123456", "987654"] {
            assert!(bad.parse::<NewPin>().is_err(), "{bad}");
        }
        assert!("482916".parse::<NewPin>().is_ok());
    }

    #[test]
    fn the_pin_is_stored_hashed_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = PinFile::in_dir(&DataDir::at(dir.path()));
        assert_eq!(file.matches("482916"), Err(EngineerError::NotSet));
        file.set(&"482916".parse().unwrap()).unwrap();
        let stored = std::fs::read_to_string(dir.path().join("engineer-pin")).unwrap();
        assert!(stored.starts_with("scrypt$15$8$1$") && !stored.contains("482916"), "{stored}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("engineer-pin")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(file.matches("482916").unwrap());
        assert!(!file.matches("482917").unwrap());
        std::fs::write(dir.path().join("engineer-pin"), "scrypt$15$8$1$zz$zz").unwrap();
        assert!(matches!(file.matches("482916"), Err(EngineerError::File { .. })));
    }

    #[test]
    fn wrong_pins_lock_the_role_out_then_it_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let file = PinFile::in_dir(&DataDir::at(dir.path()));
        file.set(&"482916".parse().unwrap()).unwrap();
        let mut guard = PinGuard::default();
        let t0 = Instant::now();
        for left in (1..MAX_FAILURES).rev() {
            assert_eq!(guard.check(&file, "000001", t0), Err(EngineerError::Wrong { remaining: left }));
        }
        assert!(matches!(guard.check(&file, "000001", t0), Err(EngineerError::LockedOut { .. })));
        // Even the right PIN is refused during the lockout.
        assert!(matches!(guard.check(&file, "482916", t0 + LOCKOUT / 2), Err(EngineerError::LockedOut { .. })));
        assert_eq!(guard.check(&file, "482916", t0 + LOCKOUT), Ok(()));
    }
}
