//! Drives the agent through a whole session with the software key store.

use hallmark_agent::soft::{MemoryCertStore, SoftKeyStore};
use hallmark_agent::{Agent, CarriedObjects, CertStore, DeviceDescription, KeyStore, LinkCapacity, StorageError};
use hallmark_protocol::der::{self, tlv};
use hallmark_protocol::{
    capability, chunk_limit, ErrorCode, Frame, FrameDecoder, KeyAlgorithm, ObjectId, Request, Response, MAX_FRAME,
    MAX_LINK_FRAME,
};
use p256::ecdsa::{signature::hazmat::PrehashVerifier, DerSignature, VerifyingKey};
use rand_core::{CryptoRngCore, OsRng};
use sha2::{Digest, Sha256};

type TestAgent = Agent<SoftKeyStore, MemoryCertStore, OsRng>;

fn description() -> DeviceDescription {
    DeviceDescription {
        hardware_id: vec![0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3, 4],
        model: "HM-TEST".into(),
        firmware_version: "1.0.0".into(),
    }
}

fn agent() -> TestAgent {
    Agent::new(description(), SoftKeyStore::default(), MemoryCertStore::default(), OsRng)
}

/// DER of AlgorithmIdentifier { id-ecPublicKey, prime256v1 }.
const ALG_EC_P256: &[u8] = &[
    0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03,
    0x01, 0x07,
];
/// DER of AlgorithmIdentifier { ecdsa-with-SHA256 }.
const ALG_ECDSA_SHA256: &[u8] = &[0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02];

/// An X.509 v3 certificate (shape only: the agent does not verify the signature) whose
/// SubjectPublicKeyInfo holds `subject_key`; `in_extension` goes into an extension.
fn certificate(subject_key: &[u8], in_extension: Option<&[u8]>) -> Vec<u8> {
    let name = |cn: &[u8]| {
        let atv = tlv(der::SEQUENCE, &der::concat(&[&[0x06, 0x03, 0x55, 0x04, 0x03], &tlv(der::UTF8_STRING, cn)]));
        tlv(der::SEQUENCE, &tlv(der::SET, &atv))
    };
    let validity = tlv(der::SEQUENCE, &der::concat(&[&tlv(0x17, b"261203000000Z"), &tlv(0x17, b"361203000000Z")]));
    let spki = tlv(der::SEQUENCE, &der::concat(&[ALG_EC_P256, &der::bit_string(subject_key)]));
    let mut tbs = der::concat(&[
        &tlv(der::CONTEXT_0_CONSTRUCTED, &tlv(der::INTEGER, &[2])),
        &tlv(der::INTEGER, &[0x01, 0x23, 0x45]),
        ALG_ECDSA_SHA256,
        &name(b"Hallmark Issuing CA"),
        &validity,
        &name(b"DEADBEEF01020304"),
        &spki,
    ]);
    if let Some(extra) = in_extension {
        // Extension { extnID 1.2.3.4, extnValue OCTET STRING { BIT STRING { extra } } }
        let extension =
            tlv(der::SEQUENCE, &der::concat(&[&[0x06, 0x03, 0x2A, 0x03, 0x04], &tlv(0x04, &der::bit_string(extra))]));
        tbs.extend(tlv(der::CONTEXT_3_CONSTRUCTED, &tlv(der::SEQUENCE, &extension)));
    }
    tlv(der::SEQUENCE, &der::concat(&[&tlv(der::SEQUENCE, &tbs), ALG_ECDSA_SHA256, &der::bit_string(&[0x30; 71])]))
}

/// Writes certificate, chain and trust anchor in 512-byte chunks from offset 0 (as the
/// station does), then commits them.
fn install(a: &mut TestAgent, id: &mut u16, cert: &[u8], chain: &[u8], anchor: &[u8]) -> Response {
    for (object, data) in [(ObjectId::Certificate, cert), (ObjectId::Chain, chain), (ObjectId::TrustAnchor, anchor)] {
        // An empty object is one empty chunk.
        let chunks: Vec<&[u8]> = if data.is_empty() { vec![data] } else { data.chunks(512).collect() };
        for (i, chunk) in chunks.into_iter().enumerate() {
            *id += 1;
            let r = call(
                a,
                *id,
                &Request::WriteObject {
                    object,
                    offset: (i * 512) as u32,
                    total_len: data.len() as u32,
                    data: chunk.to_vec(),
                },
            );
            assert!(matches!(r, Response::Written { .. }), "{r:?}");
        }
    }
    let h = |b: &[u8]| -> [u8; 32] { Sha256::digest(b).into() };
    *id += 1;
    call(
        a,
        *id,
        &Request::CommitInstall { certificate_sha256: h(cert), chain_sha256: h(chain), trust_anchor_sha256: h(anchor) },
    )
}

/// A fresh agent in a session with a new key; returns it and its public key.
fn agent_with_key() -> (TestAgent, Vec<u8>) {
    let mut a = agent();
    call(&mut a, 1, &Request::Hello { min_version: 1, max_version: 1 });
    let Response::KeyGenerated { public_key, .. } =
        call(&mut a, 2, &Request::GenerateKey { algorithm: KeyAlgorithm::EcdsaP256 })
    else {
        panic!("no key")
    };
    (a, public_key)
}

fn call<K: KeyStore, C: CertStore, R: CryptoRngCore>(agent: &mut Agent<K, C, R>, id: u16, req: &Request) -> Response {
    let frame = Frame { version: 1, request_id: id, body: req.to_body() };
    let wire = agent.handle_frame(&frame);
    // As large as any link may agree on; the tests of larger frames check sizes themselves.
    let mut dec = FrameDecoder::with_limit(MAX_LINK_FRAME);
    let got = wire.iter().find_map(|&b| dec.push(b)).expect("one frame").expect("valid frame");
    assert_eq!(got.request_id, id);
    Response::from_body_within(&got.body, chunk_limit(MAX_LINK_FRAME)).expect("valid response")
}

fn read_all<K: KeyStore, C: CertStore, R: CryptoRngCore>(
    agent: &mut Agent<K, C, R>,
    id: &mut u16,
    object: ObjectId,
) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        *id += 1;
        match call(agent, *id, &Request::ReadObject { object, offset: out.len() as u32 }) {
            Response::Chunk { total_len, data, .. } => {
                out.extend(data);
                if out.len() as u32 >= total_len {
                    return out;
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn refuses_work_before_hello() {
    let mut a = agent();
    let r = call(&mut a, 1, &Request::GenerateKey { algorithm: KeyAlgorithm::EcdsaP256 });
    assert!(matches!(r, Response::Error { code: ErrorCode::BAD_STATE, .. }));
}

#[test]
fn negotiates_version_or_refuses() {
    let mut a = agent();
    let r = call(&mut a, 1, &Request::Hello { min_version: 2, max_version: 5 });
    assert!(matches!(r, Response::Error { code: ErrorCode::UNSUPPORTED_VERSION, .. }));
    match call(&mut a, 2, &Request::Hello { min_version: 1, max_version: 9 }) {
        Response::Hello(info) => {
            assert_eq!(info.protocol_version, 1);
            assert!(!info.has_key && !info.has_certificate);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn csr_verifies_and_self_test_signs_with_the_device_key() {
    let mut a = agent();
    call(&mut a, 1, &Request::Hello { min_version: 1, max_version: 1 });
    let Response::KeyGenerated { public_key, .. } =
        call(&mut a, 2, &Request::GenerateKey { algorithm: KeyAlgorithm::EcdsaP256 })
    else {
        panic!("no key")
    };
    let mut id = 2;
    let csr = read_all(&mut a, &mut id, ObjectId::Csr);
    // The CSR carries the device key verbatim.
    assert!(csr.windows(public_key.len()).any(|w| w == public_key.as_slice()));

    // The CSR names a P-256 key and is signed ecdsa-with-SHA256, and its signature
    // verifies with the device key over its CertificationRequestInfo.
    let (info, after) = first_element(&csr);
    assert!(info.windows(ALG_EC_P256.len()).any(|w| w == ALG_EC_P256));
    assert!(after.starts_with(ALG_ECDSA_SHA256));
    let (_, signature_bits) = der::read_tlv(&after[ALG_ECDSA_SHA256.len()..]).map(|(t, v, _)| (t, v)).unwrap();
    let vk = VerifyingKey::from_sec1_bytes(&public_key).unwrap();
    let csr_signature = DerSignature::from_bytes(&signature_bits[1..]).unwrap();
    vk.verify_prehash(&Sha256::digest(info), &csr_signature).expect("the CSR is signed by the device key");

    let cert = certificate(&public_key, None);
    let r = install(&mut a, &mut id, &cert, &[7u8; 1500], &[8u8; 10]);
    assert_eq!(r, Response::Installed);
    assert_eq!(read_all(&mut a, &mut id, ObjectId::Chain), vec![7u8; 1500]);

    let nonce = [42u8; 32];
    id += 1;
    let Response::SelfTest { signature } = call(&mut a, id, &Request::SelfTest { nonce }) else { panic!() };
    let mut hasher = Sha256::new();
    hasher.update(hallmark_protocol::SELFTEST_CONTEXT);
    hasher.update(nonce);
    let sig = DerSignature::from_bytes(&signature).unwrap();
    vk.verify_prehash(&hasher.finalize(), &sig).expect("self-test signature verifies");

    // Once installed, the key is locked.
    id += 1;
    let r = call(&mut a, id, &Request::GenerateKey { algorithm: KeyAlgorithm::EcdsaP256 });
    assert!(matches!(r, Response::Error { code: ErrorCode::ALREADY_PROVISIONED, .. }));
}

#[test]
fn commit_rejects_wrong_hash_and_foreign_certificate() {
    let mut a = agent();
    call(&mut a, 1, &Request::Hello { min_version: 1, max_version: 1 });
    call(&mut a, 2, &Request::GenerateKey { algorithm: KeyAlgorithm::EcdsaP256 });
    let cert = b"not for this key".to_vec();
    call(
        &mut a,
        3,
        &Request::WriteObject {
            object: ObjectId::Certificate,
            offset: 0,
            total_len: cert.len() as u32,
            data: cert.clone(),
        },
    );
    let h = |b: &[u8]| -> [u8; 32] { Sha256::digest(b).into() };
    let r = call(
        &mut a,
        4,
        &Request::CommitInstall { certificate_sha256: [0; 32], chain_sha256: h(&[]), trust_anchor_sha256: h(&[]) },
    );
    assert!(matches!(r, Response::Error { code: ErrorCode::HASH_MISMATCH, .. }));
    let r = call(
        &mut a,
        5,
        &Request::CommitInstall { certificate_sha256: h(&cert), chain_sha256: h(&[]), trust_anchor_sha256: h(&[]) },
    );
    assert!(matches!(r, Response::Error { code: ErrorCode::KEY_MISMATCH, .. }));
    assert!(a.certs().identity.is_none());
}

#[test]
fn retransmitted_request_is_answered_without_running_twice() {
    let mut a = agent();
    call(&mut a, 1, &Request::Hello { min_version: 1, max_version: 1 });
    let req = Request::GenerateKey { algorithm: KeyAlgorithm::EcdsaP256 };
    let first = call(&mut a, 2, &req);
    let again = call(&mut a, 2, &req);
    assert_eq!(first, again, "a retransmission must not generate a second key");
    let fresh = call(&mut a, 3, &req);
    assert_ne!(first, fresh);
}

#[test]
fn out_of_order_chunk_is_refused() {
    let mut a = agent();
    call(&mut a, 1, &Request::Hello { min_version: 1, max_version: 1 });
    let r =
        call(&mut a, 2, &Request::WriteObject { object: ObjectId::Chain, offset: 4, total_len: 8, data: vec![1; 4] });
    assert!(matches!(r, Response::Error { code: ErrorCode::BAD_OFFSET, .. }));
}

#[test]
fn a_changed_total_length_between_chunks_is_refused() {
    let mut a = agent();
    call(&mut a, 1, &Request::Hello { min_version: 1, max_version: 1 });
    let first =
        call(&mut a, 2, &Request::WriteObject { object: ObjectId::Chain, offset: 0, total_len: 8, data: vec![1; 4] });
    assert_eq!(first, Response::Written { received: 4 });
    let changed =
        call(&mut a, 3, &Request::WriteObject { object: ObjectId::Chain, offset: 4, total_len: 6, data: vec![1; 2] });
    assert!(matches!(changed, Response::Error { code: ErrorCode::BAD_OFFSET, .. }), "{changed:?}");
    // The object as declared still completes.
    let rest =
        call(&mut a, 4, &Request::WriteObject { object: ObjectId::Chain, offset: 4, total_len: 8, data: vec![1; 4] });
    assert_eq!(rest, Response::Written { received: 8 });
}

#[test]
fn a_retransmission_in_another_protocol_version_is_not_answered_from_the_cache() {
    let mut a = agent();
    call(&mut a, 1, &Request::Hello { min_version: 1, max_version: 1 });
    let req = Request::GenerateKey { algorithm: KeyAlgorithm::EcdsaP256 };
    call(&mut a, 2, &req);
    let other_version = Frame { version: 9, request_id: 2, body: req.to_body() };
    let wire = a.handle_frame(&other_version);
    let mut dec = FrameDecoder::new();
    let got = wire.iter().find_map(|&b| dec.push(b)).expect("one frame").expect("valid frame");
    let r = Response::from_body(&got.body).expect("response");
    assert!(matches!(r, Response::Error { code: ErrorCode::UNSUPPORTED_VERSION, .. }), "{r:?}");
}

#[test]
fn a_challenge_binds_the_csr_to_the_session_only() {
    let mut a = agent();
    let mut id = 0u16;
    let mut next = |a: &mut TestAgent, req: &Request| {
        id += 1;
        call(a, id, req)
    };
    match next(&mut a, &Request::Hello { min_version: 1, max_version: 1 }) {
        Response::Hello(info) => {
            assert_ne!(info.capabilities & hallmark_protocol::capability::CSR_CHALLENGE, 0, "offered")
        }
        other => panic!("{other:?}"),
    }
    next(&mut a, &Request::GenerateKey { algorithm: KeyAlgorithm::EcdsaP256 });
    let challenge = [0xA5u8; 32];
    let hex: String = challenge.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(next(&mut a, &Request::CsrChallenge { challenge }), Response::ChallengeAccepted);
    let mut rid = 100;
    let bound = read_all(&mut a, &mut rid, ObjectId::Csr);
    assert!(bound.windows(64).any(|w| w == hex.as_bytes()), "the CSR carries the challenge");
    // PKCS#9 challengePassword OID 1.2.840.113549.1.9.7.
    assert!(bound.windows(9).any(|w| w == [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x07]));
    // A new session forgets the challenge: the next CSR carries none.
    rid += 1;
    call(&mut a, rid, &Request::Hello { min_version: 1, max_version: 1 });
    let unbound = read_all(&mut a, &mut rid, ObjectId::Csr);
    assert!(!unbound.windows(64).any(|w| w == hex.as_bytes()));
    assert!(unbound.len() < bound.len());
}

/// The first element inside the outer SEQUENCE of `der` (whole TLV), and what follows.
fn first_element(der_bytes: &[u8]) -> (&[u8], &[u8]) {
    let (_, outer, _) = der::read_tlv(der_bytes).expect("a SEQUENCE");
    let (_, _, after) = der::read_tlv(outer).expect("an element");
    (&outer[..outer.len() - after.len()], after)
}

#[test]
fn a_certificate_whose_key_is_only_in_an_extension_is_refused() {
    let (mut a, public_key) = agent_with_key();
    let mut other = public_key.clone();
    other[64] ^= 1;
    let mut id = 10;
    let cert = certificate(&other, Some(&public_key));
    assert!(cert.windows(65).any(|w| w == public_key.as_slice()), "the device point is in the certificate");
    let r = install(&mut a, &mut id, &cert, b"chain", b"anchor");
    assert!(matches!(r, Response::Error { code: ErrorCode::KEY_MISMATCH, .. }), "{r:?}");
    assert!(a.certs().identity.is_none());
    // The same key in its SubjectPublicKeyInfo installs, extension or not.
    let r = install(&mut a, &mut id, &certificate(&public_key, Some(&other)), b"chain", b"anchor");
    assert_eq!(r, Response::Installed);
}

#[test]
fn a_truncated_or_padded_certificate_is_refused() {
    let (mut a, public_key) = agent_with_key();
    let cert = certificate(&public_key, None);
    let mut id = 10;
    // Cut after the key (the signature missing), and cut inside the key.
    let spki_end = cert.windows(65).position(|w| w == public_key.as_slice()).unwrap() + 65;
    for len in [cert.len() - 1, spki_end, spki_end - 1, 0] {
        let r = install(&mut a, &mut id, &cert[..len], b"chain", b"anchor");
        assert!(matches!(r, Response::Error { code: ErrorCode::KEY_MISMATCH, .. }), "cut to {len}: {r:?}");
    }
    let padded = [cert.as_slice(), &[0]].concat();
    let r = install(&mut a, &mut id, &padded, b"chain", b"anchor");
    assert!(matches!(r, Response::Error { code: ErrorCode::KEY_MISMATCH, .. }), "{r:?}");
    assert!(a.certs().identity.is_none());
    assert_eq!(install(&mut a, &mut id, &cert, b"chain", b"anchor"), Response::Installed);
}

/// A software P-256 store that claims another algorithm, or leaves `algorithm` to
/// the trait's default.
struct Claims(SoftKeyStore, Option<KeyAlgorithm>);

impl KeyStore for Claims {
    fn supports(&self, algorithm: KeyAlgorithm) -> bool {
        self.0.supports(algorithm)
    }
    fn generate(&mut self, algorithm: KeyAlgorithm, rng: &mut dyn CryptoRngCore) -> Result<(), StorageError> {
        self.0.generate(algorithm, rng)
    }
    fn public_key(&self) -> Option<Vec<u8>> {
        self.0.public_key()
    }
    fn algorithm(&self) -> Option<KeyAlgorithm> {
        match self.1 {
            Some(claimed) => self.0.public_key().map(|_| claimed),
            None => self.0.algorithm(),
        }
    }
    fn sign_digest(&mut self, digest: &[u8; 32]) -> Result<Vec<u8>, StorageError> {
        self.0.sign_digest(digest)
    }
}

/// The same store relying on the trait's default `algorithm`.
struct Default256(SoftKeyStore);

impl KeyStore for Default256 {
    fn supports(&self, algorithm: KeyAlgorithm) -> bool {
        self.0.supports(algorithm)
    }
    fn generate(&mut self, algorithm: KeyAlgorithm, rng: &mut dyn CryptoRngCore) -> Result<(), StorageError> {
        self.0.generate(algorithm, rng)
    }
    fn public_key(&self) -> Option<Vec<u8>> {
        self.0.public_key()
    }
    fn sign_digest(&mut self, digest: &[u8; 32]) -> Result<Vec<u8>, StorageError> {
        self.0.sign_digest(digest)
    }
}

fn csr_of<K: KeyStore>(keys: K) -> Response {
    let mut a = Agent::new(description(), keys, MemoryCertStore::default(), OsRng);
    call(&mut a, 1, &Request::Hello { min_version: 1, max_version: 1 });
    call(&mut a, 2, &Request::GenerateKey { algorithm: KeyAlgorithm::EcdsaP256 });
    call(&mut a, 3, &Request::ReadObject { object: ObjectId::Csr, offset: 0 })
}

#[test]
fn the_csr_names_the_key_stores_algorithm_or_is_refused() {
    for other in [KeyAlgorithm::EcdsaP384, KeyAlgorithm::EcdsaP521, KeyAlgorithm::Ed25519, KeyAlgorithm::Other(9)] {
        let r = csr_of(Claims(SoftKeyStore::default(), Some(other)));
        assert!(matches!(r, Response::Error { code: ErrorCode::UNSUPPORTED, .. }), "{other:?}: {r:?}");
    }
    for p256 in [
        csr_of(Claims(SoftKeyStore::default(), Some(KeyAlgorithm::EcdsaP256))),
        csr_of(Default256(SoftKeyStore::default())),
    ] {
        let Response::Chunk { data, total_len, .. } = p256 else { panic!("{p256:?}") };
        assert_eq!(data.len() as u32, total_len);
        assert!(data.windows(ALG_EC_P256.len()).any(|w| w == ALG_EC_P256));
        assert!(first_element(&data).1.starts_with(ALG_ECDSA_SHA256));
    }
    // Without a key there is still no CSR, whatever the store would say.
    let mut a = Agent::new(description(), Default256(SoftKeyStore::default()), MemoryCertStore::default(), OsRng);
    call(&mut a, 1, &Request::Hello { min_version: 1, max_version: 1 });
    let r = call(&mut a, 2, &Request::ReadObject { object: ObjectId::Csr, offset: 0 });
    assert!(matches!(r, Response::Error { code: ErrorCode::BAD_STATE, .. }), "{r:?}");
}

fn sha(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[test]
fn digests_are_of_what_is_installed() {
    let (mut a, public_key) = agent_with_key();
    let hello = call(&mut a, 3, &Request::Hello { min_version: 1, max_version: 1 });
    let Response::Hello(info) = hello else { panic!("{hello:?}") };
    assert_ne!(info.capabilities & capability::READ_DIGESTS, 0);
    assert_eq!(info.capabilities & capability::LINK_TUNING, 0, "not offered without a link capacity");
    assert!(matches!(call(&mut a, 4, &Request::ReadDigests), Response::Error { code: ErrorCode::BAD_STATE, .. }));
    let (cert, chain, anchor) = (certificate(&public_key, None), vec![0x30; 700], vec![0x31; 300]);
    let mut id = 10;
    assert_eq!(install(&mut a, &mut id, &cert, &chain, &anchor), Response::Installed);
    assert_eq!(
        call(&mut a, 100, &Request::ReadDigests),
        Response::Digests {
            certificate_sha256: sha(&cert),
            chain_sha256: sha(&chain),
            trust_anchor_sha256: sha(&anchor)
        }
    );
    // Without link tuning, DescribeLink is refused as a feature the board lacks.
    let r = call(&mut a, 101, &Request::DescribeLink { max_frame: 4096 });
    assert!(matches!(r, Response::Error { code: ErrorCode::UNSUPPORTED, .. }), "{r:?}");
}

#[test]
fn a_described_link_carries_larger_chunks_until_the_session_ends() {
    let (a, _) = agent_with_key();
    let mut a = a.with_link_capacity(LinkCapacity { max_frame: 4096, window: 4 });
    assert_eq!(a.receive_limit(), 4096);
    let Response::Hello(info) = call(&mut a, 3, &Request::Hello { min_version: 1, max_version: 1 }) else {
        panic!("no hello")
    };
    assert_ne!(info.capabilities & capability::LINK_TUNING, 0);
    // The station takes less than the board: the smaller wins.
    let r = call(&mut a, 4, &Request::DescribeLink { max_frame: 3000 });
    assert_eq!(r, Response::LinkInfo { max_frame: 3000, window: 4, chain_sha256: None, trust_anchor_sha256: None });
    let r = call(&mut a, 5, &Request::DescribeLink { max_frame: 100 });
    assert!(matches!(r, Response::Error { code: ErrorCode::MALFORMED, .. }), "{r:?}");
    // A 2,000-byte chain in one chunk, written and committed.
    let public_key = a.keys().public_key().unwrap();
    let (cert, chain, anchor) = (certificate(&public_key, None), vec![0x30; 2000], vec![0x31; 300]);
    let write = Request::WriteObject { object: ObjectId::Chain, offset: 0, total_len: 2000, data: chain.clone() };
    assert_eq!(call(&mut a, 6, &write), Response::Written { received: 2000 });
    let mut id = 10;
    assert_eq!(install(&mut a, &mut id, &cert, &chain, &anchor), Response::Installed);
    let read =
        |a: &mut TestAgent, id: u16| match call(a, id, &Request::ReadObject { object: ObjectId::Chain, offset: 0 }) {
            Response::Chunk { data, .. } => data.len(),
            other => panic!("{other:?}"),
        };
    assert_eq!(read(&mut a, 50), 2000, "one chunk on the agreed link");
    // A new session starts at the base frame again.
    call(&mut a, 51, &Request::Hello { min_version: 1, max_version: 1 });
    assert_eq!(read(&mut a, 52), 512);
    assert_eq!(a.chunk_limit(), chunk_limit(MAX_FRAME));
}

#[test]
fn a_chain_the_board_carries_is_not_sent_again() {
    let (chain, anchor) = (vec![0x30; 900], vec![0x31; 400]);
    let (a, _) = agent_with_key();
    let mut a = a
        .with_link_capacity(LinkCapacity { max_frame: 4096, window: 4 })
        .with_carried_objects(CarriedObjects { chain: chain.clone(), trust_anchor: anchor.clone() });
    let public_key = a.keys().public_key().unwrap();
    call(&mut a, 3, &Request::Hello { min_version: 1, max_version: 1 });
    let r = call(&mut a, 4, &Request::DescribeLink { max_frame: 4096 });
    assert_eq!(
        r,
        Response::LinkInfo {
            max_frame: 4096,
            window: 4,
            chain_sha256: Some(sha(&chain)),
            trust_anchor_sha256: Some(sha(&anchor))
        }
    );
    let cert = certificate(&public_key, None);
    let write = Request::WriteObject {
        object: ObjectId::Certificate,
        offset: 0,
        total_len: cert.len() as u32,
        data: cert.clone(),
    };
    assert!(matches!(call(&mut a, 5, &write), Response::Written { .. }));
    // Hashes of something else than what the board holds: refused, nothing installed.
    let wrong = Request::CommitInstall {
        certificate_sha256: sha(&cert),
        chain_sha256: [9; 32],
        trust_anchor_sha256: sha(&anchor),
    };
    assert!(matches!(call(&mut a, 6, &wrong), Response::Error { code: ErrorCode::HASH_MISMATCH, .. }));
    assert!(a.certs().installed().is_none());
    let commit = Request::CommitInstall {
        certificate_sha256: sha(&cert),
        chain_sha256: sha(&chain),
        trust_anchor_sha256: sha(&anchor),
    };
    assert_eq!(call(&mut a, 7, &commit), Response::Installed);
    let installed = a.certs().installed().unwrap().clone();
    assert_eq!((installed.certificate, installed.chain, installed.trust_anchor), (cert, chain, anchor));
}

#[test]
fn an_object_written_in_the_session_wins_over_the_carried_one() {
    let (a, _) = agent_with_key();
    let mut a = a.with_carried_objects(CarriedObjects { chain: vec![0x30; 900], trust_anchor: vec![0x31; 400] });
    let public_key = a.keys().public_key().unwrap();
    let cert = certificate(&public_key, None);
    // Written empty on purpose: the hash of nothing, not the carried chain.
    let mut id = 10;
    assert_eq!(install(&mut a, &mut id, &cert, &[], &[0x32; 10]), Response::Installed);
    assert!(a.certs().installed().unwrap().chain.is_empty());
}

#[test]
fn committing_the_identity_already_held_does_not_write_it_again() {
    struct Counting(MemoryCertStore, u32);
    impl CertStore for Counting {
        fn installed(&self) -> Option<&hallmark_agent::InstalledIdentity> {
            self.0.installed()
        }
        fn install(&mut self, identity: hallmark_agent::InstalledIdentity) -> Result<(), StorageError> {
            self.1 += 1;
            self.0.install(identity)
        }
    }
    let mut a = Agent::new(description(), SoftKeyStore::default(), Counting(MemoryCertStore::default(), 0), OsRng);
    call(&mut a, 1, &Request::Hello { min_version: 1, max_version: 1 });
    let Response::KeyGenerated { public_key, .. } =
        call(&mut a, 2, &Request::GenerateKey { algorithm: KeyAlgorithm::EcdsaP256 })
    else {
        panic!("no key")
    };
    let cert = certificate(&public_key, None);
    let (chain, anchor) = (vec![0x30; 600], vec![0x31; 300]);
    let stage_and_commit = |a: &mut Agent<SoftKeyStore, Counting, OsRng>, id: &mut u16| {
        for (object, data) in
            [(ObjectId::Certificate, &cert), (ObjectId::Chain, &chain), (ObjectId::TrustAnchor, &anchor)]
        {
            for (i, chunk) in data.chunks(512).enumerate() {
                *id += 1;
                let w = Request::WriteObject {
                    object,
                    offset: (i * 512) as u32,
                    total_len: data.len() as u32,
                    data: chunk.to_vec(),
                };
                assert!(matches!(call(a, *id, &w), Response::Written { .. }));
            }
        }
        *id += 1;
        call(
            a,
            *id,
            &Request::CommitInstall {
                certificate_sha256: sha(&cert),
                chain_sha256: sha(&chain),
                trust_anchor_sha256: sha(&anchor),
            },
        )
    };
    let mut id = 10;
    assert_eq!(stage_and_commit(&mut a, &mut id), Response::Installed);
    // The same identity staged and committed again under new ids: answered, not written.
    assert_eq!(stage_and_commit(&mut a, &mut id), Response::Installed);
    assert_eq!(a.certs().1, 1);
}
