//! The COSE_Sign1 envelope (RFC 9052 §4.2) both object kinds travel in, and its Ed25519
//! signature (RFC 9053 / RFC 9864 algorithm -19).
//!
//! ```text
//! 18([                                   ; tag 18 = COSE_Sign1, required
//!   << {1: -19, 3: content-type, 4: kid} >>,   ; protected: exactly these, canonical
//!   {},                                   ; unprotected: must be empty
//!   << payload >>,                        ; never nil (no detached payloads)
//!   signature                             ; 64 bytes, Ed25519 over Sig_structure
//! ])
//! ```
//!
//! Parsing is done by this crate's strict reader so that only one byte string is accepted per
//! object; `coset` builds the object when signing and computes the `Sig_structure` (with an
//! empty external AAD) for both signing and verification.

use coset::{CoseSign1, CoseSign1Builder, HeaderBuilder, ProtectedHeader};
use coset::{TaggedCborSerializable, iana};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::cbor::{Reader, major};
use crate::error::{Error, Malformed};
use crate::limits::{MAX_KID_LEN, MAX_OBJECT_LEN};
use crate::object::ObjectKind;

/// The COSE_Sign1 tag (RFC 9052 §2).
const COSE_SIGN1_TAG: u64 = 18;
/// COSE algorithm Ed25519 (RFC 9864).
const ALG_ED25519: i64 = -19;
/// Most elements read from a COSE array or header map before giving up (the format needs 4
/// and 3; a few more are read so that the error names what is wrong with them).
const MAX_ELEMENTS: usize = 8;
/// Longest content type accepted in the protected header.
const MAX_CONTENT_TYPE_LEN: usize = 64;

/// COSE header labels (RFC 9052 §3.1).
mod label {
    pub const ALG: u64 = 1;
    pub const CRIT: u64 = 2;
    pub const CONTENT_TYPE: u64 = 3;
    pub const KID: u64 = 4;
}

/// The parts of a strictly parsed envelope, borrowing from the input.
#[derive(Debug, Clone)]
pub(crate) struct Envelope<'a> {
    /// The key id from the protected header.
    pub kid: &'a [u8],
    /// The protected header bytes (as signed).
    pub protected: &'a [u8],
    /// The payload bytes (as signed).
    pub payload: &'a [u8],
    /// The signature.
    pub signature: Signature,
}

/// Parse `bytes` as a COSE_Sign1 of `expected` kind, enforcing every envelope rule of
/// docs/discovery.md §2.1. The payload is not decoded here.
pub(crate) fn parse(bytes: &[u8], expected: ObjectKind) -> Result<Envelope<'_>, Malformed> {
    if bytes.len() > MAX_OBJECT_LEN {
        return Err(Malformed::TooLarge {
            size: bytes.len(),
            limit: MAX_OBJECT_LEN,
        });
    }
    let mut r = Reader::new(bytes);
    if r.peek_major()? != major::TAG || r.tag()? != COSE_SIGN1_TAG {
        return Err(Malformed::Tag);
    }
    if r.array(MAX_ELEMENTS, "COSE_Sign1 elements")? != 4 {
        return Err(Malformed::UnexpectedType {
            expected: "COSE_Sign1 array of 4",
        });
    }
    let protected = r.bytes(1, MAX_OBJECT_LEN, "protected header")?;
    if r.map(MAX_OBJECT_LEN, "unprotected header")? != 0 {
        return Err(Malformed::UnprotectedHeader);
    }
    if r.peek_major()? == major::SIMPLE {
        return Err(Malformed::DetachedPayload);
    }
    let payload = r.bytes(1, MAX_OBJECT_LEN, "payload")?;
    let sig = r.bytes(0, MAX_OBJECT_LEN, "signature")?;
    r.finish()?;
    let signature = Signature::from_slice(sig).map_err(|_| Malformed::SignatureLength)?;
    let (kind, kid) = parse_protected(protected)?;
    if kind != expected {
        return Err(Malformed::WrongKind { expected });
    }
    Ok(Envelope {
        kid,
        protected,
        payload,
        signature,
    })
}

/// The protected header: a canonical map with exactly alg (-19), content type and kid.
fn parse_protected(bytes: &[u8]) -> Result<(ObjectKind, &[u8]), Malformed> {
    let mut r = Reader::new(bytes);
    let n = r
        .map(MAX_ELEMENTS, "protected header parameters")
        .map_err(|e| match e {
            Malformed::TooMany { .. } => Malformed::UnknownHeader,
            other => other,
        })?;
    let mut prev = None;
    let (mut alg, mut kind, mut kid) = (None, None, None);
    for _ in 0..n {
        if r.peek_major()? != major::UINT && r.peek_major()? != major::NINT {
            return Err(Malformed::UnknownHeader);
        }
        match r.int_key(&mut prev)? {
            (major::UINT, label::ALG) => {
                if r.int("algorithm")? != ALG_ED25519 {
                    return Err(Malformed::Algorithm);
                }
                alg = Some(());
            }
            (major::UINT, label::CRIT) => return Err(Malformed::CriticalHeader),
            (major::UINT, label::CONTENT_TYPE) => {
                if r.peek_major()? != major::TEXT {
                    return Err(Malformed::ContentType);
                }
                let ct = r.text(1, MAX_CONTENT_TYPE_LEN, "content type")?;
                kind = Some(ObjectKind::from_content_type(ct).ok_or(Malformed::ContentType)?);
            }
            (major::UINT, label::KID) => kid = Some(r.bytes(1, MAX_KID_LEN, "kid")?),
            _ => return Err(Malformed::UnknownHeader),
        }
    }
    r.finish()?;
    alg.ok_or(Malformed::Algorithm)?;
    Ok((
        kind.ok_or(Malformed::ContentType)?,
        kid.ok_or(Malformed::MissingField("kid"))?,
    ))
}

/// Sign `payload` as an object of `kind` with `key`, naming `kid`.
pub(crate) fn sign(
    kind: ObjectKind,
    kid: &[u8],
    payload: Vec<u8>,
    key: &SigningKey,
) -> Result<Vec<u8>, Error> {
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::Ed25519)
        .content_type(kind.content_type().to_owned())
        .key_id(kid.to_vec())
        .build();
    let bytes = CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .create_signature(&[], |tbs| key.sign(tbs).to_bytes().to_vec())
        .build()
        .to_tagged_vec()
        .map_err(|_| Error::Invalid(Malformed::UnexpectedType { expected: "COSE" }))?;
    // Never emit what a verifier would refuse (size limit, canonical form).
    parse(&bytes, kind).map_err(Error::Invalid)?;
    Ok(bytes)
}

/// Whether the envelope's signature verifies under `key` (strict Ed25519: canonical `S`, no
/// small-order `R` or key, docs/decisions/0103).
pub(crate) fn signature_ok(env: &Envelope<'_>, key: &VerifyingKey) -> bool {
    let sign1 = CoseSign1 {
        protected: ProtectedHeader {
            original_data: Some(env.protected.to_vec()),
            header: Default::default(),
        },
        unprotected: Default::default(),
        payload: Some(env.payload.to_vec()),
        signature: env.signature.to_bytes().to_vec(),
    };
    sign1
        .verify_signature(&[], |_, tbs| key.verify_strict(tbs, &env.signature))
        .is_ok()
}
