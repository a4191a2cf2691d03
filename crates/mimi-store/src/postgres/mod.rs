//! The PostgreSQL store: one connection pool, one transaction per operation, many writers at
//! once — from this process and from other server processes sharing the database.
//!
//! SQLite serializes every write; here concurrent transactions run side by side, so every
//! rule the SQLite store gets from its single writer is a lock or a constraint here:
//!
//! - *room order*: a hub event locks its room's row (`FOR NO KEY UPDATE`) before it checks
//!   the sequence number, and a room is created by `INSERT ... ON CONFLICT DO NOTHING`: one
//!   winner per sequence number, across processes ([`hub`]);
//! - *queue order*: a room's writes in this process wait in a FIFO queue entered on the
//!   first poll, handed on once the room's row is locked ([`order`]);
//! - *KeyPackages*: a one-time KeyPackage is taken by a `DELETE` of a row locked with
//!   `SKIP LOCKED`: by one claimer only ([`keys`]);
//! - *cursors*: a client's counter row is bumped in the writing transaction, counter rows in
//!   sorted order (no deadlock between two transactions delivering to the same clients),
//!   locked until the commit: dense cursors in commit order ([`streams`]);
//! - *dedupe*: `follower_seen` rows are inserted with `ON CONFLICT DO NOTHING`, which waits
//!   for a concurrent insert of the same message and then reports it seen ([`follower`]);
//! - *delivery*: one instance at a time sends a destination's queue, the holder of its
//!   lease ([`outbox::lease`]);
//! - *wake-ups*: a commit that delivers to clients or queues outbox rows NOTIFYs the other
//!   instances, which LISTEN ([`wakes`]).
//!
//! Operations of one statement run in autocommit (one transaction, no `BEGIN`/`COMMIT`
//! round trips); the others in an explicit transaction at `READ COMMITTED`. Commits are as
//! durable as the server makes them: a connection whose `synchronous_commit` is `off` is
//! switched back `on`.

mod abuse;
mod accounts;
mod directory;
mod follower;
mod hub;
mod keys;
mod order;
mod outbox;
mod peers;
mod streams;
mod wakes;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row, Transaction};

use crate::error::{Result, StoreError};
use crate::model::{
    AbuseReportRecord, ClientClaim, ClientRecord, ConsentRecord, Counts, DeadLetter, DeliveryRow,
    FollowerNotify, HubEvent, HubRoomSnapshot, HubSubmission, NewUser, OutboxBacklog, OutboxRow,
    Purged, StoredKeyPackage, UserRecord,
};
use crate::sqlite::unsigned;
use crate::store::Store;

/// The schema migrations, embedded in the binary: (version, description, SQL). The files
/// live in `migrations/postgres/`; a unit test checks this list matches them (decision 0066:
/// no `sqlx::migrate!`, which needs sqlx's `macros` feature).
const MIGRATIONS: crate::migrations::Migrations = &[
    (
        1,
        "initial",
        include_str!("../../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "outbox_leases",
        include_str!("../../migrations/postgres/0002_outbox_leases.sql"),
    ),
    (
        3,
        "room_state_seq",
        include_str!("../../migrations/postgres/0003_room_state_seq.sql"),
    ),
    (
        4,
        "shared_stream_events",
        include_str!("../../migrations/postgres/0004_shared_stream_events.sql"),
    ),
];

/// The schema version this build writes (the highest migration).
pub const POSTGRES_SCHEMA_VERSION: i64 = 4;

/// Hub submissions are forgotten in bulk when the horizon moved by this much.
const FORGET_EVERY_MS: u64 = 60_000;

/// How to connect a PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Most pooled connections (at least 1).
    pub max_connections: u32,
    /// Connections kept open even when idle.
    pub min_connections: u32,
    /// How long an operation waits for a free pooled connection before failing with
    /// [`StoreError::Busy`].
    pub acquire_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

/// The PostgreSQL implementation of [`Store`]. Cheap to clone: clones share the pool and
/// the rooms' write queues.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// The FIFO write queue of each room with writes in flight.
    rooms: order::RoomQueues,
    /// The `forget_before_ms` of the last forgetting of hub submissions (shared by clones).
    forgotten_before: Arc<AtomicU64>,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("connections", &self.pool.size())
            .field("closed", &self.pool.is_closed())
            .finish()
    }
}

impl PgStore {
    /// Connect to the database at `url` (`postgres://user@host:port/database`) with the
    /// default options and bring its schema up to date.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, &PgOptions::default()).await
    }

    /// Connect to the database at `url` with these options and bring its schema up to date
    /// (several processes may do so at once: sqlx's migrator holds an advisory lock).
    pub async fn connect_with(url: &str, options: &PgOptions) -> Result<Self> {
        let connect = PgConnectOptions::from_str(url).map_err(db_err)?;
        let max = options.max_connections.max(1);
        let pool = PgPoolOptions::new()
            .max_connections(max)
            .min_connections(options.min_connections.min(max))
            .acquire_timeout(options.acquire_timeout)
            // No ping round trip before every use of a pooled connection (decision 0061): a
            // connection that broke fails its statement, and sqlx tests a connection when it
            // comes back to the pool (which also flushes the rollback of a dropped
            // transaction).
            .test_before_acquire(false)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    // Nothing is acknowledged before it is durable: a server (or role)
                    // configured with `synchronous_commit = off` is overruled for our
                    // sessions; stronger settings (`remote_apply`, ...) stay.
                    sqlx::query(
                        "SELECT set_config('synchronous_commit', 'on', false) \
                         WHERE current_setting('synchronous_commit') = 'off'",
                    )
                    .execute(conn)
                    .await
                    .map(|_| ())
                })
            })
            .connect_with(connect)
            .await
            .map_err(db_err)?;
        let store = Self {
            pool,
            rooms: order::RoomQueues::default(),
            forgotten_before: Arc::new(AtomicU64::new(0)),
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let migrator = Migrator::new(crate::migrations::Embedded(MIGRATIONS))
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        migrator.run(&self.pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(e) => db_err(e),
            other => StoreError::Migration(other.to_string()),
        })
    }

    /// Begin a transaction (`READ COMMITTED`, the server default).
    async fn begin(&self) -> Result<Transaction<'static, Postgres>> {
        self.pool.begin().await.map_err(db_err)
    }
}

/// Commit `tx` if `result` is `Ok`, else roll it back; the result (or the commit's error).
///
/// A transaction dropped midway (its future was cancelled) is rolled back by sqlx: the
/// `ROLLBACK` is queued on the connection and sent when the pool takes it back.
async fn finish<T>(tx: Transaction<'static, Postgres>, result: Result<T>) -> Result<T> {
    match result {
        Ok(value) => {
            tx.commit().await.map_err(db_err)?;
            Ok(value)
        }
        Err(e) => {
            // If the rollback fails the connection is broken; the server rolls back.
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

// ---- error mapping (decision 0063, by SQLSTATE) -------------------------------------------

/// Classify a sqlx error.
fn db_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Database(db) => {
            let message = db.message().to_string();
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            match code.as_str() {
                // unique_violation
                "23505" => StoreError::Conflict(message),
                // foreign_key_violation
                "23503" => StoreError::NotFound(message),
                // serialization_failure, deadlock_detected, lock_not_available,
                // query_canceled (a statement timeout), too_many_connections,
                // out_of_memory, the server shutting down or starting up
                "40001" | "40P01" | "55P03" | "57014" | "53300" | "53200" | "57P01" | "57P02"
                | "57P03" => StoreError::Busy(message),
                // disk_full, insufficient_resources
                "53100" | "53000" => StoreError::Full(message),
                // read_only_sql_transaction (e.g. a hot standby)
                "25006" => StoreError::ReadOnly(message),
                // io_error, undefined_file, system_error
                "58030" | "58P01" | "58000" => StoreError::Io(message),
                // data_corrupted, index_corrupted
                "XX001" | "XX002" => StoreError::Corrupt(message),
                // integrity constraints (not null, check, ...) and data exceptions (a NUL in
                // a string, a number out of range, ...)
                c if c.starts_with("23") || c.starts_with("22") => StoreError::Invalid(message),
                // connection exceptions
                c if c.starts_with("08") => StoreError::Io(message),
                _ => StoreError::Database(format!("{message} (SQLSTATE {code})")),
            }
        }
        sqlx::Error::PoolTimedOut => StoreError::Busy("no database connection free in time".into()),
        sqlx::Error::PoolClosed => StoreError::Closed,
        sqlx::Error::Io(e) => StoreError::Io(e.to_string()),
        sqlx::Error::Tls(e) => StoreError::Io(e.to_string()),
        sqlx::Error::RowNotFound => StoreError::NotFound("row".into()),
        e @ (sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_)) => {
            StoreError::Corrupt(e.to_string())
        }
        sqlx::Error::Configuration(e) => StoreError::Invalid(e.to_string()),
        sqlx::Error::Migrate(e) => StoreError::Migration(e.to_string()),
        other => StoreError::Database(other.to_string()),
    }
}

/// `db_err`, with the message of a unique violation of a named constraint replaced by the
/// one `cases` gives for it (e.g. `users_username_key` → "username taken").
fn conflict_as(e: sqlx::Error, cases: &[(&str, &str)]) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && db.code().as_deref() == Some("23505")
        && let Some((_, message)) = db
            .constraint()
            .and_then(|name| cases.iter().find(|(c, _)| *c == name))
    {
        return StoreError::Conflict((*message).to_string());
    }
    db_err(e)
}

// ---- value conversions (decision 0064; `time`, `exact`, ... are the SQLite store's) ------

/// A column of a row.
fn get<'r, T>(row: &'r PgRow, column: impl sqlx::ColumnIndex<PgRow>) -> Result<T>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(column).map_err(db_err)
}

/// A stored count as `usize`.
fn size(v: i64, what: &str) -> Result<usize> {
    let n = unsigned(v, what)?;
    usize::try_from(n).map_err(|_| StoreError::Corrupt(format!("{what} {n}")))
}

// ---- the trait ---------------------------------------------------------------------------

impl Store for PgStore {
    async fn create_user(&self, user: &NewUser) -> Result<()> {
        accounts::create_user(&self.pool, user).await
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>> {
        accounts::user_by_name(&self.pool, username).await
    }

    async fn user_by_uri(&self, user_uri: &str) -> Result<Option<UserRecord>> {
        accounts::user_by_uri(&self.pool, user_uri).await
    }

    async fn put_token(&self, token_hash: &[u8], user_uri: &str, expires_ms: u64) -> Result<()> {
        accounts::put_token(&self.pool, token_hash, user_uri, expires_ms).await
    }

    async fn user_by_token(&self, token_hash: &[u8], now_ms: u64) -> Result<Option<UserRecord>> {
        accounts::user_by_token(&self.pool, token_hash, now_ms).await
    }

    async fn delete_token(&self, token_hash: &[u8]) -> Result<bool> {
        accounts::delete_token(&self.pool, token_hash).await
    }

    async fn add_client(&self, client: &ClientRecord) -> Result<()> {
        accounts::add_client(&self.pool, client).await
    }

    async fn client(&self, client_uri: &str) -> Result<Option<ClientRecord>> {
        accounts::client(&self.pool, client_uri).await
    }

    async fn clients_of(&self, user_uri: &str) -> Result<Vec<ClientRecord>> {
        accounts::clients_of(&self.pool, user_uri).await
    }

    async fn add_key_packages(
        &self,
        client_uri: &str,
        key_packages: &[StoredKeyPackage],
    ) -> Result<usize> {
        let mut tx = self.begin().await?;
        let r = keys::add_key_packages(&mut tx, client_uri, key_packages).await;
        finish(tx, r).await
    }

    async fn claim_key_packages(
        &self,
        user_uri: &str,
        now_s: u64,
        accept: &(dyn Fn(&[u8]) -> bool + Sync),
    ) -> Result<Vec<ClientClaim>> {
        let mut tx = self.begin().await?;
        let r = keys::claim_key_packages(&mut tx, user_uri, now_s, accept).await;
        finish(tx, r).await
    }

    async fn key_package_count(&self, client_uri: &str) -> Result<usize> {
        keys::key_package_count(&self.pool, client_uri).await
    }

    async fn load_hub_rooms(&self) -> Result<Vec<HubRoomSnapshot>> {
        hub::load_hub_rooms(&self.pool).await
    }

    async fn hub_room(&self, room: &str) -> Result<Option<HubRoomSnapshot>> {
        hub::hub_room(&self.pool, room).await
    }

    async fn commit_hub_event(&self, event: &HubEvent) -> Result<Vec<String>> {
        crate::validate::hub_event(event)?;
        // The room's queue is entered here, on the first poll (nothing is awaited before).
        let turn = self.rooms.turn(&event.room).await;
        hub::commit(self, turn, event, None).await
    }

    async fn record_notify(&self, notify: &FollowerNotify) -> Result<Option<Vec<String>>> {
        crate::validate::notify(notify)?;
        let mut tx = self.begin().await?;
        let r = follower::record_notifies(&mut tx, std::slice::from_ref(notify)).await;
        finish(tx, r)
            .await
            .map(|mut results| results.pop().flatten())
    }

    async fn record_notify_batch(
        &self,
        notifies: &[FollowerNotify],
    ) -> Result<Vec<Option<Vec<String>>>> {
        notifies.iter().try_for_each(crate::validate::notify)?;
        let mut tx = self.begin().await?;
        let r = follower::record_notifies(&mut tx, notifies).await;
        finish(tx, r).await
    }

    async fn follower_members(&self, room: &str) -> Result<Vec<String>> {
        follower::members(&self.pool, room).await
    }

    async fn user_room_count(&self, user_uri: &str) -> Result<usize> {
        follower::user_room_count(&self.pool, user_uri).await
    }

    async fn set_follower_member(&self, room: &str, client_uri: &str, present: bool) -> Result<()> {
        follower::set_member(&self.pool, room, client_uri, present).await
    }

    async fn record_welcome_route(&self, kp_ref: &[u8], client_uri: &str) -> Result<()> {
        keys::add_welcome_route(&self.pool, kp_ref, client_uri).await
    }

    async fn outbox_due(
        &self,
        destination: &str,
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<OutboxRow>> {
        outbox::due(&self.pool, destination, now_ms, limit).await
    }

    async fn outbox_done(&self, ids: &[i64]) -> Result<()> {
        outbox::done(&self.pool, ids).await
    }

    async fn outbox_retry(&self, ids: &[i64], next_attempt_ms: u64, error: &str) -> Result<()> {
        outbox::retry(&self.pool, ids, next_attempt_ms, error).await
    }

    async fn outbox_wake(&self, destination: &str, now_ms: u64) -> Result<u64> {
        outbox::wake(&self.pool, destination, now_ms).await
    }

    async fn outbox_backlog(&self) -> Result<Vec<OutboxBacklog>> {
        outbox::backlog(&self.pool).await
    }

    async fn events_after(
        &self,
        client_uri: &str,
        cursor: u64,
        limit: usize,
    ) -> Result<Vec<DeliveryRow>> {
        streams::events_after(&self.pool, client_uri, cursor, limit).await
    }

    async fn latest_cursor(&self, client_uri: &str) -> Result<u64> {
        streams::latest_cursor(&self.pool, client_uri).await
    }

    async fn trim_events(&self, client_uri: &str, through: u64) -> Result<u64> {
        let mut tx = self.begin().await?;
        let r = streams::trim(&mut tx, client_uri, through).await;
        finish(tx, r).await
    }

    async fn put_consent(&self, consent: &ConsentRecord) -> Result<()> {
        directory::put_consent(&self.pool, consent).await
    }

    async fn consent(
        &self,
        requester_uri: &str,
        target_uri: &str,
        room: Option<&str>,
    ) -> Result<Option<ConsentRecord>> {
        directory::consent(&self.pool, requester_uri, target_uri, room).await
    }

    async fn request_consent(&self, consent: &ConsentRecord) -> Result<bool> {
        directory::request_consent(&self.pool, consent).await
    }

    async fn cancel_consent_request(
        &self,
        requester_uri: &str,
        target_uri: &str,
        room: Option<&str>,
    ) -> Result<bool> {
        directory::cancel_consent_request(&self.pool, requester_uri, target_uri, room).await
    }

    async fn put_identifiers(
        &self,
        user_uri: &str,
        identifiers: &[(String, String)],
        searchable: bool,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let r = directory::put_identifiers(&mut tx, user_uri, identifiers, searchable).await;
        finish(tx, r).await
    }

    async fn find_users(&self, kind: &str, value: &str) -> Result<Vec<String>> {
        directory::find_users(&self.pool, kind, value).await
    }

    async fn find_users_by_name(&self, fragment: &str, limit: usize) -> Result<Vec<String>> {
        directory::find_users_by_name(&self.pool, fragment, limit).await
    }

    async fn put_peer_ca(&self, domain: &str, pem: &str, fetched_ms: u64) -> Result<()> {
        peers::put_peer_ca(&self.pool, domain, pem, fetched_ms).await
    }

    async fn peer_cas(&self) -> Result<Vec<(String, String)>> {
        peers::peer_cas(&self.pool).await
    }

    async fn purge_expired(&self, now_ms: u64) -> Result<Purged> {
        keys::purge_expired(&self.pool, now_ms).await
    }

    async fn counts(&self) -> Result<Counts> {
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM clients), \
             (SELECT count(*) FROM hub_rooms), (SELECT count(*) FROM key_packages), \
             (SELECT count(*) FROM stream_events), (SELECT count(*) FROM deliveries)",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(Counts {
            users: unsigned(get(&row, 0)?, "users")?,
            clients: unsigned(get(&row, 1)?, "clients")?,
            hub_rooms: unsigned(get(&row, 2)?, "rooms")?,
            key_packages: unsigned(get(&row, 3)?, "key packages")?,
            stream_events: unsigned(get(&row, 4)?, "stream events")?,
            stream_deliveries: unsigned(get(&row, 5)?, "stream deliveries")?,
        })
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn outbox_dead_letter(&self, ids: &[i64], reason: &str, now_ms: u64) -> Result<()> {
        outbox::dead_letter(&self.pool, ids, reason, now_ms).await
    }

    async fn record_abuse_report(&self, report: &AbuseReportRecord) -> Result<i64> {
        abuse::record(&self.pool, report).await
    }

    async fn abuse_reports(&self, room: &str, limit: usize) -> Result<Vec<AbuseReportRecord>> {
        abuse::list(&self.pool, room, limit).await
    }

    async fn dead_letters(&self, destination: &str, limit: usize) -> Result<Vec<DeadLetter>> {
        outbox::dead_letters(&self.pool, destination, limit).await
    }

    async fn hub_submission(
        &self,
        room: &str,
        message_hash: &[u8; 32],
    ) -> Result<Option<HubSubmission>> {
        hub::submission(&self.pool, room, message_hash).await
    }

    async fn commit_hub_submission(
        &self,
        event: &HubEvent,
        submission: &HubSubmission,
        forget_before_ms: u64,
    ) -> Result<Vec<String>> {
        crate::validate::hub_event(event)?;
        crate::validate::submission(event, submission)?;
        // The room's queue is entered here, on the first poll (nothing is awaited before).
        let turn = self.rooms.turn(&event.room).await;
        // Forgetting is a range delete over the age index: done when the horizon moved by a
        // minute or more since the last time, not for every message.
        let last = self.forgotten_before.load(Ordering::Acquire);
        let forget = (forget_before_ms >= last.saturating_add(FORGET_EVERY_MS)
            || forget_before_ms < last)
            .then_some(forget_before_ms);
        let r = hub::commit(self, turn, event, Some((submission, forget))).await;
        if r.is_ok()
            && let Some(f) = forget
        {
            self.forgotten_before.store(f, Ordering::Release);
        }
        r
    }

    async fn notify_duplicates(&self) -> Result<Vec<(String, u64)>> {
        follower::duplicates(&self.pool).await
    }

    fn shared(&self) -> bool {
        true
    }

    async fn hub_room_version(&self, room: &str) -> Result<Option<crate::RoomVersion>> {
        hub::version(&self.pool, room).await
    }

    async fn outbox_lease(
        &self,
        destination: &str,
        holder: &str,
        now_ms: u64,
        until_ms: u64,
    ) -> Result<bool> {
        outbox::lease(&self.pool, destination, holder, now_ms, until_ms).await
    }

    async fn wakes(&self) -> Result<Option<tokio::sync::mpsc::Receiver<crate::StoreWake>>> {
        wakes::listen(&self.pool).await.map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_migrations_match_the_directory() {
        crate::migrations::assert_embedded("postgres", MIGRATIONS, POSTGRES_SCHEMA_VERSION);
    }

    /// Migration 0004 keeps the events of a version-3 database: each delivery becomes an
    /// event of its own, at the same cursor, and the stream goes on from there. (Runs when
    /// `MIMI_TEST_POSTGRES_URL` names a server.)
    #[tokio::test]
    async fn deliveries_survive_the_shared_events_migration() {
        let Ok(admin) = std::env::var("MIMI_TEST_POSTGRES_URL") else {
            return;
        };
        let db = crate::ScratchDatabase::create(&admin, "migrate")
            .await
            .unwrap();
        let pool = PgPool::connect(db.url()).await.unwrap();
        let v3 = Migrator::new(crate::migrations::Embedded(&MIGRATIONS[..3]))
            .await
            .unwrap();
        v3.run(&pool).await.unwrap();
        sqlx::raw_sql(
            "INSERT INTO client_streams (client_uri, last_cursor) VALUES ('c', 2); \
             INSERT INTO deliveries (client_uri, cursor, room, kind, body, created_ms) \
             VALUES ('c', 1, 'r', 'welcome', '\\x01', 10), ('c', 2, 'r', 'fanout', '\\x02', 20)",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;

        let s = PgStore::connect(db.url()).await.unwrap();
        crate::migrations::assert_streams_migrated(&s).await;
        s.close().await;
        db.remove().await.unwrap();
    }

    #[tokio::test]
    async fn a_bad_url_is_invalid() {
        let err = PgStore::connect("not a url").await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    }

    /// sqlx retries refused connections until the acquire timeout: `Busy`, retryable.
    #[tokio::test]
    async fn an_unreachable_server_is_retryable() {
        let options = PgOptions {
            acquire_timeout: Duration::from_millis(500),
            ..PgOptions::default()
        };
        let err = PgStore::connect_with("postgres://nobody@127.0.0.1:1/none", &options)
            .await
            .unwrap_err();
        assert!(err.is_retryable(), "{err:?}");
    }
}
