//! The simulated board's TLS client for the link self-test (rustls, sans-IO): what a
//! firmware does with mbedTLS — a TLS 1.3 client handshake with its installed key,
//! certificate chain and trust anchor, the bytes carried in protocol frames.

use hallmark_agent::InstalledIdentity;
use rustls::client::ResolvesClientCert;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, ClientConnection, RootCertStore, SignatureScheme};
use std::sync::Arc;

/// One TLS client session.
pub struct TlsClient {
    conn: ClientConnection,
    out: Vec<u8>,
}

/// Splits concatenated DER certificates.
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

impl TlsClient {
    /// Starts a handshake with `identity`, signing with `key_pkcs8`.
    pub fn start(identity: &InstalledIdentity, key_pkcs8: Vec<u8>) -> Result<TlsClient, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        roots.add(CertificateDer::from(identity.trust_anchor.clone())).map_err(|e| e.to_string())?;
        let mut chain = vec![CertificateDer::from(identity.certificate.clone())];
        // The chain object ends with the root, which the server already trusts.
        let upper = split_der(&identity.chain);
        for c in upper.iter().take(upper.len().saturating_sub(1)) {
            chain.push(CertificateDer::from(c.clone()));
        }
        // The key is used as given, like firmware would: no check that it matches the
        // certificate (the station's side of the handshake is what must catch that).
        let key = provider
            .key_provider
            .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_pkcs8)))
            .map_err(|e| e.to_string())?;
        let identity = Arc::new(CertifiedKey::new(chain, key));
        let config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_client_cert_resolver(Arc::new(Installed(identity)));
        let name = ServerName::try_from(hallmark_protocol::TLS_SERVER_NAME).map_err(|e| e.to_string())?;
        let conn = ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
        let mut client = TlsClient { conn, out: Vec::new() };
        client.drain();
        Ok(client)
    }

    fn drain(&mut self) {
        while self.conn.wants_write() {
            if self.conn.write_tls(&mut self.out).is_err() {
                break;
            }
        }
    }

    /// Feeds TLS bytes from the server.
    pub fn receive(&mut self, mut data: &[u8]) -> Result<(), String> {
        while !data.is_empty() {
            self.conn.read_tls(&mut data).map_err(|e| e.to_string())?;
            self.conn.process_new_packets().map_err(|e| e.to_string())?;
        }
        self.drain();
        Ok(())
    }

    /// Up to `max` bytes of output, what is still pending, and whether the handshake
    /// is complete.
    pub fn take(&mut self, max: usize) -> (Vec<u8>, u32, bool) {
        let n = self.out.len().min(max);
        let chunk: Vec<u8> = self.out.drain(..n).collect();
        (chunk, self.out.len() as u32, !self.conn.is_handshaking())
    }
}

/// Always presents the installed identity.
#[derive(Debug)]
struct Installed(Arc<CertifiedKey>);

impl ResolvesClientCert for Installed {
    fn resolve(&self, _issuers: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// A P-256 scalar as PKCS#8 DER (what rustls wants).
pub fn pkcs8_from_scalar(secret: &[u8]) -> Result<Vec<u8>, String> {
    use p256::pkcs8::EncodePrivateKey;
    let key = p256::SecretKey::from_slice(secret).map_err(|e| e.to_string())?;
    key.to_pkcs8_der().map(|d| d.as_bytes().to_vec()).map_err(|e| e.to_string())
}
