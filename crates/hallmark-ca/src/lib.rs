//! Hallmark's local certificate authority.
//!
//! - [`CaStore`] creates or unlocks the station's root and issuing CA in a directory;
//!   private keys are stored only as encrypted PKCS#8 (scrypt + AES-256-CBC).
//! - [`VerifiedCsr`] is a CSR whose proof of possession checked out; only its public
//!   key is kept.
//! - [`LeafProfile`] + [`IssuingCa::issue`] build the one kind of certificate the
//!   station ever signs for a device: a leaf client certificate with CN = UID.
//! - [`EvidenceSigner`]: signs the station's evidence records (detached CMS).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod crl;
mod csr;
mod error;
mod evidence;
mod hierarchy;
pub mod import;
mod issue;
mod key;
mod passphrase;
pub mod pkcs11;
mod profile;
mod store;

pub use crl::{Crl, Reason, Revoked};
pub use csr::VerifiedCsr;
pub use error::CaError;
pub use evidence::EvidenceSigner;
pub use hierarchy::StationCaCertificate;
pub use issue::{IssuedCertificate, ServiceRole};
pub use key::CaKey;
pub use passphrase::Passphrase;
pub use profile::{Device, KeyAlgorithm, LeafProfile, Validity};
pub use store::{pem_cert, pem_encode, CaStore, IssuingCa, KeyLocation};

/// SHA-256 fingerprint of DER bytes, lower-case hex.
pub fn fingerprint(der: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(der))
}
