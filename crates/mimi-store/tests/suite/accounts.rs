//! Accounts, tokens, clients.

use mimi_store::{Store, StoreError};

use super::*;

/// Usernames and user URIs are unique; lookups by either.
pub async fn users_are_unique<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    let alice = new_user("alice");
    s.create_user(&alice).await.unwrap();

    let mut same_name = new_user("alice");
    same_name.user_uri = user_uri("alice2");
    match s.create_user(&same_name).await {
        Err(StoreError::Conflict(m)) => assert_eq!(m, "username taken"),
        other => panic!("{other:?}"),
    }
    let mut same_uri = new_user("alice2");
    same_uri.user_uri = user_uri("alice");
    match s.create_user(&same_uri).await {
        Err(StoreError::Conflict(m)) => assert_eq!(m, "user URI taken"),
        other => panic!("{other:?}"),
    }

    let by_name = s.user_by_name("alice").await.unwrap().unwrap();
    assert_eq!(by_name.user_uri, alice.user_uri);
    assert_eq!(by_name.password_hash, alice.password_hash);
    assert_eq!(by_name.display_name, "alice");
    assert_eq!(by_name.created_ms, 1_000);
    assert!(!by_name.searchable);
    assert_eq!(s.user_by_uri(&alice.user_uri).await.unwrap(), Some(by_name));
    assert_eq!(s.user_by_name("alice2").await.unwrap(), None);
    assert_eq!(s.user_by_uri(&user_uri("bob")).await.unwrap(), None);
    // Names are compared exactly (the caller normalizes).
    assert_eq!(s.user_by_name("Alice").await.unwrap(), None);
}

/// A token is valid strictly before its expiry; unknown users and duplicates are refused.
pub async fn tokens_expire<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    s.create_user(&new_user("alice")).await.unwrap();
    let alice = user_uri("alice");
    s.put_token(b"token-1", &alice, 2_000).await.unwrap();

    let at = |now| s.user_by_token(b"token-1", now);
    assert_eq!(at(0).await.unwrap().unwrap().user_uri, alice);
    assert_eq!(at(1_999).await.unwrap().unwrap().user_uri, alice);
    assert_eq!(at(2_000).await.unwrap(), None);
    assert_eq!(at(u64::MAX).await.unwrap(), None);
    assert_eq!(s.user_by_token(b"other", 0).await.unwrap(), None);

    assert_err(s.put_token(b"token-1", &alice, 9_000).await, conflict);
    assert_err(
        s.put_token(b"token-2", &user_uri("nobody"), 9_000).await,
        not_found,
    );
    assert_err(s.put_token(b"", &alice, 9_000).await, invalid);

    // A token that never expires (times past i64::MAX saturate).
    s.put_token(b"forever", &alice, u64::MAX).await.unwrap();
    assert!(
        s.user_by_token(b"forever", 1 << 62)
            .await
            .unwrap()
            .is_some()
    );

    assert!(s.delete_token(b"token-1").await.unwrap());
    assert!(!s.delete_token(b"token-1").await.unwrap());
    assert_eq!(s.user_by_token(b"token-1", 0).await.unwrap(), None);
}

/// Clients belong to stored users; URIs and signature keys are unique; listed oldest first.
pub async fn clients_belong_to_users<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    s.create_user(&new_user("alice")).await.unwrap();
    s.create_user(&new_user("bob")).await.unwrap();
    let mut second = client("alice", 2);
    second.created_ms = 5_000;
    s.add_client(&second).await.unwrap();
    s.add_client(&client("alice", 1)).await.unwrap();
    s.add_client(&client("bob", 1)).await.unwrap();

    let mut same_uri = client("alice", 3);
    same_uri.client_uri = client_uri("alice", 1);
    match s.add_client(&same_uri).await {
        Err(StoreError::Conflict(m)) => assert_eq!(m, "client URI taken"),
        other => panic!("{other:?}"),
    }
    let mut same_key = client("alice", 3);
    same_key.signature_key = client("bob", 1).signature_key;
    match s.add_client(&same_key).await {
        Err(StoreError::Conflict(m)) => {
            assert_eq!(m, "signature key registered for another client")
        }
        other => panic!("{other:?}"),
    }
    assert_err(s.add_client(&client("carol", 1)).await, not_found);

    let clients = s.clients_of(&user_uri("alice")).await.unwrap();
    assert_eq!(clients, vec![client("alice", 1), second.clone()]);
    assert_eq!(s.client(&second.client_uri).await.unwrap(), Some(second));
    assert_eq!(s.client(&client_uri("carol", 1)).await.unwrap(), None);
    assert!(s.clients_of(&user_uri("carol")).await.unwrap().is_empty());
}

/// `counts` reports users, clients, hosted rooms and unclaimed KeyPackages.
pub async fn counts<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    assert_eq!(s.counts().await.unwrap(), mimi_store::Counts::default());
    user_with_clients(&s, "alice", 2).await;
    user_with_clients(&s, "bob", 1).await;
    s.add_key_packages(&client_uri("alice", 1), &[kp("a", false, u64::MAX >> 2)])
        .await
        .unwrap();
    s.commit_hub_event(&event(&room("r"), 0, &[], &[]))
        .await
        .unwrap();
    let counts = s.counts().await.unwrap();
    assert_eq!(
        (
            counts.users,
            counts.clients,
            counts.hub_rooms,
            counts.key_packages
        ),
        (2, 3, 1, 1)
    );
}
