//! Consistent Overhead Byte Stuffing (Cheshire & Baker, 1999).
//!
//! Encoded data contains no `0x00`, so a single `0x00` byte ends each frame on the
//! wire and a receiver can resynchronise after noise by waiting for the next one.

use alloc::vec::Vec;

/// Encodes `data`; the result never contains `0x00` and has no trailing delimiter.
pub fn encode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 254 + 2);
    let mut code_index = 0;
    out.push(0); // placeholder for the first code byte
    let mut code: u8 = 1;
    for &byte in data {
        if byte == 0 {
            out[code_index] = code;
            code_index = out.len();
            out.push(0);
            code = 1;
        } else {
            out.push(byte);
            code += 1;
            if code == 0xFF {
                out[code_index] = code;
                code_index = out.len();
                out.push(0);
                code = 1;
            }
        }
    }
    out[code_index] = code;
    out
}

/// Decodes one COBS block (without its delimiter). Returns `None` when the input is
/// not valid COBS (a zero byte inside, or a code byte pointing past the end).
pub fn decode(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        let code = data[i];
        if code == 0 {
            return None;
        }
        let end = i + code as usize;
        if end > data.len() {
            return None;
        }
        for &b in &data[i + 1..end] {
            if b == 0 {
                return None;
            }
            out.push(b);
        }
        i = end;
        if code != 0xFF && i < data.len() {
            out.push(0);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn round_trip(data: &[u8]) {
        let enc = encode(data);
        assert!(!enc.contains(&0), "encoded data must not contain zero");
        assert_eq!(decode(&enc).as_deref(), Some(data));
    }

    #[test]
    fn known_vectors() {
        assert_eq!(encode(&[]), vec![1]);
        assert_eq!(encode(&[0]), vec![1, 1]);
        assert_eq!(encode(&[0, 0]), vec![1, 1, 1]);
        assert_eq!(encode(&[0x11, 0x22, 0x00, 0x33]), vec![3, 0x11, 0x22, 2, 0x33]);
        assert_eq!(encode(&[0x11, 0x00, 0x00, 0x00]), vec![2, 0x11, 1, 1, 1]);
    }

    #[test]
    fn round_trips_all_lengths_around_block_boundaries() {
        for len in [0usize, 1, 253, 254, 255, 256, 508, 509, 1024] {
            let nonzero: Vec<u8> = (0..len).map(|i| (i % 255 + 1) as u8).collect();
            round_trip(&nonzero);
            let mixed: Vec<u8> = (0..len).map(|i| (i % 7) as u8).collect();
            round_trip(&mixed);
        }
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(decode(&[5, 1, 2]), None); // code points past the end
        assert_eq!(decode(&[2, 0]), None); // zero inside
    }
}
