//! Software key store (P-256 with the `p256` crate) and an in-memory certificate
//! store. Used by the simulated board; firmware without a secure element can persist
//! [`SoftKeyStore::secret_bytes`] in protected flash.

use crate::{CertStore, InstalledIdentity, KeyStore, StorageError};
use alloc::vec::Vec;
use hallmark_protocol::KeyAlgorithm;
use p256::ecdsa::{signature::hazmat::PrehashSigner, Signature, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;

/// P-256 key held in memory.
#[derive(Default, Clone)]
pub struct SoftKeyStore {
    key: Option<SigningKey>,
}

impl SoftKeyStore {
    /// Restores a key from its 32-byte scalar (as saved by [`Self::secret_bytes`]).
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<Self, StorageError> {
        let key = SigningKey::from_slice(bytes).map_err(|_| StorageError)?;
        Ok(SoftKeyStore { key: Some(key) })
    }

    /// The private scalar, for persistence in the board's protected storage.
    pub fn secret_bytes(&self) -> Option<Vec<u8>> {
        self.key.as_ref().map(|k| k.to_bytes().to_vec())
    }
}

impl KeyStore for SoftKeyStore {
    fn supports(&self, algorithm: KeyAlgorithm) -> bool {
        algorithm == KeyAlgorithm::EcdsaP256
    }

    fn generate(&mut self, algorithm: KeyAlgorithm, rng: &mut dyn CryptoRngCore) -> Result<(), StorageError> {
        if !self.supports(algorithm) {
            return Err(StorageError);
        }
        let mut rng = rng;
        self.key = Some(SigningKey::random(&mut rng));
        Ok(())
    }

    fn public_key(&self) -> Option<Vec<u8>> {
        self.key.as_ref().map(|k| VerifyingKey::from(k).to_encoded_point(false).as_bytes().to_vec())
    }

    fn algorithm(&self) -> Option<KeyAlgorithm> {
        self.key.as_ref().map(|_| KeyAlgorithm::EcdsaP256)
    }

    fn sign_digest(&mut self, digest: &[u8; 32]) -> Result<Vec<u8>, StorageError> {
        let key = self.key.as_ref().ok_or(StorageError)?;
        let sig: Signature = key.sign_prehash(digest).map_err(|_| StorageError)?;
        Ok(sig.to_der().as_bytes().to_vec())
    }
}

/// Certificate store in RAM.
#[derive(Default, Clone, Debug)]
pub struct MemoryCertStore {
    /// What is installed.
    pub identity: Option<InstalledIdentity>,
}

impl CertStore for MemoryCertStore {
    fn installed(&self) -> Option<&InstalledIdentity> {
        self.identity.as_ref()
    }

    fn install(&mut self, identity: InstalledIdentity) -> Result<(), StorageError> {
        self.identity = Some(identity);
        Ok(())
    }
}
