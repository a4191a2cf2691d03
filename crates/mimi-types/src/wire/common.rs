//! Building blocks shared by many protocol structs: the protocol selector, URIs, UTF-8
//! strings and media types.

use std::fmt;

use tls_codec::{
    Deserialize, Serialize, Size, TlsDeserialize, TlsSerialize, TlsSize, VLByteSlice, VLByteVec,
};

use super::codec::invalid;
use crate::id::MimiUri;

/// The messaging protocol a request is about (protocol-06 §5).
///
/// Only `mls10` is defined; `reserved` is never valid on the wire, so it is not a variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, TlsSize, TlsSerialize, TlsDeserialize)]
#[repr(u8)]
pub enum Protocol {
    /// MLS 1.0 (RFC 9420).
    Mls10 = 1,
}

/// `IdentifierUri` (protocol-06 §5.2): a MIMI URI as `opaque uri<V>`.
///
/// Decoding checks that the bytes are a valid `mimi://` URI and keeps both the exact bytes
/// received (so that signatures over the enclosing struct verify and forwarding is
/// byte-exact) and the parsed, normalized [`MimiUri`] used for every comparison.
#[derive(Clone)]
pub struct IdentifierUri {
    raw: String,
    uri: MimiUri,
}

impl IdentifierUri {
    /// The parsed, normalized URI.
    pub fn uri(&self) -> &MimiUri {
        &self.uri
    }

    /// The URI exactly as it appeared on the wire.
    pub fn as_received(&self) -> &str {
        &self.raw
    }
}

impl From<MimiUri> for IdentifierUri {
    fn from(uri: MimiUri) -> Self {
        Self {
            raw: uri.as_str().to_owned(),
            uri,
        }
    }
}

impl PartialEq for IdentifierUri {
    fn eq(&self, other: &Self) -> bool {
        self.uri == other.uri
    }
}
impl Eq for IdentifierUri {}

impl fmt::Debug for IdentifierUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentifierUri({})", self.raw)
    }
}

impl fmt::Display for IdentifierUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Size for IdentifierUri {
    fn tls_serialized_len(&self) -> usize {
        VLByteSlice(self.raw.as_bytes()).tls_serialized_len()
    }
}

impl Serialize for IdentifierUri {
    fn tls_serialize<W: std::io::Write>(&self, writer: &mut W) -> Result<usize, tls_codec::Error> {
        VLByteSlice(self.raw.as_bytes()).tls_serialize(writer)
    }
}

impl Deserialize for IdentifierUri {
    fn tls_deserialize<R: std::io::Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        Self::from_raw(VLByteVec::tls_deserialize(bytes)?)
    }
}

impl IdentifierUri {
    fn from_raw(raw: VLByteVec) -> Result<Self, tls_codec::Error> {
        let raw =
            String::from_utf8(raw.into()).map_err(|_| invalid("identifier URI is not UTF-8"))?;
        let uri = MimiUri::parse(&raw).map_err(|e| invalid(format!("identifier URI: {e}")))?;
        Ok(Self { raw, uri })
    }
}

/// Give a `String` newtype a checking constructor, `as_str`, and an `opaque<V>` codec that
/// requires UTF-8 and applies the same check when decoding.
macro_rules! checked_string {
    ($name:ident, $what:literal, $noun:literal, $check:path) => {
        impl $name {
            #[doc = concat!("Check and wrap a value (see [`", stringify!($name), "`]).")]
            pub fn new(s: impl Into<String>) -> Result<Self, crate::Error> {
                let s = s.into();
                $check(&s).map_err(|reason| crate::Error::Invalid {
                    what: $what,
                    reason,
                })?;
                Ok(Self(s))
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Size for $name {
            fn tls_serialized_len(&self) -> usize {
                VLByteSlice(self.0.as_bytes()).tls_serialized_len()
            }
        }

        impl Serialize for $name {
            fn tls_serialize<W: std::io::Write>(
                &self,
                writer: &mut W,
            ) -> Result<usize, tls_codec::Error> {
                VLByteSlice(self.0.as_bytes()).tls_serialize(writer)
            }
        }

        impl Deserialize for $name {
            fn tls_deserialize<R: std::io::Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
                let raw = VLByteVec::tls_deserialize(bytes)?;
                let s = String::from_utf8(raw.into())
                    .map_err(|_| invalid(concat!($noun, " is not UTF-8")))?;
                $check(&s).map_err(|r| invalid(format!(concat!($noun, ": {}"), r)))?;
                Ok(Self(s))
            }
        }
    };
}

/// Longest [`Uri`] accepted, in bytes.
pub const MAX_GENERIC_URI_LEN: usize = 2048;

/// `Uri` (protocol-06 §7.6, room-policy-03): any URI, e.g. an `https` avatar or a MIMI URI.
///
/// May be empty, which the room-policy structs use for "not set". Otherwise it must be
/// printable ASCII without spaces (RFC 3986 characters), start with a scheme and be at most
/// [`MAX_GENERIC_URI_LEN`] bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Uri(String);

checked_string!(Uri, "Uri", "URI", check_uri);

impl Uri {
    /// Whether the URI is unset (empty).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn check_uri(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    if s.len() > MAX_GENERIC_URI_LEN {
        return Err(format!("longer than {MAX_GENERIC_URI_LEN} bytes"));
    }
    if let Some(c) = s.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!("character {c:?} not allowed in a URI"));
    }
    let scheme = s.split(':').next().unwrap_or_default();
    let scheme_ok = s.contains(':')
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_ok {
        return Err("no URI scheme".into());
    }
    Ok(())
}

/// Longest [`Utf8String`] accepted, in bytes.
pub const MAX_STRING_LEN: usize = 65_536;

/// `UTF8String` (protocol-06 §7.6), also used for the undefined `string` type of §5.3 and
/// §5.8: "a sequence of valid UTF8 without nulls", as `opaque string<V>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Utf8String(String);

checked_string!(Utf8String, "UTF8String", "string", check_string);

impl fmt::Display for Utf8String {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn check_string(s: &str) -> Result<(), String> {
    if s.len() > MAX_STRING_LEN {
        return Err(format!("longer than {MAX_STRING_LEN} bytes"));
    }
    // protocol-06 §7.6: "a sequence of valid UTF8 without nulls"
    if s.contains('\0') {
        return Err("contains a NUL character".into());
    }
    Ok(())
}

/// A media type parameter (draft-ietf-mls-extensions "Content Advertisement").
#[derive(Debug, Clone, PartialEq, Eq, Hash, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct Parameter {
    /// Parameter name, e.g. `charset`.
    pub parameter_name: VLByteVec,
    /// Parameter value, without RFC 2045 quoting.
    pub parameter_value: VLByteVec,
}

/// `MediaType` (draft-ietf-mls-extensions "Content Advertisement"): `type/subtype` plus
/// parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct MediaType {
    /// IANA top-level type, `/`, subtype.
    pub media_type: VLByteVec,
    /// Zero or more parameters.
    pub parameters: Vec<Parameter>,
}

/// `DomainName` / `Domain` (room-policy-03, ratchet-tree-options-03): `opaque domain<V>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct DomainName {
    /// The domain name bytes.
    pub domain: VLByteVec,
}

/// An [`IdentifierUri`] that may be zero-length on the wire, meaning "none".
///
/// Used where the draft writes a plain `IdentifierUri` but allows it to be absent
/// (`KeyMaterialRequest.roomId` outside a room, `AbuseReport.reportingUser` which "optionally
/// contains" the reporter): see docs/decisions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OptionalIdentifierUri(pub Option<IdentifierUri>);

impl Size for OptionalIdentifierUri {
    fn tls_serialized_len(&self) -> usize {
        match &self.0 {
            Some(uri) => uri.tls_serialized_len(),
            None => 1,
        }
    }
}

impl Serialize for OptionalIdentifierUri {
    fn tls_serialize<W: std::io::Write>(&self, writer: &mut W) -> Result<usize, tls_codec::Error> {
        match &self.0 {
            Some(uri) => uri.tls_serialize(writer),
            None => VLByteSlice(&[]).tls_serialize(writer),
        }
    }
}

impl Deserialize for OptionalIdentifierUri {
    fn tls_deserialize<R: std::io::Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        let raw = VLByteVec::tls_deserialize(bytes)?;
        if raw.as_slice().is_empty() {
            return Ok(Self(None));
        }
        Ok(Self(Some(IdentifierUri::from_raw(raw)?)))
    }
}

/// A TLS `bool` (room-policy-03: `enum { false(0), true(1) } bool`); other values are errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Bool(pub bool);

impl From<bool> for Bool {
    fn from(b: bool) -> Self {
        Bool(b)
    }
}

impl Size for Bool {
    fn tls_serialized_len(&self) -> usize {
        1
    }
}

impl Serialize for Bool {
    fn tls_serialize<W: std::io::Write>(&self, writer: &mut W) -> Result<usize, tls_codec::Error> {
        u8::from(self.0).tls_serialize(writer)
    }
}

impl Deserialize for Bool {
    fn tls_deserialize<R: std::io::Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        match u8::tls_deserialize(bytes)? {
            0 => Ok(Bool(false)),
            1 => Ok(Bool(true)),
            v => Err(invalid(format!("bool must be 0 or 1, got {v}"))),
        }
    }
}
