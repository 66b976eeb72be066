//! The rustls client configuration for a device identity: its certificate chain and
//! key as given (no check that they match — the peer's verdict is the test), and the
//! trust anchor it authenticates servers with.
//!
//! rumqttc takes the TLS server name from the address it dials, but a broker may be
//! dialled by address and still be checked by name (`Endpoint::server_name`). The
//! server-certificate verifier installed here therefore checks the name a
//! [`Session`](crate::Session) sets for the handshake it runs on this thread (see
//! [`expect_server_name`]), and the name rustls passes everywhere else (the link
//! self-test drives rustls directly, with its own name).

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::client::{ClientSessionStore, ResolvesClientCert, Tls12ClientSessionValue, Tls13ClientSessionValue};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, DigitallySignedStruct, NamedGroup, RootCertStore, SignatureScheme};
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
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
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("trust anchor: {e}"))?;
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NamedServer(verifier)))
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

thread_local! {
    /// The server name the handshake running on this thread must prove.
    static EXPECTED_NAME: RefCell<Option<ServerName<'static>>> = const { RefCell::new(None) };
}

/// While the returned guard lives, server certificates verified on this thread (by
/// a configuration from [`client_config`]) are checked against `name` instead of the
/// name the TLS client was given. A [`Session`](crate::Session) runs its handshake on
/// the calling thread (a current-thread runtime), so the setting reaches exactly it.
pub(crate) fn expect_server_name(name: ServerName<'static>) -> ExpectedName {
    let previous = EXPECTED_NAME.with(|n| n.borrow_mut().replace(name));
    ExpectedName(previous)
}

/// Restores the previous expected name when dropped.
pub(crate) struct ExpectedName(Option<ServerName<'static>>);

impl Drop for ExpectedName {
    fn drop(&mut self) {
        let previous = self.0.take();
        EXPECTED_NAME.with(|n| *n.borrow_mut() = previous);
    }
}

/// WebPKI verification against the trust anchor, for the expected name (see the
/// module documentation).
#[derive(Debug)]
struct NamedServer(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for NamedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match EXPECTED_NAME.with(|n| n.borrow().clone()) {
            Some(expected) => self.0.verify_server_cert(end_entity, intermediates, &expected, ocsp_response, now),
            None => self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }

    fn root_hint_subjects(&self) -> Option<&[rustls::DistinguishedName]> {
        self.0.root_hint_subjects()
    }
}

/// A session store that remembers nothing (every session test is a fresh handshake)
/// but notes that rustls asked it: it does so when it builds the ClientHello, which
/// rumqttc only starts once TCP is connected. That tells "the broker's address did
/// not answer" from "the broker accepted TCP and then went silent" when a deadline
/// passes during the connect.
#[derive(Debug, Default)]
pub(crate) struct HelloProbe(AtomicBool);

impl HelloProbe {
    /// Whether a TLS handshake was started (so TCP was connected).
    pub(crate) fn hello_sent(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn asked(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl ClientSessionStore for HelloProbe {
    fn set_kx_hint(&self, _: ServerName<'static>, _: NamedGroup) {}

    fn kx_hint(&self, _: &ServerName<'_>) -> Option<NamedGroup> {
        self.asked();
        None
    }

    fn set_tls12_session(&self, _: ServerName<'static>, _: Tls12ClientSessionValue) {}

    fn tls12_session(&self, _: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.asked();
        None
    }

    fn remove_tls12_session(&self, _: &ServerName<'static>) {}

    fn insert_tls13_ticket(&self, _: ServerName<'static>, _: Tls13ClientSessionValue) {}

    fn take_tls13_ticket(&self, _: &ServerName<'static>) -> Option<Tls13ClientSessionValue> {
        self.asked();
        None
    }
}
