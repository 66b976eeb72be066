//! Device UIDs: the certificate CN, the MQTT username, the barcode on the label.

pub mod check;
pub mod scheme;

use std::fmt;

/// A device UID: 1–32 characters of `[A-Z0-9-]`, not starting or ending with `-`.
/// Safe as an MQTT username and topic level (no `+`, `#`, `/`, spaces).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uid(String);

/// Why a UID could not be formed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UidError {
    /// Empty or longer than [`Uid::MAX_LEN`].
    Length(usize),
    /// A character outside `[A-Z0-9-]`, or a `-` at either end.
    Character(String),
    /// The hardware id is all 0x00 or all 0xFF: the chip's id was never programmed.
    BlankHardwareId,
    /// The scheme needs a scanned UID and none was given.
    NotScanned,
    /// A scanned UID's check character is wrong.
    CheckCharacter(String),
}

impl fmt::Display for UidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UidError::Length(n) => write!(f, "a UID must have 1 to {} characters, this one has {n}", Uid::MAX_LEN),
            UidError::Character(s) => write!(f, "{s:?} is not a valid UID (allowed: A-Z, 0-9 and inner '-')"),
            UidError::BlankHardwareId => f.write_str("the hardware id is blank (all 0x00 or all 0xFF)"),
            UidError::NotScanned => {
                f.write_str("this station takes UIDs from pre-printed labels: scan the label first")
            }
            UidError::CheckCharacter(s) => write!(f, "{s} has a wrong check character: rescan the label"),
        }
    }
}

impl Uid {
    /// Longest UID.
    pub const MAX_LEN: usize = 32;

    /// Parses a UID string.
    pub fn parse(s: &str) -> Result<Uid, UidError> {
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(UidError::Length(s.len()));
        }
        let ok_chars = s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        if !ok_chars || s.starts_with('-') || s.ends_with('-') {
            return Err(UidError::Character(s.to_string()));
        }
        Ok(Uid(s.to_string()))
    }

    /// The UID scheme of the walking skeleton: the hardware id in upper-case hex.
    pub fn from_hardware_id(hardware_id: &[u8]) -> Result<Uid, UidError> {
        if hardware_id.iter().all(|&b| b == 0) || hardware_id.iter().all(|&b| b == 0xFF) {
            return Err(UidError::BlankHardwareId);
        }
        Uid::parse(&hex::encode_upper(hardware_id))
    }

    /// The UID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_broker_safe_uids_only() {
        assert!(Uid::parse("HM-0001").is_ok());
        for bad in ["", "hm-1", "A/B", "A+B", "A#B", "A B", "-A", "A-", &"A".repeat(33)] {
            assert!(Uid::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn derives_from_hardware_id() {
        assert_eq!(Uid::from_hardware_id(&[0xde, 0xad, 0x01]).unwrap().as_str(), "DEAD01");
        assert_eq!(Uid::from_hardware_id(&[0; 8]), Err(UidError::BlankHardwareId));
        assert_eq!(Uid::from_hardware_id(&[0xFF; 8]), Err(UidError::BlankHardwareId));
        assert!(matches!(Uid::from_hardware_id(&[1; 17]), Err(UidError::Length(34))));
    }
}
