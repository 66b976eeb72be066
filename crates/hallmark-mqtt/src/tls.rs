//! The rustls client configuration for a device identity: its certificate chain and
//! key as given (no check that they match — the peer's verdict is the test), and the
//! trust anchor it authenticates servers with.

use rustls::client::ResolvesClientCert;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, SignatureScheme};
use std::sync::Arc;

/// Splits concatenated DER certificates (a chain object) into single certificates.
pub fn split_der(mut der: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while der.len() >= 2 && der[0] == 0x30 {
        let (len, header) = match der[1] {
            n if n < 0x80 => (n as usize, 2),
            0x81 if der.len() >= 3 => (der[2] as usize, 3),
            0x82 if der.len() >= 4 => (((der[2] as usize) << 8) | der[3] as usize, 4),
            _ => break,
        };
        if der.len() < header + len {
            break;
        }
        out.push(der[..header + len].to_vec());
        der = &der[header + len..];
    }
    out
}

/// TLS 1.3 client configuration presenting `chain` (leaf first) signed with
/// `key_pkcs8`, trusting servers that chain to `trust_anchor`.
pub fn client_config(
    trust_anchor: &[u8],
    chain: Vec<Vec<u8>>,
    key_pkcs8: Vec<u8>,
) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(trust_anchor.to_vec())).map_err(|e| format!("trust anchor: {e}"))?;
    let key = provider
        .key_provider
        .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_pkcs8)))
        .map_err(|e| format!("key: {e}"))?;
    let chain = chain.into_iter().map(CertificateDer::from).collect();
    let identity = Arc::new(CertifiedKey::new(chain, key));
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_client_cert_resolver(Arc::new(Always(identity)));
    Ok(Arc::new(config))
}

/// Always presents the one identity.
#[derive(Debug)]
struct Always(Arc<CertifiedKey>);

impl ResolvesClientCert for Always {
    fn resolve(&self, _issuers: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}
