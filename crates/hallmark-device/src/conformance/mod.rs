//! The conformance kit: drives a board through every request of protocol v1 and the
//! edge cases `docs/protocol.md` settles, valid and invalid, and reports a row per
//! check (`hallmark conformance --port P`). It is for firmware teams checking their
//! own agent on a development board, without a station, a CA or a log.
//!
//! The kit installs a test identity issued by a throwaway CA it makes in memory
//! (subject CN [`test_ca::TEST_CN`]): the board ends the run holding that identity
//! and must be erased before it is provisioned for real. It refuses a board that
//! already holds an identity, so it never replaces a real one.
//!
//! Rows are independent where they can be: each says what it needs (a key, an
//! installed identity) and is skipped, saying why, when an earlier row could not
//! provide it. The row table [`CHECKS`] is the one list; `docs/protocol.md`
//! ("Conformance") names the same ids.

mod framing;
mod install;
mod keys;
mod line_speed;
mod session;
mod test_ca;
mod wire;

pub use test_ca::TEST_CN;

use crate::transport::Link;
use hallmark_protocol::{DeviceInfo, ErrorCode, ObjectId, Request, Response};
use serde::Serialize;
use std::time::Duration;
use wire::{Answer, Wire};

/// One check of the kit.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Check {
    /// Stable row id (`F1`, `K4`, ...), as in `docs/protocol.md`.
    pub id: &'static str,
    /// The section of `docs/protocol.md` the rule is in.
    pub section: &'static str,
    /// The rule, in words.
    pub rule: &'static str,
}

const fn check(id: &'static str, section: &'static str, rule: &'static str) -> Check {
    Check { id, section, rule }
}

/// Every check, in the order the kit runs them.
pub const CHECKS: &[Check] = &[
    check("F1", "4.1", "Hello is answered with DeviceInfo, protocol version 1, in a version-1 frame with the request's id"),
    check("F2", "S2, S3", "DeviceInfo: hardware id of 1 to 32 bytes; capability bits 0 and 1 set, bits 7 to 31 clear"),
    check("F3", "1", "Idle delimiters between frames are ignored"),
    check("F4", "1", "Noise before a delimiter is discarded and the next frame is answered"),
    check("F5", "1", "A frame with a wrong CRC gets no answer; the same request sent again is answered"),
    check("F6", "1", "More than 1029 bytes without a delimiter are discarded; the next frame is answered"),
    check("F7", "S4", "A frame ending right after a 254-byte run is accepted with and without the final 0x01"),
    check("F8", "2", "A WriteObject carrying the largest chunk (512 bytes) is accepted"),
    check("S1", "S6", "A frame of version 2 gets UNSUPPORTED_VERSION, with the request's id, in a version-1 frame"),
    check("S2", "S6", "Hello with no common version (min 2) gets UNSUPPORTED_VERSION with the request's id"),
    check("S3", "4.1", "Hello offering versions 1 to 7 negotiates version 1"),
    check("S4", "2", "A body that does not decode gets MALFORMED"),
    check("S5", "S7", "A second Hello discards staged objects"),
    check("S6", "S7", "A Hello answered UNSUPPORTED_VERSION keeps the session and its staged objects"),
    check("S7", "S7", "After Finish: Finish sent again is answered from the cache, a new Finish and other requests get BAD_STATE, Hello reopens"),
    check("R1", "S5", "A retransmission (same id and body) gets the same bytes and is not executed again"),
    check("R2", "S5", "The same request id with another body is a new request"),
    check("R3", "S5", "The same id and body in another frame version gets UNSUPPORTED_VERSION"),
    check("K1", "S11", "SelfTest without an installed identity gets BAD_STATE"),
    check("K2", "S9", "Reading the certificate, chain or trust anchor with nothing installed gets BAD_STATE"),
    check("D1", "6", "ReadDigests with nothing installed gets BAD_STATE (capability bit 5)"),
    check("K3", "S1", "GenerateKey with an unknown algorithm gets UNSUPPORTED; Ed25519 gets UNSUPPORTED or an Ed25519 key"),
    check("K4", "4.2", "GenerateKey P-256 answers a 65-byte uncompressed point on the curve; its retransmission the same key"),
    check("K5", "4.3", "The CSR is PKCS#10 DER signed by the key just generated, without a challenge when none was sent"),
    check("K6", "S9", "ReadObject at the CSR's end gets an empty chunk; beyond it BAD_OFFSET"),
    check("K7", "4.3", "After CsrChallenge the CSR carries exactly the latest challenge (capability bit 4)"),
    check("K8", "S8", "In a later session the CSR is served for the same key, without the old challenge"),
    check("K9", "4.2", "GenerateKey again replaces a key that has no certificate"),
    check("W1", "S9", "WriteObject of the CSR gets BAD_STATE"),
    check("W2", "S9", "A gap in offsets gets BAD_OFFSET"),
    check("W3", "S9", "A total_len that changes between chunks gets BAD_OFFSET"),
    check("W4", "S9", "A chunk over 512 bytes, a total_len over 8192 or a chunk past total_len gets MALFORMED"),
    check("W5", "4.4", "CommitInstall with hashes unlike the staged data gets HASH_MISMATCH"),
    check("W6", "4.4", "A certificate for another key gets KEY_MISMATCH"),
    check("W7", "S9", "A certificate whose SubjectPublicKeyInfo is another key gets KEY_MISMATCH, even with the device key elsewhere in it"),
    check("W8", "4.4", "Certificate, chain and trust anchor in chunks, then CommitInstall: Installed"),
    check("W9", "S3", "Hello after the install reports has_key and has_certificate"),
    check("W10", "4.5", "Read-back returns the certificate, chain and trust anchor byte for byte"),
    check("D2", "6", "ReadDigests after the install answers the SHA-256 of each installed object (bit 5)"),
    check("L1", "6", "DescribeLink under 1024 gets MALFORMED; DescribeLink 4096 gets LinkInfo with 1024 to 4096-byte frames (bit 6)"),
    check("L2", "6", "Four requests sent back to back are answered in order, each with its id (bit 6)"),
    check("L3", "6", "After DescribeLink a read returns chunks as large as the agreed frames carry; Hello returns to 1024 (bit 6)"),
    check("W11", "S11", "SelfTest: the signature verifies over SHA-256(context || nonce) with the certificate's key"),
    check("W12", "4.2", "GenerateKey with an identity installed gets ALREADY_PROVISIONED"),
    check("W13", "S8", "With an identity installed the CSR is still served, for the same key"),
    check("W14", "S9", "CommitInstall of a new certificate for the same key replaces the identity (reissue)"),
    check("T1", "S2", "Without capability bit 2, TlsStart gets UNSUPPORTED"),
    check("T2", "S2", "Without capability bit 3, BrokerTest gets UNSUPPORTED"),
    check("E1", "4.7", "Finish ends the session: Finished"),
];

/// How a check ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    /// The board did what the document says.
    Pass,
    /// The board did something else.
    Fail,
    /// Not checked (the board does not offer it, or an earlier row could not set it up).
    Skip,
}

impl Verdict {
    /// The verdict as printed: PASS, FAIL, SKIP.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Skip => "SKIP",
        }
    }
}

/// One row of the report.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The check.
    #[serde(flatten)]
    pub check: Check,
    /// Its verdict.
    pub verdict: Verdict,
    /// What the board did, in words (why it failed or was skipped).
    pub detail: String,
}

/// The kit's report on one board.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Hardware id (upper-case hex), model and firmware the board reported.
    pub hardware_id: String,
    /// The board's model.
    pub model: String,
    /// The board's firmware version.
    pub firmware_version: String,
    /// The capability bits it reported.
    pub capabilities: u32,
    /// Every check, in order.
    pub rows: Vec<Row>,
}

impl Report {
    /// Rows with this verdict.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.rows.iter().filter(|r| r.verdict == verdict).count()
    }

    /// True when no row failed.
    pub fn passed(&self) -> bool {
        self.count(Verdict::Fail) == 0
    }

    /// The row with this id.
    pub fn row(&self, id: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.check.id == id)
    }
}

/// Why the kit could not check the board at all.
#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    /// The board did not answer `Hello` as protocol v1 requires.
    #[error("The board did not answer the first Hello ({0}). Check the port, the baud rate and that the board runs its provisioning agent, then run the kit again.")]
    NoHello(String),
    /// The board holds an identity; the kit does not replace real identities.
    #[error("The board already holds an identity. The kit installs a test identity and never replaces a real one: erase the board's key and certificate storage, then run the kit again.")]
    AlreadyProvisioned,
}

/// Deadlines of a kit run.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// How long to wait for an answer.
    pub answer: Duration,
    /// How long to wait for `GenerateKey`'s answer.
    pub keygen: Duration,
    /// How long the board must stay quiet for "no answer" (dropped frames).
    pub quiet: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options { answer: Duration::from_secs(2), keygen: Duration::from_secs(10), quiet: Duration::from_millis(500) }
    }
}

/// How one check went, before it becomes a row.
#[derive(Debug)]
pub(crate) enum Problem {
    Fail(String),
    Skip(String),
    /// The link itself failed: this row fails and the rest are not run.
    Lost(String),
}

type Outcome = Result<String, Problem>;

/// Runs every check against the board on `link`.
pub async fn run<L: Link>(link: L, options: Options) -> Result<Report, ConformanceError> {
    let mut kit = Kit {
        wire: Wire::new(link, options.answer, options.keygen, options.quiet),
        info: None,
        key: None,
        spki: None,
        identity: None,
        ca: None,
    };
    let info = kit.hello().await.map_err(|p| ConformanceError::NoHello(p.words()))?;
    if info.has_certificate {
        return Err(ConformanceError::AlreadyProvisioned);
    }
    let mut report = Report {
        hardware_id: info.hardware_id.iter().map(|b| format!("{b:02X}")).collect(),
        model: info.model.clone(),
        firmware_version: info.firmware_version.clone(),
        capabilities: info.capabilities,
        rows: Vec::with_capacity(CHECKS.len()),
    };
    kit.info = Some(info);
    let mut lost: Option<String> = None;
    for check in CHECKS {
        let (verdict, detail) = match &lost {
            Some(why) => (Verdict::Skip, format!("not run: {why}")),
            None => match kit.run_check(check.id).await {
                Ok(detail) => (Verdict::Pass, detail),
                Err(Problem::Fail(why)) => (Verdict::Fail, why),
                Err(Problem::Skip(why)) => (Verdict::Skip, why),
                Err(Problem::Lost(why)) => {
                    lost = Some(format!("the link failed at {} ({why})", check.id));
                    (Verdict::Fail, why)
                }
            },
        };
        report.rows.push(Row { check: *check, verdict, detail });
    }
    Ok(report)
}

impl Problem {
    fn words(self) -> String {
        match self {
            Problem::Fail(w) | Problem::Skip(w) | Problem::Lost(w) => w,
        }
    }
}

/// What the run has established so far.
pub(crate) struct Kit<L> {
    wire: Wire<L>,
    info: Option<DeviceInfo>,
    /// The board's current P-256 public key (from K4 / K9).
    key: Option<Vec<u8>>,
    /// Its SubjectPublicKeyInfo, from the board's CSR.
    spki: Option<Vec<u8>>,
    /// The identity installed by W8 (certificate, chain, trust anchor).
    identity: Option<[Vec<u8>; 3]>,
    ca: Option<test_ca::TestCa>,
}

impl<L: Link> Kit<L> {
    async fn run_check(&mut self, id: &str) -> Outcome {
        match id {
            "F1" => self.f1_hello().await,
            "F2" => self.f2_device_info(),
            "F3" => self.f3_idle_delimiters().await,
            "F4" => self.f4_noise().await,
            "F5" => self.f5_bad_crc().await,
            "F6" => self.f6_oversized().await,
            "F7" => self.f7_cobs_edge().await,
            "F8" => self.f8_largest_chunk().await,
            "S1" => self.s1_frame_version().await,
            "S2" => self.s2_no_common_version().await,
            "S3" => self.s3_negotiates().await,
            "S4" => self.s4_undecodable().await,
            "S5" => self.s5_hello_discards_staging().await,
            "S6" => self.s6_failed_hello_keeps_staging().await,
            "S7" => self.s7_finish().await,
            "R1" => self.r1_retransmission().await,
            "R2" => self.r2_same_id_other_body().await,
            "R3" => self.r3_same_id_other_version().await,
            "K1" => self.k1_selftest_without_identity().await,
            "K2" => self.k2_read_without_identity().await,
            "D1" => self.d1_digests_without_identity().await,
            "K3" => self.k3_other_algorithms().await,
            "K4" => self.k4_generate_key().await,
            "K5" => self.k5_csr().await,
            "K6" => self.k6_csr_offsets().await,
            "K7" => self.k7_challenge().await,
            "K8" => self.k8_csr_later_session().await,
            "K9" => self.k9_new_key().await,
            "W1" => self.w1_write_csr().await,
            "W2" => self.w2_gap().await,
            "W3" => self.w3_total_len_changes().await,
            "W4" => self.w4_limits().await,
            "W5" => self.w5_hash_mismatch().await,
            "W6" => self.w6_foreign_certificate().await,
            "W7" => self.w7_key_outside_spki().await,
            "W8" => self.w8_install().await,
            "W9" => self.w9_hello_after_install().await,
            "W10" => self.w10_read_back().await,
            "D2" => self.d2_digests_of_the_install().await,
            "L1" => self.l1_describe_link().await,
            "L2" => self.l2_burst().await,
            "L3" => self.l3_larger_chunks().await,
            "W11" => self.w11_self_test().await,
            "W12" => self.w12_keygen_locked().await,
            "W13" => self.w13_csr_after_install().await,
            "W14" => self.w14_reissue().await,
            "T1" => self.t1_tls_unsupported().await,
            "T2" => self.t2_broker_unsupported().await,
            "E1" => self.e1_finish().await,
            _ => Err(Problem::Skip("unknown check".into())),
        }
    }

    /// Opens a session (`Hello {1, 1}`).
    async fn hello(&mut self) -> Result<DeviceInfo, Problem> {
        match self.wire.call(&Request::Hello { min_version: 1, max_version: 1 }).await?.response {
            Response::Hello(info) => Ok(info),
            other => Err(Problem::Fail(format!("Hello was answered with {}", describe(&other)))),
        }
    }

    fn capable(&self, bit: u32) -> bool {
        self.info.as_ref().is_some_and(|i| i.capabilities & bit != 0)
    }

    /// One `WriteObject` chunk.
    async fn write(&mut self, object: ObjectId, offset: u32, total_len: u32, data: &[u8]) -> Result<Answer, Problem> {
        self.wire.call(&Request::WriteObject { object, offset, total_len, data: data.to_vec() }).await
    }

    /// Writes a whole object in 512-byte chunks, each acknowledged with the bytes so far.
    async fn write_object(&mut self, object: ObjectId, data: &[u8]) -> Result<(), Problem> {
        let mut offset = 0usize;
        for chunk in data.chunks(hallmark_protocol::MAX_CHUNK) {
            let answer = self.write(object, offset as u32, data.len() as u32, chunk).await?;
            offset += chunk.len();
            expect_written(&answer.response, offset as u32)?;
        }
        Ok(())
    }

    /// Reads a whole object, checking every chunk.
    async fn read_object(&mut self, object: ObjectId) -> Result<Vec<u8>, Problem> {
        let mut out = Vec::new();
        loop {
            let answer = self.wire.call(&Request::ReadObject { object, offset: out.len() as u32 }).await?;
            match answer.response {
                Response::Chunk { total_len, offset, data } => {
                    if offset as usize != out.len() {
                        return Err(Problem::Fail(format!(
                            "a chunk of the {object:?} came for offset {offset} where {} was asked",
                            out.len()
                        )));
                    }
                    if data.is_empty() && out.len() < total_len as usize {
                        return Err(Problem::Fail(format!(
                            "the {object:?} stopped at {} of {total_len} bytes",
                            out.len()
                        )));
                    }
                    out.extend_from_slice(&data);
                    if out.len() > total_len as usize || out.len() > hallmark_protocol::MAX_OBJECT {
                        return Err(Problem::Fail(format!("the {object:?} ran past its total_len {total_len}")));
                    }
                    if out.len() == total_len as usize {
                        return Ok(out);
                    }
                }
                other => {
                    return Err(Problem::Fail(format!("reading the {object:?} was answered with {}", describe(&other))))
                }
            }
        }
    }
}

/// Passes when `response` is `Error { code }`.
fn expect_error(response: &Response, code: ErrorCode) -> Outcome {
    match response {
        Response::Error { code: got, detail } if *got == code => Ok(format!("{} ({detail:?})", code.name())),
        other => Err(Problem::Fail(format!("expected {}, got {}", code.name(), describe(other)))),
    }
}

fn expect_written(response: &Response, received: u32) -> Result<(), Problem> {
    match response {
        Response::Written { received: got } if *got == received => Ok(()),
        other => Err(Problem::Fail(format!("expected Written {{ received: {received} }}, got {}", describe(other)))),
    }
}

/// A response in a few words, for a row's detail.
fn describe(response: &Response) -> String {
    match response {
        Response::Error { code, detail } => format!("error {} {detail:?}", code.name()),
        Response::Written { received } => format!("Written {{ received: {received} }}"),
        Response::Chunk { total_len, offset, data } => {
            format!("Chunk {{ total_len: {total_len}, offset: {offset}, {} bytes }}", data.len())
        }
        other => other.words().to_string(),
    }
}
