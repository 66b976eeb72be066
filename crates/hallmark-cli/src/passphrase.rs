//! Getting the CA passphrase: from `HALLMARK_CA_PASSPHRASE`, or asked on the
//! terminal. There is no default: an unattended station without the variable stops.

use hallmark_ca::{CaError, Passphrase};
use hallmark_station::startup::CaSecrets;
pub use hallmark_station::startup::{PASSPHRASE_ENV, PIN_ENV};
use std::io::IsTerminal;

/// The environment, else the terminal.
pub struct Terminal;

impl CaSecrets for Terminal {
    fn passphrase(&self, creating: bool) -> Result<Passphrase, CaError> {
        obtain(creating)
    }

    fn token_pin(&self) -> Result<String, CaError> {
        token_pin()
    }
}

/// `creating` = a new CA will be made (ask twice, enforce the minimum length).
pub fn obtain(creating: bool) -> Result<Passphrase, CaError> {
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        return if creating { Passphrase::for_new_ca(p) } else { Ok(Passphrase::for_unlock(p)) };
    }
    if !std::io::stdin().is_terminal() {
        return Err(CaError::SecretMissing(format!(
            "the CA passphrase is needed: set {PASSPHRASE_ENV} (no terminal to ask on)"
        )));
    }
    let io = |e: std::io::Error| CaError::Signing(format!("cannot read the passphrase: {e}"));
    if creating {
        eprintln!("Creating this station's certificate authority. Its keys are encrypted with a passphrase");
        eprintln!("(at least {} characters) that you will need every time the station starts.", Passphrase::MIN_LEN);
        let first = rpassword::prompt_password("New CA passphrase: ").map_err(io)?;
        let second = rpassword::prompt_password("Repeat it: ").map_err(io)?;
        if first != second {
            return Err(CaError::Signing("the two passphrases differ; run again".into()));
        }
        Passphrase::for_new_ca(first)
    } else {
        Ok(Passphrase::for_unlock(rpassword::prompt_password("CA passphrase: ").map_err(io)?))
    }
}

/// The PIN of the token holding the issuing key: `HALLMARK_PKCS11_PIN`, or asked.
pub fn token_pin() -> Result<String, CaError> {
    if let Ok(p) = std::env::var(PIN_ENV) {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        return Err(CaError::SecretMissing(format!("the token PIN is needed: set {PIN_ENV} (no terminal to ask on)")));
    }
    rpassword::prompt_password("Token PIN: ").map_err(|e| CaError::Token(format!("cannot read the PIN: {e}")))
}
