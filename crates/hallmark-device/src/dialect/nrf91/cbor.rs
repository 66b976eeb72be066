//! The little CBOR (RFC 8949) a modem's key attestation uses: unsigned and negative
//! integers, byte strings, arrays, maps and tags, definite lengths only.
//!
//! Hand-written rather than a general CBOR crate because the attestation is five
//! item kinds deep and comes from an untrusted modem: this reader refuses everything
//! else (indefinite lengths, floats, text where bytes belong), bounds every length
//! by the input it has, and never allocates more than the input.

/// Why the bytes are not the CBOR expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("CBOR at byte {at}: {what}")]
pub struct CborError {
    /// Offset of the offending item.
    pub at: usize,
    /// What was wrong.
    pub what: &'static str,
}

/// One item's head: major type and argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Head {
    major: u8,
    value: u64,
}

/// A reader over a CBOR byte string.
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// Reads `bytes` from the start.
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    fn fail<T>(&self, what: &'static str) -> Result<T, CborError> {
        Err(CborError { at: self.at, what })
    }

    /// Everything was read.
    pub fn finish(&self) -> Result<(), CborError> {
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            self.fail("trailing bytes")
        }
    }

    fn byte(&mut self) -> Result<u8, CborError> {
        let b = *self.bytes.get(self.at).ok_or(CborError { at: self.at, what: "truncated" })?;
        self.at += 1;
        Ok(b)
    }

    fn peek_major(&self) -> Option<u8> {
        self.bytes.get(self.at).map(|b| b >> 5)
    }

    fn head(&mut self) -> Result<Head, CborError> {
        let initial = self.byte()?;
        let (major, info) = (initial >> 5, initial & 0x1F);
        let value = match info {
            0..=23 => info as u64,
            24 => self.byte()? as u64,
            25..=27 => {
                let n = 1usize << (info - 24);
                let mut v = 0u64;
                for _ in 0..n {
                    v = (v << 8) | self.byte()? as u64;
                }
                v
            }
            _ => return self.fail("indefinite or reserved length"),
        };
        Ok(Head { major, value })
    }

    /// An unsigned integer.
    pub fn uint(&mut self) -> Result<u64, CborError> {
        match self.head()? {
            Head { major: 0, value } => Ok(value),
            _ => self.fail("expected an unsigned integer"),
        }
    }

    /// An integer, signed.
    pub fn int(&mut self) -> Result<i128, CborError> {
        match self.head()? {
            Head { major: 0, value } => Ok(value as i128),
            Head { major: 1, value } => Ok(-1 - value as i128),
            _ => self.fail("expected an integer"),
        }
    }

    /// A byte string.
    pub fn bytes(&mut self) -> Result<&'a [u8], CborError> {
        let head = self.head()?;
        if head.major != 2 {
            return self.fail("expected a byte string");
        }
        let len = usize::try_from(head.value).unwrap_or(usize::MAX);
        let end = self.at.checked_add(len).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else { return self.fail("byte string longer than the input") };
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    /// An array header: its length.
    pub fn array(&mut self) -> Result<u64, CborError> {
        match self.head()? {
            Head { major: 4, value } => Ok(value),
            _ => self.fail("expected an array"),
        }
    }

    /// A map of integer keys to integers or byte strings (COSE headers), as pairs.
    pub fn int_map(&mut self) -> Result<Vec<(i128, MapValue<'a>)>, CborError> {
        let Head { major: 5, value } = self.head()? else { return self.fail("expected a map") };
        if value > 16 {
            return self.fail("map with more than 16 entries");
        }
        let mut out = Vec::new();
        for _ in 0..value {
            let key = self.int()?;
            let value = match self.peek_major() {
                Some(0 | 1) => MapValue::Int(self.int()?),
                Some(2) => MapValue::Bytes(self.bytes()?),
                _ => return self.fail("map value that is neither an integer nor bytes"),
            };
            out.push((key, value));
        }
        Ok(out)
    }

    /// An optional tag: `Some(tag)` if the next item is tagged (the tag is consumed).
    pub fn tag(&mut self) -> Result<Option<u64>, CborError> {
        if self.peek_major() != Some(6) {
            return Ok(None);
        }
        Ok(Some(self.head()?.value))
    }
}

/// A value in a COSE header map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapValue<'a> {
    /// An integer.
    Int(i128),
    /// A byte string.
    Bytes(&'a [u8]),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_items_an_attestation_uses() {
        // 55799([9, h'0102', -7, {1: -7, 4: h'21'}])
        let bytes = [0xD9, 0xD9, 0xF7, 0x84, 0x09, 0x42, 0x01, 0x02, 0x26, 0xA2, 0x01, 0x26, 0x04, 0x41, 0x21];
        let mut r = Reader::new(&bytes);
        assert_eq!(r.tag().unwrap(), Some(55799));
        assert_eq!(r.array().unwrap(), 4);
        assert_eq!(r.uint().unwrap(), 9);
        assert_eq!(r.bytes().unwrap(), &[1, 2]);
        assert_eq!(r.int().unwrap(), -7);
        assert_eq!(r.int_map().unwrap(), vec![(1, MapValue::Int(-7)), (4, MapValue::Bytes(&[0x21]))]);
        r.finish().unwrap();
    }

    #[test]
    fn lies_about_lengths_and_unsupported_items_are_refused() {
        // A byte string claiming 4 GiB.
        assert!(Reader::new(&[0x5A, 0xFF, 0xFF, 0xFF, 0xFF, 0x00]).bytes().is_err());
        // Indefinite-length bytes.
        assert!(Reader::new(&[0x5F, 0x41, 0x00, 0xFF]).bytes().is_err());
        // Truncated head.
        assert!(Reader::new(&[0x19, 0x01]).uint().is_err());
        // Text where bytes belong.
        assert!(Reader::new(&[0x61, 0x41]).bytes().is_err());
        // Trailing bytes.
        let mut r = Reader::new(&[0x01, 0x02]);
        r.uint().unwrap();
        assert!(r.finish().is_err());
    }
}
