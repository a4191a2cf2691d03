//! The MIMI provider server: federation over mutual TLS, durable storage, delivery, client
//! API. This crate is the I/O shell around the sans-IO room engine (`mimi-room`).
#![deny(missing_docs)]

pub mod access_log;
pub mod admin;
pub mod client_api;
pub mod config;
pub mod delivery;
pub mod directory_ops;
mod error;
pub mod federation;
pub mod hub_ops;
pub mod init;
pub mod keys;
pub mod limits;
pub mod listener;
pub mod local;
pub mod metrics;
pub mod provider;
pub mod serve;
pub mod tls;
pub mod wakeups;

pub use error::ServerError;
