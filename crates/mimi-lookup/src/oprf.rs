//! The blind evaluation: RFC 9497 VOPRF, ciphersuite ristretto255-SHA512, verifiable mode
//! (docs/discovery-lookup.md §"Blind evaluation", docs/decisions/0110).
//!
//! ```text
//! client                                         DP (key sk, published pk = sk·G)
//! (state, query) = blind(pk, [sii...])
//!                       BlindedQuery ─────────▶  evaluation = evaluate(sk, query)
//!                       ◀───────── Evaluation    (one batch DLEQ proof for all elements)
//! secrets = finalize(state, evaluation, pk)      proof checked against pk
//! ```
//!
//! ```text
//! BlindedQuery = [1, key_id: bstr .size 8, [+ blinded: bstr .size 32]]            (≤ 64)
//! Evaluation   = [1, key_id: bstr .size 8, [+ evaluated: bstr .size 32], proof: bstr .size 64]
//! key_id       = SHA-256("mimi-lookup-v1 key id" || pk)[0..8]
//! ```
//! Elements are RFC 9497 `SerializeElement` (compressed Ristretto255, never the identity); the
//! proof is `SerializeScalar(c) || SerializeScalar(s)`.

use std::fmt;

use mimi_types::id::ConnectionId;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use voprf::{
    BlindedElement, EvaluationElement, Group, Proof, Ristretto255, VoprfClient, VoprfServer,
};
use zeroize::{Zeroize, Zeroizing};

use crate::cbor::{Reader, Writer};
use crate::error::Error;
use crate::limits::MAX_BATCH;
use crate::secret::LookupSecret;
use crate::sii::sii_input;

/// The RFC 9497 ciphersuite.
type Suite = Ristretto255;

/// The RFC 9497 ciphersuite identifier.
pub const SUITE_ID: &str = "ristretto255-SHA512";

/// Length of a serialized element (and public key).
pub const ELEMENT_LEN: usize = 32;

/// Length of a serialized scalar (and secret key).
pub const SCALAR_LEN: usize = 32;

/// Length of a serialized proof.
pub const PROOF_LEN: usize = 64;

/// Length of a key id.
pub const KEY_ID_LEN: usize = 8;

/// Prefix hashed with the public key into its [`KeyId`].
pub const KEY_ID_LABEL: &[u8] = b"mimi-lookup-v1 key id";

/// A short name for a DP public key, carried in queries and evaluations.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; KEY_ID_LEN]);

impl KeyId {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_ID_LEN] {
        &self.0
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", hex::encode(self.0))
    }
}

/// A DP's public OPRF key, which clients must obtain consistently (the same for everyone).
#[derive(Clone, PartialEq, Eq)]
pub struct DpPublicKey {
    bytes: [u8; ELEMENT_LEN],
    point: <Suite as Group>::Elem,
    id: KeyId,
}

impl DpPublicKey {
    fn from_point(point: <Suite as Group>::Elem) -> Self {
        let mut bytes = [0u8; ELEMENT_LEN];
        bytes.copy_from_slice(&Suite::serialize_elem(point));
        let digest = Sha256::new()
            .chain_update(KEY_ID_LABEL)
            .chain_update(bytes)
            .finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        Self {
            bytes,
            point,
            id: KeyId(id),
        }
    }

    /// Decode a public key (32 bytes, a valid non-identity Ristretto255 encoding).
    ///
    /// # Errors
    /// [`Error::InvalidElement`] otherwise.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let what = "DP public key";
        if bytes.len() != ELEMENT_LEN {
            return Err(Error::InvalidElement { what });
        }
        let point = Suite::deserialize_elem(bytes).map_err(|_| Error::InvalidElement { what })?;
        Ok(Self::from_point(point))
    }

    /// The encoding (32 bytes).
    pub fn to_bytes(&self) -> [u8; ELEMENT_LEN] {
        self.bytes
    }

    /// Its key id.
    pub fn id(&self) -> KeyId {
        self.id
    }
}

impl fmt::Debug for DpPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DpPublicKey({})", hex::encode(self.bytes))
    }
}

/// A DP's OPRF key pair. The secret never appears in `Debug`; it is zeroized on drop.
#[derive(Clone)]
pub struct DpKey {
    server: VoprfServer<Suite>,
    public: DpPublicKey,
}

impl DpKey {
    /// A fresh random key (RFC 9497 `DeriveKeyPair` from 32 random bytes).
    ///
    /// # Errors
    /// [`Error::InvalidKey`] in the negligible case the derivation fails.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Result<Self, Error> {
        let server = VoprfServer::<Suite>::new(rng).map_err(|_| Error::InvalidKey)?;
        Ok(Self::from_server(server))
    }

    fn from_server(server: VoprfServer<Suite>) -> Self {
        let public = DpPublicKey::from_point(server.get_public_key());
        Self { server, public }
    }

    /// Load a secret key: 32 bytes, RFC 9497 `SerializeScalar` (little-endian, canonical,
    /// non-zero). The public key is recomputed.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] otherwise.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() != SCALAR_LEN {
            return Err(Error::InvalidKey);
        }
        let server = VoprfServer::<Suite>::new_with_key(bytes).map_err(|_| Error::InvalidKey)?;
        Ok(Self::from_server(server))
    }

    /// The secret key's 32 bytes, to store (see [`DpKey::from_bytes`]).
    pub fn to_bytes(&self) -> Zeroizing<[u8; SCALAR_LEN]> {
        let mut both = self.server.serialize();
        let mut out = Zeroizing::new([0u8; SCALAR_LEN]);
        out.copy_from_slice(&both[..SCALAR_LEN]);
        both.as_mut_slice().zeroize();
        out
    }

    /// The public key.
    pub fn public(&self) -> &DpPublicKey {
        &self.public
    }

    /// The lookup secret for `sii`, computed directly with the secret key (RFC 9497
    /// `Evaluate`), without blinding. It equals what a client gets through
    /// [`blind`]/[`evaluate`]/[`finalize`]: the key holder can link any index to any SII it
    /// guesses, offline. Protect the key accordingly (docs/discovery-lookup.md §"What the DP
    /// learns").
    ///
    /// # Errors
    /// [`Error::NotAnSii`] for a handle.
    pub fn direct_secret(&self, sii: &ConnectionId) -> Result<LookupSecret, Error> {
        let input = Zeroizing::new(sii_input(sii)?);
        let out = self.server.evaluate(&input).map_err(|_| Error::OprfInput)?;
        LookupSecret::from_oprf_output(&out)
    }
}

impl fmt::Debug for DpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// The client's first message: blinded SIIs, 1 to [`MAX_BATCH`].
#[derive(Clone, PartialEq, Eq)]
pub struct BlindedQuery {
    key_id: KeyId,
    elements: Vec<BlindedElement<Suite>>,
}

impl BlindedQuery {
    /// The key the query is for.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// How many blinded elements it carries (the evaluations it costs).
    pub fn len(&self) -> usize {
        self.elements.len()
    }

    /// Never true for a decoded or constructed query (kept for the `len` convention).
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }

    /// The encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.versioned(3).bytes(self.key_id.as_bytes());
        w.array(self.elements.len());
        for e in &self.elements {
            w.bytes(&e.serialize());
        }
        w.into_bytes()
    }

    /// Decode a query: every element must be a valid non-identity Ristretto255 encoding.
    ///
    /// # Errors
    /// Any decoding error; trailing bytes are refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::message(bytes, "blinded query")?;
        r.versioned(3)?;
        let key_id = KeyId(r.bytes_exact("key id")?);
        let n = r.array_within(1, MAX_BATCH, "blinded elements")?;
        let mut elements = Vec::with_capacity(n);
        for _ in 0..n {
            let b = r.bytes_exact::<ELEMENT_LEN>("blinded element")?;
            elements.push(
                BlindedElement::deserialize(&b).map_err(|_| Error::InvalidElement {
                    what: "blinded element",
                })?,
            );
        }
        r.finish()?;
        Ok(Self { key_id, elements })
    }
}

impl fmt::Debug for BlindedQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlindedQuery")
            .field("key_id", &self.key_id)
            .field("elements", &self.elements.len())
            .finish()
    }
}

/// The DP's answer: one evaluated element per blinded element and one proof for all.
#[derive(Clone, PartialEq, Eq)]
pub struct Evaluation {
    key_id: KeyId,
    elements: Vec<EvaluationElement<Suite>>,
    proof: Proof<Suite>,
}

impl Evaluation {
    /// The key the DP claims to have used.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// How many evaluated elements it carries.
    pub fn len(&self) -> usize {
        self.elements.len()
    }

    /// Never true for a decoded or computed evaluation.
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }

    /// The encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.versioned(4).bytes(self.key_id.as_bytes());
        w.array(self.elements.len());
        for e in &self.elements {
            w.bytes(&e.serialize());
        }
        w.bytes(&self.proof.serialize());
        w.into_bytes()
    }

    /// Decode an evaluation.
    ///
    /// # Errors
    /// Any decoding error; trailing bytes are refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::message(bytes, "evaluation")?;
        r.versioned(4)?;
        let key_id = KeyId(r.bytes_exact("key id")?);
        let n = r.array_within(1, MAX_BATCH, "evaluated elements")?;
        let mut elements = Vec::with_capacity(n);
        for _ in 0..n {
            let b = r.bytes_exact::<ELEMENT_LEN>("evaluated element")?;
            elements.push(EvaluationElement::deserialize(&b).map_err(|_| {
                Error::InvalidElement {
                    what: "evaluated element",
                }
            })?);
        }
        let p = r.bytes_exact::<PROOF_LEN>("proof")?;
        let proof = Proof::deserialize(&p).map_err(|_| Error::InvalidElement { what: "proof" })?;
        r.finish()?;
        Ok(Self {
            key_id,
            elements,
            proof,
        })
    }
}

impl fmt::Debug for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Evaluation")
            .field("key_id", &self.key_id)
            .field("elements", &self.elements.len())
            .finish_non_exhaustive()
    }
}

/// What the client keeps between [`blind`] and [`finalize`]: the inputs and blinds. Zeroized on
/// drop; its `Debug` shows nothing of the SIIs.
pub struct BlindState {
    key_id: KeyId,
    inputs: Vec<Zeroizing<Vec<u8>>>,
    clients: Vec<VoprfClient<Suite>>,
}

impl BlindState {
    /// How many SIIs it blinds.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Never true.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }
}

impl fmt::Debug for BlindState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlindState")
            .field("key_id", &self.key_id)
            .field("len", &self.clients.len())
            .finish_non_exhaustive()
    }
}

/// Blind one SII for the DP whose public key is `dp`.
///
/// # Errors
/// [`Error::NotAnSii`] for a handle.
pub fn blind<R: RngCore + CryptoRng>(
    dp: &DpPublicKey,
    sii: &ConnectionId,
    rng: &mut R,
) -> Result<(BlindState, BlindedQuery), Error> {
    blind_batch(dp, std::slice::from_ref(sii), rng)
}

/// Blind 1 to [`MAX_BATCH`] SIIs in one query (one evaluation each, one proof for all).
///
/// # Errors
/// [`Error::NotAnSii`] for a handle; [`Error::Empty`] or [`Error::TooMany`] for a batch out
/// of bounds.
pub fn blind_batch<R: RngCore + CryptoRng>(
    dp: &DpPublicKey,
    siis: &[ConnectionId],
    rng: &mut R,
) -> Result<(BlindState, BlindedQuery), Error> {
    if siis.is_empty() {
        return Err(Error::Empty { what: "SII batch" });
    }
    if siis.len() > MAX_BATCH {
        return Err(Error::TooMany {
            what: "SIIs in one query",
            max: MAX_BATCH,
        });
    }
    let mut inputs = Vec::with_capacity(siis.len());
    let mut clients = Vec::with_capacity(siis.len());
    let mut elements = Vec::with_capacity(siis.len());
    for sii in siis {
        let input = Zeroizing::new(sii_input(sii)?);
        let blinded = VoprfClient::<Suite>::blind(&input, rng).map_err(|_| Error::OprfInput)?;
        inputs.push(input);
        clients.push(blinded.state);
        elements.push(blinded.message);
    }
    Ok((
        BlindState {
            key_id: dp.id(),
            inputs,
            clients,
        },
        BlindedQuery {
            key_id: dp.id(),
            elements,
        },
    ))
}

/// The DP's evaluation of a query with its key, proving it used that key.
///
/// # Errors
/// [`Error::KeyMismatch`] if the query is for another key.
pub fn evaluate<R: RngCore + CryptoRng>(
    key: &DpKey,
    query: &BlindedQuery,
    rng: &mut R,
) -> Result<Evaluation, Error> {
    if query.key_id != key.public.id {
        return Err(Error::KeyMismatch);
    }
    let result = key
        .server
        .batch_blind_evaluate(rng, &query.elements)
        .map_err(|_| Error::Crypto("VOPRF batch evaluation"))?;
    Ok(Evaluation {
        key_id: key.public.id,
        elements: result.messages,
        proof: result.proof,
    })
}

/// Finish a one-SII lookup: verify the proof against `dp` and derive the secret.
///
/// # Errors
/// [`Error::KeyMismatch`], [`Error::CountMismatch`] or [`Error::ProofInvalid`].
pub fn finalize(
    state: BlindState,
    evaluation: &Evaluation,
    dp: &DpPublicKey,
) -> Result<LookupSecret, Error> {
    if state.len() != 1 {
        return Err(Error::CountMismatch {
            expected: 1,
            got: state.len(),
        });
    }
    let mut all = finalize_batch(state, evaluation, dp)?;
    all.pop().ok_or(Error::Crypto("VOPRF finalize"))
}

/// Finish a batch: verify the one proof against `dp` and derive a secret per SII, in the order
/// they were blinded.
///
/// # Errors
/// [`Error::KeyMismatch`] if the state, the evaluation and `dp` do not name the same key;
/// [`Error::CountMismatch`]; [`Error::ProofInvalid`] if the DP did not use the key it
/// published.
pub fn finalize_batch(
    state: BlindState,
    evaluation: &Evaluation,
    dp: &DpPublicKey,
) -> Result<Vec<LookupSecret>, Error> {
    if state.key_id != dp.id || evaluation.key_id != dp.id {
        return Err(Error::KeyMismatch);
    }
    if evaluation.elements.len() != state.clients.len() {
        return Err(Error::CountMismatch {
            expected: state.clients.len(),
            got: evaluation.elements.len(),
        });
    }
    let inputs: Vec<&[u8]> = state.inputs.iter().map(|i| i.as_slice()).collect();
    let outputs = VoprfClient::batch_finalize(
        &inputs,
        &state.clients,
        &evaluation.elements,
        &evaluation.proof,
        dp.point,
    )
    .map_err(|e| match e {
        voprf::Error::ProofVerification => Error::ProofInvalid,
        _ => Error::OprfInput,
    })?;
    let mut secrets = Vec::with_capacity(inputs.len());
    for out in outputs {
        let mut out = out.map_err(|_| Error::OprfInput)?;
        let secret = LookupSecret::from_oprf_output(&out);
        out.as_mut_slice().zeroize();
        secrets.push(secret?);
    }
    Ok(secrets)
}
