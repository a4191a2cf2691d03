//! The records a store reads and writes.
//!
//! Identifiers (`user_uri`, `client_uri`, `room`, destinations) are the normalized strings of
//! `mimi-types` (`UserUri::as_str()` and friends; parse them back with `parse`): the store
//! compares them byte for byte and never interprets them. Protocol values whose encoding the
//! wire layer owns (credentials, KeyPackages, GroupInfo, FanoutMessages) are opaque bytes.
//! Times are milliseconds since the UNIX epoch (`*_ms`), except KeyPackage lifetimes, which
//! MLS states in seconds (`*_s`); the caller supplies every "now".

/// A new account of this provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// The login name, unique at this provider (the caller normalizes it).
    pub username: String,
    /// The user's `mimi://` URI (normalized), unique.
    pub user_uri: String,
    /// The password hash in PHC string format (`$argon2id$...`).
    pub password_hash: String,
    /// The display name.
    pub display_name: String,
    /// When the account was created.
    pub created_ms: u64,
}

/// A stored account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// The login name.
    pub username: String,
    /// The user's `mimi://` URI.
    pub user_uri: String,
    /// The password hash (PHC string).
    pub password_hash: String,
    /// The display name.
    pub display_name: String,
    /// When the account was created.
    pub created_ms: u64,
    /// Whether the user may be found by identifier queries (set by
    /// [`Store::put_identifiers`](crate::Store::put_identifiers); false for a new account).
    pub searchable: bool,
}

/// A device (MIMI client) of a local user with its X.509 credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRecord {
    /// The client's `mimi://` URI, unique.
    pub client_uri: String,
    /// Its user's URI (must be a stored user).
    pub user_uri: String,
    /// The credential (DER certificate chain, as the credential crate encodes it).
    pub credential: Vec<u8>,
    /// The client's MLS signature public key, unique across clients.
    pub signature_key: Vec<u8>,
    /// When the client was registered.
    pub created_ms: u64,
}

/// A KeyPackage published by a local client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKeyPackage {
    /// Its KeyPackageRef (the caller computes it), unique: it routes the Welcome later.
    pub kp_ref: Vec<u8>,
    /// The TLS-encoded `KeyPackage`.
    pub bytes: Vec<u8>,
    /// Whether it is a last-resort KeyPackage (handed out again and again; at most one per
    /// client, a new one replaces the old).
    pub last_resort: bool,
    /// The end of its lifetime (`not_after`, seconds since the UNIX epoch): never handed out
    /// after that.
    pub not_after_s: u64,
}

/// What a claim got for one client of the target user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPackageClaim {
    /// This KeyPackage; a one-time one is gone from the store.
    Claimed(StoredKeyPackage),
    /// The client has no unexpired KeyPackage at all (protocol-06 `keyMaterialExhausted`).
    Exhausted,
    /// The client has KeyPackages, but `accept` refused every one (protocol-06
    /// `nothingCompatible`).
    NothingCompatible,
}

/// One client's part of a KeyPackage claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientClaim {
    /// The client.
    pub client_uri: String,
    /// What it yielded.
    pub outcome: KeyPackageClaim,
}

/// A room's durable state at its hub: what `HubRoom::restore` needs, plus the epoch's
/// accepted proposals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubRoomSnapshot {
    /// The room's URI.
    pub room: String,
    /// The latest TLS-encoded GroupInfo.
    pub group_info: Vec<u8>,
    /// The TLS-encoded ratchet tree of the current epoch.
    pub ratchet_tree: Vec<u8>,
    /// The room's sequence number: that of the last accepted event (0 at creation).
    pub seq: u64,
    /// The policy the hub established for the room (a preset name or encoding the server
    /// owns).
    pub policy_preset: String,
    /// The proposals accepted in the current epoch, in order: (MLS message bytes, acceptance
    /// time in ms).
    pub pending: Vec<(Vec<u8>, u64)>,
}

/// An event the hub accepted: committed by [`Store::commit_hub_event`](crate::Store::commit_hub_event)
/// in one transaction with its effects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubEvent {
    /// The room.
    pub room: String,
    /// The event's room sequence number: 0 creates the room (then `snapshot` is required),
    /// every later event must be exactly the stored sequence number + 1.
    pub seq: u64,
    /// What happened (e.g. "create", "commit", "proposal", "message"); recorded, not
    /// interpreted.
    pub kind: String,
    /// When the hub accepted it.
    pub created_ms: u64,
    /// The room's new state, when it changed (its `room` and `seq` must be the event's).
    /// `None` leaves the stored GroupInfo, tree and pending proposals as they are.
    pub snapshot: Option<HubRoomSnapshot>,
    /// Deliveries to other providers.
    pub outbox: Vec<NewOutbox>,
    /// Fanout for this provider's own clients in the room, recorded and delivered in the same
    /// transaction exactly as [`Store::record_notify`](crate::Store::record_notify) does for
    /// a followed room: for its own clients the hub is its own follower.
    pub local: Vec<FollowerNotify>,
}

/// A message to deliver to another provider (`POST /notify/{room}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutbox {
    /// The provider domain to deliver to.
    pub destination: String,
    /// The room (must be the event's room).
    pub room: String,
    /// The TLS-encoded `FanoutMessage`.
    pub body: Vec<u8>,
    /// When it was queued.
    pub created_ms: u64,
}

/// A queued delivery to another provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// Its position in the outbox: strictly increasing in insertion order.
    pub id: i64,
    /// The provider domain to deliver to.
    pub destination: String,
    /// The room.
    pub room: String,
    /// The room sequence number of the hub event that queued it.
    pub seq: u64,
    /// The TLS-encoded `FanoutMessage`.
    pub body: Vec<u8>,
    /// When it was queued.
    pub created_ms: u64,
    /// Failed delivery attempts so far.
    pub attempts: u32,
    /// Not to be sent before this time.
    pub next_attempt_ms: u64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// The outbox queue of one destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxBacklog {
    /// The provider domain.
    pub destination: String,
    /// Rows waiting.
    pub rows: u64,
    /// When the oldest waiting row was queued.
    pub oldest_created_ms: u64,
    /// When the head of the queue may next be sent.
    pub next_attempt_ms: u64,
}

/// A fanout message a follower received from a room's hub (protocol-06 §5.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowerNotify {
    /// The room.
    pub room: String,
    /// The hub it came from.
    pub hub: String,
    /// SHA-256 of the message's encoding: the same message is recorded once.
    pub message_hash: [u8; 32],
    /// What it is, for the clients' streams (e.g. "fanout"); the client API's vocabulary.
    pub kind: String,
    /// The encoded message.
    pub body: Vec<u8>,
    /// When it arrived.
    pub created_ms: u64,
    /// For a Welcome, the KeyPackageRefs of its new members; empty for any other message.
    pub welcome_refs: Vec<Vec<u8>>,
}

/// An event in a client's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    /// Its position in the client's stream: 1, 2, 3, ... with no gaps.
    pub cursor: u64,
    /// The client.
    pub client_uri: String,
    /// The room.
    pub room: String,
    /// What it is.
    pub kind: String,
    /// The payload.
    pub body: Vec<u8>,
    /// When it was stored.
    pub created_ms: u64,
}

/// The state of a consent between a requester and a target user (protocol-06 §5.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsentState {
    /// The requester asked; the target has not answered.
    Requested,
    /// The target accepts the requester.
    Granted,
    /// The target withdrew (or refused) consent.
    Revoked,
}

impl ConsentState {
    /// The stored name: `requested`, `granted` or `revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Granted => "granted",
            Self::Revoked => "revoked",
        }
    }

    /// The state with this stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "requested" => Some(Self::Requested),
            "granted" => Some(Self::Granted),
            "revoked" => Some(Self::Revoked),
            _ => None,
        }
    }
}

/// A consent record: whether `target_uri` accepts contact from `requester_uri`, for one room
/// or (room `None`) in general.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    /// Who asks (a user URI, possibly of another provider).
    pub requester_uri: String,
    /// Who is asked (a user URI).
    pub target_uri: String,
    /// The room the consent is for; `None` for any room.
    pub room: Option<String>,
    /// The state.
    pub state: ConsentState,
    /// When it last changed.
    pub updated_ms: u64,
}

/// What [`Store::purge_expired`](crate::Store::purge_expired) removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Expired access tokens.
    pub tokens: u64,
    /// Expired KeyPackages (one-time and last-resort).
    pub key_packages: u64,
    /// Records of claimed KeyPackages past their lifetime (no longer needed to refuse a
    /// re-upload).
    pub spent_key_packages: u64,
}

/// How much a store holds, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Accounts.
    pub users: u64,
    /// Registered clients (devices).
    pub clients: u64,
    /// Rooms hosted here as hub.
    pub hub_rooms: u64,
    /// Unclaimed KeyPackages (one-time and last-resort), including expired ones not yet purged.
    pub key_packages: u64,
    /// Events held for local clients' streams, each stored once however many clients it
    /// went to.
    pub stream_events: u64,
    /// Deliveries in local clients' streams (an event to each of its recipients).
    pub stream_deliveries: u64,
}

/// An abuse report a hub accepted (protocol-06 §5.9), kept for the hub's operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbuseReportRecord {
    /// Its id (0 when recording: the store assigns it).
    pub id: i64,
    /// The room.
    pub room: String,
    /// The provider that sent it.
    pub reporter_domain: String,
    /// The reporting user, when the report names one.
    pub reporting_user: Option<String>,
    /// The alleged abuser.
    pub alleged_abuser: String,
    /// The `AbuseType` code.
    pub reason_code: u8,
    /// The TLS-encoded `AbuseReport`, as received.
    pub report: Vec<u8>,
    /// When it was accepted.
    pub received_ms: u64,
}

/// An outbox row taken out of its queue because the peer refused it for good (a permanent
/// 4xx, docs/decisions/0067): kept for operators, never sent again by the store's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The outbox row's id.
    pub id: i64,
    /// The provider domain it was for.
    pub destination: String,
    /// The room.
    pub room: String,
    /// The room sequence number of the hub event that queued it.
    pub seq: u64,
    /// The TLS-encoded `FanoutMessage`.
    pub body: Vec<u8>,
    /// When it was queued.
    pub created_ms: u64,
    /// Delivery attempts, the last (refused) one included.
    pub attempts: u32,
    /// Why it was refused.
    pub reason: String,
    /// When it was taken out of the queue.
    pub dead_ms: u64,
}

/// An application message a hub accepted (protocol-06 §5.4), remembered with the answer it
/// got, so that a resubmission of the same message — a client or follower retrying after the
/// answer was lost — is answered the same way instead of being accepted twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubSubmission {
    /// The room.
    pub room: String,
    /// SHA-256 of the submitted MLS message's encoding.
    pub message_hash: [u8; 32],
    /// The provider that submitted it.
    pub from_domain: String,
    /// The sender it asserted (`sendingUri`).
    pub sending_uri: String,
    /// The room sequence number of the event that accepted it.
    pub seq: u64,
    /// The encoded `SubmitMessageResponse` it got.
    pub response: Vec<u8>,
    /// When it was accepted.
    pub accepted_ms: u64,
}

/// How far a hosted room's stored state is ([`Store::hub_room_version`](crate::Store::hub_room_version)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomVersion {
    /// The sequence number of its last event.
    pub seq: u64,
    /// The sequence number of its last event that changed its state (a creation, commit or
    /// proposal: an event with a snapshot); application messages after it changed nothing
    /// but the sequence number (docs/decisions/0152).
    pub state_seq: u64,
}

/// A commit by another process sharing the store, for this process to wake its waiters
/// ([`Store::wakes`](crate::Store::wakes)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreWake {
    /// Events were delivered to these clients.
    Clients(Vec<String>),
    /// Outbox rows were queued for these destinations.
    Destinations(Vec<String>),
    /// Anything may have changed (notifications may have been missed): wake everything.
    All,
}
