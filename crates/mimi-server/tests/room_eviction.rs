//! Hosted rooms leave the hub's memory when idle and come back on their next request
//! (docs/decisions/0157): three providers in process, real mutual TLS and OpenMLS clients.

mod support;

use mimi_server::provider::now_ms;
use mimi_types::wire::UpdateOutcome;
use support::{send, three_party};

/// A room nobody holds and nobody asked for within the idle time is dropped from memory;
/// one in use or used recently stays. The next message and commit load it again from
/// storage: they are accepted in order, and every member gets every message once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_room_leaves_memory_and_comes_back_on_its_next_request() {
    let (mut net, room) = three_party().await;
    let a = net.provider("a.example").clone();
    send(&mut net, "alice", &room, 0, "before").await;
    assert_eq!(a.resident_rooms().await, 1);

    // Used within the idle time: stays.
    assert_eq!(a.evict_idle_rooms(now_ms(), 600_000).await, 0);
    // Held (a request in progress): stays, however long idle.
    let held = a.hosted_room(&room).await.unwrap().expect("hosted");
    assert_eq!(a.evict_idle_rooms(u64::MAX, 0).await, 0);
    drop(held);
    assert_eq!(a.evict_idle_rooms(u64::MAX, 0).await, 1);
    assert_eq!(a.resident_rooms().await, 0);

    // A message from a follower's client loads the room again.
    send(&mut net, "bob", &room, 1, "after eviction").await;
    assert_eq!(a.resident_rooms().await, 1);

    // Everyone reads this epoch's messages; the room is evicted again, then a commit:
    // judged against the stored state, accepted.
    net.pump(&room).await;
    assert_eq!(a.evict_idle_rooms(u64::MAX, 0).await, 1);
    let commit = net
        .client("cathy")
        .commit(&room, vec![], vec![], vec![])
        .expect("commit");
    let outcome = net
        .provider("c.example")
        .clone()
        .client_update(&room, &commit)
        .await
        .expect("update");
    assert!(
        matches!(outcome.outcome, UpdateOutcome::Success { .. }),
        "{outcome:?}"
    );
    net.client("cathy")
        .commit_accepted(&room)
        .expect("accepted");
    net.pump(&room).await;
    send(&mut net, "alice", &room, 2, "at the new epoch").await;
    net.pump(&room).await;

    // Each member got the others' messages once, in order (their own are not counted).
    let sent = [
        ("alice", "before"),
        ("bob", "after eviction"),
        ("alice", "at the new epoch"),
    ];
    for member in ["alice", "bob", "cathy"] {
        let expected: Vec<&str> = sent
            .iter()
            .filter(|(from, _)| *from != member)
            .map(|(_, text)| *text)
            .collect();
        let got: Vec<String> = net
            .texts(member)
            .into_iter()
            .filter(|t| !sent.contains(&(member, t.as_str())))
            .collect();
        assert_eq!(got, expected, "{member}");
    }
}
