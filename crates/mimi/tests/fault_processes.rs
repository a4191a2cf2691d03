//! The hub killed with SIGKILL in the middle of a burst (issue 7, scenario b; figures in
//! docs/reliability.md): hub a.example and follower b.example are separate `mimi serve`
//! processes; alice (at the hub), bob and bert (at the follower) are OpenMLS clients in this
//! process, reaching their providers only through the client API.
//!
//! Bob submits a burst of messages, a few at a time; when half of them were acknowledged
//! the hub is killed with -9 (requests in flight die with it) and restarted on the same data
//! directory. Bob's client resubmits whatever got no 2xx, byte for byte, until it gets an
//! answer. Afterwards: every acknowledged message is delivered to every client exactly once
//! (counted on the streams, by MLS message: duplicates seen = 0), none is lost, alice and
//! bert see the same order, and the room has one state on the clients and at the hub.

mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mimi_types::wire::{SubmitMessageRequest, SubmitOutcome};
use support::devices::{BOUND, Dev, Submitted, create_room, submit_until_answered, until};
use support::process::ServeProcess;
use support::{TempDir, free_port};

/// Messages in the burst.
const BURST: usize = 200;
/// Submissions in flight at once (below OpenMLS's out-of-order tolerance of 5 generations).
const IN_FLIGHT: usize = 4;
/// How long the hub stays dead.
const DEAD_FOR: Duration = Duration::from_millis(500);
/// The kill comes this long at most (a random part of it) after half the burst was
/// acknowledged, so that runs kill the hub at different points of a request: before its
/// commit, between its commit and its answer, after its answer.
const KILL_JITTER_MS: u64 = 50;
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_killed_mid_burst_then_restarted() {
    let dir = TempDir::new("kill9");
    let (port_a, port_b) = (free_port(), free_port());
    let mut a = ServeProcess::init(&dir.0, "a.example", port_a, &[("b.example", port_b)]);
    let mut b = ServeProcess::init(&dir.0, "b.example", port_b, &[("a.example", port_a)]);
    a.start();
    b.start();
    let mut alice = Dev::register(&a.client_url(), "alice", "laptop").await;
    let mut bob = Dev::register(&b.client_url(), "bob", "phone").await;
    let mut bert = Dev::register(&b.client_url(), "bert", "tablet").await;

    // alice's room at her provider; she adds bob and bert.
    let room = create_room(&mut alice, "burst", &mut [&mut bob, &mut bert]).await;

    // The burst, encrypted in order; IN_FLIGHT at a time, each until answered.
    let requests: Vec<SubmitMessageRequest> = (0..BURST)
        .map(|i| {
            let mut salt = [0u8; 16];
            salt[..8].copy_from_slice(&(i as u64).to_be_bytes());
            bob.mimi
                .send_text(&room, salt, &format!("burst #{i:03}"), None)
                .expect("encrypt")
        })
        .collect();
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let hub = Arc::new(Mutex::new(a));
    // The killer: SIGKILL once half the burst is acknowledged (plus a random offset), then
    // restart.
    let offset = {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).expect("random");
        Duration::from_millis(u64::from_le_bytes(b) % KILL_JITTER_MS)
    };
    let killer = {
        let (hub, acknowledged) = (hub.clone(), acknowledged.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + BOUND;
            while acknowledged.load(Ordering::SeqCst) < BURST / 2 {
                assert!(Instant::now() < deadline, "the burst never got halfway");
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::sleep(offset);
            let mut hub = hub.lock().expect("hub");
            hub.kill9();
            let at = acknowledged.load(Ordering::SeqCst);
            let killed = Instant::now();
            std::thread::sleep(DEAD_FOR);
            hub.start();
            (at, killed.elapsed(), Instant::now())
        })
    };
    let started = Instant::now();
    let mut results: Vec<Submitted> = Vec::new();
    for (round, chunk) in requests.chunks(IN_FLIGHT).enumerate() {
        let mut lanes = tokio::task::JoinSet::new();
        for (k, request) in chunk.iter().enumerate() {
            lanes.spawn(submit_until_answered(
                vec![bob.api.clone()],
                room.clone(),
                bob.device.clone(),
                round * IN_FLIGHT + k,
                request.clone(),
                acknowledged.clone(),
            ));
        }
        while let Some(done) = lanes.join_next().await {
            results.push(done.expect("lane"));
        }
    }
    let burst_took = started.elapsed();
    let (killed_at, dead_for, restarted) = tokio::task::spawn_blocking(move || killer.join())
        .await
        .expect("join")
        .expect("killer");
    results.sort_by_key(|r| r.index);

    // A message acknowledged before the kill, resubmitted after the restart (a client that
    // lost that answer): the hub answers as it did, and delivers nothing new.
    let again = bob
        .api
        .submit(&room, &bob.device, &requests[0])
        .await
        .expect("resubmit");
    assert_eq!(again, results[0].answer, "the first answer again");

    let accepted: Vec<String> = results
        .iter()
        .filter(|r| matches!(r.answer.outcome, SubmitOutcome::Accepted { .. }))
        .map(|r| format!("burst #{:03}", r.index))
        .collect();
    let refused = results.len() - accepted.len();
    let hub = Arc::into_inner(hub)
        .expect("the killer is done")
        .into_inner()
        .expect("hub");
    // The providers converge: the hub's queue for b drains (redeliveries included).
    until("the hub's queue is empty", async || {
        hub.metric("mimi_outbox_backlog{peer=\"b.example\"}") == 0
    })
    .await;
    let converged = restarted.elapsed();
    let processing = Instant::now();
    until("every acknowledged message delivered", async || {
        for d in [&mut alice, &mut bob, &mut bert] {
            d.sync().await;
        }
        alice.texts.len() >= accepted.len() && bert.texts.len() >= accepted.len()
    })
    .await;
    let processed = processing.elapsed();

    // Exactly once, nothing lost, one order.
    let want: BTreeSet<&String> = accepted.iter().collect();
    for (name, d) in [("alice", &alice), ("bob", &bob), ("bert", &bert)] {
        assert_eq!(d.duplicates, 0, "{name} saw duplicates");
        assert!(d.failures.is_empty(), "{name} failed: {:?}", d.failures);
    }
    for (name, d) in [("alice", &alice), ("bert", &bert)] {
        assert_eq!(d.texts.len(), accepted.len(), "{name}: each message once");
        assert_eq!(d.texts.iter().collect::<BTreeSet<_>>(), want, "{name}");
    }
    assert_eq!(alice.texts, bert.texts, "one order for everyone");
    assert!(
        bob.texts.is_empty(),
        "bob's own messages are not shown to him"
    );
    assert_eq!(
        bob.seen.len(),
        accepted.len(),
        "bob's device got each of his once"
    );
    assert_eq!(refused, 0, "every resubmission got an answer");

    // One room state: the clients agree with each other and with the hub's GroupInfo.
    let (request, key) = bert.mimi.group_info_request(&room).expect("request");
    let response = bert
        .api
        .group_info(&room, &bert.device, &request)
        .await
        .expect("group info");
    let at_hub = bert.mimi.open_group_info(&response, &key).expect("open");
    let tree = at_hub.ratchet_tree.as_bytes().to_vec();
    for (name, d) in [("alice", &alice), ("bob", &bob), ("bert", &bert)] {
        assert_eq!(
            d.mimi.epoch(&room).expect("epoch"),
            alice.mimi.epoch(&room).expect("epoch"),
            "{name}: epoch"
        );
        assert_eq!(
            d.mimi.ratchet_tree(&room).expect("tree").as_bytes(),
            &tree[..],
            "{name}: the hub's tree"
        );
    }

    let first_ok = results.iter().filter(|r| r.first_ok).count();
    let resubmissions: u32 = results.iter().map(|r| r.attempts - 1).sum();
    let answered_as_before = hub.log_count("message resubmitted: answered as before");
    assert!(answered_as_before >= 1, "the explicit resubmission");
    println!(
        "FIGURES b: sent {BURST} kill-offset-ms {} acknowledged-at-kill {killed_at} \
         first-attempt-2xx {first_ok} \
         no-2xx-first {} resubmissions {} answered-from-dedupe {} accepted {} refused {refused} \
         delivered alice {} bert {} bob-own {} duplicates-seen {} suppressed-at-b {} \
         hub-starts {} dead-ms {} burst-ms {} converge-after-restart-ms {} clients-ms {}",
        offset.as_millis(),
        BURST - first_ok,
        resubmissions + 1,
        answered_as_before,
        accepted.len(),
        alice.texts.len(),
        bert.texts.len(),
        bob.seen.len(),
        alice.duplicates + bob.duplicates + bert.duplicates,
        b.metric("mimi_notify_duplicates_total{peer=\"a.example\"}"),
        hub.starts,
        dead_for.as_millis(),
        burst_took.as_millis(),
        converged.as_millis(),
        processed.as_millis(),
    );
}
