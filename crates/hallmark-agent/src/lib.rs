//! Hallmark reference device agent: the board's side of the provisioning protocol.
//!
//! `no_std` + `alloc`, so firmware can embed it. The agent owns the protocol state
//! machine; the hardware-specific parts come in through three traits:
//! - [`KeyStore`]: generates the identity key on the device and signs with it (flash,
//!   secure element, TrustZone …). The private key never leaves it.
//! - [`CertStore`]: persists the installed certificate, chain and trust anchor.
//! - a [`rand_core::CryptoRngCore`] for key generation.
//!
//! Feed it frames with [`Agent::handle_frame`]; send back what it returns.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

mod agent;
pub mod csr;
#[cfg(feature = "software-keys")]
pub mod soft;
mod traits;

pub use agent::{Agent, CarriedObjects, DeviceDescription, LinkCapacity};
pub use traits::{CertStore, InstalledIdentity, KeyStore, StorageError};
