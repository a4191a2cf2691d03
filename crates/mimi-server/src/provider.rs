//! One provider's shared state: configuration, keys, storage, the hub rooms it hosts (in
//! memory, restored from storage at start), the trust store of peers' client CAs, and the
//! federation client.
//!
//! Every accepted event is made durable (room state, event, outbox rows, local deliveries in
//! one transaction) before the caller answers 2xx. If that write fails, the room's in-memory
//! state is rebuilt from storage, so memory never runs ahead of what is durable.

use std::collections::HashMap;
use std::sync::Arc;

use mimi_credential::TrustStore;
use mimi_room::follower::{message_digest, welcome_key_package_refs};
use mimi_room::hub::{Accepted, HubContext, HubLimits, HubRoom};
use mimi_store::{FollowerNotify, HubEvent, HubRoomSnapshot, HubSubmission, NewOutbox, Store};
use mimi_types::id::{ProviderDomain, RoomUri};
use mimi_types::wire::{FanoutMessage, WireMessage};
use tokio::sync::{Mutex, RwLock};

use crate::config::Config;
use crate::error::ServerError;
use crate::federation::client::FederationClient;
use crate::keys::ProviderKeys;
use crate::metrics::Metrics;

/// Milliseconds since the UNIX epoch (the shell's clock; the engine gets it injected).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A hub room and the policy preset it was created with.
pub struct HostedRoom {
    /// The engine.
    pub room: HubRoom,
    /// The preset the hub established (persisted with the room).
    pub preset: String,
}

/// A hosted room in memory, and when it was last asked for.
struct Resident {
    room: Arc<Mutex<HostedRoom>>,
    used_ms: u64,
}

impl Resident {
    fn new(room: Arc<Mutex<HostedRoom>>) -> Self {
        Self {
            room,
            used_ms: now_ms(),
        }
    }
}

/// How long a peer client CA that could not be fetched is not asked for again.
const CA_RETRY_MS: u64 = 10_000;
/// At most this many domains are remembered as unreachable at once; beyond that, no new
/// fetch is started until entries expire.
const MAX_CA_FAILURES: usize = 1024;

/// The provider.
pub struct Provider<S: Store> {
    /// Configuration.
    pub config: Config,
    /// Keys.
    pub keys: ProviderKeys,
    /// Storage.
    pub store: S,
    /// Outgoing federation.
    pub client: FederationClient,
    /// Client CAs: ours and the peers' we fetched.
    pub trust: RwLock<TrustStore>,
    /// The hosted rooms in memory: loaded on first use, evicted when idle
    /// ([`Provider::evict_idle_rooms`], docs/decisions/0157).
    rooms: Mutex<HashMap<RoomUri, Resident>>,
    /// Domains whose client CA could not be fetched, with when to try again: a peer naming
    /// arbitrary domains cannot make us connect to each of them again and again
    /// (docs/security.md G18).
    ca_failures: Mutex<HashMap<ProviderDomain, u64>>,
    /// Destinations with outbox rows written since the delivery supervisor last looked,
    /// and the signal that there are some.
    pub outbox_ready: crate::delivery::Wakeups,
    /// Wakes the event streams of local clients that deliveries were committed for.
    pub streams: crate::wakeups::StreamWakeups,
    /// Messages (room, digest) accepted by the engine whose write has not ended yet.
    pub(crate) accepting: std::sync::Mutex<std::collections::HashSet<(String, [u8; 32])>>,
    /// Metrics, served on the admin listener.
    pub metrics: Arc<Metrics>,
    /// This process's name among the instances of the provider (random at each start):
    /// the holder of the outbox leases it takes (docs/decisions/0160).
    pub instance: String,
}

impl<S: Store> Provider<S> {
    /// Assemble a provider. The rooms it hosts stay in storage until first used
    /// (docs/decisions/0157).
    pub async fn start(
        config: Config,
        keys: ProviderKeys,
        store: S,
        client: FederationClient,
    ) -> Result<Arc<Provider<S>>, ServerError> {
        let mut trust = TrustStore::new();
        trust
            .add(&config.domain, keys.client_ca.cert_der())
            .map_err(|e| ServerError::Config(format!("client CA: {e}")))?;
        // Peers' CAs fetched before a restart: the restored rooms' credentials need them.
        add_stored_peer_cas(&mut trust, &store).await?;
        let provider = Arc::new(Provider {
            config,
            keys,
            store,
            client,
            trust: RwLock::new(trust),
            rooms: Mutex::new(HashMap::new()),
            ca_failures: Mutex::new(HashMap::new()),
            outbox_ready: crate::delivery::Wakeups::default(),
            streams: crate::wakeups::StreamWakeups::default(),
            accepting: std::sync::Mutex::new(std::collections::HashSet::new()),
            metrics: Arc::new(Metrics::new()),
            instance: instance_name()?,
        });
        Ok(provider)
    }

    /// Trust `peer`'s client CA, fetching it once from the peer over mutual TLS (the TLS
    /// certificate authenticates the domain, so the CA it serves speaks for that domain;
    /// docs/decisions/0070). Failures are logged: credential checks then fail clearly.
    pub async fn ensure_peer_ca(&self, peer: &ProviderDomain) {
        if peer == self.domain() || self.trust.read().await.get(peer).is_some() {
            return;
        }
        let now = now_ms();
        {
            let mut failures = self.ca_failures.lock().await;
            if failures.get(peer).is_some_and(|until| now < *until) {
                return;
            }
            failures.retain(|_, until| now < *until);
            if failures.len() >= MAX_CA_FAILURES {
                tracing::warn!(%peer, "too many unreachable peer CAs recently: not fetching");
                return;
            }
        }
        let path = crate::federation::routes::CLIENT_CA_PATH;
        let failed = match self
            .client
            .request(peer, hyper::Method::GET, path, Vec::new())
            .await
        {
            Ok(r) if r.status == hyper::StatusCode::OK => {
                let pem = String::from_utf8_lossy(&r.body).to_string();
                if let Err(e) = self.trust.write().await.add_pem(peer, &pem) {
                    tracing::warn!(%peer, error = %e, "peer client CA refused");
                    true
                } else {
                    if let Err(e) = self.store.put_peer_ca(peer.as_str(), &pem, now_ms()).await {
                        tracing::warn!(%peer, error = %e, "peer client CA not stored");
                    }
                    false
                }
            }
            Ok(r) => {
                tracing::warn!(%peer, status = %r.status, "peer client CA not available");
                true
            }
            Err(e) => {
                tracing::warn!(%peer, error = %e, "peer client CA not reachable");
                true
            }
        };
        if failed {
            self.ca_failures
                .lock()
                .await
                .insert(peer.clone(), now.saturating_add(CA_RETRY_MS));
        }
    }

    /// This provider's domain.
    pub fn domain(&self) -> &ProviderDomain {
        &self.config.domain
    }

    /// Limits for the room engine.
    pub fn hub_limits(&self) -> HubLimits {
        HubLimits {
            max_update_bytes: self.config.file.limits.max_update_bytes,
            ..HubLimits::default()
        }
    }

    /// A hosted room, if this provider is its hub (`None` also when storage fails: see
    /// [`Provider::hosted_room`]).
    pub async fn room(&self, room: &RoomUri) -> Option<Arc<Mutex<HostedRoom>>> {
        match self.hosted_room(room).await {
            Ok(hosted) => hosted,
            Err(e) => {
                tracing::error!(%room, error = %e, "loading a hosted room");
                None
            }
        }
    }

    /// A hosted room, if this provider is its hub: loaded from storage on first use and
    /// after an eviction (docs/decisions/0157), also a room another instance sharing the
    /// storage created (docs/decisions/0160).
    pub async fn hosted_room(
        &self,
        room: &RoomUri,
    ) -> Result<Option<Arc<Mutex<HostedRoom>>>, ServerError> {
        if let Some(resident) = self.rooms.lock().await.get_mut(room) {
            resident.used_ms = now_ms();
            return Ok(Some(resident.room.clone()));
        }
        if room.domain() != self.domain() {
            return Ok(None);
        }
        let Some(stored) = self
            .store
            .hub_room(room.as_str())
            .await
            .map_err(store_err)?
        else {
            return Ok(None);
        };
        if self.store.shared() {
            // Its members' credentials may name peers another instance fetched the CAs of.
            add_stored_peer_cas(&mut *self.trust.write().await, &self.store).await?;
        }
        let restored = Arc::new(Mutex::new(self.restore(&stored).await?));
        // Another request may have loaded it meanwhile: keep the first.
        Ok(Some(
            self.rooms
                .lock()
                .await
                .entry(room.clone())
                .or_insert_with(|| Resident::new(restored))
                .room
                .clone(),
        ))
    }

    /// Drop from memory the hosted rooms nobody has asked for since `idle_ms` before
    /// `now_ms` and nobody holds (no request, no write in flight): their state is all in
    /// storage, and the next request loads them again (docs/decisions/0157). Returns how
    /// many were dropped.
    pub async fn evict_idle_rooms(&self, now_ms: u64, idle_ms: u64) -> usize {
        let mut rooms = self.rooms.lock().await;
        let before = rooms.len();
        // Handles are only cloned from this map, under its lock: a room whose only handle
        // is the map's is not in use and cannot be taken while we hold the lock.
        rooms.retain(|_, r| {
            Arc::strong_count(&r.room) > 1 || now_ms.saturating_sub(r.used_ms) < idle_ms
        });
        before - rooms.len()
    }

    /// How many hosted rooms are in memory now.
    pub async fn resident_rooms(&self) -> usize {
        self.rooms.lock().await.len()
    }

    /// With shared storage, bring a locked room up to date with what other instances of
    /// this provider committed (docs/decisions/0160): rebuilt from storage if its stored
    /// sequence number is ahead of this copy's. A no-op for a store only this process
    /// writes.
    pub async fn refresh(&self, hosted: &mut HostedRoom) -> Result<(), ServerError> {
        if !self.store.shared() {
            return Ok(());
        }
        let room = hosted.room.room().as_str().to_string();
        let Some(stored) = self
            .store
            .hub_room_version(&room)
            .await
            .map_err(store_err)?
        else {
            return Ok(());
        };
        let known = hosted.room.seq();
        if stored.seq <= known {
            return Ok(());
        }
        if stored.state_seq <= known {
            // Only application messages since: nothing to reload.
            hosted.room.advance_seq(stored.seq);
            return Ok(());
        }
        if let Some(snapshot) = self.store.hub_room(&room).await.map_err(store_err)? {
            add_stored_peer_cas(&mut *self.trust.write().await, &self.store).await?;
            *hosted = self.restore(&snapshot).await?;
        }
        Ok(())
    }

    /// Start hosting a new room (already checked by [`HubRoom::create`]) and persist it.
    pub async fn host(&self, room: HostedRoom, now_ms: u64) -> Result<(), ServerError> {
        let snapshot = snapshot(&room)?;
        self.store
            .commit_hub_event(&HubEvent {
                room: snapshot.room.clone(),
                seq: snapshot.seq,
                kind: "create".into(),
                snapshot: Some(snapshot),
                outbox: vec![],
                local: vec![],
                created_ms: now_ms,
            })
            .await
            .map_err(store_err)?;
        let uri = room.room.room().clone();
        self.rooms
            .lock()
            .await
            .insert(uri, Resident::new(Arc::new(Mutex::new(room))));
        Ok(())
    }

    async fn restore(&self, s: &HubRoomSnapshot) -> Result<HostedRoom, ServerError> {
        let trust = self.trust.read().await;
        let ctx = HubContext {
            hub: &self.keys.hub,
            trust: &trust,
            now_ms: now_ms(),
            limits: self.hub_limits(),
        };
        let room = RoomUri::parse(&s.room)
            .map_err(|e| ServerError::Config(format!("stored room {}: {e}", s.room)))?;
        let mut hub_room = HubRoom::restore(
            &ctx,
            room,
            mimi_types::wire::GroupInfo::from_bytes(s.group_info.clone())
                .map_err(|e| store_corrupt(&s.room, e))?,
            mimi_types::wire::RatchetTree::from_bytes(s.ratchet_tree.clone())
                .map_err(|e| store_corrupt(&s.room, e))?,
            s.seq,
        )?;
        for (bytes, accepted_ms) in &s.pending {
            let message = mimi_types::wire::MlsMessage::from_bytes(bytes.clone())
                .map_err(|e| store_corrupt(&s.room, e))?;
            hub_room.readd_pending(&ctx, message, *accepted_ms)?;
        }
        Ok(HostedRoom {
            room: hub_room,
            preset: s.policy_preset.clone(),
        })
    }

    /// Make an accepted event durable: the room's new state, the event, its outbox rows and
    /// the deliveries to this provider's own clients, in one transaction. On failure the
    /// room is rebuilt from storage (so it forgets the event) and the error is returned; the
    /// caller answers 5xx.
    pub async fn persist(
        &self,
        hosted: &mut HostedRoom,
        kind: &str,
        accepted: &Accepted,
        now_ms: u64,
    ) -> Result<(), ServerError> {
        let event = self.hub_event(hosted, kind, accepted, now_ms, true)?;
        match self.store.commit_hub_event(&event).await {
            Ok(recipients) => {
                self.committed(&event, &recipients);
                Ok(())
            }
            Err(e) => {
                self.reload(hosted, &event.room, &e).await;
                Err(self.commit_err(e))
            }
        }
    }

    /// A failed commit as a server error: with shared storage, a conflict means another
    /// instance committed to the room first ([`ServerError::Contended`], retried).
    fn commit_err(&self, e: mimi_store::StoreError) -> ServerError {
        match e {
            mimi_store::StoreError::Conflict(why) if self.store.shared() => {
                ServerError::Contended(why)
            }
            e => store_err(e),
        }
    }

    /// Persist an accepted application message without holding the room back while it
    /// becomes durable (docs/decisions/0154): the write (the event, its outbox rows, the
    /// local deliveries and the remembered `submission`, in one transaction) is queued at the
    /// store in the room's order while `hosted` is still locked; then the room's lock is
    /// released, so the room's next message can join the same group commit; then this
    /// resolves once the write is durable. On failure the room is locked again and rebuilt
    /// from storage (every message accepted after this one fails too: the store's sequence
    /// check refuses them) and the error is returned; the caller answers 5xx.
    ///
    /// With shared storage the room stays locked until the write is durable: another
    /// instance may commit to the room meanwhile, and a message queued behind a refused one
    /// could otherwise land on the other instance's event (docs/decisions/0160).
    pub async fn persist_message(
        &self,
        mut hosted: tokio::sync::OwnedMutexGuard<HostedRoom>,
        accepted: &Accepted,
        submission: HubSubmission,
        forget_before_ms: u64,
    ) -> Result<(), ServerError> {
        let event = self.hub_event(&hosted, "message", accepted, submission.accepted_ms, false)?;
        if self.store.shared() {
            let committed = self
                .store
                .commit_hub_submission(&event, &submission, forget_before_ms)
                .await;
            return match committed {
                Ok(recipients) => {
                    self.committed(&event, &recipients);
                    Ok(())
                }
                Err(e @ mimi_store::StoreError::Conflict(_)) => {
                    // Another instance took this sequence number: the message is not
                    // stored, and the room is otherwise as it was. The retry's refresh
                    // catches up with what the other instance stored.
                    hosted.room.forget_message(event.seq);
                    Err(self.commit_err(e))
                }
                Err(e) => {
                    self.reload(&mut hosted, &event.room, &e).await;
                    Err(self.commit_err(e))
                }
            };
        }
        let store = self.store.clone();
        let mut commit = Box::pin(async move {
            let r = store
                .commit_hub_submission(&event, &submission, forget_before_ms)
                .await;
            (r, event)
        });
        // The first poll queues the write at the store's writer (FIFO, the `Store` contract
        // for SQLite's group commit): from then on, the room's next write comes after it.
        let early = tokio::select! {
            biased;
            done = &mut commit => Some(done),
            () = std::future::ready(()) => None,
        };
        let room_lock = tokio::sync::OwnedMutexGuard::mutex(&hosted).clone();
        drop(hosted);
        let (committed, event) = match early {
            Some(done) => done,
            None => commit.await,
        };
        match committed {
            Ok(recipients) => {
                self.committed(&event, &recipients);
                Ok(())
            }
            Err(e) => {
                let mut hosted = room_lock.lock().await;
                self.reload(&mut hosted, &event.room, &e).await;
                Err(self.commit_err(e))
            }
        }
    }

    /// The event of an accepted hub operation: its outbox rows, its deliveries to this
    /// provider's own clients and, with `with_snapshot`, the room's new state. An
    /// application message leaves the room's state as it was but for the sequence number,
    /// which the event itself advances: it needs no snapshot (docs/decisions/0152).
    fn hub_event(
        &self,
        hosted: &HostedRoom,
        kind: &str,
        accepted: &Accepted,
        now_ms: u64,
        with_snapshot: bool,
    ) -> Result<HubEvent, ServerError> {
        let mut outbox = Vec::new();
        let mut local = Vec::new();
        let room_str = hosted.room.room().as_str().to_string();
        for f in &accepted.fanout {
            let body = f.message.encode()?;
            if &f.destination == self.domain() {
                local.push(LocalFanout {
                    body,
                    message: f.message.clone(),
                });
            } else {
                outbox.push(NewOutbox {
                    destination: f.destination.as_str().to_string(),
                    room: room_str.clone(),
                    body,
                    created_ms: now_ms,
                });
            }
        }
        let local = self.local_fanout(&room_str, local, now_ms)?;
        Ok(HubEvent {
            room: room_str,
            seq: accepted.seq,
            kind: kind.to_string(),
            snapshot: if with_snapshot {
                Some(snapshot(hosted)?)
            } else {
                None
            },
            outbox,
            local,
            created_ms: now_ms,
        })
    }

    /// An event is durable: wake the delivery workers of its destinations and the event
    /// streams of its local recipients.
    fn committed(&self, event: &HubEvent, recipients: &[String]) {
        self.outbox_ready
            .wake(event.outbox.iter().map(|o| o.destination.as_str()));
        self.streams.wake(recipients.iter().map(String::as_str));
    }

    /// An accepted event could not be stored: rebuild the room from storage, so it forgets
    /// what storage does not have.
    async fn reload(&self, hosted: &mut HostedRoom, room: &str, error: &mimi_store::StoreError) {
        if self.store.shared() && matches!(error, mimi_store::StoreError::Conflict(_)) {
            tracing::info!(%room, %error, "another instance committed to the room first; reloading it");
        } else {
            tracing::error!(%room, %error, "could not persist an accepted event; reloading the room");
        }
        if let Ok(Some(stored)) = self.store.hub_room(room).await
            && let Ok(restored) = self.restore(&stored).await
        {
            *hosted = restored;
        }
    }

    /// Fanout the hub sends to itself, for its own clients in the room: recorded as a follower
    /// records a `/notify`, inside the event's transaction (docs/decisions/0051).
    fn local_fanout(
        &self,
        room: &str,
        messages: Vec<LocalFanout>,
        now_ms: u64,
    ) -> Result<Vec<FollowerNotify>, ServerError> {
        messages
            .into_iter()
            .map(|m| {
                Ok(FollowerNotify {
                    room: room.to_string(),
                    hub: self.domain().as_str().to_string(),
                    message_hash: message_digest(&m.message)?,
                    kind: "fanout".into(),
                    body: m.body,
                    created_ms: now_ms,
                    welcome_refs: welcome_key_package_refs(&m.message)?,
                })
            })
            .collect()
    }
}

struct LocalFanout {
    body: Vec<u8>,
    message: FanoutMessage,
}

fn snapshot(hosted: &HostedRoom) -> Result<HubRoomSnapshot, ServerError> {
    let room = &hosted.room;
    Ok(HubRoomSnapshot {
        room: room.room().as_str().to_string(),
        group_info: room.group_info().as_bytes().to_vec(),
        ratchet_tree: room.ratchet_tree()?.into_bytes(),
        seq: room.seq(),
        policy_preset: hosted.preset.clone(),
        pending: room
            .pending_proposals()
            .map(|(m, t)| (m.as_bytes().to_vec(), t))
            .collect(),
    })
}

/// Trust the peers' client CAs in storage that `trust` lacks: fetched before a restart, or
/// by another instance sharing the store (a room it changed may name their users).
async fn add_stored_peer_cas<S: Store>(
    trust: &mut TrustStore,
    store: &S,
) -> Result<(), ServerError> {
    for (domain, pem) in store.peer_cas().await.map_err(store_err)? {
        let added = ProviderDomain::parse(&domain)
            .map_err(|e| e.to_string())
            .and_then(|d| {
                if trust.get(&d).is_some() {
                    return Ok(());
                }
                trust.add_pem(&d, &pem).map_err(|e| e.to_string())
            });
        if let Err(e) = added {
            tracing::warn!(%domain, error = %e, "stored peer client CA ignored");
        }
    }
    Ok(())
}

/// A random name for this process among the instances of a provider.
fn instance_name() -> Result<String, ServerError> {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).map_err(|e| ServerError::Keys(format!("random instance name: {e}")))?;
    Ok(hex::encode(b))
}

/// A storage failure as a server error.
pub fn store_err(e: mimi_store::StoreError) -> ServerError {
    ServerError::Store(e.to_string())
}

fn store_corrupt(room: &str, e: impl std::fmt::Display) -> ServerError {
    ServerError::Store(format!("stored room {room} is corrupt: {e}"))
}
