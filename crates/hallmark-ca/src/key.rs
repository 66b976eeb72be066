//! The issuing CA's signing key: an encrypted file unlocked into memory, or a key
//! that never leaves a PKCS#11 token.

use crate::pkcs11::TokenKey;
use rcgen::{KeyPair, PublicKeyData, SignatureAlgorithm, SigningKey};

/// Where the issuing key signs.
pub enum CaKey {
    /// Decrypted from encrypted PKCS#8 on disk, held in memory (boxed: a ring key
    /// pair is large).
    File(Box<KeyPair>),
    /// In a PKCS#11 token.
    Token(TokenKey),
}

impl PublicKeyData for CaKey {
    fn der_bytes(&self) -> &[u8] {
        match self {
            CaKey::File(k) => k.der_bytes(),
            CaKey::Token(k) => k.der_bytes(),
        }
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        match self {
            CaKey::File(k) => k.algorithm(),
            CaKey::Token(k) => k.algorithm(),
        }
    }
}

impl SigningKey for CaKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        match self {
            CaKey::File(k) => k.sign(msg),
            CaKey::Token(k) => k.sign(msg),
        }
    }
}
