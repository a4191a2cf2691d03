//! The crate's error type.

/// What went wrong in a client operation.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The client is not in this room.
    #[error("not a member of room {0}")]
    UnknownRoom(String),
    /// OpenMLS refused an operation or an incoming message.
    #[error("MLS: {0}")]
    Mls(String),
    /// The room state in the group is not a valid MIMI room state.
    #[error(transparent)]
    Room(#[from] mimi_room::RoomError),
    /// A wire struct or identifier is malformed.
    #[error(transparent)]
    Wire(#[from] mimi_types::Error),
    /// Message content is invalid.
    #[error("content: {0}")]
    Content(#[from] mimi_content::Error),
    /// The operation makes no sense in the room's current state.
    #[error("{0}")]
    Invalid(String),
    /// The provider's client API refused the request or failed: its status and the one-line
    /// reason it gave (`{"error": ...}`).
    #[error("the provider answered {status}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The provider's reason.
        message: String,
    },
    /// A distribution point refused a request or answered something invalid (identifier
    /// discovery).
    #[error("distribution point: {0}")]
    Discovery(String),
    /// A distribution point's evaluation budget for this requester is used up.
    #[error("rate limited by the distribution point: retry in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until it would answer (its `Retry-After`).
        retry_after_secs: u64,
    },
    /// The provider could not be reached, or its answer could not be read.
    #[error("client API transport: {0}")]
    Transport(String),
}

/// Wrap any displayable OpenMLS error.
pub(crate) fn mls(e: impl std::fmt::Debug) -> ClientError {
    ClientError::Mls(format!("{e:?}"))
}
