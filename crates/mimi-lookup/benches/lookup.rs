//! Private-lookup benchmarks: the DP's blind evaluation (with its proof), the client's side,
//! sealing, and a distribution point holding 1,000,000 sealed records.
//!
//! `cargo bench -p mimi-lookup -- --warm-up-time 1 --measurement-time 3`
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mimi_lookup::rand_core::{RngCore, SeedableRng};
use mimi_lookup::{
    DistributionPoint, DpKey, Index, IndexStore, LookupRequest, MemoryStore, PublisherId,
    RateLimiter, RatePolicy, SealedRecord, blind, blind_batch, evaluate, finalize,
};
use mimi_types::id::ConnectionId;
use rand_chacha::ChaCha20Rng;

const RECORDS: usize = 1_000_000;
/// A COSE_Sign1 mapping assertion is about 200-270 bytes.
const RECORD_LEN: usize = 256;
const NOW: u64 = 1_750_000_000;

fn oprf(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let key = DpKey::generate(&mut rng).unwrap();
    let pk = key.public().clone();
    let sii = ConnectionId::parse("+12025550101").unwrap();
    let (_, query) = blind(&pk, &sii, &mut rng).unwrap();
    let siis: Vec<_> = (0..64)
        .map(|n| ConnectionId::parse(&format!("+1202555{:04}", 100 + n)).unwrap())
        .collect();
    let (_, batch) = blind_batch(&pk, &siis, &mut rng).unwrap();

    let mut g = c.benchmark_group("oprf");
    g.throughput(Throughput::Elements(1));
    g.bench_function("dp_evaluate_1", |b| {
        b.iter(|| evaluate(&key, black_box(&query), &mut rng).unwrap())
    });
    let mut dp = DistributionPoint::new(
        key.clone(),
        MemoryStore::new(),
        RateLimiter::new(RatePolicy::new(u32::MAX, 1)),
    );
    let body = query.encode();
    let who = "alice@a.example".to_owned();
    g.bench_function("dp_evaluate_request_1", |b| {
        b.iter(|| {
            dp.evaluate(&who, black_box(&body), NOW * 1000, &mut rng)
                .unwrap()
        })
    });
    g.bench_function("client_blind_and_finalize_1", |b| {
        b.iter(|| {
            let (state, q) = blind(&pk, black_box(&sii), &mut rng).unwrap();
            let e = evaluate(&key, &q, &mut rng).unwrap();
            finalize(state, &e, &pk).unwrap()
        })
    });
    // What one offline guess costs whoever holds the DP key (RFC 9497 Evaluate + HKDF).
    g.bench_function("key_holder_guess_1", |b| {
        b.iter(|| key.direct_secret(black_box(&sii)).unwrap())
    });
    g.throughput(Throughput::Elements(64));
    g.bench_function("dp_evaluate_batch_64", |b| {
        b.iter(|| evaluate(&key, black_box(&batch), &mut rng).unwrap())
    });
    g.finish();

    let secret = key.direct_secret(&sii).unwrap();
    let record = vec![0xa5u8; RECORD_LEN];
    let sealed = secret.seal(&record, &mut rng).unwrap();
    let mut g = c.benchmark_group("seal");
    g.throughput(Throughput::Bytes(RECORD_LEN as u64));
    g.bench_function("seal_256", |b| {
        b.iter(|| secret.seal(black_box(&record), &mut rng).unwrap())
    });
    g.bench_function("open_256", |b| {
        b.iter(|| secret.open(black_box(&sealed)).unwrap())
    });
    g.finish();
}

fn rss_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn store(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let before = rss_bytes();
    let mut store = MemoryStore::new();
    store.reserve(RECORDS);
    let publisher = PublisherId::new("b.example").unwrap();
    let mut probes = Vec::with_capacity(1024);
    for i in 0..RECORDS {
        let mut index = [0u8; 32];
        rng.fill_bytes(&mut index);
        let mut nonce = [0u8; 12];
        rng.fill_bytes(&mut nonce);
        let mut ct = vec![0u8; RECORD_LEN + 16];
        rng.fill_bytes(&mut ct);
        let index = Index::from_bytes(index);
        store
            .put(
                &publisher,
                index,
                SealedRecord::new(nonce, ct).unwrap(),
                NOW + 86_400,
                NOW,
            )
            .unwrap();
        if i % (RECORDS / 1024) == 0 {
            probes.push(index);
        }
    }
    let after = rss_bytes();
    assert_eq!(store.len(), RECORDS);
    let approx = store.approx_memory_bytes();
    println!(
        "store: {RECORDS} records of {RECORD_LEN} bytes (+16 tag +12 nonce); estimate {:.0} MB \
         ({} bytes/record); resident growth {}",
        approx as f64 / 1e6,
        approx / RECORDS,
        match (before, after) {
            (Some(b), Some(a)) => format!(
                "{:.0} MB ({} bytes/record)",
                (a - b) as f64 / 1e6,
                (a - b) / RECORDS
            ),
            _ => "unknown".to_owned(),
        }
    );

    let mut g = c.benchmark_group("store_1m");
    g.throughput(Throughput::Elements(1));
    let mut n = 0usize;
    g.bench_function("get_hit", |b| {
        b.iter(|| {
            n = (n + 1) % probes.len();
            let r = store.get(black_box(&probes[n]), NOW);
            assert_eq!(r.len(), 1);
            r
        })
    });
    let missing = Index::from_bytes([0x42; 32]);
    g.bench_function("get_miss", |b| {
        b.iter(|| store.get(black_box(&missing), NOW))
    });
    let dp = DistributionPoint::<_, String>::new(
        DpKey::generate(&mut rng).unwrap(),
        store,
        RateLimiter::new(RatePolicy::client_default()),
    );
    let bodies: Vec<Vec<u8>> = probes
        .iter()
        .map(|&index| LookupRequest { index }.encode())
        .collect();
    g.bench_function("lookup_request_hit", |b| {
        b.iter(|| {
            n = (n + 1) % bodies.len();
            dp.lookup(black_box(&bodies[n]), NOW * 1000).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, oprf, store);
criterion_main!(benches);
