//! Frames: `version | request id | body | CRC-32C`, COBS-encoded, `0x00`-terminated.
//!
//! The decoder never buffers more than its limit ([`crate::MAX_ENCODED_FRAME`] unless the link
//! agreed on larger frames): a peer that keeps sending without a delimiter gets one
//! [`FrameError::TooLarge`] and is then ignored until the next delimiter.

use crate::{cobs, encoded_limit, MAX_FRAME};
use alloc::vec::Vec;
use core::fmt;

/// CRC-32C (Castagnoli), as used by iSCSI; good burst-error detection on UART noise.
const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);
/// Version byte + 16-bit request id.
const HEADER_LEN: usize = 3;
const CRC_LEN: usize = 4;

/// One decoded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Protocol version the sender used for this frame.
    pub version: u8,
    /// Request id; a response carries the id of its request.
    pub request_id: u16,
    /// Postcard-encoded [`crate::Request`] or [`crate::Response`].
    pub body: Vec<u8>,
}

/// Why bytes on the wire did not make a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// More than the decoder's limit ([`crate::MAX_ENCODED_FRAME`] by default) arrived without a delimiter.
    TooLarge,
    /// The bytes were not valid COBS.
    BadEncoding,
    /// The frame is shorter than header + CRC.
    TooShort,
    /// The CRC did not match: the frame was corrupted on the line.
    BadCrc,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FrameError::TooLarge => "frame larger than the protocol maximum",
            FrameError::BadEncoding => "frame is not valid COBS",
            FrameError::TooShort => "frame shorter than its header",
            FrameError::BadCrc => "frame CRC mismatch",
        })
    }
}

impl Frame {
    /// Encodes the frame for the wire, delimiter included. Returns `None` if the frame
    /// would exceed [`MAX_FRAME`].
    pub fn encode(&self) -> Option<Vec<u8>> {
        self.encode_within(MAX_FRAME)
    }

    /// Encodes the frame for the wire, delimiter included, if it is at most
    /// `max_frame` bytes decoded (the size the link agreed on).
    pub fn encode_within(&self, max_frame: usize) -> Option<Vec<u8>> {
        let len = HEADER_LEN + self.body.len() + CRC_LEN;
        if len > max_frame {
            return None;
        }
        let mut raw = Vec::with_capacity(len);
        raw.push(self.version);
        raw.extend_from_slice(&self.request_id.to_le_bytes());
        raw.extend_from_slice(&self.body);
        let crc = CRC.checksum(&raw);
        raw.extend_from_slice(&crc.to_le_bytes());
        let mut wire = cobs::encode(&raw);
        wire.push(0);
        Some(wire)
    }

    /// Decodes one COBS block (delimiter already stripped).
    pub fn decode(encoded: &[u8]) -> Result<Frame, FrameError> {
        Frame::decode_within(encoded, MAX_FRAME)
    }

    /// Decodes one COBS block of a frame of at most `max_frame` decoded bytes.
    pub fn decode_within(encoded: &[u8], max_frame: usize) -> Result<Frame, FrameError> {
        if encoded.len() > encoded_limit(max_frame) {
            return Err(FrameError::TooLarge);
        }
        let raw = cobs::decode(encoded).ok_or(FrameError::BadEncoding)?;
        if raw.len() < HEADER_LEN + CRC_LEN {
            return Err(FrameError::TooShort);
        }
        if raw.len() > max_frame {
            return Err(FrameError::TooLarge);
        }
        let (payload, crc_bytes) = raw.split_at(raw.len() - CRC_LEN);
        let expected = u32::from_le_bytes([crc_bytes[0], crc_bytes[1], crc_bytes[2], crc_bytes[3]]);
        if CRC.checksum(payload) != expected {
            return Err(FrameError::BadCrc);
        }
        Ok(Frame {
            version: payload[0],
            request_id: u16::from_le_bytes([payload[1], payload[2]]),
            body: payload[HEADER_LEN..].to_vec(),
        })
    }
}

/// Splits a byte stream into frames, with a bounded buffer.
pub struct FrameDecoder {
    buf: Vec<u8>,
    overflowed: bool,
    /// Largest decoded frame accepted.
    max_frame: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::with_limit(MAX_FRAME)
    }
}

impl FrameDecoder {
    /// A decoder with an empty buffer, for frames of the protocol's base size.
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder for frames of at most `max_frame` decoded bytes.
    pub fn with_limit(max_frame: usize) -> Self {
        FrameDecoder { buf: Vec::new(), overflowed: false, max_frame }
    }

    /// Changes the largest frame accepted from the next frame on (the link agreed on
    /// another size).
    pub fn set_limit(&mut self, max_frame: usize) {
        self.max_frame = max_frame;
    }

    /// Feeds one byte. Returns a frame or an error when a delimiter completes one, or
    /// [`FrameError::TooLarge`] the moment the buffer limit is passed.
    pub fn push(&mut self, byte: u8) -> Option<Result<Frame, FrameError>> {
        if byte == 0 {
            let was_overflowed = core::mem::take(&mut self.overflowed);
            let block = core::mem::take(&mut self.buf);
            if was_overflowed || block.is_empty() {
                // Tail of an oversized frame (already reported) or an idle delimiter.
                return None;
            }
            return Some(Frame::decode_within(&block, self.max_frame));
        }
        if self.overflowed {
            return None;
        }
        if self.buf.len() >= encoded_limit(self.max_frame) {
            self.buf = Vec::new();
            self.overflowed = true;
            return Some(Err(FrameError::TooLarge));
        }
        self.buf.push(byte);
        None
    }

    /// Forgets any partial frame (e.g. after a link reset).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.overflowed = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MAX_ENCODED_FRAME;
    use alloc::vec;

    fn decode_all(bytes: &[u8]) -> Vec<Result<Frame, FrameError>> {
        let mut d = FrameDecoder::new();
        bytes.iter().filter_map(|&b| d.push(b)).collect()
    }

    #[test]
    fn round_trip_through_stream_with_noise_between_frames() {
        let a = Frame { version: 1, request_id: 7, body: vec![0, 1, 2, 0, 0] };
        let b = Frame { version: 1, request_id: 8, body: vec![] };
        let mut stream = vec![0, 0];
        stream.extend(a.encode().unwrap());
        stream.extend(b.encode().unwrap());
        let frames = decode_all(&stream);
        assert_eq!(frames, vec![Ok(a), Ok(b)]);
    }

    #[test]
    fn detects_any_single_bit_flip() {
        let f = Frame { version: 1, request_id: 0x1234, body: (0..40).collect() };
        let wire = f.encode().unwrap();
        for i in 0..wire.len() - 1 {
            for bit in 0..8 {
                let mut w = wire.clone();
                w[i] ^= 1 << bit;
                let got = decode_all(&w);
                assert!(got.iter().all(|r| r.as_ref() != Ok(&f)), "flip at byte {i} bit {bit} went unnoticed");
            }
        }
    }

    #[test]
    fn oversized_stream_reports_once_then_resynchronises() {
        let mut stream = vec![0x55u8; MAX_ENCODED_FRAME * 3];
        stream.push(0);
        let good = Frame { version: 1, request_id: 1, body: vec![9] };
        stream.extend(good.encode().unwrap());
        let got = decode_all(&stream);
        assert_eq!(got, vec![Err(FrameError::TooLarge), Ok(good)]);
    }

    #[test]
    fn a_larger_limit_takes_larger_frames_and_the_base_decoder_refuses_them() {
        let big = Frame { version: 1, request_id: 3, body: vec![7; 3000] };
        assert!(big.encode().is_none());
        let wire = big.encode_within(4096).unwrap();
        let mut base = FrameDecoder::new();
        assert_eq!(wire.iter().filter_map(|&b| base.push(b)).collect::<Vec<_>>(), vec![Err(FrameError::TooLarge)]);
        let mut larger = FrameDecoder::with_limit(4096);
        assert_eq!(wire.iter().filter_map(|&b| larger.push(b)).collect::<Vec<_>>(), vec![Ok(big.clone())]);
        larger.set_limit(MAX_FRAME);
        assert_eq!(wire.iter().filter_map(|&b| larger.push(b)).collect::<Vec<_>>(), vec![Err(FrameError::TooLarge)]);
        assert_eq!(Frame::decode_within(&wire[..wire.len() - 1], 2048), Err(FrameError::TooLarge));
    }

    #[test]
    fn refuses_to_encode_oversized_body() {
        let f = Frame { version: 1, request_id: 1, body: vec![1; MAX_FRAME] };
        assert!(f.encode().is_none());
    }

    #[test]
    fn largest_frame_fits_encoded_limit() {
        let f = Frame { version: 1, request_id: 1, body: vec![1; MAX_FRAME - 7] };
        let wire = f.encode().unwrap();
        assert!(wire.len() - 1 <= MAX_ENCODED_FRAME);
        assert_eq!(decode_all(&wire), vec![Ok(f)]);
    }
}
