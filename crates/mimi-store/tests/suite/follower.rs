//! The follower side: dedupe of fanout messages, local members.

use mimi_store::Store;

use super::*;

/// The same message twice: delivered once to the room's members; the second call reports a
/// duplicate and changes nothing.
pub async fn notify_dedupe<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    let r = room("clubhouse");
    let (bob1, bob2) = (client_uri("bob", 1), client_uri("bob", 2));
    s.set_follower_member(&r, &bob2, true).await.unwrap();
    s.set_follower_member(&r, &bob1, true).await.unwrap();
    assert_eq!(
        s.record_notify(&notify(&r, 7, "m1", &[])).await.unwrap(),
        Some(vec![bob1.clone(), bob2.clone()])
    );
    assert_eq!(
        s.record_notify(&notify(&r, 7, "m1", &[])).await.unwrap(),
        None
    );
    // The redelivery is counted, per hub.
    assert_eq!(
        s.notify_duplicates().await.unwrap(),
        vec![("z.example".to_string(), 1)]
    );
    for c in [&bob1, &bob2] {
        let events = s.events_after(c, 0, 10).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].body, b"m1");
        assert_eq!(events[0].room, r);
    }
    // Another message, and the same hash in another room, are new.
    s.set_follower_member(&r, &bob2, false).await.unwrap();
    assert_eq!(
        s.record_notify(&notify(&r, 8, "m2", &[])).await.unwrap(),
        Some(vec![bob1.clone()])
    );
    let r2 = room("annex");
    s.set_follower_member(&r2, &bob1, true).await.unwrap();
    assert_eq!(
        s.record_notify(&notify(&r2, 7, "m1", &[])).await.unwrap(),
        Some(vec![bob1.clone()])
    );
    assert_eq!(s.events_after(&bob1, 0, 10).await.unwrap().len(), 3);
    assert_eq!(
        s.notify_duplicates().await.unwrap(),
        vec![("z.example".to_string(), 1)],
        "new messages are not duplicates"
    );
    assert_eq!(s.events_after(&bob2, 0, 10).await.unwrap().len(), 1);

    // A notify without a room is refused, and nothing is marked as seen.
    let mut bad = notify(&r, 9, "x", &[]);
    bad.room.clear();
    assert_err(s.record_notify(&bad).await, invalid);
    assert!(
        s.record_notify(&notify(&r, 9, "x", &[]))
            .await
            .unwrap()
            .is_some()
    );
}

/// A batch of fanout messages is recorded in order, in one transaction: each member's stream
/// has them in batch order with dense cursors; a redelivered message in the batch is reported
/// as a duplicate; an invalid message refuses the whole batch and records nothing.
pub async fn notify_batch<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    let r = room("clubhouse");
    let (bob1, bob2) = (client_uri("bob", 1), client_uri("bob", 2));
    s.set_follower_member(&r, &bob1, true).await.unwrap();
    s.set_follower_member(&r, &bob2, true).await.unwrap();
    s.record_notify(&notify(&r, 1, "m1", &[])).await.unwrap();
    let batch: Vec<_> = [(1, "m1"), (2, "m2"), (3, "m3"), (4, "m4")]
        .into_iter()
        .map(|(h, b)| notify(&r, h, b, &[]))
        .collect();
    let both = Some(vec![bob1.clone(), bob2.clone()]);
    assert_eq!(
        s.record_notify_batch(&batch).await.unwrap(),
        vec![None, both.clone(), both.clone(), both]
    );
    for c in [&bob1, &bob2] {
        let events = s.events_after(c, 0, 10).await.unwrap();
        let bodies: Vec<_> = events.iter().map(|e| e.body.clone()).collect();
        assert_eq!(
            bodies,
            vec![
                b"m1".to_vec(),
                b"m2".to_vec(),
                b"m3".to_vec(),
                b"m4".to_vec()
            ]
        );
        let cursors: Vec<_> = events.iter().map(|e| e.cursor).collect();
        assert_eq!(cursors, vec![1, 2, 3, 4]);
    }
    let mut bad = vec![notify(&r, 5, "m5", &[]), notify(&r, 6, "m6", &[])];
    bad[1].room.clear();
    assert_err(s.record_notify_batch(&bad).await, invalid);
    assert_eq!(s.events_after(&bob1, 4, 10).await.unwrap().len(), 0);
    assert!(
        s.record_notify(&notify(&r, 5, "m5", &[]))
            .await
            .unwrap()
            .is_some()
    );

    // A long batch over two rooms, one without local members: each message's own
    // recipients, every stream dense and in order.
    let quiet = room("quiet");
    let long: Vec<_> = (0..40u8)
        .map(|i| {
            let to = if i % 3 == 0 { &quiet } else { &r };
            notify(to, 100 + i, &format!("n{i}"), &[])
        })
        .collect();
    let results = s.record_notify_batch(&long).await.unwrap();
    assert_eq!(results.len(), 40);
    for (i, result) in results.iter().enumerate() {
        let expected = if i % 3 == 0 {
            Some(vec![])
        } else {
            Some(vec![bob1.clone(), bob2.clone()])
        };
        assert_eq!(result, &expected, "message {i}");
    }
    for c in [&bob1, &bob2] {
        let events = s.events_after(c, 5, 100).await.unwrap();
        let bodies: Vec<_> = events.iter().map(|e| e.body.clone()).collect();
        let expected: Vec<_> = (0..40)
            .filter(|i| i % 3 != 0)
            .map(|i| format!("n{i}").into_bytes())
            .collect();
        assert_eq!(bodies, expected);
        let cursors: Vec<_> = events.iter().map(|e| e.cursor).collect();
        assert_eq!(cursors, (6..6 + expected.len() as u64).collect::<Vec<_>>());
    }
}

/// A Welcome goes to the clients its KeyPackages were handed to, once per route use, and makes
/// them members; a redelivered Welcome consumes nothing.
pub async fn welcome_delivery<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    let r = room("clubhouse");
    let (bob1, bob2) = (client_uri("bob", 1), client_uri("bob", 2));
    s.record_welcome_route(b"ref-1", &bob1).await.unwrap();
    s.record_welcome_route(b"ref-2", &bob2).await.unwrap();
    s.record_welcome_route(b"ref-2", &bob2).await.unwrap();
    assert_eq!(
        s.record_notify(&notify(
            &r,
            1,
            "welcome",
            &[b"ref-1", b"ref-2", b"ref-unknown"]
        ))
        .await
        .unwrap(),
        Some(vec![bob1.clone(), bob2.clone()])
    );
    assert_eq!(
        s.follower_members(&r).await.unwrap(),
        vec![bob1.clone(), bob2.clone()]
    );
    // The duplicate does not use bob2's second route.
    assert_eq!(
        s.record_notify(&notify(&r, 1, "welcome", &[b"ref-2"]))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.record_notify(&notify(&r, 2, "welcome again", &[b"ref-2"]))
            .await
            .unwrap(),
        Some(vec![bob2.clone()])
    );
    // Routes are used up; a Welcome nobody here was promised reaches nobody.
    assert_eq!(
        s.record_notify(&notify(&r, 3, "welcome", &[b"ref-1", b"ref-2"]))
            .await
            .unwrap(),
        Some(vec![])
    );
    assert_eq!(s.events_after(&bob1, 0, 10).await.unwrap().len(), 1);
    assert_eq!(s.events_after(&bob2, 0, 10).await.unwrap().len(), 2);
    assert_err(
        s.record_notify(&notify(&r, 4, "welcome", &[b""])).await,
        invalid,
    );
}

/// Local membership of followed rooms: idempotent adds and removes, sorted.
pub async fn follower_membership<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    let r = room("clubhouse");
    let (b1, b2) = (client_uri("bob", 1), client_uri("bob", 2));
    assert!(s.follower_members(&r).await.unwrap().is_empty());
    s.set_follower_member(&r, &b2, true).await.unwrap();
    s.set_follower_member(&r, &b1, true).await.unwrap();
    s.set_follower_member(&r, &b1, true).await.unwrap();
    s.set_follower_member(&room("annex"), &b1, true)
        .await
        .unwrap();
    assert_eq!(
        s.follower_members(&r).await.unwrap(),
        vec![b1.clone(), b2.clone()]
    );
    s.set_follower_member(&r, &b1, false).await.unwrap();
    s.set_follower_member(&r, &b1, false).await.unwrap();
    assert_eq!(s.follower_members(&r).await.unwrap(), vec![b2]);
    assert_eq!(s.follower_members(&room("annex")).await.unwrap(), vec![b1]);
}

/// Rooms a user is in: distinct rooms with one of the user's clients as a local member.
pub async fn user_room_count<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    user_with_clients(&s, "bob", 2).await;
    user_with_clients(&s, "cathy", 1).await;
    let (b1, b2, c1) = (
        client_uri("bob", 1),
        client_uri("bob", 2),
        client_uri("cathy", 1),
    );
    assert_eq!(s.user_room_count(&user_uri("bob")).await.unwrap(), 0);
    s.set_follower_member(&room("clubhouse"), &b1, true)
        .await
        .unwrap();
    s.set_follower_member(&room("clubhouse"), &b2, true)
        .await
        .unwrap();
    s.set_follower_member(&room("annex"), &b2, true)
        .await
        .unwrap();
    s.set_follower_member(&room("attic"), &c1, true)
        .await
        .unwrap();
    assert_eq!(s.user_room_count(&user_uri("bob")).await.unwrap(), 2);
    assert_eq!(s.user_room_count(&user_uri("cathy")).await.unwrap(), 1);
    s.set_follower_member(&room("annex"), &b2, false)
        .await
        .unwrap();
    assert_eq!(s.user_room_count(&user_uri("bob")).await.unwrap(), 1);
    assert_eq!(s.user_room_count(&user_uri("nobody")).await.unwrap(), 0);
}
