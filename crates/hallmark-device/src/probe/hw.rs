//! The real debug probe, through probe-rs. Only this file touches probe hardware.

use super::uid::{read_uid, WordReader};
use super::{Attached, FlashRecord, ProbeBackend, ProbeError, ProbeInfo, ProbeIoError, ProbeTarget, RttPort};
use probe_rs::config::Registry;
use probe_rs::probe::list::Lister;
use probe_rs::probe::DebugProbeSelector;
use probe_rs::rtt::Rtt;
use probe_rs::{MemoryInterface, Permissions, Session};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// probe-rs probes (CMSIS-DAP v2, ST-Link, J-Link, ESP-USB-JTAG, ...).
pub struct ProbeRs;

/// Connected probes.
pub fn list_probes() -> Vec<ProbeInfo> {
    Lister::new()
        .list_all()
        .into_iter()
        .map(|p| ProbeInfo {
            selector: match &p.serial_number {
                Some(s) => format!("{:04x}:{:04x}:{s}", p.vendor_id, p.product_id),
                None => format!("{:04x}:{:04x}", p.vendor_id, p.product_id),
            },
            name: p.identifier.clone(),
        })
        .collect()
}

/// Checks a chip name against probe-rs's built-in target registry.
pub fn check_chip(name: &str) -> Result<(), ProbeError> {
    let registry = Registry::from_builtin_families();
    if registry.get_target_by_name(name).is_ok() {
        return Ok(());
    }
    let wanted = name.to_ascii_lowercase();
    let stem: String = wanted.chars().take(5).collect();
    let mut close: Vec<String> = registry
        .families()
        .iter()
        .flat_map(|f| f.variants.iter().map(|v| v.name.clone()))
        .filter(|v| v.to_ascii_lowercase().starts_with(&stem))
        .collect();
    close.sort();
    close.truncate(6);
    let suggestions = if close.is_empty() {
        ": see `probe-rs chip list` for the names".to_string()
    } else {
        format!(", did you mean {}?", close.join(", "))
    };
    Err(ProbeError::UnknownChip { name: name.to_string(), suggestions })
}

impl ProbeBackend for ProbeRs {
    fn attach(&self, target: &ProbeTarget, deadline: Duration) -> Result<Attached, ProbeError> {
        let started = Instant::now();
        check_chip(&target.chip)?;
        let attach_error =
            |why: String| ProbeError::Attach { selector: target.selector.clone(), chip: target.chip.clone(), why };
        let selector: DebugProbeSelector = target.selector.parse().map_err(|e| attach_error(format!("{e}")))?;
        let lister = Lister::new();
        let probe = lister.open(selector).map_err(|e| {
            let available = list_probes().iter().map(|p| p.selector.clone()).collect::<Vec<_>>().join(", ");
            match available.is_empty() {
                true => ProbeError::NotFound { selector: target.selector.clone(), available: "none".into() },
                false if format!("{e}").contains("not found") || format!("{e}").contains("No probe") => {
                    ProbeError::NotFound { selector: target.selector.clone(), available }
                }
                false => attach_error(e.to_string()),
            }
        })?;
        let probe_name = probe.get_name();
        let mut permissions = Permissions::default();
        if target.allow_erase_all {
            permissions = permissions.allow_erase_all();
        }
        let mut session = probe.attach(target.chip.as_str(), permissions).map_err(|e| attach_error(e.to_string()))?;
        let flashed = match &target.flash {
            Some(image) => Some(flash(&mut session, image, target.bin_base, target.allow_erase_all)?),
            None => None,
        };
        {
            let mut core = session.core(0).map_err(|e| attach_error(e.to_string()))?;
            core.reset().map_err(|e| attach_error(format!("reset: {e}")))?;
        }
        let chip_uid = match session.core(0) {
            Ok(mut core) => read_uid(&target.chip, &mut CoreWords(&mut core)),
            Err(e) => Err(super::uid::UidError::Read { family: target.chip.clone(), address: 0, why: e.to_string() }),
        };
        // The firmware sets up its RTT control block after reset: look until the deadline.
        let rtt = loop {
            let found = session
                .core(0)
                .map_err(|e| e.to_string())
                .and_then(|mut core| Rtt::attach(&mut core).map_err(|e| e.to_string()));
            match found {
                Ok(mut rtt) => {
                    if rtt.up_channels().is_empty() || rtt.down_channels().is_empty() {
                        return Err(ProbeError::Rtt { waited: started.elapsed(), why: "channel 0 missing".into() });
                    }
                    break rtt;
                }
                Err(why) if started.elapsed() >= deadline => {
                    return Err(ProbeError::Rtt { waited: started.elapsed(), why })
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        Ok(Attached { port: Box::new(ProbeRtt { session, rtt }), probe: probe_name, chip_uid, flashed })
    }
}

/// Target memory words through a core.
struct CoreWords<'a, 'b>(&'a mut probe_rs::Core<'b>);

impl WordReader for CoreWords<'_, '_> {
    fn read_word(&mut self, address: u64) -> Result<u32, ProbeIoError> {
        self.0.read_word_32(address).map_err(ProbeIoError::of)
    }
}

/// RTT channel 0 of an attached session.
struct ProbeRtt {
    session: Session,
    rtt: Rtt,
}

impl RttPort for ProbeRtt {
    fn write_down(&mut self, data: &[u8]) -> Result<usize, ProbeIoError> {
        let mut core = self.session.core(0).map_err(ProbeIoError::of)?;
        let channel = self.rtt.down_channel(0).ok_or_else(|| ProbeIoError::of("RTT down channel 0 is gone"))?;
        channel.write(&mut core, data).map_err(ProbeIoError::of)
    }

    fn read_up(&mut self, buf: &mut [u8]) -> Result<usize, ProbeIoError> {
        let mut core = self.session.core(0).map_err(ProbeIoError::of)?;
        let channel = self.rtt.up_channel(0).ok_or_else(|| ProbeIoError::of("RTT up channel 0 is gone"))?;
        channel.read(&mut core, buf).map_err(ProbeIoError::of)
    }
}

/// Downloads `image` with verification; chip erase only when permitted.
fn flash(
    session: &mut Session,
    image: &std::path::Path,
    bin_base: Option<u64>,
    allow_erase_all: bool,
) -> Result<FlashRecord, ProbeError> {
    use probe_rs::flashing::{download_file_with_options, BinOptions, DownloadOptions, ElfOptions, ImageLoader};
    let name = image.display().to_string();
    let fail = |why: String| ProbeError::Flash { image: name.clone(), why };
    let bytes = std::fs::read(image).map_err(|e| fail(e.to_string()))?;
    let format = image.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let loader: Box<dyn ImageLoader> = match format.as_str() {
        "elf" | "" => Box::new(probe_rs::flashing::ElfLoader(ElfOptions::default())),
        "hex" | "ihex" => Box::new(probe_rs::flashing::HexLoader),
        "bin" => match bin_base {
            Some(base) => Box::new(probe_rs::flashing::BinLoader(BinOptions { base_address: Some(base), skip: 0 })),
            None => return Err(fail("a BIN image needs bin_base (its load address)".into())),
        },
        other => return Err(fail(format!("unknown image format .{other}: use .elf, .hex or .bin"))),
    };
    let mut options = DownloadOptions::default();
    options.verify = true;
    options.do_chip_erase = allow_erase_all;
    download_file_with_options(session, image, loader, options).map_err(|e| fail(e.to_string()))?;
    Ok(FlashRecord {
        image: image.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or(name.clone()),
        size: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(&bytes)),
        format: if format.is_empty() { "elf".into() } else { format },
        verified: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chip_names_come_from_the_registry() {
        for chip in ["nRF52840_xxAA", "nRF5340_xxAA", "STM32F401RETx", "STM32L073RZTx", "RP2040"] {
            check_chip(chip).unwrap_or_else(|e| panic!("{chip}: {e}"));
        }
        let e = check_chip("nRF52999_xxAA").unwrap_err().to_string();
        assert!(e.contains("unknown chip \"nRF52999_xxAA\"") && e.contains("did you mean nRF52"), "{e}");
        assert!(check_chip("Z80").unwrap_err().to_string().contains("probe-rs chip list"));
    }

    #[test]
    fn fake_probe_attaches_and_uid_reads_go_through_the_core() {
        // probe-rs's own fake probe: attach works without hardware; its memory reads
        // 0, which the UID reader must refuse as blank rather than take as an id.
        let probe =
            probe_rs::probe::Probe::from_specific_probe(Box::new(probe_rs::integration::FakeProbe::with_mocked_core()));
        let mut session = probe.attach("STM32F401RETx", Permissions::default()).expect("attach to a fake probe");
        assert_eq!(session.target().name, "STM32F401RETx");
        let mut core = session.core(0).expect("core 0");
        let uid = read_uid("STM32F401RETx", &mut CoreWords(&mut core));
        assert!(matches!(uid, Err(crate::probe::uid::UidError::Blank(_))), "{uid:?}");
    }
}
