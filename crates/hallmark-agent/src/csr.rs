//! A minimal PKCS#10 builder, signed through [`KeyStore`].
//!
//! The station ignores everything in the CSR except the public key, the proof of
//! possession (the signature) and, when the station sent one, the session challenge;
//! so the subject is just `CN=<hardware id in hex>`, and the only attribute is the
//! PKCS#9 challengePassword carrying the challenge.
//!
//! The key's `AlgorithmIdentifier` and the signature algorithm follow
//! [`KeyStore::algorithm`]. The builder knows ECDSA P-256 (id-ecPublicKey with
//! prime256v1, signed ecdsa-with-SHA256 over the SHA-256 digest the store signs); for
//! any other algorithm it refuses ([`CsrError::UnsupportedAlgorithm`]) rather than
//! write a CSR that names the wrong key type.
//!
//! Hand-written rather than built with the `der`/`x509-cert` crates (RustCrypto,
//! `no_std`): measured in the firmware image (`firmware/qemu-mps2`, release, flash =
//! vector table + `.text` + `.rodata`, 2026-12-03), this builder plus the certificate
//! key reader (`hallmark_protocol::der::certificate_public_key`) make 59,516 bytes of
//! the 65,536-byte budget. With `x509-cert` 0.2.5 (on the `der` 0.7 that `ecdsa`
//! already links) building the CSR the image is 70,024 bytes, 4,488 over the budget;
//! reading the certificate with `x509_cert::Certificate` as well, 95,648 bytes. `der`'s
//! TLV reader alone in place of the hand-written walker fits (60,848 bytes, +1,332)
//! but checks the same tags in the same order, so it buys nothing for its cost. Static
//! RAM (`.bss`) was 9,252 bytes in every variant.

use crate::{KeyStore, StorageError};
use alloc::vec::Vec;
use hallmark_protocol::der::{self, tlv};
use hallmark_protocol::KeyAlgorithm;
use sha2::{Digest, Sha256};

/// DER of OID 2.5.4.3 (commonName).
const OID_CN: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x03];
/// DER of AlgorithmIdentifier { id-ecPublicKey, prime256v1 }.
const ALG_EC_P256: &[u8] = &[
    0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03,
    0x01, 0x07,
];
/// DER of OID 1.2.840.113549.1.9.7 (PKCS#9 challengePassword).
const OID_CHALLENGE_PASSWORD: &[u8] = &[0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x07];
/// DER of AlgorithmIdentifier { ecdsa-with-SHA256 } (parameters absent, RFC 5758).
const ALG_ECDSA_SHA256: &[u8] = &[0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02];

/// Why no CSR was built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsrError {
    /// The key store holds no key.
    NoKey,
    /// The key is of an algorithm this builder cannot describe in a CSR.
    UnsupportedAlgorithm(KeyAlgorithm),
    /// The key store failed to sign.
    Signing(StorageError),
}

/// The DER `AlgorithmIdentifier`s a CSR for a key of `algorithm` carries: the key's
/// (in SubjectPublicKeyInfo) and the signature's. `None` for an algorithm the builder
/// cannot encode.
pub fn algorithm_identifiers(algorithm: KeyAlgorithm) -> Option<(&'static [u8], &'static [u8])> {
    match algorithm {
        KeyAlgorithm::EcdsaP256 => Some((ALG_EC_P256, ALG_ECDSA_SHA256)),
        // P-384 and P-521 would need their curve OIDs (and a store whose signature
        // over a SHA-256 digest the CA accepts); Ed25519 signs the message itself,
        // not a digest. None of them has a key store here.
        _ => None,
    }
}

/// Builds a DER CSR for the key in `keys` with subject `CN=common_name`, carrying
/// `challenge` (the station's session challenge, as lower-case hex) if given.
pub fn build(keys: &mut dyn KeyStore, common_name: &str, challenge: Option<&str>) -> Result<Vec<u8>, CsrError> {
    let algorithm = keys.algorithm().ok_or(CsrError::NoKey)?;
    let public_key = keys.public_key().ok_or(CsrError::NoKey)?;
    let info = certification_request_info(algorithm, &public_key, common_name, challenge)?;
    let digest: [u8; 32] = Sha256::digest(&info).into();
    let signature = keys.sign_digest(&digest).map_err(CsrError::Signing)?;
    assemble(algorithm, &info, &signature)
}

/// The to-be-signed part of the CSR for a key of `algorithm`.
pub fn certification_request_info(
    algorithm: KeyAlgorithm,
    public_key: &[u8],
    common_name: &str,
    challenge: Option<&str>,
) -> Result<Vec<u8>, CsrError> {
    let (key_algorithm, _) = algorithm_identifiers(algorithm).ok_or(CsrError::UnsupportedAlgorithm(algorithm))?;
    let version = tlv(der::INTEGER, &[0]);
    let atv = tlv(der::SEQUENCE, &der::concat(&[OID_CN, &tlv(der::UTF8_STRING, common_name.as_bytes())]));
    let subject = tlv(der::SEQUENCE, &tlv(der::SET, &atv));
    let spki = tlv(der::SEQUENCE, &der::concat(&[key_algorithm, &der::bit_string(public_key)]));
    let attributes = match challenge {
        Some(c) => {
            let value = tlv(der::SET, &tlv(der::UTF8_STRING, c.as_bytes()));
            tlv(der::CONTEXT_0_CONSTRUCTED, &tlv(der::SEQUENCE, &der::concat(&[OID_CHALLENGE_PASSWORD, &value])))
        }
        None => tlv(der::CONTEXT_0_CONSTRUCTED, &[]),
    };
    Ok(tlv(der::SEQUENCE, &der::concat(&[&version, &subject, &spki, &attributes])))
}

/// Wraps signed info and its signature (by a key of `algorithm`) into a
/// CertificationRequest.
pub fn assemble(algorithm: KeyAlgorithm, info: &[u8], signature_der: &[u8]) -> Result<Vec<u8>, CsrError> {
    let (_, signature_algorithm) = algorithm_identifiers(algorithm).ok_or(CsrError::UnsupportedAlgorithm(algorithm))?;
    Ok(tlv(der::SEQUENCE, &der::concat(&[info, signature_algorithm, &der::bit_string(signature_der)])))
}
