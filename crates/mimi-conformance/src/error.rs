//! The crate's error type.

/// What can stop the suite from running (a failing case is not an error: it is a result).
#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    /// The suite's own files (certificates, keys, directories).
    #[error("suite files: {0}")]
    Files(String),
    /// TLS configuration.
    #[error("TLS: {0}")]
    Tls(String),
    /// The suite's peer listeners could not start.
    #[error("peer listener: {0}")]
    Listener(String),
    /// The target could not be reached at all.
    #[error("target: {0}")]
    Target(String),
    /// An I/O error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
