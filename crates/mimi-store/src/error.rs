//! The one error type of every store.

/// Why a store operation failed.
///
/// Every failed operation changed nothing: a write either commits whole or not at all.
/// The variants say who can do something about it:
///
/// | variant | cause | retry? | typical HTTP answer |
/// |---|---|---|---|
/// | [`NotFound`](Self::NotFound) | a row the operation needs does not exist | no | 404 |
/// | [`Conflict`](Self::Conflict) | a uniqueness rule or the room's sequence was violated | no (re-read first) | 409 |
/// | [`Invalid`](Self::Invalid) | the caller passed something unstorable (API misuse) | no | 500 (a bug) |
/// | [`Busy`](Self::Busy) | the database is locked or the pool exhausted | **yes**, soon, with backoff | 503 |
/// | [`Full`](Self::Full) | the disk (or the configured size cap) is full | **yes**, once space is freed | 503 |
/// | [`Io`](Self::Io) | an I/O error reading or writing the database | **yes**, later | 503 |
/// | [`ReadOnly`](Self::ReadOnly) | the database cannot be written (read-only file or mount) | no: operator | 503 |
/// | [`Corrupt`](Self::Corrupt) | the file is not a database, or a stored value is malformed | no: operator | 500 |
/// | [`Migration`](Self::Migration) | the schema could not be brought up to date | no: operator | — |
/// | [`Closed`](Self::Closed) | the store was closed | no | 503 |
/// | [`Database`](Self::Database) | anything else the database reported | no | 500 |
///
/// [`StoreError::is_retryable`] is true exactly for the rows marked **yes**.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A row the operation refers to does not exist (e.g. a client for an unknown user, an
    /// event for an unknown room).
    #[error("not found: {0}")]
    NotFound(String),
    /// A uniqueness rule was violated ("username taken", "handle taken") or a hub event's
    /// sequence number is not the room's next one (another writer committed first; reload the
    /// room). Nothing was written.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The caller passed a value the store cannot hold or a combination that makes no sense
    /// (a number above `i64::MAX`, a snapshot for another room, ...). A bug in the caller.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The database is locked by another writer for longer than the busy timeout, or no
    /// connection became free in time. Retryable.
    #[error("database busy: {0}")]
    Busy(String),
    /// The disk, or the database's configured size cap, is full. Retryable once space is
    /// freed; the previous state is intact.
    #[error("storage full: {0}")]
    Full(String),
    /// An I/O error while reading or writing the database files. Retryable.
    #[error("storage I/O error: {0}")]
    Io(String),
    /// The database cannot be written: opened read-only, or the file or its directory is not
    /// writable.
    #[error("database is read-only: {0}")]
    ReadOnly(String),
    /// The database file is damaged or not a database, or a stored value does not decode.
    #[error("database corrupt: {0}")]
    Corrupt(String),
    /// Applying the schema migrations failed (e.g. the database was written by a newer
    /// version).
    #[error("schema migration failed: {0}")]
    Migration(String),
    /// The store was closed.
    #[error("store closed")]
    Closed,
    /// Any other database error.
    #[error("database error: {0}")]
    Database(String),
}

impl StoreError {
    /// Whether the same operation may succeed later unchanged: [`Busy`](Self::Busy),
    /// [`Full`](Self::Full) and [`Io`](Self::Io). A federation peer should be told to retry
    /// (503), a local worker should back off and try again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Busy(_) | Self::Full(_) | Self::Io(_))
    }

    /// Whether the operation lost against a uniqueness rule or the room's sequence.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict(_))
    }
}

/// Results of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
