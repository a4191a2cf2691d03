//! A strict reader and a writer for the deterministic CBOR subset this crate uses
//! (RFC 8949 §4.2.1 core deterministic encoding; docs/decisions/0102).
//!
//! The reader accepts only shortest-form arguments and definite lengths, never allocates,
//! checks every length against the remaining input before slicing, and bounds recursion when
//! it walks an unknown value ([`Reader::skip_value`]). Floats, `undefined`, simple values other
//! than false/true/null, and tags are rejected everywhere except where a caller reads a tag
//! explicitly (the COSE_Sign1 tag).

use crate::error::Malformed;

/// CBOR major types.
pub(crate) mod major {
    pub const UINT: u8 = 0;
    pub const NINT: u8 = 1;
    pub const BYTES: u8 = 2;
    pub const TEXT: u8 = 3;
    pub const ARRAY: u8 = 4;
    pub const MAP: u8 = 5;
    pub const TAG: u8 = 6;
    pub const SIMPLE: u8 = 7;
}

/// A decoded data-item head.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Head {
    /// Major type (0..7).
    pub major: u8,
    /// Argument: value, length, tag number or simple value.
    pub arg: u64,
}

/// A cursor over untrusted input that only accepts deterministic encodings.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

type R<T> = Result<T, Malformed>;

impl<'a> Reader<'a> {
    /// Start reading at the beginning of `input`.
    pub fn new(input: &'a [u8]) -> Self {
        Reader { input, pos: 0 }
    }

    /// Fail unless the whole input has been consumed.
    pub fn finish(&self) -> R<()> {
        if self.pos == self.input.len() {
            Ok(())
        } else {
            Err(Malformed::TrailingBytes)
        }
    }

    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(Malformed::Truncated)?;
        let slice = self.input.get(self.pos..end).ok_or(Malformed::Truncated)?;
        self.pos = end;
        Ok(slice)
    }

    fn byte(&mut self) -> R<u8> {
        let b = *self.input.get(self.pos).ok_or(Malformed::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    /// The major type of the next item, without consuming it.
    pub fn peek_major(&self) -> R<u8> {
        self.input
            .get(self.pos)
            .map(|b| b >> 5)
            .ok_or(Malformed::Truncated)
    }

    /// Read one head, enforcing shortest-form arguments and definite lengths.
    pub fn head(&mut self) -> R<Head> {
        let ib = self.byte()?;
        let major = ib >> 5;
        let info = ib & 0x1f;
        let arg = match info {
            0..=23 => u64::from(info),
            24 => {
                let v = u64::from(self.byte()?);
                // Simple values 24..31 in the two-byte form are not well-formed; the rest of
                // major 7 is rejected by the callers anyway.
                if v < 24 {
                    return Err(if major == major::SIMPLE {
                        Malformed::UnsupportedValue
                    } else {
                        Malformed::NonShortest
                    });
                }
                v
            }
            25..=27 => {
                if major == major::SIMPLE {
                    // Floats are not part of this format.
                    return Err(Malformed::UnsupportedValue);
                }
                let n = 1usize << (info - 24);
                let bytes = self.take(n)?;
                let v = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
                let min = match info {
                    25 => 0x100,
                    26 => 0x1_0000,
                    _ => 0x1_0000_0000,
                };
                if v < min {
                    return Err(Malformed::NonShortest);
                }
                v
            }
            28..=30 => return Err(Malformed::Reserved),
            _ => {
                return Err(match major {
                    major::BYTES | major::TEXT | major::ARRAY | major::MAP => {
                        Malformed::IndefiniteLength
                    }
                    _ => Malformed::Reserved,
                });
            }
        };
        Ok(Head { major, arg })
    }

    fn expect(&mut self, major: u8, expected: &'static str) -> R<u64> {
        let h = self.head()?;
        if h.major == major {
            Ok(h.arg)
        } else if (h.major == major::SIMPLE && h.arg > 22) || h.major == major::TAG {
            Err(Malformed::UnsupportedValue)
        } else {
            Err(Malformed::UnexpectedType { expected })
        }
    }

    /// An unsigned integer.
    pub fn uint(&mut self, expected: &'static str) -> R<u64> {
        self.expect(major::UINT, expected)
    }

    /// A signed integer that fits an `i64`.
    pub fn int(&mut self, expected: &'static str) -> R<i64> {
        let h = self.head()?;
        match h.major {
            major::UINT => i64::try_from(h.arg).map_err(|_| Malformed::OutOfRange(expected)),
            major::NINT => i64::try_from(h.arg)
                .map(|n| -1 - n)
                .map_err(|_| Malformed::OutOfRange(expected)),
            _ => Err(Malformed::UnexpectedType { expected }),
        }
    }

    /// A byte string of `min..=max` bytes.
    pub fn bytes(&mut self, min: usize, max: usize, what: &'static str) -> R<&'a [u8]> {
        let len = self.expect(major::BYTES, what)?;
        self.sized(len, min, max, what)
    }

    /// A UTF-8 text string of `min..=max` bytes.
    pub fn text(&mut self, min: usize, max: usize, what: &'static str) -> R<&'a str> {
        let len = self.expect(major::TEXT, what)?;
        let raw = self.sized(len, min, max, what)?;
        std::str::from_utf8(raw).map_err(|_| Malformed::InvalidUtf8)
    }

    fn sized(&mut self, len: u64, min: usize, max: usize, what: &'static str) -> R<&'a [u8]> {
        let len = usize::try_from(len).map_err(|_| Malformed::BadLength { what })?;
        if len < min || len > max {
            return Err(Malformed::BadLength { what });
        }
        self.take(len)
    }

    /// An array header of at most `max` elements; returns the count.
    pub fn array(&mut self, max: usize, what: &'static str) -> R<usize> {
        let n = self.expect(major::ARRAY, what)?;
        self.count(n, max, what)
    }

    /// A map header of at most `max` entries; returns the count.
    pub fn map(&mut self, max: usize, what: &'static str) -> R<usize> {
        let n = self.expect(major::MAP, what)?;
        self.count(n, max, what)
    }

    fn count(&self, n: u64, max: usize, what: &'static str) -> R<usize> {
        match usize::try_from(n) {
            Ok(n) if n <= max => Ok(n),
            _ => Err(Malformed::TooMany { what, limit: max }),
        }
    }

    /// A tag number.
    pub fn tag(&mut self) -> R<u64> {
        let h = self.head()?;
        if h.major == major::TAG {
            Ok(h.arg)
        } else {
            Err(Malformed::Tag)
        }
    }

    /// Read a map key that must be an integer, checking that its encoding sorts strictly after
    /// the previous key's (canonical order, no duplicates). Returns the key as (major, arg).
    pub fn int_key(&mut self, prev: &mut Option<&'a [u8]>) -> R<(u8, u64)> {
        let start = self.pos;
        let h = self.head()?;
        if h.major != major::UINT && h.major != major::NINT {
            return Err(Malformed::UnexpectedType {
                expected: "integer map key",
            });
        }
        self.check_order(start, prev)?;
        Ok((h.major, h.arg))
    }

    fn check_order(&self, start: usize, prev: &mut Option<&'a [u8]>) -> R<()> {
        let key = self
            .input
            .get(start..self.pos)
            .ok_or(Malformed::Truncated)?;
        if let Some(p) = prev
            && key <= *p
        {
            return Err(Malformed::MapKeyOrder);
        }
        *prev = Some(key);
        Ok(())
    }

    /// Walk one complete data item of the generic subset (integers, byte and text strings,
    /// arrays, maps with canonically ordered keys, false/true/null), at most `depth` levels of
    /// arrays and maps deep. Returns the item's encoded bytes.
    pub fn skip_value(&mut self, depth: usize) -> R<&'a [u8]> {
        let start = self.pos;
        self.walk(depth)?;
        self.input.get(start..self.pos).ok_or(Malformed::Truncated)
    }

    fn walk(&mut self, depth: usize) -> R<()> {
        let h = self.head()?;
        match h.major {
            major::UINT | major::NINT => Ok(()),
            major::BYTES => self.sized(h.arg, 0, usize::MAX, "byte string").map(|_| ()),
            major::TEXT => {
                let raw = self.sized(h.arg, 0, usize::MAX, "text string")?;
                std::str::from_utf8(raw)
                    .map(|_| ())
                    .map_err(|_| Malformed::InvalidUtf8)
            }
            major::ARRAY | major::MAP => {
                let depth = depth.checked_sub(1).ok_or(Malformed::TooDeep)?;
                // Each element takes at least one byte: a count larger than the rest of the
                // input is truncated, whatever it claims.
                let n = usize::try_from(h.arg).map_err(|_| Malformed::Truncated)?;
                if n > self.input.len().saturating_sub(self.pos) {
                    return Err(Malformed::Truncated);
                }
                if h.major == major::ARRAY {
                    for _ in 0..n {
                        self.walk(depth)?;
                    }
                } else {
                    let mut prev = None;
                    for _ in 0..n {
                        let start = self.pos;
                        self.walk(depth)?;
                        self.check_order(start, &mut prev)?;
                        self.walk(depth)?;
                    }
                }
                Ok(())
            }
            major::SIMPLE if matches!(h.arg, 20..=22) => Ok(()),
            _ => Err(Malformed::UnsupportedValue),
        }
    }
}

/// A writer that emits shortest-form heads and definite lengths only.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    out: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes written.
    pub fn into_bytes(self) -> Vec<u8> {
        self.out
    }

    /// A head with the shortest argument encoding.
    pub fn head(&mut self, major: u8, arg: u64) {
        let mt = major << 5;
        // The casts below only run after the range checks that make them lossless.
        if arg < 24 {
            self.out.push(mt | arg as u8);
        } else if arg <= 0xff {
            self.out.extend_from_slice(&[mt | 24, arg as u8]);
        } else if arg <= 0xffff {
            self.out.push(mt | 25);
            self.out.extend_from_slice(&(arg as u16).to_be_bytes());
        } else if arg <= 0xffff_ffff {
            self.out.push(mt | 26);
            self.out.extend_from_slice(&(arg as u32).to_be_bytes());
        } else {
            self.out.push(mt | 27);
            self.out.extend_from_slice(&arg.to_be_bytes());
        }
    }

    /// An unsigned integer.
    pub fn uint(&mut self, v: u64) {
        self.head(major::UINT, v);
    }

    /// A negative integer given by its CBOR argument `n` (value `-1 - n`).
    pub fn nint_arg(&mut self, n: u64) {
        self.head(major::NINT, n);
    }

    /// A text string.
    pub fn text(&mut self, s: &str) {
        self.head(major::TEXT, s.len() as u64);
        self.out.extend_from_slice(s.as_bytes());
    }

    /// An array header.
    pub fn array(&mut self, n: usize) {
        self.head(major::ARRAY, n as u64);
    }

    /// A map header.
    pub fn map(&mut self, n: usize) {
        self.head(major::MAP, n as u64);
    }

    /// Already-encoded bytes (a validated item).
    pub fn raw(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_shortest_and_round_trip() {
        for v in [
            0u64,
            23,
            24,
            255,
            256,
            65535,
            65536,
            u32::MAX as u64,
            u32::MAX as u64 + 1,
            u64::MAX,
        ] {
            let mut w = Writer::new();
            w.uint(v);
            let b = w.into_bytes();
            let mut r = Reader::new(&b);
            assert_eq!(r.uint("uint").unwrap(), v);
            r.finish().unwrap();
        }
    }

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
