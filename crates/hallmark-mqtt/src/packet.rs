//! MQTT 5 packets: the few this client sends, and bounded parsing of what the broker
//! sends back (OASIS MQTT 5.0, section 3).

use crate::MqttError;

/// Largest packet accepted from the broker; ours are all far smaller.
pub(crate) const MAX_PACKET: usize = 16 * 1024;

pub(crate) const CONNACK: u8 = 2;
pub(crate) const PUBLISH: u8 = 3;
pub(crate) const PUBACK: u8 = 4;
pub(crate) const SUBACK: u8 = 9;
pub(crate) const PINGRESP: u8 = 13;
pub(crate) const DISCONNECT: u8 = 14;

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let mut byte = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if n == 0 {
            break;
        }
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Every string we send is bounded far below 64 KiB by the callers' limits.
    out.extend_from_slice(&(s.len().min(u16::MAX as usize) as u16).to_be_bytes());
    out.extend_from_slice(&s.as_bytes()[..s.len().min(u16::MAX as usize)]);
}

fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    put_varint(&mut out, body.len());
    out.extend_from_slice(body);
    out
}

/// CONNECT, MQTT 5, clean start, no username (the broker takes it from the
/// certificate), no properties.
pub(crate) fn connect(client_id: &str, keep_alive_s: u16) -> Vec<u8> {
    let mut b = Vec::new();
    put_str(&mut b, "MQTT");
    b.push(5);
    b.push(0x02);
    b.extend_from_slice(&keep_alive_s.to_be_bytes());
    put_varint(&mut b, 0);
    put_str(&mut b, client_id);
    packet(0x10, &b)
}

/// PUBLISH at QoS 1.
pub(crate) fn publish(topic: &str, packet_id: u16, payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    put_str(&mut b, topic);
    b.extend_from_slice(&packet_id.to_be_bytes());
    put_varint(&mut b, 0);
    b.extend_from_slice(payload);
    packet(0x32, &b)
}

/// PUBACK (success) for a received QoS 1 message.
pub(crate) fn puback(packet_id: u16) -> Vec<u8> {
    let id = packet_id.to_be_bytes();
    packet(0x40, &[id[0], id[1]])
}

/// SUBSCRIBE to one filter at QoS 1.
pub(crate) fn subscribe(filter: &str, packet_id: u16) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&packet_id.to_be_bytes());
    put_varint(&mut b, 0);
    put_str(&mut b, filter);
    b.push(0x01);
    packet(0x82, &b)
}

/// DISCONNECT, normal.
pub(crate) fn disconnect() -> Vec<u8> {
    vec![0xE0, 0x00]
}

/// A checked reader over one packet's body.
pub(crate) struct Body<'a> {
    data: &'a [u8],
}

impl<'a> Body<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Body<'a> {
        Body { data }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], MqttError> {
        if self.data.len() < n {
            return Err(MqttError::protocol("packet shorter than its fields"));
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, MqttError> {
        Ok(self.bytes(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, MqttError> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn varint(&mut self) -> Result<usize, MqttError> {
        let mut n = 0usize;
        for i in 0..4 {
            let b = self.u8()?;
            n |= ((b & 0x7F) as usize) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(MqttError::protocol("variable-length integer longer than 4 bytes"))
    }

    pub(crate) fn string(&mut self) -> Result<&'a str, MqttError> {
        let n = self.u16()? as usize;
        std::str::from_utf8(self.bytes(n)?).map_err(|_| MqttError::protocol("string is not UTF-8"))
    }

    /// Skips a properties block.
    pub(crate) fn skip_properties(&mut self) -> Result<(), MqttError> {
        let n = self.varint()?;
        self.bytes(n).map(|_| ())
    }

    pub(crate) fn rest(self) -> &'a [u8] {
        self.data
    }
}

/// Decodes a remaining-length prefix from the start of `buf`: `Ok(None)` when more
/// bytes are needed, else (length, bytes used).
pub(crate) fn remaining_length(buf: &[u8]) -> Result<Option<(usize, usize)>, MqttError> {
    let mut n = 0usize;
    for i in 0..4 {
        let Some(&b) = buf.get(i) else { return Ok(None) };
        n |= ((b & 0x7F) as usize) << (7 * i);
        if b & 0x80 == 0 {
            if n > MAX_PACKET {
                return Err(MqttError::protocol(format!(
                    "broker packet of {n} bytes is over the {MAX_PACKET}-byte limit"
                )));
            }
            return Ok(Some((n, i + 1)));
        }
    }
    Err(MqttError::protocol("remaining length longer than 4 bytes"))
}

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
        0x8C => "bad authentication method",
        0x8E => "session taken over",
        0x90 => "topic name invalid",
        0x97 => "quota exceeded",
        _ => "refused",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_the_spec_examples() {
        for (n, bytes) in [
            (0usize, vec![0x00]),
            (127, vec![0x7F]),
            (128, vec![0x80, 0x01]),
            (16_383, vec![0xFF, 0x7F]),
            (16_384, vec![0x80, 0x80, 0x01]),
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, n);
            assert_eq!(out, bytes);
            assert_eq!(Body::new(&bytes).varint().unwrap(), n);
        }
    }

    #[test]
    fn connect_is_mqtt5_clean_start() {
        let p = connect("A1", 30);
        assert_eq!(p, [0x10, 15, 0, 4, b'M', b'Q', b'T', b'T', 5, 0x02, 0, 30, 0, 0, 2, b'A', b'1']);
    }

    #[test]
    fn refuses_oversized_and_overlong_lengths() {
        assert!(remaining_length(&[0xFF, 0xFF, 0xFF, 0x7F]).is_err());
        assert!(remaining_length(&[0x80, 0x80, 0x80, 0x80, 0x01]).is_err());
        assert_eq!(remaining_length(&[0x80]).unwrap(), None);
        assert_eq!(remaining_length(&[0x05]).unwrap(), Some((5, 1)));
    }

    #[test]
    fn short_bodies_are_errors_not_panics() {
        let mut b = Body::new(&[0x00, 0x05, b'a']);
        assert!(b.string().is_err());
        assert!(Body::new(&[]).u16().is_err());
    }
}
