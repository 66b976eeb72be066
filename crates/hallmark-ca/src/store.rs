//! The CA directory: root and issuing CA certificates (PEM) and their keys
//! (encrypted PKCS#8 PEM, mode 0600). Plaintext keys exist only in memory.

use crate::pkcs11::{TokenKey, TokenRef};
use crate::{CaError, CaKey, Passphrase};
use pkcs8::der::pem::LineEnding;
use pkcs8::{EncryptedPrivateKeyInfo, PrivateKeyInfo, SecretDocument};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256,
};
use std::fs;
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

pub(crate) const ROOT_CERT: &str = "root.crt.pem";
pub(crate) const ROOT_KEY: &str = "root.key.pem";
pub(crate) const ISSUING_CERT: &str = "issuing.crt.pem";
pub(crate) const ISSUING_KEY: &str = "issuing.key.pem";
/// Present instead of `issuing.key.pem` when the issuing key is in a PKCS#11 token.
pub(crate) const ISSUING_KEY_REF: &str = "issuing.key.pkcs11.toml";
/// CA certificates between the issuing CA and the root, issuing side first
/// (imported CAs only).
pub(crate) const INTERMEDIATES: &str = "intermediates.crt.pem";
const FILES: [&str; 6] =
    [ROOT_CERT, ROOT_KEY, ISSUING_CERT, ISSUING_KEY, ISSUING_KEY_REF, crate::hierarchy::ISSUING_CSR];

/// Where an existing CA's issuing key is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyLocation {
    /// Encrypted PKCS#8 file: unlock with the CA passphrase.
    File,
    /// A PKCS#11 token: unlock with its PIN.
    Token(TokenRef),
}

const ROOT_VALIDITY_DAYS: i64 = 30 * 365;
const ISSUING_VALIDITY_DAYS: i64 = 20 * 365;

/// Where the station's CA lives on disk.
#[derive(Clone, Debug)]
pub struct CaStore {
    dir: PathBuf,
}

/// An unlocked issuing CA, ready to sign leaf certificates.
pub struct IssuingCa {
    pub(crate) issuer: Issuer<'static, CaKey>,
    pub(crate) issuing_der: Vec<u8>,
    pub(crate) root_der: Vec<u8>,
    pub(crate) intermediates: Vec<Vec<u8>>,
}

impl CaStore {
    /// The CA in `dir` (which may not exist yet).
    pub fn new(dir: impl Into<PathBuf>) -> CaStore {
        CaStore { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether any CA file exists.
    pub fn exists(&self) -> bool {
        FILES.iter().any(|f| self.dir.join(f).exists())
    }

    /// Where the issuing key of an existing CA is; `None` when there is no CA.
    pub fn key_location(&self) -> Result<Option<KeyLocation>, CaError> {
        if !self.exists() {
            return Ok(None);
        }
        let reference = self.dir.join(ISSUING_KEY_REF);
        if reference.exists() {
            let text = fs::read_to_string(&reference).map_err(|e| self.io(&reference, e))?;
            let r: TokenRef = toml::from_str(&text)
                .map_err(|e| CaError::Token(format!("{} is invalid: {e}", reference.display())))?;
            return Ok(Some(KeyLocation::Token(r)));
        }
        Ok(Some(KeyLocation::File))
    }

    /// Creates a new root and issuing CA, both keys encrypted on disk. Fails if any CA
    /// file already exists.
    pub fn create(&self, passphrase: &Passphrase, now: OffsetDateTime) -> Result<IssuingCa, CaError> {
        self.create_with(passphrase, now, None)
    }

    /// Creates a new CA whose issuing key is generated in a PKCS#11 token (the root
    /// key is encrypted on disk, to be exported and removed for offline keeping).
    pub fn create_with_token(
        &self,
        passphrase: &Passphrase,
        token: &TokenRef,
        pin: &str,
        now: OffsetDateTime,
    ) -> Result<IssuingCa, CaError> {
        self.create_with(passphrase, now, Some((token, pin)))
    }

    fn create_with(
        &self,
        passphrase: &Passphrase,
        now: OffsetDateTime,
        token: Option<(&TokenRef, &str)>,
    ) -> Result<IssuingCa, CaError> {
        if self.exists() {
            return Err(CaError::Incomplete {
                dir: self.dir.display().to_string(),
                missing: "nothing (CA exists)".into(),
            });
        }
        fs::create_dir_all(&self.dir).map_err(|e| self.io(&self.dir, e))?;
        let instance = hex::encode(rand::random::<[u8; 4]>()).to_uppercase();

        let root_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let root_params = ca_params(&format!("Hallmark Root CA {instance}"), 1, now, ROOT_VALIDITY_DAYS);
        let root_cert = root_params.self_signed(&root_key)?;
        let root_issuer = Issuer::new(root_params, root_key);

        let issuing_key = generate_issuing_key(token)?;
        let issuing_params = ca_params(&format!("Hallmark Issuing CA {instance}"), 0, now, ISSUING_VALIDITY_DAYS);
        let issuing_cert = issuing_params.signed_by(&issuing_key, &root_issuer)?;

        self.write_key(ROOT_KEY, root_issuer.key(), passphrase)?;
        self.write(ROOT_CERT, root_cert.pem().as_bytes())?;
        self.write_issuing_key(&issuing_key, token, passphrase)?;
        // The issuing certificate goes last: its presence marks a complete CA.
        self.write(ISSUING_CERT, issuing_cert.pem().as_bytes())?;

        Ok(IssuingCa {
            issuer: Issuer::new(issuing_params, issuing_key),
            issuing_der: issuing_cert.der().to_vec(),
            root_der: root_cert.der().to_vec(),
            intermediates: Vec::new(),
        })
    }

    /// Keeps a new issuing key: encrypted with `passphrase`, or, in a token, a
    /// reference to it.
    pub(crate) fn write_issuing_key(
        &self,
        key: &CaKey,
        token: Option<(&TokenRef, &str)>,
        passphrase: &Passphrase,
    ) -> Result<(), CaError> {
        match (key, token) {
            (CaKey::File(k), _) => self.write_key(ISSUING_KEY, k, passphrase),
            (CaKey::Token(_), Some((r, _))) => {
                let text = toml::to_string(r).map_err(|e| CaError::Token(e.to_string()))?;
                self.write(ISSUING_KEY_REF, text.as_bytes())
            }
            (CaKey::Token(_), None) => Ok(()),
        }
    }

    /// Unlocks an issuing CA whose key is an encrypted file.
    pub fn unlock(&self, passphrase: &Passphrase) -> Result<IssuingCa, CaError> {
        self.require(&[ROOT_CERT, ISSUING_CERT, ISSUING_KEY])?;
        let key = self.read_key(ISSUING_KEY, passphrase)?;
        self.issuing_ca(CaKey::File(Box::new(key)))
    }

    /// Unlocks an issuing CA whose key is in a PKCS#11 token.
    pub fn unlock_token(&self, pin: &str) -> Result<IssuingCa, CaError> {
        self.require(&[ROOT_CERT, ISSUING_CERT, ISSUING_KEY_REF])?;
        let Some(KeyLocation::Token(r)) = self.key_location()? else {
            return Err(CaError::Token("this CA's issuing key is not in a token".into()));
        };
        let key = TokenKey::open(&r, pin)?;
        let ca = self.issuing_ca(CaKey::Token(key))?;
        // The token must hold the key of *this* issuing certificate.
        let (_, cert) = x509_parser::parse_x509_certificate(&ca.issuing_der)
            .map_err(|_| CaError::BadCertificate { path: self.path(ISSUING_CERT) })?;
        let public = cert.public_key().subject_public_key.data.to_vec();
        if public != rcgen::PublicKeyData::der_bytes(ca.issuer.key()) {
            return Err(CaError::Token(format!(
                "the key labelled {:?} does not belong to the issuing CA certificate",
                r.key_label
            )));
        }
        // And the private key the token uses is the pair of that public key.
        let probe = b"hallmark token key check";
        let signature = rcgen::SigningKey::sign(ca.issuer.key(), probe)?;
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, &public)
            .verify(probe, &signature)
            .map_err(|_| {
                CaError::Token(format!("the private key labelled {:?} does not match its public key", r.key_label))
            })?;
        Ok(ca)
    }

    fn require(&self, files: &[&str]) -> Result<(), CaError> {
        if self.pending_request().is_some() {
            return Err(CaError::AwaitingCertificate { dir: self.dir.display().to_string() });
        }
        match files.iter().find(|f| !self.dir.join(f).exists()) {
            Some(f) => Err(CaError::Incomplete { dir: self.dir.display().to_string(), missing: f.to_string() }),
            None => Ok(()),
        }
    }

    fn issuing_ca(&self, key: CaKey) -> Result<IssuingCa, CaError> {
        let root_der = self.read_cert(ROOT_CERT)?;
        let issuing_der = self.read_cert(ISSUING_CERT)?;
        let intermediates = match fs::read_to_string(self.dir.join(INTERMEDIATES)) {
            Ok(text) => crate::import::pem_certificates(&text)
                .map_err(|_| CaError::BadCertificate { path: self.path(INTERMEDIATES) })?,
            Err(_) => Vec::new(),
        };
        let issuer = Issuer::from_ca_cert_der(&issuing_der.clone().into(), key)
            .map_err(|_| CaError::BadCertificate { path: self.path(ISSUING_CERT) })?;
        Ok(IssuingCa { issuer, issuing_der, root_der, intermediates })
    }

    /// The root and issuing CA certificates (DER) as stored; no passphrase needed.
    pub fn certificates(&self) -> Result<(Vec<u8>, Vec<u8>), CaError> {
        self.require(&[ROOT_CERT, ISSUING_CERT])?;
        Ok((self.read_cert(ROOT_CERT)?, self.read_cert(ISSUING_CERT)?))
    }

    pub(crate) fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    pub(crate) fn io(&self, path: &Path, source: std::io::Error) -> CaError {
        CaError::Io { path: path.display().to_string(), source }
    }

    pub(crate) fn write(&self, name: &str, bytes: &[u8]) -> Result<(), CaError> {
        let path = self.dir.join(name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        write_private(&tmp, bytes).map_err(|e| self.io(&tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| self.io(&path, e))
    }

    pub(crate) fn write_key(&self, name: &str, key: &KeyPair, passphrase: &Passphrase) -> Result<(), CaError> {
        let der = key.serialize_der();
        let info = PrivateKeyInfo::try_from(der.as_slice()).map_err(|e| CaError::Signing(e.to_string()))?;
        let encrypted =
            info.encrypt(rand::rngs::OsRng, passphrase.as_bytes()).map_err(|e| CaError::Signing(e.to_string()))?;
        let pem =
            encrypted.to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF).map_err(|e| CaError::Signing(e.to_string()))?;
        self.write(name, pem.as_bytes())
    }

    pub(crate) fn read_cert(&self, name: &str) -> Result<Vec<u8>, CaError> {
        let path = self.dir.join(name);
        let text = fs::read_to_string(&path).map_err(|e| self.io(&path, e))?;
        let bad = || CaError::BadCertificate { path: path.display().to_string() };
        let (label, doc) = pkcs8::Document::from_pem(&text).map_err(|_| bad())?;
        if label != "CERTIFICATE" {
            return Err(bad());
        }
        Ok(doc.as_bytes().to_vec())
    }

    pub(crate) fn read_key(&self, name: &str, passphrase: &Passphrase) -> Result<KeyPair, CaError> {
        let path = self.dir.join(name);
        let text = fs::read_to_string(&path).map_err(|e| self.io(&path, e))?;
        let unlock = || CaError::Unlock { path: path.display().to_string() };
        let (_, doc) = SecretDocument::from_pem(&text).map_err(|_| unlock())?;
        let info = EncryptedPrivateKeyInfo::try_from(doc.as_bytes()).map_err(|_| unlock())?;
        let plain = info.decrypt(passphrase.as_bytes()).map_err(|_| unlock())?;
        KeyPair::try_from(plain.as_bytes()).map_err(|_| unlock())
    }
}

impl IssuingCa {
    /// The issuing CA certificate (DER).
    pub fn issuing_der(&self) -> &[u8] {
        &self.issuing_der
    }

    /// The root CA certificate (DER); also the trust anchor given to devices.
    pub fn root_der(&self) -> &[u8] {
        &self.root_der
    }

    /// The issuing certificate's subjectKeyIdentifier, if it has one.
    pub fn issuing_key_id(&self) -> Option<Vec<u8>> {
        let (_, cert) = x509_parser::parse_x509_certificate(&self.issuing_der).ok()?;
        cert.extensions().iter().find_map(|e| match e.parsed_extension() {
            x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        })
    }

    /// When the issuing CA certificate expires.
    pub fn issuing_not_after(&self) -> OffsetDateTime {
        x509_parser::parse_x509_certificate(&self.issuing_der)
            .map(|(_, c)| c.validity().not_after.to_datetime())
            // The certificate was parsed when the CA was unlocked.
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// The chain shipped to devices: issuing CA, any intermediates, then the root,
    /// concatenated DER.
    pub fn chain_der(&self) -> Vec<u8> {
        let mut chain = self.issuing_der.clone();
        for c in &self.intermediates {
            chain.extend_from_slice(c);
        }
        chain.extend_from_slice(&self.root_der);
        chain
    }

    /// The chain as PEM: issuing CA then root.
    pub fn chain_pem(&self) -> String {
        let middle: String = self.intermediates.iter().map(|c| pem_cert(c)).collect();
        format!("{}{middle}{}", pem_cert(&self.issuing_der), pem_cert(&self.root_der))
    }
}

/// PEM-encodes one DER certificate.
pub fn pem_cert(der: &[u8]) -> String {
    pem_encode("CERTIFICATE", der)
}

/// PEM-encodes DER under `label` (`CERTIFICATE`, `X509 CRL`, …).
pub fn pem_encode(label: &'static str, der: &[u8]) -> String {
    // Encoding in-memory bytes into a String cannot fail.
    pkcs8::der::pem::encode_string(label, LineEnding::LF, der).unwrap_or_default()
}

/// A new P-256 issuing key: in the token when one is given, else in memory (to be
/// written encrypted).
pub(crate) fn generate_issuing_key(token: Option<(&TokenRef, &str)>) -> Result<CaKey, CaError> {
    Ok(match token {
        Some((r, pin)) => CaKey::Token(TokenKey::generate(r, pin)?),
        None => CaKey::File(Box::new(KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?)),
    })
}

pub(crate) fn ca_params(cn: &str, path_len: u8, now: OffsetDateTime, days: i64) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Hallmark provisioning station");
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(path_len));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = now - Duration::minutes(5);
    params.not_after = now + Duration::days(days);
    params.serial_number = Some(crate::issue::random_serial());
    params.use_authority_key_identifier_extension = true;
    params
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    fs::write(path, bytes)
}
