//! Writes the seed corpus of the `lookup` fuzz target (fuzz/fuzz_targets/lookup.rs) with the
//! target's fixed key and blinding. Run explicitly:
//! `cargo test -p mimi-lookup --test fuzz_seeds -- --ignored`.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use mimi_lookup::rand_core::{CryptoRng, Error as RngError, RngCore};
use mimi_lookup::{
    DistributionPoint, DpKey, LookupRequest, LookupResponse, MemoryStore, PublisherId, RateLimiter,
    RatePolicy, Removal, UploadEntry, UploadRequest, UploadResponse, UploadStatus, blind, evaluate,
};
use mimi_types::id::ConnectionId;

const DP_SECRET: [u8; 32] = [7; 32];
const NOW: u64 = 1_750_000_000;

/// SplitMix64, as in the fuzz target.
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

#[test]
#[ignore = "writes fuzz/corpus/lookup; run explicitly"]
fn write_fuzz_seeds() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/lookup");
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();

    let key = DpKey::from_bytes(&DP_SECRET).unwrap();
    let sii = ConnectionId::parse("+12025550101").unwrap();
    let secret = key.direct_secret(&sii).unwrap();
    let (_, query) = blind(key.public(), &sii, &mut Det(1)).unwrap();
    let evaluation = evaluate(&key, &query, &mut Det(3)).unwrap();
    let sealed = secret.seal(b"COSE_Sign1 assertion", &mut Det(4)).unwrap();
    let other = secret.seal(b"COSE_Sign1 revocation", &mut Det(5)).unwrap();
    let upload = UploadRequest::new(
        vec![
            UploadEntry {
                index: *secret.index(),
                expires_at: NOW + 86_400,
                record: sealed.clone(),
            },
            UploadEntry {
                index: *secret.index(),
                expires_at: NOW + 86_400,
                record: other.clone(),
            },
        ],
        vec![Removal {
            index: *secret.index(),
            record_id: sealed.id(),
        }],
    )
    .unwrap();
    let mut dp = DistributionPoint::<_, u8>::new(
        key.clone(),
        MemoryStore::new(),
        RateLimiter::new(RatePolicy::new(4, 1000)),
    );
    dp.upload(
        &PublisherId::new("fuzz.example").unwrap(),
        &upload.encode(),
        NOW * 1000,
    )
    .unwrap();

    write("query.cbor", &query.encode());
    write("evaluation.cbor", &evaluation.encode());
    write("sealed-record.cbor", &sealed.encode());
    write(
        "lookup-request.cbor",
        &LookupRequest {
            index: *secret.index(),
        }
        .encode(),
    );
    write(
        "lookup-response.cbor",
        &LookupResponse::new(vec![sealed, other]).unwrap().encode(),
    );
    write("upload-request.cbor", &upload.encode());
    write(
        "upload-response.cbor",
        &UploadResponse {
            statuses: vec![UploadStatus::Stored, UploadStatus::Replaced],
            removed: vec![true],
        }
        .encode(),
    );
    write("snapshot.cbor", &dp.store().snapshot());
    write("dp-secret-key.bin", &*key.to_bytes());
    write("dp-public-key.bin", &key.public().to_bytes());
}
