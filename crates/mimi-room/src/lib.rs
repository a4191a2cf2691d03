//! MIMI room engine (sans-IO).
//!
//! The hub and follower state machines of draft-ietf-mimi-protocol-06 with OpenMLS validation
//! of every handshake and room policy (draft-ietf-mimi-room-policy-03). Inputs in, state and
//! effects out: no sockets, no files; the caller passes the time.
//!
//! ```text
//!  follower ──/update, /submitMessage, /groupInfo──► HubRoom ──► response + Accepted{seq, Fanout*}
//!  hub ──/notify (FanoutMessage)──► FollowerRoom ──► deliveries to local clients (deduplicated)
//! ```
#![deny(missing_docs)]

pub mod app_data;
mod error;
pub mod follower;
pub mod franking;
pub mod hub;
pub mod identity;
pub mod key_material;
mod mls_util;
pub mod policy;
pub mod profile;

pub use error::RoomError;
