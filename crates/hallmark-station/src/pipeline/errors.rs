//! Mapping every failure to a code and an operator message ("what happened, what to
//! do"). Text from the device is untrusted and is sanitised before it is shown.

use crate::client::LinkError;
use crate::{Failure, FailureCode};
use hallmark_ca::CaError;
use hallmark_protocol::ErrorCode;

/// Printable ASCII only, bounded: device text must not be able to forge log lines or
/// terminal escape sequences.
pub(crate) fn sanitize(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').take(64).collect()
}

pub(crate) fn log_failed(e: hallmark_store::StoreError) -> Failure {
    Failure::new(
        FailureCode::LogFailed,
        format!("The QA log could not be written ({e}). The station stopped so that nothing happens unrecorded."),
    )
}

pub(crate) fn link(step: &str, e: LinkError) -> Failure {
    match e {
        LinkError::Timeout { waited } => Failure::new(
            FailureCode::DeviceTimeout,
            format!(
                "The board did not answer during {step} (waited {} ms). Check power and cable and that the board runs \
                 provisioning firmware, then run it again.",
                waited.as_millis()
            ),
        ),
        LinkError::Lost(why) => Failure::new(
            FailureCode::LinkLost,
            format!(
                "The connection to the board was lost during {step} ({}). Check the cable and power, then run the \
                 board again.",
                sanitize(&why)
            ),
        ),
        LinkError::Corrupt { frames } => Failure::new(
            FailureCode::LinkCorrupt,
            format!(
                "The link is too noisy: {frames} corrupted frames during {step}. Check the cable, connector and \
                 grounding, then run the board again."
            ),
        ),
        LinkError::TooLarge => Failure::new(
            FailureCode::FrameTooLarge,
            format!(
                "The board sent a frame larger than the protocol allows during {step}. Its firmware is faulty: set \
                 the board aside for engineering."
            ),
        ),
        LinkError::Undecodable(why) | LinkError::Unexpected(why) => Failure::new(
            FailureCode::ProtocolViolation,
            format!(
                "The board broke the provisioning protocol during {step} ({}). Its firmware may be incompatible: set \
                 the board aside for engineering.",
                sanitize(&why)
            ),
        ),
        LinkError::Device { code, detail } => device(step, code, &detail),
    }
}

fn device(step: &str, code: ErrorCode, detail: &str) -> Failure {
    let detail = sanitize(detail);
    let (failure_code, advice) = match code {
        ErrorCode::UNSUPPORTED_VERSION => (
            FailureCode::UnsupportedProtocol,
            "The board's firmware speaks a protocol version this station does not. Update the station or the firmware.",
        ),
        ErrorCode::ALREADY_PROVISIONED => (
            FailureCode::AlreadyProvisioned,
            "The board already holds an identity and refuses a new key. Set it aside for QA.",
        ),
        ErrorCode::UNSUPPORTED => (
            FailureCode::KeyUnsupported,
            "The board cannot do what the station asked (key algorithm). Check the firmware version.",
        ),
        ErrorCode::KEY_MISMATCH | ErrorCode::HASH_MISMATCH if step == "install" => (
            FailureCode::InstallRejected,
            "The board refused the certificate. Run it again; if it repeats, set the board aside for engineering.",
        ),
        _ => (FailureCode::DeviceError, "Run the board again; if it repeats, set it aside for engineering."),
    };
    Failure::new(failure_code, format!("The board reported {} during {step}: {detail}. {advice}", code.name()))
}

pub(crate) fn csr(e: CaError) -> Failure {
    match e {
        CaError::CsrSignature => Failure::new(
            FailureCode::CsrSignatureInvalid,
            "The board's certificate request has an invalid signature: it did not prove it holds its key. No \
             certificate was issued. Set the board aside for engineering.",
        ),
        CaError::CsrAlgorithm(why) => Failure::new(
            FailureCode::CsrAlgorithmRejected,
            format!("The board's key type is not allowed ({why}). No certificate was issued. Check the firmware."),
        ),
        other => Failure::new(
            FailureCode::CsrInvalid,
            format!("The board's certificate request is not valid ({other}). No certificate was issued. Set the board aside for engineering."),
        ),
    }
}

pub(crate) fn uid_store(e: hallmark_store::StoreError) -> Failure {
    use hallmark_store::StoreError;
    match e {
        e @ (StoreError::UidTaken { .. } | StoreError::UidMismatch { .. }) => Failure::new(
            FailureCode::UidCollision,
            format!("{e}. No certificate was issued. Put the board aside for QA."),
        ),
        e @ StoreError::SequenceExhausted { .. } => {
            Failure::new(FailureCode::UidInvalid, format!("{e}. Call the line engineer."))
        }
        other => log_failed(other),
    }
}
