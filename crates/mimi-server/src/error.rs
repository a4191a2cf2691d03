//! The crate's error type.

/// What can stop the server or fail a request internally.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is unusable; the message says what to fix.
    #[error("configuration: {0}")]
    Config(String),
    /// TLS set-up failed.
    #[error("TLS: {0}")]
    Tls(String),
    /// An I/O failure (sockets, files).
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// Key or certificate generation failed.
    #[error("keys: {0}")]
    Keys(String),
    /// The room engine failed internally.
    #[error(transparent)]
    Room(#[from] mimi_room::RoomError),
    /// A request of a local client is invalid; the message says why.
    #[error("invalid: {0}")]
    Invalid(String),
    /// Storage failed.
    #[error("storage: {0}")]
    Store(String),
    /// Another instance of this provider changed the room first (shared storage,
    /// docs/decisions/0160): nothing was written; the request can be tried again.
    #[error("contended: {0}")]
    Contended(String),
    /// The request conflicts with what exists (a name, key or room already taken); it
    /// changed nothing.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A wire struct could not be encoded or decoded.
    #[error(transparent)]
    Wire(#[from] mimi_types::Error),
    /// A peer could not be reached or answered wrongly.
    #[error("peer {peer}: {reason}")]
    Peer {
        /// The peer's domain.
        peer: String,
        /// What happened.
        reason: String,
    },
}
