//! The deterministic CBOR subset of the wire format (docs/decisions/0113): unsigned integers,
//! byte strings and arrays, definite lengths, shortest-form heads (RFC 8949 §4.2.1). The reader
//! rejects everything else, so every accepted message has exactly one encoding. Heads and
//! bounds are checked by the shared strict codec [`mimi_cbor`] (docs/decisions/0140); this
//! adaptor adds the version prefix and maps errors onto this crate's.

use mimi_cbor::{Error as CborError, major};

use crate::error::Error;
use crate::limits::{MAX_MESSAGE_LEN, VERSION};

/// Appends deterministic CBOR.
#[derive(Default)]
pub(crate) struct Writer(mimi_cbor::Writer);

impl Writer {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn uint(&mut self, n: u64) -> &mut Self {
        self.0.uint(n);
        self
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.bytes(b);
        self
    }

    pub(crate) fn array(&mut self, len: usize) -> &mut Self {
        self.0.array(len);
        self
    }

    /// `[VERSION, ...`: opens a top-level structure of `len` elements, the version included.
    pub(crate) fn versioned(&mut self, len: usize) -> &mut Self {
        self.array(len).uint(u64::from(VERSION))
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.0.into_bytes()
    }
}

/// Reads the deterministic subset strictly; `what` names the structure in errors.
///
/// Each read checks the major type before the argument (so an item of another type is
/// "expected ...", however its head is encoded), then hands the item to the shared strict
/// reader.
pub(crate) struct Reader<'b> {
    r: mimi_cbor::Reader<'b>,
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
            r: mimi_cbor::Reader::new(input),
            what,
        }
    }

    fn malformed(&self, reason: &'static str) -> Error {
        Error::Malformed {
            what: self.what,
            reason,
        }
    }

    fn error(&self, e: CborError) -> Error {
        let what = self.what;
        match e {
            CborError::Truncated { .. } => Error::Truncated { what },
            CborError::NonShortest { .. } => Error::NonCanonical { what },
            CborError::TrailingBytes { .. } => Error::TrailingBytes { what },
            CborError::TooMany { what, max, .. } => Error::TooMany { what, max },
            CborError::IndefiniteLength { .. } | CborError::ReservedInfo { info: 31, .. } => {
                self.malformed("indefinite length")
            }
            CborError::ReservedInfo { .. } => self.malformed("reserved additional information"),
            // Unsigned integers, byte strings and arrays have no other failures.
            _ => self.malformed("outside the deterministic subset"),
        }
    }

    /// The shared reader, after checking that the next item has major type `major`.
    fn next(&mut self, major: u8) -> Result<&mut mimi_cbor::Reader<'b>, Error> {
        let found = self.r.peek_major().map_err(|e| self.error(e))?;
        if found != major {
            return Err(self.malformed(match major {
                major::UINT => "expected an unsigned integer",
                major::BYTES => "expected a byte string",
                _ => "expected an array",
            }));
        }
        Ok(&mut self.r)
    }

    pub(crate) fn uint(&mut self) -> Result<u64, Error> {
        let what = self.what;
        let n = self.next(major::UINT)?.uint(what, u64::MAX);
        n.map_err(|e| self.error(e))
    }

    fn array_len(&mut self, max: usize, items: &'static str) -> Result<usize, Error> {
        let n = self.next(major::ARRAY)?.array(items, max);
        n.map_err(|e| self.error(e))
    }

    /// An array of exactly `len` elements.
    pub(crate) fn array(&mut self, len: usize) -> Result<(), Error> {
        let what = self.what;
        if self.array_len(usize::MAX, what)? != len {
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
        let n = self.array_len(max, items)?;
        if n < min {
            return Err(Error::Empty { what: items });
        }
        Ok(n)
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
        let b = self.next(major::BYTES)?.bytes(field, min..=max);
        b.map_err(|e| match e {
            CborError::BadLength { len, .. } if len > max as u64 => {
                Error::TooLarge { what: field, max }
            }
            CborError::BadLength { .. } => Error::Malformed {
                what: field,
                reason: "too short",
            },
            other => self.error(other),
        })
    }

    /// A byte string of exactly `N` bytes.
    pub(crate) fn bytes_exact<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], Error> {
        let wrong = Error::Malformed {
            what: field,
            reason: "wrong length",
        };
        let b = self.next(major::BYTES)?.bytes(field, N..=N);
        let b = b.map_err(|e| match e {
            CborError::BadLength { .. } => wrong.clone(),
            other => self.error(other),
        })?;
        b.try_into().map_err(|_| wrong)
    }

    /// Require the input to be used up.
    pub(crate) fn finish(self) -> Result<(), Error> {
        self.r.finish().map_err(|e| self.error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_shortest() {
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
