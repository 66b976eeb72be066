//! The leaf certificate profile: everything the station decides about a device
//! certificate. Nothing here comes from the CSR.

use std::str::FromStr;
use time::{Duration, OffsetDateTime};

/// How long device certificates are valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Validity {
    /// From issuance, for this long.
    For(Duration),
    /// Until a fixed date.
    Until(OffsetDateTime),
    /// IEEE 802.1AR "no well-defined expiration": notAfter 99991231235959Z.
    NoExpiry,
}

impl Validity {
    /// notAfter for a certificate issued at `now`.
    pub fn not_after(&self, now: OffsetDateTime) -> OffsetDateTime {
        match self {
            Validity::For(d) => now + *d,
            Validity::Until(t) => *t,
            Validity::NoExpiry => time::macros::datetime!(9999-12-31 23:59:59 UTC),
        }
    }
}

/// Device key algorithms the CA accepts in a CSR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// ECDSA on NIST P-256.
    P256,
    /// ECDSA on NIST P-384.
    P384,
    /// Ed25519.
    Ed25519,
}

impl KeyAlgorithm {
    /// The algorithm in words, for messages a person reads.
    pub fn words(self) -> &'static str {
        match self {
            KeyAlgorithm::P256 => "ECDSA P-256",
            KeyAlgorithm::P384 => "ECDSA P-384",
            KeyAlgorithm::Ed25519 => "Ed25519",
        }
    }
}

impl FromStr for KeyAlgorithm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "p256" | "p-256" | "ecdsa-p256" => Ok(KeyAlgorithm::P256),
            "p384" | "p-384" | "ecdsa-p384" => Ok(KeyAlgorithm::P384),
            "ed25519" => Ok(KeyAlgorithm::Ed25519),
            _ => Err(format!("unknown key algorithm {s:?}; use p256, p384 or ed25519")),
        }
    }
}

/// Station-chosen parameters of a device certificate. Patterns may use `{uid}` and
/// `{hardware_id}`.
#[derive(Clone, Debug)]
pub struct LeafProfile {
    /// Validity.
    pub validity: Validity,
    /// Device key algorithms accepted.
    pub key_algorithms: Vec<KeyAlgorithm>,
    /// subjectAltName URI pattern.
    pub san_uri: Option<String>,
    /// subjectAltName DNS name pattern.
    pub san_dns: Option<String>,
    /// CRL Distribution Point URL.
    pub crl_url: Option<String>,
    /// Authority Information Access caIssuers URL.
    pub ca_issuers_url: Option<String>,
    /// Subject O.
    pub organization: Option<String>,
    /// Subject OU.
    pub organizational_unit: Option<String>,
    /// Subject serialNumber pattern.
    pub subject_serial_number: Option<String>,
}

impl Default for LeafProfile {
    fn default() -> Self {
        LeafProfile {
            validity: Validity::For(Duration::days(10 * 365)),
            key_algorithms: vec![KeyAlgorithm::P256],
            san_uri: None,
            san_dns: None,
            crl_url: None,
            ca_issuers_url: None,
            organization: None,
            organizational_unit: None,
            subject_serial_number: None,
        }
    }
}

/// Facts about the device a pattern can use.
#[derive(Clone, Copy, Debug)]
pub struct Device<'a> {
    /// UID (= CN).
    pub uid: &'a str,
    /// Hardware id, hex.
    pub hardware_id: &'a str,
}

impl Device<'_> {
    /// Expands `{uid}` and `{hardware_id}`.
    pub fn expand(&self, pattern: &str) -> String {
        pattern.replace("{uid}", self.uid).replace("{hardware_id}", self.hardware_id)
    }
}
