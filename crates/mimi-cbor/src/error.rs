//! The one error type of this crate.

use crate::Head;

/// Why input is not the expected deterministic CBOR. Every variant carries the offset (from
/// the start of the input) of the data item at fault; typed reads also name the field
/// (`what`) and the bound it broke, so callers can map each case onto their own errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input ends before the item (its argument or its content) does.
    #[error("input ends inside the item at offset {offset}")]
    Truncated {
        /// Where the incomplete item starts.
        offset: usize,
    },
    /// Bytes are left after the last item read.
    #[error("{count} bytes left over at offset {offset}")]
    TrailingBytes {
        /// Where the left-over bytes start.
        offset: usize,
        /// How many there are.
        count: usize,
    },
    /// Additional information 31 on a string, array or map.
    #[error("indefinite length at offset {offset}")]
    IndefiniteLength {
        /// Where the item starts.
        offset: usize,
    },
    /// The initial byte 0xff outside an indefinite-length item (so: anywhere).
    #[error("stray break at offset {offset}")]
    UnexpectedBreak {
        /// Where the byte is.
        offset: usize,
    },
    /// Additional information 28..=30, or 31 on an integer or a tag.
    #[error("reserved additional information {info} at offset {offset}")]
    ReservedInfo {
        /// The low five bits of the initial byte.
        info: u8,
        /// Where the item starts.
        offset: usize,
    },
    /// An integer, length, count or tag argument that fits a shorter form.
    #[error("argument not in shortest form at offset {offset}")]
    NonShortest {
        /// Where the item starts.
        offset: usize,
    },
    /// 0xf8 followed by a value below 32 (not well-formed, RFC 8949 §3.3).
    #[error("two-byte simple value {value} below 32 at offset {offset}")]
    InvalidSimple {
        /// The value after 0xf8.
        value: u8,
        /// Where the item starts.
        offset: usize,
    },
    /// A float that a shorter float encodes exactly.
    #[error("float not in shortest form at offset {offset}")]
    NonShortestFloat {
        /// Where the item starts.
        offset: usize,
    },
    /// A NaN other than the half-precision quiet NaN 0xf97e00.
    #[error("NaN other than 0xf97e00 at offset {offset}")]
    DisallowedNaN {
        /// Where the item starts.
        offset: usize,
    },
    /// A data item of another type than the one read.
    #[error("{what} must be {expected}, found {} at offset {}", found.type_name(), found.offset)]
    WrongType {
        /// The field.
        what: &'static str,
        /// The type required, with its article ("an unsigned integer").
        expected: &'static str,
        /// The head found instead.
        found: Head,
    },
    /// An integer argument above its bound (for a negative integer the argument is its
    /// magnitude minus one).
    #[error("{what}: argument {value} exceeds {max} at offset {offset}")]
    OutOfRange {
        /// The field.
        what: &'static str,
        /// The argument found.
        value: u64,
        /// The largest argument allowed.
        max: u64,
        /// Where the integer starts.
        offset: usize,
    },
    /// A byte or text string whose length is outside its bounds.
    #[error("{what}: length {len} outside {min}..={max} at offset {offset}")]
    BadLength {
        /// The field.
        what: &'static str,
        /// The length found.
        len: u64,
        /// The shortest length allowed.
        min: usize,
        /// The longest length allowed.
        max: usize,
        /// Where the string starts.
        offset: usize,
    },
    /// An array or map with more elements (pairs) than allowed.
    #[error("{what}: {count} elements, more than {max}, at offset {offset}")]
    TooMany {
        /// The field.
        what: &'static str,
        /// The count found.
        count: u64,
        /// The largest count allowed.
        max: usize,
        /// Where the array or map starts.
        offset: usize,
    },
    /// A text string whose content is not UTF-8.
    #[error("text string at offset {offset} is not UTF-8")]
    InvalidUtf8 {
        /// Where the string starts.
        offset: usize,
    },
    /// A map key whose encoding sorts before its predecessor's.
    #[error("map key at offset {offset} sorts before the one before it")]
    UnsortedKeys {
        /// Where the key starts.
        offset: usize,
    },
    /// A map key equal to its predecessor.
    #[error("map key at offset {offset} repeats the one before it")]
    DuplicateKey {
        /// Where the key starts.
        offset: usize,
    },
}
