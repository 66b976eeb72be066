//! Mapping every failure to a code and an operator message ("what happened, what to
//! do"). Text from the device is untrusted and is sanitised before it is shown.

use crate::{Failure, FailureCode};
use hallmark_ca::CaError;
// Link, device, probe and possession self-test failures are the device crate's: a
// dialect turns its own errors into failures there.
pub(crate) use hallmark_device::failures::{link, possession, probe, sanitize};

pub(crate) fn log_failed(e: hallmark_store::StoreError) -> Failure {
    Failure::new(
        FailureCode::LogFailed,
        "The QA log could not be written. The station stopped so that nothing happens unrecorded.",
        "Call the line engineer (check the disk and the data directory).",
    )
    .with_detail(e.to_string())
}

pub(crate) fn csr(e: CaError) -> Failure {
    const ASIDE: &str = "Set the board aside for engineering.";
    match e {
        CaError::CsrSignature => Failure::new(
            FailureCode::CsrSignatureInvalid,
            "The board's certificate request has an invalid signature: it did not prove it holds its key. No \
             certificate was issued.",
            ASIDE,
        ),
        CaError::CsrAlgorithm(words) => Failure::new(
            FailureCode::CsrAlgorithmRejected,
            format!(
                "The board's key is {words}, which this station's certificate profile does not allow. No certificate \
                 was issued."
            ),
            "Check the firmware, or ask the line engineer to allow the key type.",
        ),
        CaError::CsrKeyUnsupported { words, detail } => Failure::new(
            FailureCode::KeyUnsupported,
            format!("The board's key is {words}, which this station cannot certify. No certificate was issued."),
            "Flash firmware that generates ECDSA P-256 keys.",
        )
        .with_detail(detail),
        CaError::CsrMalformed(detail) => Failure::new(
            FailureCode::CsrInvalid,
            "The board's certificate request is not a valid PKCS#10 structure. No certificate was issued.",
            ASIDE,
        )
        .with_detail(detail),
        other => Failure::new(
            FailureCode::CsrInvalid,
            format!("The board's certificate request was refused ({other}). No certificate was issued."),
            ASIDE,
        ),
    }
}

pub(crate) fn key_reused(owner: &str, key_sha256: &str) -> Failure {
    Failure::new(
        FailureCode::KeyReused,
        format!(
            "This board's public key is already certified for the device {owner}: one key may belong to one device \
             only. The key was copied or the certificate request replayed. Nothing was issued."
        ),
        "Set the board aside for engineering and tell QA.",
    )
    .with_detail(format!("public key sha256 {key_sha256} is bound to UID {owner}"))
}

pub(crate) fn uid_store(e: hallmark_store::StoreError) -> Failure {
    use hallmark_store::StoreError;
    match e {
        e @ (StoreError::UidTaken { .. } | StoreError::UidMismatch { .. }) => Failure::new(
            FailureCode::UidCollision,
            format!("{e}. No certificate was issued."),
            "Put the board aside for QA.",
        ),
        e @ StoreError::SequenceExhausted { .. } => {
            Failure::new(FailureCode::UidInvalid, format!("{e}."), "Call the line engineer.")
        }
        other => log_failed(other),
    }
}
