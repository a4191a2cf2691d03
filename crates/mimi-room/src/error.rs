//! The crate's error type.

use mimi_types::wire::ComponentId;

use crate::policy::PolicyError;

/// Why the room engine refused an input or could not proceed.
///
/// Every variant except [`RoomError::Internal`] is the input's fault: the caller answers the
/// peer with the protocol's refusal (or a 4xx) and nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum RoomError {
    /// A required room component is absent from the group's app data dictionary.
    #[error("room component {0} is missing")]
    MissingComponent(&'static str),
    /// An AppDataUpdate proposal is not valid for its component.
    #[error("invalid AppDataUpdate for component 0x{component:04x}: {reason}")]
    InvalidAppDataUpdate {
        /// The component.
        component: ComponentId,
        /// What is wrong.
        reason: String,
    },
    /// The change breaks the room's policy.
    #[error("not allowed by room policy: {0}")]
    Policy(#[from] PolicyError),
    /// Input that is not a valid room state or MLS structure for this room.
    #[error("invalid: {0}")]
    Invalid(String),
    /// A client credential did not verify.
    #[error("credential: {0}")]
    Credential(String),
    /// A wire struct or identifier is malformed.
    #[error(transparent)]
    Wire(#[from] mimi_types::Error),
    /// A bug or broken invariant of this implementation.
    #[error("internal error: {0}")]
    Internal(String),
}
