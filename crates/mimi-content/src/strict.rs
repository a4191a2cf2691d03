//! A strict reader for deterministically encoded CBOR (RFC 8949 §4.2.1).
//!
//! This is the well-formedness layer under [`crate::decode`]: every data item head is
//! checked for shortest-form arguments, definite lengths and reserved values as it is read,
//! floats are checked for shortest form and the one permitted NaN, and generic items inside
//! extensions are walked with depth, key-type, key-order and UTF-8 checks. It never panics,
//! never allocates, and recursion is bounded by [`MAX_EXTENSION_DEPTH`].
//!
//! minicbor's own `Decoder` accepts non-shortest and indefinite-length encodings, so it
//! cannot be the strict layer; see docs/decisions/0016-strict-decoder.md.

use crate::error::{Error, type_name};

/// content-08 §"Depth restrictions": extensions MUST NOT contain tags, maps or arrays at
/// more than 4 levels of depth; the extensions map itself is level 1.
pub const MAX_EXTENSION_DEPTH: usize = 4;

/// Largest integer map key allowed: 2^53 − 1 (content-08 §"Data model restrictions").
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

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

/// A decoded data item head.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Head {
    /// Initial byte.
    pub ib: u8,
    /// Major type (0..7).
    pub major: u8,
    /// Argument (value, length, tag number, simple value or float bits).
    pub arg: u64,
    /// Offset of the initial byte.
    pub offset: usize,
}

/// A cursor over untrusted input that only accepts deterministic encodings.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `input`.
    pub fn new(input: &'a [u8]) -> Self {
        Reader { input, pos: 0 }
    }

    /// Current offset into the input.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The whole input.
    pub fn input(&self) -> &'a [u8] {
        self.input
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.input.len().saturating_sub(self.pos)
    }

    /// The next byte without consuming it.
    pub fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn byte(&mut self, item: usize) -> Result<u8, Error> {
        let b = self
            .input
            .get(self.pos)
            .copied()
            .ok_or(Error::Truncated { offset: item })?;
        self.pos += 1;
        Ok(b)
    }

    fn be(&mut self, n: usize, item: usize) -> Result<u64, Error> {
        let bytes = self.take(n as u64, item)?;
        Ok(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// Consumes `len` bytes of content belonging to the item at offset `item`.
    pub fn take(&mut self, len: u64, item: usize) -> Result<&'a [u8], Error> {
        if len > self.remaining() as u64 {
            return Err(Error::Truncated { offset: item });
        }
        let start = self.pos;
        // `len <= remaining` so neither the addition nor the slice can fail.
        let end = start + len as usize;
        let out = self
            .input
            .get(start..end)
            .ok_or(Error::Truncated { offset: item })?;
        self.pos = end;
        Ok(out)
    }

    /// Reads one data item head, rejecting everything RFC 8949 §4.2.1 forbids.
    pub fn head(&mut self) -> Result<Head, Error> {
        let offset = self.pos;
        let ib = self.byte(offset)?;
        let major = ib >> 5;
        let info = ib & 0x1f;
        // RFC 8949 §4.2.1 (required by content-08 §"Encoding restrictions"): arguments
        // in the shortest form; floats are checked separately below.
        let arg = match info {
            0..=23 => u64::from(info),
            24 => {
                let v = self.be(1, offset)?;
                if major == major::SIMPLE {
                    if v < 32 {
                        return Err(Error::InvalidSimpleValue {
                            value: v as u8,
                            offset,
                        });
                    }
                } else if v < 24 {
                    return Err(Error::NonShortestArgument { offset });
                }
                v
            }
            25 => {
                let v = self.be(2, offset)?;
                if major != major::SIMPLE && v <= 0xff {
                    return Err(Error::NonShortestArgument { offset });
                }
                v
            }
            26 => {
                let v = self.be(4, offset)?;
                if major != major::SIMPLE && v <= 0xffff {
                    return Err(Error::NonShortestArgument { offset });
                }
                v
            }
            27 => {
                let v = self.be(8, offset)?;
                if major != major::SIMPLE && v <= 0xffff_ffff {
                    return Err(Error::NonShortestArgument { offset });
                }
                v
            }
            28..=30 => return Err(Error::ReservedAdditionalInfo { info, offset }),
            _ => {
                return Err(match major {
                    major::BYTES | major::TEXT | major::ARRAY | major::MAP => {
                        // RFC 8949 §4.2.1: indefinite-length items MUST be made definite.
                        Error::IndefiniteLength { offset }
                    }
                    major::SIMPLE => Error::UnexpectedBreak { offset },
                    _ => Error::ReservedAdditionalInfo { info, offset },
                });
            }
        };
        if major == major::SIMPLE {
            check_float(info, arg, offset)?;
        }
        Ok(Head {
            ib,
            major,
            arg,
            offset,
        })
    }

    fn wrong_type(what: &'static str, expected: &'static str, h: &Head) -> Error {
        Error::WrongType {
            what,
            expected,
            found: type_name(h.ib),
            offset: h.offset,
        }
    }

    /// Reads an unsigned integer no larger than `max`.
    pub fn uint(&mut self, what: &'static str, max: u64) -> Result<(u64, usize), Error> {
        let h = self.head()?;
        if h.major != major::UINT {
            return Err(Self::wrong_type(what, "an unsigned integer", &h));
        }
        if h.arg > max {
            return Err(Error::IntegerOutOfRange {
                what,
                value: h.arg,
                max,
                offset: h.offset,
            });
        }
        Ok((h.arg, h.offset))
    }

    /// Reads a byte string; returns its content and the offset of its head.
    pub fn bytes(&mut self, what: &'static str) -> Result<(&'a [u8], usize), Error> {
        let h = self.head()?;
        if h.major != major::BYTES {
            return Err(Self::wrong_type(what, "a byte string", &h));
        }
        Ok((self.take(h.arg, h.offset)?, h.offset))
    }

    /// Reads a text string and checks that it is valid UTF-8.
    pub fn text(&mut self, what: &'static str) -> Result<&'a str, Error> {
        let h = self.head()?;
        if h.major != major::TEXT {
            return Err(Self::wrong_type(what, "a text string", &h));
        }
        self.text_body(&h)
    }

    /// Reads the content of a text string whose head was already read.
    pub fn text_body(&mut self, h: &Head) -> Result<&'a str, Error> {
        let raw = self.take(h.arg, h.offset)?;
        // content-08 §"Data model restrictions": text strings MUST be valid UTF-8.
        core::str::from_utf8(raw).map_err(|_| Error::InvalidUtf8 { offset: h.offset })
    }

    /// Reads an array head; returns its length and offset.
    pub fn array(&mut self, what: &'static str) -> Result<(u64, usize), Error> {
        let h = self.head()?;
        if h.major != major::ARRAY {
            return Err(Self::wrong_type(what, "an array", &h));
        }
        // Every element takes at least one byte: reject impossible lengths early.
        if h.arg > self.remaining() as u64 {
            return Err(Error::Truncated { offset: h.offset });
        }
        Ok((h.arg, h.offset))
    }

    /// Reads a map head; returns its length (number of pairs) and offset.
    pub fn map(&mut self, what: &'static str) -> Result<(u64, usize), Error> {
        let h = self.head()?;
        if h.major != major::MAP {
            return Err(Self::wrong_type(what, "a map", &h));
        }
        if h.arg > (self.remaining() / 2) as u64 {
            return Err(Error::Truncated { offset: h.offset });
        }
        Ok((h.arg, h.offset))
    }

    /// Reads a boolean.
    pub fn bool(&mut self, what: &'static str) -> Result<bool, Error> {
        let h = self.head()?;
        match h.ib {
            0xf4 => Ok(false),
            0xf5 => Ok(true),
            _ => Err(Self::wrong_type(what, "a boolean", &h)),
        }
    }

    /// Consumes a `null` if one is next; returns whether it did.
    pub fn null(&mut self) -> bool {
        if self.peek() == Some(0xf6) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Validates one generic data item inside an extension and skips over it.
    ///
    /// `level` is the depth the item occupies if it is a container (tag, map or array);
    /// the extensions map itself is level 1, so its values are at level 2.
    pub fn skip_item(&mut self, level: usize) -> Result<(), Error> {
        let h = self.head()?;
        self.skip_after_head(&h, level)
    }

    fn skip_after_head(&mut self, h: &Head, level: usize) -> Result<(), Error> {
        match h.major {
            major::BYTES => self.take(h.arg, h.offset).map(|_| ()),
            major::TEXT => self.text_body(h).map(|_| ()),
            major::ARRAY => {
                check_depth(level, h.offset)?;
                if h.arg > self.remaining() as u64 {
                    return Err(Error::Truncated { offset: h.offset });
                }
                for _ in 0..h.arg {
                    self.skip_item(level + 1)?;
                }
                Ok(())
            }
            major::MAP => {
                check_depth(level, h.offset)?;
                if h.arg > (self.remaining() / 2) as u64 {
                    return Err(Error::Truncated { offset: h.offset });
                }
                let mut prev: Option<&[u8]> = None;
                for _ in 0..h.arg {
                    let start = self.pos;
                    self.nested_map_key()?;
                    let key = self.input.get(start..self.pos).unwrap_or_default();
                    check_key_order(prev, key, start)?;
                    prev = Some(key);
                    self.skip_item(level + 1)?;
                }
                Ok(())
            }
            major::TAG => {
                // A tag counts as one level of depth (content-08 §"Depth restrictions").
                check_depth(level, h.offset)?;
                if h.arg == 2 || h.arg == 3 {
                    // RFC 8949 §4.2.1 / content-08: bigints as plain integers when they fit;
                    // §3.4.3: preferred serialization has no leading zero bytes.
                    let content = self.head()?;
                    if content.major != major::BYTES {
                        return Err(Error::NonPreferredBignum { offset: h.offset });
                    }
                    let digits = self.take(content.arg, content.offset)?;
                    if digits.len() <= 8 || digits.first() == Some(&0) {
                        return Err(Error::NonPreferredBignum { offset: h.offset });
                    }
                    Ok(())
                } else {
                    self.skip_item(level + 1)
                }
            }
            // Integers; simple values and floats were fully checked by `head`.
            _ => Ok(()),
        }
    }

    /// Reads a map key inside an extension value: integer (±(2^53−1)), text or byte string.
    fn nested_map_key(&mut self) -> Result<(), Error> {
        let h = self.head()?;
        match h.major {
            major::UINT | major::NINT => check_int_key(&h),
            major::BYTES => self.take(h.arg, h.offset).map(|_| ()),
            major::TEXT => self.text_body(&h).map(|_| ()),
            // content-08 §"Data model restrictions": nested map keys MUST only be integers,
            // text strings or byte strings.
            _ => Err(Error::InvalidNestedMapKey {
                found: type_name(h.ib),
                offset: h.offset,
            }),
        }
    }
}

/// content-08 §"Data model restrictions": integer keys MUST be representable as a double
/// without loss of precision: 0..=2^53−1 and −(2^53−1)..=−1.
pub(crate) fn check_int_key(h: &Head) -> Result<(), Error> {
    let limit = if h.major == major::UINT {
        MAX_SAFE_INTEGER
    } else {
        MAX_SAFE_INTEGER - 1 // negint argument n encodes −1−n
    };
    if h.arg > limit {
        return Err(Error::IntegerKeyOutOfRange { offset: h.offset });
    }
    Ok(())
}

/// RFC 8949 §4.2.1: map keys sorted bytewise by their encodings, no duplicates.
pub(crate) fn check_key_order(prev: Option<&[u8]>, key: &[u8], offset: usize) -> Result<(), Error> {
    if let Some(prev) = prev {
        match prev.cmp(key) {
            core::cmp::Ordering::Less => {}
            core::cmp::Ordering::Equal => return Err(Error::DuplicateMapKey { offset }),
            core::cmp::Ordering::Greater => return Err(Error::UnsortedMapKeys { offset }),
        }
    }
    Ok(())
}

fn check_depth(level: usize, offset: usize) -> Result<(), Error> {
    if level > MAX_EXTENSION_DEPTH {
        return Err(Error::ExtensionsTooDeep {
            limit: MAX_EXTENSION_DEPTH,
            offset,
        });
    }
    Ok(())
}

/// Checks a major-type-7 item with additional information `info` and argument `bits`.
///
/// content-08 §"Data model restrictions": the only NaN permitted is 0xF97E00;
/// RFC 8949 §4.2.1: floats in the shortest form that preserves the value.
fn check_float(info: u8, bits: u64, offset: usize) -> Result<(), Error> {
    match info {
        25 => {
            let is_nan = bits & 0x7c00 == 0x7c00 && bits & 0x03ff != 0;
            if is_nan && bits != 0x7e00 {
                return Err(Error::DisallowedNaN { offset });
            }
        }
        26 => {
            let b = bits as u32;
            if f32::from_bits(b).is_nan() {
                return Err(Error::DisallowedNaN { offset });
            }
            if f32_fits_f16(b) {
                return Err(Error::NonShortestFloat { offset });
            }
        }
        27 => {
            if f64::from_bits(bits).is_nan() {
                return Err(Error::DisallowedNaN { offset });
            }
            if f64_fits_f32(bits) {
                return Err(Error::NonShortestFloat { offset });
            }
        }
        _ => {}
    }
    Ok(())
}

/// Whether a finite or infinite binary float with unbiased exponent `exp` and significand
/// `sig` (implicit bit included, `sig_bits` fraction bits) is exactly representable in a
/// narrower format with `frac_bits` fraction bits and normal exponents `min_exp..=max_exp`
/// (subnormals down to `min_exp - frac_bits`).
fn fits_narrower(
    exp: i32,
    sig: u64,
    sig_bits: u32,
    frac_bits: u32,
    min_exp: i32,
    max_exp: i32,
) -> bool {
    if exp > max_exp {
        return false;
    }
    // The value is sig * 2^(exp - sig_bits); it is representable iff it is a multiple of the
    // narrower format's quantum at that exponent.
    let quantum_exp = if exp >= min_exp {
        exp - frac_bits as i32
    } else {
        min_exp - frac_bits as i32
    };
    let needed = quantum_exp - (exp - sig_bits as i32); // trailing zero bits needed in `sig`
    needed <= 0 || (needed < 64 && sig.trailing_zeros() >= needed as u32)
}

/// Whether the f32 with bits `b` (not NaN) is exactly representable as an IEEE half.
pub(crate) fn f32_fits_f16(b: u32) -> bool {
    let exp_field = (b >> 23) & 0xff;
    let frac = u64::from(b & 0x7f_ffff);
    if exp_field == 0xff {
        return true; // ±infinity
    }
    if exp_field == 0 {
        // Zero fits; f32 subnormals (< 2^-126) are far below the smallest half.
        return frac == 0;
    }
    fits_narrower(exp_field as i32 - 127, frac | 1 << 23, 23, 10, -14, 15)
}

/// Whether the f64 with bits `b` (not NaN) is exactly representable as an IEEE single.
pub(crate) fn f64_fits_f32(b: u64) -> bool {
    let exp_field = (b >> 52) & 0x7ff;
    let frac = b & 0x000f_ffff_ffff_ffff;
    if exp_field == 0x7ff {
        return true; // ±infinity
    }
    if exp_field == 0 {
        return frac == 0; // f64 subnormals (< 2^-1022) are below the smallest single
    }
    fits_narrower(exp_field as i32 - 1023, frac | 1 << 52, 52, 23, -126, 127)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_narrowing() {
        assert!(f32_fits_f16(1.0f32.to_bits()));
        assert!(f32_fits_f16(65504.0f32.to_bits()));
        assert!(!f32_fits_f16(65520.0f32.to_bits()));
        assert!(f32_fits_f16(5.960_464_5e-8f32.to_bits())); // 2^-24, smallest half subnormal
        assert!(!f32_fits_f16((5.960_464_5e-8f32 / 2.0).to_bits()));
        assert!(!f32_fits_f16(0.1f32.to_bits()));
        assert!(f32_fits_f16(f32::INFINITY.to_bits()));
        assert!(f32_fits_f16((-0.0f32).to_bits()));
        assert!(f64_fits_f32(0.5f64.to_bits()));
        assert!(!f64_fits_f32(0.1f64.to_bits()));
        assert!(f64_fits_f32(f64::from(f32::MIN_POSITIVE / 8.0).to_bits()));
        assert!(!f64_fits_f32(1e300f64.to_bits()));
        assert!(f64_fits_f32(f64::NEG_INFINITY.to_bits()));
    }
}
