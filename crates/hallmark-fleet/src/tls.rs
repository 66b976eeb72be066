//! TLS to the fleet server (`sslmode=verify-full`): rustls with the ring provider,
//! trusting only the configured CA, the server's name checked against the URL's host.

use crate::FleetError;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::path::Path;
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// A connector trusting the CA certificates in the PEM file `ca`.
pub(crate) fn connector(ca: &Path) -> Result<MakeRustlsConnect, FleetError> {
    let fail = |why: String| FleetError::TlsCa { path: ca.display().to_string(), why };
    let pem = std::fs::read(ca).map_err(|e| fail(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| fail(format!("it is not PEM: {e}")))?;
        roots.add(cert).map_err(|e| fail(format!("a certificate in it cannot be used: {e}")))?;
    }
    if roots.is_empty() {
        return Err(fail("it holds no certificate".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(format!("TLS set-up failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}
