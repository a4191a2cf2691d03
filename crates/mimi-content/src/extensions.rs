//! The `mimiExtensions` map (content-08 §"Extension Fields").
//!
//! Keys 1 (senderUri) and 2 (roomUri) are typed fields; every other entry keeps its value as
//! the exact, validated CBOR bytes it arrived as, so unknown extensions re-encode unchanged.

use std::collections::BTreeMap;

use minicbor::Encoder;

use crate::error::Error;
use crate::strict::{ContentReader, Reader};
pub use crate::strict::{MAX_EXTENSION_DEPTH, MAX_SAFE_INTEGER};

/// Extension key of the sender's URI.
pub const SENDER_URI_KEY: i64 = 1;
/// Extension key of the room's URI.
pub const ROOM_URI_KEY: i64 = 2;
/// Longest text extension key in octets (CDDL `tstr .size (1..255)`).
pub const MAX_TEXT_KEY_LEN: usize = 255;

/// A key of the extensions map: an integer within ±(2^53 − 1) or a 1..=255-octet text.
///
/// `Ord` is the RFC 8949 §4.2.1 order: bytewise order of the deterministic encodings
/// (unsigned before negative before text; shorter encodings first).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExtensionKey {
    /// Positive keys are IANA-registered, negative ones private use.
    Int(i64),
    /// Private-use text key.
    Text(String),
}

impl ExtensionKey {
    /// (major type, argument) of the key's encoding: the leading sort criteria.
    fn sort_head(&self) -> (u8, u64) {
        match self {
            ExtensionKey::Int(v) if *v >= 0 => (0, v.unsigned_abs()),
            ExtensionKey::Int(v) => (1, v.unsigned_abs() - 1),
            ExtensionKey::Text(s) => (3, s.len() as u64),
        }
    }

    /// Checks the content-08 §"Data model restrictions" on top-level keys.
    pub fn check(&self) -> Result<(), Error> {
        match self {
            ExtensionKey::Int(v) => {
                if v.unsigned_abs() > MAX_SAFE_INTEGER {
                    return Err(Error::IntegerKeyOutOfRange { offset: 0 });
                }
            }
            ExtensionKey::Text(s) => {
                if s.is_empty() || s.len() > MAX_TEXT_KEY_LEN {
                    return Err(Error::ExtensionKeyLength {
                        len: s.len(),
                        offset: 0,
                    });
                }
            }
        }
        Ok(())
    }
}

impl PartialOrd for ExtensionKey {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ExtensionKey {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        // Within one major type a larger argument always has a bytewise larger head, and
        // the head precedes the text content, so this equals bytewise encoded order.
        self.sort_head()
            .cmp(&other.sort_head())
            .then_with(|| match (self, other) {
                (ExtensionKey::Text(a), ExtensionKey::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
                _ => core::cmp::Ordering::Equal,
            })
    }
}

impl From<i64> for ExtensionKey {
    fn from(v: i64) -> Self {
        ExtensionKey::Int(v)
    }
}

impl From<&str> for ExtensionKey {
    fn from(s: &str) -> Self {
        ExtensionKey::Text(s.to_owned())
    }
}

/// One complete, validated CBOR data item used as an extension value.
///
/// Validation is that of the strict decoder: deterministic encoding, valid UTF-8, nested map
/// keys int/text/bytes, and no container deeper than level 4 counting the extensions map as
/// level 1 (so at most 3 levels inside the value).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtensionValue(Box<[u8]>);

impl ExtensionValue {
    /// Validates `cbor` as one extension value and keeps a copy.
    pub fn from_cbor(cbor: &[u8]) -> Result<Self, Error> {
        Self::check(cbor)?;
        Ok(ExtensionValue(cbor.into()))
    }

    /// Checks that `cbor` is exactly one valid extension value, without copying it.
    pub(crate) fn check(cbor: &[u8]) -> Result<(), Error> {
        let mut r = Reader::new(cbor);
        r.skip_item(2)?;
        Ok(r.finish()?)
    }

    /// Wraps bytes the strict decoder already validated.
    pub(crate) fn from_validated(cbor: &[u8]) -> Self {
        ExtensionValue(cbor.into())
    }

    fn encoded(
        f: impl FnOnce(
            &mut Encoder<&mut Vec<u8>>,
        ) -> Result<(), minicbor::encode::Error<core::convert::Infallible>>,
    ) -> Self {
        let mut buf = Vec::new();
        // Writing to a Vec cannot fail; the closures below never build message errors.
        let _ = f(&mut Encoder::new(&mut buf));
        ExtensionValue(buf.into())
    }

    /// A text string value.
    pub fn text(s: &str) -> Self {
        Self::encoded(|e| e.str(s).map(|_| ()))
    }

    /// A byte string value.
    pub fn bytes(b: &[u8]) -> Self {
        Self::encoded(|e| e.bytes(b).map(|_| ()))
    }

    /// An integer value.
    pub fn int(v: i64) -> Self {
        Self::encoded(|e| e.i64(v).map(|_| ()))
    }

    /// The encoded CBOR data item.
    pub fn as_cbor(&self) -> &[u8] {
        &self.0
    }

    /// The value as text, if it is a text string.
    pub fn as_text(&self) -> Option<&str> {
        let mut r = Reader::new(&self.0);
        r.text("extension value", ..).ok()
    }

    /// A minicbor decoder positioned at the value, for callers that know its schema.
    pub fn decoder(&self) -> minicbor::Decoder<'_> {
        minicbor::Decoder::new(&self.0)
    }
}

/// The `mimiExtensions` map.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Extensions {
    /// Key 1: URI of the sending user (e.g. `mimi://example.com/u/alice-smith`).
    pub sender_uri: Option<String>,
    /// Key 2: URI of the room.
    pub room_uri: Option<String>,
    other: BTreeMap<ExtensionKey, ExtensionValue>,
}

impl Extensions {
    /// Extensions with the two standard URIs and nothing else.
    pub fn with_uris(sender_uri: impl Into<String>, room_uri: impl Into<String>) -> Self {
        Extensions {
            sender_uri: Some(sender_uri.into()),
            room_uri: Some(room_uri.into()),
            other: BTreeMap::new(),
        }
    }

    /// Adds or replaces an extension other than keys 1 and 2; returns the previous value.
    ///
    /// Rejects keys 1 and 2 (use the typed fields), integer keys outside ±(2^53 − 1) and
    /// text keys that are empty or longer than 255 octets.
    pub fn insert(
        &mut self,
        key: ExtensionKey,
        value: ExtensionValue,
    ) -> Result<Option<ExtensionValue>, Error> {
        key.check()?;
        if let ExtensionKey::Int(k @ (SENDER_URI_KEY | ROOM_URI_KEY)) = key {
            return Err(Error::ReservedExtensionKey { key: k });
        }
        Ok(self.other.insert(key, value))
    }

    /// Inserts an entry the decoder already validated (keys arrive in sorted order).
    pub(crate) fn insert_validated(&mut self, key: ExtensionKey, value: ExtensionValue) {
        self.other.insert(key, value);
    }

    /// The value of an extension other than keys 1 and 2.
    pub fn get(&self, key: &ExtensionKey) -> Option<&ExtensionValue> {
        self.other.get(key)
    }

    /// Removes an extension other than keys 1 and 2.
    pub fn remove(&mut self, key: &ExtensionKey) -> Option<ExtensionValue> {
        self.other.remove(key)
    }

    /// The extensions other than keys 1 and 2, in deterministic key order.
    pub fn others(&self) -> impl Iterator<Item = (&ExtensionKey, &ExtensionValue)> {
        self.other.iter()
    }

    /// Number of entries in the map, including senderUri and roomUri.
    pub fn len(&self) -> usize {
        self.other.len()
            + usize::from(self.sender_uri.is_some())
            + usize::from(self.room_uri.is_some())
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries with keys sorting before key 1 (only key 0), for the encoder.
    pub(crate) fn before_uris(&self) -> impl Iterator<Item = (&ExtensionKey, &ExtensionValue)> {
        self.other.range(..ExtensionKey::Int(SENDER_URI_KEY))
    }

    /// Entries with keys sorting after key 2, for the encoder.
    pub(crate) fn after_uris(&self) -> impl Iterator<Item = (&ExtensionKey, &ExtensionValue)> {
        self.other.range(ExtensionKey::Int(ROOM_URI_KEY + 1)..)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(k: &ExtensionKey) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut e = Encoder::new(&mut buf);
        match k {
            ExtensionKey::Int(v) => drop(e.i64(*v)),
            ExtensionKey::Text(s) => drop(e.str(s)),
        }
        buf
    }

    #[test]
    fn key_order_is_encoded_order() {
        let keys: Vec<ExtensionKey> = [
            0i64,
            1,
            2,
            23,
            24,
            255,
            256,
            65535,
            65536,
            1 << 40,
            -1,
            -24,
            -25,
            -300,
            -(1 << 40),
        ]
        .into_iter()
        .map(ExtensionKey::Int)
        .chain(
            [
                "a",
                "b",
                "aa",
                "zz",
                "abc",
                &"x".repeat(23),
                &"x".repeat(24),
                &"y".repeat(255),
            ]
            .map(ExtensionKey::from),
        )
        .collect();
        for a in &keys {
            for b in &keys {
                assert_eq!(a.cmp(b), enc(a).cmp(&enc(b)), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn insert_rejects_reserved_and_bad_keys() {
        let mut x = Extensions::default();
        assert!(matches!(
            x.insert(1.into(), ExtensionValue::int(1)),
            Err(Error::ReservedExtensionKey { key: 1 })
        ));
        assert!(x.insert("".into(), ExtensionValue::int(1)).is_err());
        assert!(
            x.insert(ExtensionKey::Int(1 << 53), ExtensionValue::int(1))
                .is_err()
        );
        assert!(
            x.insert(ExtensionKey::Int(-(1 << 53) + 1), ExtensionValue::int(1))
                .is_ok()
        );
        assert!(
            x.insert(ExtensionKey::Int(-(1 << 53)), ExtensionValue::int(1))
                .is_err()
        );
        assert!(x.insert("k".into(), ExtensionValue::text("v")).is_ok());
        assert_eq!(x.len(), 2);
    }
}
