//! Deterministic CBOR encoding (content-08 §"Encoding restrictions": RFC 8949 §4.2.1).
//!
//! minicbor's `Encoder` writes integers and lengths in shortest form and only definite
//! lengths; the one map (extensions) is written in key order, which [`ExtensionKey`]'s `Ord`
//! makes the bytewise order of the encoded keys. Extension values are copied verbatim.
//!
//! Encoding does not check limits (depth, part count, topic length); a message built in
//! code should pass [`crate::validate::check_structure`] before it is sent.

use minicbor::Encoder;
use minicbor::encode::{Error as EncError, Write};

use crate::extensions::{ExtensionKey, ExtensionValue};
use crate::message_id::MessageId;
use crate::model::{MimiContent, NestedPart, PartBody};

type Res<W> = Result<(), EncError<<W as Write>::Error>>;

fn message_id<W: Write>(e: &mut Encoder<W>, id: Option<&MessageId>) -> Res<W> {
    match id {
        Some(id) => e.bytes(id.as_bytes())?,
        None => e.null()?,
    };
    Ok(())
}

fn key<W: Write>(e: &mut Encoder<W>, k: &ExtensionKey) -> Res<W> {
    match k {
        ExtensionKey::Int(v) => e.i64(*v)?,
        ExtensionKey::Text(s) => e.str(s)?,
    };
    Ok(())
}

fn raw<W: Write>(e: &mut Encoder<W>, v: &ExtensionValue) -> Res<W> {
    e.writer_mut()
        .write_all(v.as_cbor())
        .map_err(EncError::write)
}

fn nested_part<W: Write>(e: &mut Encoder<W>, p: &NestedPart) -> Res<W> {
    let len = match &p.body {
        PartBody::NullPart => 3,
        PartBody::SinglePart(_) | PartBody::MultiPart(_) => 5,
        PartBody::ExternalPart(_) => 15,
    };
    e.array(len)?
        .u8(p.disposition.value())?
        .str(&p.language)?
        .u8(p.body.cardinality())?;
    match &p.body {
        PartBody::NullPart => {}
        PartBody::SinglePart(s) => {
            e.str(&s.content_type)?.bytes(&s.content)?;
        }
        PartBody::ExternalPart(x) => {
            e.str(&x.content_type)?
                .str(&x.url)?
                .u32(x.expires)?
                .u64(x.size)?
                .u16(x.enc_alg)?
                .bytes(&x.key)?
                .bytes(&x.nonce)?
                .bytes(&x.aad)?
                .u8(x.hash_alg)?
                .bytes(&x.content_hash)?
                .str(&x.description)?
                .str(&x.filename)?;
        }
        PartBody::MultiPart(m) => {
            e.u8(m.semantics.value())?.array(m.parts.len() as u64)?;
            for part in &m.parts {
                nested_part(e, part)?;
            }
        }
    }
    Ok(())
}

impl MimiContent {
    /// Writes the deterministic encoding of this message to `e`.
    pub fn encode_to<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), EncError<W::Error>> {
        e.array(7)?.bytes(&self.salt)?;
        message_id(e, self.replaces.as_ref())?;
        e.bytes(&self.topic_id)?;
        match &self.expires {
            Some(x) => e.array(2)?.bool(x.relative)?.u32(x.time)?,
            None => e.null()?,
        };
        message_id(e, self.in_reply_to.as_ref())?;

        let x = &self.extensions;
        e.map(x.len() as u64)?;
        for (k, v) in x.before_uris() {
            key(e, k)?;
            raw(e, v)?;
        }
        if let Some(s) = &x.sender_uri {
            e.u8(1)?.str(s)?;
        }
        if let Some(r) = &x.room_uri {
            e.u8(2)?.str(r)?;
        }
        for (k, v) in x.after_uris() {
            key(e, k)?;
            raw(e, v)?;
        }

        nested_part(e, &self.nested_part)
    }

    /// The deterministic CBOR encoding of this message (`application/mimi-content`).
    pub fn to_cbor(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(256);
        // A Vec writer cannot fail (its error type is `Infallible`) and nothing above builds
        // a message error, so the result is always `Ok`.
        let _ = self.encode_to(&mut Encoder::new(&mut buf));
        buf
    }
}
