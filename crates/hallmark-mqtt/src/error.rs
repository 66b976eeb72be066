//! Why a broker exchange failed, classified for the operator: rumqttc's errors and
//! MQTT reason codes into [`BrokerOutcome`]s.

use hallmark_protocol::BrokerOutcome;
use rumqttc::v5::mqttbytes::v5::{ConnectReturnCode, DisconnectReasonCode, PubAckReason, SubscribeReasonCode};
use rumqttc::v5::mqttbytes::Error as PacketError;
use rumqttc::v5::{ConnectionError, StateError, TlsError};
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

    pub(crate) fn timeout(doing: &str) -> MqttError {
        MqttError::new(BrokerOutcome::TIMEOUT, format!("no answer from the broker while {doing}"))
    }

    /// Classifies an error of rumqttc's event loop. Only the TCP connect (and the
    /// name lookup before it) fails with a bare I/O error; the handshake fails as
    /// `Tls`, and everything after it (under TLS 1.3 that includes the broker's verdict
    /// on the client certificate, an alert on the first read) as `MqttState`.
    pub(crate) fn from_connection(e: ConnectionError, doing: &str) -> MqttError {
        match e {
            ConnectionError::Io(e) => MqttError::new(BrokerOutcome::UNREACHABLE, format!("no TCP connection: {e}")),
            ConnectionError::Tls(TlsError::Io(e)) => MqttError::from_io(e, doing),
            ConnectionError::Tls(TlsError::TLS(e)) => MqttError::from_tls(&e, doing),
            ConnectionError::Tls(TlsError::DNSName(e)) => {
                MqttError::new(BrokerOutcome::BROKER_UNTRUSTED, format!("server name: {e}"))
            }
            ConnectionError::Tls(e) => MqttError::new(BrokerOutcome::TLS_FAILED, format!("{doing}: {e}")),
            ConnectionError::MqttState(e) => MqttError::from_state(e, doing),
            ConnectionError::ConnectionRefused(code) => refused(connect_code(code), "session"),
            ConnectionError::NotConnAck(packet) => {
                MqttError::protocol(format!("expected CONNACK while {doing}, got {packet:?}"))
            }
            ConnectionError::Timeout(_) => MqttError::timeout(doing),
            ConnectionError::RequestsDone => MqttError::protocol(format!("the client stopped while {doing}")),
        }
    }

    fn from_state(e: StateError, doing: &str) -> MqttError {
        match e {
            StateError::Io(e) | StateError::Deserialization(PacketError::Io(e)) => MqttError::from_io(e, doing),
            StateError::ConnectionAborted => {
                MqttError::new(BrokerOutcome::TLS_FAILED, format!("the broker closed the connection while {doing}"))
            }
            StateError::ServerDisconnect { reason_code, reason_string } => {
                let mut e = refused(reason_code as u8, &format!("session while {doing}"));
                if let Some(why) = reason_string {
                    e.detail.push_str(&format!(": {why}"));
                }
                e
            }
            StateError::ConnFail { reason } => refused(connect_code(reason), "session"),
            e => MqttError::protocol(format!("{doing}: {e}")),
        }
    }

    /// Classifies an I/O error of the TLS stream. rustls errors (alerts from the
    /// broker, our verdict on its certificate) travel inside it.
    pub(crate) fn from_io(e: io::Error, doing: &str) -> MqttError {
        if let Some(tls) = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
            return MqttError::from_tls(tls, doing);
        }
        match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => MqttError::timeout(doing),
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

/// The broker refused something with reason `code` (≥ 0x80): the identity-related
/// refusals are "not authorised", anything else a protocol failure.
pub(crate) fn refused(code: u8, what: &str) -> MqttError {
    let outcome = match code {
        0x85 | 0x86 | 0x87 | 0x8A | 0x90 => BrokerOutcome::NOT_AUTHORIZED,
        _ => BrokerOutcome::PROTOCOL,
    };
    MqttError::new(outcome, format!("the broker refused the {what}: {} (0x{code:02X})", reason_name(code)))
}

/// The MQTT 5 reason code of a CONNACK (rumqttc keeps only the enum).
pub(crate) fn connect_code(code: ConnectReturnCode) -> u8 {
    use ConnectReturnCode as C;
    match code {
        C::Success => 0x00,
        C::UnspecifiedError => 0x80,
        C::MalformedPacket => 0x81,
        C::ProtocolError => 0x82,
        C::ImplementationSpecificError => 0x83,
        C::UnsupportedProtocolVersion | C::RefusedProtocolVersion => 0x84,
        C::ClientIdentifierNotValid | C::BadClientId => 0x85,
        C::BadUserNamePassword => 0x86,
        C::NotAuthorized => 0x87,
        C::ServerUnavailable | C::ServiceUnavailable => 0x88,
        C::ServerBusy => 0x89,
        C::Banned => 0x8A,
        C::BadAuthenticationMethod => 0x8C,
        C::TopicNameInvalid => 0x90,
        C::PacketTooLarge => 0x95,
        C::QuotaExceeded => 0x97,
        C::PayloadFormatInvalid => 0x99,
        C::RetainNotSupported => 0x9A,
        C::QoSNotSupported => 0x9B,
        C::UseAnotherServer => 0x9C,
        C::ServerMoved => 0x9D,
        C::ConnectionRateExceeded => 0x9F,
    }
}

/// The MQTT 5 reason code of a PUBACK.
pub(crate) fn puback_code(reason: PubAckReason) -> u8 {
    use PubAckReason as P;
    match reason {
        P::Success => 0x00,
        P::NoMatchingSubscribers => 0x10,
        P::UnspecifiedError => 0x80,
        P::ImplementationSpecificError => 0x83,
        P::NotAuthorized => 0x87,
        P::TopicNameInvalid => 0x90,
        P::PacketIdentifierInUse => 0x91,
        P::QuotaExceeded => 0x97,
        P::PayloadFormatInvalid => 0x99,
    }
}

/// The MQTT 5 reason code of one SUBACK entry.
pub(crate) fn suback_code(reason: SubscribeReasonCode) -> u8 {
    use SubscribeReasonCode as S;
    match reason {
        S::Success(qos) => qos as u8,
        S::Failure | S::Unspecified => 0x80,
        S::ImplementationSpecific => 0x83,
        S::NotAuthorized => 0x87,
        S::TopicFilterInvalid => 0x8F,
        S::PkidInUse => 0x91,
        S::QuotaExceeded => 0x97,
        S::SharedSubscriptionsNotSupported => 0x9E,
        S::SubscriptionIdNotSupported => 0xA1,
        S::WildcardSubscriptionsNotSupported => 0xA2,
    }
}

// `DisconnectReasonCode` is `repr(u8)` with the wire values: `as u8` is its code.
const _: () = assert!(DisconnectReasonCode::NotAuthorized as u8 == 0x87);

/// Words for an MQTT 5 reason code.
pub(crate) fn reason_name(code: u8) -> &'static str {
    match code {
        0x80 => "unspecified error",
        0x81 => "malformed packet",
        0x82 => "protocol error",
        0x83 => "implementation specific error",
        0x84 => "unsupported protocol version",
        0x85 => "client identifier not valid",
        0x86 => "bad user name or password",
        0x87 => "not authorized",
        0x88 => "server unavailable",
        0x89 => "server busy",
        0x8A => "banned",
        0x8B => "server shutting down",
        0x8C => "bad authentication method",
        0x8D => "keep alive timeout",
        0x8E => "session taken over",
        0x8F => "topic filter invalid",
        0x90 => "topic name invalid",
        0x91 => "packet identifier in use",
        0x95 => "packet too large",
        0x97 => "quota exceeded",
        0x98 => "administrative action",
        0x99 => "payload format invalid",
        _ => "refused",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_refusals_are_not_authorized_and_the_rest_protocol() {
        assert_eq!(refused(puback_code(PubAckReason::NotAuthorized), "publish").outcome, BrokerOutcome::NOT_AUTHORIZED);
        assert_eq!(refused(connect_code(ConnectReturnCode::Banned), "session").outcome, BrokerOutcome::NOT_AUTHORIZED);
        assert_eq!(refused(connect_code(ConnectReturnCode::ServerBusy), "session").outcome, BrokerOutcome::PROTOCOL);
        let e = refused(0x87, "publish");
        assert!(e.detail.contains("not authorized (0x87)"), "{}", e.detail);
    }

    #[test]
    fn alerts_inside_io_errors_are_classified() {
        use rustls::AlertDescription as A;
        for (alert, outcome) in [
            (A::CertificateRevoked, BrokerOutcome::TLS_REVOKED),
            (A::UnknownCA, BrokerOutcome::TLS_UNKNOWN_CA),
            (A::CertificateExpired, BrokerOutcome::TLS_EXPIRED),
            (A::HandshakeFailure, BrokerOutcome::TLS_FAILED),
        ] {
            // What tokio-rustls hands rumqttc's codec, which hands it on as a state error.
            let io = io::Error::new(io::ErrorKind::InvalidData, rustls::Error::AlertReceived(alert));
            let e = ConnectionError::MqttState(StateError::Deserialization(PacketError::Io(io)));
            assert_eq!(MqttError::from_connection(e, "waiting for CONNACK").outcome, outcome);
        }
        let io = io::Error::new(io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(
            MqttError::from_connection(ConnectionError::Io(io), "connecting").outcome,
            BrokerOutcome::UNREACHABLE
        );
    }
}
