//! Federation: the mutual-TLS listener's routes and the client for peers.

pub mod auth;
pub mod client;
pub mod consent;
pub mod proxy;
pub mod routes;
pub mod search;
