//! The modem firmware version (`AT+CGMR`, e.g. `mfw_nrf91x1_2.0.2`): recorded with the
//! run, and refused before 1.3.0, which has no attested `AT%KEYGEN`.

use crate::{Failure, FailureCode};

/// The oldest modem firmware that can be provisioned.
pub const MIN_FIRMWARE: (u16, u16, u16) = (1, 3, 0);

/// A modem firmware version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModemFirmware {
    /// The build's family (`nrf9160`, `nrf91x1`).
    pub family: String,
    /// major.minor.patch.
    pub version: (u16, u16, u16),
}

impl ModemFirmware {
    /// Reads `mfw_<family>_<major>.<minor>.<patch>[-suffix]`.
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
        let (family, version) = rest.rsplit_once('_').ok_or_else(unreadable)?;
        let version = version.split(['-', ' ']).next().unwrap_or_default();
        let mut parts = version.split('.').map(|p| p.parse::<u16>());
        let (Some(Ok(major)), Some(Ok(minor)), Some(Ok(patch)), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(unreadable());
        };
        let family_ok = !family.is_empty() && family.len() <= 16 && family.bytes().all(|b| b.is_ascii_alphanumeric());
        if !family_ok {
            return Err(unreadable());
        }
        Ok(ModemFirmware { family: family.to_string(), version: (major, minor, patch) })
    }

    /// Refuses firmware older than [`MIN_FIRMWARE`].
    pub fn check_supported(&self) -> Result<(), Failure> {
        if self.version >= MIN_FIRMWARE {
            return Ok(());
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
        for bad in ["", "2.0.2", "mfw_nrf91x1_2.0", "mfw__2.0.2", "mfw_nrf91x1_2.0.2.1", "mfw_a;b_1.3.0"] {
            assert!(ModemFirmware::parse(bad).is_err(), "{bad}");
        }
    }
}
