//! [`AnyStore`]: the backend a provider's configuration chose, behind the one [`Store`]
//! trait (whose methods are not object-safe: they return `impl Future`).

use std::future::Future;

use tokio::sync::mpsc;

use crate::error::Result;
use crate::model::{
    AbuseReportRecord, ClientClaim, ClientRecord, ConsentRecord, Counts, DeadLetter, DeliveryRow,
    FollowerNotify, HubEvent, HubRoomSnapshot, HubSubmission, NewUser, OutboxBacklog, OutboxRow,
    Purged, RoomVersion, StoreWake, StoredKeyPackage, UserRecord,
};
use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;
use crate::store::Store;

/// SQLite (one process, the embedded default) or PostgreSQL (several instances of one
/// provider can share it).
#[derive(Clone, Debug)]
pub enum AnyStore {
    /// The embedded SQLite store.
    Sqlite(SqliteStore),
    /// The PostgreSQL store.
    Postgres(PgStore),
}

impl From<SqliteStore> for AnyStore {
    fn from(s: SqliteStore) -> Self {
        AnyStore::Sqlite(s)
    }
}

impl From<PgStore> for AnyStore {
    fn from(s: PgStore) -> Self {
        AnyStore::Postgres(s)
    }
}

/// Each method calls the same method of the chosen backend; a future's first poll is its
/// backend future's first poll (the ordering contract of `commit_hub_submission`).
macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $out:ty;)*) => {
        $(
            fn $name(&self, $($arg: $ty),*) -> impl Future<Output = $out> + Send {
                async move {
                    match self {
                        AnyStore::Sqlite(s) => s.$name($($arg),*).await,
                        AnyStore::Postgres(s) => s.$name($($arg),*).await,
                    }
                }
            }
        )*
    };
}

impl Store for AnyStore {
    fn shared(&self) -> bool {
        match self {
            AnyStore::Sqlite(s) => s.shared(),
            AnyStore::Postgres(s) => s.shared(),
        }
    }

    delegate! {
        create_user(user: &NewUser) -> Result<()>;
        user_by_name(username: &str) -> Result<Option<UserRecord>>;
        user_by_uri(user_uri: &str) -> Result<Option<UserRecord>>;
        put_token(token_hash: &[u8], user_uri: &str, expires_ms: u64) -> Result<()>;
        user_by_token(token_hash: &[u8], now_ms: u64) -> Result<Option<UserRecord>>;
        delete_token(token_hash: &[u8]) -> Result<bool>;
        add_client(client: &ClientRecord) -> Result<()>;
        client(client_uri: &str) -> Result<Option<ClientRecord>>;
        clients_of(user_uri: &str) -> Result<Vec<ClientRecord>>;
        add_key_packages(client_uri: &str, key_packages: &[StoredKeyPackage]) -> Result<usize>;
        claim_key_packages(user_uri: &str, now_s: u64, accept: &(dyn Fn(&[u8]) -> bool + Sync)) -> Result<Vec<ClientClaim>>;
        key_package_count(client_uri: &str) -> Result<usize>;
        load_hub_rooms() -> Result<Vec<HubRoomSnapshot>>;
        hub_room(room: &str) -> Result<Option<HubRoomSnapshot>>;
        commit_hub_event(event: &HubEvent) -> Result<Vec<String>>;
        record_notify(notify: &FollowerNotify) -> Result<Option<Vec<String>>>;
        record_notify_batch(notifies: &[FollowerNotify]) -> Result<Vec<Option<Vec<String>>>>;
        follower_members(room: &str) -> Result<Vec<String>>;
        user_room_count(user_uri: &str) -> Result<usize>;
        set_follower_member(room: &str, client_uri: &str, present: bool) -> Result<()>;
        record_welcome_route(kp_ref: &[u8], client_uri: &str) -> Result<()>;
        outbox_due(destination: &str, now_ms: u64, limit: usize) -> Result<Vec<OutboxRow>>;
        outbox_done(ids: &[i64]) -> Result<()>;
        outbox_retry(ids: &[i64], next_attempt_ms: u64, error: &str) -> Result<()>;
        outbox_wake(destination: &str, now_ms: u64) -> Result<u64>;
        outbox_backlog() -> Result<Vec<OutboxBacklog>>;
        events_after(client_uri: &str, cursor: u64, limit: usize) -> Result<Vec<DeliveryRow>>;
        latest_cursor(client_uri: &str) -> Result<u64>;
        trim_events(client_uri: &str, through: u64) -> Result<u64>;
        put_consent(consent: &ConsentRecord) -> Result<()>;
        consent(requester_uri: &str, target_uri: &str, room: Option<&str>) -> Result<Option<ConsentRecord>>;
        request_consent(consent: &ConsentRecord) -> Result<bool>;
        cancel_consent_request(requester_uri: &str, target_uri: &str, room: Option<&str>) -> Result<bool>;
        put_identifiers(user_uri: &str, identifiers: &[(String, String)], searchable: bool) -> Result<()>;
        find_users(kind: &str, value: &str) -> Result<Vec<String>>;
        find_users_by_name(fragment: &str, limit: usize) -> Result<Vec<String>>;
        put_peer_ca(domain: &str, pem: &str, fetched_ms: u64) -> Result<()>;
        peer_cas() -> Result<Vec<(String, String)>>;
        purge_expired(now_ms: u64) -> Result<Purged>;
        counts() -> Result<Counts>;
        ping() -> Result<()>;
        close() -> ();
        outbox_dead_letter(ids: &[i64], reason: &str, now_ms: u64) -> Result<()>;
        record_abuse_report(report: &AbuseReportRecord) -> Result<i64>;
        abuse_reports(room: &str, limit: usize) -> Result<Vec<AbuseReportRecord>>;
        dead_letters(destination: &str, limit: usize) -> Result<Vec<DeadLetter>>;
        hub_submission(room: &str, message_hash: &[u8; 32]) -> Result<Option<HubSubmission>>;
        commit_hub_submission(event: &HubEvent, submission: &HubSubmission, forget_before_ms: u64) -> Result<Vec<String>>;
        notify_duplicates() -> Result<Vec<(String, u64)>>;
        hub_room_version(room: &str) -> Result<Option<RoomVersion>>;
        outbox_lease(destination: &str, holder: &str, now_ms: u64, until_ms: u64) -> Result<bool>;
        wakes() -> Result<Option<mpsc::Receiver<StoreWake>>>;
    }
}
