//! Turning the configured UID scheme into a UID for one board.

use super::{check, Uid, UidError};
use hallmark_config::{CheckCharacter, UidScheme};
use hallmark_store::UidChoice;
use time::OffsetDateTime;

/// The scheme's name as recorded in the log.
pub fn scheme_name(scheme: &UidScheme) -> &'static str {
    match scheme {
        UidScheme::HardwareId { .. } => "hardware-id",
        UidScheme::Sequence { .. } => "sequence",
        UidScheme::Scanned { .. } => "scanned",
    }
}

/// Expands `YYYY`, `YY`, `MM`, `DD`, `WW` (ISO week) and `-` for `now`.
pub fn date_part(pattern: &str, now: OffsetDateTime) -> String {
    let mut out = String::new();
    let mut rest = pattern;
    while !rest.is_empty() {
        let (token, text) = if rest.starts_with("YYYY") {
            ("YYYY", format!("{:04}", now.year()))
        } else if rest.starts_with("YY") {
            ("YY", format!("{:02}", now.year().rem_euclid(100)))
        } else if rest.starts_with("MM") {
            ("MM", format!("{:02}", u8::from(now.month())))
        } else if rest.starts_with("DD") {
            ("DD", format!("{:02}", now.day()))
        } else if rest.starts_with("WW") {
            ("WW", format!("{:02}", now.iso_week()))
        } else {
            // The configuration is validated: only '-' remains.
            (&rest[..1], rest[..1].to_string())
        };
        out.push_str(&text);
        rest = &rest[token.len()..];
    }
    out
}

/// The stems (prefix + date part) and counter widths a `sequence` station numbers
/// under from `now` for the next day: today's, and tomorrow's when the date part
/// changes, so leases for both are in hand before an outage. Empty for other schemes.
pub fn stems_ahead(scheme: &UidScheme, now: OffsetDateTime) -> Vec<(String, usize)> {
    let UidScheme::Sequence { prefix, date, width, .. } = scheme else { return Vec::new() };
    let mut stems: Vec<(String, usize)> = Vec::new();
    for at in [now, now + time::Duration::days(1)] {
        let stem = (format!("{prefix}{}", date_part(date, at)), *width as usize);
        if !stems.contains(&stem) {
            stems.push(stem);
        }
    }
    stems
}

/// What the store should do for a board with `hardware_id`.
pub enum Choice {
    /// A UID fixed by the scheme.
    Fixed(Uid),
    /// The next number of a sequence.
    Sequence {
        /// Prefix + date part.
        stem: String,
        /// Counter digits.
        width: usize,
        /// Check character kind.
        check: CheckCharacter,
    },
}

/// The UID choice for a board under `scheme`. `scanned` is the operator's scan.
pub fn choose(
    scheme: &UidScheme,
    hardware_id: &[u8],
    scanned: Option<&str>,
    now: OffsetDateTime,
) -> Result<Choice, UidError> {
    match scheme {
        UidScheme::HardwareId { prefix } => Ok(Choice::Fixed(Uid::for_hardware_id(prefix, hardware_id)?)),
        UidScheme::Sequence { prefix, date, width, check } => {
            let stem = format!("{prefix}{}", date_part(date, now));
            let longest = stem.len() + *width as usize + usize::from(*check != CheckCharacter::None);
            if longest > Uid::MAX_LEN {
                return Err(UidError::Length(longest));
            }
            Ok(Choice::Sequence { stem, width: *width as usize, check: *check })
        }
        UidScheme::Scanned { check: kind } => {
            let raw = scanned.ok_or(UidError::NotScanned)?;
            let uid = Uid::parse(raw.trim())?;
            if !check::verify(*kind, uid.as_str()) {
                return Err(UidError::CheckCharacter(uid.to_string()));
            }
            Ok(Choice::Fixed(uid))
        }
    }
}

/// Runs `f` with the store's view of `choice` (the closure form the store needs);
/// `leased`: a sequence numbers only from blocks the fleet leased to the station.
pub fn with_store_choice<T>(choice: &Choice, leased: bool, f: impl FnOnce(UidChoice<'_>) -> T) -> T {
    match choice {
        Choice::Fixed(uid) => f(UidChoice::Fixed(uid.to_string())),
        Choice::Sequence { stem, width, check: kind } => {
            let finish = |s: &str| check::append(*kind, s);
            f(UidChoice::Sequence { stem: stem.clone(), width: *width, finish: &finish, leased })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_sequence_leases_ahead_for_tomorrow_when_its_date_part_changes() {
        let monthly =
            UidScheme::Sequence { prefix: "HM-".into(), date: "YYMM".into(), width: 5, check: CheckCharacter::None };
        assert_eq!(stems_ahead(&monthly, datetime!(2026-11-22 10:00 UTC)), [("HM-2611".to_string(), 5)]);
        assert_eq!(
            stems_ahead(&monthly, datetime!(2026-11-30 10:00 UTC)),
            [("HM-2611".to_string(), 5), ("HM-2612".to_string(), 5)]
        );
        assert!(
            stems_ahead(&UidScheme::HardwareId { prefix: String::new() }, datetime!(2026-11-30 10:00 UTC)).is_empty()
        );
    }

    #[test]
    fn date_parts() {
        let t = datetime!(2026-11-22 10:00 UTC);
        assert_eq!(date_part("YYMM", t), "2611");
        assert_eq!(date_part("YYYY-WW", t), "2026-47");
        assert_eq!(date_part("", t), "");
    }

    #[test]
    fn scanned_uid_with_wrong_check_character_is_refused() {
        let scheme = UidScheme::Scanned { check: CheckCharacter::Iso7064Mod3736 };
        let good = check::append(CheckCharacter::Iso7064Mod3736, "HM-0042");
        assert!(choose(&scheme, &[1], Some(&good), OffsetDateTime::now_utc()).is_ok());
        let mut bad = good.clone();
        bad.pop();
        bad.push(if good.ends_with('0') { '1' } else { '0' });
        assert!(matches!(
            choose(&scheme, &[1], Some(&bad), OffsetDateTime::now_utc()),
            Err(UidError::CheckCharacter(_))
        ));
        assert!(matches!(choose(&scheme, &[1], None, OffsetDateTime::now_utc()), Err(UidError::NotScanned)));
    }

    #[test]
    fn too_long_sequence_is_refused() {
        let scheme =
            UidScheme::Sequence { prefix: "A".repeat(25), date: "YYYY".into(), width: 6, check: CheckCharacter::None };
        assert!(matches!(choose(&scheme, &[1], None, OffsetDateTime::now_utc()), Err(UidError::Length(_))));
    }
}
