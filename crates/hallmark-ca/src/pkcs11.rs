//! The issuing CA key in a PKCS#11 token (an HSM, a smart card, SoftHSM).
//!
//! The key is generated in the token, marked sensitive and non-extractable, and never
//! leaves it. Two token quirks are handled here: `CKM_ECDSA` signs a digest we
//! compute and returns raw `r || s`, which X.509 wants as a DER `Ecdsa-Sig-Value`;
//! and `CKA_EC_POINT` comes wrapped in a DER OCTET STRING.

use crate::CaError;
use cryptoki::context::{CInitializeArgs, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use rcgen::{PublicKeyData, SignatureAlgorithm, SigningKey, PKCS_ECDSA_P256_SHA256};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Mutex;

/// DER of the prime256v1 OID, the `CKA_EC_PARAMS` of a P-256 key.
const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];

/// Where the key is: written next to the CA certificates so the CA directory says
/// where its key lives. Holds no secret.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TokenRef {
    /// The PKCS#11 module (shared library).
    pub module: PathBuf,
    /// Token label.
    pub token_label: String,
    /// Key label (`CKA_LABEL` of the private and public key).
    pub key_label: String,
}

/// A P-256 key in a token, usable by rcgen as a signing key.
pub struct TokenKey {
    // Field order matters: the session must close before the library finalises.
    session: Mutex<Session>,
    key: ObjectHandle,
    public: Vec<u8>,
    _context: Pkcs11,
}

fn token_err(what: &str, e: impl std::fmt::Display) -> CaError {
    CaError::Token(format!("{what}: {e}"))
}

impl TokenKey {
    fn login(r: &TokenRef, pin: &str) -> Result<(Pkcs11, Session), CaError> {
        let context = Pkcs11::new(&r.module)
            .map_err(|e| token_err(&format!("cannot load the PKCS#11 module {}", r.module.display()), e))?;
        context.initialize(CInitializeArgs::OsThreads).map_err(|e| token_err("cannot initialise the module", e))?;
        let slots = context.get_slots_with_token().map_err(|e| token_err("cannot list tokens", e))?;
        let slot = slots
            .into_iter()
            .find(|s| context.get_token_info(*s).map(|i| i.label().trim() == r.token_label).unwrap_or(false))
            .ok_or_else(|| {
                CaError::Token(format!(
                    "no token labelled {:?} is present; insert it or check the label",
                    r.token_label
                ))
            })?;
        let session = context.open_rw_session(slot).map_err(|e| token_err("cannot open a session", e))?;
        session
            .login(UserType::User, Some(&AuthPin::new(pin.into())))
            .map_err(|e| token_err("token login failed (wrong PIN? check HALLMARK_PKCS11_PIN)", e))?;
        Ok((context, session))
    }

    /// Generates a new non-extractable P-256 key pair in the token.
    pub fn generate(r: &TokenRef, pin: &str) -> Result<TokenKey, CaError> {
        let (context, session) = Self::login(r, pin)?;
        let existing = session
            .find_objects(&[Attribute::Label(r.key_label.as_bytes().to_vec())])
            .map_err(|e| token_err("cannot search the token", e))?;
        if !existing.is_empty() {
            return Err(CaError::Token(format!("the token already holds a key labelled {:?}", r.key_label)));
        }
        let label = Attribute::Label(r.key_label.as_bytes().to_vec());
        let public_template = vec![
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(P256_PARAMS.to_vec()),
            label.clone(),
        ];
        let private_template = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            label,
        ];
        let (public, private) = session
            .generate_key_pair(&Mechanism::EccKeyPairGen, &public_template, &private_template)
            .map_err(|e| token_err("key generation in the token failed", e))?;
        let point = read_point(&session, public)?;
        Ok(TokenKey { session: Mutex::new(session), key: private, public: point, _context: context })
    }

    /// Opens an existing key.
    pub fn open(r: &TokenRef, pin: &str) -> Result<TokenKey, CaError> {
        let (context, session) = Self::login(r, pin)?;
        let find = |class| {
            session
                .find_objects(&[
                    Attribute::Class(class),
                    Attribute::KeyType(KeyType::EC),
                    Attribute::Label(r.key_label.as_bytes().to_vec()),
                ])
                .map_err(|e| token_err("cannot search the token", e))?
                .into_iter()
                .next()
                .ok_or_else(|| {
                    CaError::Token(format!("no EC key labelled {:?} in token {:?}", r.key_label, r.token_label))
                })
        };
        let private = find(ObjectClass::PRIVATE_KEY)?;
        let public = find(ObjectClass::PUBLIC_KEY)?;
        let point = read_point(&session, public)?;
        Ok(TokenKey { session: Mutex::new(session), key: private, public: point, _context: context })
    }
}

/// `CKA_EC_POINT`, unwrapped from its DER OCTET STRING.
fn read_point(session: &Session, public: ObjectHandle) -> Result<Vec<u8>, CaError> {
    let attrs = session
        .get_attributes(public, &[AttributeType::EcPoint])
        .map_err(|e| token_err("cannot read the public key", e))?;
    let raw = attrs
        .into_iter()
        .find_map(|a| if let Attribute::EcPoint(p) = a { Some(p) } else { None })
        .ok_or_else(|| CaError::Token("the token returned no EC point".into()))?;
    match raw.as_slice() {
        [0x04, 0x41, rest @ ..] if rest.len() == 65 => Ok(rest.to_vec()),
        [0x04, rest @ ..] if rest.len() == 64 => Ok(raw.clone()), // some tokens return the bare point
        _ => Err(CaError::Token("the token's EC point is not an uncompressed P-256 point".into())),
    }
}

/// Raw `r || s` (as PKCS#11 returns it) to DER `SEQUENCE { INTEGER r, INTEGER s }`.
pub fn raw_ecdsa_to_der(raw: &[u8]) -> Option<Vec<u8>> {
    if !raw.len().is_multiple_of(2) || raw.is_empty() || raw.len() > 132 {
        return None;
    }
    let integer = |bytes: &[u8]| {
        let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
        let mut v = if trimmed.is_empty() { vec![0] } else { trimmed };
        if v[0] & 0x80 != 0 {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    };
    let (r, s) = raw.split_at(raw.len() / 2);
    let body = [integer(r), integer(s)].concat();
    let mut out = vec![0x30];
    if body.len() >= 0x80 {
        out.push(0x81);
    }
    out.push(body.len() as u8);
    out.extend(body);
    Some(out)
}

impl PublicKeyData for TokenKey {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_ECDSA_P256_SHA256
    }
}

impl SigningKey for TokenKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        // Tokens such as SoftHSM have no CKM_ECDSA_SHA256: hash here, sign the digest.
        let digest = Sha256::digest(msg);
        let session = self.session.lock().map_err(|_| rcgen::Error::RemoteKeyError)?;
        let raw = session.sign(&Mechanism::Ecdsa, self.key, &digest).map_err(|_| rcgen::Error::RemoteKeyError)?;
        raw_ecdsa_to_der(&raw).ok_or(rcgen::Error::RemoteKeyError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_signatures_become_der() {
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80; // r needs a leading zero
        raw[32] = 0x00;
        raw[33] = 0x01; // s has a leading zero byte to trim
        let der = raw_ecdsa_to_der(&raw).unwrap();
        assert_eq!(&der[..4], &[0x30, 0x44, 0x02, 0x21]);
        assert_eq!(der[4], 0x00);
        assert_eq!(der[4 + 33], 0x02);
        assert_eq!(der[4 + 34], 31);
        assert!(raw_ecdsa_to_der(&[1, 2, 3]).is_none());
    }
}
