//! KeyPackages: one-time claims, last resort, expiry, concurrency, Welcome routes.

use std::collections::BTreeSet;

use mimi_store::{KeyPackageClaim, Store};

use super::*;

const NOW: u64 = 1_700_000_000;

fn accept_all(_: &[u8]) -> bool {
    true
}

fn claimed(claim: &KeyPackageClaim) -> Option<&StoredKeyPackage> {
    match claim {
        KeyPackageClaim::Claimed(kp) => Some(kp),
        _ => None,
    }
}

/// One-time KeyPackages go oldest first, once each, per client; `accept` filters.
pub async fn one_time_oldest_first<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    user_with_clients(&s, "alice", 2).await;
    let (c1, c2) = (client_uri("alice", 1), client_uri("alice", 2));
    let added = s
        .add_key_packages(&c1, &[kp("a", false, NOW + 100), kp("b", false, NOW + 100)])
        .await
        .unwrap();
    assert_eq!(added, 2);
    s.add_key_packages(&c2, &[kp("c", false, NOW + 100)])
        .await
        .unwrap();
    assert_eq!(s.key_package_count(&c1).await.unwrap(), 2);

    let claims = s
        .claim_key_packages(&user_uri("alice"), NOW, &accept_all)
        .await
        .unwrap();
    assert_eq!(claims.len(), 2);
    assert_eq!(claims[0].client_uri, c1);
    assert_eq!(
        claimed(&claims[0].outcome),
        Some(&kp("a", false, NOW + 100))
    );
    assert_eq!(claims[1].client_uri, c2);
    assert_eq!(
        claimed(&claims[1].outcome),
        Some(&kp("c", false, NOW + 100))
    );
    assert_eq!(s.key_package_count(&c1).await.unwrap(), 1);
    assert_eq!(s.key_package_count(&c2).await.unwrap(), 0);

    // Second claim: c1 yields b, c2 is exhausted.
    let claims = s
        .claim_key_packages(&user_uri("alice"), NOW, &accept_all)
        .await
        .unwrap();
    assert_eq!(
        claimed(&claims[0].outcome),
        Some(&kp("b", false, NOW + 100))
    );
    assert_eq!(claims[1].outcome, KeyPackageClaim::Exhausted);

    // `accept` picks the first acceptable one, skipping (and keeping) the others.
    s.add_key_packages(&c1, &[kp("d", false, NOW + 100), kp("e", false, NOW + 100)])
        .await
        .unwrap();
    let only_e = |bytes: &[u8]| bytes == b"kp-e";
    let claims = s
        .claim_key_packages(&user_uri("alice"), NOW, &only_e)
        .await
        .unwrap();
    assert_eq!(
        claimed(&claims[0].outcome),
        Some(&kp("e", false, NOW + 100))
    );
    assert_eq!(claims[1].outcome, KeyPackageClaim::Exhausted);
    let none = |_: &[u8]| false;
    let claims = s
        .claim_key_packages(&user_uri("alice"), NOW, &none)
        .await
        .unwrap();
    assert_eq!(claims[0].outcome, KeyPackageClaim::NothingCompatible);
    assert_eq!(s.key_package_count(&c1).await.unwrap(), 1);

    // Unknown users and users without clients: nothing.
    assert!(
        s.claim_key_packages(&user_uri("nobody"), NOW, &accept_all)
            .await
            .unwrap()
            .is_empty()
    );
    s.create_user(&new_user("bob")).await.unwrap();
    assert!(
        s.claim_key_packages(&user_uri("bob"), NOW, &accept_all)
            .await
            .unwrap()
            .is_empty()
    );
    assert_err(
        s.add_key_packages(&client_uri("bob", 1), &[kp("x", false, NOW)])
            .await,
        not_found,
    );
}

/// A last-resort KeyPackage is handed out when no one-time one is, again and again; a new
/// one replaces it.
pub async fn last_resort_reused<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    user_with_clients(&s, "alice", 1).await;
    let c1 = client_uri("alice", 1);
    s.add_key_packages(
        &c1,
        &[kp("lr1", true, NOW + 100), kp("a", false, NOW + 100)],
    )
    .await
    .unwrap();
    assert_eq!(
        s.key_package_count(&c1).await.unwrap(),
        1,
        "last resort not counted"
    );
    let claim = async || {
        let claims = s
            .claim_key_packages(&user_uri("alice"), NOW, &accept_all)
            .await
            .unwrap();
        claimed(&claims[0].outcome).cloned()
    };
    assert_eq!(claim().await, Some(kp("a", false, NOW + 100)));
    assert_eq!(claim().await, Some(kp("lr1", true, NOW + 100)));
    assert_eq!(claim().await, Some(kp("lr1", true, NOW + 100)));

    s.add_key_packages(&c1, &[kp("lr2", true, NOW + 100)])
        .await
        .unwrap();
    assert_eq!(claim().await, Some(kp("lr2", true, NOW + 100)));
    // A refused last resort is "nothing compatible", not "exhausted".
    let not_lr2 = |b: &[u8]| b != b"kp-lr2";
    let claims = s
        .claim_key_packages(&user_uri("alice"), NOW, &not_lr2)
        .await
        .unwrap();
    assert_eq!(claims[0].outcome, KeyPackageClaim::NothingCompatible);
}

/// Expired KeyPackages (one-time or last-resort) are never handed out.
pub async fn expired_never_returned<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    user_with_clients(&s, "alice", 1).await;
    let c1 = client_uri("alice", 1);
    s.add_key_packages(
        &c1,
        &[
            kp("old", false, NOW - 1),
            kp("edge", false, NOW),
            kp("lr", true, NOW - 1),
        ],
    )
    .await
    .unwrap();
    let claims = s
        .claim_key_packages(&user_uri("alice"), NOW, &accept_all)
        .await
        .unwrap();
    // `not_after == now` is still valid; `old` is dropped on the way.
    assert_eq!(claimed(&claims[0].outcome), Some(&kp("edge", false, NOW)));
    assert_eq!(s.key_package_count(&c1).await.unwrap(), 0);
    let claims = s
        .claim_key_packages(&user_uri("alice"), NOW, &accept_all)
        .await
        .unwrap();
    assert_eq!(claims[0].outcome, KeyPackageClaim::Exhausted);
    // Later, even valid-looking stock expires.
    s.add_key_packages(&c1, &[kp("soon", false, NOW + 10)])
        .await
        .unwrap();
    let claims = s
        .claim_key_packages(&user_uri("alice"), NOW + 11, &accept_all)
        .await
        .unwrap();
    assert_eq!(claims[0].outcome, KeyPackageClaim::Exhausted);
}

/// A retried upload is harmless; a claimed one-time KeyPackage is never offered again, even
/// when uploaded again; a KeyPackageRef belongs to one client.
pub async fn uploads_are_idempotent<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    user_with_clients(&s, "alice", 2).await;
    let (c1, c2) = (client_uri("alice", 1), client_uri("alice", 2));
    assert_eq!(
        s.add_key_packages(&c1, &[kp("a", false, NOW + 100)])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.add_key_packages(&c1, &[kp("a", false, NOW + 100)])
            .await
            .unwrap(),
        0
    );
    assert_eq!(s.key_package_count(&c1).await.unwrap(), 1);
    assert_err(
        s.add_key_packages(&c2, &[kp("a", false, NOW + 100)]).await,
        conflict,
    );

    s.claim_key_packages(&user_uri("alice"), NOW, &accept_all)
        .await
        .unwrap();
    assert_eq!(
        s.add_key_packages(&c1, &[kp("a", false, NOW + 100)])
            .await
            .unwrap(),
        0
    );
    let claims = s
        .claim_key_packages(&user_uri("alice"), NOW, &accept_all)
        .await
        .unwrap();
    assert_eq!(claims[0].outcome, KeyPackageClaim::Exhausted);

    // A failing batch stores nothing.
    s.add_key_packages(&c2, &[kp("c2", false, NOW + 100)])
        .await
        .unwrap();
    assert_err(
        s.add_key_packages(
            &c1,
            &[kp("new", false, NOW + 100), kp("c2", false, NOW + 100)],
        )
        .await,
        conflict,
    );
    assert_eq!(s.key_package_count(&c1).await.unwrap(), 0);
}

/// 8 concurrent claimers, 5 KeyPackages: exactly 5 handed out, all different.
pub async fn claimed_once_under_concurrency<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    user_with_clients(&s, "alice", 1).await;
    let c1 = client_uri("alice", 1);
    let stock: Vec<_> = (0..5)
        .map(|i| kp(&format!("k{i}"), false, NOW + 100))
        .collect();
    s.add_key_packages(&c1, &stock).await.unwrap();

    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                let accept = |_: &[u8]| true;
                s.claim_key_packages(&user_uri("alice"), NOW, &accept).await
            })
        })
        .collect();
    let mut handed_out = Vec::new();
    let mut exhausted = 0;
    for t in tasks {
        let claims = t.await.unwrap().unwrap();
        assert_eq!(claims.len(), 1);
        match &claims[0].outcome {
            KeyPackageClaim::Claimed(kp) => handed_out.push(kp.kp_ref.clone()),
            KeyPackageClaim::Exhausted => exhausted += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(handed_out.len(), 5);
    assert_eq!(exhausted, 3);
    let distinct: BTreeSet<_> = handed_out.iter().collect();
    assert_eq!(distinct.len(), 5, "a KeyPackage was handed out twice");
    assert_eq!(s.key_package_count(&c1).await.unwrap(), 0);
}

/// Claims record Welcome routes, used once per claim.
pub async fn welcome_routes<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    user_with_clients(&s, "alice", 1).await;
    let c1 = client_uri("alice", 1);
    s.add_key_packages(&c1, &[kp("a", false, NOW + 100), kp("lr", true, NOW + 100)])
        .await
        .unwrap();
    for _ in 0..3 {
        s.claim_key_packages(&user_uri("alice"), NOW, &accept_all)
            .await
            .unwrap();
    }
    // "a" once, the last resort twice.
    let welcome = |hash: u8, r: &[u8]| notify(&room("r"), hash, "welcome", &[r]);
    let to_c1 = Some(vec![c1.clone()]);
    assert_eq!(s.record_notify(&welcome(1, b"ref-a")).await.unwrap(), to_c1);
    assert_eq!(
        s.record_notify(&welcome(2, b"ref-a")).await.unwrap(),
        Some(vec![])
    );
    assert_eq!(
        s.record_notify(&welcome(3, b"ref-lr")).await.unwrap(),
        to_c1
    );
    assert_eq!(
        s.record_notify(&welcome(4, b"ref-lr")).await.unwrap(),
        to_c1
    );
    assert_eq!(
        s.record_notify(&welcome(5, b"ref-lr")).await.unwrap(),
        Some(vec![])
    );

    // Recorded by hand (routes need no stored client).
    let other = client_uri("bob", 1);
    s.record_welcome_route(b"ref-x", &other).await.unwrap();
    assert_eq!(
        s.record_notify(&welcome(6, b"ref-x")).await.unwrap(),
        Some(vec![other])
    );
    assert_eq!(
        s.record_notify(&welcome(7, b"ref-x")).await.unwrap(),
        Some(vec![])
    );
    assert_err(s.record_welcome_route(b"", &c1).await, invalid);
}

/// `purge_expired` drops expired tokens and KeyPackages, keeps the rest.
pub async fn purge_expired<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    user_with_clients(&s, "alice", 1).await;
    let c1 = client_uri("alice", 1);
    let alice = user_uri("alice");
    s.put_token(b"old", &alice, NOW * 1000).await.unwrap();
    s.put_token(b"new", &alice, NOW * 1000 + 1).await.unwrap();
    s.add_key_packages(
        &c1,
        &[
            kp("old", false, NOW - 1),
            kp("claimed", false, NOW - 1),
            kp("new", false, NOW),
        ],
    )
    .await
    .unwrap();
    let first = |b: &[u8]| b == b"kp-claimed";
    s.claim_key_packages(&alice, NOW - 1, &first).await.unwrap();

    let purged = s.purge_expired(NOW * 1000).await.unwrap();
    assert_eq!(purged.tokens, 1);
    assert_eq!(purged.key_packages, 1);
    assert_eq!(purged.spent_key_packages, 1);
    assert!(s.user_by_token(b"new", NOW * 1000).await.unwrap().is_some());
    assert_eq!(s.key_package_count(&c1).await.unwrap(), 1);
    assert_eq!(
        s.purge_expired(NOW * 1000).await.unwrap(),
        Default::default()
    );
}
