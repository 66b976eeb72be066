//! The station's probe backend: probe-rs for real probes, and `sim[:STATE.json]` for
//! a simulated board behind an in-memory RTT pair with SEGGER's default 16-byte down
//! buffer (partial writes and back-pressure as on hardware) and chip registers that
//! hold its unique id where its family keeps it. Lives in the CLI because it joins
//! the station to the simulator; the station core knows neither. Without the `demo`
//! feature only real probes are offered.

use hallmark_station::probe::{Attached, ProbeBackend, ProbeError, ProbeTarget, SystemProbes};
use std::time::Duration;

/// Real probes, and simulated ones for selectors starting with `sim`.
pub struct Probes;

impl ProbeBackend for Probes {
    fn attach(&self, target: &ProbeTarget, deadline: Duration) -> Result<Attached, ProbeError> {
        match target.selector.strip_prefix("sim") {
            #[cfg(feature = "demo")]
            Some(rest) if rest.is_empty() || rest.starts_with(':') => {
                simulated::attach(target, &rest[rest.len().min(1)..])
            }
            _ => SystemProbes.attach(target, deadline),
        }
    }
}

#[cfg(feature = "demo")]
mod simulated {
    use super::{Attached, ProbeError, ProbeTarget};
    use hallmark_sim::{Board, BoardState, Fault};
    use hallmark_station::probe::memory::memory_rtt;
    use hallmark_station::probe::uid::{family_of, read_uid, UidMemory};
    use hallmark_station::probe::{check_chip, FlashRecord};
    use sha2::{Digest, Sha256};
    use std::path::PathBuf;

    /// SEGGER RTT's default down-buffer size.
    const DOWN_BUFFER: usize = 16;
    /// A typical up-buffer size in provisioning firmware.
    const UP_BUFFER: usize = 256;

    pub(super) fn attach(target: &ProbeTarget, state: &str) -> Result<Attached, ProbeError> {
        check_chip(&target.chip)?;
        let fail =
            |why: String| ProbeError::Attach { selector: target.selector.clone(), chip: target.chip.clone(), why };
        let path = (!state.is_empty()).then(|| PathBuf::from(state));
        let mut board_state = match &path {
            Some(p) => BoardState::load_or_create(p).map_err(|e| fail(e.to_string()))?,
            None => BoardState::fresh(),
        };
        let family = family_of(&target.chip).filter(|f| f.unsupported.is_none());
        // A blank simulated chip gets an id as long as its family's (96 bits on STM32).
        if let Some(f) = family {
            let len = f.words.len() * 4;
            if board_state.secret_key.is_none() && board_state.hardware_id.len() != 2 * len {
                board_state.hardware_id = hex::encode_upper((0..len).map(|_| rand::random::<u8>()).collect::<Vec<_>>());
            }
        }
        let requested = std::env::var("HALLMARK_SIM_PROBE_FAULTS").unwrap_or_default();
        let faults: Vec<Fault> = requested
            .split(',')
            .filter(|f| !f.is_empty() && *f != "chip-uid-mismatch")
            .map(|f| f.parse::<Fault>().map_err(|e| fail(e.to_string())))
            .collect::<Result<_, _>>()?;
        let mut chip_id = hex::decode(&board_state.hardware_id).unwrap_or_default();
        if requested.split(',').any(|f| f == "chip-uid-mismatch") {
            // Firmware reporting some other id than the silicon's.
            if let Some(b) = chip_id.first_mut() {
                *b ^= 0xFF;
            }
        }
        let chip_uid = match family {
            Some(f) => read_uid(&target.chip, &mut UidMemory::for_family(f, &chip_id)),
            None => read_uid(&target.chip, &mut UidMemory::default()),
        };
        let flashed = match &target.flash {
            Some(image) => {
                let bytes = std::fs::read(image)
                    .map_err(|e| ProbeError::Flash { image: image.display().to_string(), why: e.to_string() })?;
                Some(FlashRecord {
                    image: image.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                    size: bytes.len() as u64,
                    sha256: hex::encode(Sha256::digest(&bytes)),
                    format: image.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_else(|| "elf".into()),
                    verified: true,
                })
            }
            None => None,
        };
        let mut board = Board::new(board_state, path, faults).map_err(|e| fail(e.to_string()))?;
        let (port, mut firmware_side) = memory_rtt(DOWN_BUFFER, UP_BUFFER);
        std::thread::spawn(move || board.serve(&mut firmware_side));
        Ok(Attached {
            port: Box::new(port),
            probe: format!("simulated probe (in-memory RTT, {DOWN_BUFFER}-byte down buffer)"),
            chip_uid,
            flashed,
        })
    }
}
