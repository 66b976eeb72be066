//! The modem firmware version (`AT+CGMR`, e.g. `mfw_nrf91x1_2.0.2`): recorded with the
//! run, and refused when it cannot give the evidence a run needs. Before 1.3.0 there
//! is no attested `AT%KEYGEN`; 1.3.0 and 1.3.1 list credentials without their SHA-256,
//! so nothing written could be read back (Nordic's installer skips its check there).
//! Non-terrestrial-network builds (`ntn` in the name) number their versions on their
//! own; like Nordic's tools, the station does not compare them.

use crate::{Failure, FailureCode};

/// The oldest modem firmware with an attested key generation.
pub const MIN_FIRMWARE: (u16, u16, u16) = (1, 3, 0);
/// The oldest modem firmware that lists the SHA-256 of stored credentials.
pub const MIN_DIGESTS: (u16, u16, u16) = (1, 3, 2);

/// A modem firmware version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModemFirmware {
    /// The build's family (`nrf9160`, `nrf91x1`).
    pub family: String,
    /// major.minor.patch.
    pub version: (u16, u16, u16),
}

impl ModemFirmware {
    /// Reads `mfw_<family>_<major>.<minor>.<patch>[-suffix]`: the version is the first
    /// `x.y.z` after a `_` or `-`, as Nordic's tools read it.
    pub fn parse(line: &str) -> Result<ModemFirmware, Failure> {
        let unreadable = || {
            Failure::new(
                FailureCode::UnsupportedProtocol,
                "The modem reported a firmware version the station cannot read.",
                "Check that this is an nRF91 modem with Nordic's modem firmware.",
            )
            .with_detail(format!("AT+CGMR answered {:?}", super::at::bounded(line)))
        };
        let rest = line.trim().strip_prefix("mfw_").ok_or_else(unreadable)?;
        if rest.len() > 48 || !rest.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
            return Err(unreadable());
        }
        let mut found = None;
        for (at, _) in rest.match_indices(['_', '-']) {
            let candidate = rest[at + 1..].split(['_', '-']).next().unwrap_or_default();
            let mut parts = candidate.split('.').map(|p| p.parse::<u16>());
            if let (Some(Ok(a)), Some(Ok(b)), Some(Ok(c)), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            {
                found = Some((&rest[..at], (a, b, c)));
                break;
            }
        }
        let Some((family, (major, minor, patch))) = found else { return Err(unreadable()) };
        if family.is_empty() {
            return Err(unreadable());
        }
        Ok(ModemFirmware { family: family.to_string(), version: (major, minor, patch) })
    }

    /// A non-terrestrial-network build, whose versions are numbered on their own.
    pub fn is_ntn(&self) -> bool {
        self.family.to_ascii_lowercase().contains("ntn")
    }

    /// Refuses firmware older than [`MIN_FIRMWARE`], and firmware that lists no
    /// digests (before [`MIN_DIGESTS`]).
    pub fn check_supported(&self) -> Result<(), Failure> {
        if self.is_ntn() || self.version >= MIN_DIGESTS {
            return Ok(());
        }
        if self.version >= MIN_FIRMWARE {
            let (a, b, c) = MIN_DIGESTS;
            return Err(Failure::new(
                FailureCode::UnsupportedProtocol,
                format!(
                    "The modem runs firmware {self}, older than {a}.{b}.{c}: it does not report what it stores, so the \
                     certificate could not be read back. Nothing was generated or issued."
                ),
                "Update the modem firmware (nRF Connect Programmer), then run it again.",
            ));
        }
        let (a, b, c) = MIN_FIRMWARE;
        Err(Failure::new(
            FailureCode::UnsupportedProtocol,
            format!(
                "The modem runs firmware {self}, older than {a}.{b}.{c}: it cannot generate an attested key. Nothing \
                 was generated or issued."
            ),
            "Update the modem firmware (nRF Connect Programmer), then run it again.",
        ))
    }
}

impl std::fmt::Display for ModemFirmware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (a, b, c) = self.version;
        write!(f, "mfw_{}_{a}.{b}.{c}", self.family)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_and_old_ones_refused() {
        let new = ModemFirmware::parse("mfw_nrf91x1_2.0.2").unwrap();
        assert_eq!(new.version, (2, 0, 2));
        assert!(new.check_supported().is_ok());
        assert!(ModemFirmware::parse("mfw_nrf9160_1.3.7").unwrap().check_supported().is_ok());
        let old = ModemFirmware::parse("mfw_nrf9160_1.2.3").unwrap();
        let refusal = old.check_supported().unwrap_err();
        assert_eq!(refusal.code, FailureCode::UnsupportedProtocol);
        assert!(refusal.what.contains("older than 1.3.0"), "{}", refusal.what);
        let no_digests = ModemFirmware::parse("mfw_nrf9160_1.3.1").unwrap().check_supported().unwrap_err();
        assert!(no_digests.what.contains("older than 1.3.2"), "{}", no_digests.what);
        // As Nordic's tools read them: a suffix, a dash, an NTN build.
        assert_eq!(ModemFirmware::parse("mfw_nrf9160_1.3.5-FOTA-TEST").unwrap().version, (1, 3, 5));
        assert_eq!(ModemFirmware::parse("mfw_nrf91x1-2.0.1").unwrap().version, (2, 0, 1));
        let ntn = ModemFirmware::parse("mfw_nrf9151-ntn_1.0.0").unwrap();
        assert!(ntn.is_ntn() && ntn.check_supported().is_ok());
        for bad in ["", "2.0.2", "mfw_nrf91x1_2.0", "mfw__2.0.2", "mfw_nrf91x1_2.0.2.1", "mfw_a;b_1.3.0", "mfw_1.3.0"] {
            assert!(ModemFirmware::parse(bad).is_err(), "{bad}");
        }
    }
}
