//! How a simulated modem misbehaves on purpose (`hallmark sim --dialect nrf91-at
//! --fault ...`).

use std::str::FromStr;

/// A modem fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModemFault {
    /// Stays on whatever `AT+CFUN` says: key generation and writes get `+CME ERROR: 518`.
    ModemOn,
    /// Forgets the key right after generating it: it is never listed.
    KeyMissing,
    /// The credential store is full: writes get `+CME ERROR: 515`.
    StorageFull,
    /// Answers `AT%KEYGEN` with a line that is not base64url.
    MalformedKeygen,
    /// Attests another CSR than the one it sends.
    AttestationMismatch,
    /// Signs its CSR with ecdsa-with-SHA256 without the NULL parameters real firmware writes.
    PlainCsr,
    /// Lists a wrong digest for the client certificate.
    WrongReadback,
    /// Runs firmware 1.2.3 (no attested key generation).
    OldFirmware,
    /// Runs Nordic's shell: only `at <command>` is understood.
    Shell,
    /// Answers every command with binary noise.
    Garbage,
    /// Never answers.
    Silent,
    /// Generates its key under another device UUID than its attestation token names.
    OtherUuid,
    /// Answers `+CME ERROR: 513` (not found) when asked to list a tag that holds nothing.
    CredentialMissing,
}

impl ModemFault {
    /// Every fault's name, for messages.
    pub const NAMES: &'static str = "modem-on, key-missing, storage-full, malformed-keygen, attestation-mismatch, \
                                     plain-csr, wrong-readback, old-firmware, shell, garbage, silent, other-uuid, credential-missing";
}

impl FromStr for ModemFault {
    type Err = crate::SimError;

    fn from_str(s: &str) -> Result<ModemFault, crate::SimError> {
        Ok(match s {
            "modem-on" => ModemFault::ModemOn,
            "key-missing" => ModemFault::KeyMissing,
            "storage-full" => ModemFault::StorageFull,
            "malformed-keygen" => ModemFault::MalformedKeygen,
            "attestation-mismatch" => ModemFault::AttestationMismatch,
            "plain-csr" => ModemFault::PlainCsr,
            "wrong-readback" => ModemFault::WrongReadback,
            "old-firmware" => ModemFault::OldFirmware,
            "shell" => ModemFault::Shell,
            "garbage" => ModemFault::Garbage,
            "silent" => ModemFault::Silent,
            "other-uuid" => ModemFault::OtherUuid,
            "credential-missing" => ModemFault::CredentialMissing,
            other => return Err(crate::SimError::BadFault(format!("{other} (modem faults: {})", ModemFault::NAMES))),
        })
    }
}
