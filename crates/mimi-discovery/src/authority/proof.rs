//! The receipt of a completed challenge.

use mimi_types::id::UserUri;

use super::code::ChallengeId;
use crate::sii::Sii;

/// Proof that the recipient controls an SII and authorized mapping it to some SSIs
/// (discovery-requirements R1): returned by [`crate::MappingAuthority::complete_proof`] when the
/// right one-time code came back, consumed by [`crate::MappingAuthority::issue`].
///
/// Only the authority makes these, and it keeps its own record of each: `issue` accepts a proof
/// only if it is identical to an unused, unexpired record, so a copy is worth nothing once the
/// original has been used (one use) and a proof for one SII never signs another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofOfControl {
    pub(crate) id: ChallengeId,
    pub(crate) sii: Sii,
    pub(crate) requested_ssis: Vec<UserUri>,
    pub(crate) proven_at: u64,
    pub(crate) expires_at: u64,
}

impl ProofOfControl {
    /// The id of the challenge it completed.
    pub fn id(&self) -> &ChallengeId {
        &self.id
    }

    /// The SII whose control was proven.
    pub fn sii(&self) -> &Sii {
        &self.sii
    }

    /// The SSIs the recipient authorized (those the code was sent for), sorted.
    pub fn requested_ssis(&self) -> &[UserUri] {
        &self.requested_ssis
    }

    /// When the right code came back (UNIX seconds).
    pub fn proven_at(&self) -> u64 {
        self.proven_at
    }

    /// The last second at which [`crate::MappingAuthority::issue`] accepts it.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }
}
