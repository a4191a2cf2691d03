//! The deterministic CBOR subset of the wire format (docs/decisions/0113): unsigned integers,
//! byte strings and arrays, definite lengths, shortest-form heads (RFC 8949 §4.2.1). The reader
//! rejects everything else, so every accepted message has exactly one encoding.

use crate::error::Error;
use crate::limits::{MAX_MESSAGE_LEN, VERSION};

const MAJOR_UINT: u8 = 0;
const MAJOR_BYTES: u8 = 2;
const MAJOR_ARRAY: u8 = 4;

/// Appends deterministic CBOR.
#[derive(Default)]
pub(crate) struct Writer {
    out: Vec<u8>,
}

impl Writer {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    fn head(&mut self, major: u8, n: u64) {
        let m = major << 5;
        if n < 24 {
            self.out.push(m | n as u8);
        } else if let Ok(b) = u8::try_from(n) {
            self.out.extend_from_slice(&[m | 24, b]);
        } else if let Ok(b) = u16::try_from(n) {
            self.out.push(m | 25);
            self.out.extend_from_slice(&b.to_be_bytes());
        } else if let Ok(b) = u32::try_from(n) {
            self.out.push(m | 26);
            self.out.extend_from_slice(&b.to_be_bytes());
        } else {
            self.out.push(m | 27);
            self.out.extend_from_slice(&n.to_be_bytes());
        }
    }

    pub(crate) fn uint(&mut self, n: u64) -> &mut Self {
        self.head(MAJOR_UINT, n);
        self
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.head(MAJOR_BYTES, b.len() as u64);
        self.out.extend_from_slice(b);
        self
    }

    pub(crate) fn array(&mut self, len: usize) -> &mut Self {
        self.head(MAJOR_ARRAY, len as u64);
        self
    }

    /// `[VERSION, ...`: opens a top-level structure of `len` elements, the version included.
    pub(crate) fn versioned(&mut self, len: usize) -> &mut Self {
        self.array(len).uint(u64::from(VERSION))
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.out
    }
}

/// Reads the deterministic subset strictly; `what` names the structure in errors.
pub(crate) struct Reader<'b> {
    input: &'b [u8],
    pos: usize,
    what: &'static str,
}

impl<'b> Reader<'b> {
    /// A reader over a whole message, after checking [`MAX_MESSAGE_LEN`].
    pub(crate) fn message(input: &'b [u8], what: &'static str) -> Result<Self, Error> {
        if input.len() > MAX_MESSAGE_LEN {
            return Err(Error::TooLarge {
                what,
                max: MAX_MESSAGE_LEN,
            });
        }
        Ok(Self::new(input, what))
    }

    /// A reader without the message length check (store snapshots).
    pub(crate) fn new(input: &'b [u8], what: &'static str) -> Self {
        Self {
            input,
            pos: 0,
            what,
        }
    }

    fn malformed(&self, reason: &'static str) -> Error {
        Error::Malformed {
            what: self.what,
            reason,
        }
    }

    fn take(&mut self, n: usize) -> Result<&'b [u8], Error> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.input.len())
            .ok_or(Error::Truncated { what: self.what })?;
        let s = &self.input[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn head(&mut self, expected_major: u8) -> Result<u64, Error> {
        let first = *self
            .take(1)?
            .first()
            .ok_or(Error::Truncated { what: self.what })?;
        if first >> 5 != expected_major {
            return Err(self.malformed(match expected_major {
                MAJOR_UINT => "expected an unsigned integer",
                MAJOR_BYTES => "expected a byte string",
                _ => "expected an array",
            }));
        }
        let info = first & 0x1f;
        let (n, min) = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => (1, 24),
            25 => (2, 0x100),
            26 => (4, 0x1_0000),
            27 => (8, 0x1_0000_0000),
            31 => return Err(self.malformed("indefinite length")),
            _ => return Err(self.malformed("reserved additional information")),
        };
        let v = self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        if v < min {
            return Err(Error::NonCanonical { what: self.what });
        }
        Ok(v)
    }

    pub(crate) fn uint(&mut self) -> Result<u64, Error> {
        self.head(MAJOR_UINT)
    }

    /// An array of exactly `len` elements.
    pub(crate) fn array(&mut self, len: usize) -> Result<(), Error> {
        if self.head(MAJOR_ARRAY)? != len as u64 {
            return Err(self.malformed("wrong number of array elements"));
        }
        Ok(())
    }

    /// An array of `min..=max` elements, whose number is returned. Nothing is allocated
    /// from the claimed count.
    pub(crate) fn array_within(
        &mut self,
        min: usize,
        max: usize,
        items: &'static str,
    ) -> Result<usize, Error> {
        let n = self.head(MAJOR_ARRAY)?;
        if n > max as u64 {
            return Err(Error::TooMany { what: items, max });
        }
        if n < min as u64 {
            return Err(Error::Empty { what: items });
        }
        Ok(n as usize)
    }

    /// `[VERSION, ...`: a top-level structure of `len` elements, the version included.
    pub(crate) fn versioned(&mut self, len: usize) -> Result<(), Error> {
        self.array(len)?;
        let v = self.uint()?;
        if v != u64::from(VERSION) {
            return Err(Error::UnsupportedVersion {
                what: self.what,
                version: v,
            });
        }
        Ok(())
    }

    /// A byte string of `min..=max` bytes.
    pub(crate) fn bytes_within(
        &mut self,
        min: usize,
        max: usize,
        field: &'static str,
    ) -> Result<&'b [u8], Error> {
        let n = self.head(MAJOR_BYTES)?;
        if n > max as u64 {
            return Err(Error::TooLarge { what: field, max });
        }
        if n < min as u64 {
            return Err(Error::Malformed {
                what: field,
                reason: "too short",
            });
        }
        self.take(n as usize)
    }

    /// A byte string of exactly `N` bytes.
    pub(crate) fn bytes_exact<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], Error> {
        let n = self.head(MAJOR_BYTES)?;
        if n != N as u64 {
            return Err(Error::Malformed {
                what: field,
                reason: "wrong length",
            });
        }
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// Whether the input is used up.
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.input.len()
    }

    /// Require the input to be used up.
    pub(crate) fn finish(self) -> Result<(), Error> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::TrailingBytes { what: self.what })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_shortest() {
        for n in [
            0u64,
            23,
            24,
            255,
            256,
            65535,
            65536,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut w = Writer::new();
            w.uint(n);
            let b = w.into_bytes();
            let mut r = Reader::new(&b, "t");
            assert_eq!(r.uint().unwrap(), n);
            r.finish().unwrap();
        }
        // 5 written with a one-byte argument.
        let mut r = Reader::new(&[0x18, 5], "t");
        assert_eq!(r.uint(), Err(Error::NonCanonical { what: "t" }));
        let mut r = Reader::new(&[0x19, 0, 200], "t");
        assert_eq!(r.uint(), Err(Error::NonCanonical { what: "t" }));
    }

    #[test]
    fn rejects_indefinite_reserved_and_truncated() {
        assert!(matches!(
            Reader::new(&[0x9f], "t").array(1),
            Err(Error::Malformed { .. })
        ));
        assert!(matches!(
            Reader::new(&[0x1c], "t").uint(),
            Err(Error::Malformed { .. })
        ));
        assert_eq!(
            Reader::new(&[0x43, 1, 2], "t").bytes_within(0, 9, "f"),
            Err(Error::Truncated { what: "t" })
        );
        assert_eq!(
            Reader::new(&[0x1b, 0xff], "t").uint(),
            Err(Error::Truncated { what: "t" })
        );
        // A huge claimed length fails without allocating.
        assert_eq!(
            Reader::new(&[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], "t").bytes_within(
                0,
                usize::MAX,
                "f"
            ),
            Err(Error::Truncated { what: "t" })
        );
    }
}
