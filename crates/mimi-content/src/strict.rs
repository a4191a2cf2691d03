//! The strict deterministic-CBOR layer under [`crate::decode`] (RFC 8949 §4.2.1).
//!
//! Heads, shortest-form arguments and floats, definite lengths, the one NaN, UTF-8 and map-key
//! order are checked by the shared reader, [`mimi_cbor::Reader`] (docs/decisions/0140); this
//! module maps its errors onto this crate's and adds the content-08 rules for generic items
//! inside extensions: depth, nested key types, the ±(2^53−1) integer key range and bignums.
//! Recursion is bounded by [`MAX_EXTENSION_DEPTH`].
//!
//! minicbor's own `Decoder` accepts non-shortest and indefinite-length encodings, so it
//! cannot be the strict layer; see docs/decisions/0016-strict-decoder.md.

pub(crate) use mimi_cbor::{Reader, major};

use mimi_cbor::Head;

use crate::error::Error;

/// content-08 §"Depth restrictions": extensions MUST NOT contain tags, maps or arrays at
/// more than 4 levels of depth; the extensions map itself is level 1.
pub const MAX_EXTENSION_DEPTH: usize = 4;

/// Largest integer map key allowed: 2^53 − 1 (content-08 §"Data model restrictions").
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

impl From<mimi_cbor::Error> for Error {
    fn from(e: mimi_cbor::Error) -> Self {
        use mimi_cbor::Error as E;
        match e {
            E::Truncated { offset } => Error::Truncated { offset },
            E::TrailingBytes { offset, count } => Error::TrailingBytes { offset, count },
            E::IndefiniteLength { offset } => Error::IndefiniteLength { offset },
            E::UnexpectedBreak { offset } => Error::UnexpectedBreak { offset },
            E::ReservedInfo { info, offset } => Error::ReservedAdditionalInfo { info, offset },
            E::NonShortest { offset } => Error::NonShortestArgument { offset },
            E::InvalidSimple { value, offset } => Error::InvalidSimpleValue { value, offset },
            E::NonShortestFloat { offset } => Error::NonShortestFloat { offset },
            E::DisallowedNaN { offset } => Error::DisallowedNaN { offset },
            E::WrongType {
                what,
                expected,
                found,
            } => Error::WrongType {
                what,
                expected,
                found: found.type_name(),
                offset: found.offset,
            },
            E::OutOfRange {
                what,
                value,
                max,
                offset,
            } => Error::IntegerOutOfRange {
                what,
                value,
                max,
                offset,
            },
            // This crate reads strings and containers unbounded and checks its limits after
            // the item is read, so these report a bound only if a caller ever passes one.
            E::BadLength {
                what,
                len: value,
                max,
                offset,
                ..
            }
            | E::TooMany {
                what,
                count: value,
                max,
                offset,
            } => Error::IntegerOutOfRange {
                what,
                value,
                max: max as u64,
                offset,
            },
            E::InvalidUtf8 { offset } => Error::InvalidUtf8 { offset },
            E::UnsortedKeys { offset } => Error::UnsortedMapKeys { offset },
            E::DuplicateKey { offset } => Error::DuplicateMapKey { offset },
        }
    }
}

/// The content-08 reads on top of [`mimi_cbor::Reader`].
pub(crate) trait ContentReader {
    /// Reads an array head; returns its length and offset. A length the rest of the input
    /// cannot hold is truncated.
    fn array_at(&mut self, what: &'static str) -> Result<(u64, usize), Error>;

    /// Reads a map head; returns its length (number of pairs) and offset.
    fn map_at(&mut self, what: &'static str) -> Result<(u64, usize), Error>;

    /// Validates one generic data item inside an extension and skips over it.
    ///
    /// `level` is the depth the item occupies if it is a container (tag, map or array);
    /// the extensions map itself is level 1, so its values are at level 2.
    fn skip_item(&mut self, level: usize) -> Result<(), Error>;
}

impl ContentReader for Reader<'_> {
    fn array_at(&mut self, what: &'static str) -> Result<(u64, usize), Error> {
        let offset = self.position();
        let n = self.array(what, usize::MAX)? as u64;
        // Every element takes at least one byte: reject impossible lengths early.
        self.check_room(n, 1, offset)?;
        Ok((n, offset))
    }

    fn map_at(&mut self, what: &'static str) -> Result<(u64, usize), Error> {
        let offset = self.position();
        let n = self.map(what, usize::MAX)? as u64;
        self.check_room(n, 2, offset)?;
        Ok((n, offset))
    }

    fn skip_item(&mut self, level: usize) -> Result<(), Error> {
        let h = self.head()?;
        match h.major {
            major::BYTES => self.body(&h).map(|_| ())?,
            major::TEXT => self.text_body(&h).map(|_| ())?,
            major::ARRAY => {
                check_depth(level, h.offset)?;
                self.check_room(h.arg, 1, h.offset)?;
                for _ in 0..h.arg {
                    self.skip_item(level + 1)?;
                }
            }
            major::MAP => {
                check_depth(level, h.offset)?;
                self.check_room(h.arg, 2, h.offset)?;
                let mut prev = None;
                for _ in 0..h.arg {
                    let start = self.position();
                    nested_map_key(self)?;
                    self.key_order(start, &mut prev)?;
                    self.skip_item(level + 1)?;
                }
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
                    let digits = self.body(&content)?;
                    if digits.len() <= 8 || digits.first() == Some(&0) {
                        return Err(Error::NonPreferredBignum { offset: h.offset });
                    }
                } else {
                    self.skip_item(level + 1)?;
                }
            }
            // Integers; simple values and floats were fully checked by `head`.
            _ => {}
        }
        Ok(())
    }
}

/// Reads a map key inside an extension value: integer (±(2^53−1)), text or byte string.
fn nested_map_key(r: &mut Reader<'_>) -> Result<(), Error> {
    let h = r.head()?;
    match h.major {
        major::UINT | major::NINT => check_int_key(&h),
        major::BYTES => Ok(r.body(&h).map(|_| ())?),
        major::TEXT => Ok(r.text_body(&h).map(|_| ())?),
        // content-08 §"Data model restrictions": nested map keys MUST only be integers,
        // text strings or byte strings.
        _ => Err(Error::InvalidNestedMapKey {
            found: h.type_name(),
            offset: h.offset,
        }),
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

fn check_depth(level: usize, offset: usize) -> Result<(), Error> {
    if level > MAX_EXTENSION_DEPTH {
        return Err(Error::ExtensionsTooDeep {
            limit: MAX_EXTENSION_DEPTH,
            offset,
        });
    }
    Ok(())
}
