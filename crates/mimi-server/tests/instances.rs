//! Several instances of one provider on one PostgreSQL database (issue 10,
//! docs/decisions/0160), in process: hub a.example runs as two instances sharing a fresh
//! database, followers b.example and c.example on SQLite, real mutual TLS and OpenMLS
//! clients. The database server comes from `MIMI_TEST_POSTGRES_URL` (`.ci/run` sets it);
//! without it these tests pass without running.
//!
//! The process-level tests (`mimi serve` instances, one killed with -9) are in
//! `crates/mimi/tests/instances.rs`.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use mimi_server::provider::Provider;
use mimi_store::AnyStore;
use mimi_types::id::RoomUri;
use mimi_types::wire::{SubmitOutcome, UpdateOutcome};
use support::{
    Net, Received, THREE, assert_converged, assert_exactly_once, drained, encrypt, expectations,
    fresh_database, three_party_in,
};

/// Bound on every wait for deliveries.
const WITHIN: Duration = Duration::from_secs(60);

/// Hub a.example on PostgreSQL (`db`), b.example and c.example on SQLite, and the
/// three-party room.
async fn three_party_on(db: &mimi_store::ScratchDatabase) -> (Net, RoomUri) {
    let domains = ["a.example", "b.example", "c.example"];
    let mut net = Net::init(&domains);
    net.configure("a.example", |f| f.database_url = Some(db.url().to_string()));
    for d in domains {
        net.start_node(d).await;
    }
    three_party_in(net).await
}

/// `name` encrypts message `n` and submits it through provider `via`; the hub must accept.
async fn submit(
    via: &Provider<AnyStore>,
    net: &mut Net,
    name: &str,
    room: &RoomUri,
    n: usize,
    text: &str,
) {
    let request = encrypt(net, name, room, n, text);
    let outcome = via.client_submit(room, &request).await.expect("submit");
    assert!(
        matches!(outcome.outcome, SubmitOutcome::Accepted { .. }),
        "{outcome:?}"
    );
}

/// Alice through the two hub instances in turn, bob and cathy through their providers.
fn sender(
    n: usize,
    a1: &Arc<Provider<AnyStore>>,
    a2: &Arc<Provider<AnyStore>>,
    net: &Net,
) -> (&'static str, Arc<Provider<AnyStore>>) {
    match n % 4 {
        0 => ("alice", a1.clone()),
        1 => ("alice", a2.clone()),
        2 => ("bob", net.provider("b.example").clone()),
        _ => ("cathy", net.provider("c.example").clone()),
    }
}

/// Messages through either instance, a commit through the instance whose copy of the room
/// is behind, messages at the new epoch through the other one: every client gets every
/// message once, in the order the sends were acknowledged, and the room converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_and_commits_through_either_hub_instance_keep_one_order() {
    let Some(db) = fresh_database("inst_order").await else {
        return;
    };
    let (mut net, room) = three_party_on(&db).await;
    let a1 = net.provider("a.example").clone();
    // A second instance: it did not create the room and loads it on first use.
    let a2 = net.start_instance("a.example").await;
    let a2p = a2.provider().clone();
    let mut log = Vec::new();
    for n in 0..24 {
        let (name, via) = sender(n, &a1, &a2p, &net);
        let text = format!("#{n:03} from {name}");
        submit(&via, &mut net, name, &room, n, &text).await;
        log.push((name, text));
    }
    // Everyone reads what was sent at this epoch.
    let mut got: BTreeMap<&'static str, Received> = BTreeMap::new();
    drained(&net, WITHIN).await;
    net.receive_many(&THREE, &room, &mut got).await;
    // a2's copy of the room is behind by what a1 accepted: it catches up before it judges
    // the commit.
    let commit = net
        .client("alice")
        .commit(&room, vec![], vec![], vec![])
        .expect("commit");
    let outcome = a2p.client_update(&room, &commit).await.expect("update");
    assert!(
        matches!(outcome.outcome, UpdateOutcome::Success { .. }),
        "{outcome:?}"
    );
    net.client("alice")
        .commit_accepted(&room)
        .expect("accepted");
    drained(&net, WITHIN).await;
    net.receive_many(&THREE, &room, &mut got).await;
    // Now a1's copy is an epoch behind: messages at the new epoch through it are accepted.
    for n in 24..48 {
        let (name, via) = sender(n, &a1, &a2p, &net);
        let text = format!("#{n:03} from {name}");
        submit(&via, &mut net, name, &room, n, &text).await;
        log.push((name, text));
    }
    drained(&net, WITHIN).await;
    net.receive_many(&THREE, &room, &mut got).await;
    assert_exactly_once(&got, &expectations(&log));
    assert_converged(&net, &room, &THREE).await;
    a2.stop().await;
}

/// Both instances accept messages of one room at the same time: each sequence number has
/// one winner (the loser reloads and judges again), every message is delivered once, and
/// every client sees the same order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_messages_at_two_instances_have_one_winner_per_sequence_number() {
    let Some(db) = fresh_database("inst_race").await else {
        return;
    };
    let (mut net, room) = three_party_on(&db).await;
    let a1 = net.provider("a.example").clone();
    let a2 = net.start_instance("a.example").await;
    let a2p = a2.provider().clone();
    let mut sent = Vec::new();
    for round in 0..8 {
        // Four messages encrypted in order, submitted at once: two through each instance
        // (within OpenMLS's tolerance of out-of-order generations).
        let mut requests = Vec::new();
        for k in 0..4 {
            let n = round * 4 + k;
            let name = if k % 2 == 0 { "alice" } else { "bob" };
            let text = format!("#{n:03} from {name}");
            requests.push((n, encrypt(&mut net, name, &room, n, &text), text, name));
        }
        let submits = requests.iter().map(|(n, request, _, name)| {
            let via = match (*name, n % 4) {
                ("alice", 0) => a1.clone(),
                ("alice", _) => a2p.clone(),
                _ => net.provider("b.example").clone(),
            };
            let room = room.clone();
            let request = request.clone();
            async move { via.client_submit(&room, &request).await }
        });
        for (outcome, (_, _, text, name)) in futures_util::future::join_all(submits)
            .await
            .into_iter()
            .zip(&requests)
        {
            let outcome = outcome.expect("submit");
            assert!(
                matches!(outcome.outcome, SubmitOutcome::Accepted { .. }),
                "{outcome:?}"
            );
            sent.push((*name, text.clone()));
        }
    }
    drained(&net, WITHIN).await;
    let mut got: BTreeMap<&'static str, Received> = BTreeMap::new();
    net.receive_many(&THREE, &room, &mut got).await;
    // The room's order as cathy (who sent nothing) saw it: alice and bob saw the same
    // order, without their own messages, each message once.
    let hub_order = got["cathy"].texts.clone();
    for name in THREE {
        let r = &got[name];
        assert_eq!(r.duplicates, 0, "{name} saw duplicates");
        assert!(r.failures.is_empty(), "{name}: {:?}", r.failures);
        let expected: Vec<&String> = hub_order
            .iter()
            .filter(|t| sent.iter().any(|(from, s)| s == *t && *from != name))
            .collect();
        assert_eq!(
            r.texts.iter().collect::<Vec<_>>(),
            expected,
            "{name}'s order"
        );
    }
    assert_eq!(hub_order.len(), sent.len(), "every message accepted once");
    assert_converged(&net, &room, &THREE).await;
    a2.stop().await;
}

/// An event committed through one instance wakes a waiting event stream at the other at
/// once (LISTEN/NOTIFY), not at its next idle poll (5 minutes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_accepted_by_one_instance_wakes_a_stream_waiting_at_the_other() {
    let Some(db) = fresh_database("inst_wake").await else {
        return;
    };
    let (mut net, room) = three_party_on(&db).await;
    let a2 = net.start_instance("a.example").await;
    let alice = net.client("alice").client_uri().as_str().to_string();
    let wake = a2.provider().streams.subscribe(&alice);
    let woken = wake.notified();
    tokio::pin!(woken);
    woken.as_mut().enable();
    // bob's message reaches the hub through b.example's federation client, at a1.
    let b = net.provider("b.example").clone();
    submit(&b, &mut net, "bob", &room, 0, "wake up").await;
    tokio::time::timeout(Duration::from_secs(10), woken)
        .await
        .expect("a2 woke alice's stream for an event a1 committed");
    a2.stop().await;
}
