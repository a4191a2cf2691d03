//! What the two signed object kinds share: their type codes and content types, the payload
//! keys, the authority id, and the extension map (negative keys, non-critical).

use std::collections::BTreeMap;
use std::fmt;

use mimi_types::id::{MAX_DOMAIN_LEN, ProviderDomain};

use crate::cbor::{Reader, Writer};
use crate::error::{Error, Malformed};
use crate::limits::{
    MAX_EXTENSION_DEPTH, MAX_EXTENSION_KEYS, MAX_EXTENSION_VALUE_LEN, MAX_EXTENSIONS,
};

/// Content type (COSE header 3) of a mapping assertion.
pub const ASSERTION_CONTENT_TYPE: &str = "application/mimi-mapping-assertion+cbor";

/// Content type (COSE header 3) of a mapping revocation.
pub const REVOCATION_CONTENT_TYPE: &str = "application/mimi-mapping-revocation+cbor";

/// Payload keys (docs/discovery.md §2). Keys 0 and above are critical: a decoder
/// rejects any it does not know. Negative keys are extensions.
pub(crate) mod key {
    /// Object type (1 = assertion, 2 = revocation).
    pub const TYPE: u64 = 1;
    /// Authority id.
    pub const AUTHORITY: u64 = 2;
    /// Assertion serial.
    pub const SERIAL: u64 = 3;
    /// Issued-at, UNIX seconds.
    pub const ISSUED_AT: u64 = 4;
    /// Expiry, UNIX seconds.
    pub const EXPIRES_AT: u64 = 5;
    /// The SII.
    pub const SII: u64 = 6;
    /// The SSI entries.
    pub const SSIS: u64 = 7;
    /// Revocation target.
    pub const TARGET: u64 = 8;
}

/// The two kinds of signed object. They differ in content type and in the payload's type
/// field, so one can never be taken for the other (docs/decisions/0101).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// A mapping assertion ([`crate::MappingAssertion`]).
    Assertion,
    /// A mapping revocation ([`crate::Revocation`]).
    Revocation,
}

impl ObjectKind {
    /// The COSE content type of this kind.
    pub const fn content_type(self) -> &'static str {
        match self {
            ObjectKind::Assertion => ASSERTION_CONTENT_TYPE,
            ObjectKind::Revocation => REVOCATION_CONTENT_TYPE,
        }
    }

    /// The payload type code of this kind (payload key 1).
    pub const fn type_code(self) -> u64 {
        match self {
            ObjectKind::Assertion => 1,
            ObjectKind::Revocation => 2,
        }
    }

    pub(crate) fn from_content_type(ct: &str) -> Option<Self> {
        [ObjectKind::Assertion, ObjectKind::Revocation]
            .into_iter()
            .find(|k| k.content_type() == ct)
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectKind::Assertion => "mapping assertion",
            ObjectKind::Revocation => "mapping revocation",
        })
    }
}

/// Non-critical payload extensions: negative integer keys `-1` to `-65536`, each with one CBOR
/// value of the generic subset (integers, strings, arrays, maps, false/true/null; no tags or
/// floats), at most [`MAX_EXTENSION_VALUE_LEN`] bytes and [`MAX_EXTENSION_DEPTH`] levels deep.
///
/// A verifier that does not know an extension ignores it; it is still covered by the signature
/// and kept verbatim, so decoding and re-encoding gives the same bytes
/// (docs/decisions/0102).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extensions {
    /// Keyed by the CBOR argument `n` of the key `-1 - n`, so iteration is canonical order.
    entries: BTreeMap<u64, Vec<u8>>,
}

impl Extensions {
    /// No extensions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add or replace the value at `key` (`-65536..=-1`); `value` is one encoded CBOR item.
    pub fn insert(&mut self, key: i64, value: Vec<u8>) -> Result<(), Error> {
        let n = key_arg(key).ok_or(Error::Invalid(Malformed::OutOfRange("extension key")))?;
        if !self.entries.contains_key(&n) && self.entries.len() >= MAX_EXTENSIONS {
            return Err(Error::Invalid(Malformed::TooMany {
                what: "extensions",
                limit: MAX_EXTENSIONS,
            }));
        }
        check_value(&value).map_err(Error::Invalid)?;
        self.entries.insert(n, value);
        Ok(())
    }

    /// The encoded value at `key`.
    pub fn get(&self, key: i64) -> Option<&[u8]> {
        key_arg(key).and_then(|n| self.entries.get(&n).map(Vec::as_slice))
    }

    /// The entries in canonical order (`-1`, `-2`, ...).
    pub fn iter(&self) -> impl Iterator<Item = (i64, &[u8])> {
        self.entries
            .iter()
            .map(|(n, v)| (-1 - (*n as i64), v.as_slice()))
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        for (n, v) in &self.entries {
            w.nint_arg(*n);
            w.raw(v);
        }
    }

    pub(crate) fn decode_entry(&mut self, n: u64, r: &mut Reader<'_>) -> Result<(), Malformed> {
        if n >= MAX_EXTENSION_KEYS {
            return Err(Malformed::OutOfRange("extension key"));
        }
        if self.entries.len() >= MAX_EXTENSIONS {
            return Err(Malformed::TooMany {
                what: "extensions",
                limit: MAX_EXTENSIONS,
            });
        }
        let value = r.skip_value(MAX_EXTENSION_DEPTH)?;
        if value.len() > MAX_EXTENSION_VALUE_LEN {
            return Err(Malformed::BadLength {
                what: "extension value",
            });
        }
        self.entries.insert(n, value.to_vec());
        Ok(())
    }
}

fn key_arg(key: i64) -> Option<u64> {
    if key < 0 {
        let n = (-1 - key) as u64;
        (n < MAX_EXTENSION_KEYS).then_some(n)
    } else {
        None
    }
}

fn check_value(value: &[u8]) -> Result<(), Malformed> {
    if value.len() > MAX_EXTENSION_VALUE_LEN {
        return Err(Malformed::BadLength {
            what: "extension value",
        });
    }
    let mut r = Reader::new(value);
    r.skip_value(MAX_EXTENSION_DEPTH)?;
    r.finish()
}

/// Read a payload map: every non-negative key goes to `field`, which returns `Ok(false)` for a
/// key it does not know (an unknown critical field); negative keys are extensions.
pub(crate) fn decode_payload_map<'a>(
    r: &mut Reader<'a>,
    max_fields: usize,
    mut field: impl FnMut(u64, &mut Reader<'a>) -> Result<bool, Malformed>,
) -> Result<Extensions, Malformed> {
    let n = r.map(max_fields + MAX_EXTENSIONS, "payload entries")?;
    let mut prev = None;
    let mut ext = Extensions::new();
    for _ in 0..n {
        let (major, arg) = r.int_key(&mut prev)?;
        if major == crate::cbor::major::UINT {
            if !field(arg, r)? {
                return Err(Malformed::UnknownCriticalField(arg));
            }
        } else {
            ext.decode_entry(arg, r)?;
        }
    }
    Ok(ext)
}

/// Read the payload type field and check it names `expected`.
pub(crate) fn decode_type(r: &mut Reader<'_>, expected: ObjectKind) -> Result<(), Malformed> {
    let code = r.uint("object type")?;
    if code == expected.type_code() {
        Ok(())
    } else if code == ObjectKind::Assertion.type_code()
        || code == ObjectKind::Revocation.type_code()
    {
        Err(Malformed::WrongKind { expected })
    } else {
        Err(Malformed::UnknownKind("object type"))
    }
}

/// Read an authority id: a normalized provider-style domain name.
pub(crate) fn decode_authority(r: &mut Reader<'_>) -> Result<ProviderDomain, Malformed> {
    let text = r.text(1, MAX_DOMAIN_LEN, "authority id")?;
    let d = ProviderDomain::parse(text).map_err(|_| Malformed::Identifier("authority id"))?;
    if d.as_str() != text {
        return Err(Malformed::NotNormalized("authority id"));
    }
    Ok(d)
}

/// Take a required field out of its `Option`.
pub(crate) fn required<T>(v: Option<T>, what: &'static str) -> Result<T, Malformed> {
    v.ok_or(Malformed::MissingField(what))
}

/// Store a field's value, which the key order already guarantees is the first.
pub(crate) fn set<T>(slot: &mut Option<T>, v: T) -> Result<bool, Malformed> {
    *slot = Some(v);
    Ok(true)
}
