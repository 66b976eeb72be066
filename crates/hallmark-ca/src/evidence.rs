//! The evidence signer (issue #18): a dedicated P-256 key, made in memory when the
//! station signs evidence and never written anywhere, certified by the issuing CA for
//! document signing only; it signs detached CMS (RFC 5652) SignedData that
//! `openssl cms -verify -binary -inform DER` checks with nothing but the root.
//!
//! The issuing key itself never signs evidence: it signs certificates and CRLs. The
//! signer certificate's extended key usage is `emailProtection` (what OpenSSL's CMS
//! verification asks of a signer) and `documentSigning` (RFC 9336), never
//! `clientAuth`/`serverAuth`, so it cannot pass for a device or a broker. It lasts as
//! long as the issuing CA so that evidence still verifies years later.
//!
//! The SignedData is assembled from the `cms` crate's types rather than its builder:
//! the builder feature pulls RSA and AES into the station for one ECDSA signature.

use crate::issue::random_serial;
use crate::{fingerprint, CaError, IssuingCa};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::EncodePublicKey;
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose, SubjectPublicKeyInfo,
};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_cert::attr::{Attribute, AttributeValue};
use x509_cert::der::asn1::{OctetString, SetOfVec, UtcTime};
use x509_cert::der::{Any, Decode, Encode};
use x509_cert::spki::{AlgorithmIdentifierOwned, ObjectIdentifier};
use x509_cert::Certificate;

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
const SHA_256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ECDSA_WITH_SHA_256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// id-kp-documentSigning (RFC 9336), as rcgen's OID arcs.
const DOCUMENT_SIGNING: [u64; 9] = [1, 3, 6, 1, 5, 5, 7, 3, 36];

/// A key that signs evidence, with its certificate and the chain up to the root.
pub struct EvidenceSigner {
    key: SigningKey,
    certificate: Vec<u8>,
    /// Issuing CA, intermediates, root (DER).
    chain: Vec<Vec<u8>>,
}

impl IssuingCa {
    /// A fresh evidence signer for `station`, certified from `now` to the end of the
    /// issuing CA. Record its certificate (audit) before using it.
    pub fn evidence_signer(&self, station: &str, now: OffsetDateTime) -> Result<EvidenceSigner, CaError> {
        let now = now.replace_nanosecond(0).map_err(|e| CaError::Signing(e.to_string()))?;
        if now >= self.issuing_not_after() {
            return Err(CaError::Expired { not_after: self.issuing_not_after().to_string() });
        }
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let spki = key.verifying_key().to_public_key_der().map_err(|e| CaError::Signing(e.to_string()))?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "Hallmark provisioning station");
        dn.push(DnType::CommonName, format!("Hallmark evidence signer {station}"));
        params.distinguished_name = dn;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
        params.extended_key_usages =
            vec![ExtendedKeyUsagePurpose::EmailProtection, ExtendedKeyUsagePurpose::Other(DOCUMENT_SIGNING.to_vec())];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(random_serial());
        params.not_before = now - time::Duration::minutes(5);
        params.not_after = self.issuing_not_after();
        let public = SubjectPublicKeyInfo::from_der(spki.as_bytes())?;
        let certificate = params.signed_by(&public, &self.issuer)?.der().to_vec();
        let mut chain = vec![self.issuing_der.clone()];
        chain.extend(self.intermediates.iter().cloned());
        chain.push(self.root_der.clone());
        Ok(EvidenceSigner { key, certificate, chain })
    }
}

impl EvidenceSigner {
    /// The signer's certificate (DER).
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate
    }

    /// SHA-256 fingerprint of the signer's certificate, lower-case hex.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.certificate)
    }

    /// A detached CMS SignedData (DER) over `content`: SHA-256, ECDSA P-256, signed
    /// attributes content-type, signing-time (`at`) and message-digest; the signer's
    /// certificate and its whole chain inside.
    pub fn sign_detached(&self, content: &[u8], at: OffsetDateTime) -> Result<Vec<u8>, CaError> {
        let bad = |e: x509_cert::der::Error| CaError::Signing(format!("building the CMS signature: {e}"));
        let signer_cert = Certificate::from_der(&self.certificate).map_err(bad)?;
        let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: signer_cert.tbs_certificate.issuer.clone(),
            serial_number: signer_cert.tbs_certificate.serial_number.clone(),
        });
        let signing_time =
            UtcTime::from_unix_duration(std::time::Duration::from_secs(at.unix_timestamp().max(0) as u64))
                .map_err(bad)?;
        let digest = OctetString::new(Sha256::digest(content).to_vec()).map_err(bad)?;
        let attributes = SetOfVec::try_from(vec![
            attribute(CONTENT_TYPE, Any::encode_from(&ID_DATA).map_err(bad)?)?,
            attribute(SIGNING_TIME, Any::encode_from(&signing_time).map_err(bad)?)?,
            attribute(MESSAGE_DIGEST, Any::encode_from(&digest).map_err(bad)?)?,
        ])
        .map_err(bad)?;
        // RFC 5652 5.4: the signature covers the DER of the attributes as a SET OF.
        let signature: DerSignature = self.key.sign(&attributes.to_der().map_err(bad)?);
        let signer = SignerInfo {
            version: CmsVersion::V1,
            sid,
            digest_alg: algorithm(SHA_256),
            signed_attrs: Some(attributes),
            signature_algorithm: algorithm(ECDSA_WITH_SHA_256),
            signature: OctetString::new(signature.as_bytes().to_vec()).map_err(bad)?,
            unsigned_attrs: None,
        };
        let mut certificates = vec![CertificateChoices::Certificate(signer_cert)];
        for der in &self.chain {
            certificates.push(CertificateChoices::Certificate(Certificate::from_der(der).map_err(bad)?));
        }
        let signed = SignedData {
            version: CmsVersion::V1,
            digest_algorithms: SetOfVec::try_from(vec![algorithm(SHA_256)]).map_err(bad)?,
            encap_content_info: EncapsulatedContentInfo { econtent_type: ID_DATA, econtent: None },
            certificates: Some(CertificateSet::try_from(certificates).map_err(bad)?),
            crls: None,
            signer_infos: SignerInfos::try_from(vec![signer]).map_err(bad)?,
        };
        let info = ContentInfo { content_type: ID_SIGNED_DATA, content: Any::encode_from(&signed).map_err(bad)? };
        info.to_der().map_err(bad)
    }
}

fn algorithm(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid, parameters: None }
}

fn attribute(oid: ObjectIdentifier, value: AttributeValue) -> Result<Attribute, CaError> {
    let values = SetOfVec::try_from(vec![value]).map_err(|e| CaError::Signing(e.to_string()))?;
    Ok(Attribute { oid, values })
}
