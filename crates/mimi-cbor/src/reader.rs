//! The strict reader.

use core::cmp::Ordering;
use core::ops::{Bound, RangeBounds};

use crate::{Error, Head, float, major};

/// A cursor over untrusted input that only accepts deterministic encodings.
///
/// Every read checks the head first (well-formedness and shortest form), then the type, then
/// the bound, and only then slices the content, so a claimed length or count is rejected
/// before it is used. It never panics and never allocates.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

type R<T> = Result<T, Error>;

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `input`.
    pub fn new(input: &'a [u8]) -> Self {
        Reader { input, pos: 0 }
    }

    /// Current offset into the input.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.input.len().saturating_sub(self.pos)
    }

    /// The next byte, without consuming it.
    pub fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    /// The major type of the next item, without consuming it.
    pub fn peek_major(&self) -> R<u8> {
        self.peek()
            .map(|b| b >> 5)
            .ok_or(Error::Truncated { offset: self.pos })
    }

    /// The input from offset `start` (an earlier [`Reader::position`]) to the current one:
    /// the encoding of what was read in between.
    pub fn since(&self, start: usize) -> &'a [u8] {
        self.input.get(start..self.pos).unwrap_or_default()
    }

    /// Fails unless the whole input has been read.
    pub fn finish(&self) -> R<()> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(Error::TrailingBytes {
                offset: self.pos,
                count,
            }),
        }
    }

    /// Consumes `len` bytes of content belonging to the item at offset `item`.
    fn take(&mut self, len: u64, item: usize) -> R<&'a [u8]> {
        let out = usize::try_from(len)
            .ok()
            .and_then(|len| self.input.get(self.pos..self.pos.checked_add(len)?))
            .ok_or(Error::Truncated { offset: item })?;
        self.pos += out.len();
        Ok(out)
    }

    /// Reads one data-item head, rejecting everything RFC 8949 §4.2.1 forbids: arguments not
    /// in the shortest form, indefinite lengths, reserved additional information, stray
    /// breaks, two-byte simple values below 32, and floats that are not in the shortest form
    /// or are a NaN other than 0xf97e00.
    pub fn head(&mut self) -> R<Head> {
        let offset = self.pos;
        let initial = self.peek().ok_or(Error::Truncated { offset })?;
        self.pos += 1;
        let (major, info) = (initial >> 5, initial & 0x1f);
        let arg = match info {
            0..=23 => u64::from(info),
            24..=27 => {
                let bytes = self.take(1 << (info - 24), offset)?;
                let v = bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
                let shortest = match info {
                    24 => 24,
                    25 => 0x100,
                    26 => 0x1_0000,
                    _ => 0x1_0000_0000,
                };
                if major == major::SIMPLE {
                    if info == 24 && v < 32 {
                        return Err(Error::InvalidSimple {
                            value: v as u8,
                            offset,
                        });
                    }
                    float::check(info, v, offset)?;
                } else if v < shortest {
                    return Err(Error::NonShortest { offset });
                }
                v
            }
            28..=30 => return Err(Error::ReservedInfo { info, offset }),
            _ => {
                return Err(match major {
                    major::BYTES | major::TEXT | major::ARRAY | major::MAP => {
                        Error::IndefiniteLength { offset }
                    }
                    major::SIMPLE => Error::UnexpectedBreak { offset },
                    _ => Error::ReservedInfo { info, offset },
                });
            }
        };
        Ok(Head {
            initial,
            major,
            arg,
            offset,
        })
    }

    /// Reads a head of major type `major`; `expected` names that type in the error.
    fn expect(&mut self, what: &'static str, major: u8, expected: &'static str) -> R<Head> {
        let found = self.head()?;
        if found.major == major {
            Ok(found)
        } else {
            Err(Error::WrongType {
                what,
                expected,
                found,
            })
        }
    }

    /// Reads an unsigned integer no larger than `max`.
    pub fn uint(&mut self, what: &'static str, max: u64) -> R<u64> {
        let h = self.expect(what, major::UINT, "an unsigned integer")?;
        if h.arg > max {
            return Err(Error::OutOfRange {
                what,
                value: h.arg,
                max,
                offset: h.offset,
            });
        }
        Ok(h.arg)
    }

    /// Reads an unsigned or negative integer that fits an `i64`.
    pub fn int(&mut self, what: &'static str) -> R<i64> {
        let h = self.head()?;
        if h.major != major::UINT && h.major != major::NINT {
            return Err(Error::WrongType {
                what,
                expected: "an integer",
                found: h,
            });
        }
        let n = i64::try_from(h.arg).map_err(|_| Error::OutOfRange {
            what,
            value: h.arg,
            max: i64::MAX as u64,
            offset: h.offset,
        })?;
        Ok(if h.major == major::NINT { -1 - n } else { n })
    }

    /// Reads a byte string whose length is within `len`.
    pub fn bytes(&mut self, what: &'static str, len: impl RangeBounds<usize>) -> R<&'a [u8]> {
        let h = self.expect(what, major::BYTES, "a byte string")?;
        self.bounded_body(what, &h, &len)
    }

    /// Reads a UTF-8 text string whose length in bytes is within `len`.
    pub fn text(&mut self, what: &'static str, len: impl RangeBounds<usize>) -> R<&'a str> {
        let h = self.expect(what, major::TEXT, "a text string")?;
        let raw = self.bounded_body(what, &h, &len)?;
        utf8(raw, &h)
    }

    fn bounded_body(
        &mut self,
        what: &'static str,
        h: &Head,
        len: &impl RangeBounds<usize>,
    ) -> R<&'a [u8]> {
        if !usize::try_from(h.arg).is_ok_and(|n| len.contains(&n)) {
            let (min, max) = inclusive(len);
            return Err(Error::BadLength {
                what,
                len: h.arg,
                min,
                max,
                offset: h.offset,
            });
        }
        self.body(h)
    }

    /// Reads the content of the byte or text string whose head `h` was just read.
    pub fn body(&mut self, h: &Head) -> R<&'a [u8]> {
        self.take(h.arg, h.offset)
    }

    /// Reads the content of the text string whose head `h` was just read, checking UTF-8.
    pub fn text_body(&mut self, h: &Head) -> R<&'a str> {
        let raw = self.body(h)?;
        utf8(raw, h)
    }

    /// Reads an array head of at most `max` elements; returns the count.
    pub fn array(&mut self, what: &'static str, max: usize) -> R<usize> {
        let h = self.expect(what, major::ARRAY, "an array")?;
        count(what, &h, max)
    }

    /// Reads a map head of at most `max` pairs; returns the count.
    pub fn map(&mut self, what: &'static str, max: usize) -> R<usize> {
        let h = self.expect(what, major::MAP, "a map")?;
        count(what, &h, max)
    }

    /// Reads a tag head; returns the tag number.
    pub fn tag(&mut self, what: &'static str) -> R<u64> {
        Ok(self.expect(what, major::TAG, "a tag")?.arg)
    }

    /// Reads `false` or `true`.
    pub fn bool(&mut self, what: &'static str) -> R<bool> {
        let h = self.head()?;
        match h.initial {
            0xf4 => Ok(false),
            0xf5 => Ok(true),
            _ => Err(Error::WrongType {
                what,
                expected: "a boolean",
                found: h,
            }),
        }
    }

    /// Consumes a `null` if one is next; returns whether it did.
    pub fn null(&mut self) -> bool {
        let null = self.peek() == Some(0xf6);
        self.pos += usize::from(null);
        null
    }

    /// Fails with [`Error::Truncated`] for the item at `offset` unless `count` items of at
    /// least `item_len` bytes each fit in the rest of the input: an array or map that claims
    /// more cannot be complete, whatever it holds.
    pub fn check_room(&self, count: u64, item_len: u64, offset: usize) -> R<()> {
        if count
            .checked_mul(item_len)
            .is_none_or(|n| n > self.remaining() as u64)
        {
            return Err(Error::Truncated { offset });
        }
        Ok(())
    }

    /// Checks that the map key read since offset `start` sorts strictly after `prev` in the
    /// bytewise order of encodings (RFC 8949 §4.2.1: sorted, no duplicates), then makes it
    /// `prev`.
    pub fn key_order(&self, start: usize, prev: &mut Option<&'a [u8]>) -> R<()> {
        let key = self.since(start);
        match prev.map(|p| p.cmp(key)) {
            Some(Ordering::Equal) => Err(Error::DuplicateKey { offset: start }),
            Some(Ordering::Greater) => Err(Error::UnsortedKeys { offset: start }),
            Some(Ordering::Less) | None => {
                *prev = Some(key);
                Ok(())
            }
        }
    }
}

fn utf8<'a>(raw: &'a [u8], h: &Head) -> R<&'a str> {
    core::str::from_utf8(raw).map_err(|_| Error::InvalidUtf8 { offset: h.offset })
}

fn count(what: &'static str, h: &Head, max: usize) -> R<usize> {
    usize::try_from(h.arg)
        .ok()
        .filter(|&n| n <= max)
        .ok_or(Error::TooMany {
            what,
            count: h.arg,
            max,
            offset: h.offset,
        })
}

/// The smallest and largest values in `range`, for error reports.
fn inclusive(range: &impl RangeBounds<usize>) -> (usize, usize) {
    let min = match range.start_bound() {
        Bound::Included(&n) => n,
        Bound::Excluded(&n) => n.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let max = match range.end_bound() {
        Bound::Included(&n) => n,
        Bound::Excluded(&n) => n.saturating_sub(1),
        Bound::Unbounded => usize::MAX,
    };
    (min, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(b: &[u8]) -> R<Head> {
        Reader::new(b).head()
    }

    #[test]
    fn arguments_must_be_shortest() {
        for major in 0..=6u8 {
            let mt = major << 5;
            assert_eq!(head(&[mt | 24, 23]), Err(Error::NonShortest { offset: 0 }));
            assert_eq!(
                head(&[mt | 25, 0, 0xff]),
                Err(Error::NonShortest { offset: 0 })
            );
            assert_eq!(
                head(&[mt | 26, 0, 0, 0xff, 0xff]),
                Err(Error::NonShortest { offset: 0 })
            );
            assert_eq!(
                head(&[mt | 27, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]),
                Err(Error::NonShortest { offset: 0 })
            );
            assert_eq!(head(&[mt | 24, 24]).map(|h| h.arg), Ok(24));
            assert_eq!(head(&[mt | 25, 1, 0]).map(|h| h.arg), Ok(0x100));
        }
    }

    #[test]
    fn indefinite_reserved_and_break_are_rejected() {
        for major in 2..=5u8 {
            assert_eq!(
                head(&[major << 5 | 31]),
                Err(Error::IndefiniteLength { offset: 0 })
            );
        }
        for major in [0u8, 1, 6] {
            assert_eq!(
                head(&[major << 5 | 31]),
                Err(Error::ReservedInfo {
                    info: 31,
                    offset: 0
                })
            );
        }
        for major in 0..=7u8 {
            for info in 28..=30 {
                assert_eq!(
                    head(&[major << 5 | info]),
                    Err(Error::ReservedInfo { info, offset: 0 })
                );
            }
        }
        assert_eq!(head(&[0xff]), Err(Error::UnexpectedBreak { offset: 0 }));
    }

    #[test]
    fn simple_values_and_floats() {
        assert_eq!(
            head(&[0xf8, 31]),
            Err(Error::InvalidSimple {
                value: 31,
                offset: 0
            })
        );
        assert_eq!(head(&[0xf8, 32]).map(|h| h.arg), Ok(32));
        // 1.0 as a single fits a half; NaN must be 0xf97e00.
        assert_eq!(
            head(&[0xfa, 0x3f, 0x80, 0, 0]),
            Err(Error::NonShortestFloat { offset: 0 })
        );
        assert_eq!(
            head(&[0xf9, 0x7e, 0x01]),
            Err(Error::DisallowedNaN { offset: 0 })
        );
        assert_eq!(head(&[0xf9, 0x7e, 0x00]).map(|h| h.arg), Ok(0x7e00));
        assert_eq!(
            head(&[0xfa, 0x3d, 0xcc, 0xcc, 0xcd]).map(|h| h.type_name()),
            Ok("float")
        );
    }

    #[test]
    fn truncation_names_the_item() {
        assert_eq!(head(&[]), Err(Error::Truncated { offset: 0 }));
        assert_eq!(head(&[0x1b, 0xff]), Err(Error::Truncated { offset: 0 }));
        let mut r = Reader::new(&[0x00, 0x43, 1, 2]);
        assert_eq!(r.uint("a", 0), Ok(0));
        assert_eq!(r.bytes("b", ..), Err(Error::Truncated { offset: 1 }));
        // A huge claimed length fails without allocating.
        let mut r = Reader::new(&[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(r.bytes("b", ..), Err(Error::Truncated { offset: 0 }));
    }

    #[test]
    fn bounds() {
        assert_eq!(
            Reader::new(&[0x18, 200]).uint("u", 100),
            Err(Error::OutOfRange {
                what: "u",
                value: 200,
                max: 100,
                offset: 0
            })
        );
        assert_eq!(Reader::new(&[0x38, 0x63]).int("i"), Ok(-100));
        assert!(matches!(
            Reader::new(&[0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0]).int("i"),
            Err(Error::OutOfRange { .. })
        ));
        // The length is checked before the (missing) content.
        assert_eq!(
            Reader::new(&[0x45]).bytes("b", 1..=4),
            Err(Error::BadLength {
                what: "b",
                len: 5,
                min: 1,
                max: 4,
                offset: 0
            })
        );
        assert!(matches!(
            Reader::new(&[0x60]).text("t", 1..),
            Err(Error::BadLength { min: 1, .. })
        ));
        assert_eq!(Reader::new(&[0x62, b'h', b'i']).text("t", ..3), Ok("hi"));
        assert_eq!(
            Reader::new(&[0x61, 0xff]).text("t", ..),
            Err(Error::InvalidUtf8 { offset: 0 })
        );
        assert_eq!(
            Reader::new(&[0x83]).array("a", 2),
            Err(Error::TooMany {
                what: "a",
                count: 3,
                max: 2,
                offset: 0
            })
        );
        assert_eq!(Reader::new(&[0xa2]).map("m", 2), Ok(2));
        let r = Reader::new(&[0x01, 0x02, 0x03]);
        assert_eq!(r.check_room(3, 1, 0), Ok(()));
        assert_eq!(r.check_room(2, 2, 0), Err(Error::Truncated { offset: 0 }));
        assert_eq!(
            r.check_room(u64::MAX, 2, 0),
            Err(Error::Truncated { offset: 0 })
        );
    }

    #[test]
    fn wrong_type_reports_what_was_found() {
        let e = Reader::new(&[0xc1, 0x00]).uint("n", u64::MAX).unwrap_err();
        assert_eq!(
            e.to_string(),
            "n must be an unsigned integer, found tag at offset 0"
        );
        assert_eq!(Reader::new(&[0xc1, 0x00]).tag("t"), Ok(1));
        assert!(matches!(
            Reader::new(&[0xf6]).bool("b"),
            Err(Error::WrongType { .. })
        ));
    }

    #[test]
    fn keys_in_order_null_and_finish() {
        let input = [0x01, 0x01, 0x00, 0xf6, 0x00];
        let mut r = Reader::new(&input);
        let mut prev = None;
        for expected in [Ok(()), Err(Error::DuplicateKey { offset: 1 })] {
            let start = r.position();
            r.head().unwrap();
            assert_eq!(r.key_order(start, &mut prev), expected);
        }
        let start = r.position();
        r.head().unwrap();
        assert_eq!(
            r.key_order(start, &mut prev),
            Err(Error::UnsortedKeys { offset: 2 })
        );
        assert!(r.null());
        assert!(!r.null());
        assert_eq!(r.since(3), &[0xf6]);
        assert_eq!(r.peek_major(), Ok(0));
        assert_eq!(
            r.finish(),
            Err(Error::TrailingBytes {
                offset: 4,
                count: 1
            })
        );
        r.head().unwrap();
        assert_eq!(r.finish(), Ok(()));
        assert_eq!(r.peek_major(), Err(Error::Truncated { offset: 5 }));
    }
}
