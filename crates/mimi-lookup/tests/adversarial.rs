//! A distribution point that misbehaves, and what it can store and see.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mimi_lookup::{
    DpKey, Error, Evaluation, IndexStore, LookupRequest, LookupResponse, SealedRecord, blind,
    evaluate, finalize,
};

/// Replace every occurrence of `from` in `bytes` by `to` (same length).
fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = bytes.to_vec();
    let mut i = 0;
    let mut n = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            i += from.len();
            n += 1;
        } else {
            i += 1;
        }
    }
    assert!(n > 0, "nothing replaced");
    out
}

#[test]
fn a_dp_evaluating_with_another_key_than_it_published_is_detected() {
    let published = DpKey::generate(&mut rng(1)).unwrap();
    let tagging = DpKey::generate(&mut rng(2)).unwrap();
    let pk = published.public();
    let sii = id("+12025550101");
    let (state, query) = blind(pk, &sii, &mut rng(3)).unwrap();

    // The honest key is refused for a query naming another key.
    assert_eq!(
        evaluate(&tagging, &query, &mut rng(4)).unwrap_err(),
        Error::KeyMismatch
    );
    // The DP evaluates with its per-user "tagging" key and relabels the answer as if made
    // with the published key.
    let pid = pk.id();
    let tid = tagging.public().id();
    let retargeted = replace(&query.encode(), pid.as_bytes(), tid.as_bytes());
    let q = mimi_lookup::BlindedQuery::decode(&retargeted).unwrap();
    let forged = evaluate(&tagging, &q, &mut rng(5)).unwrap().encode();
    let forged = Evaluation::decode(&replace(&forged, tid.as_bytes(), pid.as_bytes())).unwrap();
    assert_eq!(
        finalize(state, &forged, pk).unwrap_err(),
        Error::ProofInvalid
    );

    // Without relabelling, the client sees the other key id.
    let (state, query) = blind(pk, &sii, &mut rng(6)).unwrap();
    let q = mimi_lookup::BlindedQuery::decode(&replace(
        &query.encode(),
        pid.as_bytes(),
        tid.as_bytes(),
    ))
    .unwrap();
    let other = evaluate(&tagging, &q, &mut rng(7)).unwrap();
    assert_eq!(finalize(state, &other, pk).unwrap_err(), Error::KeyMismatch);
}

#[test]
fn a_tampered_evaluation_or_proof_is_detected() {
    let key = DpKey::generate(&mut rng(1)).unwrap();
    let pk = key.public();
    let sii = id("bob@b.example");
    let (state, query) = blind(pk, &sii, &mut rng(2)).unwrap();
    let good = evaluate(&key, &query, &mut rng(3)).unwrap().encode();
    // The proof is the last 64 bytes; flip a bit of its c scalar's low byte.
    let mut bad = good.clone();
    let at = bad.len() - 64;
    bad[at] ^= 1;
    match Evaluation::decode(&bad) {
        Ok(e) => assert_eq!(finalize(state, &e, pk).unwrap_err(), Error::ProofInvalid),
        Err(e) => assert!(matches!(e, Error::InvalidElement { .. })),
    }
    // An evaluation for another query (a replayed answer) does not verify either.
    let (state, _) = blind(pk, &sii, &mut rng(4)).unwrap();
    let replayed = Evaluation::decode(&good).unwrap();
    assert_eq!(
        finalize(state, &replayed, pk).unwrap_err(),
        Error::ProofInvalid
    );
}

#[test]
fn a_tampered_sealed_record_does_not_open() {
    let key = DpKey::generate(&mut rng(1)).unwrap();
    let secret = key.direct_secret(&id("+12025550101")).unwrap();
    let sealed = secret.seal(b"the assertion", &mut rng(2)).unwrap();
    let bytes = sealed.encode();
    for i in 3..bytes.len() {
        // Skip the CBOR heads of the array, version and byte strings; flip content bits.
        let mut t = bytes.clone();
        t[i] ^= 0x40;
        if let Ok(r) = SealedRecord::decode(&t) {
            assert_eq!(secret.open(&r), Err(Error::OpenFailed), "byte {i}");
        }
    }
    assert_eq!(secret.open(&sealed).unwrap(), b"the assertion");
}

#[test]
fn records_swapped_between_indices_do_not_open() {
    let mut dp = dp(1);
    publish(&mut dp, "b.example", "+12025550101", b"for 0101", 10);
    publish(&mut dp, "b.example", "+12025550102", b"for 0102", 20);
    let pk = dp.public_key().clone();
    let s1 = secret_via(&mut dp, &pk, "alice", &id("+12025550101"), 30);
    let s2 = secret_via(&mut dp, &pk, "alice", &id("+12025550102"), 40);
    let r1 = dp.store().get(s1.index(), NOW);
    let r2 = dp.store().get(s2.index(), NOW);
    assert_eq!(s1.open(&r1[0]).unwrap(), b"for 0101");
    // The DP answers the lookup for 0101 with 0102's record (and vice versa).
    let swapped = LookupResponse::new(r2.clone()).unwrap();
    assert_eq!(s1.open_all(&swapped), (vec![], 1));
    assert_eq!(s2.open(&r1[0]), Err(Error::OpenFailed));
    // A record the DP re-stores under another index does not open there either.
    let b = mimi_lookup::PublisherId::new("dp-itself").unwrap();
    dp.store_mut()
        .put(&b, *s1.index(), r2[0].clone(), NOW + DAY, NOW)
        .unwrap();
    let answer = dp
        .lookup(&LookupRequest { index: *s1.index() }.encode(), NOW_MS)
        .unwrap();
    let (opened, failed) = s1.open_all(&LookupResponse::decode(&answer).unwrap());
    assert_eq!(opened, vec![b"for 0101".to_vec()]);
    assert_eq!(failed, 1);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn the_stored_data_holds_no_plaintext_sii() {
    let mut dp = dp(1);
    let phone = "+1 202 555 0101";
    let email = "Bob.Smith@B.example";
    // Records that themselves name the SII, as real assertions do.
    publish(
        &mut dp,
        "b.example",
        phone,
        b"+12025550101 -> mimi://b.example/u/bob",
        10,
    );
    publish(
        &mut dp,
        "b.example",
        email,
        b"Bob.Smith@b.example -> mimi://b.example/u/bob",
        20,
    );
    look_up(&mut dp, "alice@a.example", phone, 30);
    look_up(&mut dp, "alice@a.example", email, 40);
    let snapshot = dp.store().snapshot();
    assert_eq!(dp.store().len(), 2);
    for needle in [
        &b"12025550101"[..],
        b"2025550101",
        b"5550101",
        b"Bob.Smith",
        b"bob.smith",
        b"Bob.Smith@b.example",
        b"mimi-sii-v1",
        b"mimi://b.example/u/bob",
    ] {
        assert!(
            !contains(&snapshot, needle),
            "{:?} found in the store",
            String::from_utf8_lossy(needle)
        );
    }
    // Nor do the Debug forms a client or DP might log.
    let pk = dp.public_key().clone();
    let (state, query) = blind(&pk, &id(phone), &mut rng(50)).unwrap();
    let secret = secret_via(&mut dp, &pk, "alice", &id(email), 51);
    for shown in [
        format!("{state:?}"),
        format!("{query:?}"),
        format!("{secret:?}"),
    ] {
        assert!(
            !shown.contains("2025550101") && !shown.contains("Bob.Smith"),
            "{shown}"
        );
    }
    // Nor does the store's Debug output (what a DP might log).
    let debug = format!("{:?}", dp);
    assert!(
        !debug.contains("2025550101") && !debug.contains("Bob.Smith"),
        "{debug}"
    );
}
