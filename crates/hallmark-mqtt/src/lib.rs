//! A small blocking MQTT 5 client over mutual TLS, wrapping rumqttc's v5 client: just
//! enough to prove an identity at the broker (connect, publish QoS 1, subscribe,
//! receive), with a deadline on every wait. The MQTT packets, their bounded parsing
//! and the session state are rumqttc's; this crate adds the blocking, deadline-bound
//! API (`session.rs`), the TLS identity (`tls.rs`) and the classification of what
//! went wrong (`error.rs`).
//!
//! Both sides of the broker self-test use it: the simulated board (what firmware does
//! with its MQTT stack) and the station (its own subscriber). Failures carry a
//! [`BrokerOutcome`] so that "revoked", "unknown CA", "not authorised" and "timeout"
//! stay distinguishable from the socket up to the operator's screen.

mod error;
mod session;
mod tls;

pub use error::MqttError;
pub use hallmark_protocol::BrokerOutcome;
pub use session::{Canceller, Endpoint, Message, Session};
pub use tls::{client_config, split_der};

/// Fuzzing entry (`crates/hallmark-fuzz`): feeds `data` to the packet reader that
/// parses everything the broker sends ([`rumqttc`]'s MQTT 5 `Packet::read`, with the
/// session's packet size limit) as if it had arrived on the socket, packet after
/// packet, and ignores the results. Must not panic on any input.
#[doc(hidden)]
pub fn fuzz_parse_packet(data: &[u8]) {
    use rumqttc::v5::mqttbytes::v5::Packet;
    let mut stream = bytes::BytesMut::from(data);
    // Each successful read consumes at least the two-byte fixed header, so this ends;
    // an error (including "more bytes needed") ends the stream as it ends a session.
    while !stream.is_empty() {
        if Packet::read(&mut stream, Some(session::MAX_PACKET)).is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fuzz_entry_survives_truncated_and_oversized_packets() {
        for data in [
            &[][..],
            &[0x20],
            &[0x20, 0x03, 0x00, 0x87, 0x00],                   // CONNACK, not authorised
            &[0x40, 0x04, 0x00, 0x01, 0x87, 0x00],             // PUBACK, not authorised
            &[0x30, 0xFF, 0xFF, 0xFF, 0x7F],                   // PUBLISH over the size limit
            &[0x30, 0x80, 0x80, 0x80, 0x80, 0x01],             // remaining length of 5 bytes
            &[0x32, 0x06, 0x00, 0x09, b'a', 0x00, 0x01, 0x00], // topic longer than the packet
            &[0xD0, 0x00, 0xD0, 0x00, 0xE0, 0x00],             // PINGRESPs, empty DISCONNECT
        ] {
            super::fuzz_parse_packet(data);
        }
    }
}
