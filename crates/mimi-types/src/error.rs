//! The crate's error type.

use crate::id::IdError;

/// Everything that can go wrong in `mimi-types`: an identifier that does not parse, or bytes
/// that are not a valid wire struct. Every variant is the peer's (or input's) fault except
/// [`Error::Encode`], which means a value could not be encoded (e.g. a vector over 2^30 bytes).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An identifier is malformed; the inner error says why.
    #[error("invalid identifier: {0}")]
    Identifier(#[from] IdError),
    /// A body is larger than the limit for its type.
    #[error("{what} is {len} bytes, over the limit of {limit}")]
    TooLarge {
        /// The struct being decoded.
        what: &'static str,
        /// Its size.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Bytes follow a complete struct.
    #[error("{count} trailing bytes after {what}")]
    TrailingBytes {
        /// The struct decoded.
        what: &'static str,
        /// How many bytes follow it.
        count: usize,
    },
    /// The bytes are not a valid encoding of the struct.
    #[error("malformed {what}: {reason}")]
    Decode {
        /// The struct being decoded.
        what: &'static str,
        /// Why it is malformed.
        reason: String,
    },
    /// A value breaks a rule of its type (checked when building it, not only when decoding).
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The type.
        what: &'static str,
        /// The rule broken.
        reason: String,
    },
    /// A value could not be encoded.
    #[error("cannot encode {what}: {reason}")]
    Encode {
        /// The type.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A directory document is not usable.
    #[error("invalid directory: {0}")]
    Directory(String),
}
