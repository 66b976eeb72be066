//! A modem's refusals (`ERROR`, `+CME ERROR: <n>`) and bad key-generation answers in
//! operator words. Nordic's numbers for `AT%CMNG` and `AT%KEYGEN`.

use super::at::bounded;
use super::keygen::KeygenError;
use crate::{Failure, FailureCode};

/// 513: not found.
pub const NOT_FOUND: u16 = 513;

/// `+CME ERROR: <code>` while `doing`.
pub fn failure(code: u16, doing: &str, command: &str) -> Failure {
    let (meaning, todo) = match code {
        NOT_FOUND => {
            ("a credential it needs is not there", "Run the modem again; if it repeats, set it aside for engineering.")
        }
        514 => ("it does not allow access to that credential", "Set the modem aside for engineering."),
        515 => (
            "its credential storage is full",
            "Set the modem aside: engineering deletes unused credentials (AT%CMNG=3) before it is run again.",
        ),
        518 => (
            "it is not allowed in its current state (the modem must be offline, AT+CFUN=4)",
            "Power-cycle the modem and run it again; if it repeats, check its firmware.",
        ),
        519 => ("that credential already exists", "Run the modem again; if it repeats, set it aside for engineering."),
        523 => ("an unspecified modem error", "Run the modem again; if it repeats, set it aside for engineering."),
        _ => (
            "an error code this station does not know",
            "Run the modem again; if it repeats, set it aside for engineering.",
        ),
    };
    Failure::new(FailureCode::DeviceError, format!("The modem refused {doing}: {meaning} (CME error {code})."), todo)
        .with_reason(format!("cme-{code}"))
        .with_detail(format!("{} -> +CME ERROR: {code}", command_words(command)))
}

/// A plain `ERROR` while `doing`.
pub fn error(doing: &str, command: &str) -> Failure {
    Failure::new(
        FailureCode::DeviceError,
        format!("The modem refused {doing} (ERROR)."),
        "Check that it runs modem firmware 1.3.0 or later, then run it again; if it repeats, set it aside for \
         engineering.",
    )
    .with_reason("error")
    .with_detail(format!("{} -> ERROR", command_words(command)))
}

/// A `%KEYGEN` answer that is malformed or whose attestation does not match.
pub fn keygen_refused(e: &KeygenError) -> Failure {
    match e {
        KeygenError::Malformed(why) => Failure::new(
            FailureCode::ProtocolViolation,
            "The modem's answer to key generation is malformed. Nothing was issued.",
            "Set the modem aside for engineering.",
        )
        .with_detail(bounded(why)),
        KeygenError::Mismatch(why) => Failure::new(
            FailureCode::CsrInvalid,
            "The modem's key attestation does not match its certificate request. Nothing was issued.",
            "Set the modem aside for engineering.",
        )
        .with_detail(bounded(why)),
    }
}

/// A command for the log: credential text is summarised, not copied.
fn command_words(command: &str) -> String {
    match command.split_once('"') {
        Some((head, rest)) => format!("{head}\"<{} characters>\"", rest.len().saturating_sub(1)),
        None => bounded(command),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_what_happened_and_keep_credentials_out_of_the_log() {
        let full = failure(515, "storing the certificate", "AT%CMNG=0,42,1,\"-----BEGIN CERTIFICATE-----\"");
        assert_eq!(full.code, FailureCode::DeviceError);
        assert!(full.what.contains("storage is full") && full.what.contains("CME error 515"), "{}", full.what);
        assert_eq!(full.reason.as_deref(), Some("cme-515"));
        let detail = full.detail.as_deref().unwrap_or_default();
        assert!(detail.contains("<27 characters>") && !detail.contains("BEGIN"), "{detail}");
        assert!(failure(513, "x", "AT").what.contains("not there"));
        assert!(failure(518, "x", "AT").what.contains("offline"));
        assert!(failure(999, "x", "AT").what.contains("does not know"));
        assert_eq!(error("x", "AT").reason.as_deref(), Some("error"));
    }
}
