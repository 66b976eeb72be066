//! Requests (station → device) and responses (device → station).
//!
//! Bodies are postcard-encoded (<https://postcard.jamesmunns.com/wire-format>); the
//! variant order below is part of protocol v1 and must never change — new variants
//! go at the end. Every decoded message is checked against the size limits in
//! [`crate`] before anyone acts on it.

use crate::{MAX_CHUNK, MAX_FRAME, MAX_HARDWARE_ID, MAX_LINK_FRAME, MAX_OBJECT, MAX_TEXT, MAX_TOPIC, NONCE_LEN};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

/// Key algorithms a device may offer for its identity key.
///
/// Encoded as a postcard enum index (a varint), but decoded tolerantly: an index this
/// build does not name becomes [`KeyAlgorithm::Other`], so a board that reports a key
/// the station cannot use gets a clear "unsupported key" answer, not a decoding error.
/// Indices 1–3 are named so that the station can say which key a board offered; protocol
/// v1 stations only ask for P-256.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// 0: ECDSA on NIST P-256 with SHA-256.
    EcdsaP256,
    /// 1: ECDSA on NIST P-384.
    EcdsaP384,
    /// 2: ECDSA on NIST P-521.
    EcdsaP521,
    /// 3: Ed25519.
    Ed25519,
    /// Any other index.
    Other(u32),
}

impl KeyAlgorithm {
    /// The wire index.
    pub fn index(self) -> u32 {
        match self {
            KeyAlgorithm::EcdsaP256 => 0,
            KeyAlgorithm::EcdsaP384 => 1,
            KeyAlgorithm::EcdsaP521 => 2,
            KeyAlgorithm::Ed25519 => 3,
            KeyAlgorithm::Other(i) => i,
        }
    }

    /// The algorithm with wire index `i`.
    pub fn from_index(i: u32) -> KeyAlgorithm {
        match i {
            0 => KeyAlgorithm::EcdsaP256,
            1 => KeyAlgorithm::EcdsaP384,
            2 => KeyAlgorithm::EcdsaP521,
            3 => KeyAlgorithm::Ed25519,
            other => KeyAlgorithm::Other(other),
        }
    }

    /// The algorithm in words, for messages a person reads.
    pub fn words(self) -> &'static str {
        match self {
            KeyAlgorithm::EcdsaP256 => "ECDSA P-256",
            KeyAlgorithm::EcdsaP384 => "ECDSA P-384",
            KeyAlgorithm::EcdsaP521 => "ECDSA P-521",
            KeyAlgorithm::Ed25519 => "Ed25519",
            KeyAlgorithm::Other(_) => "an unknown key type",
        }
    }
}

impl Serialize for KeyAlgorithm {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // postcard writes only the index; the name is for self-describing formats.
        s.serialize_unit_variant("KeyAlgorithm", self.index(), self.words())
    }
}

impl<'de> Deserialize<'de> for KeyAlgorithm {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<KeyAlgorithm, D::Error> {
        struct Index;
        impl<'de> serde::de::Visitor<'de> for Index {
            type Value = KeyAlgorithm;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key algorithm index")
            }
            fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<KeyAlgorithm, A::Error> {
                use serde::de::VariantAccess;
                let (index, variant): (u32, _) = data.variant()?;
                variant.unit_variant()?;
                Ok(KeyAlgorithm::from_index(index))
            }
        }
        d.deserialize_enum("KeyAlgorithm", &[], Index)
    }
}

/// Objects the station can read or write in chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ObjectId {
    /// PKCS#10 CSR (DER) for the device's current key. Read-only.
    Csr,
    /// The device's X.509 certificate (DER).
    Certificate,
    /// The issuing chain (concatenated DER certificates, issuing CA first).
    Chain,
    /// The trust anchor the device uses to authenticate servers (DER).
    TrustAnchor,
}

/// Bit flags in [`DeviceInfo::capabilities`].
pub mod capability {
    /// The device can generate a P-256 key pair on the device.
    pub const KEYGEN_P256: u32 = 1 << 0;
    /// The device signs a station nonce with its installed key (self-test, basic).
    pub const SELFTEST_SIGN: u32 = 1 << 1;
    /// The device runs a mutual-TLS handshake as client over the link
    /// (`TlsStart` / `TlsData`), with its installed key, chain and trust anchor.
    pub const SELFTEST_TLS_LINK: u32 = 1 << 2;
    /// The device connects to an MQTT broker over mutual TLS with its installed
    /// identity and publishes a station nonce (`BrokerTest`).
    pub const SELFTEST_BROKER: u32 = 1 << 3;
    /// The device binds its CSR to the session: after `CsrChallenge` it puts the
    /// station's challenge into the CSR as a PKCS#9 challengePassword attribute, so
    /// a CSR recorded from another board or another session is recognised.
    pub const CSR_CHALLENGE: u32 = 1 << 4;
    /// The device answers `ReadDigests` with the SHA-256 of each installed object, so
    /// the station checks an install without reading it back whole.
    pub const READ_DIGESTS: u32 = 1 << 5;
    /// The device answers `DescribeLink`: it agrees on frames larger than
    /// [`crate::MAX_FRAME`], takes several requests before answering the first (a
    /// burst: [`crate::MIN_LINK_WINDOW`] base-size requests at any time, its `LinkInfo`
    /// window once described), and reports the chain and trust anchor it already holds.
    pub const LINK_TUNING: u32 = 1 << 6;
    /// Every bit protocol v1 defines; a device sets no other.
    pub const DEFINED: u32 = (1 << 7) - 1;
}

/// How the device's broker self-test ended ([`Response::BrokerResult`]); numeric so
/// that outcomes from newer firmware still decode.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerOutcome(pub u16);

impl BrokerOutcome {
    /// Connected, published the nonce, the broker acknowledged it.
    pub const PUBLISHED: BrokerOutcome = BrokerOutcome(0);
    /// No TCP connection to the broker (refused, unreachable, name unknown).
    pub const UNREACHABLE: BrokerOutcome = BrokerOutcome(1);
    /// The broker refused the device's certificate: unknown CA.
    pub const TLS_UNKNOWN_CA: BrokerOutcome = BrokerOutcome(2);
    /// The broker refused the device's certificate: revoked.
    pub const TLS_REVOKED: BrokerOutcome = BrokerOutcome(3);
    /// The broker refused the device's certificate: expired (or not yet valid).
    pub const TLS_EXPIRED: BrokerOutcome = BrokerOutcome(4);
    /// The TLS handshake failed for another reason (detail says which).
    pub const TLS_FAILED: BrokerOutcome = BrokerOutcome(5);
    /// The device does not trust the broker's certificate (or its name).
    pub const BROKER_UNTRUSTED: BrokerOutcome = BrokerOutcome(6);
    /// The broker refused the session or the publish: not authorised (the
    /// certificate CN, used as username, does not own the topic).
    pub const NOT_AUTHORIZED: BrokerOutcome = BrokerOutcome(7);
    /// The broker did not answer in time.
    pub const TIMEOUT: BrokerOutcome = BrokerOutcome(8);
    /// The broker broke the MQTT protocol.
    pub const PROTOCOL: BrokerOutcome = BrokerOutcome(9);

    /// Short stable name for logs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::PUBLISHED => "published",
            Self::UNREACHABLE => "unreachable",
            Self::TLS_UNKNOWN_CA => "unknown-ca",
            Self::TLS_REVOKED => "revoked",
            Self::TLS_EXPIRED => "expired",
            Self::TLS_FAILED => "tls-failed",
            Self::BROKER_UNTRUSTED => "broker-untrusted",
            Self::NOT_AUTHORIZED => "not-authorized",
            Self::TIMEOUT => "timeout",
            Self::PROTOCOL => "protocol",
            _ => "unknown",
        }
    }
}

impl fmt::Debug for BrokerOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.0)
    }
}

/// A device error code (numeric so that codes from newer firmware still decode).
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCode(pub u16);

impl ErrorCode {
    /// The request could not be decoded or broke a limit.
    pub const MALFORMED: ErrorCode = ErrorCode(1);
    /// No common protocol version.
    pub const UNSUPPORTED_VERSION: ErrorCode = ErrorCode(2);
    /// The request is not valid in the device's current state (e.g. CSR before key).
    pub const BAD_STATE: ErrorCode = ErrorCode(3);
    /// The device does not support the requested algorithm or feature.
    pub const UNSUPPORTED: ErrorCode = ErrorCode(4);
    /// An object offset or length is wrong (gap, overflow, beyond the object).
    pub const BAD_OFFSET: ErrorCode = ErrorCode(5);
    /// Data staged for install does not match the hash given at commit.
    pub const HASH_MISMATCH: ErrorCode = ErrorCode(6);
    /// The device already holds an installed identity and refuses to replace it.
    pub const ALREADY_PROVISIONED: ErrorCode = ErrorCode(7);
    /// Key storage, certificate storage or the RNG failed on the device.
    pub const STORAGE: ErrorCode = ErrorCode(8);
    /// The certificate to install does not carry the device's public key.
    pub const KEY_MISMATCH: ErrorCode = ErrorCode(9);

    /// Short stable name for logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::MALFORMED => "MALFORMED",
            Self::UNSUPPORTED_VERSION => "UNSUPPORTED_VERSION",
            Self::BAD_STATE => "BAD_STATE",
            Self::UNSUPPORTED => "UNSUPPORTED",
            Self::BAD_OFFSET => "BAD_OFFSET",
            Self::HASH_MISMATCH => "HASH_MISMATCH",
            Self::ALREADY_PROVISIONED => "ALREADY_PROVISIONED",
            Self::STORAGE => "STORAGE",
            Self::KEY_MISMATCH => "KEY_MISMATCH",
            _ => "UNKNOWN",
        }
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.0)
    }
}

/// What a device says about itself in answer to `Hello`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// Protocol version chosen by the device for this session.
    pub protocol_version: u8,
    /// Factory-programmed unique hardware id (1..=[`MAX_HARDWARE_ID`] bytes).
    pub hardware_id: Vec<u8>,
    /// Product model.
    pub model: String,
    /// Firmware version string.
    pub firmware_version: String,
    /// [`capability`] flags.
    pub capabilities: u32,
    /// The device holds an identity key.
    pub has_key: bool,
    /// The device holds an installed certificate.
    pub has_certificate: bool,
}

/// Station → device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Opens a session; the device picks a version in `min_version..=max_version`.
    Hello {
        /// Oldest version the station speaks.
        min_version: u8,
        /// Newest version the station speaks.
        max_version: u8,
    },
    /// Generate a fresh key pair on the device (replacing an uncertified key).
    GenerateKey {
        /// Requested algorithm.
        algorithm: KeyAlgorithm,
    },
    /// Read part of an object.
    ReadObject {
        /// Which object.
        object: ObjectId,
        /// Byte offset to start at.
        offset: u32,
    },
    /// Write part of an object into the device's staging area.
    WriteObject {
        /// Which object (not [`ObjectId::Csr`]).
        object: ObjectId,
        /// Byte offset of `data`; chunks must arrive in order.
        offset: u32,
        /// Length of the whole object.
        total_len: u32,
        /// At most [`MAX_CHUNK`] bytes.
        data: Vec<u8>,
    },
    /// Atomically install the staged certificate, chain and trust anchor, after the
    /// device checked their SHA-256 hashes.
    CommitInstall {
        /// SHA-256 of the staged certificate.
        certificate_sha256: [u8; 32],
        /// SHA-256 of the staged chain.
        chain_sha256: [u8; 32],
        /// SHA-256 of the staged trust anchor.
        trust_anchor_sha256: [u8; 32],
    },
    /// Sign `SELFTEST_CONTEXT || nonce` with the installed identity key.
    SelfTest {
        /// Fresh random nonce chosen by the station.
        nonce: [u8; NONCE_LEN],
    },
    /// End the session; the device leaves provisioning mode.
    Finish,
    /// Start a TLS client handshake with the installed identity, tunnelled over the
    /// link; the answer carries the ClientHello.
    TlsStart,
    /// TLS bytes from the station's server (at most [`MAX_CHUNK`]; may be empty to
    /// collect pending device output).
    TlsData {
        /// TLS records from the server.
        data: Vec<u8>,
    },
    /// Connect to an MQTT broker over mutual TLS with the installed identity and
    /// publish `nonce` (QoS 1) to `topic`; answer with [`Response::BrokerResult`]
    /// within `timeout_ms`.
    BrokerTest {
        /// Broker host name or address (at most [`MAX_TEXT`] bytes).
        host: String,
        /// Broker TCP port.
        port: u16,
        /// The name the broker's certificate must carry (at most [`MAX_TEXT`]).
        server_name: String,
        /// Topic to publish to (at most [`MAX_TOPIC`] bytes).
        topic: String,
        /// Payload to publish.
        nonce: [u8; NONCE_LEN],
        /// The device's own deadline for connect, publish and acknowledgement.
        timeout_ms: u32,
    },
    /// Bind the next CSR to this session: the device puts `challenge` (lower-case hex)
    /// into the CSR it serves as a challengePassword attribute (capability
    /// [`capability::CSR_CHALLENGE`]).
    CsrChallenge {
        /// Fresh random challenge chosen by the station for this session.
        challenge: [u8; NONCE_LEN],
    },
    /// The SHA-256 of each installed object, read from storage (capability
    /// [`capability::READ_DIGESTS`]).
    ReadDigests,
    /// Agree on the link: the largest frame the station takes and sends (capability
    /// [`capability::LINK_TUNING`]); the device answers with [`Response::LinkInfo`].
    DescribeLink {
        /// Largest decoded frame the station can receive (at least
        /// [`crate::MAX_FRAME`]).
        max_frame: u32,
    },
}

/// Device → station.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// Answer to `Hello`.
    Hello(DeviceInfo),
    /// Answer to `GenerateKey`: the new public key (SEC1 uncompressed point).
    KeyGenerated {
        /// Algorithm of the key.
        algorithm: KeyAlgorithm,
        /// SEC1 uncompressed public key.
        public_key: Vec<u8>,
    },
    /// Answer to `ReadObject`.
    Chunk {
        /// Length of the whole object.
        total_len: u32,
        /// Offset of `data`.
        offset: u32,
        /// At most [`MAX_CHUNK`] bytes.
        data: Vec<u8>,
    },
    /// Answer to `WriteObject`: bytes staged so far for that object.
    Written {
        /// Bytes received so far.
        received: u32,
    },
    /// Answer to `CommitInstall`.
    Installed,
    /// Answer to `SelfTest`: the signature over SHA-256(`SELFTEST_CONTEXT || nonce`),
    /// DER ECDSA for P-256 and P-384 keys, 64 raw bytes for Ed25519
    /// (`docs/protocol.md` S11).
    SelfTest {
        /// DER-encoded ECDSA signature.
        signature: Vec<u8>,
    },
    /// Answer to `Finish`.
    Finished,
    /// The request failed.
    Error {
        /// What went wrong.
        code: ErrorCode,
        /// Human-readable detail, at most [`MAX_TEXT`] bytes.
        detail: String,
    },
    /// Answer to `TlsStart` / `TlsData`: TLS bytes from the device's client.
    TlsData {
        /// At most [`MAX_CHUNK`] bytes of TLS records.
        data: Vec<u8>,
        /// More output is waiting on the device (send an empty `TlsData` to collect).
        pending: u32,
        /// The device's side of the handshake completed.
        established: bool,
    },
    /// Answer to `BrokerTest`.
    BrokerResult {
        /// How it ended.
        outcome: BrokerOutcome,
        /// Time to an accepted MQTT session (TCP + TLS + CONNACK), milliseconds.
        connect_ms: u32,
        /// Detail for the log (at most [`MAX_TEXT`] bytes).
        detail: String,
    },
    /// Answer to `CsrChallenge`: the next CSR carries the challenge.
    ChallengeAccepted,
    /// Answer to `ReadDigests`: SHA-256 of each installed object as stored.
    Digests {
        /// SHA-256 of the installed certificate.
        certificate_sha256: [u8; 32],
        /// SHA-256 of the installed chain.
        chain_sha256: [u8; 32],
        /// SHA-256 of the installed trust anchor.
        trust_anchor_sha256: [u8; 32],
    },
    /// Answer to `DescribeLink`: what both ends use until the session ends.
    LinkInfo {
        /// The agreed largest frame, both ways: at most the station's, at least
        /// [`crate::MAX_FRAME`].
        max_frame: u32,
        /// Requests the device takes before it must answer the first (at least 1).
        window: u8,
        /// SHA-256 of the chain the device already holds, if any: the station may
        /// leave it out of the install.
        chain_sha256: Option<[u8; 32]>,
        /// SHA-256 of the trust anchor the device already holds, if any.
        trust_anchor_sha256: Option<[u8; 32]>,
    },
}

impl Response {
    /// What kind of answer this is, in words, for messages a person reads.
    pub fn words(&self) -> &'static str {
        match self {
            Response::Hello(_) => "its description (Hello)",
            Response::KeyGenerated { .. } => "a public key (KeyGenerated)",
            Response::Chunk { .. } => "a piece of stored data (Chunk)",
            Response::Written { .. } => "a write acknowledgement (Written)",
            Response::Installed => "an install confirmation (Installed)",
            Response::SelfTest { .. } => "a self-test signature (SelfTest)",
            Response::Finished => "an end of session (Finished)",
            Response::Error { .. } => "an error (Error)",
            Response::TlsData { .. } => "TLS data (TlsData)",
            Response::BrokerResult { .. } => "a broker test result (BrokerResult)",
            Response::ChallengeAccepted => "a challenge acknowledgement (ChallengeAccepted)",
            Response::Digests { .. } => "digests of what it stores (Digests)",
            Response::LinkInfo { .. } => "a description of its link (LinkInfo)",
        }
    }
}

/// Why a message body was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageError {
    /// Not a valid postcard encoding of the expected type.
    Undecodable,
    /// Decoded, but a field breaks a protocol limit.
    LimitExceeded(&'static str),
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageError::Undecodable => f.write_str("message body could not be decoded"),
            MessageError::LimitExceeded(what) => write!(f, "message breaks a protocol limit: {what}"),
        }
    }
}

fn check(ok: bool, what: &'static str) -> Result<(), MessageError> {
    if ok {
        Ok(())
    } else {
        Err(MessageError::LimitExceeded(what))
    }
}

fn check_chunk(offset: u32, total_len: u32, data: &[u8], max_chunk: usize) -> Result<(), MessageError> {
    check(data.len() <= max_chunk, "chunk larger than the link's chunk size")?;
    check(total_len as usize <= MAX_OBJECT, "object larger than MAX_OBJECT")?;
    check((offset as u64) + data.len() as u64 <= total_len as u64, "chunk extends past the object")
}

impl Request {
    /// Encodes the request body.
    pub fn to_body(&self) -> Vec<u8> {
        // Serialising plain data into a Vec cannot fail.
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// Decodes and bounds-checks a request body, chunks at most [`MAX_CHUNK`].
    pub fn from_body(body: &[u8]) -> Result<Request, MessageError> {
        Request::from_body_within(body, MAX_CHUNK)
    }

    /// Decodes and bounds-checks a request body on a link whose chunks may hold
    /// `max_chunk` bytes ([`crate::chunk_limit`]).
    pub fn from_body_within(body: &[u8], max_chunk: usize) -> Result<Request, MessageError> {
        let req: Request = postcard::from_bytes(body).map_err(|_| MessageError::Undecodable)?;
        match &req {
            Request::WriteObject { offset, total_len, data, .. } => check_chunk(*offset, *total_len, data, max_chunk)?,
            Request::TlsData { data } => check(data.len() <= max_chunk, "TLS chunk larger than the link's chunk size")?,
            Request::BrokerTest { host, server_name, topic, .. } => {
                check(host.len() <= MAX_TEXT && server_name.len() <= MAX_TEXT, "broker name length")?;
                check(topic.len() <= MAX_TOPIC, "topic length")?;
            }
            _ => {}
        }
        Ok(req)
    }
}

impl Response {
    /// Encodes the response body.
    pub fn to_body(&self) -> Vec<u8> {
        // Serialising plain data into a Vec cannot fail.
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// Decodes and bounds-checks a response body, chunks at most [`MAX_CHUNK`].
    /// Devices are untrusted: the station must use this (or
    /// [`Response::from_body_within`]) and nothing else.
    pub fn from_body(body: &[u8]) -> Result<Response, MessageError> {
        Response::from_body_within(body, MAX_CHUNK)
    }

    /// Decodes and bounds-checks a response body on a link whose chunks may hold
    /// `max_chunk` bytes.
    pub fn from_body_within(body: &[u8], max_chunk: usize) -> Result<Response, MessageError> {
        let resp: Response = postcard::from_bytes(body).map_err(|_| MessageError::Undecodable)?;
        match &resp {
            Response::Hello(info) => {
                check(!info.hardware_id.is_empty() && info.hardware_id.len() <= MAX_HARDWARE_ID, "hardware id length")?;
                check(info.model.len() <= MAX_TEXT, "model length")?;
                check(info.firmware_version.len() <= MAX_TEXT, "firmware version length")?;
            }
            Response::KeyGenerated { public_key, .. } => {
                check(public_key.len() <= 133, "public key length")?;
            }
            Response::Chunk { total_len, offset, data } => check_chunk(*offset, *total_len, data, max_chunk)?,
            Response::SelfTest { signature } => check(signature.len() <= 144, "signature length")?,
            Response::Error { detail, .. } => check(detail.len() <= MAX_TEXT, "error detail length")?,
            Response::TlsData { data, pending, .. } => {
                check(data.len() <= max_chunk, "TLS chunk larger than the link's chunk size")?;
                check(*pending as usize <= MAX_OBJECT, "pending TLS output")?;
            }
            Response::BrokerResult { detail, .. } => check(detail.len() <= MAX_TEXT, "broker result detail length")?,
            Response::LinkInfo { max_frame, window, .. } => {
                let frame = *max_frame as usize;
                check((MAX_FRAME..=MAX_LINK_FRAME).contains(&frame), "agreed frame size")?;
                check(*window >= 1, "window")?;
            }
            Response::Written { .. }
            | Response::Installed
            | Response::Finished
            | Response::ChallengeAccepted
            | Response::Digests { .. } => {}
        }
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn requests_round_trip() {
        let reqs = [
            Request::Hello { min_version: 1, max_version: 1 },
            Request::GenerateKey { algorithm: KeyAlgorithm::EcdsaP256 },
            Request::ReadObject { object: ObjectId::Csr, offset: 512 },
            Request::WriteObject { object: ObjectId::Chain, offset: 0, total_len: 3, data: vec![1, 2, 3] },
            Request::CommitInstall { certificate_sha256: [1; 32], chain_sha256: [2; 32], trust_anchor_sha256: [3; 32] },
            Request::SelfTest { nonce: [9; 32] },
            Request::Finish,
            Request::BrokerTest {
                host: "127.0.0.1".to_string(),
                port: 8883,
                server_name: "localhost".to_string(),
                topic: "devices/A1/selftest".to_string(),
                nonce: [7; 32],
                timeout_ms: 5000,
            },
            Request::CsrChallenge { challenge: [3; 32] },
            Request::ReadDigests,
            Request::DescribeLink { max_frame: 4096 },
        ];
        for r in reqs {
            assert_eq!(Request::from_body(&r.to_body()), Ok(r));
        }
    }

    #[test]
    fn wire_encoding_is_stable() {
        // Variant indices are part of protocol v1 (docs/protocol.md).
        assert_eq!(Request::Hello { min_version: 1, max_version: 1 }.to_body(), vec![0, 1, 1]);
        assert_eq!(Request::Finish.to_body(), vec![6]);
        assert_eq!(Response::Installed.to_body(), vec![4]);
    }

    #[test]
    fn key_algorithms_decode_tolerantly() {
        // Index 0 is one byte, as the derived enum encoding was.
        assert_eq!(Request::GenerateKey { algorithm: KeyAlgorithm::EcdsaP256 }.to_body(), vec![1, 0]);
        for i in [0u32, 1, 2, 3, 7, 300] {
            let r = Response::KeyGenerated { algorithm: KeyAlgorithm::from_index(i), public_key: vec![4; 65] };
            let back = Response::from_body(&r.to_body()).unwrap();
            assert_eq!(back, r);
        }
        // A board reporting index 1 (P-384): decodes, and is named in words.
        let body = [1u8, 1, 1, 4];
        match Response::from_body(&body).unwrap() {
            Response::KeyGenerated { algorithm, .. } => assert_eq!(algorithm.words(), "ECDSA P-384"),
            other => panic!("{other:?}"),
        }
        assert_eq!(Response::ChallengeAccepted.to_body(), vec![10]);
        assert_eq!(Request::CsrChallenge { challenge: [0; 32] }.to_body()[0], 10);
    }

    #[test]
    fn line_speed_messages_have_their_own_indices_and_limits() {
        // Appended after v1's first variants (docs/protocol.md section 2).
        assert_eq!(Request::ReadDigests.to_body(), vec![11]);
        assert_eq!(Request::DescribeLink { max_frame: 4096 }.to_body(), vec![12, 0x80, 0x20]);
        let digests =
            Response::Digests { certificate_sha256: [1; 32], chain_sha256: [2; 32], trust_anchor_sha256: [3; 32] };
        assert_eq!(digests.to_body()[0], 11);
        assert_eq!(Response::from_body(&digests.to_body()), Ok(digests));
        let info =
            Response::LinkInfo { max_frame: 4096, window: 4, chain_sha256: Some([5; 32]), trust_anchor_sha256: None };
        let body = info.to_body();
        assert_eq!(&body[..5], &[12, 0x80, 0x20, 4, 1]);
        assert_eq!(body.len(), 5 + 32 + 1);
        assert_eq!(Response::from_body(&body), Ok(info));
        for (max_frame, window) in [(512, 4), (MAX_LINK_FRAME as u32 + 1, 4), (4096, 0)] {
            let bad = Response::LinkInfo { max_frame, window, chain_sha256: None, trust_anchor_sha256: None };
            assert!(Response::from_body(&bad.to_body()).is_err(), "{bad:?}");
        }
        // A larger chunk only on a link that agreed on it.
        let big = Response::Chunk { total_len: 2000, offset: 0, data: vec![1; 2000] };
        assert!(Response::from_body(&big.to_body()).is_err());
        assert!(Response::from_body_within(&big.to_body(), 2000).is_ok());
        let write = Request::WriteObject { object: ObjectId::Chain, offset: 0, total_len: 600, data: vec![1; 600] };
        assert!(Request::from_body(&write.to_body()).is_err());
        assert!(Request::from_body_within(&write.to_body(), 1000).is_ok());
    }

    #[test]
    fn rejects_chunk_past_object_end() {
        let r = Request::WriteObject { object: ObjectId::Certificate, offset: 10, total_len: 11, data: vec![1, 2] };
        assert!(matches!(Request::from_body(&r.to_body()), Err(MessageError::LimitExceeded(_))));
    }

    #[test]
    fn rejects_oversized_fields_from_device() {
        let long = "x".repeat(MAX_TEXT + 1);
        let r = Response::Error { code: ErrorCode::STORAGE, detail: long };
        assert!(Response::from_body(&r.to_body()).is_err());
        let info = DeviceInfo {
            protocol_version: 1,
            hardware_id: vec![],
            model: "m".to_string(),
            firmware_version: "1".to_string(),
            capabilities: 0,
            has_key: false,
            has_certificate: false,
        };
        assert!(Response::from_body(&Response::Hello(info).to_body()).is_err());
        let r =
            Response::BrokerResult { outcome: BrokerOutcome::TIMEOUT, connect_ms: 0, detail: "y".repeat(MAX_TEXT + 1) };
        assert!(Response::from_body(&r.to_body()).is_err());
        let r = Request::BrokerTest {
            host: "h".to_string(),
            port: 1,
            server_name: "h".to_string(),
            topic: "t".repeat(MAX_TOPIC + 1),
            nonce: [0; 32],
            timeout_ms: 1,
        };
        assert!(Request::from_body(&r.to_body()).is_err());
        let big = Response::Chunk { total_len: (MAX_OBJECT + 1) as u32, offset: 0, data: vec![] };
        assert!(Response::from_body(&big.to_body()).is_err());
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(Response::from_body(&[200, 1, 2]), Err(MessageError::Undecodable));
    }
}
