//! A deterministic three-provider world on one thread: hub a.example, followers b.example and
//! c.example, each with its own client CA, KeyPackage store and follower state, and real
//! OpenMLS clients. "Sending" a request is a function call; fanout effects are delivered in
//! order, and every client's events are collected.

#![allow(dead_code)]

use std::collections::BTreeMap;

use mimi_client::{ClientEvent, MimiClient};
use mimi_credential::{ClientCa, TrustStore};
use mimi_room::follower::Follower;
use mimi_room::hub::{Accepted, HubContext, HubIdentity, HubLimits, HubRoom, HubSigner};
use mimi_room::key_material::KeyPackageStore;
use mimi_room::policy::{PolicyState, Preset};
use mimi_types::id::{ClientUri, GroupUri, MimiUri, ProviderDomain, RoomUri, UserUri};
use mimi_types::wire::{
    KeyMaterialResponse, SubmitMessageRequest, SubmitOutcome, UpdateOutcome, UpdateRequest,
    WireMessage,
};
use openmls::prelude::{BasicCredential, OpenMlsProvider};
use openmls_rust_crypto::OpenMlsRustCrypto;

/// 2026-11-23 in ms since the UNIX epoch (a fixed clock).
pub const NOW_MS: u64 = 1_795_420_800_000;

pub fn domain(s: &str) -> ProviderDomain {
    ProviderDomain::parse(s).expect("domain")
}

pub struct Provider {
    pub domain: ProviderDomain,
    pub ca: ClientCa,
    pub store: KeyPackageStore,
    pub follower: Follower,
}

pub struct World {
    pub hub: HubIdentity,
    pub trust: TrustStore,
    pub providers: BTreeMap<String, Provider>,
    pub clients: BTreeMap<String, MimiClient>,
    pub room: Option<HubRoom>,
    pub room_uri: RoomUri,
    pub events: BTreeMap<String, Vec<ClientEvent>>,
    pub now_ms: u64,
    pub limits: HubLimits,
    crypto: OpenMlsRustCrypto,
}

impl World {
    pub fn new() -> World {
        let mut trust = TrustStore::new();
        let mut providers = BTreeMap::new();
        for d in ["a.example", "b.example", "c.example"] {
            let dom = domain(d);
            let ca =
                ClientCa::generate(&dom, (NOW_MS / 1000) as i64 - 3600, 365 * 86_400).expect("ca");
            trust.add(&dom, ca.cert_der()).expect("trust");
            providers.insert(
                d.to_string(),
                Provider {
                    domain: dom.clone(),
                    ca,
                    store: KeyPackageStore::new(),
                    follower: Follower::new(dom),
                },
            );
        }
        let hub = HubIdentity {
            domain: domain("a.example"),
            signer: HubSigner::from_private(&[41; 32]).expect("hub signer"),
            credential: BasicCredential::new(b"a.example".to_vec()).into(),
            franking_key: [42; 32],
        };
        World {
            hub,
            trust,
            providers,
            clients: BTreeMap::new(),
            room: None,
            room_uri: RoomUri::parse("mimi://a.example/r/clubhouse").expect("room"),
            events: BTreeMap::new(),
            now_ms: NOW_MS,
            limits: HubLimits::default(),
            crypto: OpenMlsRustCrypto::default(),
        }
    }

    pub fn ctx(&self) -> HubContext<'_> {
        HubContext {
            hub: &self.hub,
            trust: &self.trust,
            now_ms: self.now_ms,
            limits: self.limits,
        }
    }

    /// A client `name` (e.g. "alice") of user `user` at provider `d`, certified by its CA,
    /// with 5 KeyPackages published at its provider.
    pub fn add_client(&mut self, name: &str, user: &str, device: &str, d: &str) {
        let user_uri = UserUri::parse(&format!("mimi://{d}/u/{user}")).expect("user");
        let client_uri =
            ClientUri::parse(&format!("mimi://{d}/d/{user}/{device}")).expect("client");
        let provider = self.providers.get(d).expect("provider");
        let now = (self.now_ms / 1000) as i64;
        let client = MimiClient::new(client_uri.clone(), user_uri.clone(), |key| {
            Ok(provider
                .ca
                .issue(&client_uri, &user_uri, key, now - 60, now + 30 * 86_400)
                .map_err(|e| mimi_client::ClientError::Invalid(e.to_string()))?
                .credential)
        })
        .expect("client");
        let kps = client.key_packages(5, false).expect("key packages");
        let provider = self.providers.get_mut(d).expect("provider");
        provider
            .store
            .publish(self.crypto.crypto(), user_uri.into(), client_uri, kps)
            .expect("publish");
        self.clients.insert(name.to_string(), client);
    }

    pub fn client(&mut self, name: &str) -> &mut MimiClient {
        self.clients.get_mut(name).expect("client")
    }

    /// Call the hub room with a context (splits the borrows of the world).
    pub fn with_hub<R>(&mut self, f: impl FnOnce(&mut HubRoom, &HubContext<'_>) -> R) -> R {
        let ctx = HubContext {
            hub: &self.hub,
            trust: &self.trust,
            now_ms: self.now_ms,
            limits: self.limits,
        };
        f(self.room.as_mut().expect("room exists"), &ctx)
    }

    /// Flow 1: the hub establishes the room, the creator's client makes the group.
    pub fn create_room(&mut self, creator: &str, preset: Preset) -> PolicyState {
        let creator_user = self.clients[creator].user();
        let state = PolicyState::new_room(preset, creator_user).expect("policy");
        self.create_room_with(creator, state)
    }

    /// Flow 1 with a room state the test prepared (e.g. with a pre-authorization list).
    pub fn create_room_with(&mut self, creator: &str, state: PolicyState) -> PolicyState {
        let group = GroupUri::parse("mimi://a.example/g/clubhouse").expect("group");
        let hub_sender = self.hub.external_sender();
        let agent = self.hub.franking_agent();
        let room_uri = self.room_uri.clone();
        let info = self
            .client(creator)
            .create_room(room_uri.clone(), &group, hub_sender, Some(agent), &state)
            .expect("create group");
        let room = HubRoom::create(
            &self.ctx(),
            room_uri,
            &state,
            info.group_info,
            info.ratchet_tree,
        )
        .expect("hub room");
        self.room = Some(room);
        state
    }

    /// A client joins by external commit through its provider (protocol-06 §3 flow 6):
    /// `/groupInfo`, then the commit; `add_self` adds its user with that role.
    pub fn external_join(
        &mut self,
        name: &str,
        add_self: Option<u32>,
    ) -> Result<UpdateOutcome, String> {
        let room = self.room_uri.clone();
        let from = self.clients[name].client_uri().domain().clone();
        let (request, key) = self
            .client(name)
            .group_info_request(&room)
            .map_err(|e| e.to_string())?;
        let response = {
            let ctx = self.ctx();
            self.room
                .as_ref()
                .expect("room")
                .handle_group_info(&ctx, &from, &request)
                .map_err(|e| e.to_string())?
        };
        let info = self
            .client(name)
            .open_group_info(&response, &key)
            .map_err(|e| e.to_string())?;
        let commit = self
            .client(name)
            .join_by_external_commit(room.clone(), info, add_self)
            .map_err(|e| e.to_string())?;
        let outcome = self.update(from.as_str(), commit);
        if matches!(outcome, UpdateOutcome::Success { .. }) {
            let client = self.clients[name].client_uri().clone();
            self.providers
                .get_mut(from.as_str())
                .expect("provider")
                .follower
                .add_member(&room, client);
        }
        Ok(outcome)
    }

    /// `/keyMaterial` for `target_user` at `target_domain` requested by `requester`
    /// (relayed by the hub when requester is a follower's client): the target provider
    /// claims KeyPackages and records Welcome routes.
    pub fn fetch_key_material(
        &mut self,
        requester: &str,
        target_user: &str,
        target_domain: &str,
    ) -> KeyMaterialResponse {
        let target =
            UserUri::parse(&format!("mimi://{target_domain}/u/{target_user}")).expect("user");
        let room = self.room_uri.clone();
        let request = self
            .client(requester)
            .key_material_request(&target, &room)
            .expect("request");
        // The bytes cross the network.
        let request = WireMessage::decode(&request.encode().expect("encode")).expect("decode");
        let provider = self.providers.get_mut(target_domain).expect("provider");
        let claimed = provider
            .store
            .claim(self.crypto.crypto(), &request, true, self.now_ms / 1000)
            .expect("claim");
        for (kp_ref, client) in &claimed.handed_out {
            provider.follower.routes.record(kp_ref, client.clone());
        }
        WireMessage::decode(&claimed.response.encode().expect("encode")).expect("decode")
    }

    /// Submit an `/update` from provider `from`; on acceptance deliver the fanout. Returns
    /// the response outcome.
    pub fn update(&mut self, from: &str, request: UpdateRequest) -> UpdateOutcome {
        let request: UpdateRequest =
            WireMessage::decode(&request.encode().expect("encode")).expect("decode");
        let from = domain(from);
        let reply = self
            .with_hub(|room, ctx| room.handle_update(ctx, &from, &request))
            .expect("no internal error");
        let outcome = reply.response.outcome.clone();
        if let Some(accepted) = reply.accepted {
            self.deliver(accepted);
        }
        outcome
    }

    /// Submit a message from provider `from`.
    pub fn submit(&mut self, from: &str, request: SubmitMessageRequest) -> SubmitOutcome {
        let request: SubmitMessageRequest =
            WireMessage::decode(&request.encode().expect("encode")).expect("decode");
        let from = domain(from);
        let reply = self
            .with_hub(|room, ctx| room.handle_submit(ctx, &from, &request))
            .expect("no internal error");
        let outcome = reply.response.outcome.clone();
        if let Some(accepted) = reply.accepted {
            self.deliver(accepted);
        }
        outcome
    }

    /// Deliver fanout: to the hub's own clients directly, to followers through `/notify`.
    pub fn deliver(&mut self, accepted: Accepted) {
        let room = self.room_uri.clone();
        for fanout in accepted.fanout {
            let dest = fanout.destination.as_str().to_string();
            let targets: Vec<(String, mimi_types::wire::FanoutMessage)> =
                if dest == self.hub.domain.as_str() {
                    // Local delivery at the hub: every local client in the room.
                    self.clients
                        .iter()
                        .filter(|(_, c)| c.client_uri().domain().as_str() == dest)
                        .map(|(n, _)| (n.clone(), fanout.message.clone()))
                        .collect()
                } else {
                    let body = mimi_types::wire::FanoutMessage::encode_batch(std::slice::from_ref(
                        &fanout.message,
                    ))
                    .expect("encode");
                    let messages = mimi_types::wire::FanoutMessage::decode_batch(&body, 1 << 24)
                        .expect("decode");
                    let provider = self.providers.get_mut(&dest).expect("provider");
                    let deliveries = provider
                        .follower
                        .handle_notify(&self.hub.domain, &room, messages)
                        .expect("notify");
                    let mut out = Vec::new();
                    for d in deliveries {
                        for client in d.to {
                            if let Some((name, _)) =
                                self.clients.iter().find(|(_, c)| c.client_uri() == &client)
                            {
                                out.push((name.clone(), d.message.clone()));
                            }
                        }
                    }
                    out
                };
            for (name, message) in targets {
                let client = self.clients.get_mut(&name).expect("client");
                let in_room = client.rooms().any(|r| r == &room);
                let is_welcome = matches!(
                    message.payload,
                    mimi_types::wire::FanoutPayload::Welcome { .. }
                );
                if !in_room && !is_welcome {
                    continue;
                }
                let events = client
                    .process(&room, &message)
                    .unwrap_or_else(|e| panic!("{name} failed to process: {e}"));
                for e in &events {
                    if let ClientEvent::Removed { .. } = e {
                        let uri = client.client_uri().clone();
                        if let Some(p) = self.providers.get_mut(uri.domain().as_str()) {
                            p.follower.remove_member(&room, &uri);
                        }
                    }
                }
                self.events.entry(name).or_default().extend(events);
            }
        }
    }

    /// Messages client `name` decrypted so far, as (sender, text).
    pub fn texts(&self, name: &str) -> Vec<(Option<MimiUri>, String)> {
        self.events
            .get(name)
            .map(|es| {
                es.iter()
                    .filter_map(|e| match e {
                        ClientEvent::Message {
                            sender, content, ..
                        } => Some((sender.clone(), mimi_content::render_text(content))),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// What must not change when the hub refuses an input.
    pub fn snapshot(&self) -> (u64, u64, usize, Vec<u8>, PolicyState, usize) {
        let h = self.room.as_ref().expect("room");
        (
            h.epoch(),
            h.seq(),
            h.member_count(),
            h.tree_hash(),
            h.policy().clone(),
            h.pending_proposals().count(),
        )
    }

    /// Every client in the room agrees with the hub: epoch, participant list, member count.
    pub fn assert_in_sync(&self, names: &[&str]) {
        let hub = self.room.as_ref().expect("room");
        for name in names {
            let c = &self.clients[*name];
            assert_eq!(
                c.epoch(&self.room_uri).expect("epoch"),
                hub.epoch(),
                "{name} epoch"
            );
            assert_eq!(
                &c.room_state(&self.room_uri).expect("state"),
                hub.policy(),
                "{name} room state"
            );
            assert_eq!(
                c.member_count(&self.room_uri).expect("count"),
                hub.member_count(),
                "{name} members"
            );
        }
    }
}

// ---- shared scenario steps ----

use mimi_types::wire::KeyMaterialUserCode;

pub fn kps(response: &mimi_types::wire::KeyMaterialResponse) -> Vec<mimi_types::wire::KeyPackage> {
    response.key_packages()
}

/// World with alice (hub), bob (b), cathy (c, two devices), room created by alice.
pub fn world() -> (World, u32) {
    let mut w = World::new();
    w.add_client("alice", "alice", "a1", "a.example");
    w.add_client("bob", "bob", "b1", "b.example");
    w.add_client("cathy", "cathy", "c1", "c.example");
    w.add_client("cathy2", "cathy", "c2", "c.example");
    w.create_room("alice", Preset::CooperativelyAdministered);
    let member = Preset::CooperativelyAdministered.member_role();
    (w, member)
}

pub fn alice_adds_bob(w: &mut World, member: u32) {
    let response = w.fetch_key_material("alice", "bob", "b.example");
    assert_eq!(response.user_status, KeyMaterialUserCode::Success);
    let bob = w.clients["bob"].user();
    let room = w.room_uri.clone();
    let request = w
        .client("alice")
        .add_users(&room, &[(bob, member, kps(&response))])
        .expect("commit");
    assert!(matches!(
        w.update("a.example", request),
        UpdateOutcome::Success { .. }
    ));
    w.client("alice").commit_accepted(&room).ok();
}

pub fn bob_adds_cathy(w: &mut World, member: u32) {
    let response = w.fetch_key_material("bob", "cathy", "c.example");
    assert_eq!(response.clients.len(), 2, "both of cathy's clients");
    let cathy = w.clients["cathy"].user();
    let room = w.room_uri.clone();
    // Only cathy's first device joins by Welcome; the second joins later by external commit.
    let first: Vec<_> = kps(&response).into_iter().take(1).collect();
    let request = w
        .client("bob")
        .add_users(&room, &[(cathy, member, first)])
        .expect("commit");
    assert!(matches!(
        w.update("b.example", request),
        UpdateOutcome::Success { .. }
    ));
}
