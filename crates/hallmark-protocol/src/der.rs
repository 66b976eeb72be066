//! The few DER encodings Hallmark builds by hand: the device's PKCS#10 CSR (no_std,
//! no ASN.1 library on the device) and the station's AIA extension; and the one thing
//! the device reads from DER: the public key in a certificate's
//! SubjectPublicKeyInfo ([`certificate_public_key`]), with a bounded reader. Why not
//! the `der`/`x509-cert` crates (they do not fit the firmware's flash) is measured in
//! `hallmark-agent`'s `csr` module.

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
/// `[3]` constructed, context-specific tag (a certificate's extensions).
pub const CONTEXT_3_CONSTRUCTED: u8 = 0xA3;

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

/// Reads one DER TLV from the front of `input`: its tag, its value and the bytes after
/// it. `None` when the input does not hold one whole TLV: a multi-byte tag, an
/// indefinite or non-minimal length, a length over two bytes (objects are bounded far
/// below 64 KiB), or a value running past the end.
pub fn read_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1F == 0x1F {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7F => (first as usize, rest),
        0x81 => {
            let (&len, rest) = rest.split_first()?;
            if len < 0x80 {
                return None;
            }
            (len as usize, rest)
        }
        0x82 => {
            let (len, rest) = (rest.get(..2)?, &rest[2..]);
            let len = (len[0] as usize) << 8 | len[1] as usize;
            if len < 0x100 {
                return None;
            }
            (len, rest)
        }
        _ => return None,
    };
    if len > rest.len() {
        return None;
    }
    let (value, after) = rest.split_at(len);
    Some((tag, value, after))
}

/// Reads a TLV that must have tag `tag`; returns its value and what follows.
fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    match read_tlv(input)? {
        (t, value, after) if t == tag => Some((value, after)),
        _ => None,
    }
}

/// The subjectPublicKey of an X.509 certificate (the contents of the BIT STRING in
/// `tbsCertificate.subjectPublicKeyInfo`: for an EC key the SEC1 point), or `None`
/// when `certificate` is not one whole DER certificate of that shape.
///
/// Walks `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
/// signatureValue }` and, in `tbsCertificate`, skips the optional `[0]` version,
/// serialNumber, signature, issuer, validity and subject, checking each one's tag,
/// then reads `SubjectPublicKeyInfo ::= SEQUENCE { algorithm, subjectPublicKey BIT
/// STRING }`. Nothing after it (unique ids, extensions) is looked at, so a key that
/// appears elsewhere (in an extension, say) is never taken for the subject's. A fixed
/// number of steps, no recursion, no allocation: safe on untrusted input.
pub fn certificate_public_key(certificate: &[u8]) -> Option<&[u8]> {
    let (cert, after) = expect(certificate, SEQUENCE)?;
    if !after.is_empty() {
        return None;
    }
    let (tbs, rest) = expect(cert, SEQUENCE)?;
    let (_signature_algorithm, rest) = expect(rest, SEQUENCE)?;
    let (_signature, rest) = expect(rest, BIT_STRING)?;
    if !rest.is_empty() {
        return None;
    }
    let mut fields = tbs;
    if let Some((CONTEXT_0_CONSTRUCTED, _version, after)) = read_tlv(fields) {
        fields = after;
    }
    let (_serial, mut fields) = expect(fields, INTEGER)?;
    // signature, issuer, validity, subject
    for _ in 0..4 {
        fields = expect(fields, SEQUENCE)?.1;
    }
    let (spki, _rest) = expect(fields, SEQUENCE)?;
    let (_algorithm, rest) = expect(spki, SEQUENCE)?;
    let (bits, rest) = expect(rest, BIT_STRING)?;
    if !rest.is_empty() {
        return None;
    }
    // A key is whole bytes: no unused bits.
    match bits.split_first() {
        Some((0, key)) if !key.is_empty() => Some(key),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POINT: [u8; 65] = {
        let mut p = [0x5A; 65];
        p[0] = 0x04;
        p
    };

    /// A certificate of the usual shape; `extension` goes into `[3]` if given.
    fn certificate(version: bool, key: &[u8], extension: Option<&[u8]>) -> Vec<u8> {
        let alg = tlv(SEQUENCE, &[0x06, 0x03, 0x2A, 0x03, 0x04]);
        let name = tlv(
            SEQUENCE,
            &tlv(SET, &tlv(SEQUENCE, &concat(&[&[0x06, 0x03, 0x55, 0x04, 0x03], &tlv(UTF8_STRING, b"x")]))),
        );
        let validity = tlv(SEQUENCE, &concat(&[&tlv(0x17, b"260101000000Z"), &tlv(0x17, b"360101000000Z")]));
        let spki = tlv(SEQUENCE, &concat(&[&alg, &bit_string(key)]));
        let mut tbs = Vec::new();
        if version {
            tbs.extend(tlv(CONTEXT_0_CONSTRUCTED, &tlv(INTEGER, &[2])));
        }
        tbs.extend(concat(&[&tlv(INTEGER, &[1, 2, 3]), &alg, &name, &validity, &name, &spki]));
        if let Some(ext) = extension {
            tbs.extend(tlv(CONTEXT_3_CONSTRUCTED, &tlv(SEQUENCE, &tlv(0x04, ext))));
        }
        tlv(SEQUENCE, &concat(&[&tlv(SEQUENCE, &tbs), &alg, &bit_string(&[9; 70])]))
    }

    #[test]
    fn reads_the_subject_public_key_with_and_without_version() {
        for version in [true, false] {
            let cert = certificate(version, &POINT, None);
            assert_eq!(certificate_public_key(&cert), Some(POINT.as_slice()));
        }
    }

    #[test]
    fn a_key_in_an_extension_is_not_the_subject_key() {
        let other = [0x04; 65];
        let cert = certificate(true, &other, Some(&POINT));
        assert_eq!(certificate_public_key(&cert), Some(other.as_slice()));
    }

    #[test]
    fn refuses_what_is_not_one_whole_certificate() {
        let cert = certificate(true, &POINT, Some(b"ext"));
        for len in 0..cert.len() {
            assert_eq!(certificate_public_key(&cert[..len]), None, "truncated to {len}");
        }
        let mut longer = cert.clone();
        longer.push(0);
        assert_eq!(certificate_public_key(&longer), None);
        assert_eq!(certificate_public_key(b"not for this key"), None);
        // A missing field: no serial number.
        let alg = tlv(SEQUENCE, &[0x06, 0x01, 0x2A]);
        let tbs =
            tlv(SEQUENCE, &concat(&[&alg, &alg, &alg, &alg, &tlv(SEQUENCE, &concat(&[&alg, &bit_string(&POINT)]))]));
        assert_eq!(certificate_public_key(&tlv(SEQUENCE, &concat(&[&tbs, &alg, &bit_string(&[1])]))), None);
    }

    #[test]
    fn lengths_must_be_definite_minimal_and_short() {
        assert_eq!(read_tlv(&[0x04, 0x01, 0xAA, 0xBB]), Some((0x04, [0xAA].as_slice(), [0xBB].as_slice())));
        assert_eq!(read_tlv(&[0x04, 0x80, 0x00, 0x00]), None, "indefinite");
        assert_eq!(read_tlv(&[0x04, 0x81, 0x01, 0xAA]), None, "non-minimal one byte");
        assert_eq!(read_tlv(&[0x04, 0x82, 0x00, 0x81]), None, "non-minimal two bytes");
        assert_eq!(read_tlv(&[0x04, 0x83, 0x00, 0x00, 0x01, 0xAA]), None, "three length bytes");
        assert_eq!(read_tlv(&[0x1F, 0x01, 0x00]), None, "multi-byte tag");
        assert_eq!(read_tlv(&[0x04, 0x02, 0xAA]), None, "value past the end");
        let long = tlv(0x04, &[7; 300]);
        assert_eq!(read_tlv(&long).map(|(_, v, _)| v.len()), Some(300));
        assert_eq!(tlv(0x04, &[7; 200])[..3], [0x04, 0x81, 200]);
    }
}
