//! The few DER encodings Hallmark builds by hand: the device's PKCS#10 CSR (no_std,
//! no ASN.1 library on the device) and the station's AIA extension.

use alloc::vec::Vec;

/// SEQUENCE tag.
pub const SEQUENCE: u8 = 0x30;
/// SET tag.
pub const SET: u8 = 0x31;
/// INTEGER tag.
pub const INTEGER: u8 = 0x02;
/// BIT STRING tag.
pub const BIT_STRING: u8 = 0x03;
/// UTF8String tag.
pub const UTF8_STRING: u8 = 0x0C;
/// `[0]` constructed, context-specific tag.
pub const CONTEXT_0_CONSTRUCTED: u8 = 0xA0;

/// Tag-length-value with a definite DER length.
pub fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 4);
    out.push(tag);
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len <= 0xFF {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        // Objects are bounded far below 64 KiB.
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(value);
    out
}

/// A BIT STRING with no unused bits.
pub fn bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(bytes.len() + 1);
    v.push(0);
    v.extend_from_slice(bytes);
    tlv(BIT_STRING, &v)
}

/// The parts one after another.
pub fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}
