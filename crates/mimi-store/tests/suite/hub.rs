//! The hub side: room state, the per-room sequence, atomic events.

use mimi_store::{HubEvent, Store};

use super::*;

const B: &str = "b.example";
const C: &str = "c.example";

/// Everything an event may leave behind, to compare before and after a refused one.
async fn footprint<S: Store>(s: &S, room_: &str, local: &str) -> impl PartialEq + std::fmt::Debug {
    (
        s.hub_room(room_).await.unwrap(),
        s.outbox_backlog().await.unwrap(),
        s.events_after(local, 0, 1000).await.unwrap(),
        s.latest_cursor(local).await.unwrap(),
    )
}

/// A room is created at 0 and advances one by one; its state and pending proposals are
/// replaced by snapshots and kept by events without one.
pub async fn rooms_created_and_updated<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    let r = room("clubhouse");
    let alice = client_uri("alice", 1);
    members(&s, &r, &[&alice]).await;
    assert_eq!(s.hub_room(&r).await.unwrap(), None);
    s.commit_hub_event(&event(&r, 0, &[], &[&alice]))
        .await
        .unwrap();
    assert_eq!(s.hub_room(&r).await.unwrap(), Some(snapshot(&r, 0)));

    // An event that changes the state (an accepted proposal).
    let mut e = event(&r, 1, &[B], &[&alice]);
    let mut state = snapshot(&r, 1);
    state.pending = vec![(b"proposal-1".to_vec(), 11), (b"proposal-2".to_vec(), 12)];
    e.snapshot = Some(state.clone());
    s.commit_hub_event(&e).await.unwrap();
    assert_eq!(s.hub_room(&r).await.unwrap(), Some(state.clone()));

    // A message: the state stays, the sequence advances; the local recipients come back
    // (whose event streams the provider wakes).
    let recipients = s
        .commit_hub_event(&event(&r, 2, &[B], &[&alice]))
        .await
        .unwrap();
    assert_eq!(recipients, vec![alice.clone()]);
    let stored = s.hub_room(&r).await.unwrap().unwrap();
    assert_eq!(stored.seq, 2);
    assert_eq!(stored.group_info, state.group_info);
    assert_eq!(stored.pending, state.pending);

    // A commit: new epoch, no pending proposals.
    let mut e = event(&r, 3, &[B], &[]);
    e.snapshot = Some(snapshot(&r, 3));
    s.commit_hub_event(&e).await.unwrap();
    assert_eq!(s.hub_room(&r).await.unwrap(), Some(snapshot(&r, 3)));

    // A second room; both load, in order.
    let r2 = room("annex");
    let mut e = event(&r2, 0, &[], &[]);
    e.snapshot.as_mut().unwrap().pending = vec![(b"p".to_vec(), 7)];
    s.commit_hub_event(&e).await.unwrap();
    let all = s.load_hub_rooms().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].room, r2);
    assert_eq!(all[0].pending, vec![(b"p".to_vec(), 7)]);
    assert_eq!(all[1], snapshot(&r, 3));

    // Local deliveries of every event reached alice's stream, in order.
    let events = s.events_after(&alice, 0, 100).await.unwrap();
    let bodies: Vec<_> = events
        .iter()
        .map(|e| String::from_utf8_lossy(&e.body).into_owned())
        .collect();
    assert_eq!(
        bodies,
        vec![format!("{r}#0"), format!("{r}#1"), format!("{r}#2")]
    );
}

/// Gaps, duplicates and re-creations are conflicts and leave nothing behind.
pub async fn sequence_enforced_atomically<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    let r = room("clubhouse");
    let alice = client_uri("alice", 1);
    s.commit_hub_event(&event(&r, 0, &[], &[&alice]))
        .await
        .unwrap();
    s.commit_hub_event(&event(&r, 1, &[B, C], &[&alice]))
        .await
        .unwrap();
    let before = footprint(&s, &r, &alice).await;

    let refused: Vec<HubEvent> = vec![
        event(&r, 1, &[B, C], &[&alice]), // duplicate
        event(&r, 3, &[B, C], &[&alice]), // gap
        event(&r, 0, &[B], &[&alice]),    // re-creation
        {
            // duplicate with a new state: the state must not change either
            let mut e = event(&r, 1, &[B], &[&alice]);
            e.snapshot = Some(snapshot(&r, 1));
            e
        },
    ];
    for e in &refused {
        assert_err(s.commit_hub_event(e).await, conflict);
        assert_eq!(
            footprint(&s, &r, &alice).await,
            before,
            "event {} left a trace",
            e.seq
        );
    }
    // An event for a room that does not exist.
    assert_err(
        s.commit_hub_event(&event(&room("nowhere"), 4, &[B], &[&alice]))
            .await,
        not_found,
    );
    assert_eq!(footprint(&s, &r, &alice).await, before);
    assert_eq!(s.load_hub_rooms().await.unwrap().len(), 1);

    // The next one in order still goes through.
    s.commit_hub_event(&event(&r, 2, &[B], &[&alice]))
        .await
        .unwrap();
    assert_eq!(s.hub_room(&r).await.unwrap().unwrap().seq, 2);
}

/// Malformed events are refused before anything is written.
pub async fn invalid_events_rejected<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    let r = room("clubhouse");
    let alice = client_uri("alice", 1);

    let mut no_state = event(&r, 0, &[], &[]);
    no_state.snapshot = None;
    assert_err(s.commit_hub_event(&no_state).await, invalid);
    s.commit_hub_event(&event(&r, 0, &[], &[&alice]))
        .await
        .unwrap();
    let before = footprint(&s, &r, &alice).await;

    let mut other_room = event(&r, 1, &[B], &[&alice]);
    other_room.snapshot = Some(snapshot(&room("elsewhere"), 1));
    let mut other_seq = event(&r, 1, &[B], &[&alice]);
    other_seq.snapshot = Some(snapshot(&r, 7));
    let mut outbox_room = event(&r, 1, &[B], &[&alice]);
    outbox_room.outbox[0].room = room("elsewhere");
    let mut local_room = event(&r, 1, &[B], &[&alice]);
    local_room.local[0].room = room("elsewhere");
    let huge = event(&r, u64::MAX, &[B], &[&alice]);
    for e in [other_room, other_seq, outbox_room, local_room, huge] {
        assert_err(s.commit_hub_event(&e).await, invalid);
        assert_eq!(footprint(&s, &r, &alice).await, before);
    }
}

/// Concurrent commits of the same sequence number: exactly one wins.
pub async fn concurrent_commits_one_wins<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    let r = room("clubhouse");
    s.commit_hub_event(&event(&r, 0, &[], &[])).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = s.clone();
            let mut e = event(&r, 1, &[B], &[]);
            e.kind = format!("writer-{i}");
            tokio::spawn(async move { s.commit_hub_event(&e).await })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => won += 1,
            Err(e) => assert!(e.is_conflict(), "{e:?}"),
        }
    }
    assert_eq!(won, 1);
    let backlog = s.outbox_backlog().await.unwrap();
    assert_eq!(backlog.len(), 1);
    assert_eq!(backlog[0].rows, 1);
}

/// A submission accepted with its event is remembered with its answer; the same message
/// again is a conflict that writes nothing; old submissions are forgotten.
pub async fn submissions_remembered_with_their_event<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    let r = room("clubhouse");
    let alice = client_uri("alice", 1);
    s.commit_hub_event(&event(&r, 0, &[], &[&alice]))
        .await
        .unwrap();
    let submission = |seq: u64, hash: u8, accepted_ms: u64| mimi_store::HubSubmission {
        room: r.clone(),
        message_hash: [hash; 32],
        from_domain: "b.example".into(),
        sending_uri: "mimi://b.example/u/bob".into(),
        seq,
        response: format!("accepted #{seq}").into_bytes(),
        accepted_ms,
    };
    assert_eq!(s.hub_submission(&r, &[1; 32]).await.unwrap(), None);
    let first = submission(1, 1, 50_000);
    s.commit_hub_submission(&event(&r, 1, &[B], &[&alice]), &first, 0)
        .await
        .unwrap();
    assert_eq!(
        s.hub_submission(&r, &[1; 32]).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        s.hub_submission(&room("other"), &[1; 32]).await.unwrap(),
        None
    );
    assert_eq!(s.hub_room(&r).await.unwrap().unwrap().seq, 1);

    // The same message in a new event: refused whole (no event, no outbox row).
    let before = footprint(&s, &r, &alice).await;
    let outbox_before = s.outbox_due(B, u64::MAX, 100).await.unwrap();
    assert_err(
        s.commit_hub_submission(&event(&r, 2, &[B], &[&alice]), &submission(2, 1, 60_000), 0)
            .await,
        conflict,
    );
    assert_eq!(footprint(&s, &r, &alice).await, before);
    assert_eq!(s.outbox_due(B, u64::MAX, 100).await.unwrap(), outbox_before);
    assert_eq!(s.hub_room(&r).await.unwrap().unwrap().seq, 1);

    // A submission must belong to its event.
    assert_err(
        s.commit_hub_submission(&event(&r, 2, &[B], &[]), &submission(3, 2, 60_000), 0)
            .await,
        invalid,
    );
    // An event that does not fit the room's sequence fails as commit_hub_event does, and
    // remembers nothing.
    assert_err(
        s.commit_hub_submission(&event(&r, 5, &[B], &[]), &submission(5, 5, 60_000), 0)
            .await,
        conflict,
    );
    assert_eq!(s.hub_submission(&r, &[5; 32]).await.unwrap(), None);

    // Submissions accepted before the cut-off are forgotten by the next commit.
    s.commit_hub_submission(&event(&r, 2, &[B], &[]), &submission(2, 2, 70_000), 60_000)
        .await
        .unwrap();
    assert_eq!(s.hub_submission(&r, &[1; 32]).await.unwrap(), None);
    assert!(s.hub_submission(&r, &[2; 32]).await.unwrap().is_some());
}

/// A message's event with its submission, as the hub commits each accepted message: its
/// local fanout reaches the room's local members, and a local fanout seen before is counted
/// as a duplicate and delivered to nobody, the event and submission stored all the same.
pub async fn messages_with_local_fanout<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    let r = room("clubhouse");
    let alice = client_uri("alice", 1);
    members(&s, &r, &[&alice]).await;
    s.commit_hub_event(&event(&r, 0, &[], &[])).await.unwrap();
    let submission = |seq: u64, hash: u8| mimi_store::HubSubmission {
        room: r.clone(),
        message_hash: [hash; 32],
        from_domain: "a.example".into(),
        sending_uri: "mimi://a.example/u/alice".into(),
        seq,
        response: b"accepted".to_vec(),
        accepted_ms: 50_000,
    };
    let recipients = s
        .commit_hub_submission(&event(&r, 1, &[B, C], &[&alice]), &submission(1, 1), 0)
        .await
        .unwrap();
    assert_eq!(recipients, vec![alice.clone()]);
    assert_eq!(s.events_after(&alice, 0, 10).await.unwrap().len(), 1);
    assert_eq!(s.outbox_backlog().await.unwrap().len(), 2);

    // The same local fanout message again (its hash is the one `event` derives from the
    // sequence number): a duplicate for the local streams, not for the room.
    let mut again = event(&r, 2, &[B], &[&alice]);
    again.local[0].message_hash = event(&r, 1, &[], &[&alice]).local[0].message_hash;
    let recipients = s
        .commit_hub_submission(&again, &submission(2, 2), 0)
        .await
        .unwrap();
    assert!(recipients.is_empty(), "{recipients:?}");
    assert_eq!(s.events_after(&alice, 0, 10).await.unwrap().len(), 1);
    assert_eq!(
        s.notify_duplicates().await.unwrap(),
        vec![("a.example".to_string(), 1)]
    );
    assert_eq!(s.hub_room(&r).await.unwrap().unwrap().seq, 2);
    assert!(s.hub_submission(&r, &[2; 32]).await.unwrap().is_some());
}
