//! The failure contract: one list of codes for every front end, and a [`Failure`]
//! that keeps "what happened" and "what to do" apart so no front end has to guess
//! where one ends and the other begins.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Stable failure codes. Factory scripts, QA filters, CSV/JSON exports and the
/// window's advice depend on these strings: codes are only ever added.
///
/// The first group is what a run, a reprint or a self-test can fail with; then the
/// code of a run a stopped station left open; then the window's own errors (never
/// in a run's report) and the one the window's front end makes up itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    /// The fleet could not be asked what the run needed from it (UID numbers, whether
    /// another station holds the board), and the station is set to refuse then:
    /// nothing was generated or issued; not the board's fault.
    FleetUnavailable,
    /// A run a stopped station left open (crash, power cut, kill), closed at the next
    /// start-up by `Station::open`.
    Interrupted,
    /// The window's station is not there for this: it did not start, it stopped, or
    /// the slot does not exist.
    Station,
    /// The window could not read or write the QA log (outside a run; a run that
    /// cannot log fails with `LOG_FAILED`).
    #[serde(rename = "LOG")]
    LogUnavailable,
    /// The slot (or, for a configuration change, some slot) is running.
    #[serde(rename = "BUSY")]
    SlotBusy,
    /// A configuration change was refused or could not be saved.
    #[serde(rename = "CONFIG")]
    ConfigRejected,
    /// A CA action (status, revocation) failed.
    #[serde(rename = "CA")]
    CaFailed,
    /// The CA passphrase (or token PIN) is missing or wrong.
    CaPassphrase,
    /// The action needs the unlocked engineer role.
    EngineerOnly,
    /// An export could not be written.
    #[serde(rename = "EXPORT")]
    ExportFailed,
    /// The label template could not be read or saved.
    #[serde(rename = "LABEL")]
    LabelTemplate,
    /// No engineer PIN is set on this station.
    PinNotSet,
    /// The new engineer PIN is too easy to guess.
    WeakPin,
    /// The engineer PIN is wrong.
    WrongPin,
    /// Too many wrong engineer PINs: the role is locked for a while.
    LockedOut,
    /// The engineer PIN file cannot be read or written.
    PinFile,
    /// An error inside the window's front end itself (never sent by the station; the
    /// front end's `asApiError` uses it for anything that is not a station error).
    Ui,
}

impl FailureCode {
    /// Every code, in declaration order (the order `as usize` gives).
    pub const ALL: &'static [FailureCode] = &[
        FailureCode::PortOpenFailed,
        FailureCode::ProbeFailed,
        FailureCode::FlashFailed,
        FailureCode::DeviceTimeout,
        FailureCode::LinkLost,
        FailureCode::LinkCorrupt,
        FailureCode::FrameTooLarge,
        FailureCode::ProtocolViolation,
        FailureCode::UnsupportedProtocol,
        FailureCode::DeviceError,
        FailureCode::AlreadyProvisioned,
        FailureCode::UidInvalid,
        FailureCode::UidCollision,
        FailureCode::KeyUnsupported,
        FailureCode::CsrInvalid,
        FailureCode::CsrSignatureInvalid,
        FailureCode::CsrKeyMismatch,
        FailureCode::CsrAlgorithmRejected,
        FailureCode::SigningFailed,
        FailureCode::CrlPublishFailed,
        FailureCode::InstallRejected,
        FailureCode::ReadbackMismatch,
        FailureCode::SelftestFailed,
        FailureCode::BrokerUnavailable,
        FailureCode::LabelFailed,
        FailureCode::PrintFailed,
        FailureCode::LogFailed,
        FailureCode::Cancelled,
        FailureCode::KeyReused,
        FailureCode::KeyInvalid,
        FailureCode::CsrNotBound,
        FailureCode::FleetUnavailable,
        FailureCode::Interrupted,
        FailureCode::Station,
        FailureCode::LogUnavailable,
        FailureCode::SlotBusy,
        FailureCode::ConfigRejected,
        FailureCode::CaFailed,
        FailureCode::CaPassphrase,
        FailureCode::EngineerOnly,
        FailureCode::ExportFailed,
        FailureCode::LabelTemplate,
        FailureCode::PinNotSet,
        FailureCode::WeakPin,
        FailureCode::WrongPin,
        FailureCode::LockedOut,
        FailureCode::PinFile,
        FailureCode::Ui,
    ];

    /// The code as it appears in JSON, CSV and the log.
    pub fn as_str(self) -> String {
        // A unit variant always serializes to a string; the fallback is unreachable.
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    }

    /// The code for its string, as [`FailureCode::as_str`] writes it.
    pub fn parse(code: &str) -> Option<FailureCode> {
        serde_json::from_value(serde_json::Value::String(code.to_string())).ok()
    }
}

impl fmt::Display for FailureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

/// The one-line operator message: what happened, a space, what to do (just what
/// happened when there is nothing to do). The only place the two are joined.
fn operator_message(what: &str, todo: &str) -> String {
    match (what.is_empty(), todo.is_empty()) {
        (_, true) => what.to_string(),
        (true, false) => todo.to_string(),
        (false, false) => format!("{what} {todo}"),
    }
}

/// Why something failed: a stable code, what happened and what to do in words, and
/// technical detail kept apart from the words.
///
/// Serialized (run report, `provision --json`, the log) as `code`, `message`, `what`,
/// `todo`, and `reason` and `detail` when there are any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// Stable code.
    pub code: FailureCode,
    /// What happened and what to do as one line: always `what`, a space, `todo`, as
    /// [`Failure::new`] builds it (the form factory scripts, the CLI and the log read).
    pub message: String,
    /// What happened, in plain language.
    pub what: String,
    /// What to do about it: the instruction to the operator.
    pub todo: String,
    /// A finer stable reason within the code where one helps QA (self-test:
    /// `revoked`, `unknown-ca`, `expired`, `not-authorized`, `timeout`, ...).
    /// Boxed: `Failure` is every step's error, and this keeps it under clippy's
    /// large-error size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Box<str>>,
    /// Technical detail for the log and QA (parser errors, raw values, OIDs); never
    /// needed to understand `what` and `todo`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Failure {
    /// A failure: what happened, and what to do about it.
    pub fn new(code: FailureCode, what: impl Into<String>, todo: impl Into<String>) -> Failure {
        let (what, todo) = (what.into(), todo.into());
        Failure { code, message: operator_message(&what, &todo), what, todo, reason: None, detail: None }
    }

    /// The same failure with a finer reason.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Failure {
        self.reason = Some(reason.into().into_boxed_str());
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
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// A failure as recorded, including records written before `what` and `todo` were
/// kept apart (then the whole message is `what`).
#[derive(Deserialize)]
struct Recorded {
    code: FailureCode,
    #[serde(default)]
    message: String,
    what: Option<String>,
    todo: Option<String>,
    reason: Option<Box<str>>,
    detail: Option<String>,
}

impl<'de> Deserialize<'de> for Failure {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Failure, D::Error> {
        let r = Recorded::deserialize(d)?;
        let (what, todo) = match (r.what, r.todo) {
            (Some(what), Some(todo)) => (what, todo),
            _ => (r.message, String::new()),
        };
        // Rebuilt, not taken from the record: message follows what and todo.
        Ok(Failure { reason: r.reason, detail: r.detail, ..Failure::new(r.code, what, todo) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn all_lists_every_code_in_order() {
        for (i, code) in FailureCode::ALL.iter().enumerate() {
            assert_eq!(*code as usize, i, "{code:?} out of place in ALL");
        }
        // Exhaustive on purpose: a new variant does not compile until it is named
        // here, which is the reminder to append it to ALL as well.
        let last = |c: FailureCode| match c {
            FailureCode::Ui => true,
            FailureCode::PortOpenFailed
            | FailureCode::ProbeFailed
            | FailureCode::FlashFailed
            | FailureCode::DeviceTimeout
            | FailureCode::LinkLost
            | FailureCode::LinkCorrupt
            | FailureCode::FrameTooLarge
            | FailureCode::ProtocolViolation
            | FailureCode::UnsupportedProtocol
            | FailureCode::DeviceError
            | FailureCode::AlreadyProvisioned
            | FailureCode::UidInvalid
            | FailureCode::UidCollision
            | FailureCode::KeyUnsupported
            | FailureCode::CsrInvalid
            | FailureCode::CsrSignatureInvalid
            | FailureCode::CsrKeyMismatch
            | FailureCode::CsrAlgorithmRejected
            | FailureCode::SigningFailed
            | FailureCode::CrlPublishFailed
            | FailureCode::InstallRejected
            | FailureCode::ReadbackMismatch
            | FailureCode::SelftestFailed
            | FailureCode::BrokerUnavailable
            | FailureCode::LabelFailed
            | FailureCode::PrintFailed
            | FailureCode::LogFailed
            | FailureCode::Cancelled
            | FailureCode::KeyReused
            | FailureCode::KeyInvalid
            | FailureCode::CsrNotBound
            | FailureCode::FleetUnavailable
            | FailureCode::Interrupted
            | FailureCode::Station
            | FailureCode::LogUnavailable
            | FailureCode::SlotBusy
            | FailureCode::ConfigRejected
            | FailureCode::CaFailed
            | FailureCode::CaPassphrase
            | FailureCode::EngineerOnly
            | FailureCode::ExportFailed
            | FailureCode::LabelTemplate
            | FailureCode::PinNotSet
            | FailureCode::WeakPin
            | FailureCode::WrongPin
            | FailureCode::LockedOut
            | FailureCode::PinFile => false,
        };
        assert!(FailureCode::ALL.last().is_some_and(|c| last(*c)), "ALL ends with the last variant");
    }

    #[test]
    fn every_code_round_trips_through_its_string() {
        let mut seen = std::collections::HashSet::new();
        for &code in FailureCode::ALL {
            let s = code.as_str();
            assert!(!s.is_empty() && s.chars().all(|c| c.is_ascii_uppercase() || c == '_'), "{code:?}: {s:?}");
            assert!(seen.insert(s.clone()), "{s} used twice");
            assert_eq!(serde_json::to_value(code).unwrap(), json!(s));
            assert_eq!(serde_json::from_value::<FailureCode>(json!(s)).unwrap(), code);
            assert_eq!(FailureCode::parse(&s), Some(code));
        }
        assert_eq!(FailureCode::parse("NO_SUCH_CODE"), None);
    }

    #[test]
    fn strings_are_the_contract() {
        // Strings other programs already match on: the README list, the log, the window.
        let expected = [
            (FailureCode::PortOpenFailed, "PORT_OPEN_FAILED"),
            (FailureCode::CsrSignatureInvalid, "CSR_SIGNATURE_INVALID"),
            (FailureCode::CrlPublishFailed, "CRL_PUBLISH_FAILED"),
            (FailureCode::CsrNotBound, "CSR_NOT_BOUND"),
            (FailureCode::Interrupted, "INTERRUPTED"),
            (FailureCode::Station, "STATION"),
            (FailureCode::LogUnavailable, "LOG"),
            (FailureCode::SlotBusy, "BUSY"),
            (FailureCode::ConfigRejected, "CONFIG"),
            (FailureCode::CaFailed, "CA"),
            (FailureCode::CaPassphrase, "CA_PASSPHRASE"),
            (FailureCode::EngineerOnly, "ENGINEER_ONLY"),
            (FailureCode::ExportFailed, "EXPORT"),
            (FailureCode::LabelTemplate, "LABEL"),
            (FailureCode::PinNotSet, "PIN_NOT_SET"),
            (FailureCode::WeakPin, "WEAK_PIN"),
            (FailureCode::WrongPin, "WRONG_PIN"),
            (FailureCode::LockedOut, "LOCKED_OUT"),
            (FailureCode::PinFile, "PIN_FILE"),
            (FailureCode::Ui, "UI"),
        ];
        for (code, s) in expected {
            assert_eq!(code.as_str(), s);
        }
    }

    #[test]
    fn message_is_what_then_todo() {
        let f = Failure::new(FailureCode::CsrSignatureInvalid, "The request is bad.", "Set the board aside.")
            .with_detail("sig\nbad");
        assert_eq!(f.message, format!("{} {}", f.what, f.todo));
        assert_eq!(f.to_string(), "CSR_SIGNATURE_INVALID: The request is bad. Set the board aside.");
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(v["code"], "CSR_SIGNATURE_INVALID");
        assert_eq!(v["message"], "The request is bad. Set the board aside.");
        assert_eq!(v["what"], "The request is bad.");
        assert_eq!(v["todo"], "Set the board aside.");
        assert!(v.get("reason").is_none());
        assert_eq!(serde_json::from_value::<Failure>(v).unwrap(), f);
        assert_eq!(operator_message("Only what.", ""), "Only what.");
    }

    #[test]
    fn records_from_before_the_split_read_as_what() {
        let old = json!({ "code": "INTERRUPTED", "message": "The station stopped. Run it again." });
        let f: Failure = serde_json::from_value(old).unwrap();
        assert_eq!(
            (f.code, f.what.as_str(), f.todo.as_str()),
            (FailureCode::Interrupted, "The station stopped. Run it again.", "")
        );
        assert_eq!(f.message, "The station stopped. Run it again.");
    }
}
