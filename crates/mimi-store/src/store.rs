//! The storage trait every backend implements.

use std::future::Future;

use crate::error::Result;
use crate::model::{
    AbuseReportRecord, ClientClaim, ClientRecord, ConsentRecord, Counts, DeadLetter, DeliveryRow,
    FollowerNotify, HubEvent, HubRoomSnapshot, HubSubmission, NewUser, OutboxBacklog, OutboxRow,
    Purged, RoomVersion, StoreWake, StoredKeyPackage, UserRecord,
};

/// A provider's durable storage.
///
/// Every method is one atomic unit: a write commits whole (and durably, before the future
/// resolves `Ok`) or not at all, and a read sees one consistent state. Futures are `Send`,
/// so callers can hold them in `tokio::spawn`ed tasks; dropping a future before it resolves
/// abandons the operation without a partial write (a write whose commit already went through
/// stays committed).
///
/// Handles are cheap to clone and share one connection pool.
pub trait Store: Clone + Send + Sync + 'static {
    // ---- accounts ----------------------------------------------------------------------

    /// Create an account. [`Conflict`](crate::StoreError::Conflict) if the username or the
    /// user URI is taken.
    fn create_user(&self, user: &NewUser) -> impl Future<Output = Result<()>> + Send;

    /// The account with this username.
    fn user_by_name(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<UserRecord>>> + Send;

    /// The account with this user URI.
    fn user_by_uri(
        &self,
        user_uri: &str,
    ) -> impl Future<Output = Result<Option<UserRecord>>> + Send;

    /// Store an access token (by its hash) for a user, valid while `now < expires_ms`.
    /// [`NotFound`](crate::StoreError::NotFound) for an unknown user,
    /// [`Conflict`](crate::StoreError::Conflict) if the hash is already stored.
    fn put_token(
        &self,
        token_hash: &[u8],
        user_uri: &str,
        expires_ms: u64,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The user a token belongs to, if the token is known and `now_ms < expires_ms`.
    fn user_by_token(
        &self,
        token_hash: &[u8],
        now_ms: u64,
    ) -> impl Future<Output = Result<Option<UserRecord>>> + Send;

    /// Forget a token (logout). True if it existed.
    fn delete_token(&self, token_hash: &[u8]) -> impl Future<Output = Result<bool>> + Send;

    // ---- clients -----------------------------------------------------------------------

    /// Register a client of a stored user. [`NotFound`](crate::StoreError::NotFound) for an
    /// unknown user, [`Conflict`](crate::StoreError::Conflict) if the client URI or the
    /// signature key is taken.
    fn add_client(&self, client: &ClientRecord) -> impl Future<Output = Result<()>> + Send;

    /// A client by its URI.
    fn client(&self, client_uri: &str)
    -> impl Future<Output = Result<Option<ClientRecord>>> + Send;

    /// A user's clients, oldest first.
    fn clients_of(&self, user_uri: &str) -> impl Future<Output = Result<Vec<ClientRecord>>> + Send;

    // ---- key packages ------------------------------------------------------------------

    /// Publish a client's KeyPackages; returns how many were newly stored.
    ///
    /// A last-resort KeyPackage replaces the client's previous one. Publishing a KeyPackage
    /// that is already stored for this client changes nothing (a retried upload is
    /// harmless); one that was already claimed is skipped (a one-time KeyPackage is handed
    /// out at most once, ever). [`NotFound`](crate::StoreError::NotFound) for an unknown
    /// client, [`Conflict`](crate::StoreError::Conflict) if a `kp_ref` is stored for another
    /// client.
    fn add_key_packages(
        &self,
        client_uri: &str,
        key_packages: &[StoredKeyPackage],
    ) -> impl Future<Output = Result<usize>> + Send;

    /// Claim KeyPackages of a user (protocol-06 §5.2), one per client, oldest client first.
    ///
    /// For each client: the oldest unexpired (`now_s <= not_after_s`) one-time KeyPackage
    /// that `accept` likes, deleted in the same transaction; else its unexpired last-resort
    /// KeyPackage if `accept` likes it (it stays). Expired one-time KeyPackages are dropped
    /// on the way. Each KeyPackage handed out also gets a Welcome route
    /// (consumed by [`Store::record_notify`]) in the same transaction. Concurrent claims never get
    /// the same one-time KeyPackage. `accept` runs inside the transaction: keep it cheap and
    /// pure. An unknown user, or one without clients, yields an empty list.
    fn claim_key_packages(
        &self,
        user_uri: &str,
        now_s: u64,
        accept: &(dyn Fn(&[u8]) -> bool + Sync),
    ) -> impl Future<Output = Result<Vec<ClientClaim>>> + Send;

    /// How many one-time KeyPackages a client has left (expired ones included until claimed
    /// past or purged).
    fn key_package_count(&self, client_uri: &str) -> impl Future<Output = Result<usize>> + Send;

    // ---- hub side of rooms -------------------------------------------------------------

    /// Every room this provider hosts, with its latest state (to rebuild the hub after a
    /// restart), ordered by room.
    fn load_hub_rooms(&self) -> impl Future<Output = Result<Vec<HubRoomSnapshot>>> + Send;

    /// One hosted room's latest state.
    fn hub_room(&self, room: &str) -> impl Future<Output = Result<Option<HubRoomSnapshot>>> + Send;

    /// Commit an accepted hub event in one transaction: the room row (created at `seq` 0,
    /// else updated; its sequence number becomes `event.seq`), the new state if any, the
    /// event record, its outbox rows and its local deliveries.
    ///
    /// The store enforces the room's order: `seq` must be exactly one more than the stored
    /// sequence number (or 0 for a room not yet stored), else [`Conflict`](crate::StoreError::Conflict)
    /// (a duplicate, a gap, or a creation of an existing room) and nothing is written. An
    /// event with `seq > 0` for an unknown room is [`NotFound`](crate::StoreError::NotFound);
    /// a snapshot or outbox row for another room, a snapshot with another `seq`, or a
    /// creation without snapshot is [`Invalid`](crate::StoreError::Invalid).
    ///
    /// Returns the local clients the event's local deliveries went to, sorted and without
    /// duplicates (whose event streams to wake).
    fn commit_hub_event(
        &self,
        event: &HubEvent,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;

    // ---- follower side of rooms --------------------------------------------------------

    /// Record a fanout message and deliver it to local clients, in one transaction: a
    /// Welcome goes to the clients its KeyPackageRefs were routed to (consuming one use of each
    /// route, see [`Store::record_welcome_route`], and making them members of the room), any
    /// other message to the room's local members. Returns the recipients, sorted; `None`,
    /// changing nothing but the hub's count of redeliveries ([`Store::notify_duplicates`]),
    /// if this message was recorded for this room before (a redelivery: acknowledge it and do
    /// nothing else).
    fn record_notify(
        &self,
        notify: &FollowerNotify,
    ) -> impl Future<Output = Result<Option<Vec<String>>>> + Send;

    /// [`Store::record_notify`] for several fanout messages of one `/notify`, in order, in
    /// one transaction (all or nothing); one result per message.
    fn record_notify_batch(
        &self,
        notifies: &[FollowerNotify],
    ) -> impl Future<Output = Result<Vec<Option<Vec<String>>>>> + Send;

    /// The local clients in a followed room, sorted.
    fn follower_members(&self, room: &str) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// In how many rooms at least one client of `user_uri` is a local member (rooms hosted
    /// here and rooms followed), for the provider's per-user room quota.
    fn user_room_count(&self, user_uri: &str) -> impl Future<Output = Result<usize>> + Send;

    /// Add (`present`) or remove a local client from a followed room's member set
    /// (idempotent).
    fn set_follower_member(
        &self,
        room: &str,
        client_uri: &str,
        present: bool,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Record that a Welcome for KeyPackageRef `kp_ref` goes to `client_uri` (one more use of
    /// the route). [`Store::claim_key_packages`] already does this for what it hands out.
    fn record_welcome_route(
        &self,
        kp_ref: &[u8],
        client_uri: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    // ---- outbox ------------------------------------------------------------------------

    /// The head of a destination's queue, in insertion order, at most `limit` rows; empty
    /// when the queue is empty or its head row is not due yet (`next_attempt_ms > now_ms`):
    /// a destination's rows are sent strictly in order, so a row waiting for a retry holds
    /// back the rows behind it. The caller batches consecutive rows of one room.
    fn outbox_due(
        &self,
        destination: &str,
        now_ms: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<OutboxRow>>> + Send;

    /// Delivered: remove these rows (unknown ids are ignored).
    fn outbox_done(&self, ids: &[i64]) -> impl Future<Output = Result<()>> + Send;

    /// Not delivered: count an attempt, keep the rows until `next_attempt_ms`, note why.
    fn outbox_retry(
        &self,
        ids: &[i64],
        next_attempt_ms: u64,
        error: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Make a destination's rows due at `now_ms` (reset the backoff, e.g. when the peer
    /// contacts us). Returns the number of rows.
    fn outbox_wake(
        &self,
        destination: &str,
        now_ms: u64,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// Every destination with queued rows (for delivery workers after a restart, and
    /// metrics), ordered by destination.
    fn outbox_backlog(&self) -> impl Future<Output = Result<Vec<OutboxBacklog>>> + Send;

    // ---- client event streams ----------------------------------------------------------

    /// A client's events after `cursor` (0 for the beginning), at most `limit`, in cursor
    /// order. Cursors of a client are 1, 2, 3, ... in commit order, so resuming from the last
    /// cursor seen neither skips nor repeats an event.
    fn events_after(
        &self,
        client_uri: &str,
        cursor: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<DeliveryRow>>> + Send;

    /// The last cursor assigned in a client's stream (0 if none): where a client that wants
    /// only new events starts.
    fn latest_cursor(&self, client_uri: &str) -> impl Future<Output = Result<u64>> + Send;

    /// Drop a client's events up to and including `through` (it has them); cursors are never
    /// reused. Returns how many were removed.
    fn trim_events(
        &self,
        client_uri: &str,
        through: u64,
    ) -> impl Future<Output = Result<u64>> + Send;

    // ---- consent (protocol-06 §5.7) ----------------------------------------------------

    /// Store (create or replace) a consent record.
    fn put_consent(&self, consent: &ConsentRecord) -> impl Future<Output = Result<()>> + Send;

    /// The consent record for exactly this requester, target and room (`None`: the general
    /// one; a caller checking a room falls back to the general record itself).
    fn consent(
        &self,
        requester_uri: &str,
        target_uri: &str,
        room: Option<&str>,
    ) -> impl Future<Output = Result<Option<ConsentRecord>>> + Send;

    /// Record a pending consent request (state `requested`, protocol-06 §5.7 `request`) for
    /// exactly this scope, unless the target already answered: a stored `granted` or
    /// `revoked` record stays as it is. A repeated request refreshes `updated_ms`. True if
    /// the request was written. `consent.state` is ignored.
    fn request_consent(&self, consent: &ConsentRecord)
    -> impl Future<Output = Result<bool>> + Send;

    /// Withdraw a pending request (protocol-06 §5.7 `cancel`): remove the record for exactly
    /// this scope if its state is `requested`; a `granted` or `revoked` record stays. True if
    /// a request was removed.
    fn cancel_consent_request(
        &self,
        requester_uri: &str,
        target_uri: &str,
        room: Option<&str>,
    ) -> impl Future<Output = Result<bool>> + Send;

    // ---- search (identifierQuery, protocol-06 §5.8) ------------------------------------

    /// Replace a user's searchable identifiers (`(kind, normalized value)`; kinds `handle`,
    /// `nick`, `email`, `phone`) and set whether the user may be found at all.
    /// [`NotFound`](crate::StoreError::NotFound) for an unknown user,
    /// [`Conflict`](crate::StoreError::Conflict) if a handle belongs to another user.
    fn put_identifiers(
        &self,
        user_uri: &str,
        identifiers: &[(String, String)],
        searchable: bool,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Searchable users with exactly this identifier, sorted.
    fn find_users(
        &self,
        kind: &str,
        value: &str,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// Searchable users whose display name or a nick contains `fragment`, ignoring case
    /// (Unicode lowercase), sorted, at most `limit`. An empty fragment finds nobody.
    fn find_users_by_name(
        &self,
        fragment: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;

    // ---- peers (docs/decisions/0070) ---------------------------------------------------

    /// Store (create or replace) a peer provider's client CA certificate (PEM).
    fn put_peer_ca(
        &self,
        domain: &str,
        pem: &str,
        fetched_ms: u64,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Every stored peer client CA, as `(domain, PEM)`, sorted by domain.
    fn peer_cas(&self) -> impl Future<Output = Result<Vec<(String, String)>>> + Send;

    // ---- maintenance -------------------------------------------------------------------

    /// Remove what has expired by `now_ms`: access tokens, KeyPackages, and records of
    /// claimed KeyPackages past their lifetime.
    fn purge_expired(&self, now_ms: u64) -> impl Future<Output = Result<Purged>> + Send;

    /// How many users, clients, hosted rooms and KeyPackages the store holds.
    fn counts(&self) -> impl Future<Output = Result<Counts>> + Send;

    /// Check that the database answers (for `/healthz`).
    fn ping(&self) -> impl Future<Output = Result<()>> + Send;

    /// Close the store: wait for operations in flight, then release the database (for
    /// SQLite, checkpoint the WAL). Every clone is closed; later calls fail with
    /// [`Closed`](crate::StoreError::Closed).
    fn close(&self) -> impl Future<Output = ()> + Send;

    // ---- delivery faults (docs/decisions/0067) -----------------------------------------

    /// Refused for good: move these outbox rows out of their queue into the dead letters
    /// (counting the refused attempt, noting `reason` and `now_ms`), so the rows behind them
    /// are sent. Unknown ids are ignored.
    fn outbox_dead_letter(
        &self,
        ids: &[i64],
        reason: &str,
        now_ms: u64,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Store an abuse report the hub accepted (protocol-06 §5.9) before it answers 201; its
    /// id. [`Invalid`](crate::StoreError::Invalid) for an empty room, reporter or abuser.
    fn record_abuse_report(
        &self,
        report: &AbuseReportRecord,
    ) -> impl Future<Output = Result<i64>> + Send;

    /// A room's abuse reports, oldest first, at most `limit`.
    fn abuse_reports(
        &self,
        room: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<AbuseReportRecord>>> + Send;

    /// A destination's dead letters, oldest first, at most `limit`.
    fn dead_letters(
        &self,
        destination: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<DeadLetter>>> + Send;

    /// The accepted submission of this message to this room, if the hub remembers one.
    fn hub_submission(
        &self,
        room: &str,
        message_hash: &[u8; 32],
    ) -> impl Future<Output = Result<Option<HubSubmission>>> + Send;

    /// [`Store::commit_hub_event`] for an accepted application message, remembering
    /// `submission` in the same transaction (and forgetting submissions accepted before
    /// `forget_before_ms`: in bulk, so a store may keep them up to a minute longer). [`Conflict`](crate::StoreError::Conflict), writing nothing, if
    /// this message was already accepted in this room, or as `commit_hub_event` says;
    /// [`Invalid`](crate::StoreError::Invalid) if the submission's room or `seq` is not the
    /// event's. Returns what [`Store::commit_hub_event`] returns.
    ///
    /// Order: the write is queued when its future is first polled, and writes queued earlier
    /// are applied earlier (a hub queues a room's next message before this one is durable,
    /// docs/decisions/0154).
    fn commit_hub_submission(
        &self,
        event: &HubEvent,
        submission: &HubSubmission,
        forget_before_ms: u64,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// How many redeliveries [`Store::record_notify`] acknowledged without delivering them
    /// again, per hub, sorted by hub.
    fn notify_duplicates(&self) -> impl Future<Output = Result<Vec<(String, u64)>>> + Send;

    // ---- several processes on one store (docs/decisions/0160) ------------------------
    //
    // The defaults describe a store only one process writes (SQLite).

    /// Whether several processes (instances of one provider) may write this store at once.
    /// A hub then re-reads a room's sequence number before it trusts its copy in memory,
    /// and a delivery worker takes a destination's lease before it sends that queue.
    fn shared(&self) -> bool {
        false
    }

    /// How far a hosted room's stored state is, `None` if the room is not stored. (The
    /// default reads the whole room and reports its state as changed by its last event.)
    fn hub_room_version(
        &self,
        room: &str,
    ) -> impl Future<Output = Result<Option<RoomVersion>>> + Send {
        async move {
            Ok(self.hub_room(room).await?.map(|r| RoomVersion {
                seq: r.seq,
                state_seq: r.seq,
            }))
        }
    }

    /// Take, renew or give up the lease on a destination's outbox queue. True if `holder`
    /// now holds it until `until_ms`: it was free, had expired by `now_ms`, or was
    /// `holder`'s already. A holder gives it up with `until_ms <= now_ms`. Only the holder
    /// sends a destination's rows, so one process at a time sends them, in order; if it
    /// dies, another takes over once the lease has expired. A store that only one process
    /// writes answers true.
    fn outbox_lease(
        &self,
        destination: &str,
        holder: &str,
        now_ms: u64,
        until_ms: u64,
    ) -> impl Future<Output = Result<bool>> + Send {
        let _ = (destination, holder, now_ms, until_ms);
        async { Ok(true) }
    }

    /// What other processes sharing this store commit, as it commits: local clients with
    /// new events and destinations with new outbox rows, so that this process wakes its
    /// event streams and delivery workers without polling. `None` for a store that only
    /// one process writes.
    fn wakes(
        &self,
    ) -> impl Future<Output = Result<Option<tokio::sync::mpsc::Receiver<StoreWake>>>> + Send {
        async { Ok(None) }
    }
}
