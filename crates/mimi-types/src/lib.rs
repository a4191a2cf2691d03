//! MIMI identifiers and protocol wire types.
//!
//! * [`id`]: typed, validated identifiers: `mimi://` URIs of every kind
//!   (draft-mahy-mimi-identity-05), connection-establishment identifiers (handles, E.164 phone
//!   numbers, email addresses), administrative identifiers and display names
//!   (draft-kohbrok-mimi-identifiers).
//! * [`client_api`]: the JSON bodies of the client API a provider offers its own users.
//! * [`wire`]: every struct of draft-ietf-mimi-protocol-06 and draft-ietf-mimi-room-policy-03
//!   with bounded, total TLS-presentation-language codecs.
//!
//! ```text
//!   bytes from a peer ──► wire::*::decode (bounded) ──► typed request ──► room engine
//!   typed response    ──► wire::*::encode           ──► bytes to a peer
//! ```
#![deny(missing_docs)]

pub mod client_api;
mod error;
pub mod id;
pub mod wire;

pub use error::Error;
pub use id::IdError;
