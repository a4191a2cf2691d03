//! Evaluations are rate limited per requester; the clock is the caller's.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mimi_lookup::{
    DistributionPoint, DpKey, Error, MemoryStore, RateLimiter, RatePolicy, blind, blind_batch,
};

#[test]
fn the_limiter_refuses_after_the_budget_and_recovers_with_time() {
    // 5 evaluations at once, then one per second.
    let mut rl = RateLimiter::new(RatePolicy::new(5, 1000));
    let alice = "alice".to_owned();
    let bob = "bob".to_owned();
    for _ in 0..5 {
        rl.check(&alice, 1, 0).unwrap();
    }
    assert_eq!(
        rl.check(&alice, 1, 0),
        Err(Error::RateLimited {
            retry_after_ms: 1000
        })
    );
    assert_eq!(
        rl.check(&alice, 1, 400),
        Err(Error::RateLimited {
            retry_after_ms: 600
        })
    );
    // Refusals cost nothing; another requester has its own budget.
    rl.check(&bob, 5, 400).unwrap();
    // One token per second comes back, never more than the burst.
    rl.check(&alice, 1, 1000).unwrap();
    assert!(rl.check(&alice, 1, 1999).is_err());
    rl.check(&alice, 1, 2000).unwrap();
    assert_eq!(rl.remaining(&alice, 1_000_000), 5);
    assert_eq!(
        rl.check(&alice, 6, 1_000_000),
        Err(Error::TooMany {
            what: "evaluations in one request",
            max: 5
        })
    );
    rl.check(&alice, 5, 1_000_000).unwrap();
}

#[test]
fn overrides_pruning_and_the_table_bound() {
    let mut rl = RateLimiter::with_max_requesters(RatePolicy::new(2, 1000), 2);
    rl.set_policy(0u32, RatePolicy::new(1000, 1));
    rl.check(&0, 1000, 0).unwrap();
    rl.check(&1, 2, 0).unwrap();
    // The table is full of limited requesters: a new one is refused, not let through.
    assert_eq!(rl.check(&2, 1, 0), Err(Error::RateLimiterFull));
    // Once requester 0's bucket is full again it is forgotten and 2 fits.
    rl.check(&2, 1, 1000).unwrap();
    assert_eq!(rl.tracked(), 2);
    assert_eq!(rl.prune(10_000), 2);
    assert_eq!(rl.tracked(), 0);
}

#[test]
fn looking_up_many_siis_from_one_requester_hits_the_limit() {
    let key = DpKey::generate(&mut rng(1)).unwrap();
    let pk = key.public().clone();
    let mut dp = DistributionPoint::new(
        key,
        MemoryStore::new(),
        RateLimiter::new(RatePolicy::new(20, 60_000)),
    );
    let scraper = "scraper@evil.example".to_owned();
    let mut r = rng(2);
    let mut refused_at = None;
    for n in 0..30u64 {
        let sii = id(&format!("+1202555{:04}", 100 + n));
        let (_, q) = blind(&pk, &sii, &mut r).unwrap();
        match dp.evaluate(&scraper, &q.encode(), NOW_MS + n, &mut r) {
            Ok(_) => {}
            Err(Error::RateLimited { .. }) => {
                refused_at = Some(n);
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(refused_at, Some(20));
    // A batch costs one token per SII: 20 SIIs in one query exhaust a fresh budget too.
    let siis: Vec<_> = (0..21)
        .map(|n| id(&format!("+1202555{:04}", 200 + n)))
        .collect();
    let (_, q) = blind_batch(&pk, &siis, &mut r).unwrap();
    assert!(matches!(
        dp.evaluate(&"other".to_owned(), &q.encode(), NOW_MS, &mut r),
        Err(Error::TooMany { .. })
    ));
    let (_, q) = blind_batch(&pk, &siis[..20], &mut r).unwrap();
    dp.evaluate(&"other".to_owned(), &q.encode(), NOW_MS, &mut r)
        .unwrap();
    let (_, q) = blind(&pk, &siis[20], &mut r).unwrap();
    assert!(matches!(
        dp.evaluate(&"other".to_owned(), &q.encode(), NOW_MS, &mut r),
        Err(Error::RateLimited { .. })
    ));
    // An hour later the scraper may ask again.
    let (_, q) = blind(&pk, &siis[0], &mut r).unwrap();
    dp.evaluate(&scraper, &q.encode(), NOW_MS + 3_600_000, &mut r)
        .unwrap();
    // Lookups by index need no evaluation budget, but a random index finds nothing.
    let req = mimi_lookup::LookupRequest {
        index: mimi_lookup::Index::from_bytes([7; 32]),
    };
    let answer = dp.lookup(&req.encode(), NOW_MS).unwrap();
    assert!(
        mimi_lookup::LookupResponse::decode(&answer)
            .unwrap()
            .records()
            .is_empty()
    );
}

#[test]
fn key_rotation_keeps_the_old_key_until_retired() {
    let mut dp = dp(3);
    let old = dp.public_key().clone();
    let new = DpKey::generate(&mut rng(4)).unwrap();
    dp.rotate(new.clone());
    assert_eq!(dp.public_key(), new.public());
    let sii = id("+12025550101");
    // Old-key clients still get answers that verify against the old key.
    let s = secret_via(&mut dp, &old, "alice", &sii, 5);
    assert_ne!(s.index(), new.direct_secret(&sii).unwrap().index());
    assert!(!dp.retire(new.public().id()));
    assert!(dp.retire(old.id()));
    let (_, q) = blind(&old, &sii, &mut rng(6)).unwrap();
    assert_eq!(
        dp.evaluate(&"alice".to_owned(), &q.encode(), NOW_MS, &mut rng(7)),
        Err(Error::KeyMismatch)
    );
}
