//! Public keys as the log identifies them: SHA-256 of the DER SubjectPublicKeyInfo.

use sha2::{Digest, Sha256};

/// The log's key id: lower-case hex SHA-256 of a DER SubjectPublicKeyInfo.
pub fn key_sha256(spki_der: &[u8]) -> String {
    hex::encode(Sha256::digest(spki_der))
}

/// The key id of the certificate in `pem` (one the station issued), if it parses.
pub(crate) fn key_sha256_of_pem(pem: &str) -> Option<String> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
    let (_, cert) = x509_parser::parse_x509_certificate(&pem.contents).ok()?;
    Some(key_sha256(cert.public_key().raw))
}
