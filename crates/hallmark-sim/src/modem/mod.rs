//! A simulated nRF91 modem speaking AT commands as Nordic's modem firmware does, for
//! the station's `nrf91-at` dialect and for Nordic's own tools (`nrfcredstore`,
//! `device_credentials_installer`). It follows the table in `docs/nrf91.md`:
//! `AT+CMEE`, `AT+CFUN`, `AT+CGSN`, `AT+CGMM`, `AT+CGMR`, `AT%XMODEMUUID`, `AT%KEYGEN`,
//! `AT%ATTESTTOKEN`, `AT%CMNG`.

mod faults;
mod keygen;
mod state;

pub use faults::ModemFault;
pub use state::ModemState;

use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::PathBuf;

/// The longest command the modem takes (a `%CMNG` write carries a whole PEM).
const MAX_COMMAND: usize = 8192;

/// A simulated modem.
pub struct Modem {
    state: ModemState,
    state_path: Option<PathBuf>,
    faults: Vec<ModemFault>,
    /// Bytes of the command being received.
    line: Vec<u8>,
    cfun: u8,
    numeric_errors: bool,
}

impl Modem {
    /// A modem with `state` (saved to `state_path` after every change), misbehaving
    /// as `faults` say.
    pub fn new(state: ModemState, state_path: Option<PathBuf>, faults: Vec<ModemFault>) -> Modem {
        let mut state = state;
        if faults.contains(&ModemFault::OldFirmware) {
            state.firmware = "mfw_nrf9160_1.2.3".into();
        }
        Modem { state, state_path, faults, line: Vec::new(), cfun: 1, numeric_errors: false }
    }

    /// Its state now.
    pub fn state(&self) -> &ModemState {
        &self.state
    }

    fn has(&self, fault: ModemFault) -> bool {
        self.faults.contains(&fault)
    }

    /// Takes bytes from the line; returns what the modem writes back.
    pub fn receive(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for &b in bytes {
            self.line.push(b);
            if self.line.len() > MAX_COMMAND {
                self.line.clear();
                out.extend_from_slice(b"ERROR\r\n");
                continue;
            }
            // A command ends at a line end outside quotes (a %CMNG write spans lines).
            let quotes = self.line.iter().filter(|&&c| c == b'"').count();
            if (b == b'\n' || b == b'\r') && quotes % 2 == 0 {
                let command = String::from_utf8_lossy(&self.line).trim().to_string();
                self.line.clear();
                if !command.is_empty() {
                    out.extend(self.answer(&command));
                }
            }
        }
        out
    }

    /// The answer to one command line.
    fn answer(&mut self, line: &str) -> Vec<u8> {
        if self.has(ModemFault::Silent) {
            return Vec::new();
        }
        if self.has(ModemFault::Garbage) {
            return vec![0x00, 0xFF, 0x13, 0x37, 0xFE, b'\r', b'\n'];
        }
        let command = match (self.has(ModemFault::Shell), line.strip_prefix("at ")) {
            (true, Some(c)) => c.trim(),
            (true, None) => return format!("{line}: command not found\r\nERROR\r\n").into_bytes(),
            (false, _) => line,
        };
        match self.execute(command) {
            Ok(lines) => {
                let mut out = String::new();
                for l in lines {
                    out.push_str(&l);
                    out.push_str("\r\n");
                }
                out.push_str("OK\r\n");
                out.into_bytes()
            }
            Err(Some(code)) if self.numeric_errors => format!("+CME ERROR: {code}\r\n").into_bytes(),
            Err(_) => b"ERROR\r\n".to_vec(),
        }
    }

    /// Runs `command`: its lines, or its CME error (`None`: plain `ERROR`).
    fn execute(&mut self, command: &str) -> Result<Vec<String>, Option<u16>> {
        let upper = command.to_ascii_uppercase();
        match upper.as_str() {
            "AT" => return Ok(vec![]),
            "AT+CMEE=1" => {
                self.numeric_errors = true;
                return Ok(vec![]);
            }
            "AT+CMEE=0" => {
                self.numeric_errors = false;
                return Ok(vec![]);
            }
            "AT+CFUN?" => return Ok(vec![format!("+CFUN: {}", self.cfun)]),
            "AT+CGSN" => return Ok(vec![self.state.imei.clone()]),
            "AT+CGSN=1" => return Ok(vec![format!("+CGSN: \"{}\"", self.state.imei)]),
            "AT+CGMM" => return Ok(vec![self.state.model.clone()]),
            "AT+CGMR" => return Ok(vec![self.state.firmware.clone()]),
            "AT%XMODEMUUID" => return Ok(vec![format!("%XMODEMUUID: {}", uuid_text(&self.firmware_uuid()))]),
            "AT%ATTESTTOKEN" => return self.attestation_token(),
            _ => {}
        }
        if let Some(mode) = upper.strip_prefix("AT+CFUN=") {
            self.cfun = mode.parse().map_err(|_| None)?;
            return Ok(vec![]);
        }
        if let Some(args) = command.strip_prefix("AT%KEYGEN=").or_else(|| command.strip_prefix("at%keygen=")) {
            return self.keygen(args);
        }
        if let Some(args) = command.strip_prefix("AT%CMNG=").or_else(|| command.strip_prefix("at%cmng=")) {
            return self.cmng(args);
        }
        Err(None)
    }

    /// Key generation and credential writes need the modem offline.
    fn offline(&self) -> Result<(), Option<u16>> {
        if self.has(ModemFault::ModemOn) || !matches!(self.cfun, 0 | 4) {
            return Err(Some(518));
        }
        Ok(())
    }

    /// The modem firmware build's UUID (`AT%XMODEMUUID`): fixed per firmware version,
    /// as a build's is.
    fn firmware_uuid(&self) -> [u8; 16] {
        let digest = Sha256::digest(self.state.firmware.as_bytes());
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&digest[..16]);
        uuid[6] = (uuid[6] & 0x0F) | 0x40; // version 4
        uuid[8] = (uuid[8] & 0x3F) | 0x80; // RFC 4122 variant
        uuid
    }

    /// `AT%ATTESTTOKEN` (modem firmware 1.3.0 and later): the device identity
    /// message with its COSE signature.
    fn attestation_token(&self) -> Result<Vec<String>, Option<u16>> {
        if self.has(ModemFault::OldFirmware) {
            return Err(None);
        }
        // Nordic's device types (nrfcloud-utils' modem_credentials_parser).
        let model = self.state.model.to_ascii_lowercase();
        let device_type = [("9160", 1), ("9161", 4), ("9131", 5), ("9151", 6)]
            .iter()
            .find(|(m, _)| model.contains(m))
            .map_or(0, |&(_, t)| t);
        let token =
            keygen::attestation_token(&self.state.uuid, device_type, &self.firmware_uuid()).map_err(|_| None)?;
        Ok(vec![format!("%ATTESTTOKEN: \"{token}\"")])
    }

    fn keygen(&mut self, args: &str) -> Result<Vec<String>, Option<u16>> {
        // <sec_tag>,<key_type>,<format>[,"<attributes>"]: the attributes may hold commas.
        let mut parts = args.splitn(4, ',');
        let tag: u32 = parts.next().and_then(|t| t.trim().parse().ok()).ok_or(None)?;
        let (kind, format) = (parts.next().map(str::trim), parts.next().map(str::trim));
        if kind != Some("2") || format != Some("0") {
            return Err(Some(523));
        }
        let subject = match parts.next().map(str::trim) {
            None => None,
            Some(quoted) => {
                let text = quoted.strip_prefix('"').and_then(|q| q.strip_suffix('"')).ok_or(None)?;
                Some(keygen::subject_attributes(text).map_err(|_| None)?)
            }
        };
        self.offline()?;
        if self.has(ModemFault::MalformedKeygen) {
            return Ok(vec!["%KEYGEN: \"not*base64.at!all\"".into()]);
        }
        // A cloned or swapped modem: its key comes from another device than it claims.
        let other = "00000000-0000-4000-8000-000000000001";
        let uuid = if self.has(ModemFault::OtherUuid) { other } else { self.state.uuid.as_str() };
        let generated = keygen::generate(
            uuid,
            tag,
            subject.as_deref(),
            !self.has(ModemFault::PlainCsr),
            self.has(ModemFault::AttestationMismatch),
        )
        .map_err(|_| Some(523))?;
        if !self.has(ModemFault::KeyMissing) {
            let key = format!("{}:{}", generated.public_sha256, hex::encode(&generated.key_pkcs8));
            self.state.credentials.insert(ModemState::slot(tag, 2), key);
            self.save();
        }
        Ok(vec![format!("%KEYGEN: \"{}\"", generated.body)])
    }

    fn cmng(&mut self, args: &str) -> Result<Vec<String>, Option<u16>> {
        let (opcode, rest) = args.split_once(',').unwrap_or((args, ""));
        match opcode.trim() {
            "0" => {
                let mut fields = rest.splitn(3, ',');
                let tag: u32 = fields.next().and_then(|t| t.trim().parse().ok()).ok_or(None)?;
                let kind: u8 = fields.next().and_then(|t| t.trim().parse().ok()).ok_or(None)?;
                let quoted = fields.next().ok_or(None)?.trim();
                let text = quoted.strip_prefix('"').and_then(|q| q.strip_suffix('"')).ok_or(None)?;
                self.offline()?;
                if self.has(ModemFault::StorageFull) {
                    return Err(Some(515));
                }
                self.state.credentials.insert(ModemState::slot(tag, kind), text.to_string());
                self.save();
                Ok(vec![])
            }
            "1" => {
                let mut filter = rest.split(',').filter(|s| !s.trim().is_empty());
                let tag: Option<u32> = filter.next().and_then(|t| t.trim().parse().ok());
                let kind: Option<u8> = filter.next().and_then(|t| t.trim().parse().ok());
                let mut lines = Vec::new();
                for (slot, text) in &self.state.credentials {
                    let Some((t, k)) = parse_slot(slot) else { continue };
                    if tag.is_some_and(|f| f != t) || kind.is_some_and(|f| f != k) {
                        continue;
                    }
                    let mut digest = match k {
                        2 => text.split(':').next().unwrap_or_default().to_string(),
                        _ => hex::encode(Sha256::digest(text.as_bytes())),
                    };
                    if k == 1 && self.has(ModemFault::WrongReadback) {
                        digest = hex::encode(Sha256::digest(b"something else"));
                    }
                    lines.push(format!("%CMNG: {t},{k},\"{}\"", digest.to_ascii_uppercase()));
                }
                if lines.is_empty() && tag.is_some() && self.has(ModemFault::CredentialMissing) {
                    return Err(Some(513));
                }
                Ok(lines)
            }
            "3" => {
                let mut fields = rest.split(',');
                let tag: u32 = fields.next().and_then(|t| t.trim().parse().ok()).ok_or(None)?;
                let kind: u8 = fields.next().and_then(|t| t.trim().parse().ok()).ok_or(None)?;
                self.offline()?;
                match self.state.credentials.remove(&ModemState::slot(tag, kind)) {
                    Some(_) => {
                        self.save();
                        Ok(vec![])
                    }
                    None => Err(Some(513)),
                }
            }
            _ => Err(Some(523)),
        }
    }

    fn save(&self) {
        if let Some(path) = &self.state_path {
            // A state file that cannot be written loses the simulation's memory only.
            let _ = std::fs::write(path, serde_json::to_vec_pretty(&self.state).unwrap_or_default());
        }
    }

    /// Serves the modem over `io` (a pseudo-terminal) until it closes. A fixture's
    /// line timing comes from wrapping `io` in [`crate::Paced`], as for the Hallmark
    /// board.
    pub fn serve(&mut self, io: &mut (impl Read + Write)) {
        let mut buf = [0u8; 512];
        loop {
            let n = match io.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let out = self.receive(&buf[..n]);
            if io.write_all(&out).is_err() || io.flush().is_err() {
                return;
            }
        }
    }
}

/// 8-4-4-4-12 lower-case hex.
fn uuid_text(b: &[u8; 16]) -> String {
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

fn parse_slot(slot: &str) -> Option<(u32, u8)> {
    let (t, k) = slot.split_once('/')?;
    Some((t.parse().ok()?, k.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn say(modem: &mut Modem, command: &str) -> String {
        String::from_utf8(modem.receive(format!("{command}\r\n").as_bytes())).unwrap()
    }

    #[test]
    fn identity_keygen_and_credentials_follow_the_dialect() {
        let mut m = Modem::new(ModemState::fresh(), None, vec![]);
        assert_eq!(say(&mut m, "AT+CMEE=1"), "OK\r\n");
        assert!(say(&mut m, "AT%KEYGEN=17,2,0").starts_with("+CME ERROR: 518"), "on: refused");
        assert_eq!(say(&mut m, "AT+CFUN=4"), "OK\r\n");
        let imei = say(&mut m, "AT+CGSN");
        assert_eq!(imei.len(), 15 + 2 + 4, "{imei:?}");
        let keygen = say(&mut m, "AT%KEYGEN=17,2,0");
        assert!(keygen.starts_with("%KEYGEN: \"") && keygen.ends_with("\"\r\nOK\r\n"), "{keygen}");
        let pem = "-----BEGIN CERTIFICATE-----\r\nAAAA\r\n-----END CERTIFICATE-----\r\n";
        assert_eq!(say(&mut m, &format!("AT%CMNG=0,17,1,\"{pem}\"")), "OK\r\n");
        let list = say(&mut m, "AT%CMNG=1,17");
        let digest = hex::encode_upper(Sha256::digest(pem.as_bytes()));
        assert!(list.contains(&format!("%CMNG: 17,1,\"{digest}\"")), "{list}");
        assert!(list.contains("%CMNG: 17,2,\""), "the key is listed: {list}");
        assert_eq!(say(&mut m, "AT%CMNG=3,17,1"), "OK\r\n");
        assert_eq!(say(&mut m, "AT%CMNG=3,17,1"), "+CME ERROR: 513\r\n");
    }

    /// The one quoted value of a `<prefix> "<value>"` answer.
    fn quoted<'a>(answer: &'a str, prefix: &str) -> &'a str {
        let rest = answer.strip_prefix(prefix).unwrap_or_else(|| panic!("{answer:?} starts with {prefix}"));
        rest.split('"').nth(1).unwrap()
    }

    fn b64url(text: &str) -> Vec<u8> {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).unwrap()
    }

    #[test]
    fn the_firmware_uuid_is_a_fixed_v4_uuid_per_firmware() {
        let mut m = Modem::new(ModemState::fresh(), None, vec![]);
        let answer = say(&mut m, "AT%XMODEMUUID");
        let uuid = answer.strip_prefix("%XMODEMUUID: ").and_then(|a| a.strip_suffix("\r\nOK\r\n")).unwrap();
        let groups: Vec<usize> = uuid.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{uuid}");
        assert!(uuid.bytes().all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{uuid}");
        assert_eq!(&uuid[14..15], "4", "version 4: {uuid}");
        let mut other = ModemState::fresh();
        other.firmware = "mfw_nrf91x1_2.0.1".into();
        let mut same = Modem::new(ModemState::fresh(), None, vec![]);
        assert_eq!(say(&mut same, "AT%XMODEMUUID"), answer, "a build's UUID, not the device's");
        assert_ne!(say(&mut Modem::new(other, None, vec![]), "AT%XMODEMUUID"), answer);
    }

    #[test]
    fn the_attestation_token_names_the_device_and_its_firmware() {
        let state = ModemState::fresh();
        let uuid = hex::decode(state.uuid.replace('-', "")).unwrap();
        let mut m = Modem::new(state, None, vec![]);
        let firmware = say(&mut m, "AT%XMODEMUUID");
        let firmware = hex::decode(firmware[13..49].replace('-', "")).unwrap();
        let answer = say(&mut m, "AT%ATTESTTOKEN");
        assert!(answer.ends_with("\"\r\nOK\r\n"), "{answer}");
        let (message, cose) = quoted(&answer, "%ATTESTTOKEN: ").split_once('.').unwrap();
        let (message, cose) = (b64url(message), b64url(cose));
        // 55799([1, h'<uuid>', 6 (nRF9151 LACA), h'<firmware uuid>', h'<nonce>'])
        let mut expected = vec![0xD9, 0xD9, 0xF7, 0x85, 0x01, 0x50];
        expected.extend(&uuid);
        expected.extend([0x06, 0x50]);
        expected.extend(&firmware);
        expected.push(0x50);
        assert_eq!(&message[..expected.len()], expected.as_slice());
        assert_eq!(message.len(), expected.len() + 16, "a 16-byte nonce ends it");
        // 18([h'A10126', {4: h'21'}, nil, h'<64-byte signature>']): the payload is detached.
        assert_eq!(&cose[..13], &[0xD2, 0x84, 0x43, 0xA1, 0x01, 0x26, 0xA1, 0x04, 0x41, 0x21, 0xF6, 0x58, 0x40]);
        assert_eq!(cose.len(), 13 + 64);
        let mut old = Modem::new(ModemState::fresh(), None, vec![ModemFault::OldFirmware]);
        assert_eq!(say(&mut old, "AT%ATTESTTOKEN"), "ERROR\r\n");
    }

    #[test]
    fn keygen_attributes_name_the_csr_subject() {
        let state = ModemState::fresh();
        let uuid = state.uuid.clone();
        let mut m = Modem::new(state, None, vec![]);
        say(&mut m, "AT+CMEE=1");
        say(&mut m, "AT+CFUN=4");
        let csr = |answer: &str| b64url(quoted(answer, "%KEYGEN: ").split('.').next().unwrap());
        let contains = |der: &[u8], text: &str| der.windows(text.len()).any(|w| w == text.as_bytes());
        let plain = csr(&say(&mut m, "AT%KEYGEN=7,2,0"));
        assert!(contains(&plain, &uuid), "without attributes CN is the device UUID");
        let named = csr(&say(&mut m, "AT%KEYGEN=7,2,0,\"O=Hallmark Test,CN=factory-0042\""));
        assert!(contains(&named, "factory-0042") && contains(&named, "Hallmark Test"));
        assert!(!contains(&named, &uuid), "the attributes replace the UUID");
        let long = format!("AT%KEYGEN=7,2,0,\"CN={}\"", "x".repeat(65));
        let many = format!("AT%KEYGEN=7,2,0,\"{}\"", ["O=a"; 9].join(","));
        for bad in ["AT%KEYGEN=7,2,0,\"XX=1\"", "AT%KEYGEN=7,2,0,\"CN\"", "AT%KEYGEN=7,2,0,CN=x", &long, &many] {
            assert_eq!(say(&mut m, bad), "ERROR\r\n", "{bad}");
        }
    }

    #[test]
    fn shell_mode_wants_the_at_prefix() {
        let mut m = Modem::new(ModemState::fresh(), None, vec![ModemFault::Shell]);
        assert!(say(&mut m, "AT+CGSN").ends_with("ERROR\r\n"));
        assert!(say(&mut m, "at AT+CGSN").ends_with("OK\r\n"));
    }

    #[test]
    fn faults_misbehave() {
        let mut missing = Modem::new(ModemState::fresh(), None, vec![ModemFault::CredentialMissing]);
        say(&mut missing, "AT+CMEE=1");
        assert_eq!(say(&mut missing, "AT%CMNG=1,17"), "+CME ERROR: 513\r\n", "an empty tag is not found");
        let mut m = Modem::new(ModemState::fresh(), None, vec![ModemFault::StorageFull]);
        say(&mut m, "AT+CMEE=1");
        say(&mut m, "AT+CFUN=4");
        assert_eq!(say(&mut m, "AT%CMNG=0,17,0,\"x\""), "+CME ERROR: 515\r\n");
        let mut old = Modem::new(ModemState::fresh(), None, vec![ModemFault::OldFirmware]);
        assert_eq!(say(&mut old, "AT+CGMR"), "mfw_nrf9160_1.2.3\r\nOK\r\n");
        let mut silent = Modem::new(ModemState::fresh(), None, vec![ModemFault::Silent]);
        assert_eq!(say(&mut silent, "AT"), "");
    }
}
