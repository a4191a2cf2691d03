//! What one handle writes, another handle on the same database reads back.

use mimi_store::{ConsentRecord, ConsentState, KeyPackageClaim, Store};

use super::*;

const NOW: u64 = 1_700_000_000;

/// Write a little of everything.
pub async fn populate<S: Store>(s: &S) {
    user_with_clients(s, "alice", 2).await;
    s.put_token(b"tok", &user_uri("alice"), 50_000)
        .await
        .unwrap();
    s.add_key_packages(
        &client_uri("alice", 1),
        &[
            kp("a", false, NOW + 100),
            kp("b", false, NOW + 100),
            kp("lr", true, NOW + 100),
        ],
    )
    .await
    .unwrap();
    let r = room("clubhouse");
    members(s, &r, &[&client_uri("alice", 1)]).await;
    s.commit_hub_event(&event(&r, 0, &[], &[&client_uri("alice", 1)]))
        .await
        .unwrap();
    let mut e = event(
        &r,
        1,
        &["b.example", "c.example"],
        &[&client_uri("alice", 1)],
    );
    let mut state = snapshot(&r, 1);
    state.pending = vec![(b"proposal".to_vec(), 10_001)];
    e.snapshot = Some(state);
    s.commit_hub_event(&e).await.unwrap();
    let followed = "mimi://z.example/r/f".to_string();
    s.set_follower_member(&followed, &client_uri("alice", 2), true)
        .await
        .unwrap();
    s.record_notify(&notify(&followed, 1, "hello", &[]))
        .await
        .unwrap();
    s.record_welcome_route(b"ref-route", &client_uri("alice", 2))
        .await
        .unwrap();
    s.put_consent(&ConsentRecord {
        requester_uri: user_uri("bob"),
        target_uri: user_uri("alice"),
        room: None,
        state: ConsentState::Granted,
        updated_ms: 7,
    })
    .await
    .unwrap();
    s.put_identifiers(
        &user_uri("alice"),
        &[("handle".into(), "@alice".into())],
        true,
    )
    .await
    .unwrap();
}

/// Check everything [`populate`] wrote is there (reading only; `verify_then_use` writes).
pub async fn verify<S: Store>(s: &S) {
    let alice = s.user_by_name("alice").await.unwrap().unwrap();
    assert_eq!(alice.user_uri, user_uri("alice"));
    assert!(alice.searchable);
    assert_eq!(
        s.user_by_token(b"tok", 1).await.unwrap().unwrap().user_uri,
        alice.user_uri
    );
    assert_eq!(s.clients_of(&alice.user_uri).await.unwrap().len(), 2);
    assert_eq!(
        s.key_package_count(&client_uri("alice", 1)).await.unwrap(),
        2
    );
    let r = room("clubhouse");
    let room_state = s.hub_room(&r).await.unwrap().unwrap();
    assert_eq!(room_state.seq, 1);
    assert_eq!(room_state.pending, vec![(b"proposal".to_vec(), 10_001)]);
    assert_eq!(s.load_hub_rooms().await.unwrap(), vec![room_state]);
    let backlog = s.outbox_backlog().await.unwrap();
    assert_eq!(
        backlog
            .iter()
            .map(|b| (b.destination.as_str(), b.rows))
            .collect::<Vec<_>>(),
        vec![("b.example", 1), ("c.example", 1)]
    );
    let due = s.outbox_due("b.example", 20_000, 10).await.unwrap();
    assert_eq!(due[0].body, format!("{r}#1").into_bytes());
    assert_eq!(
        s.events_after(&client_uri("alice", 1), 0, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        s.events_after(&client_uri("alice", 2), 0, 10)
            .await
            .unwrap()[0]
            .body,
        b"hello"
    );
    let followed = "mimi://z.example/r/f";
    assert_eq!(
        s.follower_members(followed).await.unwrap(),
        vec![client_uri("alice", 2)]
    );
    assert_eq!(
        s.consent(&user_uri("bob"), &user_uri("alice"), None)
            .await
            .unwrap()
            .unwrap()
            .state,
        ConsentState::Granted
    );
    assert_eq!(
        s.find_users("handle", "@alice").await.unwrap(),
        vec![user_uri("alice")]
    );
}

/// [`verify`], then check the rules still hold on the reopened database (writes).
pub async fn verify_then_use<S: Store>(s: &S) {
    verify(s).await;
    let r = room("clubhouse");
    // The sequence continues where it was; the dedupe record survived.
    assert_err(s.commit_hub_event(&event(&r, 1, &[], &[])).await, conflict);
    s.commit_hub_event(&event(&r, 2, &[], &[])).await.unwrap();
    let followed = "mimi://z.example/r/f";
    assert_eq!(
        s.record_notify(&notify(followed, 1, "hello", &[]))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.record_notify(&notify(followed, 2, "welcome", &[b"ref-route"]))
            .await
            .unwrap(),
        Some(vec![client_uri("alice", 2)])
    );
    // A claim after the reopen: the oldest one-time KeyPackage.
    let accept = |_: &[u8]| true;
    let claims = s
        .claim_key_packages(&user_uri("alice"), NOW, &accept)
        .await
        .unwrap();
    assert_eq!(
        claims[0].outcome,
        KeyPackageClaim::Claimed(kp("a", false, NOW + 100))
    );
    // The stream continues after its last cursor.
    s.commit_hub_event(&{
        let mut e = event(&r, 3, &[], &[&client_uri("alice", 1)]);
        e.kind = "after-reopen".into();
        e
    })
    .await
    .unwrap();
    let events = s
        .events_after(&client_uri("alice", 1), 2, 10)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].cursor, 3);
}

/// populate + verify on one handle (every backend; the reopen variant is per backend).
pub async fn populate_and_verify<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    populate(&s).await;
    verify_then_use(&s).await;
}
