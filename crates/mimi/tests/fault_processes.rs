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

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mimi_client::remote::fanout;
use mimi_client::{ClientEvent, MimiClient, RemoteApi};
use mimi_room::policy::{PolicyState, Preset};
use mimi_types::id::{GroupUri, RoomUri};
use mimi_types::wire::{
    ClientMaterial, FanoutPayload, KeyPackage, SubmitMessageRequest, SubmitMessageResponse,
    SubmitOutcome, UpdateOutcome,
};
use support::process::ServeProcess;
use support::{TempDir, free_port};

const PASSWORD: &str = "a long enough password";
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
/// Bound on every wait.
const BOUND: Duration = Duration::from_secs(60);

/// One device, over the client API, with what it received.
struct Dev {
    api: RemoteApi,
    mimi: MimiClient,
    device: String,
    cursor: u64,
    /// Application messages seen on the stream (MLS message bytes).
    seen: HashSet<Vec<u8>>,
    /// Application messages that came a second time.
    duplicates: usize,
    texts: Vec<String>,
    failures: Vec<String>,
    joined: bool,
}

impl Dev {
    /// Register `name` at the provider at `url`, log in, certify `device`, publish
    /// KeyPackages.
    async fn register(url: &str, name: &str, device: &str) -> Dev {
        let mut api = RemoteApi::new(url).expect("api");
        api.register(name, PASSWORD, name).await.expect("register");
        let login = api.login(name, PASSWORD).await.expect("login");
        let signer = MimiClient::new_signer().expect("signer");
        let (client_uri, credential) = api
            .register_device(device, signer.public())
            .await
            .expect("device");
        let mimi =
            MimiClient::from_parts(client_uri, login.user_uri, signer, credential).expect("client");
        let kps = mimi.key_packages(5, false).expect("key packages");
        api.publish_key_packages(device, &kps)
            .await
            .expect("publish");
        Dev {
            api,
            mimi,
            device: device.to_string(),
            cursor: 0,
            seen: HashSet::new(),
            duplicates: 0,
            texts: Vec::new(),
            failures: Vec::new(),
            joined: false,
        }
    }

    /// Process every event the provider holds for this device.
    async fn sync(&mut self) {
        loop {
            let batch = self
                .api
                .events(&self.device, self.cursor, Some(500), None)
                .await
                .expect("events");
            if batch.events.is_empty() {
                return;
            }
            for e in batch.events {
                assert_eq!(e.cursor, self.cursor + 1, "a gap in the stream");
                self.cursor = e.cursor;
                let message = fanout(&e).expect("fanout");
                if let FanoutPayload::Application { message: m, .. } = &message.payload
                    && !self.seen.insert(m.as_bytes().to_vec())
                {
                    self.duplicates += 1;
                }
                match self.mimi.process(&e.room, &message) {
                    Ok(events) => {
                        for ev in events {
                            match ev {
                                ClientEvent::Message { content, .. } => {
                                    self.texts.push(mimi_content::render_text(&content));
                                }
                                ClientEvent::Joined { .. } => self.joined = true,
                                _ => {}
                            }
                        }
                    }
                    Err(err) => self.failures.push(err.to_string()),
                }
            }
        }
    }
}

fn kps(r: &mimi_types::wire::KeyMaterialResponse) -> Vec<KeyPackage> {
    r.clients
        .iter()
        .filter_map(|c| match &c.material {
            ClientMaterial::Success(kp) => Some(kp.clone()),
            _ => None,
        })
        .collect()
}

/// Poll until `done` (bounded).
async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + BOUND;
    while !done().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What became of one submission.
struct Submitted {
    index: usize,
    /// The first attempt got a 2xx.
    first_ok: bool,
    attempts: u32,
    answer: SubmitMessageResponse,
}

/// Submit `request` until the provider answers 2xx (bounded): what a client does when it
/// cannot know whether the hub accepted a message.
async fn submit_until_answered(
    api: RemoteApi,
    room: RoomUri,
    device: String,
    index: usize,
    request: SubmitMessageRequest,
    acknowledged: Arc<AtomicUsize>,
) -> Submitted {
    let deadline = Instant::now() + BOUND;
    let mut attempts = 0;
    loop {
        attempts += 1;
        match api.submit(&room, &device, &request).await {
            Ok(answer) => {
                if matches!(answer.outcome, SubmitOutcome::Accepted { .. }) {
                    acknowledged.fetch_add(1, Ordering::SeqCst);
                }
                return Submitted {
                    index,
                    first_ok: attempts == 1,
                    attempts,
                    answer,
                };
            }
            Err(e) => {
                assert!(Instant::now() < deadline, "message {index}: no answer: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

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
    let preset = Preset::CooperativelyAdministered;
    let hub = alice.api.hub().await.expect("hub");
    let room = RoomUri::parse("mimi://a.example/r/burst").expect("room");
    let group = GroupUri::parse("mimi://a.example/g/burst").expect("group");
    let policy = PolicyState::new_room(preset, alice.mimi.user()).expect("policy");
    let info = alice
        .mimi
        .create_room(
            room.clone(),
            &group,
            hub.external_sender,
            Some(hub.franking_agent),
            &policy,
        )
        .expect("group");
    alice
        .api
        .create_room(
            "burst",
            preset.name(),
            "laptop",
            &info.group_info,
            &info.ratchet_tree,
        )
        .await
        .expect("create room");
    let mut additions = Vec::new();
    for dev in [&bob, &bert] {
        let request = alice
            .mimi
            .key_material_request(dev.mimi.user_uri(), &room)
            .expect("request");
        let response = alice
            .api
            .key_material(&room, &request)
            .await
            .expect("key material");
        additions.push((dev.mimi.user(), preset.member_role(), kps(&response)));
    }
    let commit = alice.mimi.add_users(&room, &additions).expect("commit");
    let outcome = alice
        .api
        .update(&room, "laptop", &commit)
        .await
        .expect("update");
    assert!(
        matches!(outcome.outcome, UpdateOutcome::Success { .. }),
        "{outcome:?}"
    );
    until("bob and bert joined", async || {
        for d in [&mut alice, &mut bob, &mut bert] {
            d.sync().await;
        }
        bob.joined && bert.joined
    })
    .await;

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
                bob.api.clone(),
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
