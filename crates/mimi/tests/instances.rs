//! Several `mimi serve` instances of one provider on one PostgreSQL database (issue 10,
//! docs/decisions/0160), as separate processes: hub a.example runs as three instances
//! sharing a fresh database, follower b.example as one process on SQLite. alice (at the
//! hub) and bob and bert (at the follower) are OpenMLS clients reaching their providers
//! only through the client API.
//!
//! alice submits her messages round-robin through the three hub instances, bob through his
//! provider (which reaches the hub at its second instance), a few at a time. When half of
//! them were acknowledged, the first instance is killed with -9 and stays dead; clients
//! resubmit whatever got no answer through the next instance. Afterwards: every
//! acknowledged message is delivered to every client exactly once, in one order, and the
//! hub's queue for b.example is drained by the surviving instances (the dead instance's
//! outbox lease expires and another takes the queue over).
//!
//! The database server comes from `MIMI_TEST_POSTGRES_URL` (`.ci/run` sets it); without it
//! this test passes without running.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mimi_client::RemoteApi;
use mimi_types::wire::{SubmitMessageRequest, SubmitOutcome};
use support::devices::{BOUND, Dev, Submitted, create_room, submit_until_answered, until};
use support::process::ServeProcess;
use support::{TempDir, free_port};

/// Messages per sender.
const MESSAGES: usize = 60;
/// Submissions in flight per sender (below OpenMLS's out-of-order tolerance).
const IN_FLIGHT: usize = 2;

/// `sender` encrypts `n` messages, in order.
fn burst(sender: &mut Dev, room: &mimi_types::id::RoomUri, n: usize) -> Vec<SubmitMessageRequest> {
    let name = sender.mimi.user_uri().as_str().to_string();
    (0..n)
        .map(|i| {
            let mut salt = [0u8; 16];
            salt[..8].copy_from_slice(&(i as u64).to_be_bytes());
            sender
                .mimi
                .send_text(room, salt, &format!("{name} #{i:03}"), None)
                .expect("encrypt")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hub_instances_one_killed_mid_load() {
    let Ok(admin) = std::env::var("MIMI_TEST_POSTGRES_URL") else {
        eprintln!("MIMI_TEST_POSTGRES_URL not set: skipping this PostgreSQL test");
        return;
    };
    let db = mimi_store::ScratchDatabase::create(&admin, "mimi_procs")
        .await
        .expect("fresh database");
    let dir = TempDir::new("instances");
    let (port_a, port_b) = (free_port(), free_port());
    let mut hub = vec![ServeProcess::init_with(
        &dir.0,
        "a.example",
        port_a,
        &[("b.example", port_b)],
        Some(db.url()),
    )];
    hub.push(hub[0].instance());
    hub.push(hub[0].instance());
    // b.example reaches the hub at its second instance (a load balancer's choice).
    let mut b = ServeProcess::init(
        &dir.0,
        "b.example",
        port_b,
        &[("a.example", hub[1].federation_port)],
    );
    for instance in &mut hub {
        instance.start();
    }
    b.start();

    let mut alice = Dev::register(&hub[0].client_url(), "alice", "laptop").await;
    let mut bob = Dev::register(&b.client_url(), "bob", "phone").await;
    let mut bert = Dev::register(&b.client_url(), "bert", "tablet").await;
    let room = create_room(&mut alice, "instances", &mut [&mut bob, &mut bert]).await;
    // alice's session works at every instance: one API client per instance.
    let token = alice.api.token().expect("token").to_string();
    let apis: Vec<RemoteApi> = hub
        .iter()
        .map(|p| {
            RemoteApi::new(&p.client_url())
                .expect("api")
                .with_token(token.clone())
        })
        .collect();
    // She reads her stream at the second instance, which stays up.
    alice.api = apis[1].clone();

    let from_alice = burst(&mut alice, &room, MESSAGES);
    let from_bob = burst(&mut bob, &room, MESSAGES);
    let acknowledged = Arc::new(AtomicUsize::new(0));
    // The killer: SIGKILL to the first instance once half the messages are acknowledged,
    // with requests in flight; it stays dead.
    let mut first = hub.remove(0);
    let killer = {
        let acknowledged = acknowledged.clone();
        std::thread::spawn(move || {
            let deadline = Instant::now() + BOUND;
            while acknowledged.load(Ordering::SeqCst) < MESSAGES {
                assert!(Instant::now() < deadline, "the load never got halfway");
                std::thread::sleep(Duration::from_millis(1));
            }
            first.kill9();
            (acknowledged.load(Ordering::SeqCst), Instant::now(), first)
        })
    };
    let started = Instant::now();
    let mut results: Vec<(&str, Submitted)> = Vec::new();
    for round in 0..MESSAGES / IN_FLIGHT {
        let mut lanes = tokio::task::JoinSet::new();
        for k in 0..IN_FLIGHT {
            let i = round * IN_FLIGHT + k;
            // alice's message i starts at instance i mod 3 and goes round from there.
            let mut rotated = apis.clone();
            rotated.rotate_left(i % apis.len());
            lanes.spawn(tag(
                "alice",
                submit_until_answered(
                    rotated,
                    room.clone(),
                    alice.device.clone(),
                    i,
                    from_alice[i].clone(),
                    acknowledged.clone(),
                ),
            ));
            lanes.spawn(tag(
                "bob",
                submit_until_answered(
                    vec![bob.api.clone()],
                    room.clone(),
                    bob.device.clone(),
                    i,
                    from_bob[i].clone(),
                    acknowledged.clone(),
                ),
            ));
        }
        while let Some(done) = lanes.join_next().await {
            results.push(done.expect("lane"));
        }
    }
    let burst_took = started.elapsed();
    let (acknowledged_at_kill, killed, first) = tokio::task::spawn_blocking(move || killer.join())
        .await
        .expect("join")
        .expect("killer");
    for (from, r) in &results {
        assert!(
            matches!(r.answer.outcome, SubmitOutcome::Accepted { .. }),
            "{from} #{}: {:?}",
            r.index,
            r.answer
        );
    }

    // The surviving instances drain the hub's queue for b.example, the dead one's included.
    until("the hub's queue for b.example is empty", async || {
        hub[0].metric("mimi_outbox_backlog{peer=\"b.example\"}") == 0
    })
    .await;
    let drained_after_kill = killed.elapsed();
    let total = 2 * MESSAGES;
    until("every message delivered", async || {
        for d in [&mut alice, &mut bob, &mut bert] {
            d.sync().await;
        }
        bert.texts.len() >= total && alice.texts.len() >= MESSAGES && bob.texts.len() >= MESSAGES
    })
    .await;

    // Exactly once, nothing lost, one order: bert (who sent nothing) saw the room's order;
    // alice and bob saw it too, without their own messages.
    for (name, d) in [("alice", &alice), ("bob", &bob), ("bert", &bert)] {
        assert_eq!(d.duplicates, 0, "{name} saw duplicates");
        assert!(d.failures.is_empty(), "{name} failed: {:?}", d.failures);
    }
    let mut want: BTreeSet<String> = BTreeSet::new();
    for (who, n) in [("alice", MESSAGES), ("bob", MESSAGES)] {
        for i in 0..n {
            want.insert(format!("mimi://{}/u/{who} #{i:03}", domain_of(who)));
        }
    }
    assert_eq!(bert.texts.len(), total, "bert: each message once");
    assert_eq!(
        bert.texts.iter().cloned().collect::<BTreeSet<_>>(),
        want,
        "bert: every message"
    );
    let only = |from: &str| -> Vec<String> {
        bert.texts
            .iter()
            .filter(|t| t.contains(&format!("/u/{from} #")))
            .cloned()
            .collect()
    };
    assert_eq!(
        alice.texts,
        only("bob"),
        "alice: bob's messages in the room's order"
    );
    assert_eq!(
        bob.texts,
        only("alice"),
        "bob: alice's messages in the room's order"
    );

    let resubmissions: u32 = results.iter().map(|(_, r)| r.attempts - 1).sum();
    let answered_as_before: usize = std::iter::once(&first)
        .chain(&hub)
        .map(|p| p.log_count("message resubmitted: answered as before"))
        .sum();
    println!(
        "FIGURES instances: hub-instances 3 sent {total} acknowledged-at-kill {acknowledged_at_kill} \
         resubmissions {resubmissions} answered-from-dedupe {answered_as_before} delivered bert {} \
         alice {} bob {} duplicates-seen 0 burst-ms {} drained-after-kill-ms {}",
        bert.texts.len(),
        alice.texts.len(),
        bob.texts.len(),
        burst_took.as_millis(),
        drained_after_kill.as_millis(),
    );
    for instance in &mut hub {
        instance.kill9();
    }
    b.kill9();
    db.remove().await.expect("drop the database");
}

/// The provider of a test user.
fn domain_of(user: &str) -> &'static str {
    if user == "alice" {
        "a.example"
    } else {
        "b.example"
    }
}

/// A submission's result, with who sent it.
async fn tag(
    from: &'static str,
    submitted: impl std::future::Future<Output = Submitted>,
) -> (&'static str, Submitted) {
    (from, submitted.await)
}
