//! Receive path of one ~200-byte message: strict decode + validate + -08 message ID.
//!
//! Run: `cargo bench -p mimi-content --bench decode`. Criterion reports the throughput in
//! elements (messages) per second.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mimi_content::{ValidationContext, decode, validate};

/// The -08 "reply" example (200 bytes): salt, inReplyTo, sender/room URIs, a GFM-MIMI part.
const REPLY_HEX: &str = include_str!("../tests/vectors/content-08/reply.hex");

fn receive(c: &mut Criterion) {
    let bytes = hex::decode(REPLY_HEX.trim()).expect("vector hex");
    assert_eq!(bytes.len(), 200);
    let mut ctx = ValidationContext::new(1_644_387_240_000);
    ctx.hub_accepted_ms = Some(1_644_387_237_492);

    let mut group = c.benchmark_group("mimi-content");
    group.throughput(Throughput::Elements(1));
    group.bench_function("decode+validate+message_id_08 (200 B)", |b| {
        b.iter(|| {
            let msg = decode(black_box(&bytes)).expect("valid");
            validate(&msg, &ctx).expect("valid");
            black_box(msg.message_id_08(&bytes).expect("id"))
        })
    });
    group.bench_function("decode only (200 B)", |b| {
        b.iter(|| decode(black_box(&bytes)).expect("valid"))
    });
    group.bench_function("message_id_08 only (200 B)", |b| {
        b.iter(|| {
            mimi_content::message_id_08(
                black_box(&bytes),
                "mimi://example.com/u/bob-jones",
                "mimi://example.com/r/engineering_team",
            )
            .expect("id")
        })
    });
    group.finish();
}

criterion_group!(benches, receive);
criterion_main!(benches);
