//! Minimal self-test: the board signs a fresh station nonce with the key of its newly
//! installed certificate, and the station verifies with the certificate's public key.
//!
//! The device signs the SHA-256 digest of `SELFTEST_CONTEXT || nonce` (53 bytes) with
//! `KeyStore::sign_digest`, whatever its key (`docs/protocol.md` S11). The station
//! picks the verification from the certificate's SubjectPublicKeyInfo:
//!
//! - ECDSA P-256: a DER `ECDSA-Sig-Value` over that digest (ring's
//!   `ECDSA_P256_SHA256_ASN1` over the 53 bytes, which it hashes with SHA-256).
//! - ECDSA P-384: a DER `ECDSA-Sig-Value` over the same 32-byte digest (ring's
//!   `ECDSA_P384_SHA256_ASN1` over the 53 bytes: SHA-256, not SHA-384).
//! - Ed25519: the 64-byte RFC 8032 signature whose message is the 32-byte digest
//!   (Ed25519 hashes its message itself, so the digest is the message it signs).
//!
//! Any other key is refused as unsupported before any signature is looked at.

use hallmark_ca::KeyAlgorithm;
use hallmark_protocol::SELFTEST_CONTEXT;
use ring::signature::{
    UnparsedPublicKey, VerificationAlgorithm, ECDSA_P256_SHA256_ASN1, ECDSA_P384_SHA256_ASN1, ED25519,
};
use sha2::{Digest, Sha256};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_EC_P521, OID_PKCS1_RSAENCRYPTION,
    OID_SIG_ED25519,
};
use x509_parser::prelude::*;

/// Why the possession self-test did not prove the key.
#[derive(Debug, thiserror::Error)]
pub enum PossessionError {
    /// The installed certificate could not be parsed.
    #[error("installed certificate unreadable: {0}")]
    Certificate(String),
    /// The certificate's key is of a type the possession self-test cannot verify.
    #[error("the certificate holds {words}, a key type the possession self-test does not support")]
    KeyUnsupported {
        /// The key in words, with its article ("an RSA key").
        words: &'static str,
        /// The key's algorithm OID and curve, for the log.
        detail: String,
    },
    /// The signature does not verify.
    #[error("the {} signature does not verify with the certificate's public key", .0.words())]
    Signature(KeyAlgorithm),
}

/// Verifies `signature` over `SELFTEST_CONTEXT || nonce` with the key in `cert_der`,
/// by the rule of that key's type (module documentation).
pub fn verify_possession(cert_der: &[u8], nonce: &[u8], signature: &[u8]) -> Result<(), PossessionError> {
    let (_, cert) = parse_x509_certificate(cert_der).map_err(|e| PossessionError::Certificate(e.to_string()))?;
    let spki = cert.public_key();
    let rule = rule(&spki.algorithm)?;
    let message = [SELFTEST_CONTEXT, nonce].concat();
    // ring hashes an ECDSA message with SHA-256 (for both curves); Ed25519 signs its
    // message as is, so there the message is the digest the device signed.
    let signed = if rule.signs_digest { Sha256::digest(&message).to_vec() } else { message };
    UnparsedPublicKey::new(rule.verification, spki.subject_public_key.data.as_ref())
        .verify(&signed, signature)
        .map_err(|_| PossessionError::Signature(rule.key))
}

/// How a signature by one key type is verified.
struct Rule {
    key: KeyAlgorithm,
    verification: &'static dyn VerificationAlgorithm,
    /// ring is given the SHA-256 digest of the 53 bytes rather than the bytes.
    signs_digest: bool,
}

/// The rule for a SubjectPublicKeyInfo's key, or why the possession test cannot verify it.
fn rule(algorithm: &AlgorithmIdentifier<'_>) -> Result<Rule, PossessionError> {
    let curve = algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok());
    let ec = algorithm.algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY;
    if ec && curve.as_ref() == Some(&OID_EC_P256) {
        return Ok(Rule { key: KeyAlgorithm::P256, verification: &ECDSA_P256_SHA256_ASN1, signs_digest: false });
    }
    if ec && curve.as_ref() == Some(&OID_NIST_EC_P384) {
        return Ok(Rule { key: KeyAlgorithm::P384, verification: &ECDSA_P384_SHA256_ASN1, signs_digest: false });
    }
    if algorithm.algorithm == OID_SIG_ED25519 {
        return Ok(Rule { key: KeyAlgorithm::Ed25519, verification: &ED25519, signs_digest: true });
    }
    let words = if algorithm.algorithm == OID_PKCS1_RSAENCRYPTION {
        "an RSA key"
    } else if ec && curve.as_ref() == Some(&OID_NIST_EC_P521) {
        "an ECDSA P-521 key"
    } else if ec {
        "an ECDSA key on an unknown curve"
    } else {
        "a key of an unknown type"
    };
    Err(PossessionError::KeyUnsupported {
        words,
        detail: format!(
            "key algorithm {} {}",
            algorithm.algorithm.to_id_string(),
            curve.map(|c| c.to_id_string()).unwrap_or_default()
        )
        .trim_end()
        .to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failures;
    use hallmark_agent::soft::SoftKeyStore;
    use hallmark_agent::KeyStore;
    use hallmark_protocol::Response;
    use p384::ecdsa::signature::hazmat::PrehashSigner;
    use rand_core::OsRng;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P384_SHA384_ASN1_SIGNING};

    /// A board's key store of one key type, signing as `KeyStore::sign_digest` does.
    enum Device {
        /// The reference agent's own software key store.
        P256(SoftKeyStore),
        P384(p384::ecdsa::SigningKey),
        Ed25519(Ed25519KeyPair),
    }

    impl Device {
        fn new(key: KeyAlgorithm) -> Device {
            match key {
                KeyAlgorithm::P256 => {
                    let mut store = SoftKeyStore::default();
                    store.generate(hallmark_protocol::KeyAlgorithm::EcdsaP256, &mut OsRng).unwrap();
                    Device::P256(store)
                }
                KeyAlgorithm::P384 => Device::P384(p384::ecdsa::SigningKey::random(&mut OsRng)),
                KeyAlgorithm::Ed25519 => {
                    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
                    Device::Ed25519(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap())
                }
                other => panic!("no test device for {other:?}"),
            }
        }

        /// The DER SubjectPublicKeyInfo of the device's key.
        fn spki(&self) -> Vec<u8> {
            match self {
                Device::P256(store) => ec_spki(P256_CURVE, &store.public_key().unwrap()),
                Device::P384(key) => {
                    let point = p384::ecdsa::VerifyingKey::from(key).to_encoded_point(false);
                    ec_spki(P384_CURVE, point.as_bytes())
                }
                Device::Ed25519(key) => spki(&tlv(0x30, &tlv(0x06, &[0x2b, 0x65, 0x70])), key.public_key().as_ref()),
            }
        }

        /// `KeyStore::sign_digest`: the signature over a SHA-256 digest.
        fn sign_digest(&mut self, digest: &[u8; 32]) -> Vec<u8> {
            match self {
                Device::P256(store) => store.sign_digest(digest).unwrap(),
                Device::P384(key) => {
                    let signature: p384::ecdsa::Signature = key.sign_prehash(digest).unwrap();
                    signature.to_der().as_bytes().to_vec()
                }
                Device::Ed25519(key) => key.sign(digest).as_ref().to_vec(),
            }
        }

        /// What the board answers `SelfTest { nonce }` with (`agent.rs` `self_test`),
        /// checked against the protocol's limits as the station's client checks it.
        fn self_test(&mut self, nonce: &[u8; 32]) -> Vec<u8> {
            let digest: [u8; 32] = Sha256::digest([SELFTEST_CONTEXT, nonce].concat()).into();
            let signature = self.sign_digest(&digest);
            let body = Response::SelfTest { signature: signature.clone() }.to_body();
            assert!(Response::from_body(&body).is_ok(), "{} bytes fit SelfTest.signature", signature.len());
            signature
        }
    }

    /// The content bytes of the curve OIDs: prime256v1 (1.2.840.10045.3.1.7) and
    /// secp384r1 (1.3.132.0.34).
    const P256_CURVE: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    const P384_CURVE: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];

    /// A DER TLV with a short or long-form length.
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let len = content.len();
        let mut out = vec![tag];
        match len {
            0..=0x7f => out.push(len as u8),
            0x80..=0xff => out.extend([0x81, len as u8]),
            _ => out.extend([0x82, (len >> 8) as u8, len as u8]),
        }
        out.extend_from_slice(content);
        out
    }

    /// SubjectPublicKeyInfo: an AlgorithmIdentifier (DER) and the key's bits.
    fn spki(algorithm: &[u8], key: &[u8]) -> Vec<u8> {
        tlv(0x30, &[algorithm, &tlv(0x03, &[&[0u8][..], key].concat())].concat())
    }

    /// An id-ecPublicKey SubjectPublicKeyInfo on the curve `curve` (OID content bytes).
    fn ec_spki(curve: &[u8], point: &[u8]) -> Vec<u8> {
        let ec_public_key = tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]);
        spki(&tlv(0x30, &[ec_public_key, tlv(0x06, curve)].concat()), point)
    }

    /// A leaf certificate for the key in `spki_der`, issued by a throwaway CA.
    fn certificate_for(spki_der: &[u8]) -> Vec<u8> {
        let ca =
            rcgen::Issuer::new(rcgen::CertificateParams::new(Vec::new()).unwrap(), rcgen::KeyPair::generate().unwrap());
        let key = rcgen::SubjectPublicKeyInfo::from_der(spki_der).unwrap();
        let mut leaf = rcgen::CertificateParams::new(Vec::new()).unwrap();
        leaf.distinguished_name.push(rcgen::DnType::CommonName, "HM-TEST-0001");
        leaf.signed_by(&key, &ca).unwrap().der().to_vec()
    }

    const KEYS: [KeyAlgorithm; 3] = [KeyAlgorithm::P256, KeyAlgorithm::P384, KeyAlgorithm::Ed25519];

    #[test]
    fn each_key_type_the_ca_certifies_proves_possession_by_the_rule() {
        for key in KEYS {
            let mut device = Device::new(key);
            let certificate = certificate_for(&device.spki());
            for _ in 0..8 {
                let nonce: [u8; 32] = rand::random();
                let signature = device.self_test(&nonce);
                verify_possession(&certificate, &nonce, &signature).unwrap_or_else(|e| panic!("{key:?}: {e}"));
                // Not for another nonce.
                let other: [u8; 32] = rand::random();
                assert!(matches!(
                    verify_possession(&certificate, &other, &signature),
                    Err(PossessionError::Signature(k)) if k == key
                ));
            }
        }
    }

    #[test]
    fn a_signature_by_another_key_fails_as_wrong_key_and_names_the_key_type() {
        for key in KEYS {
            let certificate = certificate_for(&Device::new(key).spki());
            for signer in KEYS {
                let nonce: [u8; 32] = rand::random();
                let signature = Device::new(signer).self_test(&nonce);
                let why = verify_possession(&certificate, &nonce, &signature).expect_err("another key");
                assert!(matches!(why, PossessionError::Signature(k) if k == key), "{key:?} by {signer:?}: {why:?}");
                let failure = failures::possession(why);
                assert_eq!(failure.code.as_str(), "SELFTEST_FAILED");
                assert_eq!(failure.reason.as_deref(), Some("wrong-key"));
                assert!(failure.what.contains(key.words()), "{}", failure.what);
            }
        }
    }

    #[test]
    fn signing_anything_but_the_sha256_digest_fails() {
        let nonce: [u8; 32] = rand::random();
        let message = [SELFTEST_CONTEXT, &nonce].concat();
        // P-384 over SHA-384 of the 53 bytes (what ring's own P-384 signer does).
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_ASN1_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        let certificate = certificate_for(&ec_spki(P384_CURVE, key.public_key().as_ref()));
        let sha384 = key.sign(&rng, &message).unwrap();
        assert!(matches!(
            verify_possession(&certificate, &nonce, sha384.as_ref()),
            Err(PossessionError::Signature(KeyAlgorithm::P384))
        ));
        // Ed25519 over the 53 bytes themselves rather than their digest.
        let mut device = Device::new(KeyAlgorithm::Ed25519);
        let certificate = certificate_for(&device.spki());
        let Device::Ed25519(key) = &device else { unreachable!() };
        let raw = key.sign(&message);
        assert!(matches!(
            verify_possession(&certificate, &nonce, raw.as_ref()),
            Err(PossessionError::Signature(KeyAlgorithm::Ed25519))
        ));
        assert!(verify_possession(&certificate, &nonce, &device.self_test(&nonce)).is_ok());
    }

    #[test]
    fn a_key_the_test_cannot_verify_fails_cleanly_as_unsupported() {
        // A certificate for an RSA key (the bits need not be a usable key: the test
        // stops at the key type, before any signature is looked at).
        let rsa_key = tlv(0x30, &[tlv(0x02, &[&[0u8][..], &[0xc5; 256]].concat()), tlv(0x02, &[1, 0, 1])].concat());
        let rsa_encryption = tlv(0x06, &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]);
        let certificate = certificate_for(&spki(&tlv(0x30, &[rsa_encryption, vec![0x05, 0x00]].concat()), &rsa_key));
        let nonce: [u8; 32] = rand::random();
        let signature = Device::new(KeyAlgorithm::P256).self_test(&nonce);
        let why = verify_possession(&certificate, &nonce, &signature).expect_err("RSA is not verified");
        assert!(matches!(&why, PossessionError::KeyUnsupported { words: "an RSA key", .. }), "{why:?}");
        let failure = failures::possession(why);
        assert_eq!(failure.code.as_str(), "SELFTEST_FAILED");
        assert_eq!(failure.reason.as_deref(), Some("key-unsupported"));
        assert!(failure.what.contains("an RSA key") && failure.what.ends_with('.'), "{}", failure.what);
        assert!(!failure.message.contains("1.2.840"), "the OID is detail: {}", failure.message);
        assert!(failure.detail.as_deref().unwrap_or_default().contains("1.2.840.113549.1.1.1"), "{failure:?}");

        // Other key types, as the certificate's SubjectPublicKeyInfo names them.
        for (curve_or_type, words) in [
            (Some(&[0x2b, 0x81, 0x04, 0x00, 0x23][..]), "an ECDSA P-521 key"),
            (Some(&[0x2b, 0x81, 0x04, 0x00, 0x0a][..]), "an ECDSA key on an unknown curve"),
            (None, "a key of an unknown type"),
        ] {
            let der = match curve_or_type {
                Some(curve) => ec_spki(curve, &[0x04; 133]),
                // Ed448 (1.3.101.113).
                None => spki(&tlv(0x30, &tlv(0x06, &[0x2b, 0x65, 0x71])), &[0; 57]),
            };
            let (_, parsed) = SubjectPublicKeyInfo::from_der(&der).unwrap();
            match rule(&parsed.algorithm) {
                Err(PossessionError::KeyUnsupported { words: w, detail }) => {
                    assert_eq!(w, words);
                    assert!(detail.starts_with("key algorithm 1."), "{detail}");
                }
                Err(other) => panic!("{words}: {other:?}"),
                Ok(rule) => panic!("{words}: verified as {:?}", rule.key),
            }
        }
    }

    #[test]
    fn an_unreadable_certificate_fails_with_the_parser_text_as_detail() {
        let why = verify_possession(b"not a certificate", &[0; 32], &[0; 64]).expect_err("unreadable");
        assert!(matches!(why, PossessionError::Certificate(_)));
        let failure = failures::possession(why);
        assert_eq!(failure.reason.as_deref(), Some("wrong-key"));
        assert!(failure.detail.is_some() && failure.what.ends_with('.'), "{failure:?}");
    }
}
