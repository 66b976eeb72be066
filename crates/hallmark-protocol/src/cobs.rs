//! Consistent Overhead Byte Stuffing (Cheshire & Baker, 1999).
//!
//! Encoded data contains no `0x00`, so a single `0x00` byte ends each frame on the
//! wire and a receiver can resynchronise after noise by waiting for the next one.
//!
//! A thin layer over the `cobs` crate (the version postcard already brings in, so the
//! firmware holds one COBS implementation): it keeps this module's contract, `None`
//! for anything that is not one whole COBS block (a `0x00` inside included, where the
//! crate would stop and decode what came before it) and one code byte for no data.
//! A frame that ends right after a run of 254 non-zero bytes encodes as `FF` + the
//! 254 bytes, without a final empty block (`01`); the decoder takes it with or
//! without that `01` (docs/protocol.md S4).

use alloc::vec::Vec;

/// Encodes `data`; the result never contains `0x00` and has no trailing delimiter.
pub fn encode(data: &[u8]) -> Vec<u8> {
    if data.is_empty() {
        // One empty block; the crate writes nothing for no input.
        return alloc::vec![1];
    }
    cobs::encode_vec(data)
}

/// Decodes one COBS block (without its delimiter). Returns `None` when the input is
/// not valid COBS (a zero byte inside, or a code byte pointing past the end).
pub fn decode(data: &[u8]) -> Option<Vec<u8>> {
    if data.contains(&0) {
        // The crate would stop at the zero and decode what came before it.
        return None;
    }
    if data.is_empty() {
        return Some(Vec::new());
    }
    cobs::decode_vec(data).ok()
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
    fn a_frame_ending_after_a_254_byte_run_has_no_final_empty_block() {
        let data = vec![0x11u8; 254];
        let mut expected = vec![0xFF];
        expected.extend_from_slice(&data);
        assert_eq!(encode(&data), expected, "FF, the 254 bytes, and no final 01");
        // Both forms decode to the same 254 bytes.
        assert_eq!(decode(&expected).as_deref(), Some(data.as_slice()));
        let mut with_final_block = expected.clone();
        with_final_block.push(0x01);
        assert_eq!(decode(&with_final_block).as_deref(), Some(data.as_slice()));
        // The same twice over (508 bytes), and a zero right after the run.
        let twice = vec![0x22u8; 508];
        let mut with_final_block = encode(&twice);
        assert_eq!(with_final_block.len(), 510);
        with_final_block.push(0x01);
        assert_eq!(decode(&with_final_block).as_deref(), Some(twice.as_slice()));
        let mut then_zero = data.clone();
        then_zero.push(0);
        let encoded = encode(&then_zero);
        assert_eq!(encoded[255..], [0x01, 0x01]);
        assert_eq!(decode(&encoded).as_deref(), Some(then_zero.as_slice()));
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(decode(&[5, 1, 2]), None); // code points past the end
        assert_eq!(decode(&[2, 0]), None); // zero inside
        assert_eq!(decode(&[1, 0, 2, 5]), None); // a delimiter, then more
        assert_eq!(decode(&[0xFF, 1, 2]), None); // a full block cut short
        assert_eq!(decode(&[]).as_deref(), Some([].as_slice()));
    }
}
