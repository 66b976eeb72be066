//! The seams between the protocol agent and the board's hardware.

use alloc::vec::Vec;
use hallmark_protocol::KeyAlgorithm;
use rand_core::CryptoRngCore;

/// A key or certificate storage operation failed on the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StorageError;

/// Holds the device identity key. Implementations must never expose the private key.
pub trait KeyStore {
    /// Whether this store can generate keys of `algorithm`.
    fn supports(&self, algorithm: KeyAlgorithm) -> bool;
    /// Generates a new key pair, replacing any previous (uncertified) key.
    fn generate(&mut self, algorithm: KeyAlgorithm, rng: &mut dyn CryptoRngCore) -> Result<(), StorageError>;
    /// The current public key as a SEC1 uncompressed point, if a key exists.
    fn public_key(&self) -> Option<Vec<u8>>;
    /// The algorithm of the current key, if a key exists; the CSR names it
    /// (`csr::build` refuses a key it cannot describe rather than mislabel it).
    ///
    /// The default says ECDSA P-256 whenever there is a key, which is what every
    /// store written before this method held; a store that can hold anything else
    /// must override it.
    fn algorithm(&self) -> Option<KeyAlgorithm> {
        self.public_key().map(|_| KeyAlgorithm::EcdsaP256)
    }
    /// Signs a SHA-256 digest with the current key: a DER ECDSA signature for P-256 and
    /// P-384 (the digest is the number signed), or for Ed25519 the 64-byte signature
    /// of the digest as the message (`docs/protocol.md` S11).
    fn sign_digest(&mut self, digest: &[u8; 32]) -> Result<Vec<u8>, StorageError>;
}

/// What a device has installed: certificate, chain and trust anchor (all DER).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstalledIdentity {
    /// The device certificate.
    pub certificate: Vec<u8>,
    /// Issuing chain, concatenated DER, issuing CA first.
    pub chain: Vec<u8>,
    /// Trust anchor for authenticating servers.
    pub trust_anchor: Vec<u8>,
}

/// Persists the installed identity. `install` must be atomic: after a power cut the
/// device holds either the old identity or the new one, never a mix.
pub trait CertStore {
    /// The installed identity, if any.
    fn installed(&self) -> Option<&InstalledIdentity>;
    /// Replaces the installed identity atomically.
    fn install(&mut self, identity: InstalledIdentity) -> Result<(), StorageError>;
}
