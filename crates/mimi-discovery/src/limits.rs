//! Every size, count and time bound of the format (docs/discovery.md §3.4,
//! docs/decisions/0104). Decoders reject anything beyond them before doing work proportional to
//! what the input claims; constructors and signers refuse to produce it.

/// Largest encoded object (tagged COSE_Sign1), assertion or revocation, in bytes.
pub const MAX_OBJECT_LEN: usize = 8192;

/// Most SSIs one assertion may bind its SII to.
pub const MAX_SSIS: usize = 16;

/// Most preference tags on one SSI entry (discovery-requirements R2).
pub const MAX_TAGS: usize = 8;

/// Longest preference tag, in bytes (printable ASCII, at least 1).
pub const MAX_TAG_LEN: usize = 32;

/// Longest key id (COSE `kid`), in bytes (at least 1).
pub const MAX_KID_LEN: usize = 32;

/// Most extension (negative-key) entries in one payload.
pub const MAX_EXTENSIONS: usize = 8;

/// Longest encoded extension value, in bytes.
pub const MAX_EXTENSION_VALUE_LEN: usize = 512;

/// Deepest nesting of arrays and maps inside one extension value.
pub const MAX_EXTENSION_DEPTH: usize = 4;

/// Extension keys are `-1` down to `-MAX_EXTENSION_KEYS`.
pub const MAX_EXTENSION_KEYS: u64 = 65536;

/// Longest assertion lifetime (`expires_at - issued_at`): 366 days.
pub const MAX_LIFETIME_SECS: u64 = 366 * 86_400;

/// Default clock skew a verifier tolerates on both ends of a validity period: 5 minutes
/// (as docs/decisions/0043 for certificates).
pub const DEFAULT_CLOCK_SKEW_SECS: u64 = 300;

/// Most objects [`crate::check_lookup`] examines from one answer; the rest are reported as
/// rejected without being parsed.
pub const MAX_LOOKUP_ITEMS: usize = 256;
