//! A minimal PKCS#10 builder for a P-256 key, signed through [`KeyStore`].
//!
//! The station ignores everything in the CSR except the public key, the proof of
//! possession (the signature) and, when the station sent one, the session challenge;
//! so the subject is just `CN=<hardware id in hex>`, and the only attribute is the
//! PKCS#9 challengePassword carrying the challenge.

use crate::{KeyStore, StorageError};
use alloc::vec::Vec;
use hallmark_protocol::der::{self, tlv};
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

/// Builds a DER CSR for the key in `keys` with subject `CN=common_name`, carrying
/// `challenge` (the station's session challenge, as lower-case hex) if given.
pub fn build(keys: &mut dyn KeyStore, common_name: &str, challenge: Option<&str>) -> Result<Vec<u8>, StorageError> {
    let public_key = keys.public_key().ok_or(StorageError)?;
    let info = certification_request_info(&public_key, common_name, challenge);
    let digest: [u8; 32] = Sha256::digest(&info).into();
    let signature = keys.sign_digest(&digest)?;
    Ok(assemble(&info, &signature))
}

/// The to-be-signed part of the CSR.
pub fn certification_request_info(public_key: &[u8], common_name: &str, challenge: Option<&str>) -> Vec<u8> {
    let version = tlv(der::INTEGER, &[0]);
    let atv = tlv(der::SEQUENCE, &der::concat(&[OID_CN, &tlv(der::UTF8_STRING, common_name.as_bytes())]));
    let subject = tlv(der::SEQUENCE, &tlv(der::SET, &atv));
    let spki = tlv(der::SEQUENCE, &der::concat(&[ALG_EC_P256, &der::bit_string(public_key)]));
    let attributes = match challenge {
        Some(c) => {
            let value = tlv(der::SET, &tlv(der::UTF8_STRING, c.as_bytes()));
            tlv(der::CONTEXT_0_CONSTRUCTED, &tlv(der::SEQUENCE, &der::concat(&[OID_CHALLENGE_PASSWORD, &value])))
        }
        None => tlv(der::CONTEXT_0_CONSTRUCTED, &[]),
    };
    tlv(der::SEQUENCE, &der::concat(&[&version, &subject, &spki, &attributes]))
}

/// Wraps signed info and its signature into a CertificationRequest.
pub fn assemble(info: &[u8], signature_der: &[u8]) -> Vec<u8> {
    tlv(der::SEQUENCE, &der::concat(&[info, ALG_ECDSA_SHA256, &der::bit_string(signature_der)]))
}
