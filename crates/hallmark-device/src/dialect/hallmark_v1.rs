//! Hallmark provisioning protocol v1 (`hallmark-protocol`): framed requests with
//! deadlines and retransmission ([`DeviceClient`]), objects moved in chunks, every
//! capability announced in `Hello`.
//!
//! With a board that offers them (issue #19), fewer bytes and turnarounds: the link
//! is described once (`DescribeLink`, sent in front of the CSR read) for larger frames
//! and a window; the CSR read and the install each travel as one burst; the chain and
//! trust anchor the board already holds are not sent; the read-back asks for digests
//! ([`Readback::Digests`]) unless the station's configuration wants the bytes.

use super::{
    unsupported, BoardFacts, Capabilities, CsrBinding, DeviceError, Dialect, GeneratedKey, Installation, ReadBack,
    SelfTests,
};
use crate::client::{check_written, unexpected, Burst, DeviceClient, LinkError};
use crate::selftest::{self, BrokerEvidence, BrokerFailure, LinkEvidence, LinkFailure};
use crate::transport::Link;
use crate::{Failure, FailureCode};
use hallmark_ca::{fingerprint, IssuingCa};
use hallmark_config::BrokerSection;
use hallmark_protocol::{
    capability, DeviceInfo, ErrorCode, KeyAlgorithm, ObjectId, Request, Response, MAX_FRAME, MAX_LINK_FRAME,
    MAX_WINDOW, MIN_LINK_WINDOW, MIN_PROTOCOL_VERSION, NONCE_LEN, PROTOCOL_VERSION,
};
use hallmark_store::IssuedCertificate;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// How the station checks what it installed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Readback {
    /// The board's SHA-256 of each stored object, where it offers `READ_DIGESTS`;
    /// the whole objects otherwise.
    #[default]
    Digests,
    /// Always the whole objects, byte for byte (for QA audits).
    Full,
}

/// What the station asks of a board's link (`[link]` in the configuration).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkTuning {
    /// How installs are checked.
    pub readback: Readback,
    /// Largest frame the station offers in `DescribeLink`; [`MAX_FRAME`] (or less)
    /// keeps the base frame and sends no `DescribeLink`.
    pub max_frame: usize,
    /// Most requests in one burst; 1 sends every request alone.
    pub window: u8,
}

impl Default for LinkTuning {
    fn default() -> Self {
        LinkTuning { readback: Readback::Digests, max_frame: MAX_LINK_FRAME, window: MAX_WINDOW }
    }
}

/// What the board said in `LinkInfo`, bounded by the station's tuning.
#[derive(Clone, Copy, Debug, Default)]
struct AgreedLink {
    window: usize,
    chain_sha256: Option<[u8; 32]>,
    trust_anchor_sha256: Option<[u8; 32]>,
}

/// A board running Hallmark's agent.
pub struct HallmarkV1<L> {
    client: DeviceClient<L>,
    capabilities: u32,
    tuning: LinkTuning,
    /// Set once the board answered `DescribeLink` in this session.
    agreed: Option<AgreedLink>,
}

impl<L: Link> HallmarkV1<L> {
    /// Speaks v1 through `client`, with the default [`LinkTuning`].
    pub fn new(client: DeviceClient<L>) -> HallmarkV1<L> {
        HallmarkV1 { client, capabilities: 0, tuning: LinkTuning::default(), agreed: None }
    }

    /// Uses `tuning` for this board's link.
    pub fn tuned(mut self, tuning: LinkTuning) -> HallmarkV1<L> {
        self.tuning = tuning;
        self
    }

    /// `DescribeLink`, if the board offers it, the station wants larger frames, and
    /// it was not sent yet in this session.
    fn describe_request(&self) -> Option<Request> {
        let wanted = self.tuning.max_frame.min(MAX_LINK_FRAME);
        (self.agreed.is_none() && self.offers(capability::LINK_TUNING) && wanted > MAX_FRAME)
            .then_some(Request::DescribeLink { max_frame: wanted as u32 })
    }

    /// Puts the board's `LinkInfo` in force.
    fn agree(&mut self, answer: Response) -> Result<(), DeviceError> {
        let Response::LinkInfo { max_frame, window, chain_sha256, trust_anchor_sha256 } = answer else {
            return Err(link_error(answer, "a description of its link"));
        };
        let offered = self.tuning.max_frame.min(MAX_LINK_FRAME);
        if max_frame as usize > offered {
            return Err(DeviceError::Link(LinkError::Unexpected {
                words: format!("the board chose {max_frame}-byte frames where the station offered {offered}"),
                detail: format!("LinkInfo {{ max_frame: {max_frame} }}"),
            }));
        }
        self.client.use_frame_size(max_frame as usize);
        let window = usize::from(window.min(self.tuning.window).clamp(1, MAX_WINDOW));
        self.agreed = Some(AgreedLink { window, chain_sha256, trust_anchor_sha256 });
        Ok(())
    }

    /// Describes the link now (one request), if it is due.
    async fn describe(&mut self) -> Result<(), DeviceError> {
        if let Some(request) = self.describe_request() {
            let answer = self.call(&request).await?;
            self.agree(answer)?;
        }
        Ok(())
    }

    /// How many requests may travel in one burst (1: none).
    fn window(&self) -> usize {
        self.agreed.map_or(1, |a| a.window)
    }

    /// The certificate request, after the link description and challenge that travel
    /// with it: as one burst on a board that takes bursts.
    async fn csr_burst(&mut self, before: Vec<Request>) -> Result<Vec<u8>, DeviceError> {
        let mut requests = before.clone();
        requests.push(Request::ReadObject { object: ObjectId::Csr, offset: 0 });
        // The window is the board's once described; a board offering LINK_TUNING
        // takes MIN_LINK_WINDOW base-size requests before that.
        let window = if self.agreed.is_some() { self.window() } else { usize::from(MIN_LINK_WINDOW) };
        let describing = before.iter().any(|r| matches!(r, Request::DescribeLink { .. }));
        if requests.len() > 1 && self.offers(capability::LINK_TUNING) && requests.len() <= window {
            if describing {
                // The board may answer in the frame size it is agreeing to; it cannot
                // exceed the offer.
                self.client.use_frame_size(self.tuning.max_frame.min(MAX_LINK_FRAME));
            }
            if let Burst::Complete(answers) = self.client.call_burst(&requests, self.client.timeouts().response).await?
            {
                let mut answers = answers.into_iter();
                for request in &before {
                    let answer = answers.next().ok_or_else(|| missing_answer("the certificate request"))?;
                    self.take_answer(request, answer)?;
                }
                let first = answers.next().ok_or_else(|| missing_answer("the certificate request"))?;
                let first = ok_or_device(first)?;
                return Ok(self.client.read_object_from(ObjectId::Csr, first).await?);
            }
            // A lost answer: every request here is safe to run again, one at a time
            // (the link description first, at the base frame, as if never sent).
            if describing {
                self.client.use_frame_size(MAX_FRAME);
            }
        }
        for request in &before {
            let answer = self.call(request).await?;
            self.take_answer(request, answer)?;
        }
        Ok(self.client.read_object(ObjectId::Csr).await?)
    }

    /// Checks the answer to a request sent ahead of the CSR read.
    fn take_answer(&mut self, request: &Request, answer: Response) -> Result<(), DeviceError> {
        let answer = ok_or_device(answer)?;
        match (request, answer) {
            (Request::DescribeLink { .. }, answer) => self.agree(answer),
            (Request::CsrChallenge { .. }, Response::ChallengeAccepted) => Ok(()),
            (_, other) => Err(link_error(other, "a challenge acknowledgement")),
        }
    }

    /// Stages `requests` (object writes) and commits them: in bursts of the board's
    /// window, or one at a time. `Ok(false)`: a burst lost an answer.
    async fn install_requests(&mut self, requests: &[Request]) -> Result<bool, DeviceError> {
        let window = self.window();
        if window < 2 {
            for request in requests {
                let answer = self.call(request).await?;
                check_install_answer(request, answer)?;
            }
            return Ok(true);
        }
        for burst in requests.chunks(window) {
            match self.client.call_burst(burst, self.client.timeouts().response).await? {
                Burst::Complete(answers) => {
                    for (request, answer) in burst.iter().zip(answers) {
                        check_install_answer(request, answer)?;
                    }
                }
                Burst::Broken(_) => return Ok(false),
            }
        }
        Ok(true)
    }

    /// Whether the board holds `inst` as its installed identity: by its digests, or by
    /// its certificate read back (an install is atomic, so the chain and trust anchor
    /// came with it).
    async fn holds(&mut self, inst: &Installation) -> Result<bool, DeviceError> {
        let sha = |b: &[u8]| -> [u8; 32] { Sha256::digest(b).into() };
        if self.offers(capability::READ_DIGESTS) {
            return match self.call(&Request::ReadDigests).await {
                Ok(Response::Digests { certificate_sha256, chain_sha256, trust_anchor_sha256 }) => {
                    Ok([certificate_sha256, chain_sha256, trust_anchor_sha256]
                        == [sha(&inst.certificate), sha(&inst.chain), sha(&inst.trust_anchor)])
                }
                Ok(other) => Err(link_error(other, "digests of what it stores")),
                Err(DeviceError::Link(LinkError::Device { code: ErrorCode::BAD_STATE, .. })) => Ok(false),
                Err(e) => Err(e),
            };
        }
        match self.client.read_object(ObjectId::Certificate).await {
            Ok(certificate) => Ok(certificate == inst.certificate),
            Err(LinkError::Device { code: ErrorCode::BAD_STATE, .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// One request with its deadline (key generation takes longer than the rest).
    async fn call(&mut self, request: &Request) -> Result<Response, DeviceError> {
        let deadline = match request {
            Request::GenerateKey { .. } => self.client.timeouts().keygen,
            _ => self.client.timeouts().response,
        };
        Ok(self.client.call(request, deadline).await?)
    }

    fn offers(&self, bits: u32) -> bool {
        self.capabilities & bits == bits
    }
}

/// A device error answer as the error it is; any other answer as itself.
fn ok_or_device(answer: Response) -> Result<Response, DeviceError> {
    match answer {
        Response::Error { code, detail } => Err(DeviceError::Link(LinkError::Device { code, detail })),
        other => Ok(other),
    }
}

/// An answer of the wrong kind (or a device error) as the seam's error.
fn link_error(answer: Response, expected: &str) -> DeviceError {
    match answer {
        Response::Error { code, detail } => DeviceError::Link(LinkError::Device { code, detail }),
        other => DeviceError::Link(unexpected(expected, &other)),
    }
}

fn missing_answer(what: &str) -> DeviceError {
    DeviceError::Link(LinkError::Unexpected {
        words: format!("the board's answers to {what} came up short"),
        detail: "a complete burst with fewer answers than requests".into(),
    })
}

/// Checks one answer of an install: a write acknowledged whole, or the commit done.
fn check_install_answer(request: &Request, answer: Response) -> Result<(), DeviceError> {
    match request {
        Request::WriteObject { .. } => Ok(check_written(request, &answer)?),
        _ => match answer {
            Response::Installed => Ok(()),
            other => Err(link_error(other, "an install confirmation")),
        },
    }
}

/// The capabilities a v1 board announces, as the seam's.
fn capabilities_of(info: &DeviceInfo) -> Capabilities {
    let has = |bits: u32| info.capabilities & bits == bits;
    Capabilities {
        generates_p256: has(capability::KEYGEN_P256),
        csr_binding: if has(capability::CSR_CHALLENGE) { CsrBinding::Challenge } else { CsrBinding::None },
        csr_for_existing_key: true,
        self_tests: SelfTests {
            possession: has(capability::SELFTEST_SIGN),
            tls_link: has(capability::SELFTEST_TLS_LINK),
            broker: has(capability::SELFTEST_BROKER),
            attested_key: false,
        },
    }
}

impl<L: Link> Dialect for HallmarkV1<L> {
    fn name(&self) -> &'static str {
        "hallmark-v1"
    }

    fn link_stats(&self) -> Option<crate::client::LinkStats> {
        Some(self.client.stats())
    }

    async fn identify(&mut self) -> Result<(BoardFacts, Capabilities), DeviceError> {
        // Hello starts a session at the base frame, whatever an earlier one agreed.
        self.agreed = None;
        self.client.use_frame_size(MAX_FRAME);
        let hello = Request::Hello { min_version: MIN_PROTOCOL_VERSION, max_version: PROTOCOL_VERSION };
        let info = match self.call(&hello).await? {
            Response::Hello(info) => info,
            other => return Err(DeviceError::Link(unexpected("its description", &other))),
        };
        if info.protocol_version != PROTOCOL_VERSION {
            return Err(DeviceError::Refused(Failure::new(
                FailureCode::UnsupportedProtocol,
                format!(
                    "The board chose protocol version {}, which this station does not speak.",
                    info.protocol_version
                ),
                "Update the station or the firmware.",
            )));
        }
        // Protocol v1 requires both: a board without them is not a provisioning board.
        let needed = capability::KEYGEN_P256 | capability::SELFTEST_SIGN;
        if info.capabilities & needed != needed {
            return Err(DeviceError::Refused(Failure::new(
                FailureCode::KeyUnsupported,
                "The board's firmware cannot generate a P-256 key or sign a self-test.",
                "Flash provisioning-capable firmware.",
            )));
        }
        self.capabilities = info.capabilities;
        let capabilities = capabilities_of(&info);
        let facts = BoardFacts {
            hardware_id: info.hardware_id,
            model: info.model,
            firmware_version: info.firmware_version,
            has_key: info.has_key,
            has_certificate: info.has_certificate,
            detail: json!({ "protocol_version": info.protocol_version, "capabilities": info.capabilities }),
        };
        Ok((facts, capabilities))
    }

    async fn installed_fingerprint(&mut self, _issued: &[IssuedCertificate]) -> Result<Option<String>, DeviceError> {
        Ok(Some(fingerprint(&self.read_certificate().await?)))
    }

    async fn read_certificate(&mut self) -> Result<Vec<u8>, DeviceError> {
        Ok(self.client.read_object(ObjectId::Certificate).await?)
    }

    async fn generate_key(&mut self) -> Result<GeneratedKey, DeviceError> {
        let request = Request::GenerateKey { algorithm: KeyAlgorithm::EcdsaP256 };
        match self.call(&request).await? {
            Response::KeyGenerated { algorithm, public_key } => {
                Ok(GeneratedKey { algorithm, public_key, detail: Value::Null })
            }
            other => Err(DeviceError::Link(unexpected("a public key", &other))),
        }
    }

    async fn certificate_request(&mut self, challenge: Option<&[u8]>) -> Result<Vec<u8>, DeviceError> {
        let mut before: Vec<Request> = self.describe_request().into_iter().collect();
        if let Some(challenge) = challenge {
            let Ok(challenge) = <[u8; NONCE_LEN]>::try_from(challenge) else {
                return Err(unsupported(self.name(), "a challenge that is not 32 bytes"));
            };
            before.push(Request::CsrChallenge { challenge });
        }
        self.csr_burst(before).await
    }

    async fn install(&mut self, inst: &Installation) -> Result<Value, DeviceError> {
        self.describe().await?;
        let sha = |b: &[u8]| -> [u8; 32] { Sha256::digest(b).into() };
        let (chain_sha256, trust_anchor_sha256) = (sha(&inst.chain), sha(&inst.trust_anchor));
        let agreed = self.agreed.unwrap_or_default();
        // What the board already holds (it said so in LinkInfo) is not sent again.
        let chain_held = agreed.chain_sha256 == Some(chain_sha256);
        let anchor_held = agreed.trust_anchor_sha256 == Some(trust_anchor_sha256);
        let mut requests = self.client.write_requests(ObjectId::Certificate, &inst.certificate)?;
        if !chain_held {
            requests.extend(self.client.write_requests(ObjectId::Chain, &inst.chain)?);
        }
        if !anchor_held {
            requests.extend(self.client.write_requests(ObjectId::TrustAnchor, &inst.trust_anchor)?);
        }
        requests.push(Request::CommitInstall {
            certificate_sha256: sha(&inst.certificate),
            chain_sha256,
            trust_anchor_sha256,
        });
        let mut bursts_broken = false;
        if !self.install_requests(&requests).await? {
            // A burst lost an answer. If the commit went through (only its answer was
            // lost), the board holds this identity now and is not asked to install it
            // again (some storage is written once); otherwise everything is staged
            // again from offset 0, one request at a time, and committed.
            bursts_broken = true;
            if !self.holds(inst).await? {
                self.agreed = Some(AgreedLink { window: 1, ..agreed });
                self.install_requests(&requests).await?;
            }
        }
        Ok(json!({
            "serial": inst.serial, "certificate_len": inst.certificate.len(), "chain_len": inst.chain.len(),
            "trust_anchor_len": inst.trust_anchor.len(),
            "chain_sent": !chain_held, "trust_anchor_sent": !anchor_held,
            "requests": requests.len(), "window": agreed.window.max(1), "burst_lost_answer": bursts_broken,
        }))
    }

    async fn read_back(&mut self, inst: &Installation) -> Result<Vec<ReadBack>, DeviceError> {
        let objects = [
            (ObjectId::Certificate, &inst.certificate, "certificate"),
            (ObjectId::Chain, &inst.chain, "chain"),
            (ObjectId::TrustAnchor, &inst.trust_anchor, "trust anchor"),
        ];
        if self.tuning.readback == Readback::Digests && self.offers(capability::READ_DIGESTS) {
            let (certificate, chain, anchor) = match self.call(&Request::ReadDigests).await? {
                Response::Digests { certificate_sha256, chain_sha256, trust_anchor_sha256 } => {
                    (certificate_sha256, chain_sha256, trust_anchor_sha256)
                }
                other => return Err(link_error(other, "digests of what it stores")),
            };
            return Ok(objects
                .iter()
                .zip([certificate, chain, anchor])
                .map(|((_, written, name), read)| ReadBack {
                    name,
                    written_sha256: hex::encode(Sha256::digest(written)),
                    read_sha256: hex::encode(read),
                    written_len: written.len(),
                    read_len: None,
                })
                .collect());
        }
        let mut read_back = Vec::with_capacity(objects.len());
        for (object, written, name) in objects {
            let read = self.client.read_object(object).await?;
            read_back.push(ReadBack {
                name,
                written_sha256: hex::encode(Sha256::digest(written)),
                read_sha256: hex::encode(Sha256::digest(&read)),
                written_len: written.len(),
                read_len: Some(read.len()),
            });
        }
        Ok(read_back)
    }

    async fn sign_nonce(&mut self, nonce: &[u8]) -> Result<Vec<u8>, DeviceError> {
        let Ok(nonce) = <[u8; NONCE_LEN]>::try_from(nonce) else {
            return Err(unsupported(self.name(), "a nonce that is not 32 bytes"));
        };
        match self.call(&Request::SelfTest { nonce }).await? {
            Response::SelfTest { signature } => Ok(signature),
            other => Err(DeviceError::Link(unexpected("a self-test signature", &other))),
        }
    }

    async fn tls_link(&mut self, ca: &IssuingCa, certificate: &[u8]) -> Result<LinkEvidence, LinkFailure> {
        if !self.offers(capability::SELFTEST_TLS_LINK) {
            return Err(LinkFailure::Unsupported(format!("capabilities {:#x}", self.capabilities)));
        }
        // Larger frames carry the handshake's certificates in fewer exchanges.
        match self.describe().await {
            Ok(()) => {}
            Err(DeviceError::Link(e)) => return Err(LinkFailure::Link(e)),
            Err(other) => return Err(LinkFailure::Refused(format!("describing the link failed: {other:?}"))),
        }
        selftest::tls_link(&mut self.client, ca, certificate).await
    }

    async fn broker_test(
        &mut self,
        ca: &IssuingCa,
        station_id: &str,
        broker: &BrokerSection,
        uid: &str,
    ) -> Result<BrokerEvidence, BrokerFailure> {
        selftest::broker_test(&mut self.client, ca, station_id, broker, uid).await
    }

    async fn finish(&mut self) -> Result<Value, DeviceError> {
        match self.call(&Request::Finish).await? {
            Response::Finished => Ok(json!({ "link": self.client.stats() })),
            other => Err(DeviceError::Link(unexpected("an end of session", &other))),
        }
    }
}
