//! The answer to `AT%KEYGEN=<sec_tag>,2,0`: `%KEYGEN: "<base64url(CSR DER)>.<base64url(COSE_Sign1)>"`.
//!
//! The COSE_Sign1 is the modem's attestation of the CSR: its payload is the CBOR
//! array `[9, device UUID (16 bytes), CBOR(sec_tag), SHA-256(CSR DER), nonce]`. The
//! station checks it against the CSR and the request; it cannot check the COSE
//! signature itself, which is made with Nordic's device identity key (nRF Cloud can).

use super::at::bounded;
use super::cbor::{MapValue, Reader};
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// The largest CSR accepted from a modem.
pub const MAX_CSR: usize = 2048;
/// The largest attestation accepted from a modem.
pub const MAX_ATTESTATION: usize = 1024;
/// The COSE payload's message type for a key-generation attestation.
const KEYGEN_MESSAGE: u64 = 9;
/// CBOR tag of COSE_Sign1 (RFC 9052).
const TAG_COSE_SIGN1: u64 = 18;
/// CBOR tag "self-described CBOR".
const TAG_SELF_DESCRIBED: u64 = 55799;

/// A key the modem generated: its CSR and the attestation binding them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeygenAnswer {
    /// The CSR (DER), unverified.
    pub csr: Vec<u8>,
    /// What the attestation says.
    pub attestation: Attestation,
    /// SHA-256 of the COSE_Sign1, for the log.
    pub cose_sha256: String,
}

/// A modem's key-generation attestation, checked against its CSR.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Attestation {
    /// The device UUID (8-4-4-4-12 form).
    pub device_uuid: String,
    /// The sec tag the key was generated in.
    pub sec_tag: u32,
    /// SHA-256 of the CSR it attests (hex), equal to the CSR's.
    pub csr_sha256: String,
    /// The modem's nonce (hex).
    pub nonce: String,
    /// COSE algorithm of its signature (-7 = ES256).
    pub algorithm: i64,
}

/// Why a `%KEYGEN` answer was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeygenError {
    /// Not the shape of a `%KEYGEN` answer.
    #[error("malformed %KEYGEN answer: {0}")]
    Malformed(String),
    /// Well formed, but the attestation does not match the CSR or the request.
    #[error("the attestation does not match: {0}")]
    Mismatch(String),
}

/// Parses and checks the reply lines of `AT%KEYGEN=<sec_tag>,2,0`.
pub fn parse(lines: &[String], sec_tag: u32) -> Result<KeygenAnswer, KeygenError> {
    let malformed = |what: String| KeygenError::Malformed(what);
    let mut answers = lines.iter().filter_map(|l| l.strip_prefix("%KEYGEN:"));
    let answer = answers.next().ok_or_else(|| malformed("no %KEYGEN line".into()))?;
    if answers.next().is_some() {
        return Err(malformed("more than one %KEYGEN line".into()));
    }
    let quoted = answer.trim();
    let body = quoted
        .strip_prefix('"')
        .and_then(|b| b.strip_suffix('"'))
        .ok_or_else(|| malformed(format!("not quoted: {}", bounded(quoted))))?;
    let (csr_b64, cose_b64) =
        body.split_once('.').ok_or_else(|| malformed("no '.' between the CSR and the attestation".into()))?;
    let csr = decode(csr_b64, MAX_CSR, "CSR")?;
    let cose = decode(cose_b64, MAX_ATTESTATION, "attestation")?;
    let attestation = attestation(&cose).map_err(|e| malformed(format!("attestation: {e}")))?;
    let csr_sha256 = hex::encode(Sha256::digest(&csr));
    if attestation.csr_sha256 != csr_sha256 {
        return Err(KeygenError::Mismatch(format!(
            "it attests a CSR with SHA-256 {}, the modem sent one with {csr_sha256}",
            attestation.csr_sha256
        )));
    }
    if attestation.sec_tag != sec_tag {
        return Err(KeygenError::Mismatch(format!(
            "it attests a key in sec tag {}, the station asked for {sec_tag}",
            attestation.sec_tag
        )));
    }
    Ok(KeygenAnswer { csr, attestation, cose_sha256: hex::encode(Sha256::digest(&cose)) })
}

/// base64url without padding (padding tolerated), bounded.
fn decode(text: &str, max: usize, what: &str) -> Result<Vec<u8>, KeygenError> {
    if text.len() > max * 4 / 3 + 4 {
        return Err(KeygenError::Malformed(format!("{what} longer than {max} bytes")));
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|e| KeygenError::Malformed(format!("{what} is not base64url: {e}")))
}

/// Reads the COSE_Sign1 and its payload.
fn attestation(cose: &[u8]) -> Result<Attestation, String> {
    let mut r = Reader::new(cose);
    match r.tag().map_err(|e| e.to_string())? {
        None | Some(TAG_COSE_SIGN1) => {}
        Some(other) => return Err(format!("tag {other} where COSE_Sign1 (18) belongs")),
    }
    if r.array().map_err(|e| e.to_string())? != 4 {
        return Err("COSE_Sign1 is not an array of 4".into());
    }
    let protected = r.bytes().map_err(|e| e.to_string())?;
    let algorithm =
        match Reader::new(protected).int_map().map_err(|e| e.to_string())?.into_iter().find(|(k, _)| *k == 1) {
            Some((_, MapValue::Int(alg))) => i64::try_from(alg).map_err(|_| "algorithm out of range".to_string())?,
            _ => return Err("no algorithm in the protected header".into()),
        };
    r.int_map().map_err(|e| e.to_string())?; // unprotected header (the key id): recorded nowhere
    let payload = r.bytes().map_err(|e| e.to_string())?;
    let signature = r.bytes().map_err(|e| e.to_string())?;
    r.finish().map_err(|e| e.to_string())?;
    if signature.len() != 64 {
        return Err(format!("signature of {} bytes (ES256 has 64)", signature.len()));
    }
    let mut p = Reader::new(payload);
    match p.tag().map_err(|e| e.to_string())? {
        None | Some(TAG_SELF_DESCRIBED) => {}
        Some(other) => return Err(format!("payload tagged {other}")),
    }
    if p.array().map_err(|e| e.to_string())? != 5 {
        return Err("payload is not an array of 5".into());
    }
    let message = p.uint().map_err(|e| e.to_string())?;
    if message != KEYGEN_MESSAGE {
        return Err(format!("message type {message}, not a key-generation attestation ({KEYGEN_MESSAGE})"));
    }
    let uuid = p.bytes().map_err(|e| e.to_string())?;
    let uuid: [u8; 16] = uuid.try_into().map_err(|_| format!("device UUID of {} bytes", uuid.len()))?;
    let sec_tag_cbor = p.bytes().map_err(|e| e.to_string())?;
    let mut t = Reader::new(sec_tag_cbor);
    let sec_tag = t.uint().map_err(|e| e.to_string())?;
    t.finish().map_err(|e| e.to_string())?;
    let sec_tag = u32::try_from(sec_tag).map_err(|_| "sec tag out of range".to_string())?;
    let digest = p.bytes().map_err(|e| e.to_string())?;
    if digest.len() != 32 {
        return Err(format!("CSR digest of {} bytes", digest.len()));
    }
    let nonce = p.bytes().map_err(|e| e.to_string())?;
    if nonce.len() > 64 {
        return Err("nonce longer than 64 bytes".into());
    }
    p.finish().map_err(|e| e.to_string())?;
    Ok(Attestation {
        device_uuid: uuid_text(&uuid),
        sec_tag,
        csr_sha256: hex::encode(digest),
        nonce: hex::encode(nonce),
        algorithm,
    })
}

/// 8-4-4-4-12 lower-case hex.
pub fn uuid_text(b: &[u8; 16]) -> String {
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer from a real modem (Nordic's published fixture; see
    /// `hallmark-ca/tests/fixtures/README.md`).
    fn real() -> Vec<String> {
        let body = include_str!("../../../../hallmark-ca/tests/fixtures/nrf91-keygen.txt").trim();
        vec![format!("%KEYGEN: \"{body}\"")]
    }

    #[test]
    fn a_real_modem_answer_is_read_and_its_attestation_matches() {
        let answer = parse(&real(), 17).expect("parses");
        assert_eq!(answer.attestation.device_uuid, "50363154-3931-44f0-8022-121b6401627d");
        assert_eq!(answer.attestation.sec_tag, 17);
        assert_eq!(answer.attestation.algorithm, -7);
        assert_eq!(answer.attestation.csr_sha256, "702a3d56f05b2f72531d650825e20041e2e9d9318c34b6853ab9066e5c72e80c");
        assert_eq!(answer.csr.len(), 270);
    }

    #[test]
    fn another_sec_tag_or_another_csr_is_a_mismatch() {
        assert!(matches!(parse(&real(), 16), Err(KeygenError::Mismatch(m)) if m.contains("sec tag 17")));
        // The CSR of another key under the same attestation.
        let line = &real()[0];
        let (head, tail) = line.split_at(40);
        let swapped = format!("{head}{}{}", if tail.starts_with('A') { 'B' } else { 'A' }, &tail[1..]);
        assert!(matches!(parse(&[swapped], 17), Err(KeygenError::Mismatch(_)) | Err(KeygenError::Malformed(_))));
    }

    #[test]
    fn malformed_answers_are_refused() {
        for lines in [
            vec![],
            vec!["%KEYGEN: no quotes".to_string()],
            vec!["%KEYGEN: \"abc\"".to_string()],
            vec!["%KEYGEN: \"!!!.AAAA\"".to_string()],
            vec![format!("%KEYGEN: \"{}.AAAA\"", "A".repeat(4000))],
            vec![real()[0].clone(), real()[0].clone()],
        ] {
            assert!(matches!(parse(&lines, 17), Err(KeygenError::Malformed(_))), "{lines:?}");
        }
    }
}
