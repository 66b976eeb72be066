//! A simulated nRF91 modem speaking AT commands as Nordic's modem firmware does, for
//! the station's `nrf91-at` dialect and for Nordic's own tools (`nrfcredstore`,
//! `device_credentials_installer`). It follows the table in `docs/nrf91.md`:
//! `AT+CMEE`, `AT+CFUN`, `AT+CGSN`, `AT+CGMM`, `AT+CGMR`, `AT%KEYGEN`, `AT%CMNG`.

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

    fn keygen(&mut self, args: &str) -> Result<Vec<String>, Option<u16>> {
        let mut parts = args.split(',');
        let tag: u32 = parts.next().and_then(|t| t.trim().parse().ok()).ok_or(None)?;
        let (kind, format) = (parts.next().map(str::trim), parts.next().map(str::trim));
        if kind != Some("2") || format != Some("0") {
            return Err(Some(523));
        }
        self.offline()?;
        if self.has(ModemFault::MalformedKeygen) {
            return Ok(vec!["%KEYGEN: \"not*base64.at!all\"".into()]);
        }
        let generated = keygen::generate(
            &self.state.uuid,
            tag,
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

    /// Serves the modem over `io` (a pseudo-terminal) until it closes. With `baud`,
    /// every byte in and out takes its time on a UART (10 bits: start, 8 data,
    /// stop), as on a real line; a pseudo-terminal alone has no baud rate.
    pub fn serve(&mut self, io: &mut (impl Read + Write), baud: Option<u32>) {
        let on_the_wire = |bytes: usize| match baud {
            Some(b) if b > 0 => {
                std::thread::sleep(std::time::Duration::from_micros(bytes as u64 * 10_000_000 / b as u64))
            }
            _ => {}
        };
        let mut buf = [0u8; 512];
        loop {
            let n = match io.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            on_the_wire(n);
            let out = self.receive(&buf[..n]);
            for chunk in out.chunks(64) {
                on_the_wire(chunk.len());
                if io.write_all(chunk).is_err() || io.flush().is_err() {
                    return;
                }
            }
        }
    }
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

    #[test]
    fn shell_mode_wants_the_at_prefix() {
        let mut m = Modem::new(ModemState::fresh(), None, vec![ModemFault::Shell]);
        assert!(say(&mut m, "AT+CGSN").ends_with("ERROR\r\n"));
        assert!(say(&mut m, "at AT+CGSN").ends_with("OK\r\n"));
    }

    #[test]
    fn faults_misbehave() {
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
