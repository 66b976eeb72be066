//! A throwaway two-level CA, made in memory for one kit run, that issues the test
//! identities the kit installs. It is never saved and signs nothing but certificates
//! whose subject says they are conformance-test identities.

use super::Problem;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, Issuer, KeyPair, PublicKeyData,
    SubjectPublicKeyInfo,
};

/// The subject CN of every certificate the kit installs.
pub const TEST_CN: &str = "HALLMARK-CONFORMANCE-TEST";

pub(super) struct TestCa {
    root_der: Vec<u8>,
    issuing_der: Vec<u8>,
    issuer: Issuer<'static, KeyPair>,
}

fn failed(e: rcgen::Error) -> Problem {
    Problem::Fail(format!("the kit could not make its test certificate ({e})"))
}

impl TestCa {
    pub fn new() -> Result<TestCa, Problem> {
        let ca_params = |cn: &str| -> Result<CertificateParams, Problem> {
            let mut p = CertificateParams::new(Vec::new()).map_err(failed)?;
            p.distinguished_name.push(DnType::CommonName, cn);
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            Ok(p)
        };
        let root_key = KeyPair::generate().map_err(failed)?;
        let root_params = ca_params("Hallmark conformance root (throwaway)")?;
        let root_der = root_params.self_signed(&root_key).map_err(failed)?.der().to_vec();
        let root = Issuer::new(root_params, root_key);
        let issuing_key = KeyPair::generate().map_err(failed)?;
        let issuing_params = ca_params("Hallmark conformance issuing CA (throwaway)")?;
        let issuing_der = issuing_params.signed_by(&issuing_key, &root).map_err(failed)?.der().to_vec();
        Ok(TestCa { root_der, issuing_der, issuer: Issuer::new(issuing_params, issuing_key) })
    }

    /// The chain object: issuing CA then root, concatenated DER.
    pub fn chain(&self) -> Vec<u8> {
        [self.issuing_der.as_slice(), self.root_der.as_slice()].concat()
    }

    /// The trust anchor object: the root, DER.
    pub fn trust_anchor(&self) -> Vec<u8> {
        self.root_der.clone()
    }

    /// A leaf certificate for the key in `spki_der`; `noise` adds a private
    /// extension carrying those bytes (to place a device's key outside the SPKI).
    pub fn leaf(&self, spki_der: &[u8], noise: Option<&[u8]>) -> Result<Vec<u8>, Problem> {
        let key = SubjectPublicKeyInfo::from_der(spki_der).map_err(failed)?;
        self.leaf_for(&key, noise)
    }

    fn leaf_for(&self, key: &impl PublicKeyData, noise: Option<&[u8]>) -> Result<Vec<u8>, Problem> {
        let mut params = CertificateParams::new(Vec::new()).map_err(failed)?;
        params.distinguished_name.push(DnType::CommonName, TEST_CN);
        params.is_ca = IsCa::ExplicitNoCa;
        if let Some(bytes) = noise {
            // 1.3.6.1.4.1.55555.1: a private arc; the content is opaque to everyone.
            let octets = hallmark_protocol::der::tlv(0x04, bytes);
            params.custom_extensions.push(CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 55555, 1], octets));
        }
        Ok(params.signed_by(key, &self.issuer).map_err(failed)?.der().to_vec())
    }

    /// A leaf for a fresh key nobody keeps: a certificate that is not the board's.
    pub fn foreign_leaf(&self, noise: Option<&[u8]>) -> Result<Vec<u8>, Problem> {
        let other = KeyPair::generate().map_err(failed)?;
        self.leaf_for(&other, noise)
    }
}
