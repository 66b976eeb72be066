//! Mapping what goes wrong between the station and a board — the link, the board's
//! own error codes, the debug probe, a possession self-test that did not prove the
//! key — to a failure code and an operator message ("what happened, what to do").
//! Text from the device is untrusted and is sanitised before it is shown.

use crate::client::LinkError;
use crate::selftest::PossessionError;
use crate::{Failure, FailureCode};
use hallmark_protocol::ErrorCode;
use hallmark_store::Step;

/// Printable ASCII only, bounded: device text must not be able to forge log lines or
/// terminal escape sequences.
pub fn sanitize(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').take(64).collect()
}

/// The failure of `step` when the link or the board's protocol failed.
pub fn link(step: Step, e: LinkError) -> Failure {
    /// A board that breaks the protocol is not retried: engineering looks at it.
    const ASIDE: &str = "Set the board aside for engineering.";
    match e {
        LinkError::Timeout { waited } => Failure::new(
            FailureCode::DeviceTimeout,
            format!("The board did not answer during {step} (waited {} ms).", waited.as_millis()),
            "Check power and cable and that the board runs provisioning firmware, then run it again.",
        ),
        LinkError::Lost(why) => Failure::new(
            FailureCode::LinkLost,
            format!("The connection to the board was lost during {step}."),
            "Check the cable and power, then run the board again.",
        )
        .with_detail(why),
        LinkError::Corrupt { frames } => Failure::new(
            FailureCode::LinkCorrupt,
            format!("The link is too noisy: {frames} corrupted frames during {step}."),
            "Check the cable, connector and grounding, then run the board again.",
        ),
        LinkError::TooLarge => Failure::new(
            FailureCode::FrameTooLarge,
            format!("The board sent a frame larger than the protocol allows during {step}. Its firmware is faulty."),
            ASIDE,
        ),
        LinkError::Undecodable(why) => Failure::new(
            FailureCode::ProtocolViolation,
            format!(
                "The board sent an answer during {step} that the station could not decode. Its firmware may be \
                 incompatible."
            ),
            ASIDE,
        )
        .with_detail(why),
        LinkError::Unexpected { words, detail } => Failure::new(
            FailureCode::ProtocolViolation,
            format!(
                "The board broke the provisioning protocol during {step}: {words}. Its firmware may be incompatible."
            ),
            ASIDE,
        )
        .with_detail(detail),
        LinkError::Flooded { frames } => Failure::new(
            FailureCode::ProtocolViolation,
            format!(
                "The board sent answers to requests the station never made during {step}. It is faulty or \
                 tampered with."
            ),
            ASIDE,
        )
        .with_detail(format!("{frames} frames with a wrong request id while waiting for one answer")),
        LinkError::Device { code, detail } => device(step, code, &detail),
    }
}

fn device(step: Step, code: ErrorCode, detail: &str) -> Failure {
    let detail = sanitize(detail);
    // (code, what the board's refusal means, what to do)
    let (failure_code, meaning, todo) = match code {
        ErrorCode::UNSUPPORTED_VERSION => (
            FailureCode::UnsupportedProtocol,
            " The board's firmware speaks a protocol version this station does not.",
            "Update the station or the firmware.",
        ),
        ErrorCode::ALREADY_PROVISIONED => (
            FailureCode::AlreadyProvisioned,
            " The board already holds an identity and refuses a new key.",
            "Set it aside for QA.",
        ),
        ErrorCode::UNSUPPORTED => (
            FailureCode::KeyUnsupported,
            " The board cannot do what the station asked (key algorithm).",
            "Check the firmware version.",
        ),
        ErrorCode::KEY_MISMATCH | ErrorCode::HASH_MISMATCH if step == Step::Install => (
            FailureCode::InstallRejected,
            " The board refused the certificate.",
            "Run it again; if it repeats, set the board aside for engineering.",
        ),
        _ => (FailureCode::DeviceError, "", "Run the board again; if it repeats, set it aside for engineering."),
    };
    Failure::new(
        failure_code,
        format!("The board reported an error during {step} ({}).{meaning}", error_words(code)),
        todo,
    )
    .with_detail(format!("device error {:?}: {detail}", code))
}

/// A device error code in words.
fn error_words(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::MALFORMED => "it could not read the station's request",
        ErrorCode::UNSUPPORTED_VERSION => "no protocol version in common",
        ErrorCode::BAD_STATE => "the request came at the wrong time",
        ErrorCode::UNSUPPORTED => "it does not support what was asked",
        ErrorCode::BAD_OFFSET => "data arrived out of order",
        ErrorCode::HASH_MISMATCH => "the data it received was damaged",
        ErrorCode::ALREADY_PROVISIONED => "it already holds an identity",
        ErrorCode::STORAGE => "its key or certificate storage failed",
        ErrorCode::KEY_MISMATCH => "the certificate is not for its key",
        _ => "an error code this station does not know",
    }
}

/// The failure of a possession self-test whose signature did not prove the key of the
/// certificate (`selftest::verify_possession`).
pub fn possession(why: PossessionError) -> Failure {
    const ASIDE: &str = "Set the board aside for engineering.";
    match why {
        PossessionError::KeyUnsupported { words, detail } => Failure::new(
            FailureCode::SelftestFailed,
            format!(
                "The board's certificate holds {words}: the possession self-test verifies only ECDSA P-256, \
                 ECDSA P-384 and Ed25519 keys."
            ),
            ASIDE,
        )
        .with_reason("key-unsupported")
        .with_detail(detail),
        PossessionError::Certificate(why) => Failure::new(
            FailureCode::SelftestFailed,
            "The board could not prove it holds the key of its new certificate: the station cannot read that \
             certificate.",
            ASIDE,
        )
        .with_reason("wrong-key")
        .with_detail(why),
        signature @ PossessionError::Signature(_) => Failure::new(
            FailureCode::SelftestFailed,
            format!("The board could not prove it holds the key of its new certificate ({signature})."),
            ASIDE,
        )
        .with_reason("wrong-key"),
    }
}

/// The failure of attaching through a debug probe.
pub fn probe(e: crate::probe::ProbeError) -> Failure {
    use crate::probe::ProbeError;
    match e {
        ProbeError::NotFound { selector, available } => Failure::new(
            FailureCode::ProbeFailed,
            format!("No debug probe matches {selector:?}."),
            "Check the probe's USB cable and the slot's probe selector, then run the board again.",
        )
        .with_detail(format!("connected: {available}")),
        ProbeError::UnknownChip { name, suggestions } => Failure::new(
            FailureCode::ProbeFailed,
            format!("The station does not know the chip {name:?}{suggestions}."),
            "Ask the line engineer to correct the slot's chip name.",
        ),
        ProbeError::Attach { selector, chip, why } => Failure::new(
            FailureCode::ProbeFailed,
            format!("The station cannot attach to the {chip} on probe {selector}."),
            "Check the target's power and the SWD wiring, then run the board again.",
        )
        .with_detail(why),
        ProbeError::Flash { image, why } => Failure::new(
            FailureCode::FlashFailed,
            format!("Flashing {image} failed."),
            "Set the board aside for engineering.",
        )
        .with_detail(why),
        ProbeError::Rtt { waited, why } => Failure::new(
            FailureCode::ProbeFailed,
            format!(
                "The board's provisioning firmware did not answer over RTT within {} ms (no RTT control block with \
                 up 0 / down 0).",
                waited.as_millis()
            ),
            "Check that the board runs provisioning firmware, then run it again.",
        )
        .with_detail(why),
    }
}
