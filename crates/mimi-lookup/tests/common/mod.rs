//! Shared fixtures: a DP on the bytes API, and the publisher and client flows over it.
#![allow(dead_code, clippy::unwrap_used)]

use mimi_lookup::{
    DistributionPoint, DpKey, DpPublicKey, Evaluation, LookupRequest, LookupResponse, LookupSecret,
    MemoryStore, PublisherId, RateLimiter, RatePolicy, UploadEntry, UploadRequest, UploadResponse,
    blind, blind_batch, finalize, finalize_batch,
};
use mimi_types::id::ConnectionId;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// 2025-06-15T15:06:40Z, in ms.
pub const NOW_MS: u64 = 1_750_000_000_000;
pub const NOW: u64 = NOW_MS / 1000;
pub const DAY: u64 = 86_400;

pub type Dp = DistributionPoint<MemoryStore, String>;

pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

pub fn id(s: &str) -> ConnectionId {
    ConnectionId::parse(s).unwrap()
}

/// A DP with a generous default budget (tests of the limit set their own).
pub fn dp(seed: u64) -> Dp {
    let key = DpKey::generate(&mut rng(seed)).unwrap();
    DistributionPoint::new(
        key,
        MemoryStore::new(),
        RateLimiter::new(RatePolicy::new(1000, 1000)),
    )
}

/// One blind evaluation through the DP's bytes API, the proof checked against `pk`.
pub fn secret_via(
    dp: &mut Dp,
    pk: &DpPublicKey,
    who: &str,
    sii: &ConnectionId,
    seed: u64,
) -> LookupSecret {
    let mut r = rng(seed);
    let (state, query) = blind(pk, sii, &mut r).unwrap();
    let answer = dp
        .evaluate(&who.to_owned(), &query.encode(), NOW_MS, &mut r)
        .unwrap();
    finalize(state, &Evaluation::decode(&answer).unwrap(), pk).unwrap()
}

pub fn secrets_via(dp: &mut Dp, who: &str, siis: &[ConnectionId], seed: u64) -> Vec<LookupSecret> {
    let pk = dp.public_key().clone();
    let mut r = rng(seed);
    let (state, query) = blind_batch(&pk, siis, &mut r).unwrap();
    let answer = dp
        .evaluate(&who.to_owned(), &query.encode(), NOW_MS, &mut r)
        .unwrap();
    finalize_batch(state, &Evaluation::decode(&answer).unwrap(), &pk).unwrap()
}

/// An authority publishes `record` for `sii`: blind evaluation, seal, upload.
pub fn publish(
    dp: &mut Dp,
    authority: &str,
    sii: &str,
    record: &[u8],
    seed: u64,
) -> UploadResponse {
    let pk = dp.public_key().clone();
    let secret = secret_via(dp, &pk, authority, &id(sii), seed);
    let sealed = secret.seal(record, &mut rng(seed + 1)).unwrap();
    let req = UploadRequest::new(
        vec![UploadEntry {
            index: *secret.index(),
            expires_at: NOW + 30 * DAY,
            record: sealed,
        }],
        vec![],
    )
    .unwrap();
    let publisher = PublisherId::new(authority.as_bytes()).unwrap();
    UploadResponse::decode(&dp.upload(&publisher, &req.encode(), NOW_MS).unwrap()).unwrap()
}

/// A client looks `sii` up: blind evaluation, lookup by index, open. Returns the opened
/// records and how many did not open.
pub fn look_up(dp: &mut Dp, client: &str, sii: &str, seed: u64) -> (Vec<Vec<u8>>, usize) {
    let pk = dp.public_key().clone();
    let secret = secret_via(dp, &pk, client, &id(sii), seed);
    let answer = dp
        .lookup(
            &LookupRequest {
                index: *secret.index(),
            }
            .encode(),
            NOW_MS,
        )
        .unwrap();
    secret.open_all(&LookupResponse::decode(&answer).unwrap())
}
