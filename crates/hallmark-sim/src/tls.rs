//! The simulated board's TLS client for the link self-test (rustls, sans-IO): what a
//! firmware does with mbedTLS — a TLS 1.3 client handshake with its installed key,
//! certificate chain and trust anchor, the bytes carried in protocol frames.

use hallmark_agent::InstalledIdentity;
use hallmark_mqtt::split_der;
use rustls::pki_types::ServerName;
use rustls::ClientConnection;
use std::sync::Arc;

/// One TLS client session.
pub struct TlsClient {
    conn: ClientConnection,
    out: Vec<u8>,
}

/// The installed identity as a rustls client configuration: certificate, the chain
/// without its root (the server already trusts it), the trust anchor, signing with
/// `key_pkcs8` as given, like firmware would — no check that the key matches the
/// certificate (the peer's side of the handshake is what must catch that).
pub fn identity_config(identity: &InstalledIdentity, key_pkcs8: Vec<u8>) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut chain = vec![identity.certificate.clone()];
    let upper = split_der(&identity.chain);
    chain.extend(upper.iter().take(upper.len().saturating_sub(1)).cloned());
    hallmark_mqtt::client_config(&identity.trust_anchor, chain, key_pkcs8)
}

impl TlsClient {
    /// Starts a handshake with the identity in `config`.
    pub fn start(config: Arc<rustls::ClientConfig>) -> Result<TlsClient, String> {
        let name = ServerName::try_from(hallmark_protocol::TLS_SERVER_NAME).map_err(|e| e.to_string())?;
        let conn = ClientConnection::new(config, name).map_err(|e| e.to_string())?;
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

/// A P-256 scalar as PKCS#8 DER (what rustls wants).
pub fn pkcs8_from_scalar(secret: &[u8]) -> Result<Vec<u8>, String> {
    use p256::pkcs8::EncodePrivateKey;
    let key = p256::SecretKey::from_slice(secret).map_err(|e| e.to_string())?;
    key.to_pkcs8_der().map(|d| d.as_bytes().to_vec()).map_err(|e| e.to_string())
}

/// A certificate for the board's UID from a CA of the board's own making (and a key
/// to match): what a board flashed with some other product's identity presents. It
/// still trusts the station's anchor, so only the peer's verdict on it is tested.
pub fn foreign_config(identity: &InstalledIdentity, common_name: &str) -> Result<Arc<rustls::ClientConfig>, String> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let err = |e: rcgen::Error| e.to_string();
    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca = CertificateParams::new(Vec::new()).map_err(err)?;
    ca.distinguished_name.push(DnType::CommonName, "Foreign Device CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.clone().self_signed(&ca_key).map_err(err)?;
    let leaf_key = KeyPair::generate().map_err(err)?;
    let mut leaf = CertificateParams::new(Vec::new()).map_err(err)?;
    leaf.distinguished_name.push(DnType::CommonName, common_name);
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let leaf_cert = leaf.signed_by(&leaf_key, &Issuer::new(ca, &ca_key)).map_err(err)?;
    hallmark_mqtt::client_config(
        &identity.trust_anchor,
        vec![leaf_cert.der().to_vec(), ca_cert.der().to_vec()],
        leaf_key.serialize_der(),
    )
}
