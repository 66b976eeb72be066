//! Importing an issuing CA signed by the customer's own (offline) root, and
//! exporting/removing the root key of a CA the station created.

use crate::pkcs11::{TokenKey, TokenRef};
use crate::store::{INTERMEDIATES, ISSUING_CERT, ISSUING_KEY, ISSUING_KEY_REF, ROOT_CERT, ROOT_KEY};
use crate::{CaError, CaStore, Passphrase};
use pkcs8::der::Decode;
use rcgen::{KeyPair, PublicKeyData};
use std::path::Path;
use x509_parser::prelude::*;

/// Where the imported issuing key is.
pub enum ImportKey<'a> {
    /// A PKCS#8 PEM file (plaintext, or encrypted with `passphrase`); it is stored
    /// re-encrypted with the station's CA passphrase.
    File {
        /// The key file.
        pem: &'a str,
        /// Its passphrase, if encrypted.
        passphrase: Option<&'a str>,
    },
    /// A key already in a PKCS#11 token.
    Token {
        /// Where.
        token: &'a TokenRef,
        /// The token PIN.
        pin: &'a str,
    },
    /// The key this station generated with its request to the fleet root
    /// ([`CaStore::request_issuing`]); it stays where it is.
    Pending,
}

/// Every certificate in a PEM text, in order.
pub fn pem_certificates(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    for block in text.split_inclusive("-----END CERTIFICATE-----") {
        if !block.contains("-----BEGIN CERTIFICATE-----") {
            continue;
        }
        let (_, pem) = x509_parser::pem::parse_x509_pem(block.trim_start().as_bytes()).map_err(|e| e.to_string())?;
        out.push(pem.contents);
    }
    Ok(out)
}

fn bad(why: impl Into<String>) -> CaError {
    CaError::Import(why.into())
}

impl CaStore {
    /// Imports an issuing CA: its certificate, its key, and the chain above it up to a
    /// self-signed root (`chain_pem`: intermediates then root). Everything is checked
    /// before anything is written.
    pub fn import(
        &self,
        issuing_pem: &str,
        chain_pem: &str,
        key: ImportKey<'_>,
        station_passphrase: &Passphrase,
    ) -> Result<(), CaError> {
        let pending = match key {
            ImportKey::Pending => Some(self.pending_request().ok_or_else(|| {
                bad(format!(
                    "{} holds no request waiting for its certificate (hallmark ca init --issuing-csr FILE makes one)",
                    self.dir().display()
                ))
            })?),
            _ => None,
        };
        if self.exists() && pending.is_none() {
            return Err(bad(format!("a CA already exists in {}", self.dir().display())));
        }
        let issuing = pem_certificates(issuing_pem)
            .map_err(bad)?
            .into_iter()
            .next()
            .ok_or_else(|| bad("no certificate in the issuing CA file"))?;
        let chain = pem_certificates(chain_pem).map_err(bad)?;
        let Some((root, intermediates)) = chain.split_last() else {
            return Err(bad("the chain file holds no certificate; it must end with the root"));
        };
        let (_, cert) = parse_x509_certificate(&issuing).map_err(|e| bad(format!("issuing CA certificate: {e}")))?;
        let is_ca = cert.basic_constraints().ok().flatten().is_some_and(|b| b.value.ca);
        let ku = cert.key_usage().ok().flatten().map(|k| k.value);
        if !is_ca || !ku.is_some_and(|k| k.key_cert_sign() && k.crl_sign()) {
            return Err(bad("the issuing certificate is not a CA with keyCertSign and cRLSign"));
        }
        // Each certificate must be signed by the next one up; the root by itself.
        let mut lower = issuing.clone();
        for upper in chain.iter() {
            let (_, l) = parse_x509_certificate(&lower).map_err(|e| bad(e.to_string()))?;
            let (_, u) = parse_x509_certificate(upper).map_err(|e| bad(e.to_string()))?;
            l.verify_signature(Some(u.public_key()))
                .map_err(|_| bad(format!("{} is not signed by {}", l.subject(), u.subject())))?;
            lower = upper.clone();
        }
        let (_, r) = parse_x509_certificate(root).map_err(|e| bad(e.to_string()))?;
        r.verify_signature(None).map_err(|_| bad("the last certificate of the chain is not a self-signed root"))?;
        let cert_key = cert.public_key().subject_public_key.data.to_vec();

        let file_key = match &key {
            ImportKey::File { pem, passphrase } => {
                let (label, doc) = pkcs8::SecretDocument::from_pem(pem).map_err(|e| bad(format!("key file: {e}")))?;
                let plain = match (label, passphrase) {
                    ("ENCRYPTED PRIVATE KEY", Some(p)) => pkcs8::EncryptedPrivateKeyInfo::from_der(doc.as_bytes())
                        .map_err(|e| bad(format!("key file: {e}")))?
                        .decrypt(p)
                        .map_err(|_| bad("cannot decrypt the key file: wrong passphrase?"))?
                        .as_bytes()
                        .to_vec(),
                    ("ENCRYPTED PRIVATE KEY", None) => {
                        return Err(bad("the key file is encrypted: give its passphrase"))
                    }
                    ("PRIVATE KEY", _) => doc.as_bytes().to_vec(),
                    (other, _) => {
                        return Err(bad(format!(
                            "the key file holds {other:?}; convert it to PKCS#8 (openssl pkcs8 -topk8)"
                        )))
                    }
                };
                let pair = KeyPair::try_from(plain.as_slice()).map_err(|e| bad(format!("key file: {e}")))?;
                if pair.der_bytes() != cert_key.as_slice() {
                    return Err(bad("the key does not belong to the issuing CA certificate"));
                }
                Some(pair)
            }
            ImportKey::Token { token, pin } => {
                let k = TokenKey::open(token, pin)?;
                if k.der_bytes() != cert_key.as_slice() {
                    return Err(bad("the token key does not belong to the issuing CA certificate"));
                }
                None
            }
            ImportKey::Pending => {
                let request = pending.as_deref().unwrap_or_default();
                let (_, pem) = x509_parser::pem::parse_x509_pem(request.trim_start().as_bytes())
                    .map_err(|e| bad(format!("the waiting request: {e}")))?;
                let csr = crate::VerifiedCsr::from_der(&pem.contents)?;
                if csr.spki_der != cert.public_key().raw {
                    return Err(bad(
                        "this certificate is not for the key this station generated with its request; sign this \
                         station's issuing.csr.pem, not another station's",
                    ));
                }
                None
            }
        };

        std::fs::create_dir_all(self.dir()).map_err(|e| self.io(self.dir(), e))?;
        self.write(ROOT_CERT, crate::store::pem_cert(root).as_bytes())?;
        if !intermediates.is_empty() {
            let text: String = intermediates.iter().map(|c| crate::store::pem_cert(c)).collect();
            self.write(INTERMEDIATES, text.as_bytes())?;
        }
        match (file_key, key) {
            (Some(pair), _) => self.write_key(ISSUING_KEY, &pair, station_passphrase)?,
            (None, ImportKey::Token { token, .. }) => {
                let text = toml::to_string(token).map_err(|e| CaError::Token(e.to_string()))?;
                self.write(ISSUING_KEY_REF, text.as_bytes())?;
            }
            (None, ImportKey::File { .. } | ImportKey::Pending) => {}
        }
        // Last: its presence marks a complete CA.
        self.write(ISSUING_CERT, crate::store::pem_cert(&issuing).as_bytes())?;
        if pending.is_some() {
            let request = self.dir().join(crate::hierarchy::ISSUING_CSR);
            std::fs::remove_file(&request).map_err(|e| self.io(&request, e))?;
        }
        Ok(())
    }

    /// Copies the (encrypted) root key to `out` and, with `remove`, deletes it from the
    /// station, which then keeps only the issuing CA.
    pub fn export_root_key(&self, out: &Path, remove: bool) -> Result<(), CaError> {
        let key = self.dir().join(ROOT_KEY);
        if !key.exists() {
            return Err(bad("this station holds no root key (it was removed, or the CA was imported)"));
        }
        std::fs::copy(&key, out).map_err(|e| self.io(out, e))?;
        let copied = std::fs::read(out).map_err(|e| self.io(out, e))?;
        let original = std::fs::read(&key).map_err(|e| self.io(&key, e))?;
        if copied != original {
            return Err(bad(format!("the copy at {} differs from the original; the root key was kept", out.display())));
        }
        if remove {
            std::fs::remove_file(&key).map_err(|e| self.io(&key, e))?;
        }
        Ok(())
    }
}
