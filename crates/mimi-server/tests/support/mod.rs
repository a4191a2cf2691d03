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
use mimi_store::{SqliteStore, Store};
use mimi_types::id::{ProviderDomain, RoomUri};
#[allow(unused_imports)]
use mimi_types::wire::WireMessage as _;
use mimi_types::wire::{FanoutMessage, WireMessage};

pub fn domain(s: &str) -> ProviderDomain {
    ProviderDomain::parse(s).expect("domain")
}

pub fn free_port() -> u16 {
    // Below Linux's ephemeral range (32768-60999), so no outgoing connection can take the
    // port between this check and the provider binding it.
    loop {
        let mut b = [0u8; 2];
        getrandom::fill(&mut b).expect("random");
        let port = 20_000 + u16::from_le_bytes(b) % 12_000;
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
    pub fn provider(&self) -> &Arc<Provider<SqliteStore>> {
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
        let config = Config::load(&node.config_path).expect("config");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let running = start(config, async move {
            let _ = rx.await;
        })
        .await
        .expect("start");
        node.running = Some(running);
        node.stop = Some(tx);
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

    pub fn provider(&self, d: &str) -> &Arc<Provider<SqliteStore>> {
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

    pub fn provider_of(&self, name: &str) -> Arc<Provider<SqliteStore>> {
        self.provider(&self.clients[name].domain).clone()
    }

    /// Wait until no running provider has anything left in its outbox (bounded).
    pub async fn settle(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let mut busy = false;
            for node in self.nodes.values() {
                if let Some(r) = &node.running
                    && !r
                        .provider
                        .store
                        .outbox_backlog()
                        .await
                        .expect("backlog")
                        .is_empty()
                {
                    busy = true;
                }
            }
            if !busy {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "outboxes did not drain"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
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
use mimi_types::wire::{ClientMaterial, KeyPackage, UpdateOutcome};

pub fn kps(r: &mimi_types::wire::KeyMaterialResponse) -> Vec<KeyPackage> {
    r.clients
        .iter()
        .filter_map(|c| match &c.material {
            ClientMaterial::Success(kp) => Some(kp.clone()),
            _ => None,
        })
        .collect()
}

/// alice (hub a), bob (b), cathy (c); alice's room; alice adds bob; bob adds cathy.
pub async fn three_party() -> (Net, RoomUri) {
    let mut net = Net::start(&["a.example", "b.example", "c.example"]).await;
    net.add_user("alice", "a.example").await;
    net.add_user("bob", "b.example").await;
    net.add_user("cathy", "c.example").await;
    let room = RoomUri::parse("mimi://a.example/r/clubhouse").expect("room");
    let group = GroupUri::parse("mimi://a.example/g/clubhouse").expect("group");
    let a = net.provider("a.example").clone();
    let preset = Preset::CooperativelyAdministered;
    let policy = PolicyState::new_room(preset, net.client("alice").user()).expect("policy");
    // Flow 1: the hub establishes the room, alice's client creates the group.
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
