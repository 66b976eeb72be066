//! Check characters over the alphabet 0-9A-Z, so a mistyped or misread UID is caught
//! before it is used. Characters outside the alphabet (the '-' separators) are skipped.

use hallmark_config::CheckCharacter;

const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// Luhn mod N (N = 36): the Luhn algorithm generalised to base 36.
pub fn luhn_mod36(payload: &str) -> char {
    let n = 36;
    let mut factor = 2;
    let mut sum = 0;
    for v in payload.bytes().rev().filter_map(value) {
        let addend = factor * v;
        sum += addend / n + addend % n;
        factor = if factor == 2 { 1 } else { 2 };
    }
    ALPHABET[((n - sum % n) % n) as usize] as char
}

/// ISO/IEC 7064 MOD 37,36 (the hybrid system; the check character is in 0-9A-Z).
pub fn iso7064_mod37_36(payload: &str) -> char {
    let m = 36;
    let mut p = m;
    for v in payload.bytes().filter_map(value) {
        let mut s = (p + v) % m;
        if s == 0 {
            s = m;
        }
        p = (s * 2) % (m + 1);
    }
    ALPHABET[((m + 1 - p) % m) as usize] as char
}

/// Appends the configured check character.
pub fn append(kind: CheckCharacter, payload: &str) -> String {
    match kind {
        CheckCharacter::None => payload.to_string(),
        CheckCharacter::LuhnMod36 => format!("{payload}{}", luhn_mod36(payload)),
        CheckCharacter::Iso7064Mod3736 => format!("{payload}{}", iso7064_mod37_36(payload)),
    }
}

/// Whether `uid` ends in the right check character.
pub fn verify(kind: CheckCharacter, uid: &str) -> bool {
    match kind {
        CheckCharacter::None => true,
        _ => uid.len() >= 2 && append(kind, &uid[..uid.len() - 1]) == uid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso7064_known_vector() {
        // GRid (Global Release Identifier) example, which uses MOD 37,36.
        assert_eq!(iso7064_mod37_36("A12425GABC1234002"), 'M');
    }

    #[test]
    fn every_single_substitution_is_detected() {
        for kind in [CheckCharacter::LuhnMod36, CheckCharacter::Iso7064Mod3736] {
            let uid = append(kind, "HM-2611000042");
            assert!(verify(kind, &uid));
            for i in 0..uid.len() - 1 {
                if uid.as_bytes()[i] == b'-' {
                    continue;
                }
                for &c in ALPHABET {
                    if c == uid.as_bytes()[i] {
                        continue;
                    }
                    let mut bad = uid.clone().into_bytes();
                    bad[i] = c;
                    assert!(!verify(kind, std::str::from_utf8(&bad).unwrap()), "{kind:?} missed {i}:{}", c as char);
                }
            }
        }
    }

    #[test]
    fn adjacent_transpositions_are_detected_by_iso7064() {
        let uid = append(CheckCharacter::Iso7064Mod3736, "AB12CD34");
        let mut swapped = uid.clone().into_bytes();
        swapped.swap(2, 3);
        assert!(!verify(CheckCharacter::Iso7064Mod3736, std::str::from_utf8(&swapped).unwrap()));
    }
}
