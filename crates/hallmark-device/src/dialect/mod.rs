//! The device dialect seam: how the pipeline talks to a board.
//!
//! A run's *decisions* (the plan, which key types are allowed, signing, comparing
//! what was written with what was read, which self-test proves the identity) live
//! in the pipeline. A dialect only *converses* with the board: it asks who the board
//! is, has it generate a key and a certificate request, writes and reads back the
//! credentials and runs the self-tests the board offers. Everything a dialect returns
//! comes from an untrusted device; the pipeline checks it.
//!
//! A dialect says what its board can do through [`Capabilities`], known after
//! [`Dialect::identify`]; the pipeline never asks a board for something it did not
//! offer. Hallmark protocol v1 ([`HallmarkV1`]) is the first dialect; an AT-command
//! modem generates its key and CSR in one command, keeps credentials by tag and
//! reports only digests of what it stores, which is why the seam speaks of digests
//! and optional steps rather than of objects and requests.

mod hallmark_v1;
pub mod nrf91;

pub use hallmark_v1::{HallmarkV1, LinkTuning, Readback};
pub use nrf91::{ModemId, Nrf91At, Nrf91Options};

use crate::client::LinkError;
use crate::selftest::{BrokerEvidence, BrokerFailure, LinkEvidence, LinkFailure};
use crate::Failure;
use hallmark_ca::IssuingCa;
use hallmark_config::BrokerSection;
use hallmark_protocol::KeyAlgorithm;
use hallmark_store::IssuedCertificate;
use serde_json::Value;

/// Who the board says it is (untrusted until the pipeline checked it).
#[derive(Clone, Debug)]
pub struct BoardFacts {
    /// The chip's unique id, as the board reports it.
    pub hardware_id: Vec<u8>,
    /// Model name (unsanitised device text).
    pub model: String,
    /// Firmware version (unsanitised device text).
    pub firmware_version: String,
    /// The board holds a private key already.
    pub has_key: bool,
    /// The board holds a certificate already.
    pub has_certificate: bool,
    /// Dialect-specific facts for the run record (protocol version, capability bits).
    pub detail: Value,
}

/// How a board's certificate request is bound to this session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsrBinding {
    /// The board puts a station challenge into its CSR (challengePassword).
    Challenge,
    /// The board cannot bind its CSR (firmware built to the original protocol).
    None,
}

/// The self-tests a board offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SelfTests {
    /// Signs a station nonce with its new key.
    pub possession: bool,
    /// Completes a mutual-TLS handshake with the station over the provisioning link.
    pub tls_link: bool,
    /// Connects to the configured broker with its new identity.
    pub broker: bool,
    /// Cannot prove possession on request, but its key was generated with an
    /// attestation the station checked, it lists the key, and the certificate is for
    /// the attested key (AT-command modems).
    pub attested_key: bool,
}

/// What a board can do, known after [`Dialect::identify`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// It generates ECDSA P-256 keys on request.
    pub generates_p256: bool,
    /// How its CSR is bound to the session.
    pub csr_binding: CsrBinding,
    /// It can make a new CSR for the key it already holds (a re-issue without a new
    /// key); a board that cannot is given a fresh key instead.
    pub csr_for_existing_key: bool,
    /// The self-tests it offers.
    pub self_tests: SelfTests,
}

/// A key the board generated.
#[derive(Clone, Debug)]
pub struct GeneratedKey {
    /// Its algorithm, as the board reports it.
    pub algorithm: KeyAlgorithm,
    /// The public key as an uncompressed SEC1 point (as the board reports it).
    pub public_key: Vec<u8>,
    /// Dialect-specific facts for the run record (an attestation, say).
    pub detail: Value,
}

/// What is written to the board and must read back identically.
#[derive(Clone, Debug)]
pub struct Installation {
    /// Serial of the device certificate (hex).
    pub serial: String,
    /// The device certificate (DER).
    pub certificate: Vec<u8>,
    /// The chain up to the root (DER, concatenated).
    pub chain: Vec<u8>,
    /// The root the board trusts for its servers (DER).
    pub trust_anchor: Vec<u8>,
}

/// One credential as written and as the board reports it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadBack {
    /// What it is, in words ("certificate", "chain", "trust anchor").
    pub name: &'static str,
    /// SHA-256 of the form the station wrote (hex).
    pub written_sha256: String,
    /// SHA-256 of the form the board holds (hex).
    pub read_sha256: String,
    /// Bytes written.
    pub written_len: usize,
    /// Bytes the board reports holding, when it reports more than a digest.
    pub read_len: Option<usize>,
}

impl ReadBack {
    /// The board holds exactly what was written.
    pub fn matches(&self) -> bool {
        self.written_sha256 == self.read_sha256
    }
}

/// Why a dialect operation failed.
#[derive(Debug)]
pub enum DeviceError {
    /// The link failed or the board broke its protocol; the step turns it into a
    /// failure that names the step.
    Link(LinkError),
    /// The dialect's own verdict on what the board said (already in operator words).
    Refused(Failure),
}

impl DeviceError {
    /// The failure of `step`.
    pub fn at(self, step: hallmark_store::Step) -> Failure {
        match self {
            DeviceError::Link(e) => crate::failures::link(step, e),
            DeviceError::Refused(f) => f,
        }
    }
}

impl From<LinkError> for DeviceError {
    fn from(e: LinkError) -> DeviceError {
        DeviceError::Link(e)
    }
}

/// One board's conversation, whatever it speaks. Methods after `identify` are called
/// only as [`Capabilities`] allow; a dialect that is asked anyway refuses with
/// [`unsupported`].
#[allow(async_fn_in_trait)] // The pipeline is generic over the dialect; no Send bound is needed.
pub trait Dialect {
    /// The dialect's name in the run record (`hallmark-v1`, ...).
    fn name(&self) -> &'static str;

    /// What has crossed the link so far (bytes each way, round trips), for the run
    /// report; `None` for a dialect that does not count.
    fn link_stats(&self) -> Option<crate::client::LinkStats> {
        None
    }

    /// Asks the board who it is and what it can do.
    async fn identify(&mut self) -> Result<(BoardFacts, Capabilities), DeviceError>;

    /// The SHA-256 fingerprint (of the DER) of the certificate the board holds, if
    /// any. A dialect that only sees a digest of its stored form finds the
    /// fingerprint among `issued`; a certificate that is none of them is reported
    /// as a fingerprint no issued certificate has.
    async fn installed_fingerprint(&mut self, issued: &[IssuedCertificate]) -> Result<Option<String>, DeviceError>;

    /// The certificate the board holds (DER), for a re-check.
    async fn read_certificate(&mut self) -> Result<Vec<u8>, DeviceError>;

    /// Has the board generate a new key.
    async fn generate_key(&mut self) -> Result<GeneratedKey, DeviceError>;

    /// The board's certificate request (DER) for the key it holds, carrying
    /// `challenge` when its binding is [`CsrBinding::Challenge`].
    async fn certificate_request(&mut self, challenge: Option<&[u8]>) -> Result<Vec<u8>, DeviceError>;

    /// Writes the installation and has the board commit it; returns the detail to log.
    async fn install(&mut self, installation: &Installation) -> Result<Value, DeviceError>;

    /// Reads back what `installation` wrote, one entry per credential.
    async fn read_back(&mut self, installation: &Installation) -> Result<Vec<ReadBack>, DeviceError>;

    /// Has the board sign `nonce` with its new key.
    async fn sign_nonce(&mut self, nonce: &[u8]) -> Result<Vec<u8>, DeviceError>;

    /// Runs a mutual-TLS handshake with the board over its provisioning link.
    async fn tls_link(&mut self, ca: &IssuingCa, certificate: &[u8]) -> Result<LinkEvidence, LinkFailure>;

    /// Has the board prove its identity at the broker while the station listens.
    async fn broker_test(
        &mut self,
        ca: &IssuingCa,
        station_id: &str,
        broker: &BrokerSection,
        uid: &str,
    ) -> Result<BrokerEvidence, BrokerFailure>;

    /// The evidence that `certificate` is for the key the board generated and
    /// attested, for a board whose self-test is [`SelfTests::attested_key`].
    async fn attested_key(&mut self, certificate: &[u8]) -> Result<Value, DeviceError> {
        let _ = certificate;
        Err(unsupported(self.name(), "an attested key"))
    }

    /// Ends the session; returns the detail to log (link statistics).
    async fn finish(&mut self) -> Result<Value, DeviceError>;
}

/// The refusal of an operation a board did not offer (a station defect if reached).
pub fn unsupported(dialect: &str, operation: &str) -> DeviceError {
    DeviceError::Refused(
        Failure::new(
            crate::FailureCode::ProtocolViolation,
            format!("The station asked this board for something its firmware does not offer ({operation})."),
            "Report this to the station's developers with the run log.",
        )
        .with_detail(format!("dialect {dialect}: {operation} is not offered")),
    )
}
