//! What every case gets: the target, the suite's peer providers, and helpers to build the
//! scenes cases start from.

use std::net::SocketAddr;
use std::time::Duration;

use hyper::Method;
use mimi_client::MimiClient;
use mimi_credential::ClientCa;
use mimi_room::policy::{PolicyState, Preset};
use mimi_types::id::{ClientUri, GroupUri, ProviderDomain, RoomUri, UserUri};
use mimi_types::wire::{
    Directory, Endpoint, FanoutMessage, FanoutPayload, KeyMaterialResponse, KeyPackage,
    UpdateOutcome, UpdateRoomResponse, WireMessage,
};

use crate::driver::{Driver, LocalUser, local_user};
use crate::http::{Identity, Reply, Version, send};
use crate::peer::Peer;

/// Why a case did not pass.
#[derive(Debug)]
pub enum Why {
    /// The target did not do what the draft requires.
    Fail(String),
    /// The case could not run.
    Skip(String),
}

impl From<String> for Why {
    fn from(s: String) -> Why {
        Why::Fail(s)
    }
}

impl From<&str> for Why {
    fn from(s: &str) -> Why {
        Why::Fail(s.to_string())
    }
}

/// What a case returns.
pub type Check = Result<(), Why>;

/// Fail the case unless `cond`.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err($crate::ctx::Why::Fail(format!($($fmt)+)));
        }
    };
}

/// Turn any error into a failure with context.
pub trait Context<T> {
    /// The error, prefixed by `what`.
    fn ctx(self, what: &str) -> Result<T, Why>;
}

impl<T, E: std::fmt::Display> Context<T> for Result<T, E> {
    fn ctx(self, what: &str) -> Result<T, Why> {
        self.map_err(|e| Why::Fail(format!("{what}: {e}")))
    }
}

/// The provider under test.
pub struct Target {
    /// Its federation listener.
    pub addr: SocketAddr,
    /// Its domain.
    pub domain: ProviderDomain,
    /// Its directory, as fetched at the start of the run.
    pub directory: Option<Directory>,
}

/// A peer provider the suite plays.
pub struct SuitePeer {
    /// Its listener.
    pub peer: Peer,
    /// Its TLS identity when it calls the target.
    pub identity: Identity,
    /// Its client CA (certifies its users' MLS clients).
    pub client_ca: ClientCa,
    /// Its hub identity, for rooms the suite hosts as this peer.
    pub hub: mimi_room::hub::HubIdentity,
}

impl SuitePeer {
    /// Its domain.
    pub fn domain(&self) -> &ProviderDomain {
        &self.peer.domain
    }
}

/// The suite's view of the world.
pub struct Ctx {
    /// The provider under test.
    pub target: Target,
    /// Peer provider `conf-c.example`.
    pub c: SuitePeer,
    /// Peer provider `conf-d.example`.
    pub d: SuitePeer,
    /// A certificate for `conf-c.example` from a CA the target does not trust.
    pub rogue: Identity,
    /// No client certificate at all.
    pub anonymous: Identity,
    /// Local users of the target, if a driver was given.
    pub driver: Option<Box<dyn Driver>>,
}

/// How long a case waits for something the target sends on its own (fanout).
pub const WAIT: Duration = Duration::from_secs(10);

/// A room hosted by the target with a local user (alice, the creator) and a user of peer c
/// (cathy, joined by Welcome through `/notify`).
pub struct Scene {
    /// The room.
    pub room: RoomUri,
    /// The creator, local to the target.
    pub alice: LocalUser,
    /// A user of peer c, in the room.
    pub cathy: MimiClient,
    /// The room's preset.
    pub preset: Preset,
}

/// A fresh identifier (16 hex digits).
pub fn fresh_id() -> String {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// 16 random bytes: the salt of a MIMI message (draft-ietf-mimi-content).
pub fn salt() -> [u8; 16] {
    let mut b = [0u8; 16];
    let _ = getrandom::fill(&mut b);
    b
}

/// The KeyPackages a key-material response holds.
pub fn key_packages_of(r: &KeyMaterialResponse) -> Vec<KeyPackage> {
    r.key_packages()
}

/// Fail unless the update succeeded.
pub fn expect_success(r: &UpdateRoomResponse, what: &str) -> Check {
    ensure!(
        matches!(r.outcome, UpdateOutcome::Success { .. }),
        "{what}: the hub answered {:?} ({})",
        r.outcome,
        r.error_description.as_str()
    );
    Ok(())
}

impl Ctx {
    /// The driver, or skip.
    pub fn driver(&self) -> Result<&dyn Driver, Why> {
        self.driver
            .as_deref()
            .ok_or_else(|| Why::Skip("needs a local user of the target: no driver given".into()))
    }

    /// The path of `endpoint` with argument `arg`, from the target's directory (protocol-06
    /// §5.1), or `/v1/<endpoint>/<arg>` when the directory does not list it.
    pub fn path(&self, endpoint: Endpoint, arg: &str) -> String {
        let template = self
            .target
            .directory
            .as_ref()
            .and_then(|d| d.template(endpoint).map(str::to_string));
        match template {
            Some(t) => {
                let after_scheme = t.split_once("://").map(|(_, r)| r).unwrap_or(&t);
                let path = after_scheme
                    .find('/')
                    .map(|i| &after_scheme[i..])
                    .unwrap_or("/");
                let path = path.replace(endpoint.placeholder(), arg);
                // Templates of other placeholder spellings (the draft's example).
                match path.find('{') {
                    Some(i) => format!("{}{arg}", &path[..i]),
                    None => path,
                }
            }
            None => format!("/v1/{}/{arg}", endpoint.name()),
        }
    }

    /// The headers an honest peer `from` sends.
    pub fn honest_headers(&self, from: &ProviderDomain) -> Vec<(String, String)> {
        vec![
            ("host".into(), self.target.domain.to_string()),
            ("from".into(), format!("mimi@{from}")),
        ]
    }

    /// A request with exactly these headers.
    pub async fn raw(
        &self,
        identity: &Identity,
        version: Version,
        method: Method,
        path: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<Reply, Why> {
        send(
            identity,
            version,
            self.target.addr,
            self.target.domain.as_str(),
            method,
            path,
            headers,
            body,
        )
        .await
        .map_err(Why::Fail)
    }

    /// A POST of `peer` to `endpoint`, as an honest peer.
    pub async fn post(
        &self,
        peer: &SuitePeer,
        endpoint: Endpoint,
        arg: &str,
        body: Vec<u8>,
    ) -> Result<Reply, Why> {
        let path = self.path(endpoint, arg);
        self.raw(
            &peer.identity,
            Version::Http1,
            Method::POST,
            &path,
            &self.honest_headers(peer.domain()),
            body,
        )
        .await
    }

    /// POST a protocol message and decode the 200 answer.
    pub async fn exchange<R: WireMessage>(
        &self,
        peer: &SuitePeer,
        endpoint: Endpoint,
        arg: &str,
        body: &impl WireMessage,
    ) -> Result<R, Why> {
        let r = self
            .post(peer, endpoint, arg, body.encode().ctx("encoding")?)
            .await?;
        ensure!(
            r.status.as_u16() == 200,
            "{} answered {} (expected 200 with a body)",
            endpoint.name(),
            r.describe()
        );
        R::decode_with_limit(&r.body, 32 << 20).ctx("the answer does not decode")
    }

    /// A user of a suite peer with one client holding `key_packages` one-time KeyPackages
    /// that the peer hands out through `/keyMaterial`.
    pub fn peer_user(
        &self,
        peer: &SuitePeer,
        hint: &str,
        key_packages: usize,
    ) -> Result<MimiClient, Why> {
        let id = fresh_id();
        let user =
            UserUri::parse(&format!("mimi://{}/u/{hint}-{id}", peer.domain())).ctx("user URI")?;
        self.peer_device(peer, &user, "1", key_packages)
    }

    /// Another client `device` of `user` of a suite peer.
    pub fn peer_device(
        &self,
        peer: &SuitePeer,
        user: &UserUri,
        device: &str,
        key_packages: usize,
    ) -> Result<MimiClient, Why> {
        let client =
            ClientUri::new(peer.domain().clone(), Some(user.id()), device).ctx("client URI")?;
        let now = now_secs();
        let ca = &peer.client_ca;
        let user2 = user.clone();
        let mls = MimiClient::new(client.clone(), user.clone(), |key| {
            ca.issue(&client, &user2, key, now - 60, now + 86_400)
                .map(|i| i.credential)
                .map_err(|e| mimi_client::ClientError::Invalid(e.to_string()))
        })
        .ctx("client")?;
        if key_packages > 0 {
            let kps = mls.key_packages(key_packages, false).ctx("key packages")?;
            peer.peer
                .offer_key_packages(user.as_str(), client.as_str(), kps);
        }
        Ok(mls)
    }

    /// A local user of the target with `key_packages` KeyPackages published.
    pub async fn local_user(&self, hint: &str, key_packages: usize) -> Result<LocalUser, Why> {
        let driver = self.driver()?;
        let user = local_user(driver, hint)
            .await
            .map_err(|e| Why::Fail(format!("registering a local user: {e}")))?;
        if key_packages > 0 {
            let kps = user
                .mls
                .key_packages(key_packages, false)
                .ctx("key packages")?;
            user.device
                .publish_key_packages(&kps)
                .await
                .map_err(|e| Why::Fail(format!("publishing key packages: {e}")))?;
        }
        Ok(user)
    }

    /// A new room hosted by the target, created by a new local user.
    pub async fn local_room(&self, preset: Preset) -> Result<(RoomUri, LocalUser), Why> {
        let mut alice = self.local_user("alice", 2).await?;
        let hub = alice
            .device
            .hub_keys()
            .await
            .map_err(|e| Why::Fail(format!("hub keys: {e}")))?;
        let id = fresh_id();
        let room =
            RoomUri::parse(&format!("mimi://{}/r/{id}", self.target.domain)).ctx("room URI")?;
        let group =
            GroupUri::parse(&format!("mimi://{}/g/{id}", self.target.domain)).ctx("group URI")?;
        let policy = PolicyState::new_room(preset, alice.mls.user()).ctx("policy")?;
        let info = alice
            .mls
            .create_room(
                room.clone(),
                &group,
                hub.external_sender,
                Some(hub.franking_agent),
                &policy,
            )
            .ctx("group")?;
        let hosted = alice
            .device
            .create_room(&id, preset.name(), &info)
            .await
            .map_err(|e| Why::Fail(format!("creating the room: {e}")))?;
        ensure!(
            hosted == room,
            "the target hosts {hosted}, not the room asked for ({room})"
        );
        Ok((room, alice))
    }

    /// The scene most hub cases start from (see [`Scene`]).
    pub async fn scene(&self) -> Result<Scene, Why> {
        let preset = Preset::CooperativelyAdministered;
        let (room, mut alice) = self.local_room(preset).await?;
        let mut cathy = self.peer_user(&self.c, "cathy", 3)?;
        self.add_peer_user(&room, &mut alice, &mut cathy, preset.member_role())
            .await?;
        Ok(Scene {
            room,
            alice,
            cathy,
            preset,
        })
    }

    /// `adder` (local) adds `user` (of peer c or d) to `room`: key material through the
    /// target, the commit, and the Welcome through `/notify` to the user's provider.
    pub async fn add_peer_user(
        &self,
        room: &RoomUri,
        adder: &mut LocalUser,
        user: &mut MimiClient,
        role: u32,
    ) -> Result<(), Why> {
        let peer = if user.user_uri().domain() == self.d.domain() {
            &self.d
        } else {
            &self.c
        };
        let mark = peer.peer.mark();
        let request = adder
            .mls
            .key_material_request(user.user_uri(), room)
            .ctx("key material request")?;
        let response = adder
            .device
            .key_material(room, &request)
            .await
            .map_err(|e| Why::Fail(format!("key material through the hub: {e}")))?;
        let kps = key_packages_of(&response);
        ensure!(
            !kps.is_empty(),
            "the hub relayed no KeyPackage of {} ({:?})",
            user.user_uri(),
            response.user_status
        );
        let commit = adder
            .mls
            .add_users(room, &[(user.user(), role, kps)])
            .ctx("add commit")?;
        let outcome = adder
            .device
            .update(room, &commit)
            .await
            .map_err(|e| Why::Fail(format!("the add commit: {e}")))?;
        expect_success(&outcome, "the add commit")?;
        adder.mls.commit_accepted(room).ctx("merging")?;
        let welcome = self
            .fanout_at(peer, room, mark, |m| {
                matches!(m.payload, FanoutPayload::Welcome { .. })
            })
            .await?;
        user.process(room, &welcome).ctx("joining by the Welcome")?;
        Ok(())
    }

    /// Wait for a fanout message for `room` at `peer`, received after `mark`, that matches.
    pub async fn fanout_at(
        &self,
        peer: &SuitePeer,
        room: &RoomUri,
        mark: usize,
        pred: impl Fn(&FanoutMessage) -> bool,
    ) -> Result<FanoutMessage, Why> {
        let path = self.notify_path(room);
        let found = peer
            .peer
            .wait_for(mark, WAIT, |i| {
                i.path == path
                    && FanoutMessage::decode_batch(&i.body, 32 << 20)
                        .map(|ms| ms.iter().any(&pred))
                        .unwrap_or(false)
            })
            .await;
        let Some(found) = found else {
            return Err(Why::Fail(format!(
                "{} received no matching /notify for {room} within {} s",
                peer.domain(),
                WAIT.as_secs()
            )));
        };
        FanoutMessage::decode_batch(&found.body, 32 << 20)
            .ctx("fanout")?
            .into_iter()
            .find(|m| pred(m))
            .ok_or_else(|| Why::Fail("vanished".into()))
    }

    /// Every fanout message for `room` that `peer` received after `mark`, in arrival order
    /// (the bodies it answered 2xx; a message answered otherwise is not received).
    pub fn fanout_since(
        &self,
        peer: &SuitePeer,
        room: &RoomUri,
        mark: usize,
    ) -> Vec<FanoutMessage> {
        let path = self.notify_path(room);
        peer.peer
            .since(mark)
            .into_iter()
            .filter(|i| i.path == path && (200..300).contains(&i.answered))
            .flat_map(|i| FanoutMessage::decode_batch(&i.body, 32 << 20).unwrap_or_default())
            .collect()
    }

    /// The client CAs a hub run by the suite trusts: the suite's peers' and the target's
    /// (fetched from its `/.well-known/mimi-client-ca`, decision 0070; a target that does not
    /// publish one cannot be tested as a follower of a suite-hosted room).
    pub async fn trust_for_hub(&self) -> Result<mimi_credential::TrustStore, Why> {
        let mut trust = mimi_credential::TrustStore::new();
        for peer in [&self.c, &self.d] {
            trust
                .add_pem(peer.domain(), &peer.client_ca.cert_pem())
                .ctx("peer client CA")?;
        }
        let r = self
            .raw(
                &self.c.identity,
                Version::Http1,
                Method::GET,
                mimi_server::federation::routes::CLIENT_CA_PATH,
                &self.honest_headers(self.c.domain()),
                vec![],
            )
            .await?;
        if r.status.as_u16() != 200 {
            return Err(Why::Skip(format!(
                "the target does not publish its client CA at {} ({}): the suite's hub cannot \
                 verify its users' credentials (protocol-06 leaves CA distribution open)",
                mimi_server::federation::routes::CLIENT_CA_PATH,
                r.status.as_u16()
            )));
        }
        let pem = String::from_utf8(r.body.to_vec()).ctx("the target's client CA")?;
        trust
            .add_pem(&self.target.domain, &pem)
            .ctx("the target's client CA")?;
        Ok(trust)
    }

    /// The path a hub posts `/notify` for `room` to at the suite's peers.
    pub fn notify_path(&self, room: &RoomUri) -> String {
        format!("/v1/notify/{}", room.to_url_path())
    }
}

/// Now, UNIX seconds.
pub fn now_secs() -> i64 {
    i64::try_from(mimi_server::provider::now_ms() / 1000).unwrap_or(i64::MAX)
}
