//! Mode `broker`: the board connects to the MQTT broker over mutual TLS with its new
//! identity and publishes a station nonce to `devices/<UID>/selftest`; the station,
//! subscribed there with its own client identity, must receive exactly that nonce in
//! time. This proves what the field will see: the broker accepts the certificate (CA,
//! revocation, validity) and the CN works as the username that owns the topic.

use crate::client::{unexpected, DeviceClient, LinkError};
use crate::transport::Link;
use hallmark_ca::{IssuingCa, ServiceRole};
use hallmark_config::BrokerSection;
use hallmark_mqtt::{BrokerOutcome, Endpoint, MqttError, Session};
use hallmark_protocol::{Request, Response, NONCE_LEN};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the broker self-test proved.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BrokerEvidence {
    /// `host:port` of the broker.
    pub broker: String,
    /// Topic the nonce travelled on.
    pub topic: String,
    /// The nonce (hex), as published.
    pub nonce: String,
    /// The board's time to an accepted MQTT session (TCP, TLS, CONNACK), ms.
    pub board_connect_ms: u32,
    /// From asking the board to test until the station held the nonce, ms.
    pub nonce_round_trip_ms: f64,
    /// The station's own connect and subscribe, ms.
    pub station_subscribe_ms: f64,
    /// The station's broker username (its client certificate CN).
    pub station_identity: String,
}

/// Why the broker self-test failed.
#[derive(Debug)]
pub enum BrokerFailure {
    /// The provisioning link failed.
    Link(LinkError),
    /// The station itself could not use the broker: not the board's fault.
    Station(MqttError),
    /// The board could not prove its identity at the broker.
    Board {
        /// Stable reason (`revoked`, `unknown-ca`, `not-authorized`, `timeout`, ...).
        reason: &'static str,
        /// Detail for the operator and the log.
        detail: String,
    },
}

/// The station's broker username: lower case and a dot, so it can never be a UID.
pub fn station_identity(station_id: &str) -> String {
    format!("hallmark-station.{station_id}")
}

/// The broker as configured (the configuration's checks say why not, in words).
fn endpoint(broker: &BrokerSection) -> Result<Endpoint, String> {
    let (host, port) = broker.host_port()?;
    Ok(Endpoint { host, port, server_name: broker.server_name()? })
}

/// The topic a board publishes its self-test nonce to.
pub fn topic(uid: &str) -> String {
    format!("devices/{uid}/selftest")
}

/// Runs the broker self-test for the board `uid`.
pub async fn broker_test<L: Link>(
    client: &mut DeviceClient<L>,
    ca: &IssuingCa,
    station_id: &str,
    broker: &BrokerSection,
    uid: &str,
) -> Result<BrokerEvidence, BrokerFailure> {
    let endpoint = endpoint(broker).map_err(|e| BrokerFailure::Station(station_error(e)))?;
    let window = Duration::from_millis(broker.timeout_ms as u64);
    let identity = station_identity(station_id);
    let topic = topic(uid);
    let nonce: [u8; NONCE_LEN] = rand::random();
    let expected = hex::encode(nonce).into_bytes();

    // Subscribe first: the nonce must not be published before the station listens.
    let started = Instant::now();
    let config = station_config(ca, &identity).map_err(|e| BrokerFailure::Station(station_error(e)))?;
    let subscribe = {
        let (endpoint, identity, topic) = (endpoint.clone(), identity.clone(), topic.clone());
        tokio::task::spawn_blocking(move || {
            let deadline = Instant::now() + window;
            let mut session = Session::connect(&endpoint, config, &identity, deadline)?;
            session.subscribe(&topic, deadline)?;
            Ok::<_, MqttError>(session)
        })
    };
    let mut session = joined(subscribe.await).map_err(BrokerFailure::Station)?;
    let station_subscribe_ms = started.elapsed().as_secs_f64() * 1000.0;
    let cancel = session.canceller().map_err(BrokerFailure::Station)?;

    // Then wait for the nonce while the board connects and publishes.
    let asked = Instant::now();
    let wait = tokio::task::spawn_blocking(move || {
        // The board has `window` for its part; the delivery after its PUBACK is quick.
        let deadline = Instant::now() + window + Duration::from_millis(500);
        loop {
            let m = session.next_message(deadline)?;
            if m.payload == expected {
                let at = Instant::now();
                session.disconnect();
                return Ok::<_, MqttError>(at);
            }
        }
    });
    let request = Request::BrokerTest {
        host: endpoint.host.clone(),
        port: endpoint.port,
        server_name: endpoint.server_name.clone(),
        topic: topic.clone(),
        nonce,
        timeout_ms: broker.timeout_ms,
    };
    let per_attempt = window + client.timeouts().response;
    let answer = client.call(&request, per_attempt).await;
    let board_connect_ms = match answer {
        Ok(Response::BrokerResult { outcome: BrokerOutcome::PUBLISHED, connect_ms, .. }) => connect_ms,
        other => {
            cancel.cancel();
            return Err(match other {
                Ok(Response::BrokerResult { outcome, detail, .. }) => {
                    BrokerFailure::Board { reason: outcome.name(), detail: crate::failures::sanitize(&detail) }
                }
                Ok(Response::Error { code, detail }) => BrokerFailure::Board {
                    reason: "device-error",
                    detail: format!("{} {}", code.name(), crate::failures::sanitize(&detail)),
                },
                Ok(other) => BrokerFailure::Link(unexpected("a broker test result", &other)),
                Err(e) => BrokerFailure::Link(e),
            });
        }
    };
    // The board's publish was acknowledged: if the nonce does not arrive, the broker
    // did not route it to the station (most often its ACL for the station's name).
    let received = joined(wait.await).map_err(|e| {
        BrokerFailure::Station(MqttError {
            outcome: e.outcome,
            detail: format!(
                "the board's publish was acknowledged but never delivered to {identity} on {topic} ({e}): check \
                 that the broker's ACL lets {identity} read devices/+/selftest"
            ),
        })
    })?;
    Ok(BrokerEvidence {
        broker: endpoint.to_string(),
        topic,
        nonce: hex::encode(nonce),
        board_connect_ms,
        nonce_round_trip_ms: received.duration_since(asked).as_secs_f64() * 1000.0,
        station_subscribe_ms,
        station_identity: identity,
    })
}

fn station_error(detail: String) -> MqttError {
    MqttError { outcome: BrokerOutcome::PROTOCOL, detail }
}

fn joined<T>(r: Result<Result<T, MqttError>, tokio::task::JoinError>) -> Result<T, MqttError> {
    r.unwrap_or_else(|e| Err(station_error(format!("broker task failed: {e}"))))
}

/// The station's client identity for this test: a one-day client certificate from
/// the issuing CA whose key lives only in memory.
fn station_config(ca: &IssuingCa, identity: &str) -> Result<Arc<rustls::ClientConfig>, String> {
    let (cert, key) = ca
        .service_certificate(identity, ServiceRole::Client, 1, time::OffsetDateTime::now_utc())
        .map_err(|e| e.to_string())?;
    hallmark_mqtt::client_config(ca.root_der(), vec![cert, ca.issuing_der().to_vec()], key)
}
