//! The distribution point (DP) of MIMI identifier discovery as an HTTP service
//! (docs/discovery.md §10.1): the sans-IO [`mimi_lookup::DistributionPoint`] behind an axum
//! router, with its OPRF key in a file and its store made durable after every accepted upload.
//!
//! ```text
//!  GET  /discovery/v1/key       ──▶ KeyInfo [1, key_id, public_key]        (application/cbor)
//!  POST /discovery/v1/evaluate  BlindedQuery ──▶ Evaluation     rate limited per peer address
//!  POST /discovery/v1/lookup    LookupRequest ──▶ LookupResponse
//!  POST /discovery/v1/upload    UploadRequest ──▶ UploadResponse   Authorization: Bearer <token>
//! ```
//!
//! Data directory ([`DpFiles`]): `dp-key` (the OPRF secret, hex, mode 0600, created at first
//! start), `publisher-token` (the upload bearer token, hex, 0600) and `store.cbor` (the
//! store's snapshot, rewritten atomically after every upload that changed it). The DP never
//! sees an SII, and it logs no request body.
#![deny(missing_docs)]

mod files;
mod http;

pub use files::{DpFiles, KEY_FILE, STORE_FILE, TOKEN_FILE};
pub use http::{DpOptions, DpState, router, serve};

/// The media type of every request and response body (except error texts).
pub const CBOR: &str = "application/cbor";

/// Path prefix of every endpoint.
pub const PREFIX: &str = "/discovery/v1";

/// Everything that can stop the DP from starting or persisting.
#[derive(Debug, thiserror::Error)]
pub enum DpError {
    /// A file in the data directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A file in the data directory has invalid contents.
    #[error("{path}: {reason}")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The lookup library refused something (key generation, snapshot).
    #[error("{0}")]
    Lookup(#[from] mimi_lookup::Error),
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
