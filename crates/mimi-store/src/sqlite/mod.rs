//! The SQLite store: one database file, WAL, `synchronous = FULL`, one connection pool.
//!
//! Writes are serialized twice over: an in-process FIFO lock (so writers queue fairly instead
//! of polling SQLite's busy handler) and `BEGIN IMMEDIATE` (so a second process on the same
//! file waits for the write lock up front, instead of failing when a read transaction turns
//! into a write). Concurrent writes share one transaction and one fsync (group commit,
//! [`group`], docs/decisions/0150); each is acknowledged only after that commit. Reads run concurrently on the other pooled connections (WAL readers never
//! block the writer). docs/decisions/0060 and 0061 record the settings.

mod abuse;
mod accounts;
mod directory;
mod follower;
mod group;
mod hub;
mod keys;
mod outbox;
mod peers;
mod streams;

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Row, Sqlite};
use tokio::sync::Mutex;

use crate::error::{Result, StoreError};
use crate::model::{
    AbuseReportRecord, ClientClaim, ClientRecord, ConsentRecord, Counts, DeadLetter, DeliveryRow,
    FollowerNotify, HubEvent, HubRoomSnapshot, HubSubmission, NewUser, OutboxBacklog, OutboxRow,
    Purged, StoredKeyPackage, UserRecord,
};
use crate::store::Store;

/// The schema migrations, embedded in the binary: (version, description, SQL). The files
/// live in `migrations/sqlite/`; a unit test checks this list matches them.
const MIGRATIONS: crate::migrations::Migrations = &[
    (
        1,
        "initial",
        include_str!("../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "delivery_faults",
        include_str!("../../migrations/sqlite/0002_delivery_faults.sql"),
    ),
    (
        3,
        "abuse_reports",
        include_str!("../../migrations/sqlite/0003_abuse_reports.sql"),
    ),
    (
        4,
        "members_by_client",
        include_str!("../../migrations/sqlite/0004_members_by_client.sql"),
    ),
    (
        5,
        "shared_stream_events",
        include_str!("../../migrations/sqlite/0005_shared_stream_events.sql"),
    ),
];

/// Hub submissions are forgotten in bulk when the horizon moved by this much.
const FORGET_EVERY_MS: u64 = 60_000;

/// The schema version this build writes (the highest migration).
pub const SQLITE_SCHEMA_VERSION: i64 = 5;

/// How to open a SQLite store. `Default` is what `mimi serve` uses.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Pooled connections (one writer at a time; the others read concurrently). At least 1.
    pub max_connections: u32,
    /// How long a statement waits for another process's lock before failing with
    /// [`StoreError::Busy`].
    pub busy_timeout: Duration,
    /// How long an operation waits for a free pooled connection before failing with
    /// [`StoreError::Busy`].
    pub acquire_timeout: Duration,
    /// Create the file if it does not exist.
    pub create_if_missing: bool,
    /// Open read-only: every write fails with [`StoreError::ReadOnly`]; the schema must
    /// already be current.
    pub read_only: bool,
    /// Cap the database at this many pages (SQLite `max_page_count`; pages are 4 KiB): a
    /// write past it fails with [`StoreError::Full`], as on a full disk.
    pub max_page_count: Option<u64>,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            max_connections: 4,
            busy_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(30),
            create_if_missing: true,
            read_only: false,
            max_page_count: None,
        }
    }
}

/// What [`SqliteStore::settings`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteSettings {
    /// `wal` for a file, `memory` for an in-memory store.
    pub journal_mode: String,
    /// Whether `synchronous = FULL` (every commit is fsynced).
    pub synchronous_full: bool,
    /// Whether foreign keys are enforced.
    pub foreign_keys: bool,
    /// The busy timeout, in ms.
    pub busy_timeout_ms: u64,
    /// Bytes per page.
    pub page_size: u64,
    /// Pages in the database file.
    pub page_count: u64,
    /// The most pages the database may grow to.
    pub max_page_count: u64,
}

/// The SQLite implementation of [`Store`]. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Group commit of write operations (one writer at a time, one fsync per group).
    writer: group::Writer,
    /// The `forget_before_ms` of the last forgetting of hub submissions (shared by clones).
    forgotten_before: Arc<AtomicU64>,
    /// For an in-memory store: a connection that keeps the database alive (never used).
    keeper: Option<Arc<Mutex<SqliteConnection>>>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("connections", &self.pool.size())
            .field("closed", &self.pool.is_closed())
            .finish()
    }
}

impl SqliteStore {
    /// Open (creating it if needed) the database at `path` with the default options and
    /// bring its schema up to date.
    pub async fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, &SqliteOptions::default()).await
    }

    /// Open the database at `path` with these options and bring its schema up to date (a
    /// read-only store only checks that it is).
    pub async fn open_with(path: &Path, options: &SqliteOptions) -> Result<Self> {
        let mut connect = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(options.create_if_missing && !options.read_only)
            .read_only(options.read_only)
            // WAL: readers never block the writer; FULL: the WAL is fsynced at every commit,
            // so a committed (and acknowledged) write survives a power cut (decision 0060).
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(options.busy_timeout);
        if let Some(pages) = options.max_page_count {
            connect = connect.pragma("max_page_count", pages.to_string());
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            // No ping round trip before every use of a pooled connection (it doubled the
            // database round trips of a read): a connection that broke fails its statement,
            // and a connection in an unclear state is closed, not pooled (decision 0061).
            .test_before_acquire(false)
            // Keep the connections (and their worker threads and page caches) instead of
            // closing idle ones after 10 minutes and opening new ones under load.
            .idle_timeout(None)
            .min_connections(options.max_connections.max(1))
            .connect_with(connect)
            .await
            .map_err(db_err)?;
        let store = Self::from_pool(pool);
        if options.read_only {
            store.check_schema().await?;
        } else {
            store.migrate().await?;
        }
        Ok(store)
    }

    /// A fresh private in-memory database (for tests). Nothing is durable; the data lives as
    /// long as any clone of the store.
    ///
    /// One pooled connection (an in-memory database has one writer anyway) on a uniquely named
    /// shared-cache database, plus an idle connection held by the store that keeps the
    /// database alive even when the pool replaces its connection (sqlx drops a connection
    /// whose check-out was cancelled midway).
    pub async fn open_in_memory() -> Result<Self> {
        let connect = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(db_err)?
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let keeper = connect.connect().await.map_err(db_err)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(connect)
            .await
            .map_err(db_err)?;
        let mut store = Self::from_pool(pool);
        store.keeper = Some(Arc::new(Mutex::new(keeper)));
        store.migrate().await?;
        Ok(store)
    }

    /// The settings in force on a pooled connection, for startup logs and checks.
    pub async fn settings(&self) -> Result<SqliteSettings> {
        let mut c = self.read_conn().await?;
        let mut text = async |pragma: &'static str| -> Result<String> {
            let row = sqlx::query(pragma)
                .fetch_one(&mut *c)
                .await
                .map_err(db_err)?;
            // Numeric pragmas come back as INTEGER, journal_mode as TEXT.
            match row.try_get::<i64, _>(0) {
                Ok(n) => Ok(n.to_string()),
                Err(_) => get(&row, 0),
            }
        };
        let journal_mode = text("PRAGMA journal_mode").await?;
        let synchronous = text("PRAGMA synchronous").await?;
        let foreign_keys = text("PRAGMA foreign_keys").await?;
        let busy_timeout_ms = text("PRAGMA busy_timeout").await?;
        let page_size = text("PRAGMA page_size").await?;
        let page_count = text("PRAGMA page_count").await?;
        let max_page_count = text("PRAGMA max_page_count").await?;
        let number = |what: &str, v: String| {
            v.parse::<u64>()
                .map_err(|_| StoreError::Database(format!("PRAGMA {what} gave {v:?}")))
        };
        Ok(SqliteSettings {
            journal_mode,
            synchronous_full: synchronous == "2",
            foreign_keys: foreign_keys == "1",
            busy_timeout_ms: number("busy_timeout", busy_timeout_ms)?,
            page_size: number("page_size", page_size)?,
            page_count: number("page_count", page_count)?,
            max_page_count: number("max_page_count", max_page_count)?,
        })
    }

    fn from_pool(pool: SqlitePool) -> Self {
        Self {
            pool,
            writer: group::Writer::default(),
            forgotten_before: Arc::new(AtomicU64::new(0)),
            keeper: None,
        }
    }

    async fn migrate(&self) -> Result<()> {
        let migrator = Migrator::new(crate::migrations::Embedded(MIGRATIONS))
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        let _writer = self.writer.exclusive().await?;
        migrator.run(&self.pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(e) => db_err(e),
            other => StoreError::Migration(other.to_string()),
        })
    }

    /// For a read-only store: the schema must already be this build's.
    async fn check_schema(&self) -> Result<()> {
        let mut c = self.read_conn().await?;
        let applied: Option<i64> =
            sqlx::query("SELECT MAX(version) FROM _sqlx_migrations WHERE success = 1")
                .fetch_one(&mut *c)
                .await
                .map_err(|e| match db_err(e) {
                    StoreError::Database(m) => StoreError::Migration(format!("no schema: {m}")),
                    other => other,
                })
                .and_then(|row| get(&row, 0))?;
        match applied {
            Some(SQLITE_SCHEMA_VERSION) => Ok(()),
            other => Err(StoreError::Migration(format!(
                "a read-only store needs schema version {SQLITE_SCHEMA_VERSION}, found {other:?}: \
                 open it writable once"
            ))),
        }
    }

    /// A pooled connection: for single-statement reads (autocommit: the statement sees one
    /// consistent state), or to begin a transaction on.
    async fn read_conn(&self) -> Result<PoolConnection<Sqlite>> {
        self.pool.acquire().await.map_err(db_err)
    }

    /// A read transaction: several statements that see one snapshot.
    async fn read_tx(&self) -> Result<Tx> {
        let conn = self.read_conn().await?;
        Tx::begin(conn, "BEGIN").await
    }

    /// A write operation: the in-process writer lock, then a savepoint in the group's
    /// transaction (`BEGIN IMMEDIATE` if none is open); durable when it finishes.
    async fn write_tx(&self) -> Result<group::WriteOp> {
        self.writer.begin(|| self.read_conn()).await
    }
}

/// A transaction on one pooled connection, begun with an explicit statement.
///
/// [`Tx::finish`] commits an `Ok` result and rolls back an `Err`. The connection stays inside
/// the `Tx` while any statement of the transaction (`BEGIN` and `COMMIT` included) is in
/// flight, so a `Tx` dropped midway (its future was cancelled) still owns it: a spawned task
/// rolls it back. A connection whose state cannot
/// be confirmed clean is closed rather than returned to the pool.
struct Tx {
    conn: Option<PoolConnection<Sqlite>>,
}

impl Tx {
    async fn begin(conn: PoolConnection<Sqlite>, statement: &'static str) -> Result<Tx> {
        let mut tx = Tx { conn: Some(conn) };
        match sqlx::query(statement).execute(tx.conn()?).await {
            Ok(_) => Ok(tx),
            Err(e) => {
                tx.roll_back().await;
                Err(db_err(e))
            }
        }
    }

    /// The transaction's connection.
    fn conn(&mut self) -> Result<&mut SqliteConnection> {
        self.conn
            .as_deref_mut()
            .ok_or_else(|| StoreError::Database("transaction already finished".into()))
    }

    /// Commit if `result` is `Ok`, else roll back; the result (or the commit's error).
    async fn finish<T>(self, result: Result<T>) -> Result<T> {
        self.finish_with(result, "COMMIT").await
    }

    /// [`Tx::finish`] with `commit` as the statements that commit: `COMMIT`, or statements
    /// ending with it, sent in the same round trip.
    async fn finish_with<T>(mut self, result: Result<T>, commit: &'static str) -> Result<T> {
        let failure = match result {
            Ok(value) => match sqlx::query(commit).execute(self.conn()?).await {
                Ok(_) => {
                    // Clean: back to the pool.
                    self.conn.take();
                    return Ok(value);
                }
                Err(e) => db_err(e),
            },
            Err(e) => e,
        };
        self.roll_back().await;
        Err(failure)
    }

    /// Roll back, then release the connection to the pool, or close it if its state is
    /// unclear.
    async fn roll_back(&mut self) {
        let Some(conn) = self.conn.as_deref_mut() else {
            return;
        };
        let clean = rolled_back(conn).await;
        if let Some(mut conn) = self.conn.take()
            && !clean
        {
            conn.close_on_drop();
        }
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let mut pending = CloseUnlessClean(Some(conn));
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Some(conn) = pending.0.as_deref_mut()
                        && rolled_back(conn).await
                    {
                        pending.0.take(); // clean: back to the pool
                    }
                    drop(pending);
                });
            }
            // No runtime to roll back on: closing the connection rolls back.
            Err(_) => drop(pending),
        }
    }
}

/// A connection in an unknown transaction state: closed, not pooled, if dropped as is.
struct CloseUnlessClean(Option<PoolConnection<Sqlite>>);

impl Drop for CloseUnlessClean {
    fn drop(&mut self) {
        if let Some(conn) = self.0.as_mut() {
            conn.close_on_drop();
        }
    }
}

/// Roll back whatever transaction the connection is in; whether it is now known to be
/// outside any transaction.
async fn rolled_back(conn: &mut SqliteConnection) -> bool {
    if sqlx::query("ROLLBACK").execute(&mut *conn).await.is_ok() {
        return true;
    }
    // SQLite may already have rolled back by itself (after SQLITE_FULL, SQLITE_IOERR,
    // SQLITE_BUSY, ...), or the BEGIN never ran. Probe: a BEGIN succeeds only outside a
    // transaction.
    sqlx::query("BEGIN").execute(&mut *conn).await.is_ok()
        && sqlx::query("ROLLBACK").execute(&mut *conn).await.is_ok()
}

// ---- error mapping ----------------------------------------------------------------------

/// The error of a one-query write (decision 0158) whose undoing failed too: the query's own
/// error when it is a failure of the database (a full disk, an I/O error, after which SQLite
/// may have rolled the transaction back itself, so that there was nothing to undo), else
/// the undoing's (the query only met a case the step-by-step path would have answered).
fn batch_failure(batch: StoreError, undo: StoreError) -> StoreError {
    match batch {
        StoreError::Conflict(_) | StoreError::Invalid(_) | StoreError::NotFound(_) => undo,
        other => other,
    }
}

const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;
const SQLITE_READONLY: i32 = 8;
const SQLITE_IOERR: i32 = 10;
const SQLITE_CORRUPT: i32 = 11;
const SQLITE_FULL: i32 = 13;
const SQLITE_CANTOPEN: i32 = 14;
const SQLITE_CONSTRAINT: i32 = 19;
const SQLITE_NOTADB: i32 = 26;
const SQLITE_CONSTRAINT_FOREIGNKEY: i32 = 787;
const SQLITE_CONSTRAINT_PRIMARYKEY: i32 = 1555;
const SQLITE_CONSTRAINT_UNIQUE: i32 = 2067;

/// Classify a sqlx error (decision 0063).
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Database(db) => {
            let message = db.message().to_string();
            let code: i32 = db.code().and_then(|c| c.parse().ok()).unwrap_or(1);
            match (code & 0xff, code) {
                (_, SQLITE_CONSTRAINT_UNIQUE | SQLITE_CONSTRAINT_PRIMARYKEY) => {
                    StoreError::Conflict(message)
                }
                (_, SQLITE_CONSTRAINT_FOREIGNKEY) => StoreError::NotFound(message),
                (SQLITE_CONSTRAINT, _) => StoreError::Invalid(message),
                (SQLITE_BUSY | SQLITE_LOCKED, _) => StoreError::Busy(message),
                (SQLITE_FULL, _) => StoreError::Full(message),
                (SQLITE_READONLY, _) => StoreError::ReadOnly(message),
                (SQLITE_CORRUPT | SQLITE_NOTADB, _) => StoreError::Corrupt(message),
                (SQLITE_IOERR | SQLITE_CANTOPEN, _) => StoreError::Io(message),
                _ => StoreError::Database(format!("{message} (code {code})")),
            }
        }
        sqlx::Error::PoolTimedOut => StoreError::Busy("no database connection free in time".into()),
        sqlx::Error::PoolClosed => StoreError::Closed,
        sqlx::Error::Io(e) => StoreError::Io(e.to_string()),
        sqlx::Error::RowNotFound => StoreError::NotFound("row".into()),
        e @ (sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_)) => {
            StoreError::Corrupt(e.to_string())
        }
        sqlx::Error::Migrate(e) => StoreError::Migration(e.to_string()),
        other => StoreError::Database(other.to_string()),
    }
}

/// `db_err`, with a [`StoreError::Conflict`] whose message names `needle` (a constraint,
/// e.g. `users.username`) replaced by `message`.
pub(crate) fn conflict_as(e: sqlx::Error, cases: &[(&str, &str)]) -> StoreError {
    match db_err(e) {
        StoreError::Conflict(m) => match cases.iter().find(|(needle, _)| m.contains(needle)) {
            Some((_, message)) => StoreError::Conflict((*message).to_string()),
            None => StoreError::Conflict(m),
        },
        other => other,
    }
}

// ---- value conversions (decision 0064) --------------------------------------------------

/// A time (or other saturating quantity) as SQLite INTEGER: values past `i64::MAX` (292
/// million years in ms) are stored as `i64::MAX`.
pub(crate) fn time(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// An exact counter (sequence number) as SQLite INTEGER.
pub(crate) fn exact(v: u64, what: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(format!("{what} {v} exceeds i64::MAX")))
}

/// A stored INTEGER that must not be negative.
pub(crate) fn unsigned(v: i64, what: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative {what}: {v}")))
}

/// A row count or limit as SQLite INTEGER.
pub(crate) fn count(v: usize) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A column of a row.
pub(crate) fn get<'r, T>(row: &'r SqliteRow, column: impl sqlx::ColumnIndex<SqliteRow>) -> Result<T>
where
    T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
{
    row.try_get(column).map_err(db_err)
}

/// The Unicode-lowercased form used for case-insensitive search.
pub(crate) fn fold(s: &str) -> String {
    s.to_lowercase()
}

// ---- the trait ---------------------------------------------------------------------------

impl Store for SqliteStore {
    async fn create_user(&self, user: &NewUser) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let r = accounts::create_user(tx.conn()?, user).await;
        tx.finish(r).await
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>> {
        accounts::user_by_name(&mut *self.read_conn().await?, username).await
    }

    async fn user_by_uri(&self, user_uri: &str) -> Result<Option<UserRecord>> {
        accounts::user_by_uri(&mut *self.read_conn().await?, user_uri).await
    }

    async fn put_token(&self, token_hash: &[u8], user_uri: &str, expires_ms: u64) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let r = accounts::put_token(tx.conn()?, token_hash, user_uri, expires_ms).await;
        tx.finish(r).await
    }

    async fn user_by_token(&self, token_hash: &[u8], now_ms: u64) -> Result<Option<UserRecord>> {
        accounts::user_by_token(&mut *self.read_conn().await?, token_hash, now_ms).await
    }

    async fn delete_token(&self, token_hash: &[u8]) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let r = accounts::delete_token(tx.conn()?, token_hash).await;
        tx.finish(r).await
    }

    async fn add_client(&self, client: &ClientRecord) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let r = accounts::add_client(tx.conn()?, client).await;
        tx.finish(r).await
    }

    async fn client(&self, client_uri: &str) -> Result<Option<ClientRecord>> {
        accounts::client(&mut *self.read_conn().await?, client_uri).await
    }

    async fn clients_of(&self, user_uri: &str) -> Result<Vec<ClientRecord>> {
        accounts::clients_of(&mut *self.read_conn().await?, user_uri).await
    }

    async fn add_key_packages(
        &self,
        client_uri: &str,
        key_packages: &[StoredKeyPackage],
    ) -> Result<usize> {
        let mut tx = self.write_tx().await?;
        let r = keys::add_key_packages(tx.conn()?, client_uri, key_packages).await;
        tx.finish(r).await
    }

    async fn claim_key_packages(
        &self,
        user_uri: &str,
        now_s: u64,
        accept: &(dyn Fn(&[u8]) -> bool + Sync),
    ) -> Result<Vec<ClientClaim>> {
        let mut tx = self.write_tx().await?;
        let r = keys::claim_key_packages(tx.conn()?, user_uri, now_s, accept).await;
        tx.finish(r).await
    }

    async fn key_package_count(&self, client_uri: &str) -> Result<usize> {
        keys::key_package_count(&mut *self.read_conn().await?, client_uri).await
    }

    async fn load_hub_rooms(&self) -> Result<Vec<HubRoomSnapshot>> {
        let mut tx = self.read_tx().await?;
        let r = hub::load_hub_rooms(tx.conn()?).await;
        tx.finish(r).await
    }

    async fn hub_room(&self, room: &str) -> Result<Option<HubRoomSnapshot>> {
        let mut tx = self.read_tx().await?;
        let r = hub::hub_room(tx.conn()?, room).await;
        tx.finish(r).await
    }

    async fn commit_hub_event(&self, event: &HubEvent) -> Result<Vec<String>> {
        crate::validate::hub_event(event)?;
        let mut tx = self.write_tx().await?;
        let r = hub::commit_hub_event(tx.conn()?, event).await;
        tx.finish(r).await
    }

    async fn record_notify(&self, notify: &FollowerNotify) -> Result<Option<Vec<String>>> {
        crate::validate::notify(notify)?;
        let mut tx = self.write_tx().await?;
        let r = follower::record_notify(tx.conn()?, notify).await;
        tx.finish(r).await
    }

    async fn record_notify_batch(
        &self,
        notifies: &[FollowerNotify],
    ) -> Result<Vec<Option<Vec<String>>>> {
        notifies.iter().try_for_each(crate::validate::notify)?;
        let mut tx = self.write_tx().await?;
        // Several messages per round trip (decision 0158); Welcomes, or messages seen before,
        // one by one.
        if follower::fit_one_query(notifies) {
            match follower::record_notifies_at_once(tx.conn()?, notifies).await {
                Ok(results) => return tx.finish(Ok(results)).await,
                Err(batch) => {
                    if let Err(undo) = tx.rewind().await {
                        return Err(batch_failure(batch, undo));
                    }
                }
            }
        }
        let c = tx.conn()?;
        let mut results = Vec::with_capacity(notifies.len());
        let mut failed = None;
        for n in notifies {
            match follower::record_notify(c, n).await {
                Ok(r) => results.push(r),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        tx.finish(failed.map_or(Ok(results), Err)).await
    }

    async fn follower_members(&self, room: &str) -> Result<Vec<String>> {
        follower::members(&mut *self.read_conn().await?, room).await
    }

    async fn user_room_count(&self, user_uri: &str) -> Result<usize> {
        follower::user_room_count(&mut *self.read_conn().await?, user_uri).await
    }

    async fn set_follower_member(&self, room: &str, client_uri: &str, present: bool) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let r = follower::set_member(tx.conn()?, room, client_uri, present).await;
        tx.finish(r).await
    }

    async fn record_welcome_route(&self, kp_ref: &[u8], client_uri: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let r = keys::add_welcome_route(tx.conn()?, kp_ref, client_uri).await;
        tx.finish(r).await
    }

    async fn outbox_due(
        &self,
        destination: &str,
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<OutboxRow>> {
        outbox::due(&mut *self.read_conn().await?, destination, now_ms, limit).await
    }

    async fn outbox_done(&self, ids: &[i64]) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let r = outbox::done(tx.conn()?, ids).await;
        tx.finish(r).await
    }

    async fn outbox_retry(&self, ids: &[i64], next_attempt_ms: u64, error: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let r = outbox::retry(tx.conn()?, ids, next_attempt_ms, error).await;
        tx.finish(r).await
    }

    async fn outbox_wake(&self, destination: &str, now_ms: u64) -> Result<u64> {
        let mut tx = self.write_tx().await?;
        let r = outbox::wake(tx.conn()?, destination, now_ms).await;
        tx.finish(r).await
    }

    async fn outbox_backlog(&self) -> Result<Vec<OutboxBacklog>> {
        outbox::backlog(&mut *self.read_conn().await?).await
    }

    async fn events_after(
        &self,
        client_uri: &str,
        cursor: u64,
        limit: usize,
    ) -> Result<Vec<DeliveryRow>> {
        streams::events_after(&mut *self.read_conn().await?, client_uri, cursor, limit).await
    }

    async fn latest_cursor(&self, client_uri: &str) -> Result<u64> {
        streams::latest_cursor(&mut *self.read_conn().await?, client_uri).await
    }

    async fn trim_events(&self, client_uri: &str, through: u64) -> Result<u64> {
        let mut tx = self.write_tx().await?;
        let r = streams::trim(tx.conn()?, client_uri, through).await;
        tx.finish(r).await
    }

    async fn put_consent(&self, consent: &ConsentRecord) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let r = directory::put_consent(tx.conn()?, consent).await;
        tx.finish(r).await
    }

    async fn consent(
        &self,
        requester_uri: &str,
        target_uri: &str,
        room: Option<&str>,
    ) -> Result<Option<ConsentRecord>> {
        directory::consent(
            &mut *self.read_conn().await?,
            requester_uri,
            target_uri,
            room,
        )
        .await
    }

    async fn request_consent(&self, consent: &ConsentRecord) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let r = directory::request_consent(tx.conn()?, consent).await;
        tx.finish(r).await
    }

    async fn cancel_consent_request(
        &self,
        requester_uri: &str,
        target_uri: &str,
        room: Option<&str>,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let r =
            directory::cancel_consent_request(tx.conn()?, requester_uri, target_uri, room).await;
        tx.finish(r).await
    }

    async fn put_identifiers(
        &self,
        user_uri: &str,
        identifiers: &[(String, String)],
        searchable: bool,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let r = directory::put_identifiers(tx.conn()?, user_uri, identifiers, searchable).await;
        tx.finish(r).await
    }

    async fn find_users(&self, kind: &str, value: &str) -> Result<Vec<String>> {
        directory::find_users(&mut *self.read_conn().await?, kind, value).await
    }

    async fn find_users_by_name(&self, fragment: &str, limit: usize) -> Result<Vec<String>> {
        directory::find_users_by_name(&mut *self.read_conn().await?, fragment, limit).await
    }

    async fn purge_expired(&self, now_ms: u64) -> Result<Purged> {
        let mut tx = self.write_tx().await?;
        let r = keys::purge_expired(tx.conn()?, now_ms).await;
        tx.finish(r).await
    }

    async fn put_peer_ca(&self, domain: &str, pem: &str, fetched_ms: u64) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let r = peers::put_peer_ca(tx.conn()?, domain, pem, fetched_ms).await;
        tx.finish(r).await
    }

    async fn peer_cas(&self) -> Result<Vec<(String, String)>> {
        peers::peer_cas(&mut *self.read_conn().await?).await
    }

    async fn counts(&self) -> Result<Counts> {
        let c = &mut *self.read_conn().await?;
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM clients), \
             (SELECT count(*) FROM hub_rooms), (SELECT count(*) FROM key_packages), \
             (SELECT count(*) FROM stream_events), (SELECT count(*) FROM deliveries)",
        )
        .fetch_one(&mut *c)
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
            .execute(&mut *self.read_conn().await?)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn outbox_dead_letter(&self, ids: &[i64], reason: &str, now_ms: u64) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let r = outbox::dead_letter(tx.conn()?, ids, reason, now_ms).await;
        tx.finish(r).await
    }

    async fn record_abuse_report(&self, report: &AbuseReportRecord) -> Result<i64> {
        let mut tx = self.write_tx().await?;
        let r = abuse::record(tx.conn()?, report).await;
        tx.finish(r).await
    }

    async fn abuse_reports(&self, room: &str, limit: usize) -> Result<Vec<AbuseReportRecord>> {
        abuse::list(&mut *self.read_conn().await?, room, limit).await
    }

    async fn dead_letters(&self, destination: &str, limit: usize) -> Result<Vec<DeadLetter>> {
        outbox::dead_letters(&mut *self.read_conn().await?, destination, limit).await
    }

    async fn hub_submission(
        &self,
        room: &str,
        message_hash: &[u8; 32],
    ) -> Result<Option<HubSubmission>> {
        hub::submission(&mut *self.read_conn().await?, room, message_hash).await
    }

    async fn commit_hub_submission(
        &self,
        event: &HubEvent,
        submission: &HubSubmission,
        forget_before_ms: u64,
    ) -> Result<Vec<String>> {
        crate::validate::hub_event(event)?;
        crate::validate::submission(event, submission)?;
        // Forgetting is a range delete over the age index: done when the horizon moved by a
        // minute or more since the last time, not for every message.
        let last = self.forgotten_before.load(Ordering::Acquire);
        let forget = (forget_before_ms >= last.saturating_add(FORGET_EVERY_MS)
            || forget_before_ms < last)
            .then_some(forget_before_ms);
        let r = if hub::fits_one_query(event) {
            // An application message: all of it in one round trip (decision 0158), step by
            // step if that round trip refuses it.
            let mut tx = self.writer.begin_bare(|| self.read_conn()).await?;
            // Counted as open while the round trip runs (its first statement opens it): a
            // future dropped midway is rolled back to it, not committed half done.
            tx.savepoint_opened(true);
            match hub::commit_message_at_once(tx.conn()?, event, submission, forget).await {
                Ok(recipients) => {
                    tx.savepoint_opened(false); // released by the round trip's last statement
                    tx.finish(Ok(recipients)).await
                }
                Err(batch) => {
                    if let Err(undo) = tx.rewind().await {
                        return Err(batch_failure(batch, undo));
                    }
                    let r =
                        hub::commit_with_submission(tx.conn()?, event, submission, forget).await;
                    tx.finish(r).await
                }
            }
        } else {
            let mut tx = self.write_tx().await?;
            let r = hub::commit_with_submission(tx.conn()?, event, submission, forget).await;
            tx.finish(r).await
        };
        if r.is_ok()
            && let Some(f) = forget
        {
            self.forgotten_before.store(f, Ordering::Release);
        }
        r
    }

    async fn notify_duplicates(&self) -> Result<Vec<(String, u64)>> {
        follower::duplicates(&mut *self.read_conn().await?).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_migrations_match_the_directory() {
        crate::migrations::assert_embedded("sqlite", MIGRATIONS, SQLITE_SCHEMA_VERSION);
    }

    /// Migration 0005 keeps the events of a version-4 database: each delivery becomes an
    /// event of its own, at the same cursor, and the stream goes on from there.
    #[tokio::test]
    async fn deliveries_survive_the_shared_events_migration() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v4.db");
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let pool = SqlitePool::connect_with(options).await.unwrap();
        let v4 = Migrator::new(crate::migrations::Embedded(&MIGRATIONS[..4]))
            .await
            .unwrap();
        v4.run(&pool).await.unwrap();
        sqlx::query(
            "INSERT INTO client_streams (client_uri, last_cursor) VALUES ('c', 2); \
             INSERT INTO deliveries (client_uri, cursor, room, kind, body, created_ms) \
             VALUES ('c', 1, 'r', 'welcome', x'01', 10), ('c', 2, 'r', 'fanout', x'02', 20)",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;

        let s = SqliteStore::open(&path).await.unwrap();
        crate::migrations::assert_streams_migrated(&s).await;
    }

    #[test]
    fn error_classes() {
        assert!(StoreError::Busy(String::new()).is_retryable());
        assert!(StoreError::Full(String::new()).is_retryable());
        assert!(!StoreError::Conflict(String::new()).is_retryable());
        assert!(!StoreError::Corrupt(String::new()).is_retryable());
        assert_eq!(time(u64::MAX), i64::MAX);
        assert!(exact(u64::MAX, "seq").is_err());
        assert!(unsigned(-1, "x").is_err());
    }
}
