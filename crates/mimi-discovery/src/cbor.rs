//! The deterministic CBOR subset this crate uses (RFC 8949 §4.2.1 core deterministic
//! encoding; docs/decisions/0102), on the shared strict codec [`mimi_cbor`]
//! (docs/decisions/0140).
//!
//! This adaptor adds the format's own rules: floats are rejected before their argument is
//! read, `undefined`, simple values other than false/true/null and tags are rejected
//! everywhere except where a caller reads a tag explicitly (the COSE_Sign1 tag), map keys are
//! integers where the format says so, and unknown values ([`Reader::skip_value`]) are walked
//! with bounded recursion. Errors map onto [`Malformed`], which carries no offsets.

pub(crate) use mimi_cbor::{Writer, major};

use mimi_cbor::Error as CborError;

use crate::error::Malformed;

type R<T> = Result<T, Malformed>;

impl From<CborError> for Malformed {
    fn from(e: CborError) -> Self {
        match e {
            CborError::Truncated { .. } => Malformed::Truncated,
            CborError::TrailingBytes { .. } => Malformed::TrailingBytes,
            CborError::IndefiniteLength { .. } => Malformed::IndefiniteLength,
            CborError::NonShortest { .. } => Malformed::NonShortest,
            CborError::ReservedInfo { .. } | CborError::UnexpectedBreak { .. } => {
                Malformed::Reserved
            }
            CborError::InvalidSimple { .. }
            | CborError::NonShortestFloat { .. }
            | CborError::DisallowedNaN { .. } => Malformed::UnsupportedValue,
            CborError::WrongType { what, found, .. } => {
                if found.major == major::TAG || (found.major == major::SIMPLE && found.arg > 22) {
                    Malformed::UnsupportedValue
                } else {
                    Malformed::UnexpectedType { expected: what }
                }
            }
            CborError::OutOfRange { what, .. } => Malformed::OutOfRange(what),
            CborError::BadLength { what, .. } => Malformed::BadLength { what },
            CborError::TooMany { what, max, .. } => Malformed::TooMany { what, limit: max },
            CborError::InvalidUtf8 { .. } => Malformed::InvalidUtf8,
            CborError::UnsortedKeys { .. } | CborError::DuplicateKey { .. } => {
                Malformed::MapKeyOrder
            }
        }
    }
}

/// Maps an error where only one type will do onto `wrong` for any other item. Two-byte simple
/// values 24..=31 count as such an item: this format takes them for (unsupported) simple
/// values, not for malformed heads.
fn or_wrong_type(wrong: Malformed) -> impl FnOnce(CborError) -> Malformed {
    move |e| match e {
        CborError::WrongType { .. } | CborError::InvalidSimple { value: 24.., .. } => wrong,
        other => other.into(),
    }
}

/// A cursor over untrusted input that only accepts this crate's deterministic subset.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a>(mimi_cbor::Reader<'a>);

impl<'a> Reader<'a> {
    /// Start reading at the beginning of `input`.
    pub fn new(input: &'a [u8]) -> Self {
        Reader(mimi_cbor::Reader::new(input))
    }

    /// Fail unless the whole input has been consumed.
    pub fn finish(&self) -> R<()> {
        Ok(self.0.finish()?)
    }

    /// The major type of the next item, without consuming it.
    pub fn peek_major(&self) -> R<u8> {
        Ok(self.0.peek_major()?)
    }

    /// The shared reader, positioned at an item that is not a float: floats are not part of
    /// this format, whatever their encoding.
    fn next(&mut self) -> R<&mut mimi_cbor::Reader<'a>> {
        if matches!(self.0.peek(), Some(0xf9..=0xfb)) {
            return Err(Malformed::UnsupportedValue);
        }
        Ok(&mut self.0)
    }

    /// An unsigned integer.
    pub fn uint(&mut self, expected: &'static str) -> R<u64> {
        Ok(self.next()?.uint(expected, u64::MAX)?)
    }

    /// A signed integer that fits an `i64`.
    pub fn int(&mut self, expected: &'static str) -> R<i64> {
        self.next()?
            .int(expected)
            .map_err(or_wrong_type(Malformed::UnexpectedType { expected }))
    }

    /// A byte string of `min..=max` bytes.
    pub fn bytes(&mut self, min: usize, max: usize, what: &'static str) -> R<&'a [u8]> {
        Ok(self.next()?.bytes(what, min..=max)?)
    }

    /// A UTF-8 text string of `min..=max` bytes.
    pub fn text(&mut self, min: usize, max: usize, what: &'static str) -> R<&'a str> {
        Ok(self.next()?.text(what, min..=max)?)
    }

    /// An array header of at most `max` elements; returns the count.
    pub fn array(&mut self, max: usize, what: &'static str) -> R<usize> {
        Ok(self.next()?.array(what, max)?)
    }

    /// A map header of at most `max` entries; returns the count.
    pub fn map(&mut self, max: usize, what: &'static str) -> R<usize> {
        Ok(self.next()?.map(what, max)?)
    }

    /// A tag number.
    pub fn tag(&mut self) -> R<u64> {
        self.next()?
            .tag("tag")
            .map_err(or_wrong_type(Malformed::Tag))
    }

    /// Read a map key that must be an integer, checking that its encoding sorts strictly after
    /// the previous key's (canonical order, no duplicates). Returns the key as (major, arg).
    pub fn int_key(&mut self, prev: &mut Option<&'a [u8]>) -> R<(u8, u64)> {
        let start = self.0.position();
        let wrong = Malformed::UnexpectedType {
            expected: "integer map key",
        };
        let h = self.next()?.head().map_err(or_wrong_type(wrong))?;
        if h.major != major::UINT && h.major != major::NINT {
            return Err(wrong);
        }
        self.0.key_order(start, prev)?;
        Ok((h.major, h.arg))
    }

    /// Walk one complete data item of the generic subset (integers, byte and text strings,
    /// arrays, maps with canonically ordered keys, false/true/null), at most `depth` levels of
    /// arrays and maps deep. Returns the item's encoded bytes.
    pub fn skip_value(&mut self, depth: usize) -> R<&'a [u8]> {
        let start = self.0.position();
        self.walk(depth)?;
        Ok(self.0.since(start))
    }

    fn walk(&mut self, depth: usize) -> R<()> {
        let h = self.next()?.head()?;
        match h.major {
            major::UINT | major::NINT => {}
            major::BYTES => {
                self.0.body(&h)?;
            }
            major::TEXT => {
                self.0.text_body(&h)?;
            }
            major::ARRAY | major::MAP => {
                let depth = depth.checked_sub(1).ok_or(Malformed::TooDeep)?;
                // Each element takes at least one byte: a count larger than the rest of the
                // input is truncated, whatever it claims.
                self.0.check_room(h.arg, 1, h.offset)?;
                if h.major == major::ARRAY {
                    for _ in 0..h.arg {
                        self.walk(depth)?;
                    }
                } else {
                    let mut prev = None;
                    for _ in 0..h.arg {
                        let start = self.0.position();
                        self.walk(depth)?;
                        self.0.key_order(start, &mut prev)?;
                        self.walk(depth)?;
                    }
                }
            }
            major::SIMPLE if matches!(h.arg, 20..=22) => {}
            _ => return Err(Malformed::UnsupportedValue),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_shortest_and_indefinite() {
        assert_eq!(
            Reader::new(&[0x18, 0x05]).uint("x"),
            Err(Malformed::NonShortest)
        );
        assert_eq!(
            Reader::new(&[0x19, 0x00, 0xff]).uint("x"),
            Err(Malformed::NonShortest)
        );
        assert_eq!(
            Reader::new(&[0x9f, 0xff]).array(4, "x"),
            Err(Malformed::IndefiniteLength)
        );
        assert_eq!(Reader::new(&[0x1c]).uint("x"), Err(Malformed::Reserved));
        assert_eq!(
            Reader::new(&[0xf9, 0, 0]).skip_value(4),
            Err(Malformed::UnsupportedValue)
        );
        assert_eq!(
            Reader::new(&[0xa2, 0x02, 0x00, 0x01, 0x00]).skip_value(4),
            Err(Malformed::MapKeyOrder)
        );
        assert_eq!(
            Reader::new(&[0x81, 0x81, 0x81, 0x00]).skip_value(2),
            Err(Malformed::TooDeep)
        );
        assert_eq!(
            Reader::new(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).skip_value(4),
            Err(Malformed::Truncated)
        );
    }
}
