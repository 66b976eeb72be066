//! Hallmark wire protocol, version 1.
//!
//! One crate serves both ends of the provisioning link: the station (std) and the
//! device agent (`no_std` + `alloc`). The normative description is `docs/protocol.md`;
//! the constants here are the numbers it refers to.
//!
//! Layers, bottom up:
//! - [`cobs`]: byte stuffing so that `0x00` delimits frames on a byte stream.
//! - [`frame`]: a frame = header (version, request id) + body + CRC-32C, bounded in size.
//! - [`message`]: typed requests and responses carried in a frame body (postcard).
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod cobs;
pub mod der;
pub mod frame;
pub mod message;

pub use frame::{Frame, FrameDecoder, FrameError};
pub use message::*;

/// The protocol version this crate implements.
pub const PROTOCOL_VERSION: u8 = 1;
/// Oldest protocol version this crate can still speak.
pub const MIN_PROTOCOL_VERSION: u8 = 1;

/// Largest decoded frame (header + body + CRC) either side may send, in bytes.
pub const MAX_FRAME: usize = 1024;
/// Largest encoded frame on the wire, delimiter excluded: COBS adds at most one byte
/// per 254 bytes plus one.
pub const MAX_ENCODED_FRAME: usize = MAX_FRAME + MAX_FRAME / 254 + 1;
/// Largest data payload in one object chunk (`WriteObject` / `Chunk`, `TlsData`) on a
/// link that has not agreed on larger frames.
pub const MAX_CHUNK: usize = 512;
/// Bytes of a frame that are not chunk data (header, CRC, the message's other fields),
/// at most: on a link with larger frames a chunk holds `max_frame - CHUNK_OVERHEAD`.
pub const CHUNK_OVERHEAD: usize = 64;
/// Largest frame a link may agree on with `DescribeLink` (capability
/// [`capability::LINK_TUNING`]): a whole [`MAX_OBJECT`] fits in one chunk.
pub const MAX_LINK_FRAME: usize = MAX_OBJECT + CHUNK_OVERHEAD;
/// Most requests a station sends before it reads their answers (a burst), whatever
/// window the device reports.
pub const MAX_WINDOW: u8 = 8;
/// Requests of at most [`MAX_FRAME`] bytes a device offering
/// [`capability::LINK_TUNING`] takes in one burst before `DescribeLink` said more.
pub const MIN_LINK_WINDOW: u8 = 4;
/// Largest object (CSR, certificate, chain, trust anchor) a device must be able to store.
pub const MAX_OBJECT: usize = 8192;
/// Largest COBS-encoded frame, delimiter excluded, for frames of at most `max_frame`
/// decoded bytes.
pub const fn encoded_limit(max_frame: usize) -> usize {
    max_frame + max_frame / 254 + 1
}

/// Largest chunk data in a frame of at most `max_frame` bytes: [`MAX_CHUNK`] on a
/// link at the protocol's base size, `max_frame - CHUNK_OVERHEAD` above it.
pub const fn chunk_limit(max_frame: usize) -> usize {
    if max_frame <= MAX_FRAME {
        MAX_CHUNK
    } else {
        max_frame - CHUNK_OVERHEAD
    }
}

/// Longest text field (model, firmware version, error detail) in bytes of UTF-8.
pub const MAX_TEXT: usize = 64;
/// Longest MQTT topic in a `BrokerTest` request, in bytes.
pub const MAX_TOPIC: usize = 128;
/// Longest hardware id in bytes.
pub const MAX_HARDWARE_ID: usize = 32;
/// Length of the self-test nonce.
pub const NONCE_LEN: usize = 32;
/// The name in the station's TLS server certificate for the link self-test; the
/// device's TLS client checks it.
pub const TLS_SERVER_NAME: &str = "hallmark-station";
/// Domain-separation prefix the device signs in front of the self-test nonce, so a
/// self-test signature can never be replayed as anything else.
pub const SELFTEST_CONTEXT: &[u8] = b"HALLMARK-SELFTEST-v1\0";
