//! What a simulated nRF91 modem keeps across power cycles: its identity and its
//! credential store.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The modem's non-volatile state.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ModemState {
    /// IMEI, 15 digits.
    pub imei: String,
    /// Device UUID (8-4-4-4-12).
    pub uuid: String,
    /// `AT+CGMM`.
    pub model: String,
    /// `AT+CGMR`.
    pub firmware: String,
    /// Credentials by `"<sec_tag>/<type>"`: the exact text stored (PEM, or for keys
    /// the private key's PKCS#8 DER in hex, which the modem never reveals).
    pub credentials: BTreeMap<String, String>,
}

impl ModemState {
    /// A factory-fresh modem with a random IMEI (valid check digit) and UUID.
    pub fn fresh() -> ModemState {
        let mut digits: Vec<u8> = b"35".to_vec();
        digits.extend((0..12).map(|_| b'0' + rand::random::<u8>() % 10));
        digits.push(b'0' + luhn_digit(&digits));
        let uuid: [u8; 16] = rand::random();
        let h = hex::encode(uuid);
        ModemState {
            // Digits only: valid UTF-8.
            imei: String::from_utf8(digits).unwrap_or_default(),
            uuid: format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]),
            model: "nRF9151-LACA".into(),
            firmware: "mfw_nrf91x1_2.0.2".into(),
            credentials: BTreeMap::new(),
        }
    }

    /// Reads the state at `path`, or creates a fresh modem there.
    pub fn load_or_create(path: &std::path::Path) -> Result<ModemState, crate::SimError> {
        let err = |why: String| crate::SimError::State { path: path.display().to_string(), why };
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| err(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let state = ModemState::fresh();
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
                }
                let json = serde_json::to_vec_pretty(&state).map_err(|e| err(e.to_string()))?;
                std::fs::write(path, json).map_err(|e| err(e.to_string()))?;
                Ok(state)
            }
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// The key under which a credential is kept.
    pub fn slot(tag: u32, kind: u8) -> String {
        format!("{tag}/{kind}")
    }
}

/// The Luhn check digit for `digits`.
fn luhn_digit(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = (b - b'0') as u32;
            if i % 2 == 0 {
                let dd = d * 2;
                if dd > 9 {
                    dd - 9
                } else {
                    dd
                }
            } else {
                d
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}
