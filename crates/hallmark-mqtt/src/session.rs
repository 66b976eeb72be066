//! One MQTT 5 session over mutual TLS: rumqttc's v5 event loop driven by a private
//! current-thread tokio runtime, every wait bounded by a deadline.
//!
//! Why a private runtime rather than rumqttc's sync `Client`/`Connection` (which wraps
//! the same event loop in a runtime of its own): a wait here races the event loop
//! against the deadline *and* a [`Canceller`], which the sync `Connection` cannot do
//! (it could only queue a DISCONNECT that a silent broker never answers); and the
//! runtime is shut down in the background when the session is dropped, so dropping a
//! session on an async task (the station moves sessions through async code) does not
//! panic the way dropping a tokio runtime there does. Every call blocks the calling
//! thread: call it from a plain or `spawn_blocking` thread, never from async code.

use crate::error::{puback_code, refused, suback_code};
use crate::tls::{expect_server_name, HelloProbe};
use crate::MqttError;
use hallmark_protocol::BrokerOutcome;
use rumqttc::v5::mqttbytes::v5::Packet;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, ConnectionError, Event, EventLoop, MqttOptions};
use rumqttc::{NetworkOptions, Outgoing, TlsConfiguration, Transport};
use rustls::client::Resumption;
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Largest packet accepted from the broker (announced in CONNECT, enforced by
/// rumqttc's reader); ours are all far smaller.
pub(crate) const MAX_PACKET: u32 = 16 * 1024;

/// Keep-alive announced to the broker; sessions here last seconds.
const KEEP_ALIVE: Duration = Duration::from_secs(30);

/// Where the broker is and the name its certificate must carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or address.
    pub host: String,
    /// TCP port (8883 for MQTT over TLS).
    pub port: u16,
    /// Name checked against the broker's certificate.
    pub server_name: String,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// An application message received on a subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Topic it was published to.
    pub topic: String,
    /// Payload.
    pub payload: Vec<u8>,
}

/// An accepted MQTT session.
pub struct Session {
    client: AsyncClient,
    events: EventLoop,
    cancel: Arc<Cancel>,
    /// False once the event loop failed: polling it again would silently reconnect.
    alive: bool,
    /// Last, so that the connection is dropped while the runtime still runs.
    runtime: Background,
}

/// How a wait ended, other than with what it waited for.
enum Interrupted {
    Deadline,
    Cancelled,
    Failed(ConnectionError),
    Refused(MqttError),
}

impl Session {
    /// Opens TCP, runs the TLS handshake and MQTT CONNECT; returns once the broker
    /// accepted the session (CONNACK success).
    pub fn connect(
        endpoint: &Endpoint,
        tls: Arc<ClientConfig>,
        client_id: &str,
        deadline: Instant,
    ) -> Result<Session, MqttError> {
        let name = ServerName::try_from(endpoint.server_name.clone())
            .map_err(|e| MqttError::new(BrokerOutcome::BROKER_UNTRUSTED, format!("server name: {e}")))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| MqttError::new(BrokerOutcome::TLS_FAILED, format!("socket runtime: {e}")))?;
        // Per session: our own (empty) resumption store, which shows whether TCP came up.
        let probe = Arc::new(HelloProbe::default());
        let mut config = (*tls).clone();
        config.resumption = Resumption::store(probe.clone());
        let mut options = MqttOptions::new(client_id, endpoint.host.clone(), endpoint.port);
        options
            .set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(Arc::new(config))))
            .set_keep_alive(KEEP_ALIVE)
            .set_clean_start(true)
            .set_max_packet_size(Some(MAX_PACKET))
            // rumqttc's own limit (whole seconds) stays behind our deadline.
            .set_connection_timeout(deadline.saturating_duration_since(Instant::now()).as_secs() + 2);
        let mut network = NetworkOptions::new();
        // Without it every small record waits for a delayed ACK (tens of ms each).
        network.set_tcp_nodelay(true);
        options.set_network_options(network);
        let (client, events) = AsyncClient::new(options, 8);
        let mut session = Session {
            client,
            events,
            cancel: Arc::new(Cancel::default()),
            alive: true,
            runtime: Background(Some(runtime)),
        };
        let connected = {
            let _name = expect_server_name(name);
            session.wait(deadline, |event| Ok(matches!(event, Event::Incoming(Packet::ConnAck(_))).then_some(())))
        };
        match connected {
            Ok(()) => Ok(session),
            Err(Interrupted::Deadline) if !probe.hello_sent() => Err(MqttError::new(
                BrokerOutcome::UNREACHABLE,
                format!("{endpoint}: no TCP answer before the deadline"),
            )),
            Err(e) => {
                let mut e = session.failure(e, "connecting");
                if e.outcome == BrokerOutcome::UNREACHABLE {
                    e.detail = format!("{endpoint}: {}", e.detail);
                }
                Err(e)
            }
        }
    }

    /// Publishes at QoS 1 and waits for the broker's acknowledgement.
    pub fn publish(&mut self, topic: &str, payload: &[u8], deadline: Instant) -> Result<(), MqttError> {
        if !rumqttc::valid_topic(topic) {
            return Err(MqttError::protocol(format!("{topic:?} is not a topic name one can publish to")));
        }
        self.client
            .try_publish(topic, QoS::AtLeastOnce, false, payload.to_vec())
            .map_err(|e| MqttError::protocol(format!("publishing: {e}")))?;
        let mut id = None;
        let acked = self.wait(deadline, |event| match event {
            Event::Outgoing(Outgoing::Publish(sent)) => {
                id = Some(sent);
                Ok(None)
            }
            Event::Incoming(Packet::PubAck(ack)) if Some(ack.pkid) == id => match puback_code(ack.reason) {
                code if code < 0x80 => Ok(Some(())),
                code => Err(refused(code, "publish")),
            },
            _ => Ok(None),
        });
        acked.map_err(|e| self.failure(e, "waiting for PUBACK"))
    }

    /// Subscribes to one filter at QoS 1 and waits until the broker granted it.
    pub fn subscribe(&mut self, filter: &str, deadline: Instant) -> Result<(), MqttError> {
        self.client
            .try_subscribe(filter, QoS::AtLeastOnce)
            .map_err(|_| MqttError::protocol(format!("{filter:?} is not a topic filter one can subscribe to")))?;
        let mut id = None;
        let granted = self.wait(deadline, |event| match event {
            Event::Outgoing(Outgoing::Subscribe(sent)) => {
                id = Some(sent);
                Ok(None)
            }
            Event::Incoming(Packet::SubAck(ack)) if Some(ack.pkid) == id => {
                match ack.return_codes.first().map(|r| suback_code(*r)) {
                    Some(code) if code < 0x80 => Ok(Some(())),
                    Some(code) => Err(refused(code, "subscription")),
                    None => Err(MqttError::protocol("SUBACK without a reason code")),
                }
            }
            _ => Ok(None),
        });
        granted.map_err(|e| self.failure(e, "waiting for SUBACK"))
    }

    /// Waits for the next application message (QoS 1 ones are acknowledged by the
    /// event loop before they are handed out).
    pub fn next_message(&mut self, deadline: Instant) -> Result<Message, MqttError> {
        let received = self.wait(deadline, |event| match event {
            Event::Incoming(Packet::Publish(p)) => match String::from_utf8(p.topic.to_vec()) {
                Ok(topic) => Ok(Some(Message { topic, payload: p.payload.to_vec() })),
                Err(_) => Err(MqttError::protocol("topic name is not UTF-8")),
            },
            _ => Ok(None),
        });
        received.map_err(|e| self.failure(e, "waiting for a message"))
    }

    /// A handle that aborts a wait in progress on this session from another thread.
    pub fn canceller(&self) -> Result<Canceller, MqttError> {
        Ok(Canceller(self.cancel.clone()))
    }

    /// Ends the session politely (DISCONNECT); errors no longer matter here.
    pub fn disconnect(mut self) {
        if self.alive && self.client.try_disconnect().is_ok() {
            let deadline = Instant::now() + Duration::from_millis(200);
            let _ =
                self.wait(deadline, |event| Ok(matches!(event, Event::Outgoing(Outgoing::Disconnect)).then_some(())));
        }
    }

    /// Drives the event loop until `want` takes an event (`Ok(Some)`) or refuses it
    /// (`Err`), the deadline passes, the wait is cancelled or the connection fails.
    fn wait<T>(
        &mut self,
        deadline: Instant,
        mut want: impl FnMut(Event) -> Result<Option<T>, MqttError>,
    ) -> Result<T, Interrupted> {
        if !self.alive {
            return Err(Interrupted::Refused(MqttError::new(BrokerOutcome::TLS_FAILED, "the session already failed")));
        }
        let Session { events, cancel, runtime, .. } = self;
        let deadline = tokio::time::Instant::from_std(deadline);
        let result = runtime.block_on(async {
            loop {
                if cancel.requested.load(Ordering::Acquire) {
                    return Err(Interrupted::Cancelled);
                }
                let polled = tokio::select! {
                    biased;
                    _ = cancel.wake.notified() => return Err(Interrupted::Cancelled),
                    polled = tokio::time::timeout_at(deadline, events.poll()) => polled,
                };
                match polled {
                    Err(_) => return Err(Interrupted::Deadline),
                    Ok(Err(e)) => return Err(Interrupted::Failed(e)),
                    Ok(Ok(event)) => {
                        if let Some(done) = want(event).map_err(Interrupted::Refused)? {
                            return Ok(done);
                        }
                    }
                }
            }
        });
        if matches!(result, Err(Interrupted::Failed(_) | Interrupted::Cancelled)) {
            self.alive = false;
        }
        result
    }

    fn failure(&self, e: Interrupted, doing: &str) -> MqttError {
        match e {
            Interrupted::Deadline => MqttError::timeout(doing),
            Interrupted::Cancelled => {
                MqttError::new(BrokerOutcome::TLS_FAILED, format!("the wait was cancelled while {doing}"))
            }
            Interrupted::Failed(e) => MqttError::from_connection(e, doing),
            Interrupted::Refused(e) => e,
        }
    }
}

/// The session's runtime, shut down without waiting when the session is dropped
/// (a name lookup may still run on its blocking pool; and a runtime dropped the
/// ordinary way on an async task panics).
struct Background(Option<tokio::runtime::Runtime>);

impl Background {
    fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        // Cannot fail: the runtime is only taken out in `drop`.
        #[allow(clippy::expect_used)]
        let runtime = self.0.as_ref().expect("the session runtime lives as long as the session");
        runtime.block_on(future)
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// A cancellation request: the flag for waits yet to start, the wake-up for the
/// one in progress (`notify_one` keeps a permit if nobody waits yet).
#[derive(Default)]
struct Cancel {
    requested: AtomicBool,
    wake: Notify,
}

/// Aborts a [`Session`]'s blocking wait, and every later one (the waiter gets an
/// error at once, and the session is done).
pub struct Canceller(Arc<Cancel>);

impl Canceller {
    /// Stops the session's current and later waits.
    pub fn cancel(&self) {
        self.0.requested.store(true, Ordering::Release);
        self.0.wake.notify_one();
    }
}
