//! The one place that turns what went wrong into a code, an operator message
//! ("what happened, what to do") and the log entry.

use serde::Serialize;
use std::fmt;

/// Stable failure codes. Factory scripts and QA filters depend on these strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum FailureCode {
    /// The port could not be opened.
    PortOpenFailed,
    /// The debug probe could not be opened, the chip not attached, or no RTT found.
    ProbeFailed,
    /// Flashing the production image failed (or its verification).
    FlashFailed,
    /// The board did not answer in time.
    DeviceTimeout,
    /// The link went away (unplugged, reset, port closed).
    LinkLost,
    /// Frames kept arriving corrupted.
    LinkCorrupt,
    /// The board sent a frame over the protocol limit.
    FrameTooLarge,
    /// The board sent something the protocol does not allow here.
    ProtocolViolation,
    /// No protocol version in common.
    UnsupportedProtocol,
    /// The board reported an error.
    DeviceError,
    /// The board already holds an identity, or one was already issued for its UID.
    AlreadyProvisioned,
    /// No valid UID could be formed.
    UidInvalid,
    /// The UID belongs to another board, or the scanned UID differs from the board's.
    UidCollision,
    /// The board cannot generate a supported key.
    KeyUnsupported,
    /// The CSR is not a valid PKCS#10 structure.
    CsrInvalid,
    /// The CSR's signature does not verify.
    CsrSignatureInvalid,
    /// The CSR is for a different key than the board generated.
    CsrKeyMismatch,
    /// The CSR's key algorithm is not allowed.
    CsrAlgorithmRejected,
    /// The CA could not sign.
    SigningFailed,
    /// A revocation could not be published in a new CRL.
    CrlPublishFailed,
    /// The board refused to install the certificate.
    InstallRejected,
    /// What the board read back differs from what was written.
    ReadbackMismatch,
    /// The self-test did not prove the new identity works.
    SelftestFailed,
    /// The station could not use the self-test broker (down, unreachable, refusing the
    /// station): not the board's fault.
    BrokerUnavailable,
    /// The label could not be produced.
    LabelFailed,
    /// The label printer did not take the label (the board itself is provisioned).
    PrintFailed,
    /// The log could not be written; the station stops rather than act unlogged.
    LogFailed,
    /// The operator cancelled the run.
    Cancelled,
    /// The board's public key is already certified under another UID (a copied or
    /// replayed key): one public key, one identity.
    KeyReused,
    /// The board's public key is not a valid key (not a point on its curve).
    KeyInvalid,
    /// The board's certificate request is not bound to this session (no or a wrong
    /// session challenge): it may have been recorded from another board.
    CsrNotBound,
}

impl FailureCode {
    /// The code as it appears in JSON, CSV and the log.
    pub fn as_str(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    }
}

/// A failed run's reason: a stable code plus a message for the operator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// Stable code.
    pub code: FailureCode,
    /// What happened and what to do, in plain language.
    pub message: String,
    /// A finer stable reason within the code where one helps QA (self-test:
    /// `revoked`, `unknown-ca`, `expired`, `not-authorized`, `timeout`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Technical detail for the log and QA (parser errors, raw values, OIDs); never
    /// needed to understand `message`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Failure {
    /// A failure with a message.
    pub fn new(code: FailureCode, message: impl Into<String>) -> Failure {
        Failure { code, message: message.into(), reason: None, detail: None }
    }

    /// The same failure with a finer reason.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Failure {
        self.reason = Some(reason.into());
        self
    }

    /// The same failure with technical detail for the log (bounded, printable).
    pub fn with_detail(mut self, detail: impl AsRef<str>) -> Failure {
        let clean: String = detail.as_ref().chars().map(|c| if c.is_control() { ' ' } else { c }).take(400).collect();
        self.detail = Some(clean);
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}
