//! Is a slot's fixture there? A serial slot whose port does not exist has no fixture
//! plugged in (or the configuration names the wrong port): the operator is told so
//! instead of being offered a Start that can only fail. Cheap enough to poll: it
//! looks at the port's device node, it does not open it.

use hallmark_config::SlotConfig;
use serde::{Deserialize, Serialize};

/// A slot's link as the operator screen shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SlotLink {
    /// Slot name.
    pub slot: String,
    /// Port or probe, as configured.
    pub link: String,
    /// What was found.
    pub state: LinkState,
}

/// What is on the other end of a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// The serial port exists: a fixture is connected (a board may or may not be in it).
    Connected,
    /// The serial port does not exist: no fixture is connected on that port.
    NoFixture,
    /// A debug probe slot: the probe is looked for when a run starts.
    Probe,
}

/// Every slot's link, now.
pub fn slot_links(slots: &[SlotConfig]) -> Vec<SlotLink> {
    slots.iter().map(slot_link).collect()
}

/// One slot's link, now.
pub fn slot_link(slot: &SlotConfig) -> SlotLink {
    let (link, state) = match &slot.probe {
        Some(probe) => (format!("probe {probe}"), LinkState::Probe),
        None => {
            let state = if port_exists(&slot.port) { LinkState::Connected } else { LinkState::NoFixture };
            let link = match slot.dialect {
                hallmark_config::DialectKind::Hallmark => slot.port.clone(),
                hallmark_config::DialectKind::Nrf91At => format!("{} (nRF91 modem)", slot.port),
            };
            (link, state)
        }
    };
    SlotLink { slot: slot.name.clone(), link, state }
}

/// A device path (`/dev/ttyUSB0`, a pty) exists; a bare name (`COM4`) is looked up
/// among the ports the OS lists.
fn port_exists(port: &str) -> bool {
    if port.contains('/') || port.contains('\\') {
        return std::path::Path::new(port).exists();
    }
    tokio_serial::available_ports().map(|ports| ports.iter().any(|p| p.port_name == port)).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serial(name: &str, port: &str) -> SlotConfig {
        SlotConfig {
            name: name.into(),
            port: port.into(),
            probe: None,
            chip: None,
            flash: None,
            bin_base: None,
            allow_erase_all: false,
            auto_start: false,
            dialect: hallmark_config::DialectKind::Hallmark,
            sec_tag: None,
            ca_file: None,
            at_mode: hallmark_config::AtModeSetting::Auto,
            hardware_id: hallmark_config::ModemIdSetting::Imei,
        }
    }

    #[test]
    fn a_missing_port_means_no_fixture_and_an_existing_one_is_connected() {
        let dir = tempfile::tempdir().unwrap();
        let present = dir.path().join("ttyFIXTURE");
        std::fs::write(&present, b"").unwrap();
        let missing = dir.path().join("ttyGONE");
        let links = slot_links(&[
            serial("A", &present.display().to_string()),
            serial("B", &missing.display().to_string()),
            serial("C", "COM-NOT-THERE"),
        ]);
        let states: Vec<_> = links.iter().map(|l| (l.slot.as_str(), l.state)).collect();
        assert_eq!(states, [("A", LinkState::Connected), ("B", LinkState::NoFixture), ("C", LinkState::NoFixture)]);
    }

    #[test]
    fn a_probe_slot_is_not_judged_by_its_port() {
        let slot = SlotConfig { probe: Some("0483:374b".into()), ..serial("P", "") };
        assert_eq!(
            slot_link(&slot),
            SlotLink { slot: "P".into(), link: "probe 0483:374b".into(), state: LinkState::Probe }
        );
    }
}
