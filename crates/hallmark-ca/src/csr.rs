//! CSR verification: proof of possession and key algorithm, nothing else.

use crate::CaError;
use x509_parser::oid_registry::{OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY};
use x509_parser::prelude::*;

/// A CSR whose signature verified with its own public key, reduced to that key.
#[derive(Clone, Debug)]
pub struct VerifiedCsr {
    /// DER SubjectPublicKeyInfo from the CSR.
    pub spki_der: Vec<u8>,
    /// The raw public key (SEC1 uncompressed point for EC).
    pub public_key: Vec<u8>,
    /// The CSR exactly as received (kept for the log).
    pub raw: Vec<u8>,
}

impl VerifiedCsr {
    /// Parses `der`, verifies its signature and checks the key is ECDSA P-256.
    /// Subject, attributes and requested extensions are ignored on purpose.
    pub fn from_der(der: &[u8]) -> Result<VerifiedCsr, CaError> {
        let (rest, csr) = X509CertificationRequest::from_der(der).map_err(|e| CaError::CsrMalformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(CaError::CsrMalformed("trailing bytes after the CSR".into()));
        }
        let spki = &csr.certification_request_info.subject_pki;
        let alg = &spki.algorithm;
        let curve = alg.parameters.as_ref().and_then(|p| p.as_oid().ok());
        if alg.algorithm != OID_KEY_TYPE_EC_PUBLIC_KEY || curve.as_ref() != Some(&OID_EC_P256) {
            return Err(CaError::CsrAlgorithm(format!(
                "key {} {}",
                alg.algorithm,
                curve.map(|c| c.to_id_string()).unwrap_or_default()
            )));
        }
        let public_key = spki.subject_public_key.data.to_vec();
        if public_key.len() != 65 || public_key[0] != 0x04 {
            return Err(CaError::CsrAlgorithm("P-256 key is not an uncompressed point".into()));
        }
        csr.verify_signature().map_err(|_| CaError::CsrSignature)?;
        Ok(VerifiedCsr { spki_der: spki.raw.to_vec(), public_key, raw: der.to_vec() })
    }
}
