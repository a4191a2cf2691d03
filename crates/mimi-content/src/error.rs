//! The one error type of this crate.
//!
//! Every variant prints as a single line that says what is wrong and, for decoding errors,
//! the byte offset (from the start of the input) of the offending data item.

/// Why a MIMI content message could not be decoded, encoded into an ID, or validated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ----- size and well-formedness -----
    /// The input is longer than the configured maximum message size.
    #[error("message of {size} bytes exceeds the size limit of {limit} bytes")]
    TooLarge {
        /// Input length in bytes.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The input ended inside a data item.
    #[error("input truncated: data item at offset {offset} runs past the end of the input")]
    Truncated {
        /// Offset of the data item that is incomplete.
        offset: usize,
    },
    /// Bytes follow the single top-level data item.
    #[error("{count} trailing bytes after the message at offset {offset}")]
    TrailingBytes {
        /// Offset of the first trailing byte.
        offset: usize,
        /// Number of trailing bytes.
        count: usize,
    },
    /// An indefinite-length string, array or map (forbidden by deterministic encoding).
    #[error("indefinite-length item at offset {offset}")]
    IndefiniteLength {
        /// Offset of the item.
        offset: usize,
    },
    /// A "break" stop code outside an indefinite-length item.
    #[error("unexpected break code at offset {offset}")]
    UnexpectedBreak {
        /// Offset of the break byte.
        offset: usize,
    },
    /// An initial byte with a reserved additional-information value (28..30).
    #[error("reserved additional information {info} in initial byte at offset {offset}")]
    ReservedAdditionalInfo {
        /// The additional-information value (low 5 bits of the initial byte).
        info: u8,
        /// Offset of the initial byte.
        offset: usize,
    },
    /// An integer, length or tag argument not in its shortest form.
    #[error("non-shortest encoding of an integer or length argument at offset {offset}")]
    NonShortestArgument {
        /// Offset of the data item.
        offset: usize,
    },
    /// A two-byte simple value below 32 (not well-formed, RFC 8949 §3.3).
    #[error("invalid two-byte simple value {value} at offset {offset}")]
    InvalidSimpleValue {
        /// The simple value.
        value: u8,
        /// Offset of the data item.
        offset: usize,
    },
    /// A floating-point value that could be encoded in a shorter float form.
    #[error("non-shortest floating-point encoding at offset {offset}")]
    NonShortestFloat {
        /// Offset of the data item.
        offset: usize,
    },
    /// A NaN other than the half-precision quiet NaN 0xF97E00.
    #[error("NaN other than 0xf97e00 at offset {offset}")]
    DisallowedNaN {
        /// Offset of the data item.
        offset: usize,
    },
    /// A bignum (tag 2 or 3) that is not in preferred form: it fits in a plain integer, has
    /// leading zero bytes, or does not wrap a byte string.
    #[error("bignum at offset {offset} is not in preferred form")]
    NonPreferredBignum {
        /// Offset of the tag.
        offset: usize,
    },
    /// Map keys not in bytewise lexicographic order of their encodings.
    #[error("map keys not in deterministic order at offset {offset}")]
    UnsortedMapKeys {
        /// Offset of the key that sorts before its predecessor.
        offset: usize,
    },
    /// The same map key twice.
    #[error("duplicate map key at offset {offset}")]
    DuplicateMapKey {
        /// Offset of the repeated key.
        offset: usize,
    },
    /// A text string that is not valid UTF-8.
    #[error("invalid UTF-8 in text string at offset {offset}")]
    InvalidUtf8 {
        /// Offset of the text string.
        offset: usize,
    },

    // ----- schema (CDDL) -----
    /// An array with the wrong number of elements.
    #[error("{what} must be an array of {expected} elements, found {found} at offset {offset}")]
    WrongArity {
        /// Which structure.
        what: &'static str,
        /// The allowed element counts.
        expected: &'static str,
        /// The element count found.
        found: u64,
        /// Offset of the array.
        offset: usize,
    },
    /// A data item of the wrong CBOR type.
    #[error("{what} must be {expected}, found {found} at offset {offset}")]
    WrongType {
        /// Which field.
        what: &'static str,
        /// The type the schema requires.
        expected: &'static str,
        /// The type found.
        found: &'static str,
        /// Offset of the data item.
        offset: usize,
    },
    /// The salt is not exactly 16 bytes.
    #[error("salt must be 16 bytes, found {len} at offset {offset}")]
    BadSaltLength {
        /// Length found.
        len: usize,
        /// Offset of the byte string.
        offset: usize,
    },
    /// A message ID that is not exactly 32 bytes.
    #[error("{what} must be a 32-byte message ID, found {len} bytes at offset {offset}")]
    BadMessageIdLength {
        /// Which field.
        what: &'static str,
        /// Length found.
        len: usize,
        /// Offset of the byte string.
        offset: usize,
    },
    /// An unsigned integer larger than its `.size` constraint allows.
    #[error("{what} value {value} exceeds its maximum {max} at offset {offset}")]
    IntegerOutOfRange {
        /// Which field.
        what: &'static str,
        /// Value found.
        value: u64,
        /// Largest allowed value.
        max: u64,
        /// Offset of the integer.
        offset: usize,
    },
    /// A cardinality other than 0 (null), 1 (single), 2 (external), 3 (multi).
    #[error("unknown NestedPart cardinality {value} at offset {offset}")]
    UnknownCardinality {
        /// Value found.
        value: u64,
        /// Offset of the integer.
        offset: usize,
    },
    /// A partSemantics value other than 0, 1, 2.
    #[error("unknown partSemantics {value} at offset {offset}")]
    UnknownPartSemantics {
        /// Value found.
        value: u64,
        /// Offset of the integer.
        offset: usize,
    },
    /// A MultiPart with fewer than two parts.
    #[error("MultiPart must have at least 2 parts, found {count} at offset {offset}")]
    TooFewParts {
        /// Number of parts found.
        count: u64,
        /// Offset of the parts array (0 when checking a built message).
        offset: usize,
    },
    /// More body parts (NestedParts, counted depth-first) than allowed.
    #[error("more than {limit} body parts (at offset {offset})")]
    TooManyParts {
        /// The limit (1024).
        limit: usize,
        /// Offset of the first part over the limit (0 when checking a built message).
        offset: usize,
    },
    /// NestedParts nested more than 4 levels deep.
    #[error("NestedPart nested deeper than {limit} levels at offset {offset}")]
    PartsTooDeep {
        /// The limit (4).
        limit: usize,
        /// Offset of the too-deep part (0 when checking a built message).
        offset: usize,
    },
    /// Extensions containing maps, arrays or tags more than 4 levels deep.
    #[error(
        "extensions nested deeper than {limit} levels of maps, arrays and tags at offset {offset}"
    )]
    ExtensionsTooDeep {
        /// The limit (4).
        limit: usize,
        /// Offset of the too-deep item (0 when checking a built value).
        offset: usize,
    },
    /// A topicId longer than 4096 octets.
    #[error("topicId of {len} octets exceeds {limit} octets")]
    TopicTooLong {
        /// Length found.
        len: usize,
        /// The limit (4096).
        limit: usize,
    },
    /// A top-level extension key that is neither an integer nor a text string.
    #[error("extension key must be an integer or a text string, found {found} at offset {offset}")]
    InvalidExtensionKey {
        /// The type found.
        found: &'static str,
        /// Offset of the key.
        offset: usize,
    },
    /// A text extension key that is empty or longer than 255 octets.
    #[error("text extension key must be 1 to 255 octets, found {len} at offset {offset}")]
    ExtensionKeyLength {
        /// Length found.
        len: usize,
        /// Offset of the key (0 when checking a built key).
        offset: usize,
    },
    /// An integer map key outside ±(2^53 − 1).
    #[error("integer map key outside ±(2^53-1) at offset {offset}")]
    IntegerKeyOutOfRange {
        /// Offset of the key (0 when checking a built key).
        offset: usize,
    },
    /// A map key inside an extension value that is not an integer, text or byte string.
    #[error(
        "map key inside an extension must be an integer, text or byte string, found {found} at offset {offset}"
    )]
    InvalidNestedMapKey {
        /// The type found.
        found: &'static str,
        /// Offset of the key.
        offset: usize,
    },
    /// More top-level extension entries than the configured limit.
    #[error("more than {limit} extension entries at offset {offset}")]
    TooManyExtensions {
        /// The configured limit.
        limit: usize,
        /// Offset of the extensions map.
        offset: usize,
    },
    /// A disposition value above 255.
    #[error("disposition {value} out of range 0..255 at offset {offset}")]
    DispositionOutOfRange {
        /// Value found.
        value: u64,
        /// Offset of the integer.
        offset: usize,
    },
    /// An attempt to store key 1 or 2 (senderUri / roomUri) as a generic extension.
    #[error("extension key {key} is reserved; use the sender_uri/room_uri fields")]
    ReservedExtensionKey {
        /// The key (1 or 2).
        key: i64,
    },

    // ----- message IDs -----
    /// The message lacks the extension needed to compute its message ID.
    #[error("message has no {what} extension (key {key})")]
    MissingExtension {
        /// "senderUri" or "roomUri".
        what: &'static str,
        /// The extension key.
        key: u8,
    },
    /// A URI longer than 65535 octets cannot be length-prefixed in the -08 hash input.
    #[error("{what} of {len} octets is too long for the message ID hash input")]
    UriTooLong {
        /// "senderUri" or "roomUri".
        what: &'static str,
        /// Length found.
        len: usize,
    },
    /// The bytes given for a message ID do not start like an encoded MIMI content message
    /// with the expected salt.
    #[error("bytes do not start with a MIMI content array and its 16-byte salt")]
    NotMimiContent,
    /// A message ID in hex that is not 64 hex digits.
    #[error("message ID must be 64 hex digits")]
    InvalidMessageIdHex,

    // ----- semantic validation ("log and discard") -----
    /// A referenced message ID whose first octet is not a known hash algorithm.
    #[error("{what} message ID uses unknown hash algorithm {alg}")]
    UnknownHashAlgorithm {
        /// "replaces" or "inReplyTo".
        what: &'static str,
        /// The first octet.
        alg: u8,
    },
    /// An absolute expiry more than a year before the reference time.
    #[error("absolute expiry {expires_s} s is more than a year in the past")]
    ExpiryTooFarInPast {
        /// The expiry, seconds since the UNIX epoch.
        expires_s: u32,
    },
    /// An expiry more than a year after the reference time.
    #[error("expiry {time_s} s ({kind}) is more than a year in the future")]
    ExpiryTooFarInFuture {
        /// "relative" or "absolute".
        kind: &'static str,
        /// The expiry time field.
        time_s: u32,
    },
    /// The hub-accepted timestamp is further in the future than the allowed clock skew.
    #[error("hub accepted timestamp {timestamp_ms} ms is in the future (now {now_ms} ms)")]
    TimestampInFuture {
        /// The hub timestamp.
        timestamp_ms: u64,
        /// The local clock.
        now_ms: u64,
    },
    /// The hub-accepted timestamp predates the MIMI content format.
    #[error("hub accepted timestamp {timestamp_ms} ms predates the content format")]
    TimestampTooEarly {
        /// The hub timestamp.
        timestamp_ms: u64,
    },
    /// The hub-accepted timestamp predates the creation of the room.
    #[error(
        "hub accepted timestamp {timestamp_ms} ms predates room creation at {room_created_ms} ms"
    )]
    TimestampBeforeRoomCreation {
        /// The hub timestamp.
        timestamp_ms: u64,
        /// When the room was created.
        room_created_ms: u64,
    },
    /// The senderUri or roomUri extension differs from what the transport says.
    #[error("{what} extension {found:?} does not match expected {expected:?}")]
    UriMismatch {
        /// "senderUri" or "roomUri".
        what: &'static str,
        /// Value in the message.
        found: String,
        /// Value expected by the caller.
        expected: String,
    },
}
