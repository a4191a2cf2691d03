//! Client event streams: dense cursors, resume without gaps or duplicates.

use mimi_store::Store;

use super::*;

/// Events from hub events and notifies interleave in one stream per client; paging by cursor
/// sees each exactly once.
pub async fn resume_without_gaps<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    let (alice, bob) = (client_uri("alice", 1), client_uri("bob", 1));
    assert_eq!(s.latest_cursor(&alice).await.unwrap(), 0);
    assert!(s.events_after(&alice, 0, 10).await.unwrap().is_empty());

    let hosted = room("hosted");
    let followed = "mimi://z.example/r/followed".to_string();
    members(&s, &hosted, &[&alice]).await;
    s.commit_hub_event(&event(&hosted, 0, &[], &[&alice]))
        .await
        .unwrap();
    members(&s, &hosted, &[&bob]).await;
    s.set_follower_member(&followed, &alice, true)
        .await
        .unwrap();
    let mut expected = vec![format!("{hosted}#0")];
    for i in 1..=10u64 {
        if i % 2 == 0 {
            s.commit_hub_event(&event(&hosted, i / 2, &[], &[&alice, &bob]))
                .await
                .unwrap();
            expected.push(format!("{hosted}#{}", i / 2));
        } else {
            let body = format!("followed-{i}");
            let hash = u8::try_from(i).unwrap();
            s.record_notify(&notify(&followed, hash, &body, &[]))
                .await
                .unwrap();
            expected.push(body);
        }
    }
    assert_eq!(s.latest_cursor(&alice).await.unwrap(), 11);
    assert_eq!(s.latest_cursor(&bob).await.unwrap(), 5);

    // Page through in threes.
    let mut cursor = 0;
    let mut seen = Vec::new();
    loop {
        let page = s.events_after(&alice, cursor, 3).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        for e in &page {
            assert_eq!(e.cursor, cursor + 1, "cursors are dense");
            assert_eq!(e.client_uri, alice);
            cursor = e.cursor;
            seen.push(String::from_utf8_lossy(&e.body).into_owned());
        }
    }
    assert_eq!(seen, expected);

    // Resume from the middle; from the end; past the end.
    let tail = s.events_after(&alice, 7, 100).await.unwrap();
    assert_eq!(
        tail.iter().map(|e| e.cursor).collect::<Vec<_>>(),
        vec![8, 9, 10, 11]
    );
    assert!(s.events_after(&alice, 11, 100).await.unwrap().is_empty());
    assert!(
        s.events_after(&alice, u64::MAX, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(s.events_after(&alice, 0, 0).await.unwrap().is_empty());
    // Bob's stream is his own, numbered from 1.
    let b = s.events_after(&bob, 0, 100).await.unwrap();
    assert_eq!(
        b.iter().map(|e| e.cursor).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert_eq!(b[0].kind, "message");
    assert_eq!(b[0].room, hosted);
    assert_eq!(b[0].created_ms, 5_000);
}

/// Trimming drops delivered events; cursors are never reused.
pub async fn trim_keeps_cursors<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    let alice = client_uri("alice", 1);
    let r = room("hosted");
    members(&s, &r, &[&alice]).await;
    s.commit_hub_event(&event(&r, 0, &[], &[&alice]))
        .await
        .unwrap();
    for seq in 1..=4 {
        s.commit_hub_event(&event(&r, seq, &[], &[&alice]))
            .await
            .unwrap();
    }
    assert_eq!(s.trim_events(&alice, 3).await.unwrap(), 3);
    assert_eq!(s.trim_events(&alice, 3).await.unwrap(), 0);
    let rest = s.events_after(&alice, 0, 100).await.unwrap();
    assert_eq!(
        rest.iter().map(|e| e.cursor).collect::<Vec<_>>(),
        vec![4, 5]
    );
    assert_eq!(s.trim_events(&alice, u64::MAX).await.unwrap(), 2);
    assert!(s.events_after(&alice, 0, 100).await.unwrap().is_empty());
    s.commit_hub_event(&event(&r, 5, &[], &[&alice]))
        .await
        .unwrap();
    let next = s.events_after(&alice, 0, 100).await.unwrap();
    assert_eq!(next.iter().map(|e| e.cursor).collect::<Vec<_>>(), vec![6]);
    assert_eq!(s.latest_cursor(&alice).await.unwrap(), 6);
}

/// An event to many clients is stored once: the counts show one event and a delivery per
/// recipient, through hub events, fanout batches and Welcomes; trimming removes the event
/// with its last delivery, and not before.
pub async fn events_stored_once<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    let stored = async |s: &S| {
        let c = s.counts().await.unwrap();
        (c.stream_events, c.stream_deliveries)
    };
    let clients: Vec<String> = (1..=3).map(|n| client_uri("bob", n)).collect();
    let [b1, b2, b3] = [&clients[0], &clients[1], &clients[2]];
    let r = room("hosted");
    members(&s, &r, &[b1, b2, b3]).await;
    s.commit_hub_event(&event(&r, 0, &[], &[b1, b2, b3]))
        .await
        .unwrap();
    assert_eq!(stored(&s).await, (1, 3));

    // A batch of two messages to the three members of a followed room.
    let followed = "mimi://z.example/r/followed".to_string();
    members(&s, &followed, &[b1, b2, b3]).await;
    let batch = [
        notify(&followed, 1, "m1", &[]),
        notify(&followed, 2, "m2", &[]),
    ];
    s.record_notify_batch(&batch).await.unwrap();
    assert_eq!(stored(&s).await, (3, 9));

    // A Welcome to two new members.
    let (c1, c2) = (client_uri("carol", 1), client_uri("carol", 2));
    s.record_welcome_route(b"ref-1", &c1).await.unwrap();
    s.record_welcome_route(b"ref-2", &c2).await.unwrap();
    s.record_notify(&notify(&followed, 3, "welcome", &[b"ref-1", b"ref-2"]))
        .await
        .unwrap();
    assert_eq!(stored(&s).await, (4, 11));
    for c in [&c1, &c2] {
        let got = s.events_after(c, 0, 10).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].body, b"welcome");
        assert_eq!(got[0].cursor, 1);
    }

    // Trimming: the events stay while someone still has them.
    assert_eq!(s.trim_events(b1, u64::MAX).await.unwrap(), 3);
    assert_eq!(stored(&s).await, (4, 8));
    assert_eq!(s.trim_events(b2, 2).await.unwrap(), 2);
    assert_eq!(stored(&s).await, (4, 6));
    assert_eq!(s.trim_events(b3, 1).await.unwrap(), 1);
    assert_eq!(
        stored(&s).await,
        (3, 5),
        "the room's first event had no one left"
    );
    let b2_rest = s.events_after(b2, 0, 10).await.unwrap();
    assert_eq!(b2_rest.len(), 1);
    assert_eq!(b2_rest[0].body, b"m2");
    assert_eq!(s.trim_events(b3, u64::MAX).await.unwrap(), 2);
    assert_eq!(
        stored(&s).await,
        (2, 3),
        "m1 went with b3's copy; m2 b2 still has"
    );
    assert_eq!(s.trim_events(b2, u64::MAX).await.unwrap(), 1);
    assert_eq!(s.trim_events(&c1, u64::MAX).await.unwrap(), 1);
    assert_eq!(stored(&s).await, (1, 1));
    assert_eq!(
        s.events_after(&c2, 0, 10).await.unwrap()[0].body,
        b"welcome"
    );
    assert_eq!(s.trim_events(&c2, u64::MAX).await.unwrap(), 1);
    assert_eq!(stored(&s).await, (0, 0));
}
