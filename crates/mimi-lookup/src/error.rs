//! The one error type of the crate.
//!
//! No variant carries an identifier, a key or record contents: errors may be logged by a
//! distribution point, which must never log an SII.

/// Everything that can go wrong in private lookup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The identifier is a handle: handles are service specific and are not looked up through
    /// discovery; only phone numbers and email addresses are SIIs.
    #[error(
        "a handle is not a service-independent identifier; use a phone number or an email address"
    )]
    NotAnSii,

    /// The input ended inside `what`.
    #[error("truncated {what}")]
    Truncated {
        /// The structure being decoded.
        what: &'static str,
    },

    /// Bytes followed a complete `what`.
    #[error("trailing bytes after {what}")]
    TrailingBytes {
        /// The structure that was complete.
        what: &'static str,
    },

    /// An integer or length in `what` was not encoded in its shortest form.
    #[error("non-canonical CBOR in {what}")]
    NonCanonical {
        /// The structure being decoded.
        what: &'static str,
    },

    /// `what` does not have the expected shape.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// The structure being decoded.
        what: &'static str,
        /// What was wrong.
        reason: &'static str,
    },

    /// `what` has a version this implementation does not know.
    #[error("unsupported version {version} of {what}")]
    UnsupportedVersion {
        /// The structure being decoded.
        what: &'static str,
        /// The version found.
        version: u64,
    },

    /// `what` is longer than allowed.
    #[error("{what} too large: at most {max} bytes")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// The limit, in bytes.
        max: usize,
    },

    /// More `what` than allowed.
    #[error("too many {what}: at most {max}")]
    TooMany {
        /// What there were too many of.
        what: &'static str,
        /// The limit.
        max: usize,
    },

    /// `what` is empty but must not be.
    #[error("empty {what}")]
    Empty {
        /// What was empty.
        what: &'static str,
    },

    /// A group element is not a valid, non-identity Ristretto255 encoding, or a scalar is not
    /// canonical and non-zero.
    #[error("invalid group element or scalar in {what}")]
    InvalidElement {
        /// Where.
        what: &'static str,
    },

    /// A DP secret key is not a canonical non-zero scalar.
    #[error("invalid OPRF key")]
    InvalidKey,

    /// The message names another OPRF key than the one used or expected.
    #[error("the message is for another OPRF key")]
    KeyMismatch,

    /// An evaluation does not answer the blinded elements it is used with.
    #[error("the evaluation has {got} elements for {expected} blinded elements")]
    CountMismatch {
        /// Blinded elements sent.
        expected: usize,
        /// Evaluated elements received.
        got: usize,
    },

    /// The evaluation proof does not verify against the DP's published key: the DP evaluated
    /// with another key (which could tag the asker) or altered the answer.
    #[error("the evaluation proof does not verify against the published key")]
    ProofInvalid,

    /// The OPRF library refused an input (cannot happen for encoded SIIs).
    #[error("OPRF input rejected")]
    OprfInput,

    /// A sealed record does not open under this lookup secret: it belongs to another index or
    /// SII, or it was altered.
    #[error("the sealed record does not open (another index, or altered)")]
    OpenFailed,

    /// A cryptographic primitive failed where it cannot for valid parameters.
    #[error("internal cryptographic failure: {0}")]
    Crypto(&'static str),

    /// The index already holds the most records allowed and none of them may be replaced.
    #[error("the index is full ({max} records)")]
    IndexFull {
        /// Records per index.
        max: usize,
    },

    /// The store holds the most records allowed.
    #[error("the store is full ({max} records)")]
    StoreFull {
        /// Records in the whole store.
        max: usize,
    },

    /// A record's expiry time is not in the future.
    #[error("the record has already expired")]
    Expired,

    /// A record's expiry time is further away than allowed.
    #[error("the record expires too far in the future (at most {max_secs} s from now)")]
    ExpiryTooFar {
        /// The longest time to live, in seconds.
        max_secs: u64,
    },

    /// The requester has used its evaluation budget; retry later.
    #[error("rate limited: retry in {retry_after_ms} ms")]
    RateLimited {
        /// Milliseconds until the request would be allowed.
        retry_after_ms: u64,
    },

    /// The rate limiter tracks the most requesters it may and none can be forgotten yet.
    #[error("too many requesters being rate limited")]
    RateLimiterFull,
}
