//! Room policy engine (draft-ietf-mimi-room-policy-03, draft-ietf-mimi-protocol-06 §7):
//! decides whether a set of room changes is allowed and computes the resulting room state.
//!
//! Pure: no MLS, no I/O, no clock. The caller decodes the room components into a
//! [`PolicyState`], reads the group's clients into a [`Membership`], and describes each
//! proposal of a commit as a [`Change`] by an [`Actor`]:
//!
//! ```text
//!   PolicyState + Membership ──┐
//!   [Change { actor, kind }] ──┴─► apply_commit ──► Ok(CommitOutcome { state, membership, .. })
//!                                                └─► Err(PolicyError)   (nothing applies)
//! ```
//!
//! [`apply_commit`] checks, in this order (docs/decisions/0031):
//!
//! 1. composition: one metadata update, one update per replaced component, no role
//!    definitions with a participant-list change, no preauthorization with a list change
//!    other than removals;
//! 2. standing of each actor (a member has a client; removed or banned members only remove
//!    their own clients; banned users do not join);
//! 3. participant-list structure ([`apply_participant_updates`], docs/decisions/0030);
//! 4. client removes, then adds;
//! 5. authorization of every change by its actor against the state before the commit
//!    (room-policy-03 §8, docs/decisions/0033 for the hub and followers);
//! 6. validity of the resulting state ([`PolicyState::validate`]);
//! 7. per-role participant constraints (docs/decisions/0032).
//!
//! [`check_proposal`] and [`check_proposal_with_pending`] apply the same rules to
//! standalone proposals as the hub accepts them (protocol-06 §7.1).
//!
//! [`Preset`] holds the example role sets of room-policy-03 Appendix A and two more.

mod authorize;
mod change;
mod commit;
mod error;
mod participants;
mod presets;
mod roles;
mod state;

pub use change::{Actor, Change, ChangeKind, CommitOutcome};
pub use commit::{apply_commit, check_proposal, check_proposal_with_pending};
pub use error::PolicyError;
pub use participants::apply_participant_updates;
pub use presets::{Preset, cooperative, dm, moderated, multi_org, open, strict};
pub use roles::BANNED_ROLE_NAME;
pub use state::{BANNED_ROLE, Membership, NO_ROLE, PolicyState};

#[cfg(test)]
mod tests;
