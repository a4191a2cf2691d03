//! Strict decoding of untrusted `application/mimi-content` bytes.
//!
//! [`decode`] accepts exactly the deterministic encodings of messages that match the CDDL
//! and the limits of content-08 (§"CBOR Data Model and Encoding Restrictions" and
//! §"Security Considerations"). Anything it accepts re-encodes to the same bytes.
//!
//! It is total: no panics, recursion bounded by [`MAX_PART_DEPTH`] and
//! [`crate::extensions::MAX_EXTENSION_DEPTH`], and allocation bounded by the input size plus a
//! constant per part and per extension (both capped).

use crate::error::Error;
use crate::extensions::{ExtensionKey, ExtensionValue, Extensions, MAX_TEXT_KEY_LEN};
use crate::message_id::MessageId;
use crate::model::{
    Disposition, Expiration, ExternalPart, MAX_BODY_PARTS, MAX_PART_DEPTH, MAX_TOPIC_ID_LEN,
    MimiContent, MultiPart, NestedPart, PartBody, PartSemantics, SALT_LEN, SinglePart,
};
use crate::strict::{ContentReader, Reader, check_int_key, major};

/// Default maximum message size: 1 MiB (local policy, content-08 "too large").
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 1 << 20;

/// Default maximum number of extension entries (local policy; bounds memory use).
pub const DEFAULT_MAX_EXTENSIONS: usize = 1024;

/// Local-policy limits for [`decode_with_limits`] (see docs/decisions/0013-size-limits.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted message in bytes.
    pub max_message_size: usize,
    /// Largest number of entries in the extensions map.
    pub max_extensions: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            max_extensions: DEFAULT_MAX_EXTENSIONS,
        }
    }
}

/// Decodes one MIMI content message with the default [`Limits`].
pub fn decode(bytes: &[u8]) -> Result<MimiContent, Error> {
    decode_with_limits(bytes, &Limits::default())
}

/// Decodes one MIMI content message; `bytes` must hold exactly one deterministic encoding.
pub fn decode_with_limits(bytes: &[u8], limits: &Limits) -> Result<MimiContent, Error> {
    if bytes.len() > limits.max_message_size {
        return Err(Error::TooLarge {
            size: bytes.len(),
            limit: limits.max_message_size,
        });
    }
    let mut p = Parser {
        r: Reader::new(bytes),
        parts: 0,
        limits,
    };
    let msg = p.message()?;
    p.r.finish()?;
    Ok(msg)
}

impl MimiContent {
    /// Same as [`decode`].
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        decode(bytes)
    }
}

struct Parser<'a, 'l> {
    r: Reader<'a>,
    parts: usize,
    limits: &'l Limits,
}

impl Parser<'_, '_> {
    fn arity(&mut self, what: &'static str, n: u64, expected: &'static str) -> Result<(), Error> {
        let (len, offset) = self.r.array_at(what)?;
        if len != n {
            return Err(Error::WrongArity {
                what,
                expected,
                found: len,
                offset,
            });
        }
        Ok(())
    }

    fn message(&mut self) -> Result<MimiContent, Error> {
        self.arity("mimiContent", 7, "7")?;

        let offset = self.r.position();
        let salt = self.r.bytes("salt", ..)?;
        let salt: [u8; SALT_LEN] = salt.try_into().map_err(|_| Error::BadSaltLength {
            len: salt.len(),
            offset,
        })?;

        let replaces = self.opt_message_id("replaces")?;

        let topic = self.r.bytes("topicId", ..)?;
        // content-08 §"Security Considerations": topicId > 4096 octets: log and discard.
        if topic.len() > MAX_TOPIC_ID_LEN {
            return Err(Error::TopicTooLong {
                len: topic.len(),
                limit: MAX_TOPIC_ID_LEN,
            });
        }

        let expires = if self.r.null() {
            None
        } else {
            self.arity("Expiration", 2, "2")?;
            let relative = self.r.bool("Expiration.relative")?;
            let time = self.r.uint("Expiration.time", u64::from(u32::MAX))?;
            Some(Expiration {
                relative,
                time: time as u32,
            })
        };

        let in_reply_to = self.opt_message_id("inReplyTo")?;
        let extensions = self.extensions()?;
        let nested_part = self.nested_part(1)?;

        Ok(MimiContent {
            salt,
            replaces,
            topic_id: topic.to_vec(),
            expires,
            in_reply_to,
            extensions,
            nested_part,
        })
    }

    fn opt_message_id(&mut self, what: &'static str) -> Result<Option<MessageId>, Error> {
        if self.r.null() {
            return Ok(None);
        }
        let offset = self.r.position();
        let id = self.r.bytes(what, ..)?;
        let id: [u8; 32] = id.try_into().map_err(|_| Error::BadMessageIdLength {
            what,
            len: id.len(),
            offset,
        })?;
        Ok(Some(MessageId(id)))
    }

    fn extensions(&mut self) -> Result<Extensions, Error> {
        let (n, map_offset) = self.r.map_at("mimiExtensions")?;
        if n > self.limits.max_extensions as u64 {
            return Err(Error::TooManyExtensions {
                limit: self.limits.max_extensions,
                offset: map_offset,
            });
        }
        let mut out = Extensions::default();
        let mut prev = None;
        for _ in 0..n {
            let key_start = self.r.position();
            let h = self.r.head()?;
            // content-08 §"Data model restrictions": top-level keys are integers or text
            // strings up to 255 octets (CDDL `int / tstr .size (1..255)`).
            let key = match h.major {
                major::UINT | major::NINT => {
                    check_int_key(&h)?;
                    // In range ±(2^53−1), so the conversion is exact.
                    let v = h.arg as i64;
                    ExtensionKey::Int(if h.major == major::UINT { v } else { -1 - v })
                }
                major::TEXT => {
                    let s = self.r.text_body(&h)?;
                    if s.is_empty() || s.len() > MAX_TEXT_KEY_LEN {
                        return Err(Error::ExtensionKeyLength {
                            len: s.len(),
                            offset: h.offset,
                        });
                    }
                    ExtensionKey::Text(s.to_owned())
                }
                _ => {
                    return Err(Error::InvalidExtensionKey {
                        found: h.type_name(),
                        offset: h.offset,
                    });
                }
            };
            // content-08: "MUST NOT include more than one extension field with the same map
            // key"; RFC 8949 §4.2.1: keys in bytewise order.
            self.r.key_order(key_start, &mut prev)?;

            match key {
                ExtensionKey::Int(1) => {
                    out.sender_uri = Some(self.r.text("senderUri", ..)?.to_owned())
                }
                ExtensionKey::Int(2) => out.room_uri = Some(self.r.text("roomUri", ..)?.to_owned()),
                key => {
                    let start = self.r.position();
                    self.r.skip_item(2)?;
                    let raw = self.r.since(start);
                    out.insert_validated(key, ExtensionValue::from_validated(raw));
                }
            }
        }
        Ok(out)
    }

    fn nested_part(&mut self, depth: usize) -> Result<NestedPart, Error> {
        let (len, offset) = self.r.array_at("NestedPart")?;
        // content-08 §"Depth restrictions": NestedParts MUST NOT nest more than 4 levels.
        if depth > MAX_PART_DEPTH {
            return Err(Error::PartsTooDeep {
                limit: MAX_PART_DEPTH,
                offset,
            });
        }
        // content-08 §"Security Considerations": more than 1024 body parts: discard.
        self.parts += 1;
        if self.parts > MAX_BODY_PARTS {
            return Err(Error::TooManyParts {
                limit: MAX_BODY_PARTS,
                offset,
            });
        }
        if len < 3 {
            return Err(Error::WrongArity {
                what: "NestedPart",
                expected: "3, 5 or 15",
                found: len,
                offset,
            });
        }
        let dispo_offset = self.r.position();
        let dispo = self.r.uint("disposition", u64::MAX)?;
        let disposition = u8::try_from(dispo).map_err(|_| Error::DispositionOutOfRange {
            value: dispo,
            offset: dispo_offset,
        })?;
        let disposition = Disposition::from_value(disposition);
        let language = self.r.text("language", ..)?.to_owned();
        let card_offset = self.r.position();
        let cardinality = self.r.uint("cardinality", u64::MAX)?;
        let (what, expected, n) = match cardinality {
            0 => ("NullPart", "3", 3),
            1 => ("SinglePart", "5", 5),
            2 => ("ExternalPart", "15", 15),
            3 => ("MultiPart", "5", 5),
            value => {
                return Err(Error::UnknownCardinality {
                    value,
                    offset: card_offset,
                });
            }
        };
        if len != n {
            return Err(Error::WrongArity {
                what,
                expected,
                found: len,
                offset,
            });
        }
        let body = match cardinality {
            0 => PartBody::NullPart,
            1 => PartBody::SinglePart(SinglePart {
                content_type: self.r.text("contentType", ..)?.to_owned(),
                content: self.r.bytes("content", ..)?.to_vec(),
            }),
            2 => PartBody::ExternalPart(Box::new(self.external_part()?)),
            _ => {
                let sem_offset = self.r.position();
                let sem = self.r.uint("partSemantics", u64::MAX)?;
                // content-08 §"Security Considerations": unknown PartSemantics: discard.
                let semantics =
                    PartSemantics::from_value(sem).ok_or(Error::UnknownPartSemantics {
                        value: sem,
                        offset: sem_offset,
                    })?;
                let (count, parts_offset) = self.r.array_at("parts")?;
                // CDDL `parts: [2* NestedPart]`.
                if count < 2 {
                    return Err(Error::TooFewParts {
                        count,
                        offset: parts_offset,
                    });
                }
                let mut parts = Vec::new();
                for _ in 0..count {
                    parts.push(self.nested_part(depth + 1)?);
                }
                PartBody::MultiPart(MultiPart { semantics, parts })
            }
        };
        Ok(NestedPart {
            disposition,
            language,
            body,
        })
    }

    fn external_part(&mut self) -> Result<ExternalPart, Error> {
        let r = &mut self.r;
        Ok(ExternalPart {
            content_type: r.text("contentType", ..)?.to_owned(),
            url: r.text("url", ..)?.to_owned(),
            expires: r.uint("expires", u64::from(u32::MAX))? as u32,
            size: r.uint("size", u64::MAX)?,
            enc_alg: r.uint("encAlg", u64::from(u16::MAX))? as u16,
            key: r.bytes("key", ..)?.to_vec(),
            nonce: r.bytes("nonce", ..)?.to_vec(),
            aad: r.bytes("aad", ..)?.to_vec(),
            hash_alg: r.uint("hashAlg", u64::from(u8::MAX))? as u8,
            content_hash: r.bytes("contentHash", ..)?.to_vec(),
            description: r.text("description", ..)?.to_owned(),
            filename: r.text("filename", ..)?.to_owned(),
        })
    }
}
