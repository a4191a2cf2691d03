//! Shared codec machinery: the [`WireMessage`] trait (bounded, total decoding of a whole body)
//! and small helpers for the hand-written `select` codecs.
//!
//! Wire conventions (protocol-06 §4.1 uses the TLS presentation language with the MLS
//! conventions of RFC 9420 §2.1): `<V>` vectors carry a minimal varint length, `optional<T>`
//! is a one-byte presence flag, integers are big-endian. `tls_codec` with its `mls` feature
//! implements exactly this and rejects non-minimal lengths, so every value has one encoding.

use tls_codec::{Deserialize, Serialize, Size};

use crate::Error;

/// Default upper bound on the size of one protocol body, in bytes (1 MiB).
///
/// Handshake bundles that carry a full ratchet tree of a very large room need more; callers
/// pass their configured limit to [`WireMessage::decode_with_limit`].
pub const DEFAULT_MAX_BODY: usize = 1 << 20;

/// A protocol body: a struct that travels alone as an HTTP request or response body.
///
/// Decoding is total: any input gives a value or an [`Error`], never a panic. It is bounded:
/// inputs over the limit are refused before any parsing, vectors cannot claim more than the
/// bytes present, and every `select` is checked against the known cases.
pub trait WireMessage: Sized + Serialize + Size + Deserialize {
    /// The struct's name in the draft, for error messages.
    const NAME: &'static str;

    /// Decode a whole body of at most [`DEFAULT_MAX_BODY`] bytes.
    fn decode(bytes: &[u8]) -> Result<Self, Error> {
        Self::decode_with_limit(bytes, DEFAULT_MAX_BODY)
    }

    /// Decode a whole body of at most `limit` bytes; trailing bytes are an error.
    fn decode_with_limit(bytes: &[u8], limit: usize) -> Result<Self, Error> {
        if bytes.len() > limit {
            return Err(Error::TooLarge {
                what: Self::NAME,
                len: bytes.len(),
                limit,
            });
        }
        decode_exact(Self::NAME, bytes)
    }

    /// Encode to bytes.
    fn encode(&self) -> Result<Vec<u8>, Error> {
        self.tls_serialize_detached().map_err(|e| Error::Encode {
            what: Self::NAME,
            reason: describe(&e),
        })
    }
}

/// Decode a value that must take all of `bytes`.
pub(crate) fn decode_exact<T: Deserialize>(what: &'static str, bytes: &[u8]) -> Result<T, Error> {
    let mut rest = bytes;
    let value = T::tls_deserialize(&mut rest).map_err(|e| decode_error(what, e))?;
    if !rest.is_empty() {
        return Err(Error::TrailingBytes {
            what,
            count: rest.len(),
        });
    }
    Ok(value)
}

/// Turn a `tls_codec` error into the crate's error, naming the struct being decoded.
pub(crate) fn decode_error(what: &'static str, e: tls_codec::Error) -> Error {
    Error::Decode {
        what,
        reason: describe(&e),
    }
}

/// A one-line, human description of a `tls_codec` error.
pub(crate) fn describe(e: &tls_codec::Error) -> String {
    match e {
        tls_codec::Error::EncodingError(s) | tls_codec::Error::DecodingError(s) => s.clone(),
        tls_codec::Error::InvalidVectorLength => "invalid vector length".into(),
        tls_codec::Error::InvalidInput => "invalid integer".into(),
        tls_codec::Error::EndOfStream => "truncated input".into(),
        tls_codec::Error::TrailingData => "trailing bytes".into(),
        tls_codec::Error::UnknownValue(v) => format!("unknown enum value {v}"),
        other => format!("{other:?}"),
    }
}

/// A decoding error with a reason, for use inside hand-written `DeserializeBytes` impls.
pub(crate) fn invalid(reason: impl Into<String>) -> tls_codec::Error {
    tls_codec::Error::DecodingError(reason.into())
}

/// A reader that keeps a copy of every byte read through it, so a value decoded by another
/// library's decoder can be kept as the exact bytes it occupied.
pub(crate) struct RecordingReader<'a, R> {
    inner: &'a mut R,
    /// Every byte read so far.
    pub(crate) recorded: Vec<u8>,
}

impl<'a, R: std::io::Read> RecordingReader<'a, R> {
    pub(crate) fn new(inner: &'a mut R) -> Self {
        Self {
            inner,
            recorded: Vec::new(),
        }
    }
}

impl<R: std::io::Read> std::io::Read for RecordingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.recorded
            .extend_from_slice(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

/// Read one `<V>` vector's payload (length-prefixed) without interpreting it.
pub(crate) fn read_vl_payload<R: std::io::Read>(
    reader: &mut R,
) -> Result<Vec<u8>, tls_codec::Error> {
    Ok(tls_codec::VLByteVec::tls_deserialize(reader)?.into())
}

/// Object-safe serialization, so a TBS can be assembled from fields of different types.
pub(crate) trait SerializeDyn {
    fn write_to(&self, out: &mut Vec<u8>) -> Result<usize, tls_codec::Error>;
}

impl<T: Serialize> SerializeDyn for T {
    fn write_to(&self, out: &mut Vec<u8>) -> Result<usize, tls_codec::Error> {
        self.tls_serialize(out)
    }
}

/// Encode fields one after another, as a TLS struct of those fields would be.
pub(crate) fn encode_fields(fields: &[&dyn SerializeDyn]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    for field in fields {
        field.write_to(&mut out).map_err(|e| Error::Encode {
            what: "to-be-signed struct",
            reason: describe(&e),
        })?;
    }
    Ok(out)
}

/// The bytes signed by RFC 9420 `SignWithLabel(key, label, content)` (§5.1.2):
/// `struct { opaque label<V> = "MLS 1.0 " + Label; opaque content<V>; } SignContent`.
///
/// Verify or sign these bytes with the group's signature scheme.
pub fn sign_content(label: &str, content: &[u8]) -> Result<Vec<u8>, Error> {
    let full_label = format!("MLS 1.0 {label}");
    encode_fields(&[
        &tls_codec::VLByteSlice(full_label.as_bytes()),
        &tls_codec::VLByteSlice(content),
    ])
}
