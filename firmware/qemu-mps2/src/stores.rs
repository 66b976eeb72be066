//! The agent's key and certificate stores for the emulated board: the agent's
//! in-memory stores, written through to host files (`host_file.rs`) so that a board
//! killed mid-run boots again as the same chip with what it had committed.

use crate::host_file;
use alloc::vec::Vec;
use hallmark_agent::soft::{MemoryCertStore, SoftKeyStore};
use hallmark_agent::{CertStore, InstalledIdentity, KeyStore, StorageError};
use hallmark_protocol::KeyAlgorithm;
use rand_core::CryptoRngCore;

const KEY: &[u8] = b"hallmark-fw-key.bin\0";
const KEY_TEMP: &[u8] = b"hallmark-fw-key.tmp\0";
const IDENTITY: &[u8] = b"hallmark-fw-identity.bin\0";
const IDENTITY_TEMP: &[u8] = b"hallmark-fw-identity.tmp\0";
const CHIP: &[u8] = b"hallmark-fw-chip.bin\0";
const CHIP_TEMP: &[u8] = b"hallmark-fw-chip.tmp\0";

/// The emulated chip's unique id: made once, then kept.
pub fn chip_id(fresh: impl FnOnce() -> [u8; 8]) -> Vec<u8> {
    if let Some(id) = host_file::read(CHIP).filter(|id| id.len() == 8) {
        return id;
    }
    let id = fresh();
    // Without storage the chip is new at every boot, which the station handles.
    host_file::replace(CHIP, CHIP_TEMP, &[&id]);
    id.to_vec()
}

/// The key, kept in a host file.
#[derive(Default)]
pub struct KeptKey(SoftKeyStore);

impl KeptKey {
    /// The key the board had, if any.
    pub fn load() -> KeptKey {
        match host_file::read(KEY).and_then(|k| SoftKeyStore::from_secret_bytes(&k).ok()) {
            Some(store) => KeptKey(store),
            None => KeptKey::default(),
        }
    }
}

impl KeyStore for KeptKey {
    fn supports(&self, algorithm: KeyAlgorithm) -> bool {
        self.0.supports(algorithm)
    }

    fn generate(&mut self, algorithm: KeyAlgorithm, rng: &mut dyn CryptoRngCore) -> Result<(), StorageError> {
        let mut fresh = SoftKeyStore::default();
        fresh.generate(algorithm, rng)?;
        let secret = fresh.secret_bytes().ok_or(StorageError)?;
        // Kept before it is used: a key the board forgets could never use its certificate.
        if !host_file::replace(KEY, KEY_TEMP, &[&secret]) {
            return Err(StorageError);
        }
        self.0 = fresh;
        Ok(())
    }

    fn public_key(&self) -> Option<Vec<u8>> {
        self.0.public_key()
    }

    fn algorithm(&self) -> Option<KeyAlgorithm> {
        self.0.algorithm()
    }

    fn sign_digest(&mut self, digest: &[u8; 32]) -> Result<Vec<u8>, StorageError> {
        self.0.sign_digest(digest)
    }
}

/// The installed identity, kept in a host file (length-prefixed certificate, chain,
/// trust anchor).
#[derive(Default)]
pub struct KeptIdentity(MemoryCertStore);

impl KeptIdentity {
    /// The identity the board had, if any.
    pub fn load() -> KeptIdentity {
        let identity = host_file::read(IDENTITY).and_then(|bytes| decode(&bytes));
        KeptIdentity(MemoryCertStore { identity })
    }
}

impl CertStore for KeptIdentity {
    fn installed(&self) -> Option<&InstalledIdentity> {
        self.0.installed()
    }

    fn install(&mut self, identity: InstalledIdentity) -> Result<(), StorageError> {
        let lengths = [&identity.certificate, &identity.chain, &identity.trust_anchor]
            .map(|part| (part.len() as u32).to_le_bytes());
        let parts =
            [&lengths[0][..], &identity.certificate, &lengths[1], &identity.chain, &lengths[2], &identity.trust_anchor];
        if !host_file::replace(IDENTITY, IDENTITY_TEMP, &parts) {
            return Err(StorageError);
        }
        self.0.install(identity)
    }
}

fn decode(mut bytes: &[u8]) -> Option<InstalledIdentity> {
    let mut parts: [Vec<u8>; 3] = Default::default();
    for part in &mut parts {
        let (len, rest) = bytes.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*len) as usize;
        *part = rest.get(..len)?.to_vec();
        bytes = &rest[len..];
    }
    let [certificate, chain, trust_anchor] = parts;
    bytes.is_empty().then_some(InstalledIdentity { certificate, chain, trust_anchor })
}
