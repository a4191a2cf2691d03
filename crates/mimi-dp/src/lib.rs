//! The distribution point (DP) of MIMI identifier discovery as an HTTP service
//! (docs/discovery.md §10.1): the sans-IO [`mimi_lookup::DistributionPoint`] behind an axum
//! router, with its OPRF key in a file, several publishers with their own bearer tokens, and
//! its store made durable by a journal that every accepted upload is appended to before it is
//! answered (docs/decisions/0130).
//!
//! ```text
//!  GET  /discovery/v1/key       ──▶ KeyInfo [1, key_id, public_key]        (application/cbor)
//!  POST /discovery/v1/evaluate  BlindedQuery ──▶ Evaluation     rate limited per peer address
//!  POST /discovery/v1/lookup    LookupRequest ──▶ LookupResponse
//!  POST /discovery/v1/upload    UploadRequest ──▶ UploadResponse   Authorization: Bearer <token>
//! ```
//!
//! Data directory ([`DpFiles`]): `dp-key` (the OPRF secret, hex, mode 0600, created at first
//! start), `publisher-token` (the `default` publisher's bearer token, hex, 0600),
//! `publishers` (the other publishers: name and SHA-256 of the token), `store.cbor` (the
//! store's snapshot, rewritten atomically at start, when the journal grows past
//! [`DpOptions::journal_max_bytes`] and at a graceful stop) and `journal` (every upload since
//! that snapshot, fsynced before it is answered). The DP never sees an SII, and it logs no
//! request body.
#![deny(missing_docs)]

mod files;
mod gateway;
mod http;
mod journal;
pub mod relay;

pub use files::{
    DEFAULT_PUBLISHER, DpFiles, KEY_FILE, LOCK_FILE, MAX_PUBLISHER_NAME_LEN, OHTTP_KEY_FILE,
    PUBLISHERS_FILE, Publisher, STORE_FILE, TOKEN_FILE, check_publisher_name,
};
pub use gateway::Gateway;
pub use http::{DpOptions, DpState, router, serve};
pub use journal::{JOURNAL_FILE, OLD_JOURNAL_FILE};

/// The media type of every request and response body (except error texts and OHTTP).
pub const CBOR: &str = "application/cbor";
/// An encapsulated request (RFC 9458 §9.2).
pub const OHTTP_REQUEST: &str = "message/ohttp-req";
/// An encapsulated response (RFC 9458 §9.3).
pub const OHTTP_RESPONSE: &str = "message/ohttp-res";
/// A list of OHTTP key configurations (RFC 9458 §9.1).
pub const OHTTP_KEYS: &str = "application/ohttp-keys";

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
    /// A publisher name that is not 1 to 64 characters of `a-z`, `0-9`, `.` and `-`.
    #[error("invalid publisher name {0:?}: 1 to 64 characters of a-z, 0-9, '.' and '-'")]
    InvalidPublisherName(String),
    /// A publisher of that name exists already.
    #[error("publisher {0:?} exists already")]
    DuplicatePublisher(String),
    /// A configuration value is unusable (a relay's gateway URL, the OHTTP key).
    #[error("{0}")]
    Config(String),
    /// Another distribution point serves the data directory.
    #[error("{path}: another distribution point is using this data directory")]
    InUse {
        /// The directory.
        path: String,
    },
}

/// The rate-limited requester behind a connection from `ip` (docs/decisions/0118): the
/// address itself for IPv4, its /64 prefix for IPv6 (one subscriber's link usually has a whole
/// /64, so per-address buckets would hand out 2^64 budgets). An IPv4-mapped IPv6 address counts
/// as its IPv4 address.
pub fn requester(ip: std::net::IpAddr) -> std::net::IpAddr {
    use std::net::{IpAddr, Ipv6Addr};
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::requester;
    use std::net::IpAddr;

    #[test]
    fn requesters_are_ipv4_addresses_and_ipv6_slash_64s() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("address");
        assert_eq!(requester(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(requester(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(
            requester(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(
            requester(ip("2001:db8:1:2::1")),
            requester(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            requester(ip("2001:db8:1:2::1")),
            requester(ip("2001:db8:1:3::1"))
        );
    }
}
