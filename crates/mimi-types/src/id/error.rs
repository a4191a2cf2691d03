//! Why an identifier was rejected.

use super::kinds::UriKind;

/// Why an identifier (a `mimi://` URI, a domain, a handle, a phone number, an email address or
/// a display name) was rejected. Every variant is the input's fault; the message says which rule
/// it broke.
///
/// Strings copied from the input into an error are cut to a few dozen characters, so an error
/// message never echoes a large input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The input does not start with a URI scheme (`mimi:`).
    #[error("missing scheme: a MIMI URI starts with \"mimi://\"")]
    MissingScheme,
    /// The input has a scheme other than `mimi`.
    #[error("wrong scheme \"{0}\": expected \"mimi\"")]
    WrongScheme(String),
    /// `mimi:` is not followed by `//` and an authority.
    #[error("missing authority: \"mimi:\" must be followed by \"//\" and the provider domain")]
    MissingAuthority,
    /// The authority is empty (`mimi:///u/alice`).
    #[error("no host: a MIMI URI names its provider domain after \"mimi://\"")]
    NoHost,
    /// The host is not a valid DNS name.
    #[error("invalid host \"{host}\": {reason}")]
    InvalidHost {
        /// The host as given (cut if long).
        host: String,
        /// The rule it broke.
        reason: &'static str,
    },
    /// The authority has a userinfo part (`mimi://bob@a.example`).
    #[error("userinfo (\"...@\" before the host) is not allowed in a MIMI URI")]
    UserinfoNotAllowed,
    /// The authority has a port (`mimi://a.example:443`).
    #[error("a port is not allowed in a MIMI URI")]
    PortNotAllowed,
    /// The URI has a query (`?...`).
    #[error("a query (\"?...\") is not allowed in a MIMI URI")]
    QueryNotAllowed,
    /// The URI has a fragment (`#...`).
    #[error("a fragment (\"#...\") is not allowed in a MIMI URI")]
    FragmentNotAllowed,
    /// A `%` is not followed by two hex digits, or the decoded bytes are not UTF-8.
    #[error("bad percent-encoding: {0}")]
    BadPercentEncoding(&'static str),
    /// A character that may not appear where it was found.
    #[error("character {ch:?} is not allowed in {what}")]
    InvalidChar {
        /// The character.
        ch: char,
        /// Where it was found (e.g. "an id segment").
        what: &'static str,
    },
    /// The first path segment is not one of the type segments `u p d r g t`.
    #[error("unknown type segment \"{0}\" (expected u, p, d, r, g or t)")]
    UnknownType(String),
    /// A typed URI has no id after its type segment (`mimi://a.example/u`).
    #[error("a {0} URI needs an id after its type segment")]
    MissingId(UriKind),
    /// A path segment is empty (`//`, or a trailing `/` after an id).
    #[error("empty id segment (a trailing \"/\" or \"//\")")]
    EmptySegment,
    /// More id segments than the kind allows.
    #[error("too many segments: a {kind} URI has at most {max} id segment(s)")]
    TooManySegments {
        /// The kind named by the type segment.
        kind: UriKind,
        /// How many id segments it allows.
        max: usize,
    },
    /// Something is longer than its limit, in bytes.
    #[error("{what} is {len} bytes, over the limit of {limit}")]
    TooLong {
        /// What was too long ("URI", "id segment", "domain", ...).
        what: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// A valid URI of the wrong kind for the place it is used in.
    #[error("wrong kind of URI: expected a {expected} URI, got a {found} URI")]
    WrongKind {
        /// The kind required.
        expected: UriKind,
        /// The kind found.
        found: UriKind,
    },
    /// Not a valid phone number.
    #[error("invalid phone number: {0}")]
    InvalidPhone(String),
    /// A region code that is not an ISO 3166-1 alpha-2 code known to the numbering plan data.
    #[error("unknown region \"{0}\" (expected an ISO 3166-1 alpha-2 code such as \"GB\")")]
    UnknownRegion(String),
    /// Not a valid email address (RFC 5322 `addr-spec`, dot-atom subset).
    #[error("invalid email address: {0}")]
    InvalidEmail(&'static str),
    /// Not a valid handle.
    #[error("invalid handle: {0}")]
    InvalidHandle(&'static str),
    /// A display name that is empty after trimming.
    #[error("display name is empty")]
    EmptyDisplayName,
    /// A display name with more Unicode scalar values than allowed.
    #[error("display name is {len} characters, over the limit of {limit}")]
    DisplayNameTooLong {
        /// Its length in Unicode scalar values.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A display name containing a control, line-separator or bidi-override character.
    #[error("display name contains control or formatting character U+{0:04X}")]
    DisplayNameControl(u32),
}

/// At most this many characters of input are copied into an error.
const ECHO_LIMIT: usize = 64;

/// Cut `s` for inclusion in an error message, escaping control characters so that an error
/// message never carries raw control characters into a log.
pub(crate) fn echo(s: &str) -> String {
    let mut out = String::new();
    for (n, c) in s.chars().enumerate() {
        if n == ECHO_LIMIT {
            out.push_str("...");
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}
