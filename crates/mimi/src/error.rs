//! The binary's error type: every failure a command can report, as one line.

/// A command failed; the message is printed to stderr as `mimi: <message>`.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// MIMI content did not decode or a message ID could not be computed.
    #[error("invalid content: {0}")]
    Content(#[from] mimi_content::Error),
    /// An identifier did not parse.
    #[error("invalid identifier: {0}")]
    Identifier(#[from] mimi_types::IdError),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Hex input is malformed.
    #[error("invalid hex: {0}")]
    Hex(#[from] hex::FromHexError),
    /// The operating system's random number generator failed.
    #[error("no randomness available: {0}")]
    Random(getrandom::Error),
    /// The provider failed to set up or run.
    #[error("{0}")]
    Server(#[from] mimi_server::ServerError),
    /// The async runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    /// The client library or the provider's client API refused or failed.
    #[error("{0}")]
    Client(String),
    /// The profile file could not be used.
    #[error("profile: {0}")]
    Profile(String),
    /// Identifier discovery (distribution point, authority, lookup) failed.
    #[error("{0}")]
    Discovery(String),
    /// A benchmark could not set up or run its scenario.
    #[error("bench: {0}")]
    Bench(String),
    /// Arguments that parse but make no sense together.
    #[error("{0}")]
    Usage(String),
}
