//! The leaf certificate profile: the only thing this CA ever signs.

use crate::{fingerprint, store::pem_cert, CaError, IssuingCa, VerifiedCsr};
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose, SerialNumber,
    SubjectPublicKeyInfo,
};
use time::{Duration, OffsetDateTime};

/// Station-chosen parameters of a device certificate.
#[derive(Clone, Debug)]
pub struct LeafProfile {
    /// How long the certificate is valid from issuance.
    pub validity: Duration,
}

impl Default for LeafProfile {
    fn default() -> Self {
        LeafProfile { validity: Duration::days(10 * 365) }
    }
}

/// A signed device certificate and the facts QA needs about it.
#[derive(Clone, Debug)]
pub struct IssuedCertificate {
    /// DER encoding.
    pub der: Vec<u8>,
    /// PEM encoding.
    pub pem: String,
    /// Serial number, lower-case hex.
    pub serial_hex: String,
    /// SHA-256 fingerprint of the DER, lower-case hex.
    pub fingerprint: String,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
}

/// 16 random bytes with the top bit clear: positive, unpredictable, never derived
/// from the key (rcgen's default would repeat the serial for a re-used key).
pub(crate) fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] &= 0x7F;
    if bytes[0] == 0 {
        // Keep the DER INTEGER exactly 16 bytes long.
        bytes[0] = 0x01;
    }
    SerialNumber::from_slice(&bytes)
}

impl IssuingCa {
    /// Signs a leaf client certificate for `uid` over the CSR's public key. Nothing
    /// else from the CSR (subject, extensions, attributes) reaches the certificate.
    pub fn issue(
        &self,
        uid: &str,
        csr: &VerifiedCsr,
        profile: &LeafProfile,
        now: OffsetDateTime,
    ) -> Result<IssuedCertificate, CaError> {
        let now = now.replace_nanosecond(0).map_err(|e| CaError::Signing(e.to_string()))?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, uid);
        params.distinguished_name = dn;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        let serial = random_serial();
        params.serial_number = Some(serial.clone());
        params.not_before = now;
        params.not_after = now + profile.validity;

        let public_key = SubjectPublicKeyInfo::from_der(&csr.spki_der)?;
        let cert = params.signed_by(&public_key, &self.issuer)?;
        let der = cert.der().to_vec();
        Ok(IssuedCertificate {
            pem: pem_cert(&der),
            fingerprint: fingerprint(&der),
            der,
            serial_hex: hex::encode(serial.as_ref()),
            not_before: params.not_before,
            not_after: params.not_after,
        })
    }
}
