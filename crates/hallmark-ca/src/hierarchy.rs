//! One CA hierarchy for a fleet (issue #17): a fleet root, kept offline, signs one
//! issuing CA per station. The station generates its issuing key where it stays (an
//! encrypted file or its token) and hands out only a request
//! ([`CaStore::request_issuing`]); where the root is, [`CaStore::sign_station`] turns
//! the request into an issuing CA certificate built from the root's own rules (CA,
//! path length 0, certificate and CRL signing only; nothing but the name and the key
//! comes from the request); back at the station, `import` with
//! [`crate::import::ImportKey::Pending`] installs it over the waiting key.

use crate::pkcs11::TokenRef;
use crate::store::{ca_params, generate_issuing_key, ISSUING_CERT, ROOT_CERT, ROOT_KEY};
use crate::{fingerprint, pem_cert, CaError, CaStore, Passphrase};
use rcgen::{CertificateParams, DistinguishedName, DnType, Issuer, SubjectPublicKeyInfo};
use time::OffsetDateTime;
use x509_parser::prelude::FromDer;

/// The request a station CA waits on (present until its certificate is imported).
pub(crate) const ISSUING_CSR: &str = "issuing.csr.pem";

/// The longest issuing CA name accepted (the X.520 upper bound for a common name).
const MAX_NAME: usize = 64;

/// A station's issuing CA certificate, signed by the fleet root.
#[derive(Clone, Debug)]
pub struct StationCaCertificate {
    /// The issuing CA certificate (PEM), for `hallmark ca import --cert`.
    pub cert_pem: String,
    /// The chain above it: the root (PEM), for `hallmark ca import --chain`.
    pub chain_pem: String,
    /// Its common name, from the request.
    pub name: String,
    /// Its serial (hex).
    pub serial_hex: String,
    /// SHA-256 of its DER.
    pub fingerprint: String,
    /// SHA-256 of the request's public key (what the station's operator compares).
    pub key_sha256: String,
    /// End of validity.
    pub not_after: OffsetDateTime,
}

impl CaStore {
    /// Starts a station CA under a fleet root: generates the issuing key (encrypted
    /// with `passphrase`, or in `token`) and returns the request for the root (PEM),
    /// kept as `issuing.csr.pem` until the certificate is imported. Refuses when any
    /// CA exists here.
    pub fn request_issuing(
        &self,
        name: &str,
        passphrase: &Passphrase,
        token: Option<(&TokenRef, &str)>,
    ) -> Result<String, CaError> {
        check_name(name).map_err(CaError::StationRequest)?;
        if self.exists() {
            return Err(CaError::Import(format!("a CA already exists in {}", self.dir().display())));
        }
        std::fs::create_dir_all(self.dir()).map_err(|e| self.io(self.dir(), e))?;
        let key = generate_issuing_key(token)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "Hallmark provisioning station");
        dn.push(DnType::CommonName, name);
        params.distinguished_name = dn;
        let pem = params.serialize_request(&key)?.pem()?;
        self.write_issuing_key(&key, token, passphrase)?;
        // Last: its presence marks a CA waiting for its certificate.
        self.write(ISSUING_CSR, pem.as_bytes())?;
        Ok(pem)
    }

    /// The request this station's CA waits on, if it waits for its certificate.
    pub fn pending_request(&self) -> Option<String> {
        if self.dir().join(ISSUING_CERT).exists() {
            return None;
        }
        std::fs::read_to_string(self.dir().join(ISSUING_CSR)).ok()
    }

    /// Signs a station's issuing CA request with this store's root key (`ca
    /// sign-station`, run where the fleet root is): an issuing CA valid for `days`
    /// (capped at the root's end), path length 0, for signing certificates and CRLs.
    /// The request must be a P-256 PKCS#10 whose signature verifies, named by a
    /// printable common name; nothing else from it is used.
    pub fn sign_station(
        &self,
        csr_pem: &str,
        passphrase: &Passphrase,
        days: u32,
        now: OffsetDateTime,
    ) -> Result<StationCaCertificate, CaError> {
        let refused = |why: String| CaError::StationRequest(why);
        for f in [ROOT_CERT, ROOT_KEY] {
            if !self.dir().join(f).exists() {
                return Err(refused(format!(
                    "{} holds no fleet root ({f} is missing): run this where the root key is",
                    self.dir().display()
                )));
            }
        }
        let (_, pem) = x509_parser::pem::parse_x509_pem(csr_pem.trim_start().as_bytes())
            .map_err(|e| refused(format!("the request is not PEM: {e}")))?;
        if pem.label != "CERTIFICATE REQUEST" {
            return Err(refused(format!("the file holds a {}, not a CERTIFICATE REQUEST", pem.label)));
        }
        let der = pem.contents;
        let csr = crate::VerifiedCsr::from_der(&der)?;
        if csr.algorithm != crate::KeyAlgorithm::P256 {
            return Err(refused(format!("the key is {}; a station CA key must be ECDSA P-256", csr.algorithm.words())));
        }
        let name = request_name(&der).map_err(refused)?;
        let root_der = self.read_cert(ROOT_CERT)?;
        let root_key = self.read_key(ROOT_KEY, passphrase)?;
        let (_, root) = x509_parser::certificate::X509Certificate::from_der(&root_der)
            .map_err(|_| CaError::BadCertificate { path: self.path(ROOT_CERT) })?;
        let root_end = root.validity().not_after.to_datetime();
        let issuer = Issuer::from_ca_cert_der(&root_der.clone().into(), root_key)
            .map_err(|_| CaError::BadCertificate { path: self.path(ROOT_CERT) })?;
        let now = now.replace_nanosecond(0).map_err(|e| CaError::Signing(e.to_string()))?;
        if now >= root_end {
            return Err(CaError::Expired { not_after: root_end.to_string() });
        }
        let mut params = ca_params(&name, 0, now, i64::from(days.max(1)));
        params.not_after = params.not_after.min(root_end);
        let serial = params.serial_number.clone().map(|s| hex::encode(s.as_ref())).unwrap_or_default();
        let cert = params.signed_by(&SubjectPublicKeyInfo::from_der(&csr.spki_der)?, &issuer)?;
        Ok(StationCaCertificate {
            cert_pem: cert.pem(),
            chain_pem: pem_cert(&root_der),
            name,
            serial_hex: serial,
            fingerprint: fingerprint(cert.der()),
            key_sha256: crate::fingerprint(&csr.spki_der),
            not_after: params.not_after,
        })
    }
}

/// A name fit for an issuing CA: printable, not empty, at most [`MAX_NAME`].
fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("the issuing CA needs a name (e.g. \"Hallmark Issuing CA bench-a\")".into());
    }
    if name.chars().count() > MAX_NAME {
        return Err(format!("the issuing CA name is longer than {MAX_NAME} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("the issuing CA name holds control characters".into());
    }
    Ok(())
}

/// The common name of a PKCS#10 request.
fn request_name(der: &[u8]) -> Result<String, String> {
    let (_, csr) = x509_parser::certification_request::X509CertificationRequest::from_der(der)
        .map_err(|e| format!("the request is not PKCS#10: {e}"))?;
    let name = csr
        .certification_request_info
        .subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .ok_or("the request names no common name")?
        .to_string();
    check_name(&name)?;
    Ok(name)
}
