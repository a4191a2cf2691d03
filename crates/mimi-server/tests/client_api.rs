//! The client API over HTTP: three `mimi serve` providers on loopback (real mutual TLS
//! between them, SQLite files), and OpenMLS clients that reach their provider only through
//! `RemoteApi` — accounts, devices, KeyPackages, rooms, the protocol-06 flows, the event
//! stream (poll and Server-Sent Events, resumed from a cursor), and every class of refusal.

use std::collections::BTreeSet;
use std::time::Duration;

use mimi_client::remote::fanout;
use mimi_client::{ClientError, ClientEvent, EventStream, MimiClient, RemoteApi};
use mimi_room::policy::{PolicyState, Preset};
use mimi_store::Store;
use mimi_types::client_api::StreamEvent;
use mimi_types::id::{GroupUri, RoomUri};
use mimi_types::wire::{
    KeyMaterialResponse, KeyPackage, SubmitOutcome, UpdateOutcome, UpdateRoomResponse,
};

const PASSWORD: &str = "correct horse battery";
const WAIT: Duration = Duration::from_secs(20);

// ---- harness ------------------------------------------------------------------------------

mod support;

use support::Net;

/// One device of one user, talking to its provider only over the client API.
struct Dev {
    name: String,
    api: RemoteApi,
    mimi: MimiClient,
    device: String,
    /// Last cursor processed.
    cursor: u64,
    /// Every cursor processed, in order.
    seen: Vec<u64>,
    /// Every event body processed, in order (to compare with a replay).
    bodies: Vec<Vec<u8>>,
    events: Vec<ClientEvent>,
    /// Read the stream through SSE (else through the poll endpoint).
    stream: Option<EventStream>,
}

impl Dev {
    /// Register and log in `name` at `api`'s provider, certify device `device`, publish 5
    /// KeyPackages.
    async fn new_user(mut api: RemoteApi, name: &str, device: &str) -> Dev {
        let user = api
            .register(name, PASSWORD, &format!("{name} (test)"))
            .await
            .expect("register");
        let login = api.login(name, PASSWORD).await.expect("login");
        assert_eq!(login.user_uri, user);
        let mut dev = Dev::new_device(api, name, device).await;
        let kps = dev.mimi.key_packages(5, false).expect("key packages");
        let r = dev
            .api
            .publish_key_packages(device, &kps)
            .await
            .expect("publish");
        assert_eq!((r.stored, r.remaining), (5, 5));
        dev.name = name.to_string();
        dev
    }

    /// Another device of the user `api` is logged in as.
    async fn new_device(api: RemoteApi, name: &str, device: &str) -> Dev {
        let signer = MimiClient::new_signer().expect("signer");
        let (client_uri, credential) = api
            .register_device(device, signer.public())
            .await
            .expect("register device");
        let user = mimi_types::id::UserUri::parse(&format!(
            "mimi://{}/u/{}",
            client_uri.domain(),
            client_uri.user_part().expect("user part")
        ))
        .expect("user");
        let mimi = MimiClient::from_parts(client_uri, user, signer, credential).expect("client");
        Dev {
            name: name.to_string(),
            api,
            mimi,
            device: device.to_string(),
            cursor: 0,
            seen: Vec::new(),
            bodies: Vec::new(),
            events: Vec::new(),
            stream: None,
        }
    }

    /// Read from now on through Server-Sent Events.
    async fn open_stream(&mut self) {
        self.stream = Some(
            self.api
                .stream(&self.device, self.cursor)
                .await
                .expect("stream"),
        );
    }

    async fn latest(&self) -> u64 {
        self.api
            .events(&self.device, self.cursor, Some(1), None)
            .await
            .expect("events")
            .latest
    }

    /// Process everything the provider has for this device.
    async fn pump(&mut self) {
        let latest = self.latest().await;
        while self.cursor < latest {
            let batch: Vec<StreamEvent> = match self.stream.as_mut() {
                Some(stream) => {
                    let next = tokio::time::timeout(WAIT, stream.next())
                        .await
                        .expect("stream stalled")
                        .expect("stream");
                    vec![next.expect("stream ended")]
                }
                None => {
                    self.api
                        .events(&self.device, self.cursor, Some(2), None)
                        .await
                        .expect("events")
                        .events
                }
            };
            for e in batch {
                self.handle(e).await;
            }
        }
    }

    async fn handle(&mut self, e: StreamEvent) {
        assert_eq!(
            e.cursor,
            self.cursor + 1,
            "{}: a gap or a duplicate",
            self.name
        );
        self.cursor = e.cursor;
        self.seen.push(e.cursor);
        self.bodies.push(e.body.as_bytes().to_vec());
        let message = fanout(&e).expect("fanout");
        let produced = self
            .mimi
            .process(&e.room, &message)
            .unwrap_or_else(|err| panic!("{} failed to process: {err}", self.name));
        for ev in &produced {
            if matches!(ev, ClientEvent::Removed { .. }) {
                self.api.left(&e.room, &self.device).await.expect("left");
            }
        }
        self.events.extend(produced);
    }

    fn texts(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Message { content, .. } => Some(mimi_content::render_text(content)),
                _ => None,
            })
            .collect()
    }
}

fn kps(r: &KeyMaterialResponse) -> Vec<KeyPackage> {
    r.key_packages()
}

fn assert_success(r: &UpdateRoomResponse) {
    assert!(matches!(r.outcome, UpdateOutcome::Success { .. }), "{r:?}");
}

/// The status of a refused call.
fn status<T: std::fmt::Debug>(r: Result<T, ClientError>) -> u16 {
    match r {
        Err(ClientError::Api { status, message }) => {
            assert!(
                !message.is_empty() && !message.contains('\n'),
                "{message:?}"
            );
            status
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn pump_all(net: &Net, devs: &mut [&mut Dev]) {
    net.settle().await;
    for d in devs.iter_mut() {
        d.pump().await;
    }
}

async fn create_room(
    dev: &mut Dev,
    id: &str,
    preset: Preset,
    group_preset: Preset,
) -> Result<RoomUri, ClientError> {
    let hub = dev.api.hub().await.expect("hub");
    let room = RoomUri::parse(&format!("mimi://{}/r/{id}", hub.domain)).expect("room");
    let group = GroupUri::parse(&format!("mimi://{}/g/{id}", hub.domain)).expect("group");
    let policy = PolicyState::new_room(group_preset, dev.mimi.user()).expect("policy");
    let info = dev
        .mimi
        .create_room(
            room.clone(),
            &group,
            hub.external_sender,
            Some(hub.franking_agent),
            &policy,
        )
        .expect("group");
    dev.api
        .create_room(
            id,
            preset.name(),
            &dev.device,
            &info.group_info,
            &info.ratchet_tree,
        )
        .await
}

// ---- the flows --------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_flows_over_the_client_api() {
    let net = Net::start(&["a.example", "b.example", "c.example"]).await;
    let mut alice = Dev::new_user(net.api("a.example"), "alice", "laptop").await;
    let mut bob = Dev::new_user(net.api("b.example"), "bob", "phone").await;
    let mut cathy = Dev::new_user(net.api("c.example"), "cathy", "tablet").await;
    // bob and cathy read through Server-Sent Events, alice through polling.
    bob.open_stream().await;
    cathy.open_stream().await;

    // Flow 1: alice's room, hosted by her provider.
    let preset = Preset::CooperativelyAdministered;
    let room = create_room(&mut alice, "clubhouse", preset, preset)
        .await
        .expect("create");
    assert_eq!(room.as_str(), "mimi://a.example/r/clubhouse");

    // Flow 2: alice adds bob.
    let request = alice
        .mimi
        .key_material_request(bob.mimi.user_uri(), &room)
        .expect("request");
    let response = alice
        .api
        .key_material(&room, &request)
        .await
        .expect("key material");
    assert_eq!(kps(&response).len(), 1);
    let commit = alice
        .mimi
        .add_users(
            &room,
            &[(bob.mimi.user(), preset.member_role(), kps(&response))],
        )
        .expect("commit");
    assert_success(
        &alice
            .api
            .update(&room, "laptop", &commit)
            .await
            .expect("update"),
    );
    pump_all(&net, &mut [&mut alice, &mut bob, &mut cathy]).await;
    assert!(
        bob.events
            .contains(&ClientEvent::Joined { room: room.clone() })
    );

    // Flow 3: bob adds cathy, the key material relayed by the hub.
    let request = bob
        .mimi
        .key_material_request(cathy.mimi.user_uri(), &room)
        .expect("request");
    let response = bob
        .api
        .key_material(&room, &request)
        .await
        .expect("key material via the hub");
    let commit = bob
        .mimi
        .add_users(
            &room,
            &[(cathy.mimi.user(), preset.member_role(), kps(&response))],
        )
        .expect("commit");
    assert_success(
        &bob.api
            .update(&room, "phone", &commit)
            .await
            .expect("update"),
    );
    pump_all(&net, &mut [&mut alice, &mut bob, &mut cathy]).await;
    let epoch = alice.mimi.epoch(&room).expect("epoch");
    assert_eq!(bob.mimi.epoch(&room).expect("epoch"), epoch);
    assert_eq!(cathy.mimi.epoch(&room).expect("epoch"), epoch);

    // Flow 4: cathy sends; alice's long poll returns as soon as the message is there.
    let poller = {
        let api = alice.api.clone();
        let after = alice.cursor;
        tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            let r = api
                .events("laptop", after, None, Some(30_000))
                .await
                .expect("long poll");
            (r, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let message = cathy
        .mimi
        .send_text(&room, [7; 16], "Hi everyone", None)
        .expect("send");
    let outcome = cathy
        .api
        .submit(&room, "tablet", &message)
        .await
        .expect("submit");
    assert!(
        matches!(outcome.outcome, SubmitOutcome::Accepted { .. }),
        "{outcome:?}"
    );
    let (polled, waited) = poller.await.expect("join");
    assert_eq!(polled.events.len(), 1, "{polled:?}");
    assert_eq!(polled.events[0].cursor, alice.cursor + 1);
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    pump_all(&net, &mut [&mut alice, &mut bob, &mut cathy]).await;
    assert_eq!(alice.texts(), vec!["Hi everyone".to_string()]);
    assert_eq!(bob.texts(), vec!["Hi everyone".to_string()]);

    // The SSE stream resumes after the last cursor seen: nothing lost, nothing repeated.
    let resume_at = cathy.stream.as_ref().expect("stream").last_cursor();
    assert_eq!(resume_at, cathy.cursor);
    cathy.stream = None;
    let message = bob
        .mimi
        .send_text(&room, [8; 16], "while you were away", None)
        .expect("send");
    bob.api
        .submit(&room, "phone", &message)
        .await
        .expect("submit");
    net.settle().await;
    cathy.open_stream().await;
    pump_all(&net, &mut [&mut alice, &mut bob, &mut cathy]).await;
    assert_eq!(
        cathy.texts(),
        vec!["while you were away".to_string()],
        "cathy's own message is not shown to her"
    );

    // Flow 5: bob leaves; cathy commits his proposals; bob's device stops receiving the room.
    let leave = bob.mimi.leave(&room).expect("leave");
    assert_success(&bob.api.update(&room, "phone", &leave).await.expect("leave"));
    pump_all(&net, &mut [&mut alice, &mut bob, &mut cathy]).await;
    let commit = cathy.mimi.commit_pending(&room).expect("commit");
    assert_success(
        &cathy
            .api
            .update(&room, "tablet", &commit)
            .await
            .expect("commit"),
    );
    pump_all(&net, &mut [&mut alice, &mut bob, &mut cathy]).await;
    assert!(
        bob.events
            .contains(&ClientEvent::Removed { room: room.clone() })
    );
    let bob_done = bob.latest().await;

    // Flow 6: cathy's second device joins by external commit.
    let mut phone = Dev::new_device(cathy.api.clone(), "cathy-phone", "phone").await;
    let (request, key) = phone.mimi.group_info_request(&room).expect("request");
    let response = phone
        .api
        .group_info(&room, "phone", &request)
        .await
        .expect("group info");
    let info = phone.mimi.open_group_info(&response, &key).expect("open");
    let commit = phone
        .mimi
        .join_by_external_commit(room.clone(), info, None)
        .expect("external commit");
    assert_success(
        &phone
            .api
            .update(&room, "phone", &commit)
            .await
            .expect("join"),
    );
    phone.api.joined(&room, "phone").await.expect("joined");
    phone.open_stream().await;
    pump_all(&net, &mut [&mut alice, &mut bob, &mut cathy, &mut phone]).await;
    let message = phone
        .mimi
        .send_text(&room, [9; 16], "from my phone", None)
        .expect("send");
    phone
        .api
        .submit(&room, "phone", &message)
        .await
        .expect("submit");
    pump_all(&net, &mut [&mut alice, &mut bob, &mut cathy, &mut phone]).await;
    assert_eq!(
        alice.texts().last().map(String::as_str),
        Some("from my phone")
    );
    assert_eq!(
        cathy.texts().last().map(String::as_str),
        Some("from my phone")
    );
    let epoch = alice.mimi.epoch(&room).expect("epoch");
    assert_eq!(cathy.mimi.epoch(&room).expect("epoch"), epoch);
    assert_eq!(phone.mimi.epoch(&room).expect("epoch"), epoch);
    assert_eq!(bob.latest().await, bob_done, "bob's device left the room");

    // Every device saw cursors 1, 2, 3, ... exactly once, and a replay from 0 through the
    // poll endpoint gives the same events.
    for dev in [&alice, &bob, &cathy, &phone] {
        let want: Vec<u64> = (1..=dev.cursor).collect();
        assert_eq!(dev.seen, want, "{}", dev.name);
        let replay = dev
            .api
            .events(&dev.device, 0, Some(1000), None)
            .await
            .expect("replay");
        assert_eq!(replay.latest, dev.cursor);
        let bodies: Vec<Vec<u8>> = replay
            .events
            .iter()
            .map(|e| e.body.as_bytes().to_vec())
            .collect();
        assert_eq!(bodies, dev.bodies, "{}", dev.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_open_streams_and_resume_loses_nothing() {
    let mut net = Net::start(&["a.example"]).await;
    let mut alice = Dev::new_user(net.api("a.example"), "alice", "laptop").await;
    let preset = Preset::OpenRoom;
    let room = create_room(&mut alice, "open", preset, preset)
        .await
        .expect("create");
    let mut stream = alice.api.stream("laptop", 0).await.expect("stream");
    // Stopping the provider ends the stream (graceful shutdown does not wait for it).
    net.stop_node("a.example").await;
    let end = tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("the stream did not end");
    assert!(matches!(end, Ok(None)), "{end:?}");
    assert_eq!(room.as_str(), "mimi://a.example/r/open");
}

// ---- refusals ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_precise_and_change_nothing() {
    let net = Net::start(&["a.example", "b.example", "c.example"]).await;
    let a = net.provider("a.example").clone();
    let mut alice = Dev::new_user(net.api("a.example"), "alice", "laptop").await;
    let dave = Dev::new_user(net.api("a.example"), "dave", "pc").await;
    let cathy = Dev::new_user(net.api("c.example"), "cathy", "tablet").await;
    let preset = Preset::CooperativelyAdministered;
    let room = create_room(&mut alice, "lobby", preset, preset)
        .await
        .expect("create");
    let anon = net.api("a.example");
    let user_exists = |name: &'static str| {
        let a = a.clone();
        async move { a.store.user_by_name(name).await.expect("store").is_some() }
    };

    // 400: malformed JSON, base64, TLS structs, invalid values.
    let r = alice
        .api
        .raw(
            "POST",
            "/client/v1/register",
            &[],
            Some(br#"{"username":"eve","#.to_vec()),
        )
        .await
        .expect("raw");
    assert_eq!(r.status, 400);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&r.body).expect("json error");
    assert!(
        body["error"].as_str().expect("error").contains("JSON"),
        "{body}"
    );
    assert!(!user_exists("eve").await);
    assert_eq!(status(anon.register("Bad Name!", PASSWORD, "x").await), 400);
    assert_eq!(status(anon.register("eve", "short", "x").await), 400);
    assert_eq!(status(anon.register("eve", PASSWORD, "\u{7}").await), 400);
    assert!(!user_exists("eve").await);
    let r = alice
        .api
        .raw(
            "POST",
            "/client/v1/devices",
            &[],
            Some(br#"{"device":"x","signature_key":"+/+/"}"#.to_vec()),
        )
        .await
        .expect("raw");
    assert_eq!(r.status, 400, "{:?}", String::from_utf8_lossy(&r.body));
    assert_eq!(status(alice.api.register_device("x", &[7; 31]).await), 400);
    assert_eq!(
        status(alice.api.register_device("bad/id", &[7; 32]).await),
        400
    );
    assert_eq!(
        a.store
            .clients_of("mimi://a.example/u/alice")
            .await
            .expect("clients")
            .len(),
        1
    );
    let r = alice
        .api
        .raw(
            "POST",
            "/client/v1/devices/laptop/key-packages",
            &[],
            Some(br#"{"key_packages":["AAAA"]}"#.to_vec()),
        )
        .await
        .expect("raw");
    assert_eq!(r.status, 400);
    // One bad KeyPackage among good ones: none is stored.
    let mut batch = alice.mimi.key_packages(2, false).expect("kps");
    batch.extend(dave.mimi.key_packages(1, false).expect("kps"));
    assert_eq!(
        status(alice.api.publish_key_packages("laptop", &batch).await),
        400
    );
    let count = |client: &'static str| {
        let a = a.clone();
        async move { a.store.key_package_count(client).await.expect("count") }
    };
    assert_eq!(count("mimi://a.example/d/alice/laptop").await, 5);
    for body in [
        r#"{"room":"Not OK!","preset":"open","device":"laptop","group_info":"","ratchet_tree":""}"#,
        r#"{"room":"x","preset":"anarchy","device":"laptop","group_info":"","ratchet_tree":""}"#,
        r#"{"room":"x","preset":"open","device":"laptop","group_info":"AAAA","ratchet_tree":""}"#,
    ] {
        let r = alice
            .api
            .raw(
                "POST",
                "/client/v1/rooms",
                &[],
                Some(body.as_bytes().to_vec()),
            )
            .await
            .expect("raw");
        assert_eq!(r.status, 400, "{body}");
    }
    // A group whose policy is not the preset's.
    assert_eq!(
        status(create_room(&mut alice, "mismatch", preset, Preset::OpenRoom).await),
        400
    );
    let mismatch = RoomUri::parse("mimi://a.example/r/mismatch").expect("room");
    assert!(a.room(&mismatch).await.is_none());
    let r = alice
        .api
        .raw(
            "POST",
            "/client/v1/rooms/a.example/q/x/y/update",
            &[],
            Some(br#"{"device":"laptop","request":""}"#.to_vec()),
        )
        .await
        .expect("raw");
    assert_eq!(r.status, 400);
    let r = alice
        .api
        .raw(
            "GET",
            "/client/v1/devices/laptop/events?after=minus-one",
            &[],
            None,
        )
        .await
        .expect("raw");
    assert_eq!(r.status, 400);
    assert_eq!(
        status(alice.api.events("laptop", 99, None, None).await),
        400
    );
    assert_eq!(status(alice.api.stream("laptop", 99).await), 400);

    // 401: no token, a bad one, a logged-out one; unknown user and wrong password alike.
    assert_eq!(status(anon.register_device("x", &[7; 32]).await), 401);
    let r = anon
        .raw("POST", "/client/v1/logout", &[], None)
        .await
        .expect("raw");
    assert_eq!(r.status, 401);
    let forged = net.api("a.example").with_token("A".repeat(43));
    assert_eq!(status(forged.events("laptop", 0, None, None).await), 401);
    let mut wrong = net.api("a.example");
    let unknown = wrong.login("mallory", PASSWORD).await;
    let bad_password = wrong.login("alice", "not the password").await;
    match (unknown, bad_password) {
        (
            Err(ClientError::Api {
                status: 401,
                message: m1,
            }),
            Err(ClientError::Api {
                status: 401,
                message: m2,
            }),
        ) => assert_eq!(m1, m2),
        other => panic!("{other:?}"),
    }
    let mut second = net.api("a.example");
    second.login("ALICE", PASSWORD).await.expect("second login");
    let kept = second.clone();
    second.logout().await.expect("logout");
    let stale = net
        .api("a.example")
        .with_token(kept.token().expect("token").to_string());
    assert_eq!(status(stale.events("laptop", 0, None, None).await), 401);
    alice
        .api
        .events("laptop", 0, None, None)
        .await
        .expect("the other session is still valid");

    // 403: another user's device; a request made for another user.
    assert_eq!(
        status(
            dave.api
                .events("mimi://a.example/d/alice/laptop", 0, None, None)
                .await
        ),
        403
    );
    let alices = alice.mimi.key_packages(1, false).expect("kps");
    assert_eq!(
        status(
            dave.api
                .publish_key_packages("mimi://a.example/d/alice/laptop", &alices)
                .await
        ),
        403
    );
    assert_eq!(count("mimi://a.example/d/alice/laptop").await, 5);
    let request = alice
        .mimi
        .key_material_request(cathy.mimi.user_uri(), &room)
        .expect("request");
    assert_eq!(status(dave.api.key_material(&room, &request).await), 403);
    assert_eq!(
        net.provider("c.example")
            .store
            .key_package_count("mimi://c.example/d/cathy/tablet")
            .await
            .expect("count"),
        5
    );
    let message = alice
        .mimi
        .send_text(&room, [1; 16], "not from dave", None)
        .expect("send");
    let alice_latest = alice.latest().await;
    assert_eq!(status(dave.api.submit(&room, "pc", &message).await), 403);
    assert_eq!(alice.latest().await, alice_latest);

    // 404: unknown device, room not hosted here, unknown endpoint.
    assert_eq!(status(alice.api.events("tv", 0, None, None).await), 404);
    let nowhere = RoomUri::parse("mimi://a.example/r/nowhere").expect("room");
    let commit = alice.mimi.commit_pending(&room).expect("commit");
    alice.mimi.commit_rejected(&room).expect("drop");
    assert_eq!(
        status(alice.api.update(&nowhere, "laptop", &commit).await),
        404
    );
    let r = alice
        .api
        .raw("GET", "/client/v1/nothing", &[], None)
        .await
        .expect("raw");
    assert_eq!(r.status, 404);
    let r = alice
        .api
        .raw(
            "POST",
            "/client/v1/rooms/a.example/r/lobby/frobnicate",
            &[],
            Some(b"{}".to_vec()),
        )
        .await
        .expect("raw");
    assert_eq!(r.status, 404);
    // 405, also as JSON.
    let r = alice
        .api
        .raw("GET", "/client/v1/register", &[], None)
        .await
        .expect("raw");
    assert_eq!(r.status, 405);
    assert!(serde_json::from_slice::<serde_json::Value>(&r.body).is_ok());

    // 409: taken username, device, signature key, room; joined without joining.
    assert_eq!(status(anon.register("Alice", PASSWORD, "again").await), 409);
    assert_eq!(
        status(alice.api.register_device("laptop", &[9; 32]).await),
        409
    );
    let key = alice.mimi.credential().signature_key.as_slice().to_vec();
    assert_eq!(
        status(alice.api.register_device("laptop2", &key).await),
        409
    );
    assert_eq!(
        a.store
            .clients_of("mimi://a.example/u/alice")
            .await
            .expect("clients")
            .len(),
        1
    );
    let mut alice2 = Dev::new_device(alice.api.clone(), "alice2", "desk").await;
    assert_eq!(
        status(create_room(&mut alice2, "lobby", preset, preset).await),
        409
    );
    assert_eq!(status(dave.api.joined(&room, "pc").await), 409);
    assert!(
        !a.store
            .follower_members(room.as_str())
            .await
            .expect("members")
            .contains(&"mimi://a.example/d/dave/pc".to_string())
    );

    // 413: bodies over the limit (1 MiB of protocol data, as base64url in JSON).
    let huge = format!(
        r#"{{"device":"x","signature_key":"{}"}}"#,
        "A".repeat(2 << 20)
    );
    let r = alice
        .api
        .raw("POST", "/client/v1/devices", &[], Some(huge.into_bytes()))
        .await
        .expect("raw");
    assert_eq!(r.status, 413);
    let huge = format!(
        r#"{{"device":"laptop","request":"{}"}}"#,
        "A".repeat(2 << 20)
    );
    let r = alice
        .api
        .raw(
            "POST",
            "/client/v1/rooms/a.example/r/lobby/messages",
            &[],
            Some(huge.into_bytes()),
        )
        .await
        .expect("raw");
    assert_eq!(r.status, 413);

    // 415: a body that says it is not JSON.
    let r = anon
        .raw(
            "POST",
            "/client/v1/login",
            &[("content-type", "text/plain")],
            Some(br#"{"username":"alice","password":"x"}"#.to_vec()),
        )
        .await
        .expect("raw");
    assert_eq!(r.status, 415);

    // 502: the hub refuses (a room b.example does not host).
    let elsewhere = RoomUri::parse("mimi://b.example/r/nope").expect("room");
    let request = alice
        .mimi
        .key_material_request(cathy.mimi.user_uri(), &elsewhere)
        .expect("request");
    let refused = alice.api.key_material(&elsewhere, &request).await;
    assert_eq!(status(refused), 502);
    assert_eq!(
        status(alice.api.update(&elsewhere, "laptop", &commit).await),
        502
    );

    // Still intact: the accounts, devices and KeyPackages of before.
    assert_eq!(count("mimi://a.example/d/alice/laptop").await, 5);
    assert_eq!(count("mimi://a.example/d/dave/pc").await, 5);
    alice.api.health().await.expect("healthz");
}

// ---- the OpenAPI document ---------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_every_route() {
    let net = Net::start(&["a.example"]).await;
    let api = net.api("a.example");
    let doc = api.openapi().await.expect("openapi");
    assert!(
        doc["openapi"].as_str().expect("version").starts_with("3."),
        "{doc}"
    );
    let methods = ["get", "put", "post", "delete", "patch", "head", "options"];
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, _) in item.as_object().expect("path item") {
            if methods.contains(&method.as_str()) {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let routed: BTreeSet<(String, String)> = mimi_server::client_api::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, routed);
    // Every documented route reaches a handler (without a token: 401, or an answer), and
    // nothing else does.
    for (method, path) in &routed {
        let concrete = path
            .replace("{room}", "a.example/r/clubhouse")
            .replace("{device}", "laptop");
        let body = (method == "POST").then(|| b"{}".to_vec());
        let r = api.raw(method, &concrete, &[], body).await.expect("raw");
        let text = String::from_utf8_lossy(&r.body);
        assert!(
            r.status != 404 && r.status != 405,
            "{method} {path}: {} {text}",
            r.status
        );
    }
    for (method, path) in [
        ("GET", "/client/v1/rooms"),
        ("POST", "/client/v1/rooms/a.example/r/clubhouse/delete"),
        ("POST", "/client/v2/register"),
        ("DELETE", "/client/v1/devices"),
    ] {
        let r = api.raw(method, path, &[], None).await.expect("raw");
        assert!(
            r.status == 404 || r.status == 405,
            "{method} {path}: {}",
            r.status
        );
    }
    api.health().await.expect("healthz");
    let r = api.raw("GET", "/healthz", &[], None).await.expect("raw");
    assert_eq!((r.status, r.body.as_slice()), (200, b"ok".as_slice()));
}
