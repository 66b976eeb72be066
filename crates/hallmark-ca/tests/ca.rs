//! CA tests with independent checks: x509-parser here, openssl in the e2e tests.

use ::time::OffsetDateTime;
use hallmark_ca::{CaError, CaStore, Device, KeyAlgorithm, LeafProfile, Passphrase, Validity, VerifiedCsr};
use rcgen::{CertificateParams, KeyPair};
use x509_parser::prelude::*;

fn pass() -> Passphrase {
    Passphrase::for_new_ca("correct horse battery".into()).unwrap()
}

fn dev() -> Device<'static> {
    Device { uid: "HM-0001", hardware_id: "DEADBEEF01020304" }
}

/// A CSR from rcgen that asks for CA:true, a SAN, extra EKUs and another CN: all
/// must be ignored.
fn greedy_csr() -> (Vec<u8>, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["evil.example".to_string()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.extended_key_usages =
        vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth, rcgen::ExtendedKeyUsagePurpose::CodeSigning];
    params.distinguished_name.push(rcgen::DnType::CommonName, "admin");
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
    let issued = ca.issue(dev(), &csr, &LeafProfile::default(), OffsetDateTime::now_utc()).unwrap();
    let (_, cert) = parse_x509_certificate(&issued.der).unwrap();
    assert_eq!(cert.subject().iter_common_name().next().unwrap().as_str().unwrap(), "HM-0001");
    assert_eq!(cert.public_key().subject_public_key.data.as_ref(), key.public_key_raw());
    let bc = cert.basic_constraints().unwrap().expect("basicConstraints present");
    assert!(!bc.value.ca, "CSR asked for CA:true; the leaf must say CA:false");
    assert!(cert.subject_alternative_name().unwrap().is_none(), "SAN from the CSR must not be copied");
    let ku = cert.key_usage().unwrap().unwrap().value;
    assert!(ku.digital_signature() && !ku.key_cert_sign());
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.client_auth && !eku.server_auth && !eku.code_signing, "only clientAuth");
    assert_eq!(cert.subject().iter_common_name().count(), 1, "one CN, the UID");
    assert_eq!(cert.raw_serial().len(), 16);
    assert!(cert.raw_serial()[0] < 0x80);
    let has = |oid| cert.extensions().iter().any(|e| e.oid == oid);
    assert!(has(x509_parser::oid_registry::OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER));
    assert!(has(x509_parser::oid_registry::OID_X509_EXT_SUBJECT_KEY_IDENTIFIER));
    // Two issuances for the same key get different serials.
    let again = ca.issue(dev(), &csr, &LeafProfile::default(), OffsetDateTime::now_utc()).unwrap();
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
    let ed = VerifiedCsr::from_der(csr.der()).unwrap();
    assert_eq!(ed.algorithm, KeyAlgorithm::Ed25519);
    let (_dir, ca) = new_ca();
    let refused = ca.issue(dev(), &ed, &LeafProfile::default(), OffsetDateTime::now_utc());
    assert!(matches!(refused, Err(CaError::CsrAlgorithm(_))), "Ed25519 only when the profile allows it");
}

fn new_ca() -> (tempfile::TempDir, hallmark_ca::IssuingCa) {
    let dir = tempfile::tempdir().unwrap();
    let ca = CaStore::new(dir.path()).create(&pass(), OffsetDateTime::now_utc()).unwrap();
    (dir, ca)
}

#[test]
fn profile_options_reach_the_certificate() {
    let (_dir, ca) = new_ca();
    let (der, _) = greedy_csr();
    let csr = VerifiedCsr::from_der(&der).unwrap();
    let profile = LeafProfile {
        validity: Validity::NoExpiry,
        san_uri: Some("urn:dev:hm:{uid}".into()),
        san_dns: Some("{uid}.devices.example.com".into()),
        crl_url: Some("http://pki.example.com/hm.crl".into()),
        ca_issuers_url: Some("http://pki.example.com/issuing.crt".into()),
        organization: Some("Example GmbH".into()),
        organizational_unit: Some("Devices".into()),
        subject_serial_number: Some("{hardware_id}".into()),
        ..LeafProfile::default()
    };
    let issued = ca.issue(dev(), &csr, &profile, OffsetDateTime::now_utc()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.pem");
    std::fs::write(&path, &issued.pem).unwrap();
    let out =
        std::process::Command::new("openssl").args(["x509", "-noout", "-text", "-in"]).arg(&path).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "Not After : Dec 31 23:59:59 9999 GMT",
        "URI:urn:dev:hm:HM-0001",
        "DNS:HM-0001.devices.example.com",
        "URI:http://pki.example.com/hm.crl",
        "CA Issuers - URI:http://pki.example.com/issuing.crt",
        "O = Example GmbH, OU = Devices, serialNumber = DEADBEEF01020304, CN = HM-0001",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    assert!(!text.contains("evil.example"));
}

#[test]
fn key_algorithms_follow_the_profile() {
    let (_dir, ca) = new_ca();
    let p384 = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let der = CertificateParams::new(vec![]).unwrap().serialize_request(&p384).unwrap().der().to_vec();
    let csr = VerifiedCsr::from_der(&der).unwrap();
    assert_eq!(csr.algorithm, KeyAlgorithm::P384);
    let refused = ca.issue(dev(), &csr, &LeafProfile::default(), OffsetDateTime::now_utc());
    assert!(matches!(refused, Err(CaError::CsrAlgorithm(_))), "P-384 is not allowed by default");
    let allowed =
        LeafProfile { key_algorithms: vec![KeyAlgorithm::P256, KeyAlgorithm::P384], ..LeafProfile::default() };
    assert!(ca.issue(dev(), &csr, &allowed, OffsetDateTime::now_utc()).is_ok());
}

/// `der` with its outer signature algorithm (ecdsa-with-SHA256, no parameters)
/// replaced by `replacement`. The signature covers only the request info, so it
/// still verifies.
fn with_signature_algorithm(der: &[u8], replacement: &[u8]) -> Vec<u8> {
    let plain: &[u8] = &[0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02];
    let at = der.windows(plain.len()).rposition(|w| w == plain).unwrap();
    let mut body = der[4..].to_vec(); // strip the outer SEQUENCE header (length < 64 KiB: 30 82 xx xx)
    assert_eq!(&der[..2], &[0x30, 0x82]);
    let at_body = at - 4;
    body.splice(at_body..at_body + plain.len(), replacement.iter().copied());
    let mut out = vec![0x30, 0x82, (body.len() >> 8) as u8, body.len() as u8];
    out.extend(body);
    out
}

#[test]
fn ecdsa_signature_algorithm_with_null_parameters_is_accepted() {
    // nRF91 modems encode ecdsa-with-SHA256 with explicit NULL parameters.
    let (der, key) = greedy_csr();
    let with_null: &[u8] = &[0x30, 0x0C, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02, 0x05, 0x00];
    let nrf = with_signature_algorithm(&der, with_null);
    let csr = VerifiedCsr::from_der(&nrf).expect("NULL parameters are tolerated when the signature verifies");
    assert_eq!(csr.public_key, key.public_key_raw());
}

#[test]
fn signature_algorithm_parameters_other_than_null_are_refused() {
    let (der, _) = greedy_csr();
    // INTEGER 0 where nothing (or NULL) belongs.
    let integer: &[u8] = &[0x30, 0x0D, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02, 0x02, 0x01, 0x00];
    match VerifiedCsr::from_der(&with_signature_algorithm(&der, integer)) {
        Err(CaError::CsrMalformed(why)) => assert!(why.contains("carries parameters"), "{why}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // NULL with a non-empty body is not NULL.
    let fat_null: &[u8] = &[0x30, 0x0D, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02, 0x05, 0x01, 0x00];
    assert!(VerifiedCsr::from_der(&with_signature_algorithm(&der, fat_null)).is_err());
}

#[test]
fn a_csr_from_a_real_nrf91_modem_verifies_and_is_certified() {
    use base64::Engine as _;
    // `fixtures/README.md`: an AT%KEYGEN answer from a real modem, published by Nordic.
    let keygen = include_str!("fixtures/nrf91-keygen.txt").trim();
    let (csr_b64, _attestation) = keygen.split_once('.').expect("CSR.COSE");
    let der = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(csr_b64).expect("base64url");
    let csr = VerifiedCsr::from_der(&der).expect("the modem's NULL-parameter CSR verifies");
    assert_eq!(csr.algorithm, KeyAlgorithm::P256);
    let (_dir, ca) = new_ca();
    let device = Device { uid: "50363154-3931-44f0-8022-121b6401627d", hardware_id: "352656100000000" };
    let cert = ca.issue(device, &csr, &LeafProfile::default(), OffsetDateTime::now_utc()).expect("issued");
    let (_, parsed) = X509Certificate::from_der(&cert.der).expect("certificate parses");
    assert_eq!(parsed.public_key().subject_public_key.data.as_ref(), csr.public_key.as_slice());
    let cn = parsed.subject().iter_common_name().next().and_then(|c| c.as_str().ok());
    assert_eq!(cn, Some("50363154-3931-44f0-8022-121b6401627d"));
}

#[test]
fn tampered_csrs_are_refused() {
    let (der, _) = greedy_csr();
    // Swap in another key: the signature no longer verifies.
    let other = KeyPair::generate().unwrap();
    let original = VerifiedCsr::from_der(&der).unwrap();
    let at = der.windows(65).position(|w| w == original.public_key.as_slice()).unwrap();
    let mut swapped = der.clone();
    swapped[at..at + 65].copy_from_slice(other.public_key_raw());
    assert!(matches!(VerifiedCsr::from_der(&swapped), Err(CaError::CsrSignature)));
    // Edit the subject ("admin" -> "admiN").
    let at = der.windows(5).position(|w| w == b"admin").unwrap();
    let mut edited = der.clone();
    edited[at + 4] = b'N';
    assert!(matches!(VerifiedCsr::from_der(&edited), Err(CaError::CsrSignature)));
}

#[test]
fn expired_issuing_ca_issues_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let long_ago = OffsetDateTime::now_utc() - ::time::Duration::days(21 * 365);
    let ca = CaStore::new(dir.path()).create(&pass(), long_ago).unwrap();
    let (der, _) = greedy_csr();
    let csr = VerifiedCsr::from_der(&der).unwrap();
    let err = ca.issue(dev(), &csr, &LeafProfile::default(), OffsetDateTime::now_utc()).unwrap_err();
    assert!(matches!(err, CaError::Expired { .. }), "{err}");
    assert!(err.to_string().contains("renewed"));
}

/// A CSR made by openssl (an independent implementation) for a new key of `key`
/// ("rsa:2048", or an EC curve name) with, optionally, a challengePassword attribute.
fn openssl_csr(key: &str, challenge: Option<&str>) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl").current_dir(dir.path()).args(args).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let newkey = match key.strip_prefix("rsa:") {
        Some(_) => key.to_string(),
        None => {
            openssl(&["ecparam", "-name", key, "-out", "params.pem"]);
            "ec:params.pem".to_string()
        }
    };
    let attributes = match challenge {
        Some(c) => format!("attributes = attrs\n[attrs]\nchallengePassword = {c}\n"),
        None => String::new(),
    };
    let conf = format!("[req]\nprompt = no\ndistinguished_name = dn\n{attributes}[dn]\nCN = device\n");
    std::fs::write(dir.path().join("req.cnf"), conf).unwrap();
    openssl(&[
        "req", "-new", "-newkey", &newkey, "-nodes", "-keyout", "key.pem", "-config", "req.cnf", "-outform", "DER",
        "-out", "req.der",
    ]);
    std::fs::read(dir.path().join("req.der")).unwrap()
}

#[test]
fn the_session_challenge_in_a_csr_is_read_and_covered_by_its_signature() {
    let challenge = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    assert_eq!(VerifiedCsr::from_der(&openssl_csr("prime256v1", None)).unwrap().challenge, None);
    let der = openssl_csr("prime256v1", Some(challenge));
    let csr = VerifiedCsr::from_der(&der).unwrap();
    assert_eq!(csr.challenge.as_deref(), Some(challenge));
    // Editing the challenge breaks the signature: it cannot be swapped into a recorded CSR.
    let at = der.windows(challenge.len()).position(|w| w == challenge.as_bytes()).unwrap();
    let mut edited = der.clone();
    edited[at] = b'f';
    assert!(matches!(VerifiedCsr::from_der(&edited), Err(CaError::CsrSignature)));
}

#[test]
fn keys_the_ca_cannot_certify_are_named_in_words() {
    for (key, words, oid) in [("rsa:2048", "RSA", "1.2.840.113549"), ("secp521r1", "ECDSA P-521", "1.3.132.0.35")] {
        match VerifiedCsr::from_der(&openssl_csr(key, None)) {
            Err(CaError::CsrKeyUnsupported { words: w, detail }) => {
                assert_eq!(w, words);
                assert!(detail.contains(oid), "the OID stays in the detail: {detail}");
                let shown = CaError::CsrKeyUnsupported { words: w, detail }.to_string();
                assert!(!shown.contains("1.2.840") && !shown.contains("1.3.132"), "{shown}");
            }
            other => panic!("{key}: {other:?}"),
        }
    }
}

#[test]
fn a_fleet_root_signs_a_station_request_and_the_station_issues_under_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = CaStore::new(dir.path().join("root"));
    root.create(&pass(), OffsetDateTime::now_utc()).unwrap();
    let station = CaStore::new(dir.path().join("bench-a"));
    let request = station.request_issuing("Hallmark Issuing CA bench-a", &pass(), None).unwrap();
    assert!(request.starts_with("-----BEGIN CERTIFICATE REQUEST-----"), "{request}");
    assert_eq!(station.pending_request().as_deref(), Some(request.as_str()));
    let e = station.unlock(&pass()).err().expect("no certificate yet");
    assert!(matches!(e, CaError::AwaitingCertificate { .. }), "{e}");
    assert!(e.to_string().contains("hallmark ca sign-station"), "{e}");
    assert!(station.request_issuing("again", &pass(), None).is_err(), "one request per station CA");

    let signed = root.sign_station(&request, &pass(), 3650, OffsetDateTime::now_utc()).unwrap();
    assert_eq!(signed.name, "Hallmark Issuing CA bench-a");
    let (_, pem) = x509_parser::pem::parse_x509_pem(signed.cert_pem.as_bytes()).unwrap();
    let cert = pem.parse_x509().unwrap();
    let bc = cert.basic_constraints().unwrap().unwrap().value;
    assert!(bc.ca && bc.path_len_constraint == Some(0), "{bc:?}");
    let ku = cert.key_usage().unwrap().unwrap().value;
    assert!(ku.key_cert_sign() && ku.crl_sign() && !ku.digital_signature(), "{ku:?}");
    assert_eq!(cert.subject().iter_common_name().next().unwrap().as_str().unwrap(), "Hallmark Issuing CA bench-a");

    // Another station's certificate does not fit this station's key.
    let other = CaStore::new(dir.path().join("bench-b"));
    let other_request = other.request_issuing("Hallmark Issuing CA bench-b", &pass(), None).unwrap();
    let other_signed = root.sign_station(&other_request, &pass(), 3650, OffsetDateTime::now_utc()).unwrap();
    let e = station
        .import(&other_signed.cert_pem, &other_signed.chain_pem, hallmark_ca::import::ImportKey::Pending, &pass())
        .unwrap_err();
    assert!(e.to_string().contains("not for the key this station generated"), "{e}");

    station.import(&signed.cert_pem, &signed.chain_pem, hallmark_ca::import::ImportKey::Pending, &pass()).unwrap();
    assert_eq!(station.pending_request(), None);
    let ca = station.unlock(&pass()).unwrap();
    let (csr_der, _) = greedy_csr();
    let csr = VerifiedCsr::from_der(&csr_der).unwrap();
    let leaf = ca.issue(dev(), &csr, &LeafProfile::default(), OffsetDateTime::now_utc()).unwrap();
    // leaf ← station issuing CA ← fleet root.
    let (_, leaf) = X509Certificate::from_der(&leaf.der).unwrap();
    leaf.verify_signature(Some(cert.public_key())).expect("the leaf is signed by the station's issuing CA");
    let (_, fleet_root) = X509Certificate::from_der(ca.root_der()).unwrap();
    cert.verify_signature(Some(fleet_root.public_key())).expect("the issuing CA is signed by the fleet root");
    assert_eq!(ca.root_der(), root.certificates().unwrap().0.as_slice(), "the station's root is the fleet root");
}

#[test]
fn sign_station_refuses_what_is_not_a_fit_request_and_needs_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = CaStore::new(dir.path().join("root"));
    root.create(&pass(), OffsetDateTime::now_utc()).unwrap();
    let station = CaStore::new(dir.path().join("bench-a"));
    let request = station.request_issuing("Hallmark Issuing CA bench-a", &pass(), None).unwrap();
    let sign = |pem: &str| root.sign_station(pem, &pass(), 365, OffsetDateTime::now_utc());
    // Not a request; a request whose signature is broken; a request without a name.
    let e = sign(&std::fs::read_to_string(dir.path().join("root/root.crt.pem")).unwrap()).unwrap_err();
    assert!(e.to_string().contains("not a CERTIFICATE REQUEST"), "{e}");
    let (_, pem) = x509_parser::pem::parse_x509_pem(request.as_bytes()).unwrap();
    let mut der = pem.contents.clone();
    let last = der.len() - 3;
    der[last] ^= 0x55;
    let broken = hallmark_ca::pem_encode("CERTIFICATE REQUEST", &der);
    assert!(matches!(sign(&broken), Err(CaError::CsrSignature | CaError::CsrMalformed(_))), "a broken signature");
    let mut no_name = CertificateParams::default();
    no_name.distinguished_name = rcgen::DistinguishedName::new();
    let nameless = no_name.serialize_request(&KeyPair::generate().unwrap()).unwrap().pem().unwrap();
    assert!(sign(&nameless).unwrap_err().to_string().contains("common name"));
    // A station without the root cannot sign; a wrong root passphrase unlocks nothing.
    let e = station.sign_station(&request, &pass(), 365, OffsetDateTime::now_utc()).unwrap_err();
    assert!(e.to_string().contains("holds no fleet root"), "{e}");
    let wrong = Passphrase::for_new_ca("a wrong horse battery".into()).unwrap();
    assert!(matches!(root.sign_station(&request, &wrong, 365, OffsetDateTime::now_utc()), Err(CaError::Unlock { .. })));
    // Validity is capped at the root's end.
    let long = root.sign_station(&request, &pass(), 100 * 365, OffsetDateTime::now_utc()).unwrap();
    assert!(long.not_after <= OffsetDateTime::now_utc() + ::time::Duration::days(30 * 365 + 1));
}

/// Evidence signed by the station verifies in openssl with only the root, and a
/// one-byte edit of the content fails.
#[test]
fn evidence_signature_verifies_in_openssl_with_only_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let ca = CaStore::new(dir.path().join("ca")).create(&pass(), OffsetDateTime::now_utc()).unwrap();
    let signer = ca.evidence_signer("bench-1", OffsetDateTime::now_utc()).unwrap();
    let (_, cert) = X509Certificate::from_der(signer.certificate_der()).unwrap();
    assert!(cert.subject().to_string().contains("Hallmark evidence signer bench-1"));
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.email_protection && !eku.client_auth && !eku.server_auth, "a signer must not pass for a device");
    assert!(!cert.is_ca());

    let content = br#"{"uid":"HM-0001"}"#.to_vec();
    let p7s = signer.sign_detached(&content, OffsetDateTime::now_utc()).unwrap();
    std::fs::write(dir.path().join("e.json"), &content).unwrap();
    std::fs::write(dir.path().join("e.json.p7s"), &p7s).unwrap();
    std::fs::write(dir.path().join("root.pem"), hallmark_ca::pem_cert(ca.root_der())).unwrap();
    let verify = |content: &str| {
        std::process::Command::new("openssl")
            .current_dir(dir.path())
            .args(["cms", "-verify", "-binary", "-inform", "DER", "-in", "e.json.p7s", "-content", content])
            .args(["-CAfile", "root.pem", "-out", "/dev/null"])
            .output()
            .unwrap()
    };
    let out = verify("e.json");
    assert!(out.status.success(), "openssl refused the evidence: {}", String::from_utf8_lossy(&out.stderr));
    let mut edited = content.clone();
    edited[9] ^= 0x01;
    std::fs::write(dir.path().join("edited.json"), &edited).unwrap();
    assert!(!verify("edited.json").status.success(), "openssl accepted edited evidence");
}
