//! Strict deterministic CBOR (RFC 8949 §4.2.1, core deterministic encoding): the one codec
//! under mimi-content, mimi-discovery and mimi-lookup (docs/decisions/0140).
//!
//! [`Reader`] walks untrusted input and accepts only definite lengths, shortest-form
//! arguments, well-formed simple values and shortest-form floats (with the single NaN
//! 0xf97e00); every length is checked against the input before it is sliced, and nothing is
//! allocated. Its typed readers take bounds (`what` names the field in errors), so a claimed
//! length or count is rejected before anything is read. [`Writer`] emits only shortest-form
//! heads and definite lengths.
//!
//! Schemas, map-key rules beyond bytewise order, limits and error wording belong to the
//! callers: each maps [`Error`], which carries the offset, the field and the bound, into its
//! own error type.

mod error;
mod float;
mod reader;
mod writer;

pub use error::Error;
pub use reader::Reader;
pub use writer::Writer;

/// CBOR major types (RFC 8949 §3.1).
pub mod major {
    /// Unsigned integer.
    pub const UINT: u8 = 0;
    /// Negative integer (-1 - argument).
    pub const NINT: u8 = 1;
    /// Byte string.
    pub const BYTES: u8 = 2;
    /// Text string.
    pub const TEXT: u8 = 3;
    /// Array.
    pub const ARRAY: u8 = 4;
    /// Map.
    pub const MAP: u8 = 5;
    /// Tag.
    pub const TAG: u8 = 6;
    /// Simple values and floats.
    pub const SIMPLE: u8 = 7;
}

/// A decoded data-item head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The initial byte.
    pub initial: u8,
    /// Major type (0..=7).
    pub major: u8,
    /// Argument: value, length, count, tag number, simple value or float bits.
    pub arg: u64,
    /// Offset of the initial byte in the input.
    pub offset: usize,
}

impl Head {
    /// Short name of the item's CBOR type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self.major {
            major::UINT => "unsigned integer",
            major::NINT => "negative integer",
            major::BYTES => "byte string",
            major::TEXT => "text string",
            major::ARRAY => "array",
            major::MAP => "map",
            major::TAG => "tag",
            _ => match self.initial {
                0xf4 | 0xf5 => "boolean",
                0xf6 => "null",
                0xf7 => "undefined",
                0xf9..=0xfb => "float",
                0xff => "break",
                _ => "simple value",
            },
        }
    }
}
