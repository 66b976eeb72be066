//! One MQTT session over TLS on a blocking socket, every wait bounded by a deadline.

use crate::packet::{self, Body};
use crate::MqttError;
use hallmark_protocol::BrokerOutcome;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    stream: StreamOwned<ClientConnection, TcpStream>,
    inbox: Vec<u8>,
    next_id: u16,
}

/// Time left before `deadline`, or a timeout error naming what was being waited for.
fn remaining(deadline: Instant, doing: &str) -> Result<Duration, MqttError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(MqttError::new(BrokerOutcome::TIMEOUT, format!("no answer from the broker while {doing}")));
    }
    Ok(left)
}

fn refused(code: u8, what: &str) -> MqttError {
    let outcome = match code {
        0x85 | 0x86 | 0x87 | 0x8A | 0x90 => BrokerOutcome::NOT_AUTHORIZED,
        _ => BrokerOutcome::PROTOCOL,
    };
    MqttError::new(outcome, format!("the broker refused the {what}: {} (0x{code:02X})", packet::reason_name(code)))
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
        let unreachable = |why: String| MqttError::new(BrokerOutcome::UNREACHABLE, format!("{endpoint}: {why}"));
        let addrs: Vec<_> = (endpoint.host.as_str(), endpoint.port)
            .to_socket_addrs()
            .map_err(|e| unreachable(format!("cannot resolve the host: {e}")))?
            .collect();
        let mut last = String::from("no address");
        let mut sock = None;
        for addr in addrs {
            let left = remaining(deadline, "connecting").map_err(|_| unreachable(format!("no TCP answer ({last})")))?;
            match TcpStream::connect_timeout(&addr, left) {
                Ok(s) => {
                    sock = Some(s);
                    break;
                }
                Err(e) => last = e.to_string(),
            }
        }
        let sock = sock.ok_or_else(|| unreachable(last))?;
        // Without it every small record waits for a delayed ACK (tens of ms each).
        sock.set_nodelay(true).ok();
        let name = ServerName::try_from(endpoint.server_name.clone())
            .map_err(|e| MqttError::new(BrokerOutcome::BROKER_UNTRUSTED, format!("server name: {e}")))?;
        let conn = ClientConnection::new(tls, name).map_err(|e| MqttError::from_tls(&e, "starting TLS"))?;
        let mut session = Session { stream: StreamOwned::new(conn, sock), inbox: Vec::new(), next_id: 1 };
        while session.stream.conn.is_handshaking() {
            session.arm(deadline, "negotiating TLS")?;
            let Session { stream, .. } = &mut session;
            stream.conn.complete_io(&mut stream.sock).map_err(|e| MqttError::from_io(e, "negotiating TLS"))?;
        }
        session.send(&packet::connect(client_id, 30), deadline, "connecting")?;
        let (kind, body) = session.read_packet(deadline, "waiting for CONNACK")?;
        if kind != packet::CONNACK {
            return Err(MqttError::protocol(format!("expected CONNACK, got packet type {kind}")));
        }
        let mut b = Body::new(&body);
        let _flags = b.u8()?;
        let code = b.u8()?;
        if code != 0 {
            return Err(refused(code, "session"));
        }
        Ok(session)
    }

    /// Publishes at QoS 1 and waits for the broker's acknowledgement.
    pub fn publish(&mut self, topic: &str, payload: &[u8], deadline: Instant) -> Result<(), MqttError> {
        let id = self.packet_id();
        self.send(&packet::publish(topic, id, payload), deadline, "publishing")?;
        loop {
            let (kind, body) = self.read_packet(deadline, "waiting for PUBACK")?;
            if kind != packet::PUBACK {
                continue;
            }
            let mut b = Body::new(&body);
            if b.u16()? != id {
                continue;
            }
            let code = if b.is_empty() { 0 } else { b.u8()? };
            return if code < 0x80 { Ok(()) } else { Err(refused(code, "publish")) };
        }
    }

    /// Subscribes to one filter at QoS 1 and waits until the broker granted it.
    pub fn subscribe(&mut self, filter: &str, deadline: Instant) -> Result<(), MqttError> {
        let id = self.packet_id();
        self.send(&packet::subscribe(filter, id), deadline, "subscribing")?;
        loop {
            let (kind, body) = self.read_packet(deadline, "waiting for SUBACK")?;
            if kind != packet::SUBACK {
                continue;
            }
            let mut b = Body::new(&body);
            if b.u16()? != id {
                continue;
            }
            b.skip_properties()?;
            let code = b.u8()?;
            return if code < 0x80 { Ok(()) } else { Err(refused(code, "subscription")) };
        }
    }

    /// Waits for the next application message (acknowledging QoS 1 ones).
    pub fn next_message(&mut self, deadline: Instant) -> Result<Message, MqttError> {
        loop {
            let (first, body) = self.read_packet_raw(deadline, "waiting for a message")?;
            if first >> 4 != packet::PUBLISH {
                continue;
            }
            let qos = (first >> 1) & 0x03;
            let mut b = Body::new(&body);
            let topic = b.string()?.to_string();
            let id = if qos > 0 { Some(b.u16()?) } else { None };
            b.skip_properties()?;
            let payload = b.rest().to_vec();
            if let (Some(id), 1) = (id, qos) {
                self.send(&packet::puback(id), deadline, "acknowledging")?;
            }
            return Ok(Message { topic, payload });
        }
    }

    /// A handle that aborts a wait in progress on this session from another thread.
    pub fn canceller(&self) -> Result<Canceller, MqttError> {
        let sock = self
            .stream
            .sock
            .try_clone()
            .map_err(|e| MqttError::new(BrokerOutcome::TLS_FAILED, format!("socket: {e}")))?;
        Ok(Canceller(sock))
    }

    /// Ends the session politely; errors no longer matter here.
    pub fn disconnect(mut self) {
        let deadline = Instant::now() + Duration::from_millis(200);
        self.send(&packet::disconnect(), deadline, "disconnecting").ok();
        self.stream.conn.send_close_notify();
        self.stream.conn.complete_io(&mut self.stream.sock).ok();
    }

    fn packet_id(&mut self) -> u16 {
        let id = self.next_id;
        self.next_id = self.next_id.checked_add(1).unwrap_or(1);
        id
    }

    /// Sets the socket's timeouts to what is left before `deadline`.
    fn arm(&mut self, deadline: Instant, doing: &str) -> Result<(), MqttError> {
        let left = remaining(deadline, doing)?;
        let sock = &self.stream.sock;
        sock.set_read_timeout(Some(left))
            .and_then(|_| sock.set_write_timeout(Some(left)))
            .map_err(|e| MqttError::new(BrokerOutcome::TLS_FAILED, format!("socket: {e}")))
    }

    fn send(&mut self, bytes: &[u8], deadline: Instant, doing: &str) -> Result<(), MqttError> {
        self.arm(deadline, doing)?;
        self.stream.write_all(bytes).and_then(|_| self.stream.flush()).map_err(|e| MqttError::from_io(e, doing))
    }

    /// Next packet: its type and body. A DISCONNECT from the broker is an error.
    fn read_packet(&mut self, deadline: Instant, doing: &str) -> Result<(u8, Vec<u8>), MqttError> {
        let (first, body) = self.read_packet_raw(deadline, doing)?;
        Ok((first >> 4, body))
    }

    fn read_packet_raw(&mut self, deadline: Instant, doing: &str) -> Result<(u8, Vec<u8>), MqttError> {
        loop {
            if let Some(&first) = self.inbox.first() {
                if let Some((len, used)) = packet::remaining_length(&self.inbox[1..])? {
                    let end = 1 + used + len;
                    if self.inbox.len() >= end {
                        let body = self.inbox[1 + used..end].to_vec();
                        self.inbox.drain(..end);
                        match first >> 4 {
                            packet::DISCONNECT => {
                                let code = Body::new(&body).u8().unwrap_or(0);
                                return Err(refused(code, &format!("session while {doing}")));
                            }
                            packet::PINGRESP => continue,
                            _ => return Ok((first, body)),
                        }
                    }
                }
            }
            self.arm(deadline, doing)?;
            let mut buf = [0u8; 4096];
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    return Err(MqttError::new(
                        BrokerOutcome::TLS_FAILED,
                        format!("the broker closed the connection while {doing}"),
                    ))
                }
                Ok(n) => self.inbox.extend_from_slice(&buf[..n]),
                Err(e) => return Err(MqttError::from_io(e, doing)),
            }
        }
    }
}

/// Aborts a [`Session`]'s blocking wait (the waiter sees the connection close).
pub struct Canceller(TcpStream);

impl Canceller {
    /// Shuts the connection down.
    pub fn cancel(&self) {
        self.0.shutdown(std::net::Shutdown::Both).ok();
    }
}
