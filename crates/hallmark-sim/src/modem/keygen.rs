//! `AT%KEYGEN` as a modem answers it: a fresh P-256 key, a CSR whose CN is the device
//! UUID (signed as modem firmware 1.3.x/2.0.x signs it, ecdsa-with-SHA256 with NULL
//! parameters), and a COSE_Sign1 attestation of that CSR.

use base64::Engine as _;
use p256::ecdsa::{signature::Signer, Signature, SigningKey};
use sha2::{Digest, Sha256};

/// A generated key: its PKCS#8 DER, and the `%KEYGEN` answer body.
pub struct Generated {
    /// The private key (PKCS#8 DER), kept in the credential store.
    pub key_pkcs8: Vec<u8>,
    /// SHA-256 of the public key (what the listing shows for the key).
    pub public_sha256: String,
    /// `<base64url(CSR)>.<base64url(COSE_Sign1)>`.
    pub body: String,
}

/// The most subject attributes `AT%KEYGEN` takes.
const MAX_ATTRIBUTES: usize = 8;
/// The longest attribute value (X.520's upper bound for a common name).
const MAX_ATTRIBUTE_VALUE: usize = 64;

/// Reads `AT%KEYGEN`'s optional `<attributes>`: `"O=Nordic,CN=dev-1"` (without the
/// quotes), `<name>=<value>` pairs separated by commas, names C, ST, L, O, OU, CN.
pub fn subject_attributes(text: &str) -> Result<Vec<(rcgen::DnType, String)>, String> {
    let pairs: Vec<&str> = text.split(',').collect();
    if pairs.len() > MAX_ATTRIBUTES {
        return Err(format!("more than {MAX_ATTRIBUTES} attributes"));
    }
    pairs
        .into_iter()
        .map(|pair| {
            let (name, value) = pair.split_once('=').ok_or_else(|| format!("not <name>=<value>: {pair}"))?;
            let kind = match name.trim() {
                "C" => rcgen::DnType::CountryName,
                "ST" => rcgen::DnType::StateOrProvinceName,
                "L" => rcgen::DnType::LocalityName,
                "O" => rcgen::DnType::OrganizationName,
                "OU" => rcgen::DnType::OrganizationalUnitName,
                "CN" => rcgen::DnType::CommonName,
                other => return Err(format!("unknown attribute {other}")),
            };
            if value.is_empty() || value.len() > MAX_ATTRIBUTE_VALUE {
                return Err(format!("{name} must have 1 to {MAX_ATTRIBUTE_VALUE} characters"));
            }
            Ok((kind, value.to_string()))
        })
        .collect()
}

/// Generates a key in `sec_tag` for the device `uuid`; the CSR's subject is
/// `subject`, or without attributes (`None`) CN=`uuid`; `null_params` writes the
/// signature algorithm as real firmware does; `attest_other` attests a different
/// CSR than the one returned.
pub fn generate(
    uuid: &str,
    sec_tag: u32,
    subject: Option<&[(rcgen::DnType, String)]>,
    null_params: bool,
    attest_other: bool,
) -> Result<Generated, String> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| e.to_string())?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    match subject {
        None => params.distinguished_name.push(rcgen::DnType::CommonName, uuid),
        Some(attributes) => {
            for (kind, value) in attributes {
                params.distinguished_name.push(kind.clone(), value.as_str());
            }
        }
    }
    let csr = params.serialize_request(&key).map_err(|e| e.to_string())?.der().to_vec();
    let csr = if null_params { with_null_parameters(&csr)? } else { csr };
    let attested = if attest_other { Sha256::digest(b"another CSR").to_vec() } else { Sha256::digest(&csr).to_vec() };
    let uuid_bytes = hex::decode(uuid.replace('-', "")).map_err(|e| e.to_string())?;
    let cose = attestation(&uuid_bytes, sec_tag, &attested);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    Ok(Generated {
        key_pkcs8: key.serialize_der(),
        public_sha256: hex::encode(Sha256::digest(key.public_key_raw())),
        body: format!("{}.{}", b64.encode(&csr), b64.encode(cose)),
    })
}

/// Rewrites the CSR's outer signature algorithm as `SEQUENCE { ecdsa-with-SHA256, NULL }`.
/// The signature covers only the request info, so it still verifies.
fn with_null_parameters(der: &[u8]) -> Result<Vec<u8>, String> {
    const PLAIN: &[u8] = &[0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02];
    const WITH_NULL: &[u8] = &[0x30, 0x0C, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02, 0x05, 0x00];
    let at = der.windows(PLAIN.len()).rposition(|w| w == PLAIN).ok_or("no signature algorithm in the CSR")?;
    let (header, body_start) = match der.get(..2) {
        Some([0x30, 0x81]) => (3usize, 3usize),
        Some([0x30, 0x82]) => (4, 4),
        _ => return Err("unexpected CSR header".into()),
    };
    let mut body = der[body_start..].to_vec();
    body.splice(at - header..at - header + PLAIN.len(), WITH_NULL.iter().copied());
    let mut out = if body.len() < 256 {
        vec![0x30, 0x81, body.len() as u8]
    } else {
        vec![0x30, 0x82, (body.len() >> 8) as u8, body.len() as u8]
    };
    out.extend(body);
    Ok(out)
}

/// COSE_Sign1 over `[9, uuid, CBOR(sec_tag), sha256, nonce]`.
fn attestation(uuid: &[u8], sec_tag: u32, csr_sha256: &[u8]) -> Vec<u8> {
    let nonce: [u8; 16] = rand::random();
    let mut payload = vec![0xD9, 0xD9, 0xF7, 0x85, 0x09];
    bytes(&mut payload, uuid);
    let mut tag = Vec::new();
    uint(&mut tag, 0, sec_tag as u64);
    bytes(&mut payload, &tag);
    bytes(&mut payload, csr_sha256);
    bytes(&mut payload, &nonce);
    cose_sign1(&payload, false)
}

/// `AT%ATTESTTOKEN`'s answer: `<base64url(device identity message)>.<base64url(COSE_Sign1)>`,
/// the message `[1, uuid, device type, modem firmware UUID, nonce]` in a self-described
/// CBOR tag, the COSE_Sign1 over it with the payload detached (as real modems send it).
pub fn attestation_token(uuid: &str, device_type: u8, firmware_uuid: &[u8; 16]) -> Result<String, String> {
    let uuid = hex::decode(uuid.replace('-', "")).map_err(|e| e.to_string())?;
    let nonce: [u8; 16] = rand::random();
    let mut message = vec![0xD9, 0xD9, 0xF7, 0x85, 0x01];
    bytes(&mut message, &uuid);
    uint(&mut message, 0, device_type as u64);
    bytes(&mut message, firmware_uuid);
    bytes(&mut message, &nonce);
    let cose = cose_sign1(&message, true);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    Ok(format!("{}.{}", b64.encode(message), b64.encode(cose)))
}

/// COSE_Sign1 (ES256, key id h'21') over `payload`, which it carries or, `detached`,
/// leaves out (nil). Signed with a key made for the simulator (a real modem signs with
/// Nordic's device identity key).
fn cose_sign1(payload: &[u8], detached: bool) -> Vec<u8> {
    let protected = [0xA1, 0x01, 0x26]; // {1: -7} ES256
                                        // Sig_structure = ["Signature1", protected, h'', payload] (RFC 9052).
    let mut to_sign = vec![0x84, 0x6A];
    to_sign.extend_from_slice(b"Signature1");
    bytes(&mut to_sign, &protected);
    bytes(&mut to_sign, &[]);
    bytes(&mut to_sign, payload);
    let signer = SigningKey::random(&mut rand_core::OsRng);
    let signature: Signature = signer.sign(&to_sign);
    let mut cose = vec![0xD2, 0x84];
    bytes(&mut cose, &protected);
    cose.extend_from_slice(&[0xA1, 0x04, 0x41, 0x21]); // {4: h'21'} key id
    if detached {
        cose.push(0xF6); // nil
    } else {
        bytes(&mut cose, payload);
    }
    bytes(&mut cose, &signature.to_bytes());
    cose
}

fn uint(out: &mut Vec<u8>, major: u8, v: u64) {
    let m = major << 5;
    match v {
        0..=23 => out.push(m | v as u8),
        24..=0xFF => out.extend_from_slice(&[m | 24, v as u8]),
        0x100..=0xFFFF => {
            out.push(m | 25);
            out.extend_from_slice(&(v as u16).to_be_bytes());
        }
        0x1_0000..=0xFFFF_FFFF => {
            out.push(m | 26);
            out.extend_from_slice(&(v as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
}

fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    uint(out, 2, b.len() as u64);
    out.extend_from_slice(b);
}
