//! Fanout effects: which provider gets which message (protocol-06 §5.5).

use mimi_types::id::ProviderDomain;
use mimi_types::wire::FanoutMessage;

/// Deliver `message` to `destination` with `POST /notify/{roomId}` (or locally when the
/// destination is the hub itself). The caller persists these with the event before answering.
#[derive(Debug, Clone, PartialEq)]
pub struct Fanout {
    /// The provider to notify.
    pub destination: ProviderDomain,
    /// What to send.
    pub message: FanoutMessage,
}

/// An accepted event: its room sequence number and its deliveries.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// The room's sequence number for this event (strictly increasing per room).
    pub seq: u64,
    /// Deliveries, in the order they must be sent.
    pub fanout: Vec<Fanout>,
}
