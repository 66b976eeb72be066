//! Provisioning through a debug probe (SWD): attach to the chip, optionally flash the
//! production image, read the chip's unique id from its registers, and carry the
//! provisioning protocol over RTT. Everything above the probe goes through
//! [`ProbeBackend`] and [`RttPort`], which the real probe (`ProbeRs`, with the
//! `probe-rs` feature) and the in-memory simulation ([`memory`]) both implement.
//! [`SystemProbes`] is the backend a station uses for real boards: probe-rs, or,
//! in a build without probe support, one that refuses probe slots in words.

#[cfg(feature = "probe-rs")]
mod hw;
pub mod memory;
#[cfg(not(feature = "probe-rs"))]
mod none;
pub mod rtt;
pub mod uid;

#[cfg(feature = "probe-rs")]
pub use hw::{check_chip, list_probes, ProbeRs, ProbeRs as SystemProbes};
#[cfg(not(feature = "probe-rs"))]
pub use none::{check_chip, list_probes, NoProbes as SystemProbes};
pub use rtt::{rtt_link, RttPort, RttTiming};

use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

/// A board on a debug probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeTarget {
    /// `VID:PID[:SERIAL]` as probe-rs selects probes (or a simulated probe's name).
    pub selector: String,
    /// probe-rs target name, e.g. `nRF52840_xxAA`.
    pub chip: String,
    /// Production image to flash (ELF, Intel HEX or BIN by extension), verified.
    pub flash: Option<PathBuf>,
    /// Base address for a BIN image.
    pub bin_base: Option<u64>,
    /// Permit irreversible operations (chip erase, unlocking a protected chip).
    pub allow_erase_all: bool,
}

impl std::fmt::Display for ProbeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "probe:{}/{}", self.selector, self.chip)
    }
}

/// What was flashed, for the log.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FlashRecord {
    /// File name.
    pub image: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the file.
    pub sha256: String,
    /// `elf`, `hex` or `bin`.
    pub format: String,
    /// Written and read back.
    pub verified: bool,
}

/// An attached board.
pub struct Attached {
    /// Its RTT channels.
    pub port: Box<dyn RttPort>,
    /// The probe, as listed.
    pub probe: String,
    /// The chip's unique id read over SWD, or why it could not be.
    pub chip_uid: Result<Vec<u8>, uid::UidError>,
    /// The image flashed, if any.
    pub flashed: Option<FlashRecord>,
}

/// A probe as listed.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ProbeInfo {
    /// Selector to put in the configuration.
    pub selector: String,
    /// Product name.
    pub name: String,
}

/// Why the probe step failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// No probe matches the selector.
    #[error("no debug probe matches {selector:?} (connected: {available}); check the USB cable and the selector")]
    NotFound {
        /// The selector.
        selector: String,
        /// What is connected.
        available: String,
    },
    /// The chip name is not in probe-rs's target registry.
    #[error("unknown chip {name:?}{suggestions}")]
    UnknownChip {
        /// The name.
        name: String,
        /// ", did you mean ...".
        suggestions: String,
    },
    /// The probe could not be opened or the chip not attached.
    #[error("cannot attach to the {chip} on probe {selector}: {why}. Check the target's power and the SWD wiring")]
    Attach {
        /// Probe.
        selector: String,
        /// Chip.
        chip: String,
        /// Cause.
        why: String,
    },
    /// Flashing failed.
    #[error("flashing {image} failed: {why}")]
    Flash {
        /// Image.
        image: String,
        /// Cause.
        why: String,
    },
    /// No RTT control block appeared.
    #[error("no RTT control block found within {waited:?}: is the provisioning firmware running with RTT up 0 / down 0? ({why})")]
    Rtt {
        /// How long it was looked for.
        waited: Duration,
        /// Cause.
        why: String,
    },
}

/// A probe read or write failed (probe-rs's error, in words).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProbeIoError(pub String);

impl ProbeIoError {
    /// From any error (probe-rs's).
    pub fn of(e: impl std::fmt::Display) -> ProbeIoError {
        ProbeIoError(e.to_string())
    }
}

/// Attaches to boards on probes. Calls block; run them off the async runtime.
pub trait ProbeBackend: Send + Sync {
    /// Opens the probe, attaches to the chip, flashes if asked, starts the firmware,
    /// reads the chip's unique id and finds the RTT channels, all within `deadline`.
    fn attach(&self, target: &ProbeTarget, deadline: Duration) -> Result<Attached, ProbeError>;
}
