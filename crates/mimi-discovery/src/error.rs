//! The one error type of this crate, and the reasons an encoding is malformed.

use std::fmt;

use crate::object::ObjectKind;

/// Why a mapping assertion or revocation was rejected, or could not be built.
///
/// The first seven variants are the verification outcomes of docs/discovery.md §6;
/// [`crate::Verdict`] mirrors them one to one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a well-formed, canonically encoded object of the expected kind.
    #[error("malformed: {0}")]
    Malformed(Malformed),
    /// The authority named in the payload, or the key id in the protected header, is not in the
    /// trust set.
    #[error("unknown authority {authority} (key id {kid})")]
    UnknownAuthority {
        /// The authority id the object names.
        authority: String,
        /// The key id, in hex.
        kid: String,
    },
    /// The Ed25519 signature does not verify under the key the `kid` names.
    #[error("bad signature")]
    BadSignature,
    /// The signature is good but the authority may not sign this object (its scope does not
    /// cover the SII, an SSI's domain, or the revocation's target).
    #[error("not authorized: {0}")]
    NotAuthorized(&'static str),
    /// Issued after `now` plus the allowed clock skew.
    #[error("not yet valid: issued at {issued_at}, now {now}")]
    NotYetValid {
        /// The object's issued-at time (UNIX seconds).
        issued_at: u64,
        /// The verifier's time.
        now: u64,
    },
    /// Expired before `now` minus the allowed clock skew.
    #[error("expired at {expires_at}, now {now}")]
    Expired {
        /// The assertion's expiry time (UNIX seconds).
        expires_at: u64,
        /// The verifier's time.
        now: u64,
    },
    /// Removed by a revocation the verifier holds (discovery-requirements R9).
    #[error("revoked")]
    Revoked,
    /// A value given to a constructor or signer breaks a rule of the format (the same rules
    /// the decoder enforces, see [`Malformed`]).
    #[error("invalid: {0}")]
    Invalid(Malformed),
    /// A trust-set entry is unusable (weak public key, bad key id, duplicate key id).
    #[error("bad trust configuration: {0}")]
    Config(&'static str),
    /// A [`crate::AuthorityConfig`] value is out of its allowed range.
    #[error("bad mapping authority configuration: {0}")]
    AuthorityConfig(&'static str),
    /// The mapping authority refuses to send another one-time code (to this SII, or at all)
    /// before `retry_after` more seconds have passed (docs/decisions/0123).
    #[error("rate limited: retry after {retry_after} s")]
    RateLimited {
        /// Seconds until the limit that refused the request allows one again.
        retry_after: u64,
    },
    /// No live challenge has this id: it never existed, was replaced by a newer challenge for
    /// the same SII, was already used, or died.
    #[error("unknown challenge")]
    UnknownChallenge,
    /// The challenge's one-time code expired; a new challenge is needed.
    #[error("challenge expired")]
    ChallengeExpired,
    /// The one-time code does not match; the challenge stays usable for `attempts_left` more
    /// tries.
    #[error("wrong code ({attempts_left} attempts left)")]
    WrongCode {
        /// Attempts the challenge still allows.
        attempts_left: u32,
    },
    /// The challenge's last allowed attempt failed; the challenge is dead.
    #[error("too many wrong codes: the challenge is dead")]
    TooManyAttempts,
    /// A proof of control is unknown, already used, expired, or for another SII.
    #[error("proof of control rejected: {0}")]
    ProofRejected(&'static str),
    /// The mapping authority needs a new proof of control before it signs for this SII (no
    /// mapping to renew, or control was proven too long ago; docs/decisions/0125).
    #[error("a new proof of control is required: {0}")]
    ProofRequired(&'static str),
    /// A [`crate::CodeSender`] could not deliver a one-time code.
    #[error("one-time code delivery failed: {0}")]
    Delivery(String),
    /// Exported mapping-authority state does not decode, or belongs to another authority.
    #[error("bad mapping authority state: {0}")]
    State(Malformed),
    /// A trust file line cannot be read ([`crate::parse_trust_file`]).
    #[error("trust file line {line}: {reason}")]
    TrustFile {
        /// The line, counting from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}

impl From<Malformed> for Error {
    fn from(m: Malformed) -> Self {
        Error::Malformed(m)
    }
}

/// Why bytes are not a valid encoding (docs/discovery.md §3).
///
/// The same reasons describe invalid values handed to constructors ([`Error::Invalid`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Malformed {
    /// The input is longer than the limit for its kind.
    TooLarge {
        /// Input length in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The input ends inside a data item.
    Truncated,
    /// Bytes follow the single top-level data item.
    TrailingBytes,
    /// An indefinite-length string, array or map.
    IndefiniteLength,
    /// An integer, length or tag argument not in its shortest form.
    NonShortest,
    /// A reserved additional-information value (28..30) or a stray "break".
    Reserved,
    /// A floating-point number, `undefined`, a simple value other than false/true/null, or a
    /// tag where none is allowed.
    UnsupportedValue,
    /// A text string that is not valid UTF-8.
    InvalidUtf8,
    /// A data item of the wrong CBOR type.
    UnexpectedType {
        /// What the format requires here.
        expected: &'static str,
    },
    /// Map keys out of canonical order, or a duplicate key (RFC 8949 §4.2.1).
    MapKeyOrder,
    /// Arrays and maps nested too deeply inside an extension value.
    TooDeep,
    /// More elements than the format allows.
    TooMany {
        /// Which field.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// A string longer than the format allows (or an empty one where one is required).
    BadLength {
        /// Which field.
        what: &'static str,
    },
    /// A required field is absent.
    MissingField(&'static str),
    /// A payload key the format does not define in the critical (non-negative) range.
    UnknownCriticalField(u64),
    /// A protected-header label other than alg (1), content type (3) and kid (4).
    UnknownHeader,
    /// The protected header has a `crit` (2) parameter: no critical header extensions are
    /// defined.
    CriticalHeader,
    /// The unprotected header is not the empty map.
    UnprotectedHeader,
    /// The algorithm is not Ed25519 (-19).
    Algorithm,
    /// The content type is missing or not one of this format's.
    ContentType,
    /// An assertion where a revocation was expected, or the reverse; or the payload's type
    /// field disagrees with the content type.
    WrongKind {
        /// What was expected.
        expected: ObjectKind,
    },
    /// The COSE_Sign1 tag (18) is missing, or another tag is present.
    Tag,
    /// The payload is `nil` (detached payloads are not allowed).
    DetachedPayload,
    /// The signature is not 64 bytes.
    SignatureLength,
    /// An identifier does not parse (SII, SSI, authority id).
    Identifier(&'static str),
    /// An identifier parses but is not written in its normalized form.
    NotNormalized(&'static str),
    /// Elements out of the required order, or duplicated.
    NotSorted(&'static str),
    /// A kind code (SII kind, revocation target kind, object type) the format does not define.
    UnknownKind(&'static str),
    /// `issued_at` is not before `expires_at`.
    Validity,
    /// `expires_at - issued_at` exceeds the maximum lifetime.
    LifetimeTooLong,
    /// A value outside its allowed range (e.g. an extension key).
    OutOfRange(&'static str),
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { size, limit } => {
                write!(f, "{size} bytes exceed the limit of {limit}")
            }
            Self::Truncated => f.write_str("input ends inside a data item"),
            Self::TrailingBytes => f.write_str("trailing bytes after the object"),
            Self::IndefiniteLength => f.write_str("indefinite-length item"),
            Self::NonShortest => f.write_str("argument not in shortest form"),
            Self::Reserved => f.write_str("reserved additional information or stray break"),
            Self::UnsupportedValue => f.write_str("float, simple value or tag not allowed here"),
            Self::InvalidUtf8 => f.write_str("text string is not UTF-8"),
            Self::UnexpectedType { expected } => write!(f, "expected {expected}"),
            Self::MapKeyOrder => f.write_str("map keys unsorted or duplicated"),
            Self::TooDeep => f.write_str("nested too deeply"),
            Self::TooMany { what, limit } => write!(f, "more than {limit} {what}"),
            Self::BadLength { what } => write!(f, "{what} has a length out of bounds"),
            Self::MissingField(what) => write!(f, "missing field {what}"),
            Self::UnknownCriticalField(key) => write!(f, "unknown critical field {key}"),
            Self::UnknownHeader => f.write_str("unknown protected header parameter"),
            Self::CriticalHeader => f.write_str("crit header parameter not supported"),
            Self::UnprotectedHeader => f.write_str("unprotected header must be empty"),
            Self::Algorithm => f.write_str("algorithm must be Ed25519 (-19)"),
            Self::ContentType => f.write_str("missing or unknown content type"),
            Self::WrongKind { expected } => write!(f, "expected a {expected}"),
            Self::Tag => f.write_str("missing or wrong COSE_Sign1 tag"),
            Self::DetachedPayload => f.write_str("detached payload not allowed"),
            Self::SignatureLength => f.write_str("signature must be 64 bytes"),
            Self::Identifier(what) => write!(f, "invalid {what}"),
            Self::NotNormalized(what) => write!(f, "{what} not in normalized form"),
            Self::NotSorted(what) => write!(f, "{what} unsorted or duplicated"),
            Self::UnknownKind(what) => write!(f, "unknown {what}"),
            Self::Validity => f.write_str("issued-at not before expiry"),
            Self::LifetimeTooLong => f.write_str("lifetime exceeds the maximum"),
            Self::OutOfRange(what) => write!(f, "{what} out of range"),
        }
    }
}
