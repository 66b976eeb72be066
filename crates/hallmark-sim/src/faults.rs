//! Ways the simulated board can misbehave.

use crate::SimError;
use std::str::FromStr;
use std::time::Duration;

/// The step after which `drop-after` disconnects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultStep {
    /// After answering Hello.
    Hello,
    /// After generating the key.
    Keygen,
    /// After sending the last CSR chunk.
    Csr,
    /// After committing the install.
    Install,
    /// After sending the last read-back chunk.
    Readback,
    /// After answering the self-test.
    Selftest,
}

/// A deliberate misbehaviour.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Key generation takes this long.
    SlowKeygen(Duration),
    /// Close the link right after this step.
    DropAfter(FaultStep),
    /// Corrupt this fraction (0..=1) of outgoing frames.
    CorruptFrames(f64),
    /// The CSR's signature is broken.
    BadCsrSignature,
    /// The CSR is validly signed, but for a different key than the one generated.
    CsrWrongKey,
    /// Answer the first request with a frame far over the protocol limit (over any
    /// frame size a link may agree on).
    OversizedFrame,
    /// Never answer anything.
    Silent,
    /// Claim protocol version 2 in the `Hello` answer.
    WrongProtocolVersion,
    /// Report no capabilities (firmware without key generation).
    NoCapabilities,
    /// Answer `GenerateKey` with a CRC-valid frame whose body is garbage.
    GarbageResponse,
    /// Key generation fails in the key store (`STORAGE` error).
    StorageError,
    /// Return a certificate with one byte changed on read-back.
    ReadbackMismatch,
    /// Sign the self-test with some other key.
    SelftestWrongKey,
    /// In the TLS self-test, use some other key with the installed certificate.
    TlsWrongKey,
    /// Offer no TLS self-test and refuse its requests with `UNSUPPORTED` (firmware
    /// without a TLS stack).
    NoTls,
    /// In TLS self-tests, present a certificate (and key) from a CA of its own instead
    /// of the installed one.
    ForeignCa,
    /// In the broker self-test, publish under another UID's topic.
    BrokerWrongTopic,
    /// Hold a copy of another board's key (the state file at this path): answer
    /// `GenerateKey` with that key, as a board relaying a genuine board would.
    KeyOf(std::path::PathBuf),
    /// Replay a CSR recorded from another board (the state file at this path) in an
    /// earlier session: its key, but no challenge of this session.
    ReplayCsr(std::path::PathBuf),
    /// Firmware built to the original protocol: no CSR binding (the capability is not
    /// offered and `CsrChallenge` cannot be decoded).
    NoCsrBinding,
    /// After answering `Hello`, also send forged `KeyGenerated` answers for the next
    /// request ids (as a board predicting sequential ids would).
    AnswerAhead,
    /// Before every answer, send many forged answers with random request ids.
    FloodAnswers,
    /// Answer `GenerateKey` with an ECDSA P-384 key (algorithm index 1).
    KeygenP384,
    /// Answer `GenerateKey` with a compressed P-256 point.
    KeygenCompressed,
    /// Answer `GenerateKey` with 65 bytes that are not a point on P-256.
    KeygenOffCurve,
    /// Offer the TLS self-test but answer `TlsStart` with `UNSUPPORTED`.
    TlsUnsupported,
    /// Serve bytes that are not DER as the CSR.
    GarbageCsr,
    /// Refuse `CommitInstall` with `KEY_MISMATCH` (a board whose key store lost the key).
    RejectInstall,
    /// Execute a retransmitted request again instead of answering it from the replay
    /// cache (firmware without the cache of protocol section 3).
    NoReplayCache,
    /// Answer `UNSUPPORTED_VERSION` with request id 0 instead of the request's id.
    VersionErrorIdZero,
    /// Answer a frame that fails its CRC or COBS decoding with a `MALFORMED` error
    /// (request id 0) instead of dropping it silently.
    AnswerBadFrames,
    /// Firmware built before the line-speed capabilities (issue #19): no
    /// `READ_DIGESTS`, no `LINK_TUNING`, and `ReadDigests` / `DescribeLink` cannot be
    /// decoded (`MALFORMED`), as on a board of the first protocol v1 release.
    Legacy,
    /// Install on the first `CommitInstall`, but lose its answer on the line (as a
    /// corrupted frame would): the station must recover without a second identity.
    LoseCommitAnswer,
    /// Answer `DescribeLink` with the largest frame the protocol allows, whatever the
    /// station offered.
    LinkInfoOversized,
}

impl FromStr for Fault {
    type Err = SimError;

    fn from_str(s: &str) -> Result<Fault, SimError> {
        let bad = || SimError::BadFault(s.to_string());
        let (name, value) = match s.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (s, None),
        };
        Ok(match (name, value) {
            ("slow-keygen", None) => Fault::SlowKeygen(Duration::from_secs(30)),
            ("slow-keygen", Some(ms)) => Fault::SlowKeygen(Duration::from_millis(ms.parse().map_err(|_| bad())?)),
            ("drop-after", Some(step)) => Fault::DropAfter(match step {
                "hello" | "identify" => FaultStep::Hello,
                "keygen" => FaultStep::Keygen,
                "csr" => FaultStep::Csr,
                "install" => FaultStep::Install,
                "readback" => FaultStep::Readback,
                "selftest" => FaultStep::Selftest,
                _ => return Err(bad()),
            }),
            ("corrupt-frames", Some(rate)) => {
                let r: f64 = rate.parse().map_err(|_| bad())?;
                if !(0.0..=1.0).contains(&r) {
                    return Err(bad());
                }
                Fault::CorruptFrames(r)
            }
            ("bad-csr-signature", None) => Fault::BadCsrSignature,
            ("csr-wrong-key", None) => Fault::CsrWrongKey,
            ("oversized-frame", None) => Fault::OversizedFrame,
            ("silent", None) => Fault::Silent,
            ("wrong-protocol-version", None) => Fault::WrongProtocolVersion,
            ("no-capabilities", None) => Fault::NoCapabilities,
            ("garbage-response", None) => Fault::GarbageResponse,
            ("storage-error", None) => Fault::StorageError,
            ("readback-mismatch", None) => Fault::ReadbackMismatch,
            ("selftest-wrong-key", None) => Fault::SelftestWrongKey,
            ("tls-wrong-key", None) => Fault::TlsWrongKey,
            ("no-tls", None) => Fault::NoTls,
            ("foreign-ca", None) => Fault::ForeignCa,
            ("broker-wrong-topic", None) => Fault::BrokerWrongTopic,
            ("key-of", Some(path)) if !path.is_empty() => Fault::KeyOf(path.into()),
            ("replay-csr", Some(path)) if !path.is_empty() => Fault::ReplayCsr(path.into()),
            ("no-csr-binding", None) => Fault::NoCsrBinding,
            ("answer-ahead", None) => Fault::AnswerAhead,
            ("flood-answers", None) => Fault::FloodAnswers,
            ("keygen-p384", None) => Fault::KeygenP384,
            ("keygen-compressed", None) => Fault::KeygenCompressed,
            ("keygen-off-curve", None) => Fault::KeygenOffCurve,
            ("garbage-csr", None) => Fault::GarbageCsr,
            ("reject-install", None) => Fault::RejectInstall,
            ("tls-unsupported", None) => Fault::TlsUnsupported,
            ("no-replay-cache", None) => Fault::NoReplayCache,
            ("version-error-id-zero", None) => Fault::VersionErrorIdZero,
            ("answer-bad-frames", None) => Fault::AnswerBadFrames,
            ("legacy", None) => Fault::Legacy,
            ("lose-commit-answer", None) => Fault::LoseCommitAnswer,
            ("link-info-oversized", None) => Fault::LinkInfoOversized,
            _ => return Err(bad()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_documented_fault() {
        assert_eq!("slow-keygen".parse::<Fault>().unwrap(), Fault::SlowKeygen(Duration::from_secs(30)));
        assert_eq!("slow-keygen=250".parse::<Fault>().unwrap(), Fault::SlowKeygen(Duration::from_millis(250)));
        assert_eq!("drop-after=csr".parse::<Fault>().unwrap(), Fault::DropAfter(FaultStep::Csr));
        assert_eq!("corrupt-frames=0.5".parse::<Fault>().unwrap(), Fault::CorruptFrames(0.5));
        for f in [
            "bad-csr-signature",
            "csr-wrong-key",
            "oversized-frame",
            "silent",
            "wrong-protocol-version",
            "no-capabilities",
            "garbage-response",
            "storage-error",
            "readback-mismatch",
            "selftest-wrong-key",
            "tls-wrong-key",
            "no-tls",
            "foreign-ca",
            "broker-wrong-topic",
            "key-of=/tmp/a.json",
            "replay-csr=/tmp/a.json",
            "no-csr-binding",
            "answer-ahead",
            "flood-answers",
            "keygen-p384",
            "keygen-compressed",
            "keygen-off-curve",
            "tls-unsupported",
            "garbage-csr",
            "reject-install",
            "no-replay-cache",
            "version-error-id-zero",
            "answer-bad-frames",
            "legacy",
            "lose-commit-answer",
            "link-info-oversized",
        ] {
            assert!(f.parse::<Fault>().is_ok(), "{f}");
        }
        for f in ["corrupt-frames=2", "drop-after=lunch", "slow-keygen=fast", "explode", "key-of=", "replay-csr"] {
            assert!(f.parse::<Fault>().is_err(), "{f}");
        }
    }
}
