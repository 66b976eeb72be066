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
    /// Hash characters in a hashed hardware-id UID.
    pub const HASH_CHARS: usize = 16;

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

    /// The hardware id in upper-case hex.
    pub fn from_hardware_id(hardware_id: &[u8]) -> Result<Uid, UidError> {
        Uid::for_hardware_id("", hardware_id)
    }

    /// The `hardware-id` scheme: `prefix` + the hardware id in upper-case hex when that
    /// fits in [`Uid::MAX_LEN`] characters; otherwise (ids of 17–32 bytes, or a prefix
    /// that leaves too little room) `prefix` + the first [`Uid::HASH_CHARS`] characters
    /// of the Crockford base-32 SHA-256 of the hardware id: 80 bits, so a collision is
    /// not to be expected in any factory's lifetime (and the log refuses one anyway),
    /// and 16 characters, as short as an 8-byte id's hex, so it fits the same labels.
    pub fn for_hardware_id(prefix: &str, hardware_id: &[u8]) -> Result<Uid, UidError> {
        if hardware_id.iter().all(|&b| b == 0) || hardware_id.iter().all(|&b| b == 0xFF) {
            return Err(UidError::BlankHardwareId);
        }
        let hex = hex::encode_upper(hardware_id);
        if prefix.len() + hex.len() <= Self::MAX_LEN {
            return Uid::parse(&format!("{prefix}{hex}"));
        }
        if prefix.len() + Self::HASH_CHARS > Self::MAX_LEN {
            return Err(UidError::Length(prefix.len() + Self::HASH_CHARS));
        }
        let digest = <sha2::Sha256 as sha2::Digest>::digest(hardware_id);
        let hashed: String = crockford_base32(&digest).chars().take(Self::HASH_CHARS).collect();
        Uid::parse(&format!("{prefix}{hashed}"))
    }

    /// The UID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Crockford base 32 (no I, L, O, U), most significant bits first, no padding.
fn crockford_base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut out = String::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
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
    }

    #[test]
    fn long_hardware_ids_get_a_hashed_uid() {
        // 16 bytes fit as hex; 17-32 bytes (legal on the wire) are hashed to 16 chars.
        assert_eq!(Uid::for_hardware_id("", &[0xAB; 16]).unwrap().as_str(), "AB".repeat(16));
        let twenty = Uid::for_hardware_id("", &[7; 20]).unwrap();
        let max = Uid::for_hardware_id("", &[7; 32]).unwrap();
        assert_eq!((twenty.as_str().len(), max.as_str().len()), (16, 16));
        assert_ne!(twenty, max);
        assert_eq!(twenty, Uid::for_hardware_id("", &[7; 20]).unwrap(), "stable: a board keeps its UID");
        // A prefix that does not leave room for the hex form falls back to the hash too.
        let prefixed = Uid::for_hardware_id("HM-", &[1; 16]).unwrap();
        assert!(prefixed.as_str().starts_with("HM-") && prefixed.as_str().len() == 19, "{prefixed}");
        assert_eq!(Uid::for_hardware_id("HM-", &[1; 8]).unwrap().as_str(), "HM-0101010101010101");
        // A prefix that leaves no room for 16 hash characters is refused.
        assert!(matches!(Uid::for_hardware_id(&"P".repeat(17), &[1; 20]), Err(UidError::Length(33))));
    }

    #[test]
    fn crockford_base32_matches_the_alphabet() {
        assert_eq!(crockford_base32(&[0xFF]), "ZW");
        assert_eq!(crockford_base32(&[0, 0, 0, 0, 0]), "00000000");
        assert_eq!(crockford_base32(b"f"), "CR");
    }
}
