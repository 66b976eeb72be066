//! The leaf certificate profile: the only thing this CA ever signs.

use crate::profile::{Device, LeafProfile};
use crate::{fingerprint, store::pem_cert, CaError, IssuingCa, VerifiedCsr};
use rcgen::{
    CertificateParams, CrlDistributionPoint, CustomExtension, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyUsagePurpose, SanType, SerialNumber, SubjectPublicKeyInfo,
};
use time::OffsetDateTime;

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
    /// Signs a leaf client certificate for `device` over the CSR's public key.
    /// Nothing else from the CSR (subject, extensions, attributes) reaches the
    /// certificate: the profile decides everything.
    pub fn issue(
        &self,
        device: Device<'_>,
        csr: &VerifiedCsr,
        profile: &LeafProfile,
        now: OffsetDateTime,
    ) -> Result<IssuedCertificate, CaError> {
        let now = now.replace_nanosecond(0).map_err(|e| CaError::Signing(e.to_string()))?;
        if now >= self.issuing_not_after() {
            return Err(CaError::Expired { not_after: self.issuing_not_after().to_string() });
        }
        if !profile.key_algorithms.contains(&csr.algorithm) {
            return Err(CaError::CsrAlgorithm(csr.algorithm.words().to_string()));
        }
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        if let Some(o) = &profile.organization {
            dn.push(DnType::OrganizationName, o.as_str());
        }
        if let Some(ou) = &profile.organizational_unit {
            dn.push(DnType::OrganizationalUnitName, ou.as_str());
        }
        if let Some(sn) = &profile.subject_serial_number {
            dn.push(DnType::CustomDnType(vec![2, 5, 4, 5]), device.expand(sn));
        }
        dn.push(DnType::CommonName, device.uid);
        params.distinguished_name = dn;
        let ia5 = |s: String| {
            rcgen::string::Ia5String::try_from(s.clone()).map_err(|_| CaError::Signing(format!("{s:?} is not ASCII")))
        };
        if let Some(uri) = &profile.san_uri {
            params.subject_alt_names.push(SanType::URI(ia5(device.expand(uri))?));
        }
        if let Some(dns) = &profile.san_dns {
            params.subject_alt_names.push(SanType::DnsName(ia5(device.expand(dns))?));
        }
        if let Some(url) = &profile.crl_url {
            params.crl_distribution_points = vec![CrlDistributionPoint { uris: vec![url.clone()] }];
        }
        if let Some(url) = &profile.ca_issuers_url {
            params.custom_extensions.push(authority_info_access(url));
        }
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        let serial = random_serial();
        params.serial_number = Some(serial.clone());
        params.not_before = now;
        params.not_after = profile.validity.not_after(now);

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

/// Authority Information Access with one caIssuers URL (RFC 5280 4.2.2.1).
fn authority_info_access(url: &str) -> CustomExtension {
    use hallmark_protocol::der::{concat, tlv, SEQUENCE};
    /// `[6]` uniformResourceIdentifier, primitive.
    const URI: u8 = 0x86;
    // id-ad-caIssuers 1.3.6.1.5.5.7.48.2
    const CA_ISSUERS: &[u8] = &[0x06, 0x08, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02];
    let access = tlv(SEQUENCE, &concat(&[CA_ISSUERS, &tlv(URI, url.as_bytes())]));
    CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 1], tlv(SEQUENCE, &access))
}

/// What a station service certificate is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceRole {
    /// A TLS server reachable under these DNS names and IP addresses (the station's
    /// link self-test server, the broker).
    Server {
        /// DNS names and IP addresses for the subjectAltName.
        names: Vec<String>,
    },
    /// A TLS client (the station's own broker identity; CN is its broker username).
    Client,
}

impl IssuingCa {
    /// A certificate for one of the station's own services, built from the station's
    /// parameters only (never a device's): CN `name`, the key usage of `role`, valid
    /// from five minutes ago for `days` (capped at the issuing CA's end). Returns the
    /// certificate and its fresh P-256 key (PKCS#8 DER).
    pub fn service_certificate(
        &self,
        name: &str,
        role: ServiceRole,
        days: i64,
        now: OffsetDateTime,
    ) -> Result<(Vec<u8>, Vec<u8>), CaError> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        params.distinguished_name = dn;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        match role {
            ServiceRole::Server { names } => {
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
                for n in names {
                    params.subject_alt_names.push(match n.parse::<std::net::IpAddr>() {
                        Ok(ip) => rcgen::SanType::IpAddress(ip),
                        Err(_) => rcgen::SanType::DnsName(n.as_str().try_into()?),
                    });
                }
            }
            ServiceRole::Client => params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth],
        }
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(random_serial());
        let now = now.replace_nanosecond(0).unwrap_or(now);
        params.not_before = now - time::Duration::minutes(5);
        params.not_after = (now + time::Duration::days(days)).min(self.issuing_not_after());
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok((cert.der().to_vec(), key.serialize_der()))
    }
}
