//! The simulated board: agent + persistent state + faults, serving a byte stream.

use crate::{BoardState, Fault, FaultStep, SimError};
use hallmark_agent::soft::{MemoryCertStore, SoftKeyStore};
use hallmark_agent::{csr, Agent, CarriedObjects, DeviceDescription, KeyStore, LinkCapacity};
use hallmark_protocol::{
    chunk_limit, Frame, FrameDecoder, ObjectId, Request, Response, MAX_LINK_FRAME, PROTOCOL_VERSION,
};
use rand::Rng;
use rand_core::OsRng;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

type SimAgent = Agent<SoftKeyStore, MemoryCertStore, OsRng>;

/// What the simulated board's link takes with `DescribeLink`: 4 KiB frames, four at a
/// time (a 16 KiB receive buffer, as on a board with DMA into RAM).
pub const SIM_LINK: LinkCapacity = LinkCapacity { max_frame: 4096, window: 4 };

/// Why [`Board::serve`] returned.
#[derive(Debug, PartialEq, Eq)]
pub enum ServeEnd {
    /// The stream ended.
    Eof,
    /// A `drop-after` fault cut the link after this step.
    Dropped(FaultStep),
    /// Reading or writing failed.
    Io(String),
}

/// A board's answer to one frame.
#[derive(Debug)]
pub struct Answer {
    /// The bytes to send (several frames, or none).
    pub wire: Vec<u8>,
    /// Cut the link after this step (`drop-after`).
    pub dropped: Option<FaultStep>,
    /// How long the board takes before it answers (`slow-keygen`).
    pub delay: Duration,
}

/// A simulated board.
pub struct Board {
    agent: SimAgent,
    state: BoardState,
    state_path: Option<PathBuf>,
    faults: Vec<Fault>,
    /// The CSR served instead of the agent's, for the CSR faults.
    csr_override: Option<Vec<u8>>,
    /// This session's CSR challenge (lower-case hex), which faulty CSRs carry too.
    challenge: Option<String>,
    oversized_sent: bool,
    /// `lose-commit-answer` has lost its answer.
    commit_answer_lost: bool,
    /// The TLS self-test client, between `TlsStart` and the end of the session.
    tls: Option<crate::tls::TlsClient>,
    /// Last TLS or broker request (id, body) and its answer: a retransmission must
    /// not feed the same TLS bytes twice or connect to the broker again.
    replay: Option<(u16, Vec<u8>, Vec<u8>)>,
    /// Request ids handed to the agent under `no-replay-cache`, so it never sees one twice.
    fresh_ids: u16,
}

impl Board {
    /// A board from its state; changes are saved to `state_path` if given.
    pub fn new(state: BoardState, state_path: Option<PathBuf>, faults: Vec<Fault>) -> Result<Board, SimError> {
        let bad = |why: &str| SimError::State { path: format!("{state_path:?}"), why: why.to_string() };
        let hardware_id = hex::decode(&state.hardware_id).map_err(|_| bad("hardware_id is not hex"))?;
        let keys = match &state.secret_key {
            Some(k) => SoftKeyStore::from_secret_bytes(&hex::decode(k).map_err(|_| bad("secret_key is not hex"))?)
                .map_err(|_| bad("secret_key is not a P-256 scalar"))?,
            None => SoftKeyStore::default(),
        };
        let certs = MemoryCertStore { identity: state.identity() };
        let desc = DeviceDescription {
            hardware_id,
            model: state.model.clone(),
            firmware_version: state.firmware_version.clone(),
        };
        let mut agent = Agent::new(desc, keys, certs, OsRng);
        if !faults.contains(&Fault::Legacy) {
            agent = agent.with_link_capacity(SIM_LINK);
        }
        Ok(Board {
            agent,
            state,
            state_path,
            faults,
            csr_override: None,
            challenge: None,
            oversized_sent: false,
            commit_answer_lost: false,
            tls: None,
            replay: None,
            fresh_ids: 0,
        })
    }

    /// The board's firmware carries `chain` (issuing CA first, concatenated DER) and
    /// `trust_anchor` for every board of its batch; reported in `LinkInfo`.
    pub fn carry(mut self, chain: Vec<u8>, trust_anchor: Vec<u8>) -> Board {
        self.agent = self.agent.with_carried_objects(CarriedObjects { chain, trust_anchor });
        self
    }

    /// The largest frame the board's receiver must take (its link capacity): what a
    /// loop serving [`Board::respond`] gives its `FrameDecoder`.
    pub fn receive_limit(&self) -> usize {
        self.agent.receive_limit()
    }

    /// The board's current persistent state.
    pub fn state(&self) -> &BoardState {
        &self.state
    }

    fn has(&self, f: impl Fn(&Fault) -> bool) -> bool {
        self.faults.iter().any(f)
    }

    /// Serves a pty master like [`Board::serve`], but also returns (as `Eof`) once
    /// `stop` is set, checked every 100 ms while the line is idle: how a fixture swaps
    /// in the next board.
    pub fn serve_until(&mut self, master: &mut std::fs::File, stop: &std::sync::atomic::AtomicBool) -> ServeEnd {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use std::os::fd::AsFd;
        use std::sync::atomic::Ordering;
        struct Idle<'a> {
            file: &'a mut std::fs::File,
            stop: &'a std::sync::atomic::AtomicBool,
        }
        impl Read for Idle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                loop {
                    if self.stop.load(Ordering::Relaxed) {
                        return Ok(0);
                    }
                    let mut fds = [PollFd::new(self.file.as_fd(), PollFlags::POLLIN)];
                    match poll(&mut fds, PollTimeout::from(100u16)) {
                        Ok(0) => continue,
                        Ok(_) => return self.file.read(buf),
                        Err(nix::errno::Errno::EINTR) => continue,
                        Err(e) => return Err(std::io::Error::other(e)),
                    }
                }
            }
        }
        impl Write for Idle<'_> {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.file.write(buf)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                self.file.flush()
            }
        }
        self.serve(&mut Idle { file: master, stop })
    }

    /// Serves frames from `io` until it ends or a fault drops the link.
    pub fn serve(&mut self, io: &mut (impl Read + Write)) -> ServeEnd {
        let mut decoder = FrameDecoder::with_limit(self.receive_limit());
        let mut buf = [0u8; 4096];
        // Set once the step named by `drop-after` has been answered: the link is cut
        // when the station next sends anything, so the answer itself still arrives
        // (closing a pty right after writing may discard unread data).
        let mut unplug_after: Option<FaultStep> = None;
        loop {
            let n = match io.read(&mut buf) {
                Ok(0) => return ServeEnd::Eof,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return ServeEnd::Io(e.to_string()),
            };
            if let Some(step) = unplug_after {
                return ServeEnd::Dropped(step);
            }
            for &byte in &buf[..n] {
                let Some(decoded) = decoder.push(byte) else { continue };
                let frame = match decoded {
                    Ok(frame) => frame,
                    // A real device drops bad frames silently; the station retransmits.
                    Err(e) => {
                        if self.has(|f| matches!(f, Fault::AnswerBadFrames)) {
                            let refusal = Response::Error {
                                code: hallmark_protocol::ErrorCode::MALFORMED,
                                detail: e.to_string(),
                            };
                            if let Err(e) = io.write_all(&self.encode(0, &refusal)).and_then(|()| io.flush()) {
                                return ServeEnd::Io(e.to_string());
                            }
                        } else {
                            eprintln!("sim: dropped a bad frame from the station: {e}");
                        }
                        continue;
                    }
                };
                let Answer { wire, dropped, delay } = self.respond(&frame);
                std::thread::sleep(delay);
                if let Err(e) = io.write_all(&wire).and_then(|()| io.flush()) {
                    return ServeEnd::Io(e.to_string());
                }
                if dropped.is_some() {
                    unplug_after = dropped;
                }
            }
        }
    }

    /// Answers one frame. The caller waits [`Answer::delay`] before sending (a thread
    /// sleeps; an in-process test under paused tokio time sleeps for nothing).
    pub fn respond(&mut self, frame: &Frame) -> Answer {
        let now = |wire: Vec<u8>| Answer { wire, dropped: None, delay: Duration::ZERO };
        if self.has(|f| matches!(f, Fault::Silent)) {
            return now(Vec::new());
        }
        if self.has(|f| matches!(f, Fault::OversizedFrame)) && !self.oversized_sent {
            self.oversized_sent = true;
            // Larger than any frame a link may agree on.
            let mut junk = vec![0x55u8; hallmark_protocol::encoded_limit(MAX_LINK_FRAME) * 2];
            junk.push(0);
            return now(junk);
        }
        let request = Request::from_body_within(&frame.body, chunk_limit(self.agent.receive_limit())).ok();
        match &request {
            Some(Request::Hello { .. } | Request::Finish) => self.challenge = None,
            Some(Request::CsrChallenge { challenge }) => {
                self.challenge = Some(hex::encode(challenge));
                self.csr_override = None;
            }
            _ => {}
        }
        let mut delay = Duration::ZERO;
        if let Some(Request::GenerateKey { .. }) = &request {
            self.csr_override = None;
            if let Some(Fault::SlowKeygen(d)) = self.faults.iter().find(|f| matches!(f, Fault::SlowKeygen(_))) {
                delay = *d;
            }
        }
        let mut wire = match &request {
            Some(Request::TlsStart) if self.has(|f| matches!(f, Fault::TlsUnsupported)) => self.encode(
                frame.request_id,
                &Response::Error { code: hallmark_protocol::ErrorCode::UNSUPPORTED, detail: "no TLS stack".into() },
            ),
            Some(Request::CsrChallenge { .. }) if self.has(|f| matches!(f, Fault::NoCsrBinding)) => self.encode(
                frame.request_id,
                &Response::Error { code: hallmark_protocol::ErrorCode::MALFORMED, detail: "unknown request".into() },
            ),
            // Without a TLS stack (`no-tls`) these reach the agent, which refuses them.
            Some(r @ (Request::TlsStart | Request::TlsData { .. } | Request::BrokerTest { .. }))
                if !self.has(|f| matches!(f, Fault::NoTls)) =>
            {
                self.replayable(frame, r)
            }
            Some(Request::CommitInstall { .. }) if self.has(|f| matches!(f, Fault::RejectInstall)) => self.encode(
                frame.request_id,
                &Response::Error {
                    code: hallmark_protocol::ErrorCode::KEY_MISMATCH,
                    detail: "certificate does not match the stored key".into(),
                },
            ),
            // Firmware of the first v1 release knows neither request.
            Some(Request::ReadDigests | Request::DescribeLink { .. }) if self.has(|f| matches!(f, Fault::Legacy)) => {
                self.encode(
                    frame.request_id,
                    &Response::Error {
                        code: hallmark_protocol::ErrorCode::MALFORMED,
                        detail: "message body could not be decoded".into(),
                    },
                )
            }
            Some(Request::ReadObject { object: ObjectId::Csr, offset }) if self.csr_faulty() => {
                self.faulty_csr_chunk(frame.request_id, *offset)
            }
            Some(Request::GenerateKey { .. }) if self.has(|f| matches!(f, Fault::GarbageResponse)) => {
                Frame { version: PROTOCOL_VERSION, request_id: frame.request_id, body: vec![0xFF, 0xFF, 0xFF] }
                    .encode()
                    .unwrap_or_default()
            }
            Some(Request::GenerateKey { .. }) if self.has(|f| matches!(f, Fault::StorageError)) => self.encode(
                frame.request_id,
                &Response::Error { code: hallmark_protocol::ErrorCode::STORAGE, detail: "flash write failed".into() },
            ),
            Some(request) => {
                let request = request.clone();
                let wire = self.agent_answer(frame);
                self.rewrite(&request, wire)
            }
            None => self.agent_answer(frame),
        };
        if self.has(|f| matches!(f, Fault::VersionErrorIdZero)) {
            wire = with_request_id(&wire, 0, |r| {
                matches!(r, Response::Error { code: hallmark_protocol::ErrorCode::UNSUPPORTED_VERSION, .. })
            });
        }
        if matches!(request, Some(Request::CommitInstall { .. }))
            && self.has(|f| matches!(f, Fault::LoseCommitAnswer))
            && !std::mem::replace(&mut self.commit_answer_lost, true)
        {
            wire.clear();
        }
        let dropped = self.drop_step(request.as_ref(), &wire);
        self.persist();
        self.maybe_corrupt(&mut wire);
        self.forge_answers(frame.request_id, request.as_ref(), &mut wire);
        Answer { wire, dropped, delay }
    }

    /// The agent's answer; under `no-replay-cache` the agent gets a request id it has
    /// never seen, so a retransmission runs again, and the answer gets the real id back.
    fn agent_answer(&mut self, frame: &Frame) -> Vec<u8> {
        if !self.has(|f| matches!(f, Fault::NoReplayCache)) {
            return self.agent.handle_frame(frame);
        }
        self.fresh_ids = self.fresh_ids.wrapping_add(1);
        let renamed = Frame { request_id: self.fresh_ids, ..frame.clone() };
        let wire = self.agent.handle_frame(&renamed);
        with_request_id(&wire, frame.request_id, |_| true)
    }

    /// The faults that send answers nobody asked for.
    fn forge_answers(&self, request_id: u16, request: Option<&Request>, wire: &mut Vec<u8>) {
        let forged = |id: u16| {
            let mut other = SoftKeyStore::default();
            other.generate(hallmark_protocol::KeyAlgorithm::EcdsaP256, &mut OsRng).ok();
            let public_key = other.public_key().unwrap_or_default();
            self.encode(
                id,
                &Response::KeyGenerated { algorithm: hallmark_protocol::KeyAlgorithm::EcdsaP256, public_key },
            )
        };
        if matches!(request, Some(Request::Hello { .. })) && self.has(|f| matches!(f, Fault::AnswerAhead)) {
            // Sequential ids were once predictable: answer the next few in advance.
            for ahead in 1..=4u16 {
                wire.extend(forged(request_id.wrapping_add(ahead)));
            }
        }
        if matches!(request, Some(Request::GenerateKey { .. })) && self.has(|f| matches!(f, Fault::FloodAnswers)) {
            let mut flood = Vec::new();
            for _ in 0..64 {
                flood.extend(forged(rand::random()));
            }
            flood.append(wire);
            *wire = flood;
        }
    }

    /// Another board's key, from its state file (for `key-of` and `replay-csr`).
    fn key_from(path: &std::path::Path) -> Option<SoftKeyStore> {
        let state = BoardState::load_or_create(path).ok()?;
        let secret = hex::decode(state.secret_key?).ok()?;
        SoftKeyStore::from_secret_bytes(&secret).ok()
    }

    /// Applies the faults that alter an otherwise correct answer.
    fn rewrite(&mut self, request: &Request, wire: Vec<u8>) -> Vec<u8> {
        let Some((frame, response)) = self.decode_answer(&wire) else { return wire };
        let altered = match (request, response) {
            (Request::Hello { .. }, Response::Hello(mut info))
                if self.has(|f| matches!(f, Fault::WrongProtocolVersion)) =>
            {
                info.protocol_version = 2;
                Response::Hello(info)
            }
            (Request::Hello { .. }, Response::Hello(mut info)) if self.has(|f| matches!(f, Fault::NoCapabilities)) => {
                info.capabilities = 0;
                Response::Hello(info)
            }
            (Request::Hello { .. }, Response::Hello(mut info)) => {
                use hallmark_protocol::capability;
                // The simulator has a TLS stack (rustls) and an MQTT client: it offers
                // the link and broker self-tests.
                if !self.has(|f| matches!(f, Fault::NoTls)) {
                    info.capabilities |= capability::SELFTEST_TLS_LINK | capability::SELFTEST_BROKER;
                }
                if self.has(|f| matches!(f, Fault::NoCsrBinding)) {
                    info.capabilities &= !capability::CSR_CHALLENGE;
                }
                if self.has(|f| matches!(f, Fault::Legacy)) {
                    info.capabilities &= !(capability::READ_DIGESTS | capability::LINK_TUNING);
                }
                Response::Hello(info)
            }
            (Request::GenerateKey { .. }, Response::KeyGenerated { algorithm, public_key }) => {
                self.rewrite_key(algorithm, public_key)
            }
            (
                Request::ReadObject { object: ObjectId::Certificate, .. },
                Response::Chunk { total_len, offset, mut data },
            ) if self.has(|f| matches!(f, Fault::ReadbackMismatch)) => {
                let middle = data.len() / 2;
                if let Some(b) = data.get_mut(middle) {
                    *b ^= 0x01;
                }
                Response::Chunk { total_len, offset, data }
            }
            (Request::SelfTest { nonce }, Response::SelfTest { .. })
                if self.has(|f| matches!(f, Fault::SelftestWrongKey)) =>
            {
                let mut other = SoftKeyStore::default();
                other.generate(hallmark_protocol::KeyAlgorithm::EcdsaP256, &mut OsRng).ok();
                let digest: [u8; 32] = {
                    use sha2::Digest;
                    let mut h = sha2::Sha256::new();
                    h.update(hallmark_protocol::SELFTEST_CONTEXT);
                    h.update(nonce);
                    h.finalize().into()
                };
                Response::SelfTest { signature: other.sign_digest(&digest).unwrap_or_default() }
            }
            (Request::DescribeLink { .. }, Response::LinkInfo { window, chain_sha256, trust_anchor_sha256, .. })
                if self.has(|f| matches!(f, Fault::LinkInfoOversized)) =>
            {
                Response::LinkInfo { max_frame: MAX_LINK_FRAME as u32, window, chain_sha256, trust_anchor_sha256 }
            }
            (Request::ReadDigests, Response::Digests { mut certificate_sha256, chain_sha256, trust_anchor_sha256 })
                if self.has(|f| matches!(f, Fault::ReadbackMismatch)) =>
            {
                // The digest of a certificate with a byte changed in storage.
                certificate_sha256[0] ^= 0x01;
                Response::Digests { certificate_sha256, chain_sha256, trust_anchor_sha256 }
            }
            _ => return wire,
        };
        self.encode(frame.request_id, &altered)
    }

    /// The one frame in `wire` and its response, decoded at this session's limits.
    fn decode_answer(&self, wire: &[u8]) -> Option<(Frame, Response)> {
        let mut d = FrameDecoder::with_limit(self.agent.receive_limit());
        let frame = wire.iter().find_map(|&b| d.push(b))?.ok()?;
        let response = Response::from_body_within(&frame.body, self.agent.chunk_limit()).ok()?;
        Some((frame, response))
    }

    /// Applies the key faults to a `KeyGenerated` answer.
    fn rewrite_key(&mut self, algorithm: hallmark_protocol::KeyAlgorithm, public_key: Vec<u8>) -> Response {
        use hallmark_protocol::KeyAlgorithm;
        let copied = self.faults.iter().find_map(|f| match f {
            Fault::KeyOf(p) => Some((p.clone(), true)),
            Fault::ReplayCsr(p) => Some((p.clone(), false)),
            _ => None,
        });
        if let Some((path, holds_it)) = copied {
            let Some(other) = Self::key_from(&path) else {
                return Response::Error {
                    code: hallmark_protocol::ErrorCode::STORAGE,
                    detail: "no key to copy".into(),
                };
            };
            let public_key = other.public_key().unwrap_or_default();
            if holds_it {
                *self.agent.keys_mut() = other;
            }
            return Response::KeyGenerated { algorithm, public_key };
        }
        if self.has(|f| matches!(f, Fault::KeygenP384)) {
            let mut p384 = vec![0x04];
            p384.extend(std::iter::repeat_n(0x11, 96));
            return Response::KeyGenerated { algorithm: KeyAlgorithm::EcdsaP384, public_key: p384 };
        }
        if self.has(|f| matches!(f, Fault::KeygenCompressed)) {
            let mut compressed = public_key.get(..33).unwrap_or_default().to_vec();
            if let Some(first) = compressed.first_mut() {
                *first = 0x02 | (public_key.last().copied().unwrap_or(0) & 1);
            }
            return Response::KeyGenerated { algorithm, public_key: compressed };
        }
        if self.has(|f| matches!(f, Fault::KeygenOffCurve)) {
            let mut off = public_key;
            if let Some(last) = off.last_mut() {
                *last ^= 0x01;
            }
            return Response::KeyGenerated { algorithm, public_key: off };
        }
        Response::KeyGenerated { algorithm, public_key }
    }

    /// Requests with effects beyond the agent (TLS, broker): a retransmission gets
    /// the cached answer instead of running them twice.
    fn replayable(&mut self, frame: &Frame, request: &Request) -> Vec<u8> {
        if let Some((id, body, wire)) = &self.replay {
            if *id == frame.request_id && *body == frame.body {
                return wire.clone();
            }
        }
        let response = match request {
            Request::BrokerTest { host, port, server_name, topic, nonce, timeout_ms } => {
                let endpoint =
                    hallmark_mqtt::Endpoint { host: host.clone(), port: *port, server_name: server_name.clone() };
                self.broker_test(&endpoint, topic, nonce, *timeout_ms)
            }
            _ => self.tls_request(request),
        };
        let wire = self.encode(frame.request_id, &response);
        self.replay = Some((frame.request_id, frame.body.clone(), wire.clone()));
        wire
    }

    /// `TlsStart` / `TlsData`: the board's TLS client, as firmware with a TLS stack
    /// would run it.
    fn tls_request(&mut self, request: &Request) -> Response {
        let failed = |why: String| {
            let mut detail = format!("TLS: {why}");
            detail.truncate(hallmark_protocol::MAX_TEXT);
            Response::Error { code: hallmark_protocol::ErrorCode::STORAGE, detail }
        };
        match request {
            Request::TlsStart => match self.tls_config("foreign-device") {
                Ok(config) => match crate::tls::TlsClient::start(config) {
                    Ok(client) => {
                        self.tls = Some(client);
                        self.tls_output()
                    }
                    Err(e) => failed(e),
                },
                Err(e) => e,
            },
            Request::TlsData { data } => match self.tls.as_mut().map(|c| c.receive(data)) {
                Some(Ok(())) => self.tls_output(),
                Some(Err(e)) => failed(e),
                None => Response::Error {
                    code: hallmark_protocol::ErrorCode::BAD_STATE,
                    detail: "send TlsStart first".into(),
                },
            },
            _ => Response::Error { code: hallmark_protocol::ErrorCode::MALFORMED, detail: "not TLS".into() },
        }
    }

    /// `BrokerTest`: connect to the broker over mutual TLS with the installed identity
    /// and publish the nonce, as firmware with an MQTT client would.
    fn broker_test(&self, endpoint: &hallmark_mqtt::Endpoint, topic: &str, nonce: &[u8], timeout_ms: u32) -> Response {
        use hallmark_protocol::BrokerOutcome;
        // The broker takes the username (and client id) from the certificate CN.
        let client_id = topic.split('/').nth(1).unwrap_or_default().to_string();
        let config = match self.tls_config(&client_id) {
            Ok(c) => c,
            Err(e) => return e,
        };
        let topic = if self.has(|f| matches!(f, Fault::BrokerWrongTopic)) {
            format!("devices/{client_id}X/selftest")
        } else {
            topic.to_string()
        };
        let started = std::time::Instant::now();
        let deadline = started + std::time::Duration::from_millis(timeout_ms as u64);
        let result = |outcome: BrokerOutcome, detail: String| {
            let mut detail = detail;
            detail.truncate(hallmark_protocol::MAX_TEXT);
            Response::BrokerResult { outcome, connect_ms: started.elapsed().as_millis() as u32, detail }
        };
        let mut session = match hallmark_mqtt::Session::connect(endpoint, config, &client_id, deadline) {
            Ok(s) => s,
            Err(e) => return result(e.outcome, e.detail),
        };
        let connect_ms = started.elapsed().as_millis() as u32;
        let published = session.publish(&topic, hex::encode(nonce).as_bytes(), deadline);
        session.disconnect();
        match published {
            Ok(()) => Response::BrokerResult { outcome: BrokerOutcome::PUBLISHED, connect_ms, detail: String::new() },
            Err(e) => result(e.outcome, e.detail),
        }
    }

    /// The TLS client configuration of the board's identity: the installed one, or
    /// what a fault says instead.
    fn tls_config(&self, foreign_cn: &str) -> Result<std::sync::Arc<rustls::ClientConfig>, Response> {
        let failed = |why: String| {
            let mut detail = format!("TLS: {why}");
            detail.truncate(hallmark_protocol::MAX_TEXT);
            Response::Error { code: hallmark_protocol::ErrorCode::STORAGE, detail }
        };
        let Some(identity) = self.agent.certs().identity.clone() else {
            return Err(Response::Error {
                code: hallmark_protocol::ErrorCode::BAD_STATE,
                detail: "no identity installed".into(),
            });
        };
        if self.has(|f| matches!(f, Fault::ForeignCa)) {
            return crate::tls::foreign_config(&identity, foreign_cn).map_err(failed);
        }
        let key = self.tls_key().map_err(failed)?;
        crate::tls::identity_config(&identity, key).map_err(failed)
    }

    fn tls_output(&mut self) -> Response {
        match self.tls.as_mut() {
            Some(c) => {
                let (data, pending, established) = c.take(self.agent.chunk_limit());
                Response::TlsData { data, pending, established }
            }
            None => Response::TlsData { data: Vec::new(), pending: 0, established: false },
        }
    }

    /// The key the TLS client signs with: the board's own, unless a fault says otherwise.
    fn tls_key(&self) -> Result<Vec<u8>, String> {
        let secret = if self.has(|f| matches!(f, Fault::TlsWrongKey)) {
            let mut other = SoftKeyStore::default();
            other.generate(hallmark_protocol::KeyAlgorithm::EcdsaP256, &mut OsRng).ok();
            other.secret_bytes()
        } else {
            self.agent.keys().secret_bytes()
        };
        crate::tls::pkcs8_from_scalar(&secret.ok_or("no key")?)
    }

    fn csr_faulty(&self) -> bool {
        self.has(|f| matches!(f, Fault::BadCsrSignature | Fault::CsrWrongKey | Fault::ReplayCsr(_) | Fault::GarbageCsr))
    }

    fn faulty_csr_chunk(&mut self, request_id: u16, offset: u32) -> Vec<u8> {
        if self.csr_override.is_none() {
            let cn = self.state.hardware_id.clone();
            let replayed = self.faults.iter().find_map(|f| match f {
                Fault::ReplayCsr(p) => Some(p.clone()),
                _ => None,
            });
            let built = if self.has(|f| matches!(f, Fault::GarbageCsr)) {
                // Not DER at all: a firmware that serves the wrong buffer.
                Some(b"this is not a certificate request".to_vec())
            } else if let Some(path) = replayed {
                // A CSR recorded in another session: that session's challenge.
                let stale: [u8; 32] = rand::random();
                Self::key_from(&path).and_then(|mut other| csr::build(&mut other, &cn, Some(&hex::encode(stale))).ok())
            } else if self.has(|f| matches!(f, Fault::CsrWrongKey)) {
                // A validly signed CSR, but for some other key.
                let mut other = SoftKeyStore::default();
                other.generate(hallmark_protocol::KeyAlgorithm::EcdsaP256, &mut OsRng).ok();
                csr::build(&mut other, &cn, self.challenge.as_deref()).ok()
            } else {
                // The real CSR with its signature's last byte flipped (DER stays valid).
                let challenge = self.challenge.clone();
                csr::build(self.agent.keys_mut(), &cn, challenge.as_deref()).ok().map(|mut der| {
                    if let Some(last) = der.last_mut() {
                        *last ^= 0x5A;
                    }
                    der
                })
            };
            self.csr_override = built;
        }
        let response = match &self.csr_override {
            Some(der) if (offset as usize) <= der.len() => {
                let start = offset as usize;
                let end = (start + self.agent.chunk_limit()).min(der.len());
                Response::Chunk { total_len: der.len() as u32, offset, data: der[start..end].to_vec() }
            }
            _ => Response::Error { code: hallmark_protocol::ErrorCode::BAD_STATE, detail: "no key".into() },
        };
        self.encode(request_id, &response)
    }

    /// Whether this answer completes the step a `drop-after` fault names.
    fn drop_step(&self, request: Option<&Request>, wire: &[u8]) -> Option<FaultStep> {
        let target = self.faults.iter().find_map(|f| match f {
            Fault::DropAfter(s) => Some(*s),
            _ => None,
        })?;
        let last_chunk = || match self.decode_answer(wire)?.1 {
            Response::Chunk { total_len, offset, data } => Some(offset as usize + data.len() >= total_len as usize),
            _ => None,
        };
        let done = match (target, request?) {
            (FaultStep::Hello, Request::Hello { .. }) => true,
            (FaultStep::Keygen, Request::GenerateKey { .. }) => true,
            (FaultStep::Csr, Request::ReadObject { object: ObjectId::Csr, .. }) => last_chunk() == Some(true),
            (FaultStep::Install, Request::CommitInstall { .. }) => true,
            (FaultStep::Readback, Request::ReadObject { object: ObjectId::TrustAnchor, .. }) => {
                last_chunk() == Some(true)
            }
            (FaultStep::Readback, Request::ReadDigests) => true,
            (FaultStep::Selftest, Request::SelfTest { .. }) => true,
            _ => false,
        };
        done.then_some(target)
    }

    fn maybe_corrupt(&self, wire: &mut [u8]) {
        let Some(rate) = self.faults.iter().find_map(|f| match f {
            Fault::CorruptFrames(r) => Some(*r),
            _ => None,
        }) else {
            return;
        };
        let mut rng = rand::thread_rng();
        if wire.len() > 1 && rng.gen_bool(rate) {
            let i = rng.gen_range(0..wire.len() - 1);
            wire[i] ^= rng.gen_range(1..=255u8);
        }
    }

    /// Saves the state file if the key or the installed identity changed.
    fn persist(&mut self) {
        let mut next = self.state.clone();
        next.secret_key = self.agent.keys().secret_bytes().map(hex::encode);
        next.set_identity(self.agent.certs().identity.as_ref());
        if next != self.state {
            self.state = next;
            if let Some(path) = &self.state_path {
                if let Err(e) = self.state.save(path) {
                    eprintln!("sim: {e}");
                }
            }
        }
    }
}

/// `wire` (one answer frame, of any size a link may agree on) under another request
/// id, when `which` says so.
fn with_request_id(wire: &[u8], request_id: u16, which: impl Fn(&Response) -> bool) -> Vec<u8> {
    let mut d = FrameDecoder::with_limit(MAX_LINK_FRAME);
    match wire.iter().find_map(|&b| d.push(b)) {
        Some(Ok(frame))
            if Response::from_body_within(&frame.body, chunk_limit(MAX_LINK_FRAME)).is_ok_and(|r| which(&r)) =>
        {
            Frame { request_id, ..frame }.encode_within(MAX_LINK_FRAME).unwrap_or_default()
        }
        _ => wire.to_vec(),
    }
}

impl Board {
    /// An answer frame at this session's agreed frame size; one that would not fit is
    /// sent as nothing (the station times out, as with a board that lost it).
    fn encode(&self, request_id: u16, response: &Response) -> Vec<u8> {
        Frame { version: PROTOCOL_VERSION, request_id, body: response.to_body() }
            .encode_within(self.agent.frame_limit())
            .unwrap_or_default()
    }
}
