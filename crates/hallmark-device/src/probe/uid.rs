//! Reading a chip's factory unique id over SWD, from the table in `chip-uids.toml`
//! (data, so a new family is one entry, not code).

use serde::Deserialize;
use std::sync::OnceLock;

/// Reads 32-bit words of target memory (probe-rs `MemoryInterface::read_word_32`
/// on a real probe; a mock in tests).
pub trait WordReader {
    /// The word at `address`.
    fn read_word(&mut self, address: u64) -> Result<u32, super::ProbeIoError>;
}

/// One family's entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChipFamily {
    /// Shown in logs.
    pub name: String,
    /// probe-rs target-name prefixes.
    pub chips: Vec<String>,
    /// Addresses of the id's words, in order.
    #[serde(default)]
    pub words: Vec<u64>,
    /// Why the id cannot be read over SWD, for known but unsupported families.
    #[serde(default)]
    pub unsupported: Option<String>,
}

#[derive(Deserialize)]
struct Table {
    family: Vec<ChipFamily>,
}

/// Every family in the table.
pub fn families() -> &'static [ChipFamily] {
    static TABLE: OnceLock<Vec<ChipFamily>> = OnceLock::new();
    TABLE.get_or_init(|| {
        // The table is compiled in and parsed by a unit test: failure is a build defect.
        toml::from_str::<Table>(include_str!("chip-uids.toml")).expect("chip-uids.toml parses").family
    })
}

/// The family of a probe-rs chip name.
pub fn family_of(chip: &str) -> Option<&'static ChipFamily> {
    let chip = chip.to_ascii_lowercase();
    families().iter().find(|f| f.chips.iter().any(|p| chip.starts_with(&p.to_ascii_lowercase())))
}

/// Why a UID could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UidError {
    /// No family in the table matches.
    #[error(
        "no unique-id location is known for chip {0}: add its family to chip-uids.toml, or let firmware report the id"
    )]
    UnknownFamily(String),
    /// The family is known to keep its id elsewhere.
    #[error("{family}: {why}")]
    Unsupported {
        /// Family.
        family: String,
        /// Why.
        why: String,
    },
    /// Reading target memory failed.
    #[error("reading the unique id of {family} at {address:#010x} failed: {why}")]
    Read {
        /// Family.
        family: String,
        /// Address.
        address: u64,
        /// Why.
        why: String,
    },
    /// The registers read as erased or zero: not a real id.
    #[error("{0}: the unique-id registers read as all 0 or all 1 (locked or wrong chip?)")]
    Blank(String),
}

/// Reads the unique id of `chip`.
pub fn read_uid(chip: &str, memory: &mut dyn WordReader) -> Result<Vec<u8>, UidError> {
    let family = family_of(chip).ok_or_else(|| UidError::UnknownFamily(chip.to_string()))?;
    if let Some(why) = &family.unsupported {
        return Err(UidError::Unsupported { family: family.name.clone(), why: why.clone() });
    }
    let mut id = Vec::with_capacity(family.words.len() * 4);
    for &address in &family.words {
        let word = memory.read_word(address).map_err(|why| UidError::Read {
            family: family.name.clone(),
            address,
            why: why.to_string(),
        })?;
        id.extend_from_slice(&word.to_be_bytes());
    }
    if id.iter().all(|&b| b == 0) || id.iter().all(|&b| b == 0xFF) {
        return Err(UidError::Blank(family.name.clone()));
    }
    Ok(id)
}

/// A memory with only the words of one family's id set (from `id`): what a
/// simulated chip answers over SWD.
#[derive(Clone, Debug, Default)]
pub struct UidMemory {
    words: std::collections::BTreeMap<u64, u32>,
}

impl UidMemory {
    /// A chip of `family` whose id is `id` (padded or cut to the family's length).
    pub fn for_family(family: &ChipFamily, id: &[u8]) -> UidMemory {
        let mut words = std::collections::BTreeMap::new();
        for (i, &address) in family.words.iter().enumerate() {
            let mut b = [0u8; 4];
            for (j, slot) in b.iter_mut().enumerate() {
                *slot = id.get(i * 4 + j).copied().unwrap_or(0);
            }
            words.insert(address, u32::from_be_bytes(b));
        }
        UidMemory { words }
    }
}

impl WordReader for UidMemory {
    fn read_word(&mut self, address: u64) -> Result<u32, super::ProbeIoError> {
        // Unmapped addresses fault on a real bus.
        self.words.get(&address).copied().ok_or_else(|| super::ProbeIoError(format!("bus fault at {address:#010x}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supported_family_reads_back_its_id() {
        for family in families().iter().filter(|f| f.unsupported.is_none()) {
            let id: Vec<u8> = (1..=family.words.len() as u8 * 4).collect();
            let chip = format!("{}_TEST", family.chips[0]);
            let mut memory = UidMemory::for_family(family, &id);
            assert_eq!(read_uid(&chip, &mut memory).unwrap(), id, "{}", family.name);
        }
    }

    #[test]
    fn known_layouts() {
        let nrf = family_of("nRF52840_xxAA").unwrap();
        assert_eq!(nrf.words, [0x1000_0060, 0x1000_0064]);
        let mut m = UidMemory::for_family(nrf, &[0x51, 0x5B, 0x05, 0x35, 0x26, 0xDF, 0xB4, 0x9F]);
        assert_eq!(hex::encode_upper(read_uid("nRF52840_xxAA", &mut m).unwrap()), "515B053526DFB49F");
        assert_eq!(family_of("STM32L073RZTx").unwrap().words[2], 0x1FF8_0064);
        assert_eq!(family_of("STM32F401RETx").unwrap().words[0], 0x1FFF_7A10);
    }

    #[test]
    fn failures_are_explained() {
        let mut empty = UidMemory::default();
        assert!(matches!(read_uid("RP2040", &mut empty), Err(UidError::Unsupported { .. })));
        assert!(matches!(read_uid("ATSAMD21G18A", &mut empty), Err(UidError::UnknownFamily(_))));
        assert!(matches!(read_uid("nRF52832_xxAA", &mut empty), Err(UidError::Read { .. })));
        let mut blank = UidMemory::for_family(family_of("nRF52832_xxAA").unwrap(), &[0xFF; 8]);
        assert!(matches!(read_uid("nRF52832_xxAA", &mut blank), Err(UidError::Blank(_))));
    }
}
