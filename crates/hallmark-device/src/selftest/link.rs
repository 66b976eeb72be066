//! Mode `link`: a TLS 1.3 handshake with client authentication between the station
//! (server, rustls sans-IO) and the board (client, its installed identity), the TLS
//! bytes carried in `TlsStart` / `TlsData` frames. The station then checks that the
//! client certificate is exactly the one just issued.

use crate::client::{unexpected, DeviceClient, LinkError};
use crate::transport::Link;
use hallmark_ca::{IssuingCa, ServiceRole};
use hallmark_protocol::{Request, Response, TLS_SERVER_NAME};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection};
use std::sync::Arc;
use std::time::Instant;

/// Round trips allowed for one handshake (a TLS 1.3 handshake needs about ten here).
const MAX_EXCHANGES: usize = 64;

/// What the link self-test proved.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LinkEvidence {
    /// Handshake time, milliseconds.
    pub handshake_ms: f64,
    /// SHA-256 of the certificate the board presented.
    pub peer_fingerprint: String,
    /// TLS version and cipher suite.
    pub cipher_suite: String,
    /// Protocol frames exchanged.
    pub exchanges: usize,
}

/// Why the link self-test failed.
#[derive(Debug)]
pub enum LinkFailure {
    /// The link itself failed.
    Link(LinkError),
    /// The board has no TLS stack after all (it answered `UNSUPPORTED`); the
    /// device's detail for the log.
    Unsupported(String),
    /// The handshake was refused; the reason in words for the operator.
    Refused(String),
}

fn server_config(ca: &IssuingCa) -> Result<Arc<ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = ServiceRole::Server { names: vec![TLS_SERVER_NAME.to_string()] };
    let (cert, key) = ca
        .service_certificate(TLS_SERVER_NAME, server, 1, time::OffsetDateTime::now_utc())
        .map_err(|e| e.to_string())?;
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(ca.root_der().to_vec())).map_err(|e| e.to_string())?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| e.to_string())?;
    let chain = vec![CertificateDer::from(cert), CertificateDer::from(ca.issuing_der().to_vec())];
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)))
        .map_err(|e| e.to_string())?;
    // The board never resumes this session: session tickets would only cost the
    // link another exchange after the handshake (issue #19).
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

/// Words for a refused handshake.
fn explain(e: &rustls::Error) -> String {
    use rustls::{CertificateError, Error};
    match e {
        Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "unknown CA: the certificate does not chain to this station's CA".into()
        }
        Error::InvalidCertificate(CertificateError::Revoked) => "the certificate is revoked".into(),
        Error::InvalidCertificate(CertificateError::Expired | CertificateError::ExpiredContext { .. }) => {
            "the certificate has expired".into()
        }
        Error::InvalidCertificate(CertificateError::BadSignature) => {
            "the board's key does not match its certificate".into()
        }
        Error::PeerMisbehaved(_) | Error::DecryptError => "the board's key does not match its certificate".into(),
        other => format!("TLS error: {other}"),
    }
}

/// Runs the handshake; `expected` is the certificate the board must present.
pub async fn tls_link<L: Link>(
    client: &mut DeviceClient<L>,
    ca: &IssuingCa,
    expected: &[u8],
) -> Result<LinkEvidence, LinkFailure> {
    let config = server_config(ca).map_err(LinkFailure::Refused)?;
    let mut server = ServerConnection::new(config).map_err(|e| LinkFailure::Refused(e.to_string()))?;
    let started = Instant::now();
    let timeout = client.timeouts().response;
    let mut request = Request::TlsStart;
    let mut outgoing: Vec<u8> = Vec::new();
    let mut exchanges = 0;
    loop {
        exchanges += 1;
        if exchanges > MAX_EXCHANGES {
            return Err(LinkFailure::Refused("the handshake did not finish: the board keeps talking".into()));
        }
        let (data, pending, established) = match client.call(&request, timeout).await {
            Ok(Response::TlsData { data, pending, established }) => (data, pending, established),
            Ok(other) => return Err(LinkFailure::Link(unexpected("TLS data", &other))),
            Err(LinkError::Device { code: hallmark_protocol::ErrorCode::UNSUPPORTED, detail }) => {
                return Err(LinkFailure::Unsupported(format!("device error UNSUPPORTED: {detail}")))
            }
            Err(LinkError::Device { detail, .. }) => {
                return Err(LinkFailure::Refused(format!("the board's TLS client failed ({detail})")))
            }
            Err(e) => return Err(LinkFailure::Link(e)),
        };
        let device_done = established;
        if !data.is_empty() {
            let mut rd = &data[..];
            while !rd.is_empty() {
                server.read_tls(&mut rd).map_err(|e| LinkFailure::Refused(e.to_string()))?;
                if let Err(e) = server.process_new_packets() {
                    return Err(LinkFailure::Refused(explain(&e)));
                }
            }
        }
        while server.wants_write() {
            server.write_tls(&mut outgoing).map_err(|e| LinkFailure::Refused(e.to_string()))?;
        }
        let done = !server.is_handshaking() && device_done && outgoing.is_empty() && pending == 0;
        if done {
            break;
        }
        let n = outgoing.len().min(client.chunk_size());
        request = Request::TlsData { data: outgoing.drain(..n).collect() };
    }
    let peer = server
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.as_ref().to_vec())
        .ok_or_else(|| LinkFailure::Refused("the board presented no certificate".into()))?;
    if peer != expected {
        return Err(LinkFailure::Refused("the board presented a certificate other than the one just issued".into()));
    }
    let cipher_suite = format!(
        "{:?} {:?}",
        server.protocol_version().unwrap_or(rustls::ProtocolVersion::Unknown(0)),
        server.negotiated_cipher_suite().map(|s| s.suite())
    );
    Ok(LinkEvidence {
        handshake_ms: started.elapsed().as_secs_f64() * 1000.0,
        peer_fingerprint: hallmark_ca::fingerprint(&peer),
        cipher_suite,
        exchanges,
    })
}
