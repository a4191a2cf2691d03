//! Arbitrary bytes into every private-lookup decoder (mimi-lookup): the blinded query, the
//! evaluation, the sealed record, lookup and upload requests and responses, a store snapshot,
//! DP secret and public keys. Nothing may panic; whatever decodes re-encodes to exactly the
//! input (one encoding per value). Decoded values are also used: a query is evaluated with a
//! fixed key, an evaluation finalized against a fixed blinding, a sealed record opened, an
//! upload applied to a distribution point and its indices looked up.
//!
//! The seeds in `fuzz/corpus/lookup/` are made with the fixed key and blinding below
//! (`cargo test -p mimi-lookup --test fuzz_seeds -- --ignored` writes them), so the fuzzer
//! starts from a query that evaluates, an evaluation whose proof verifies and a record that
//! opens.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mimi_lookup::rand_core::{CryptoRng, Error as RngError, RngCore};
use mimi_lookup::{
    BlindedQuery, DistributionPoint, DpKey, DpPublicKey, Evaluation, LookupRequest, LookupResponse,
    LookupSecret, MemoryStore, PublisherId, RateLimiter, RatePolicy, SealedRecord, UploadRequest,
    UploadResponse, blind, evaluate, finalize,
};
use mimi_types::id::ConnectionId;

/// The fixed DP secret key (a canonical scalar).
const DP_SECRET: [u8; 32] = [7; 32];
/// 2025-06-15, in ms.
const NOW_MS: u64 = 1_750_000_000_000;

/// SplitMix64: deterministic, not cryptographic (fuzzing only).
struct Det(u64);

impl RngCore for Det {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), RngError> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for Det {}

struct Fixture {
    key: DpKey,
    sii: ConnectionId,
    secret: LookupSecret,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let key = DpKey::from_bytes(&DP_SECRET).expect("fixed key");
        let sii = ConnectionId::parse("+12025550101").expect("sii");
        let secret = key.direct_secret(&sii).expect("secret");
        Fixture { key, sii, secret }
    })
}

fn public(f: &Fixture) -> &DpPublicKey {
    f.key.public()
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();

    if let Ok(q) = BlindedQuery::decode(data) {
        assert_eq!(q.encode(), data);
        if let Ok(e) = evaluate(&f.key, &q, &mut Det(2)) {
            assert_eq!(e.len(), q.len());
        }
    }
    if let Ok(e) = Evaluation::decode(data) {
        assert_eq!(e.encode(), data);
        let (state, _) = blind(public(f), &f.sii, &mut Det(1)).expect("blind");
        if let Ok(s) = finalize(state, &e, public(f)) {
            // Only the DP's real evaluation verifies: the secret is the key holder's.
            assert_eq!(s.index(), f.secret.index());
        }
    }
    if let Ok(s) = SealedRecord::decode(data) {
        assert_eq!(s.encode(), data);
        let _ = f.secret.open(&s);
    }
    if let Ok(r) = LookupRequest::decode(data) {
        assert_eq!(r.encode(), data);
    }
    if let Ok(r) = LookupResponse::decode(data) {
        assert_eq!(r.encode(), data);
        let _ = f.secret.open_all(&r);
    }
    if let Ok(r) = UploadResponse::decode(data) {
        assert_eq!(r.encode(), data);
    }
    if let Ok(u) = UploadRequest::decode(data) {
        assert_eq!(u.encode(), data);
        let mut dp = DistributionPoint::<_, u8>::new(
            f.key.clone(),
            MemoryStore::with_max_records(16),
            RateLimiter::new(RatePolicy::new(4, 1000)),
        );
        let publisher = PublisherId::new("fuzz.example").expect("publisher");
        let answer = dp
            .upload(&publisher, data, NOW_MS)
            .expect("decoded upload applies");
        let answer = UploadResponse::decode(&answer).expect("own answer decodes");
        assert_eq!(answer.statuses.len(), u.entries().len());
        for e in u.entries() {
            let req = LookupRequest { index: e.index }.encode();
            let found = dp.lookup(&req, NOW_MS).expect("lookup");
            LookupResponse::decode(&found).expect("own answer decodes");
        }
        let snap = dp.store().snapshot();
        let again = MemoryStore::from_snapshot(&snap, NOW_MS / 1000, 16).expect("own snapshot");
        assert_eq!(again.snapshot(), snap);
    }
    if let Ok(s) = MemoryStore::from_snapshot(data, NOW_MS / 1000, 1024) {
        let _ = s.snapshot();
    }
    if let Ok(k) = DpKey::from_bytes(data) {
        assert_eq!(&*k.to_bytes(), data);
    }
    if let Ok(pk) = DpPublicKey::from_bytes(data) {
        assert_eq!(&pk.to_bytes()[..], data);
    }
});
