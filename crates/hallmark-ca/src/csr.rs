//! CSR verification: proof of possession and key algorithm, nothing else.

use crate::{CaError, KeyAlgorithm};
use x509_parser::cri_attributes::ParsedCriAttribute;
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_EC_P521, OID_PKCS1_RSAENCRYPTION,
    OID_PKCS9_CHALLENGE_PASSWORD, OID_SIG_ECDSA_WITH_SHA256, OID_SIG_ED25519,
};
use x509_parser::prelude::*;

/// A CSR whose signature verified with its own public key, reduced to that key.
#[derive(Clone, Debug)]
pub struct VerifiedCsr {
    /// DER SubjectPublicKeyInfo from the CSR.
    pub spki_der: Vec<u8>,
    /// The raw public key (SEC1 uncompressed point for EC).
    pub public_key: Vec<u8>,
    /// The key's algorithm.
    pub algorithm: KeyAlgorithm,
    /// The PKCS#9 challengePassword the CSR carries, if any: a station's session
    /// challenge (`docs/protocol.md`, CSR binding). Covered by the CSR's signature.
    pub challenge: Option<String>,
    /// The CSR exactly as received (kept for the log).
    pub raw: Vec<u8>,
}

impl VerifiedCsr {
    /// Parses `der`, verifies its signature and identifies the key (P-256, P-384 or
    /// Ed25519; whether it is allowed is the profile's call). Subject, attributes
    /// and requested extensions are ignored on purpose. One real-world encoding is
    /// accepted: ecdsa-with-SHA256 with NULL parameters (nRF91 modem firmware 1.3.x
    /// and 2.0.x), when the signature verifies; any other signature-algorithm
    /// parameters are refused.
    pub fn from_der(der: &[u8]) -> Result<VerifiedCsr, CaError> {
        let (rest, csr) = X509CertificationRequest::from_der(der).map_err(|e| CaError::CsrMalformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(CaError::CsrMalformed("trailing bytes after the CSR".into()));
        }
        let spki = &csr.certification_request_info.subject_pki;
        let alg = &spki.algorithm;
        let curve = alg.parameters.as_ref().and_then(|p| p.as_oid().ok());
        let public_key = spki.subject_public_key.data.to_vec();
        let (algorithm, key_len) =
            if alg.algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY && curve.as_ref() == Some(&OID_EC_P256) {
                (KeyAlgorithm::P256, 65)
            } else if alg.algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY && curve.as_ref() == Some(&OID_NIST_EC_P384) {
                (KeyAlgorithm::P384, 97)
            } else if alg.algorithm == OID_SIG_ED25519 {
                (KeyAlgorithm::Ed25519, 32)
            } else {
                let words = if alg.algorithm == OID_PKCS1_RSAENCRYPTION {
                    "RSA"
                } else if alg.algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY && curve.as_ref() == Some(&OID_NIST_EC_P521) {
                    "ECDSA P-521"
                } else if alg.algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
                    "ECDSA on an unknown curve"
                } else {
                    "an unknown key type"
                };
                return Err(CaError::CsrKeyUnsupported {
                    words: words.into(),
                    detail: format!(
                        "key algorithm {} {}",
                        alg.algorithm.to_id_string(),
                        curve.map(|c| c.to_id_string()).unwrap_or_default()
                    ),
                });
            };
        let point_ok = algorithm == KeyAlgorithm::Ed25519 || public_key.first() == Some(&0x04);
        if public_key.len() != key_len || !point_ok {
            let words = if matches!(public_key.first(), Some(0x02 | 0x03)) {
                format!("{} as a compressed point", algorithm.words())
            } else {
                format!("{} with a malformed public key", algorithm.words())
            };
            return Err(CaError::CsrKeyUnsupported {
                words,
                detail: format!("public key of {} bytes starting {:02x?}", public_key.len(), public_key.first()),
            });
        }
        check_signature_parameters(&csr.signature_algorithm)?;
        csr.verify_signature().map_err(|_| CaError::CsrSignature)?;
        let mut challenge = None;
        for attribute in csr.certification_request_info.attributes() {
            if attribute.oid != OID_PKCS9_CHALLENGE_PASSWORD {
                continue;
            }
            match attribute.parsed_attribute() {
                ParsedCriAttribute::ChallengePassword(c) if challenge.is_none() => challenge = Some(c.0.clone()),
                _ => return Err(CaError::CsrMalformed("more than one or an unreadable challengePassword".into())),
            }
        }
        Ok(VerifiedCsr { spki_der: spki.raw.to_vec(), public_key, algorithm, challenge, raw: der.to_vec() })
    }
}

/// ECDSA and Ed25519 signature algorithms take no parameters (RFC 5758, RFC 8410).
/// nRF91 modems write an explicit NULL for ecdsa-with-SHA256: that exact quirk is
/// tolerated, nothing looser.
fn check_signature_parameters(algorithm: &AlgorithmIdentifier<'_>) -> Result<(), CaError> {
    let Some(parameters) = &algorithm.parameters else { return Ok(()) };
    let null = parameters.tag() == Tag::Null && parameters.data.is_empty();
    if null && algorithm.algorithm == OID_SIG_ECDSA_WITH_SHA256 {
        return Ok(());
    }
    Err(CaError::CsrMalformed(format!(
        "signature algorithm {} carries parameters (tag {}, {} bytes); only ecdsa-with-SHA256 with NULL is tolerated",
        algorithm.algorithm.to_id_string(),
        parameters.tag().0,
        parameters.data.len()
    )))
}
