//! CA tests with independent checks: x509-parser here, openssl in the e2e tests.

use ::time::OffsetDateTime;
use hallmark_ca::{CaError, CaStore, LeafProfile, Passphrase, VerifiedCsr};
use rcgen::{CertificateParams, KeyPair};
use x509_parser::prelude::*;

fn pass() -> Passphrase {
    Passphrase::for_new_ca("correct horse battery".into()).unwrap()
}

/// A CSR from rcgen that asks for CA:true and a SAN: both must be ignored.
fn greedy_csr() -> (Vec<u8>, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["evil.example".to_string()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let csr = params.serialize_request(&key).unwrap();
    (csr.der().to_vec(), key)
}

#[test]
fn weak_passphrase_is_refused() {
    assert!(matches!(Passphrase::for_new_ca("short".into()), Err(CaError::WeakPassphrase { .. })));
}

#[test]
fn creates_unlocks_and_refuses_wrong_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let store = CaStore::new(dir.path().join("ca"));
    let ca = store.create(&pass(), OffsetDateTime::now_utc()).unwrap();
    let key_pem = std::fs::read_to_string(dir.path().join("ca/issuing.key.pem")).unwrap();
    assert!(key_pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"), "key must be encrypted at rest");
    let again = store.unlock(&Passphrase::for_unlock("correct horse battery".into())).unwrap();
    assert_eq!(ca.chain_der(), again.chain_der());
    let wrong = store.unlock(&Passphrase::for_unlock("wrong horse battery".into()));
    assert!(matches!(wrong, Err(CaError::Unlock { .. })));
    std::fs::remove_file(dir.path().join("ca/root.crt.pem")).unwrap();
    assert!(matches!(store.unlock(&pass()), Err(CaError::Incomplete { .. })));
}

#[test]
fn leaf_has_station_profile_and_ignores_csr_requests() {
    let dir = tempfile::tempdir().unwrap();
    let ca = CaStore::new(dir.path()).create(&pass(), OffsetDateTime::now_utc()).unwrap();
    let (csr_der, key) = greedy_csr();
    let csr = VerifiedCsr::from_der(&csr_der).unwrap();
    let issued = ca.issue("HM-0001", &csr, &LeafProfile::default(), OffsetDateTime::now_utc()).unwrap();
    let (_, cert) = parse_x509_certificate(&issued.der).unwrap();
    assert_eq!(cert.subject().iter_common_name().next().unwrap().as_str().unwrap(), "HM-0001");
    assert_eq!(cert.public_key().subject_public_key.data.as_ref(), key.public_key_raw());
    let bc = cert.basic_constraints().unwrap().expect("basicConstraints present");
    assert!(!bc.value.ca, "CSR asked for CA:true; the leaf must say CA:false");
    assert!(cert.subject_alternative_name().unwrap().is_none(), "SAN from the CSR must not be copied");
    let ku = cert.key_usage().unwrap().unwrap().value;
    assert!(ku.digital_signature() && !ku.key_cert_sign());
    assert!(cert.extended_key_usage().unwrap().unwrap().value.client_auth);
    assert_eq!(cert.raw_serial().len(), 16);
    assert!(cert.raw_serial()[0] < 0x80);
    let has = |oid| cert.extensions().iter().any(|e| e.oid == oid);
    assert!(has(x509_parser::oid_registry::OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER));
    assert!(has(x509_parser::oid_registry::OID_X509_EXT_SUBJECT_KEY_IDENTIFIER));
    // Two issuances for the same key get different serials.
    let again = ca.issue("HM-0001", &csr, &LeafProfile::default(), OffsetDateTime::now_utc()).unwrap();
    assert_ne!(issued.serial_hex, again.serial_hex);
}

#[test]
fn csr_with_bad_signature_or_wrong_algorithm_is_rejected() {
    let (mut der, _) = greedy_csr();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    assert!(matches!(VerifiedCsr::from_der(&der), Err(CaError::CsrSignature)));
    assert!(matches!(VerifiedCsr::from_der(b"garbage"), Err(CaError::CsrMalformed(_))));
    let ed = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let csr = CertificateParams::new(vec![]).unwrap().serialize_request(&ed).unwrap();
    assert!(matches!(VerifiedCsr::from_der(csr.der()), Err(CaError::CsrAlgorithm(_))));
}
