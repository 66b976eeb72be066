//! The device-side protocol state machine.

use crate::{csr, CertStore, InstalledIdentity, KeyStore};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use hallmark_protocol::{
    capability, chunk_limit, der, DeviceInfo, ErrorCode, Frame, KeyAlgorithm, ObjectId, Request, Response, MAX_FRAME,
    MAX_LINK_FRAME, MAX_OBJECT, MAX_TEXT, MIN_LINK_WINDOW, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, SELFTEST_CONTEXT,
};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};

/// Fixed facts about the board, reported in `Hello`.
#[derive(Clone, Debug)]
pub struct DeviceDescription {
    /// Factory-unique hardware id (e.g. the MCU's unique id registers).
    pub hardware_id: Vec<u8>,
    /// Product model.
    pub model: String,
    /// Firmware version.
    pub firmware_version: String,
}

/// What the board's link can take beyond the protocol's base frame (capability
/// `LINK_TUNING`): its receive buffer must hold `window` frames of `max_frame` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkCapacity {
    /// Largest decoded frame the board receives and sends (clamped to
    /// [`MAX_FRAME`]..=[`MAX_LINK_FRAME`]).
    pub max_frame: usize,
    /// Requests of `max_frame` bytes the board buffers before it answers the first
    /// (raised to [`MIN_LINK_WINDOW`]: it must take that many base-size requests).
    pub window: u8,
}

/// The chain and trust anchor the firmware carries for every board of a batch, so the
/// station need not send them (reported in `LinkInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CarriedObjects {
    /// Issuing chain, concatenated DER, issuing CA first.
    pub chain: Vec<u8>,
    /// Trust anchor (DER).
    pub trust_anchor: Vec<u8>,
}

/// The last request and its encoded response, so a retransmitted request (same
/// version, id and body) is answered again without being executed twice.
struct ReplayCache {
    version: u8,
    request_id: u16,
    request_body: Vec<u8>,
    response_wire: Vec<u8>,
}

#[derive(Default)]
struct Staging {
    certificate: Vec<u8>,
    chain: Vec<u8>,
    trust_anchor: Vec<u8>,
    /// The `total_len` each object's first chunk declared (certificate, chain, anchor).
    totals: [u32; 3],
    /// Whether each object was written in this session; one that was not is taken
    /// from what the board holds at commit, if the station's hash names it.
    written: [bool; 3],
}

/// The device agent. Generic over the board's key store, certificate store and RNG.
pub struct Agent<K, C, R> {
    description: DeviceDescription,
    keys: K,
    certs: C,
    rng: R,
    session_open: bool,
    csr_cache: Option<Vec<u8>>,
    /// The station's session challenge for the CSR (lower-case hex), if it sent one.
    csr_challenge: Option<String>,
    staging: Staging,
    replay: Option<ReplayCache>,
    /// Larger frames and a window, offered with `LINK_TUNING`; `None`: base frames only.
    capacity: Option<LinkCapacity>,
    /// The frame size agreed with `DescribeLink` for this session.
    agreed_frame: usize,
    carried: Option<CarriedObjects>,
}

fn error(code: ErrorCode, detail: &str) -> Response {
    let mut detail = detail.to_string();
    detail.truncate(MAX_TEXT);
    Response::Error { code, detail }
}

impl<K: KeyStore, C: CertStore, R: CryptoRngCore> Agent<K, C, R> {
    /// A new agent; no session is open until the station says `Hello`.
    pub fn new(description: DeviceDescription, keys: K, certs: C, rng: R) -> Self {
        Agent {
            description,
            keys,
            certs,
            rng,
            session_open: false,
            csr_cache: None,
            csr_challenge: None,
            staging: Staging::default(),
            replay: None,
            capacity: None,
            agreed_frame: MAX_FRAME,
            carried: None,
        }
    }

    /// Offers larger frames and a window of outstanding requests (`LINK_TUNING`): the
    /// board's receive path must hold `capacity.window` frames of
    /// `capacity.max_frame` bytes, and its frame decoder must take that size
    /// ([`Agent::receive_limit`]).
    pub fn with_link_capacity(mut self, capacity: LinkCapacity) -> Self {
        let max_frame = capacity.max_frame.clamp(MAX_FRAME, MAX_LINK_FRAME);
        self.capacity = Some(LinkCapacity { max_frame, window: capacity.window.max(MIN_LINK_WINDOW) });
        self
    }

    /// The chain and trust anchor the firmware carries (reported in `LinkInfo`, used
    /// at commit when the station does not send them).
    pub fn with_carried_objects(mut self, carried: CarriedObjects) -> Self {
        self.carried = Some(carried);
        self
    }

    /// The largest frame the board's decoder must accept: its link capacity, or the
    /// protocol's base frame.
    pub fn receive_limit(&self) -> usize {
        self.capacity.map_or(MAX_FRAME, |c| c.max_frame)
    }

    /// The largest frame this session's answers may be: the size agreed with
    /// `DescribeLink`, or the protocol's base frame.
    pub fn frame_limit(&self) -> usize {
        self.agreed_frame
    }

    /// The largest chunk of data this session's answers carry.
    pub fn chunk_limit(&self) -> usize {
        chunk_limit(self.agreed_frame)
    }

    /// The key store (e.g. for persisting a software key).
    pub fn keys(&self) -> &K {
        &self.keys
    }

    /// The certificate store.
    pub fn certs(&self) -> &C {
        &self.certs
    }

    /// Mutable access to the certificate store (fault injection, factory reset).
    pub fn certs_mut(&mut self) -> &mut C {
        &mut self.certs
    }

    /// Mutable access to the key store.
    pub fn keys_mut(&mut self) -> &mut K {
        &mut self.keys
    }

    /// Handles one received frame and returns the wire bytes to send back.
    pub fn handle_frame(&mut self, frame: &Frame) -> Vec<u8> {
        if let Some(cache) = &self.replay {
            if cache.version == frame.version
                && cache.request_id == frame.request_id
                && cache.request_body == frame.body
            {
                return cache.response_wire.clone();
            }
        }
        let response = if frame.version < MIN_PROTOCOL_VERSION || frame.version > PROTOCOL_VERSION {
            error(ErrorCode::UNSUPPORTED_VERSION, "frame version not supported")
        } else {
            // Chunks as large as this session agreed on, no larger.
            match Request::from_body_within(&frame.body, self.chunk_limit()) {
                Ok(request) => self.handle(request),
                Err(e) => error(ErrorCode::MALFORMED, &e.to_string()),
            }
        };
        let wire = encode_response(frame.request_id, &response, self.agreed_frame);
        self.replay = Some(ReplayCache {
            version: frame.version,
            request_id: frame.request_id,
            request_body: frame.body.clone(),
            response_wire: wire.clone(),
        });
        wire
    }

    /// Executes one request.
    pub fn handle(&mut self, request: Request) -> Response {
        if !self.session_open && !matches!(request, Request::Hello { .. }) {
            return error(ErrorCode::BAD_STATE, "say Hello first");
        }
        match request {
            Request::Hello { min_version, max_version } => self.hello(min_version, max_version),
            Request::GenerateKey { algorithm } => self.generate_key(algorithm),
            Request::ReadObject { object, offset } => self.read_object(object, offset),
            Request::WriteObject { object, offset, total_len, data } => {
                self.write_object(object, offset, total_len, &data)
            }
            Request::CommitInstall { certificate_sha256, chain_sha256, trust_anchor_sha256 } => {
                self.commit(certificate_sha256, chain_sha256, trust_anchor_sha256)
            }
            Request::SelfTest { nonce } => self.self_test(&nonce),
            Request::CsrChallenge { challenge } => {
                self.csr_challenge = Some(hex_lower(&challenge));
                self.csr_cache = None;
                Response::ChallengeAccepted
            }
            // TLS needs a TLS stack on the device; firmware with one handles these
            // before the agent (the simulator does, with rustls).
            Request::TlsStart | Request::TlsData { .. } | Request::BrokerTest { .. } => {
                error(ErrorCode::UNSUPPORTED, "no TLS stack")
            }
            Request::ReadDigests => self.digests(),
            Request::DescribeLink { max_frame } => self.describe_link(max_frame),
            Request::Finish => {
                self.session_open = false;
                self.agreed_frame = MAX_FRAME;
                self.staging = Staging::default();
                if self.csr_challenge.take().is_some() {
                    self.csr_cache = None;
                }
                Response::Finished
            }
        }
    }

    fn hello(&mut self, min_version: u8, max_version: u8) -> Response {
        let version = max_version.min(PROTOCOL_VERSION);
        if version < min_version || version < MIN_PROTOCOL_VERSION {
            return error(ErrorCode::UNSUPPORTED_VERSION, "no common protocol version");
        }
        self.session_open = true;
        self.agreed_frame = MAX_FRAME;
        self.staging = Staging::default();
        // A challenge belongs to one session.
        if self.csr_challenge.take().is_some() {
            self.csr_cache = None;
        }
        Response::Hello(DeviceInfo {
            protocol_version: version,
            hardware_id: self.description.hardware_id.clone(),
            model: self.description.model.clone(),
            firmware_version: self.description.firmware_version.clone(),
            capabilities: capability::KEYGEN_P256
                | capability::SELFTEST_SIGN
                | capability::CSR_CHALLENGE
                | capability::READ_DIGESTS
                | if self.capacity.is_some() { capability::LINK_TUNING } else { 0 },
            has_key: self.keys.public_key().is_some(),
            has_certificate: self.certs.installed().is_some(),
        })
    }

    fn generate_key(&mut self, algorithm: KeyAlgorithm) -> Response {
        if self.certs.installed().is_some() {
            return error(ErrorCode::ALREADY_PROVISIONED, "identity installed; key is locked");
        }
        if !self.keys.supports(algorithm) {
            return error(ErrorCode::UNSUPPORTED, "key algorithm not supported");
        }
        self.csr_cache = None;
        if self.keys.generate(algorithm, &mut self.rng).is_err() {
            return error(ErrorCode::STORAGE, "key generation failed");
        }
        match self.keys.public_key() {
            Some(public_key) => Response::KeyGenerated { algorithm, public_key },
            None => error(ErrorCode::STORAGE, "key missing after generation"),
        }
    }

    fn object_bytes(&mut self, object: ObjectId) -> Result<Vec<u8>, Response> {
        match object {
            ObjectId::Csr => {
                if self.csr_cache.is_none() {
                    let cn = hex_upper(&self.description.hardware_id);
                    let built =
                        csr::build(&mut self.keys, &cn, self.csr_challenge.as_deref()).map_err(|e| match e {
                            csr::CsrError::NoKey => error(ErrorCode::BAD_STATE, "no key: generate one first"),
                            csr::CsrError::UnsupportedAlgorithm(_) => {
                                error(ErrorCode::UNSUPPORTED, "no CSR for this key's algorithm")
                            }
                            csr::CsrError::Signing(_) => error(ErrorCode::STORAGE, "signing the CSR failed"),
                        })?;
                    self.csr_cache = Some(built);
                }
                Ok(self.csr_cache.clone().unwrap_or_default())
            }
            other => {
                let installed =
                    self.certs.installed().ok_or_else(|| error(ErrorCode::BAD_STATE, "nothing installed"))?;
                Ok(match other {
                    ObjectId::Certificate => installed.certificate.clone(),
                    ObjectId::Chain => installed.chain.clone(),
                    _ => installed.trust_anchor.clone(),
                })
            }
        }
    }

    fn read_object(&mut self, object: ObjectId, offset: u32) -> Response {
        let bytes = match self.object_bytes(object) {
            Ok(b) => b,
            Err(e) => return e,
        };
        let start = offset as usize;
        if start > bytes.len() {
            return error(ErrorCode::BAD_OFFSET, "offset beyond object");
        }
        let end = (start + self.chunk_limit()).min(bytes.len());
        Response::Chunk { total_len: bytes.len() as u32, offset, data: bytes[start..end].to_vec() }
    }

    fn write_object(&mut self, object: ObjectId, offset: u32, total_len: u32, data: &[u8]) -> Response {
        let index = match object {
            ObjectId::Certificate => 0,
            ObjectId::Chain => 1,
            ObjectId::TrustAnchor => 2,
            ObjectId::Csr => return error(ErrorCode::BAD_STATE, "the CSR is read-only"),
        };
        let slot = match index {
            0 => &mut self.staging.certificate,
            1 => &mut self.staging.chain,
            _ => &mut self.staging.trust_anchor,
        };
        let declared = &mut self.staging.totals[index];
        // Also refused when the frame is decoded; kept for callers of `handle`.
        if total_len as usize > MAX_OBJECT {
            return error(ErrorCode::BAD_OFFSET, "object too large");
        }
        if offset == 0 {
            slot.clear();
            *declared = total_len;
            self.staging.written[index] = true;
        }
        if offset as usize != slot.len() {
            return error(ErrorCode::BAD_OFFSET, "chunks must arrive in order");
        }
        if total_len != *declared {
            return error(ErrorCode::BAD_OFFSET, "total length changed between chunks");
        }
        slot.extend_from_slice(data);
        Response::Written { received: slot.len() as u32 }
    }

    fn commit(&mut self, cert_hash: [u8; 32], chain_hash: [u8; 32], anchor_hash: [u8; 32]) -> Response {
        // An object not written in this session is the one the board holds, when the
        // station's hash names it (it left out what LinkInfo said the board holds).
        for (index, hash) in [(1, chain_hash), (2, anchor_hash)] {
            if !self.staging.written[index] {
                if let Some(held) = self.held(index).filter(|held| sha256(held) == hash) {
                    let held = held.to_vec();
                    match index {
                        1 => self.staging.chain = held,
                        _ => self.staging.trust_anchor = held,
                    }
                }
            }
        }
        let s = &self.staging;
        if sha256(&s.certificate) != cert_hash
            || sha256(&s.chain) != chain_hash
            || sha256(&s.trust_anchor) != anchor_hash
        {
            return error(ErrorCode::HASH_MISMATCH, "staged data does not match hashes");
        }
        let Some(public_key) = self.keys.public_key() else {
            return error(ErrorCode::BAD_STATE, "no key");
        };
        // The key the certificate is for: its SubjectPublicKeyInfo's BIT STRING, which
        // must be our public key byte for byte. A certificate that does not parse is
        // not for our key either.
        if der::certificate_public_key(&s.certificate) != Some(public_key.as_slice()) {
            return error(ErrorCode::KEY_MISMATCH, "certificate is not for this device's key");
        }
        let identity = InstalledIdentity {
            certificate: core::mem::take(&mut self.staging.certificate),
            chain: core::mem::take(&mut self.staging.chain),
            trust_anchor: core::mem::take(&mut self.staging.trust_anchor),
        };
        // The identity it already holds is not written again: a commit whose answer
        // was lost may be repeated (docs/protocol.md section 6), and some storage can
        // be written only once.
        if self.certs.installed() == Some(&identity) {
            return Response::Installed;
        }
        match self.certs.install(identity) {
            Ok(()) => Response::Installed,
            Err(_) => error(ErrorCode::STORAGE, "certificate storage failed"),
        }
    }

    /// The chain (1) or trust anchor (2) the board holds: its installed identity's, or
    /// else the one its firmware carries.
    fn held(&self, index: usize) -> Option<&[u8]> {
        match (self.certs.installed(), &self.carried) {
            (Some(installed), _) => Some(if index == 1 { &installed.chain } else { &installed.trust_anchor }),
            (None, Some(carried)) => Some(if index == 1 { &carried.chain } else { &carried.trust_anchor }),
            (None, None) => None,
        }
    }

    fn digests(&self) -> Response {
        match self.certs.installed() {
            Some(installed) => Response::Digests {
                certificate_sha256: sha256(&installed.certificate),
                chain_sha256: sha256(&installed.chain),
                trust_anchor_sha256: sha256(&installed.trust_anchor),
            },
            None => error(ErrorCode::BAD_STATE, "nothing installed"),
        }
    }

    fn describe_link(&mut self, station_max_frame: u32) -> Response {
        let Some(capacity) = self.capacity else {
            return error(ErrorCode::UNSUPPORTED, "no link tuning");
        };
        if (station_max_frame as usize) < MAX_FRAME {
            return error(ErrorCode::MALFORMED, "max_frame below the protocol's base frame");
        }
        self.agreed_frame = capacity.max_frame.min(station_max_frame as usize);
        Response::LinkInfo {
            max_frame: self.agreed_frame as u32,
            window: capacity.window,
            chain_sha256: self.held(1).map(sha256),
            trust_anchor_sha256: self.held(2).map(sha256),
        }
    }

    fn self_test(&mut self, nonce: &[u8]) -> Response {
        if self.certs.installed().is_none() {
            return error(ErrorCode::BAD_STATE, "no identity installed");
        }
        let mut h = Sha256::new();
        h.update(SELFTEST_CONTEXT);
        h.update(nonce);
        let digest: [u8; 32] = h.finalize().into();
        match self.keys.sign_digest(&digest) {
            Ok(signature) => Response::SelfTest { signature },
            Err(_) => error(ErrorCode::STORAGE, "signing failed"),
        }
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Encodes a response frame of at most `max_frame` bytes; falls back to a short error
/// if it would not fit.
pub(crate) fn encode_response(request_id: u16, response: &Response, max_frame: usize) -> Vec<u8> {
    let frame = Frame { version: PROTOCOL_VERSION, request_id, body: response.to_body() };
    frame.encode_within(max_frame).unwrap_or_else(|| {
        let fallback = error(ErrorCode::STORAGE, "response too large");
        // A short error response always fits in a frame.
        Frame { version: PROTOCOL_VERSION, request_id, body: fallback.to_body() }.encode().unwrap_or_default()
    })
}

fn hex_upper(bytes: &[u8]) -> String {
    hex_with(bytes, b"0123456789ABCDEF")
}

fn hex_lower(bytes: &[u8]) -> String {
    hex_with(bytes, b"0123456789abcdef")
}

fn hex_with(bytes: &[u8], digits: &[u8; 16]) -> String {
    bytes.iter().flat_map(|b| [digits[(b >> 4) as usize] as char, digits[(b & 15) as usize] as char]).collect()
}
