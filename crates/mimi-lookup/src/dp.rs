//! The distribution point on bytes (docs/discovery-lookup.md §"Distribution point behaviour"):
//! what a transport (HTTP through an OHTTP relay, say) calls for each request. Sans-IO: the
//! caller passes the authenticated requester or publisher, the time and an RNG.
//!
//! | operation | who | rate limited | the DP learns |
//! |---|---|---|---|
//! | [`DistributionPoint::evaluate`] | an authenticated requester | yes, one token per element | who asks, how many elements; nothing about the SIIs |
//! | [`DistributionPoint::lookup`] | anyone (ideally anonymous, via a relay) | no (the index is useless without an evaluation) | one index |
//! | [`DistributionPoint::upload`] | an authenticated publisher | by the caller | which indices the publisher stores records under |

use std::hash::Hash;

use rand_core::{CryptoRng, RngCore};

use crate::error::Error;
use crate::oprf::{BlindedQuery, DpKey, DpPublicKey, KeyId, evaluate};
use crate::ratelimit::RateLimiter;
use crate::store::{IndexStore, PublisherId, PutOutcome, RemoveOutcome};
use crate::wire::{LookupRequest, LookupResponse, UploadRequest, UploadResponse, UploadStatus};

/// A distribution point: OPRF keys (the current one first; older ones still evaluate during a
/// rotation), an index store and a rate limiter keyed by requester `K`.
#[derive(Debug)]
pub struct DistributionPoint<S, K> {
    keys: Vec<DpKey>,
    store: S,
    limiter: RateLimiter<K>,
}

impl<S: IndexStore, K: Eq + Hash + Clone> DistributionPoint<S, K> {
    /// A DP with one key.
    pub fn new(key: DpKey, store: S, limiter: RateLimiter<K>) -> Self {
        Self {
            keys: vec![key],
            store,
            limiter,
        }
    }

    /// The current public key (what clients and publishers are configured with).
    pub fn public_key(&self) -> &DpPublicKey {
        // `keys` is never empty: `new` sets one and `rotate` only adds.
        self.keys[0].public()
    }

    /// Make `key` current; the previous keys keep evaluating until [`Self::retire`]d, so that
    /// publishers can re-seal under the new key's indices (docs/discovery-lookup.md §"Key
    /// rotation").
    pub fn rotate(&mut self, key: DpKey) {
        self.keys.insert(0, key);
    }

    /// Stop evaluating with an old key. The current key cannot be retired.
    pub fn retire(&mut self, id: KeyId) -> bool {
        let before = self.keys.len();
        let current = self.keys[0].public().id();
        if id != current {
            self.keys.retain(|k| k.public().id() != id);
        }
        self.keys.len() < before
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, mutably (purging, snapshots).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// The rate limiter, mutably (per-requester policies, pruning).
    pub fn limiter_mut(&mut self) -> &mut RateLimiter<K> {
        &mut self.limiter
    }

    /// Answer an encoded [`BlindedQuery`] from `requester` with an encoded
    /// [`crate::Evaluation`], charging one token per blinded element.
    ///
    /// # Errors
    /// Decoding errors, [`Error::KeyMismatch`] for an unknown key id, and the rate limiter's
    /// errors.
    pub fn evaluate<R: RngCore + CryptoRng>(
        &mut self,
        requester: &K,
        body: &[u8],
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Vec<u8>, Error> {
        let query = BlindedQuery::decode(body)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.public().id() == query.key_id())
            .ok_or(Error::KeyMismatch)?;
        let cost = u32::try_from(query.len()).map_err(|_| Error::Crypto("batch size"))?;
        self.limiter.check(requester, cost, now_ms)?;
        Ok(evaluate(key, &query, rng)?.encode())
    }

    /// Answer an encoded [`LookupRequest`] with an encoded [`LookupResponse`]: every unexpired
    /// record under the index (none is a normal answer).
    ///
    /// # Errors
    /// Decoding errors.
    pub fn lookup(&self, body: &[u8], now_ms: u64) -> Result<Vec<u8>, Error> {
        let req = LookupRequest::decode(body)?;
        let records = self.store.get(&req.index, now_ms / 1000);
        Ok(LookupResponse::new(records)?.encode())
    }

    /// Apply an encoded [`UploadRequest`] from `publisher`; answer an encoded
    /// [`UploadResponse`]. Entries are stored in order, then removals applied; each entry's
    /// refusal is reported in its status, not as an error.
    ///
    /// # Errors
    /// Decoding errors.
    pub fn upload(
        &mut self,
        publisher: &PublisherId,
        body: &[u8],
        now_ms: u64,
    ) -> Result<Vec<u8>, Error> {
        let req = UploadRequest::decode(body)?;
        let now = now_ms / 1000;
        let mut statuses = Vec::with_capacity(req.entries().len());
        for e in req.entries() {
            let status =
                match self
                    .store
                    .put(publisher, e.index, e.record.clone(), e.expires_at, now)
                {
                    Ok(PutOutcome::Stored) => UploadStatus::Stored,
                    Ok(PutOutcome::Duplicate) => UploadStatus::Duplicate,
                    Ok(PutOutcome::Replaced) => UploadStatus::Replaced,
                    Err(Error::IndexFull { .. }) => UploadStatus::IndexFull,
                    Err(Error::StoreFull { .. }) => UploadStatus::StoreFull,
                    Err(Error::Expired) => UploadStatus::Expired,
                    Err(Error::ExpiryTooFar { .. }) => UploadStatus::ExpiryTooFar,
                    Err(e) => return Err(e),
                };
            statuses.push(status);
        }
        let removed = req
            .removals()
            .iter()
            .map(|r| self.store.remove(publisher, &r.index, &r.record_id) == RemoveOutcome::Removed)
            .collect();
        Ok(UploadResponse { statuses, removed }.encode())
    }
}
