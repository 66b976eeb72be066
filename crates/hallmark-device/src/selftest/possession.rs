//! Minimal self-test: the board signs a fresh station nonce with the key of its newly
//! installed certificate, and the station verifies with the certificate's public key.

use hallmark_protocol::SELFTEST_CONTEXT;
use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};
use x509_parser::prelude::*;

/// Why the possession self-test did not prove the key.
#[derive(Debug, thiserror::Error)]
pub enum PossessionError {
    /// The installed certificate could not be parsed.
    #[error("installed certificate unreadable: {0}")]
    Certificate(String),
    /// The signature does not verify.
    #[error("signature does not verify with the certificate's public key")]
    Signature,
}

/// Verifies `signature` over `SELFTEST_CONTEXT || nonce` with the key in `cert_der`.
pub fn verify_possession(cert_der: &[u8], nonce: &[u8], signature: &[u8]) -> Result<(), PossessionError> {
    let (_, cert) = parse_x509_certificate(cert_der).map_err(|e| PossessionError::Certificate(e.to_string()))?;
    let public_key = cert.public_key().subject_public_key.data.as_ref();
    let message = [SELFTEST_CONTEXT, nonce].concat();
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, public_key)
        .verify(&message, signature)
        .map_err(|_| PossessionError::Signature)
}
