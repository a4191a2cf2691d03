//! Three providers on loopback, each a real `mimi serve` (mutual TLS, its own SQLite file),
//! and real OpenMLS clients talking to their provider in-process (the client API's job) or
//! over the client API ([`Net::api`]).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mimi_client::{ClientEvent, MimiClient};
use mimi_server::config::{Config, ConfigFile};
use mimi_server::init::{InitOptions, init};
use mimi_server::provider::Provider;
use mimi_server::serve::{Running, start};
use mimi_store::{AnyStore, Store};
use mimi_types::id::{ProviderDomain, RoomUri};
#[allow(unused_imports)]
use mimi_types::wire::WireMessage as _;
use mimi_types::wire::{FanoutMessage, WireMessage};

pub fn domain(s: &str) -> ProviderDomain {
    ProviderDomain::parse(s).expect("domain")
}

pub fn free_port() -> u16 {
    // Below Linux's ephemeral range (32768-60999), so no outgoing connection can take the
    // port between this check and the listener binding it. Ports are handed out in turn
    // from a random start, so two tests of one process never get the same port while the
    // first has not bound it yet.
    static START: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let start = *START.get_or_init(|| {
        let mut b = [0u8; 2];
        getrandom::fill(&mut b).expect("random");
        u32::from(u16::from_le_bytes(b))
    });
    loop {
        let turn = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let port = 20_000 + ((start + turn) % 12_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).expect("random");
        let dir = std::env::temp_dir().join(format!("mimi-{tag}-{}", hex::encode(b)));
        std::fs::create_dir_all(&dir).expect("mkdir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct Node {
    pub config_path: PathBuf,
    pub running: Option<Running>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Node {
    pub fn provider(&self) -> &Arc<Provider<AnyStore>> {
        &self.running.as_ref().expect("running").provider
    }
}

pub struct TestClient {
    pub mimi: MimiClient,
    pub domain: String,
    pub cursor: u64,
    pub events: Vec<ClientEvent>,
}

pub struct Net {
    pub dir: TempDir,
    pub nodes: BTreeMap<String, Node>,
    pub clients: BTreeMap<String, TestClient>,
}

impl Net {
    /// Initialize and start providers for `domains` on loopback.
    pub async fn start(domains: &[&str]) -> Net {
        let mut net = Net::init(domains);
        for d in domains {
            net.start_node(d).await;
        }
        net
    }

    /// Initialize providers for `domains` on loopback (each a peer of the others, sharing
    /// one federation CA in `<dir>/ca`) without starting them: change a configuration with
    /// [`Net::configure`], then [`Net::start_node`].
    pub fn init(domains: &[&str]) -> Net {
        let dir = TempDir::new("net");
        let ports: BTreeMap<String, u16> = domains
            .iter()
            .map(|d| (d.to_string(), free_port()))
            .collect();
        let mut nodes = BTreeMap::new();
        for d in domains {
            let peers = ports
                .iter()
                .filter(|(p, _)| p.as_str() != *d)
                .map(|(p, port)| (p.clone(), format!("127.0.0.1:{port}")))
                .collect();
            let config_path = init(&InitOptions {
                domain: domain(d),
                dir: dir.0.join(d),
                ca_dir: dir.0.join("ca"),
                federation_listen: format!("127.0.0.1:{}", ports[*d]).parse().expect("addr"),
                // Any free port (the running provider reports it): no race with other
                // tests for ports nobody else needs to know in advance.
                client_listen: "127.0.0.1:0".parse().expect("addr"),
                admin_listen: Some("127.0.0.1:0".parse().expect("addr")),
                peers,
                database_url: None,
                now_secs: (mimi_server::provider::now_ms() / 1000) as i64,
            })
            .expect("init");
            nodes.insert(
                d.to_string(),
                Node {
                    config_path,
                    running: None,
                    stop: None,
                },
            );
        }
        Net {
            dir,
            nodes,
            clients: BTreeMap::new(),
        }
    }

    /// Change provider `d`'s configuration file (takes effect at its next start).
    pub fn configure(&self, d: &str, change: impl FnOnce(&mut ConfigFile)) {
        let path = &self.nodes[d].config_path;
        let text = std::fs::read_to_string(path).expect("read config");
        let mut file: ConfigFile = toml::from_str(&text).expect("parse config");
        change(&mut file);
        std::fs::write(path, toml::to_string_pretty(&file).expect("config")).expect("write");
    }

    /// The federation CA's directory (`ca.pem`, `ca.key`).
    pub fn ca_dir(&self) -> PathBuf {
        self.dir.0.join("ca")
    }

    /// A client API client of provider `d` (no token).
    pub fn api(&self, d: &str) -> mimi_client::RemoteApi {
        let running = self.nodes[d].running.as_ref().expect("running");
        mimi_client::RemoteApi::at(running.client_api_addr).expect("api")
    }

    pub async fn start_node(&mut self, d: &str) {
        let node = self.nodes.get_mut(d).expect("node");
        let (running, stop) = launch(Config::load(&node.config_path).expect("config")).await;
        node.running = Some(running);
        node.stop = Some(stop);
    }

    /// Stop a provider gracefully and wait until it has stopped; panics if that takes long
    /// (an open event stream or a delivery must not hold it up).
    pub async fn stop_node(&mut self, d: &str) {
        let node = self.nodes.get_mut(d).expect("node");
        if let Some(stop) = node.stop.take() {
            let _ = stop.send(());
        }
        if let Some(running) = node.running.take() {
            tokio::time::timeout(Duration::from_secs(10), running.done)
                .await
                .expect("graceful shutdown took too long")
                .expect("join");
        }
    }

    pub fn provider(&self, d: &str) -> &Arc<Provider<AnyStore>> {
        self.nodes[d].provider()
    }

    /// A user `name` with one client at provider `d`, certified there, with 5 KeyPackages
    /// published.
    pub async fn add_user(&mut self, name: &str, d: &str) {
        let p = self.provider(d).clone();
        let user = p.register_user(name, "", name).await.expect("user");
        let signer = MimiClient::new_signer().expect("signer");
        let (client_uri, credential) = p
            .register_client(&user, "1", signer.public())
            .await
            .expect("register");
        let mimi =
            MimiClient::from_parts(client_uri.clone(), user, signer, credential).expect("client");
        let kps = mimi.key_packages(5, false).expect("key packages");
        p.publish_key_packages(&client_uri, &kps)
            .await
            .expect("publish");
        self.clients.insert(
            name.to_string(),
            TestClient {
                mimi,
                domain: d.to_string(),
                cursor: 0,
                events: Vec::new(),
            },
        );
    }

    /// Another client (device) `device` of the user of client `of`, named `name`.
    pub async fn add_device(&mut self, name: &str, of: &str, device: &str) {
        let d = self.clients[of].domain.clone();
        let p = self.provider(&d).clone();
        let user = self.clients[of].mimi.user_uri().clone();
        let signer = MimiClient::new_signer().expect("signer");
        let (client_uri, credential) = p
            .register_client(&user, device, signer.public())
            .await
            .expect("register");
        let mimi = MimiClient::from_parts(client_uri, user, signer, credential).expect("client");
        self.clients.insert(
            name.to_string(),
            TestClient {
                mimi,
                domain: d,
                cursor: 0,
                events: Vec::new(),
            },
        );
    }

    pub fn client(&mut self, name: &str) -> &mut MimiClient {
        &mut self.clients.get_mut(name).expect("client").mimi
    }

    pub fn provider_of(&self, name: &str) -> Arc<Provider<AnyStore>> {
        self.provider(&self.clients[name].domain).clone()
    }

    /// Wait until no running provider has anything left in its outbox (bounded).
    pub async fn settle(&self) {
        drained(self, Duration::from_secs(20)).await;
    }

    /// Deliver every client's pending events from its provider's stream to the client.
    pub async fn pump(&mut self, room: &RoomUri) {
        self.settle().await;
        let names: Vec<String> = self.clients.keys().cloned().collect();
        for name in names {
            let p = self.provider_of(&name);
            let Some(node) = self.nodes.get(&self.clients[&name].domain) else {
                continue;
            };
            if node.running.is_none() {
                continue;
            }
            let client = self.clients.get_mut(&name).expect("client");
            let uri = client.mimi.client_uri().clone();
            let events = p.events(&uri, client.cursor, 1000).await.expect("events");
            for e in events {
                client.cursor = e.cursor;
                let message =
                    FanoutMessage::decode_with_limit(&e.body, 1 << 24).expect("stored fanout");
                let produced = client
                    .mimi
                    .process(room, &message)
                    .unwrap_or_else(|err| panic!("{name} failed to process: {err}"));
                for ev in &produced {
                    if matches!(ev, ClientEvent::Removed { .. }) {
                        p.left_room(room, &uri).await.expect("left");
                    }
                }
                client.events.extend(produced);
            }
        }
    }

    /// Texts a client decrypted.
    pub fn texts(&self, name: &str) -> Vec<String> {
        self.clients[name]
            .events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Message { content, .. } => Some(mimi_content::render_text(content)),
                _ => None,
            })
            .collect()
    }
}

// ---- the scenario most tests start from ----

use mimi_room::policy::{PolicyState, Preset};
use mimi_types::id::GroupUri;
use mimi_types::wire::{KeyPackage, UpdateOutcome};

pub fn kps(r: &mimi_types::wire::KeyMaterialResponse) -> Vec<KeyPackage> {
    r.key_packages()
}

/// alice (hub a), bob (b), cathy (c); alice's room; alice adds bob; bob adds cathy.
/// Flow 1: the hub a.example establishes room `mimi://a.example/r/<id>` and alice's client
/// (an OpenMLS client of a.example, already added to the net) creates its group, in the
/// cooperatively administered preset.
pub async fn alice_hosts(net: &mut Net, id: &str) -> RoomUri {
    let room = RoomUri::parse(&format!("mimi://a.example/r/{id}")).expect("room");
    let group = GroupUri::parse(&format!("mimi://a.example/g/{id}")).expect("group");
    let a = net.provider("a.example").clone();
    let preset = Preset::CooperativelyAdministered;
    let policy = PolicyState::new_room(preset, net.client("alice").user()).expect("policy");
    let info = net
        .client("alice")
        .create_room(
            room.clone(),
            &group,
            a.keys.hub.external_sender(),
            Some(a.keys.hub.franking_agent()),
            &policy,
        )
        .expect("group");
    let creator = net.client("alice").client_uri().clone();
    a.create_room(
        room.clone(),
        preset.name(),
        &policy,
        &creator,
        info.group_info,
        info.ratchet_tree,
    )
    .await
    .expect("host");
    room
}

pub async fn three_party() -> (Net, RoomUri) {
    three_party_in(Net::start(&["a.example", "b.example", "c.example"]).await).await
}

/// [`three_party`] on running providers a.example, b.example and c.example.
pub async fn three_party_in(mut net: Net) -> (Net, RoomUri) {
    net.add_user("alice", "a.example").await;
    net.add_user("bob", "b.example").await;
    net.add_user("cathy", "c.example").await;
    let room = alice_hosts(&mut net, "clubhouse").await;
    let a = net.provider("a.example").clone();
    let preset = Preset::CooperativelyAdministered;
    // Flow 2: alice adds bob (a asks b for key material directly: it is the hub).
    let target = net.client("bob").user_uri().clone();
    let request = net
        .client("alice")
        .key_material_request(&target, &room)
        .expect("request");
    let response = a
        .client_key_material(&room, &request)
        .await
        .expect("key material");
    let bob = net.client("bob").user();
    let commit = net
        .client("alice")
        .add_users(&room, &[(bob, preset.member_role(), kps(&response))])
        .expect("commit");
    let outcome = a.client_update(&room, &commit).await.expect("update");
    assert!(
        matches!(outcome.outcome, UpdateOutcome::Success { .. }),
        "{outcome:?}"
    );
    net.pump(&room).await;
    // Flow 3: bob adds cathy (b asks c through the hub a).
    let b = net.provider("b.example").clone();
    let target = net.client("cathy").user_uri().clone();
    let request = net
        .client("bob")
        .key_material_request(&target, &room)
        .expect("request");
    let response = b
        .client_key_material(&room, &request)
        .await
        .expect("key material via hub");
    let cathy = net.client("cathy").user();
    let commit = net
        .client("bob")
        .add_users(&room, &[(cathy, preset.member_role(), kps(&response))])
        .expect("commit");
    let outcome = b.client_update(&room, &commit).await.expect("update");
    assert!(
        matches!(outcome.outcome, UpdateOutcome::Success { .. }),
        "{outcome:?}"
    );
    net.pump(&room).await;
    (net, room)
}

/// Every named client is at the same epoch of `room`.
pub fn assert_in_sync(net: &Net, room: &RoomUri, names: &[&str]) {
    let epochs: Vec<u64> = names
        .iter()
        .map(|n| net.clients[*n].mimi.epoch(room).expect("epoch"))
        .collect();
    assert!(
        epochs.windows(2).all(|w| w[0] == w[1]),
        "epochs differ: {epochs:?}"
    );
}

// ---- read-only views of a provider's state, for "bad input changes nothing" ----

/// A hosted room as the hub engine holds it in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubRoomView {
    pub room: String,
    pub epoch: u64,
    pub seq: u64,
    pub tree_hash: Vec<u8>,
    pub members: usize,
    pub pending: usize,
    pub policy: mimi_room::policy::PolicyState,
}

/// Everything a provider holds that a federation request could change, read only through
/// the `Store` trait and the hub engine's accessors: row counts, hosted rooms (stored
/// snapshot and in-memory engine), the outbox, every known client's event cursor and
/// KeyPackages, follower membership and consent records of the given rooms, peer CAs.
/// Compare two views taken around a request: equal means nothing was stored. (Follower
/// dedupe rows are not readable through the trait; tests check them by behaviour.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateView {
    pub counts: mimi_store::Counts,
    pub stored_rooms: Vec<mimi_store::HubRoomSnapshot>,
    pub engine_rooms: Vec<HubRoomView>,
    pub outbox: Vec<(String, u64)>,
    pub cursors: BTreeMap<String, u64>,
    pub key_packages: BTreeMap<String, usize>,
    pub members: BTreeMap<String, Vec<String>>,
    pub consents: Vec<mimi_store::ConsentRecord>,
    pub peer_cas: Vec<String>,
}

impl Net {
    /// The state of provider `d` (see [`StateView`]), after the outboxes drained; `rooms` are
    /// the rooms whose follower membership and consent scopes are read (besides consent
    /// without a room), `users` extra user URIs for consent records besides the test clients'.
    pub async fn state_view(&self, d: &str, rooms: &[&RoomUri], users: &[&str]) -> StateView {
        self.settle().await;
        let p = self.provider(d);
        let store = &p.store;
        let stored_rooms = store.load_hub_rooms().await.expect("hub rooms");
        let mut engine_rooms = Vec::new();
        for s in &stored_rooms {
            let uri = RoomUri::parse(&s.room).expect("room");
            let hosted = p.room(&uri).await.expect("hosted in memory");
            let hosted = hosted.lock().await;
            let r = &hosted.room;
            engine_rooms.push(HubRoomView {
                room: s.room.clone(),
                epoch: r.epoch(),
                seq: r.seq(),
                tree_hash: r.tree_hash(),
                members: r.member_count(),
                pending: r.pending_proposals().count(),
                policy: r.effective_policy().clone(),
            });
        }
        let mut cursors = BTreeMap::new();
        let mut key_packages = BTreeMap::new();
        let mut user_uris: Vec<String> = users.iter().map(|u| u.to_string()).collect();
        for c in self.clients.values() {
            user_uris.push(c.mimi.user_uri().as_str().to_string());
            if c.domain != d {
                continue;
            }
            let uri = c.mimi.client_uri().as_str().to_string();
            cursors.insert(
                uri.clone(),
                store.latest_cursor(&uri).await.expect("cursor"),
            );
            key_packages.insert(
                uri.clone(),
                store.key_package_count(&uri).await.expect("kps"),
            );
        }
        user_uris.sort();
        user_uris.dedup();
        let mut members = BTreeMap::new();
        for room in rooms {
            members.insert(
                room.as_str().to_string(),
                store
                    .follower_members(room.as_str())
                    .await
                    .expect("members"),
            );
        }
        let mut scopes: Vec<Option<&str>> = vec![None];
        scopes.extend(rooms.iter().map(|r| Some(r.as_str())));
        let mut consents = Vec::new();
        for requester in &user_uris {
            for target in &user_uris {
                for scope in &scopes {
                    if let Some(record) = store
                        .consent(requester, target, *scope)
                        .await
                        .expect("consent")
                    {
                        consents.push(record);
                    }
                }
            }
        }
        let mut peer_cas: Vec<String> = store
            .peer_cas()
            .await
            .expect("peer CAs")
            .into_iter()
            .map(|(domain, _)| domain)
            .collect();
        peer_cas.sort();
        StateView {
            counts: store.counts().await.expect("counts"),
            stored_rooms,
            engine_rooms,
            outbox: store
                .outbox_backlog()
                .await
                .expect("backlog")
                .into_iter()
                .map(|b| (b.destination, b.rows))
                .collect(),
            cursors,
            key_packages,
            members,
            consents,
            peer_cas,
        }
    }

    /// The federation port of provider `d`.
    pub fn federation_port(&self, d: &str) -> u16 {
        self.nodes[d]
            .running
            .as_ref()
            .expect("running")
            .federation_addr
            .port()
    }
}

// ---- fault injection: proxies between providers, what clients received, convergence ----

/// What one client received from its provider's stream, counted before and after MLS.
#[derive(Debug, Default, Clone)]
pub struct Received {
    /// Texts it decrypted, in stream order.
    pub texts: Vec<String>,
    /// Application messages that reached the client's stream a second time (the same MLS
    /// message bytes): a duplicate the client saw. Must be 0.
    pub duplicates: usize,
    /// Events the client failed to process, with the error.
    pub failures: Vec<String>,
    /// SHA-256 of every application message seen so far.
    seen: std::collections::HashSet<[u8; 32]>,
}

impl Net {
    /// Route provider `from`'s requests to `to` through a new fault proxy (a loopback TCP
    /// proxy, `mimi_faults`): `from`'s configuration names the proxy as `to`'s address, and
    /// `from` is restarted if it runs (its peers are read at start).
    pub async fn proxy_between(&mut self, from: &str, to: &str) -> mimi_faults::FaultProxy {
        let text = std::fs::read_to_string(&self.nodes[to].config_path).expect("read config");
        let target: ConfigFile = toml::from_str(&text).expect("parse config");
        let proxy = mimi_faults::FaultProxy::start(target.federation.listen)
            .await
            .expect("proxy");
        let running = self.nodes[from].running.is_some();
        if running {
            self.stop_node(from).await;
        }
        let address = proxy.addr().to_string();
        self.configure(from, |f| {
            f.peers.insert(to.to_string(), address);
        });
        if running {
            self.start_node(from).await;
        }
        proxy
    }

    /// Read every event of client `name` after its cursor, count duplicates, process them
    /// with its MLS state and add what it decrypted to `into`. Returns how many events were
    /// read.
    pub async fn receive(&mut self, name: &str, room: &RoomUri, into: &mut Received) -> usize {
        let events = self.fetch(name).await;
        let client = self.clients.get_mut(name).expect("client");
        process(client, room, &events, into);
        events.len()
    }

    /// [`Net::receive`] for several clients, which process their events in parallel (MLS
    /// in a debug build is slow: one thread per client).
    pub async fn receive_many(
        &mut self,
        names: &[&'static str],
        room: &RoomUri,
        into: &mut BTreeMap<&'static str, Received>,
    ) {
        let mut work = Vec::new();
        for name in names {
            let events = self.fetch(name).await;
            let client = self.clients.remove(*name).expect("client");
            let received = into.remove(name).unwrap_or_default();
            work.push((*name, client, events, received));
        }
        std::thread::scope(|s| {
            for (_, client, events, received) in &mut work {
                s.spawn(|| process(client, room, events, received));
            }
        });
        for (name, client, _, received) in work {
            self.clients.insert(name.to_string(), client);
            into.insert(name, received);
        }
    }

    /// Every event of client `name` after its cursor.
    async fn fetch(&self, name: &str) -> Vec<mimi_store::DeliveryRow> {
        let p = self.provider_of(name);
        let client = &self.clients[name];
        let uri = client.mimi.client_uri().clone();
        let mut cursor = client.cursor;
        let mut all = Vec::new();
        loop {
            let events = p.events(&uri, cursor, 500).await.expect("events");
            match events.last() {
                None => return all,
                Some(last) => cursor = last.cursor,
            }
            all.extend(events);
        }
    }
}

/// Count duplicates on `client`'s stream and process `events` with its MLS state.
fn process(
    client: &mut TestClient,
    room: &RoomUri,
    events: &[mimi_store::DeliveryRow],
    into: &mut Received,
) {
    use sha2::Digest as _;
    for e in events {
        client.cursor = e.cursor;
        let message = FanoutMessage::decode_with_limit(&e.body, 1 << 24).expect("stored fanout");
        if let mimi_types::wire::FanoutPayload::Application { message: m, .. } = &message.payload {
            let digest: [u8; 32] = sha2::Sha256::digest(m.as_bytes()).into();
            if !into.seen.insert(digest) {
                into.duplicates += 1;
            }
        }
        match client.mimi.process(room, &message) {
            Ok(produced) => {
                for ev in &produced {
                    if let ClientEvent::Message { content, .. } = ev {
                        into.texts.push(mimi_content::render_text(content));
                    }
                }
                client.events.extend(produced);
            }
            Err(err) => into.failures.push(err.to_string()),
        }
    }
}

/// Wait (bounded by `within`) until `done` holds, polling; panics with `what` otherwise.
pub async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    within: Duration,
    mut done: impl FnMut() -> F,
) {
    let deadline = tokio::time::Instant::now() + within;
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The room has the same state everywhere: every running provider's outbox is empty; the
/// hub's stored and in-memory state agree; and every named client is at the hub's epoch
/// with the hub's ratchet tree, member count and room policy.
pub async fn assert_converged(net: &Net, room: &RoomUri, names: &[&str]) {
    for (d, node) in &net.nodes {
        if let Some(r) = &node.running {
            let backlog = r.provider.store.outbox_backlog().await.expect("backlog");
            assert!(
                backlog.is_empty(),
                "{d} still has queued deliveries: {backlog:?}"
            );
        }
    }
    let hub = net.provider(room.domain().as_str());
    let stored = hub
        .store
        .hub_room(room.as_str())
        .await
        .expect("stored room")
        .expect("hosted");
    let hosted = hub.room(room).await.expect("hosted in memory");
    let mut hosted = hosted.lock().await;
    // With shared storage, the copy as the next request would see it.
    hub.refresh(&mut hosted).await.expect("refresh");
    let r = &hosted.room;
    assert_eq!(stored.seq, r.seq(), "stored and in-memory sequence");
    let tree = r.ratchet_tree().expect("tree").into_bytes();
    assert_eq!(stored.ratchet_tree, tree, "stored and in-memory tree");
    for name in names {
        let c = &net.clients[*name].mimi;
        assert_eq!(c.epoch(room).expect("epoch"), r.epoch(), "{name}: epoch");
        assert_eq!(
            c.ratchet_tree(room).expect("tree").as_bytes(),
            &tree[..],
            "{name}: ratchet tree"
        );
        assert_eq!(
            c.member_count(room).expect("members"),
            r.member_count(),
            "{name}: members"
        );
        assert_eq!(
            &c.room_state(room).expect("policy"),
            r.effective_policy(),
            "{name}: room policy"
        );
    }
}

/// The value of a counter in a provider's rendered metrics (0 if absent).
pub async fn metric(p: &Provider<AnyStore>, series: &str) -> u64 {
    let text = p.metrics.render(&p.store).await.expect("metrics");
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0)
}

// ---- PostgreSQL and several instances of one provider ----

/// A fresh PostgreSQL database for one test, dropped at the end. Tests that need
/// PostgreSQL read the server's URL from `MIMI_TEST_POSTGRES_URL` (`.ci/run` sets it);
/// without it they pass without running (plain `cargo test` needs no PostgreSQL).
pub async fn fresh_database(tag: &str) -> Option<mimi_store::ScratchDatabase> {
    let Ok(admin) = std::env::var("MIMI_TEST_POSTGRES_URL") else {
        eprintln!("MIMI_TEST_POSTGRES_URL not set: skipping this PostgreSQL test");
        return None;
    };
    Some(
        mimi_store::ScratchDatabase::create(&admin, &format!("mimi_{tag}"))
            .await
            .expect("create a fresh database"),
    )
}

/// Another instance of a provider: the same configuration, keys and database, its own
/// listeners (on any free port).
pub struct Instance {
    pub running: Running,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Instance {
    pub fn provider(&self) -> &Arc<Provider<AnyStore>> {
        &self.running.provider
    }

    /// Stop it gracefully and wait until it has stopped.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), self.running.done)
            .await
            .expect("graceful shutdown took too long")
            .expect("join");
    }
}

impl Net {
    /// Start another instance of provider `d` (it must keep its data in PostgreSQL).
    pub async fn start_instance(&self, d: &str) -> Instance {
        let mut config = Config::load(&self.nodes[d].config_path).expect("config");
        assert!(
            config.file.database_url.is_some(),
            "{d} must use PostgreSQL"
        );
        config.file.federation.listen = "127.0.0.1:0".parse().expect("addr");
        config.file.client_api.listen = "127.0.0.1:0".parse().expect("addr");
        if let Some(admin) = &mut config.file.admin {
            admin.listen = "127.0.0.1:0".parse().expect("addr");
        }
        let (running, stop) = launch(config).await;
        Instance {
            running,
            stop: Some(stop),
        }
    }
}

/// Start a provider with `config`; it stops when the sender fires (or is dropped).
async fn launch(config: Config) -> (Running, tokio::sync::oneshot::Sender<()>) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let running = start(config, async move {
        let _ = rx.await;
    })
    .await
    .expect("start");
    (running, tx)
}

// ---- sending and counting in the three-party room ----

use mimi_types::wire::{SubmitMessageRequest, SubmitOutcome};

/// The clients of [`three_party`].
pub const THREE: [&str; 3] = ["alice", "bob", "cathy"];

/// A 16-byte salt that makes each message's content unique.
pub fn salt(n: usize) -> [u8; 16] {
    let mut s = [0u8; 16];
    s[..8].copy_from_slice(&(n as u64).to_be_bytes());
    s
}

/// `name` encrypts `text` for the room (not yet submitted).
pub fn encrypt(
    net: &mut Net,
    name: &str,
    room: &RoomUri,
    n: usize,
    text: &str,
) -> SubmitMessageRequest {
    net.client(name)
        .send_text(room, salt(n), text, None)
        .expect("encrypt")
}

/// `name` sends `text` through its provider; the hub must accept it.
pub async fn send(net: &mut Net, name: &str, room: &RoomUri, n: usize, text: &str) {
    let request = encrypt(net, name, room, n, text);
    let p = net.provider_of(name);
    let outcome = p.client_submit(room, &request).await.expect("submit");
    assert!(
        matches!(outcome.outcome, SubmitOutcome::Accepted { .. }),
        "{outcome:?}"
    );
}

/// Wait until no provider has queued deliveries (bounded by `within`).
pub async fn drained(net: &Net, within: Duration) {
    eventually("every outbox drained", within, || async {
        for node in net.nodes.values() {
            if let Some(r) = &node.running
                && !r
                    .provider
                    .store
                    .outbox_backlog()
                    .await
                    .expect("backlog")
                    .is_empty()
            {
                return false;
            }
        }
        true
    })
    .await;
}

/// Exactly once: each client decrypted exactly `expected` (its own messages excluded) and
/// saw no duplicate and no failure.
pub fn assert_exactly_once(
    got: &BTreeMap<&'static str, Received>,
    expected: &BTreeMap<&'static str, Vec<String>>,
) {
    for name in THREE {
        let r = &got[name];
        assert_eq!(r.duplicates, 0, "{name} saw duplicates");
        assert!(r.failures.is_empty(), "{name} failed: {:?}", r.failures);
        assert_eq!(
            r.texts, expected[name],
            "{name} got each message once, in order"
        );
    }
}

/// The texts each client should have decrypted: everything but what it sent itself.
pub fn expectations(log: &[(&'static str, String)]) -> BTreeMap<&'static str, Vec<String>> {
    THREE
        .iter()
        .map(|&name| {
            let texts = log
                .iter()
                .filter(|(from, _)| *from != name)
                .map(|(_, t)| t.clone())
                .collect();
            (name, texts)
        })
        .collect()
}
