//! Private lookup for MIMI identifier discovery (docs/discovery-lookup.md), sans-IO.
//!
//! A *distribution point* (DP) stores signed mapping assertions and revocations for
//! service-independent identifiers (SIIs: E.164 phone numbers and email addresses) and answers
//! lookups, without ever seeing an SII:
//!
//! 1. **Blind evaluation** ([`oprf`]): a client (or a publishing authority) blinds the canonical
//!    encoding of the SII ([`sii`]) and the DP evaluates it with its VOPRF key
//!    (RFC 9497, Ristretto255-SHA512, verifiable mode), proving that it used the key it
//!    publishes. Every guess at an SII costs one rate-limited online evaluation
//!    ([`ratelimit`]).
//! 2. **Key schedule** ([`secret`]): from the OPRF output, HKDF-SHA256 derives an [`Index`]
//!    (what the DP stores and is asked for) and a sealing key.
//! 3. **Sealed records** ([`seal`]): the assertion bytes (opaque here) are sealed with
//!    ChaCha20-Poly1305 under that key, bound to the index; the DP stores only
//!    `(index, sealed record)` ([`store`]).
//! 4. **Wire messages** ([`wire`]): deterministic CBOR, strictly decoded with bounded sizes and
//!    counts.
//! 5. **Distribution point** ([`dp`]): the server side on bytes: evaluate (rate limited per
//!    requester), look up, upload.
//!
//! Randomness comes from `rand_core` 0.6 RNG parameters, time from the caller.
#![deny(missing_docs)]

mod cbor;
pub mod dp;
pub mod error;
mod keyinfo;
pub mod limits;
pub mod oprf;
pub mod ratelimit;
pub mod seal;
pub mod secret;
pub mod sii;
pub mod store;
pub mod wire;

pub use dp::DistributionPoint;
pub use error::Error;
pub use keyinfo::{KEY_INFO_LEN, decode_key_info, encode_key_info};
pub use oprf::{
    BlindState, BlindedQuery, DpKey, DpPublicKey, Evaluation, KeyId, blind, blind_batch, evaluate,
    finalize, finalize_batch,
};
/// The `rand_core` (0.6) whose RNG traits every randomized function takes.
pub use rand_core;
pub use ratelimit::{RateLimiter, RatePolicy};
pub use seal::{RecordId, SealedRecord};
pub use secret::{Index, LookupSecret};
pub use sii::sii_input;
pub use store::{IndexStore, MemoryStore, PublisherId, PutOutcome, RemoveOutcome};
pub use wire::{
    LookupRequest, LookupResponse, Removal, UploadEntry, UploadRequest, UploadResponse,
    UploadStatus,
};
