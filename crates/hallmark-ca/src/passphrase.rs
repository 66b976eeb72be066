use crate::CaError;

/// The passphrase protecting the CA keys. Never logged, never printed.
pub struct Passphrase(String);

impl Passphrase {
    /// Minimum length for a new CA.
    pub const MIN_LEN: usize = 12;

    /// A passphrase for unlocking an existing CA (any length: the key decides).
    pub fn for_unlock(s: String) -> Passphrase {
        Passphrase(s)
    }

    /// A passphrase for creating a new CA; refuses short ones.
    pub fn for_new_ca(s: String) -> Result<Passphrase, CaError> {
        if s.chars().count() < Self::MIN_LEN {
            return Err(CaError::WeakPassphrase { min: Self::MIN_LEN });
        }
        Ok(Passphrase(s))
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(***)")
    }
}
