//! The whole flow in memory: an authority publishes, the DP stores, a client finds.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mimi_lookup::{
    IndexStore, LookupRequest, LookupResponse, PublisherId, Removal, UploadEntry, UploadRequest,
    UploadResponse, UploadStatus,
};

const ASSERTION: &[u8] = b"\xd2\x84 COSE_Sign1: +12025550101 -> mimi://b.example/u/bob";

#[test]
fn a_number_written_differently_finds_the_record() {
    let mut dp = dp(1);
    let up = publish(&mut dp, "b.example", "+1 202 555 0101", ASSERTION, 10);
    assert_eq!(up.statuses, vec![UploadStatus::Stored]);

    for (i, written) in [
        "+12025550101",
        "+1 (202) 555-0101",
        "tel:+1-202-555-0101",
        "001 202 555 0101",
    ]
    .into_iter()
    .enumerate()
    {
        let (opened, failed) = look_up(&mut dp, "alice@a.example", written, 100 + i as u64);
        assert_eq!(opened, vec![ASSERTION.to_vec()], "{written}");
        assert_eq!(failed, 0);
    }
}

#[test]
fn another_number_finds_nothing() {
    let mut dp = dp(2);
    publish(&mut dp, "b.example", "+1 202 555 0101", ASSERTION, 10);
    let (opened, failed) = look_up(&mut dp, "alice@a.example", "+1 202 555 0102", 20);
    assert!(opened.is_empty());
    assert_eq!(failed, 0);
}

#[test]
fn two_authorities_under_one_index_both_come_back() {
    let mut dp = dp(3);
    publish(
        &mut dp,
        "b.example",
        "+12025550101",
        b"assertion by b.example",
        10,
    );
    publish(
        &mut dp,
        "phone-authority.example",
        "+1 202-555-0101",
        b"assertion by phone-authority.example",
        20,
    );
    assert_eq!(dp.store().len(), 2);
    assert_eq!(dp.store().index_count(), 1);
    let (opened, failed) = look_up(&mut dp, "alice@a.example", "+12025550101", 30);
    assert_eq!(
        opened,
        vec![
            b"assertion by b.example".to_vec(),
            b"assertion by phone-authority.example".to_vec()
        ]
    );
    assert_eq!(failed, 0);
}

#[test]
fn email_lookup_uses_the_normalized_address() {
    let mut dp = dp(4);
    publish(
        &mut dp,
        "b.example",
        "Bob@B.Example",
        b"bob's assertion",
        10,
    );
    let (opened, _) = look_up(&mut dp, "alice", "mailto:Bob@b.example", 20);
    assert_eq!(opened, vec![b"bob's assertion".to_vec()]);
    // Local parts are case-sensitive (docs/decisions/0026): another address.
    let (opened, _) = look_up(&mut dp, "alice", "bob@b.example", 30);
    assert!(opened.is_empty());
}

#[test]
fn blind_evaluations_are_unlinkable_and_agree_with_the_key_holder() {
    let mut dp = dp(5);
    let pk = dp.public_key().clone();
    let sii = id("+12025550101");
    let (_, q1) = mimi_lookup::blind(&pk, &sii, &mut rng(1)).unwrap();
    let (_, q2) = mimi_lookup::blind(&pk, &sii, &mut rng(2)).unwrap();
    // The DP sees unrelated blinded elements for the same SII.
    assert_ne!(q1.encode(), q2.encode());
    let a = secret_via(&mut dp, &pk, "x", &sii, 3);
    let b = secret_via(&mut dp, &pk, "y", &sii, 4);
    assert_eq!(a.index(), b.index());
    let key = mimi_lookup::DpKey::generate(&mut rng(5)).unwrap();
    assert_eq!(key.public(), &pk);
    assert_eq!(key.direct_secret(&sii).unwrap().index(), a.index());
}

#[test]
fn batch_lookup_matches_single_lookups() {
    let mut dp = dp(6);
    let siis = [
        id("+12025550101"),
        id("bob@b.example"),
        id("+44 20 7946 0958"),
    ];
    let batch = secrets_via(&mut dp, "alice", &siis, 7);
    let pk = dp.public_key().clone();
    for (sii, s) in siis.iter().zip(&batch) {
        assert_eq!(secret_via(&mut dp, &pk, "alice", sii, 8).index(), s.index());
    }
    assert_ne!(batch[0].index(), batch[1].index());
}

#[test]
fn publisher_replaces_its_oldest_and_removes_its_own() {
    let mut dp = dp(7);
    for i in 0..6u64 {
        let record = format!("renewal {i}");
        let up = publish(
            &mut dp,
            "b.example",
            "+12025550101",
            record.as_bytes(),
            10 + 2 * i,
        );
        let expected = if i < 4 {
            UploadStatus::Stored
        } else {
            UploadStatus::Replaced
        };
        assert_eq!(up.statuses, vec![expected], "{i}");
    }
    let (opened, _) = look_up(&mut dp, "alice", "+12025550101", 50);
    assert_eq!(opened.len(), 4);
    assert_eq!(opened[0], b"renewal 2");

    // Another publisher cannot remove b.example's record; b.example can.
    let pk = dp.public_key().clone();
    let secret = secret_via(&mut dp, &pk, "b.example", &id("+12025550101"), 60);
    let answer = dp
        .lookup(
            &LookupRequest {
                index: *secret.index(),
            }
            .encode(),
            NOW_MS,
        )
        .unwrap();
    let first = LookupResponse::decode(&answer).unwrap().records()[0].clone();
    let removal = UploadRequest::new(
        vec![],
        vec![Removal {
            index: *secret.index(),
            record_id: first.id(),
        }],
    )
    .unwrap()
    .encode();
    let other = PublisherId::new("evil.example").unwrap();
    let r = UploadResponse::decode(&dp.upload(&other, &removal, NOW_MS).unwrap()).unwrap();
    assert_eq!(r.removed, vec![false]);
    let owner = PublisherId::new("b.example").unwrap();
    let r = UploadResponse::decode(&dp.upload(&owner, &removal, NOW_MS).unwrap()).unwrap();
    assert_eq!(r.removed, vec![true]);
    let (opened, _) = look_up(&mut dp, "alice", "+12025550101", 70);
    assert_eq!(opened.len(), 3);
    assert_eq!(opened[0], b"renewal 3");
}

#[test]
fn duplicates_expiry_and_index_bound() {
    let mut dp = dp(8);
    let pk = dp.public_key().clone();
    let secret = secret_via(&mut dp, &pk, "b.example", &id("+12025550101"), 1);
    let sealed = secret.seal(b"record", &mut rng(2)).unwrap();
    let entry = |expires_at| UploadEntry {
        index: *secret.index(),
        expires_at,
        record: sealed.clone(),
    };
    let b = PublisherId::new("b.example").unwrap();
    let req = UploadRequest::new(
        vec![
            entry(NOW + DAY),
            entry(NOW + 2 * DAY),
            entry(NOW),
            entry(NOW + 401 * DAY),
        ],
        vec![],
    )
    .unwrap();
    let r = UploadResponse::decode(&dp.upload(&b, &req.encode(), NOW_MS).unwrap()).unwrap();
    assert_eq!(
        r.statuses,
        vec![
            UploadStatus::Stored,
            UploadStatus::Duplicate,
            UploadStatus::Expired,
            UploadStatus::ExpiryTooFar
        ]
    );
    // The duplicate from the same publisher extended the expiry to two days.
    assert_eq!(dp.store().get(secret.index(), NOW + DAY + 1).len(), 1);
    assert!(dp.store().get(secret.index(), NOW + 2 * DAY).is_empty());
    assert_eq!(dp.store_mut().purge_expired(NOW + 2 * DAY), 1);
    assert!(dp.store().is_empty());

    // 32 publishers fill an index; the 33rd is refused, but each can still renew its own.
    for p in 0..33u64 {
        let publisher = PublisherId::new(format!("authority-{p}.example")).unwrap();
        let sealed = secret
            .seal(format!("from {p}").as_bytes(), &mut rng(100 + p))
            .unwrap();
        let req = UploadRequest::new(
            vec![UploadEntry {
                index: *secret.index(),
                expires_at: NOW + DAY,
                record: sealed,
            }],
            vec![],
        )
        .unwrap();
        let r =
            UploadResponse::decode(&dp.upload(&publisher, &req.encode(), NOW_MS).unwrap()).unwrap();
        let expected = if p < 32 {
            UploadStatus::Stored
        } else {
            UploadStatus::IndexFull
        };
        assert_eq!(r.statuses, vec![expected], "{p}");
    }
    let (opened, _) = look_up(&mut dp, "alice", "+12025550101", 200);
    assert_eq!(opened.len(), 32);
}

#[test]
fn snapshot_round_trips() {
    let mut dp = dp(9);
    publish(&mut dp, "b.example", "+12025550101", b"one", 10);
    publish(&mut dp, "c.example", "carol@c.example", b"two", 20);
    let snap = dp.store().snapshot();
    let again = mimi_lookup::MemoryStore::from_snapshot(&snap, NOW, usize::MAX).unwrap();
    assert_eq!(again.snapshot(), snap);
    assert_eq!(again.len(), 2);
    // Loading later drops what has expired.
    let later = mimi_lookup::MemoryStore::from_snapshot(&snap, NOW + 31 * DAY, usize::MAX).unwrap();
    assert!(later.is_empty());
}
