//! Why a broker exchange failed, classified for the operator.

use hallmark_protocol::BrokerOutcome;
use std::io;

/// A failed broker exchange: the classified outcome and the detail for the log.
#[derive(Debug, thiserror::Error)]
#[error("{} ({detail})", outcome.name())]
pub struct MqttError {
    /// What kind of failure it was.
    pub outcome: BrokerOutcome,
    /// The underlying error, for the log.
    pub detail: String,
}

impl MqttError {
    pub(crate) fn new(outcome: BrokerOutcome, detail: impl Into<String>) -> MqttError {
        MqttError { outcome, detail: detail.into() }
    }

    pub(crate) fn protocol(detail: impl Into<String>) -> MqttError {
        MqttError::new(BrokerOutcome::PROTOCOL, detail)
    }

    /// Classifies an I/O error on an established TCP connection. Under TLS 1.3 the
    /// broker's verdict on the client certificate arrives as an alert on the first
    /// read after the handshake, so the alert is what tells revoked from unknown CA.
    pub(crate) fn from_io(e: io::Error, doing: &str) -> MqttError {
        if let Some(tls) = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
            return MqttError::from_tls(tls, doing);
        }
        match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                MqttError::new(BrokerOutcome::TIMEOUT, format!("no answer from the broker while {doing}"))
            }
            io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => {
                MqttError::new(BrokerOutcome::TLS_FAILED, format!("the broker closed the connection while {doing}"))
            }
            _ => MqttError::new(BrokerOutcome::TLS_FAILED, format!("{doing}: {e}")),
        }
    }

    pub(crate) fn from_tls(e: &rustls::Error, doing: &str) -> MqttError {
        use rustls::AlertDescription as A;
        let outcome = match e {
            rustls::Error::AlertReceived(A::CertificateRevoked) => BrokerOutcome::TLS_REVOKED,
            rustls::Error::AlertReceived(A::UnknownCA) => BrokerOutcome::TLS_UNKNOWN_CA,
            rustls::Error::AlertReceived(A::CertificateExpired) => BrokerOutcome::TLS_EXPIRED,
            rustls::Error::InvalidCertificate(_) => BrokerOutcome::BROKER_UNTRUSTED,
            _ => BrokerOutcome::TLS_FAILED,
        };
        MqttError::new(outcome, format!("{doing}: {e}"))
    }
}
