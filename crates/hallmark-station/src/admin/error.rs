//! Why an administration request was refused or did not complete. Each message
//! says what to do; the window words them for its screens by variant
//! (`src-tauri/src/ipc.rs`), the CLI prints them as they are.

use crate::engineer::EngineerError;

/// An engineer change that was refused or did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The configuration (or its label template) does not parse or does not pass the
    /// station's checks. Nothing was audited or saved.
    #[error("the configuration was not accepted: {0}. Correct it and save again")]
    InvalidConfig(String),
    /// The edit changes no setting.
    #[error("nothing was changed: change a setting, then save")]
    NothingChanged,
    /// A slot is running, so the configuration in force cannot change now.
    #[error("a slot is running: wait for it to finish, then save again")]
    SlotRunning,
    /// The configuration file could not be written. The change was audited (and its
    /// failure too); the previous file and the configuration in force are unchanged.
    #[error(
        "the configuration could not be saved to {file}, so nothing changed: {reason}. \
         Check that the configuration file can be written, then save again"
    )]
    NotSaved {
        /// The configuration file.
        file: String,
        /// The OS error.
        reason: String,
    },
    /// The audit entry that must precede the change could not be written: nothing
    /// was done.
    #[error("the QA log could not be written, so nothing was done: {0}. Check the data directory")]
    NotAudited(hallmark_store::StoreError),
    /// The change was made but the audit entry recording its result could not be
    /// written.
    #[error("the change was made but the QA log could not record it: {0}. Check the data directory")]
    ResultNotAudited(hallmark_store::StoreError),
    /// The action needs the unlocked engineer role.
    #[error("this needs the engineer role: enter the engineer PIN first")]
    EngineerOnly,
    /// Setting the first engineer PIN needs the CA passphrase (or token PIN), and
    /// none was given.
    #[error("setting the first engineer PIN needs the CA passphrase (or token PIN) of this station: give it too")]
    CaSecretMissing,
    /// The secret given with the first engineer PIN does not unlock the station's CA
    /// (the refusal is audited).
    #[error("that is not the CA passphrase (or token PIN) of this station: enter it again, or ask whoever holds it")]
    CaSecretWrong,
    /// The PIN was refused (weak, wrong, locked out, not set) or its file failed.
    #[error(transparent)]
    Pin(#[from] EngineerError),
    /// The label template does not parse or does not lay out.
    #[error("the label template is not valid: {0}. Fix it, then save again")]
    TemplateInvalid(hallmark_label::LabelError),
    /// The label template cannot print this station's boards (a probe chip's UID is
    /// longer than it fits, ...).
    #[error("the label template does not fit this station's boards: {0}. Fix it, then save again")]
    TemplateMisfit(String),
    /// The label template file could not be written (after the change was audited).
    #[error("the label template could not be written to {path}: {reason}. Check the data directory's permissions")]
    TemplateNotWritten {
        /// The template file.
        path: String,
        /// The OS error.
        reason: String,
    },
}
