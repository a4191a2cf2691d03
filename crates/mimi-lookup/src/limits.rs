//! Every version, size and count bound (docs/discovery-lookup.md §"Limits",
//! docs/decisions/0113). Decoders reject anything beyond them before doing work proportional
//! to what the input claims; constructors refuse to produce it.

/// Version of every wire structure and of the sealing AAD.
pub const VERSION: u8 = 1;

/// Most blinded elements in one [`crate::BlindedQuery`] (and evaluated elements in one
/// [`crate::Evaluation`]).
pub const MAX_BATCH: usize = 64;

/// Longest record (assertion or revocation) that can be sealed, in bytes. Equal to the largest
/// signed discovery object (`mimi_discovery::limits::MAX_OBJECT_LEN`).
pub const MAX_RECORD_LEN: usize = 8192;

/// ChaCha20-Poly1305 nonce length.
pub const NONCE_LEN: usize = 12;

/// ChaCha20-Poly1305 tag length.
pub const TAG_LEN: usize = 16;

/// Shortest sealed ciphertext: a one-byte record and the tag.
pub const MIN_CIPHERTEXT_LEN: usize = 1 + TAG_LEN;

/// Longest sealed ciphertext.
pub const MAX_CIPHERTEXT_LEN: usize = MAX_RECORD_LEN + TAG_LEN;

/// Most records one index holds (and one lookup answer carries).
pub const MAX_RECORDS_PER_INDEX: usize = 32;

/// Most records one publisher holds at one index; a further upload replaces its oldest.
pub const MAX_RECORDS_PER_PUBLISHER: usize = 4;

/// Most records one upload request stores.
pub const MAX_UPLOAD_ENTRIES: usize = 64;

/// Most removals in one upload request.
pub const MAX_REMOVALS: usize = 64;

/// Longest publisher id, in bytes.
pub const MAX_PUBLISHER_ID_LEN: usize = 255;

/// Longest time a record may be kept, from its upload: 400 days (an assertion lives at most
/// 366 days, and its revocation must outlive it).
pub const MAX_RECORD_TTL_SECS: u64 = 400 * 86_400;

/// Longest wire message of any type, in bytes (checked before decoding).
pub const MAX_MESSAGE_LEN: usize = 1 << 20;
