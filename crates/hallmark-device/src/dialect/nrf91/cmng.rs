//! The modem's credential store, `AT%CMNG`: what a listing says, and the exact text
//! the station writes (the modem lists the SHA-256 of the text between the quotes,
//! CR LF included, so the station computes the same digest over what it sent).

use super::at::bounded;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Credential types (`<type>` in `AT%CMNG`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialType {
    /// 0: a CA certificate the device trusts.
    RootCa,
    /// 1: the client certificate (and its chain).
    ClientCertificate,
    /// 2: the client private key.
    PrivateKey,
    /// Any other type (PSK, identity, public key, ...), by number.
    Other(u8),
}

impl CredentialType {
    /// The number `AT%CMNG` uses.
    pub fn number(self) -> u8 {
        match self {
            CredentialType::RootCa => 0,
            CredentialType::ClientCertificate => 1,
            CredentialType::PrivateKey => 2,
            CredentialType::Other(n) => n,
        }
    }

    fn from_number(n: u8) -> CredentialType {
        match n {
            0 => CredentialType::RootCa,
            1 => CredentialType::ClientCertificate,
            2 => CredentialType::PrivateKey,
            n => CredentialType::Other(n),
        }
    }
}

/// One line of an `AT%CMNG=1` listing.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Listed {
    /// Sec tag.
    pub sec_tag: u32,
    /// Type.
    pub kind: CredentialType,
    /// SHA-256 of the stored text (lower-case hex), if the modem gives one.
    pub sha256: Option<String>,
}

/// Reads the lines of `AT%CMNG=1[,<tag>]`; a line that is not a listing is refused.
pub fn parse_list(lines: &[String]) -> Result<Vec<Listed>, String> {
    lines
        .iter()
        .map(|line| {
            let rest = line.strip_prefix("%CMNG:").ok_or_else(|| format!("not a listing: {}", bounded(line)))?;
            let mut fields = rest.trim().splitn(3, ',');
            let sec_tag = fields.next().and_then(|t| t.trim().parse::<u32>().ok());
            let kind = fields.next().and_then(|t| t.trim().parse::<u8>().ok());
            let (Some(sec_tag), Some(kind)) = (sec_tag, kind) else {
                return Err(format!("no sec tag and type in {}", bounded(line)));
            };
            let sha256 = match fields.next().map(str::trim) {
                None | Some("") | Some("\"\"") => None,
                Some(quoted) => {
                    let hash = quoted.strip_prefix('"').and_then(|q| q.strip_suffix('"')).unwrap_or(quoted);
                    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(format!("not a SHA-256 in {}", bounded(line)));
                    }
                    Some(hash.to_ascii_lowercase())
                }
            };
            Ok(Listed { sec_tag, kind: CredentialType::from_number(kind), sha256 })
        })
        .collect()
}

/// Certificates (DER) as the PEM text written between the quotes: 64-column base64,
/// CR LF line ends, one block per certificate.
pub fn pem_text(certificates: &[&[u8]]) -> String {
    let mut out = String::new();
    for der in certificates {
        out.push_str("-----BEGIN CERTIFICATE-----\r\n");
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        for chunk in b64.as_bytes().chunks(64) {
            // base64 output is ASCII.
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push_str("\r\n");
        }
        out.push_str("-----END CERTIFICATE-----\r\n");
    }
    out
}

/// SHA-256 (lower-case hex) of the text as the modem hashes it.
pub fn text_sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_are_read_and_anything_else_refused() {
        let lines = vec![
            "%CMNG: 16842753,0,\"2C43952EE9E000FF2ACC4E2ED0897C0A72AD5FA72C3D934E81741CBD54F05BD1\"".to_string(),
            "%CMNG: 42,2,\"\"".to_string(),
        ];
        let listed = parse_list(&lines).unwrap();
        assert_eq!(listed[0].sec_tag, 16842753);
        assert_eq!(listed[0].kind, CredentialType::RootCa);
        assert_eq!(
            listed[0].sha256.as_deref(),
            Some("2c43952ee9e000ff2acc4e2ed0897c0a72ad5fa72c3d934e81741cbd54f05bd1")
        );
        assert_eq!(listed[1], Listed { sec_tag: 42, kind: CredentialType::PrivateKey, sha256: None });
        for bad in ["OK", "%CMNG: x,1", "%CMNG: 1,1,\"abc\"", "%CMNG: 1"] {
            assert!(parse_list(&[bad.to_string()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn pem_text_uses_crlf_and_64_columns() {
        let der = vec![0x30, 0x81, 0x60].into_iter().chain(std::iter::repeat_n(7u8, 0x60)).collect::<Vec<u8>>();
        let text = pem_text(&[&der]);
        assert!(text.starts_with("-----BEGIN CERTIFICATE-----\r\n"));
        assert!(text.ends_with("-----END CERTIFICATE-----\r\n"));
        assert!(text.lines().all(|l| l.trim_end_matches('\r').len() <= 64));
        assert!(!text.replace("\r\n", "").contains('\n'), "no bare LF");
    }
}
