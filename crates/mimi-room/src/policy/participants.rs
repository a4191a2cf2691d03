//! Applying `ParticipantListUpdate`s (protocol-06 §7.5) to a participant list.
//!
//! All the updates of one commit are read against the list as it was before the commit
//! (docs/decisions/0030): every `user_index` and removed index of every update indexes that
//! list; role changes apply, then removals, then additions are appended in update order.
//! Because a commit may not operate on the same user twice, the result does not depend on how
//! the updates are split or ordered, except for the order of additions.

use std::collections::{BTreeMap, BTreeSet};

use mimi_types::id::{MimiUri, UriKind};
use mimi_types::wire::{ParticipantListData, ParticipantListUpdate, UserRolePair};

use super::error::PolicyError;
use super::state::NO_ROLE;

/// One operation of a participant-list update, resolved to its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListOp {
    /// `user` enters the list with `role`.
    Add {
        /// The user.
        user: MimiUri,
        /// Its role.
        role: u32,
    },
    /// `user`, with role `from`, leaves the list.
    Remove {
        /// The user.
        user: MimiUri,
        /// Its role before.
        from: u32,
    },
    /// `user` changes from role `from` to role `to`.
    ChangeRole {
        /// The user.
        user: MimiUri,
        /// Its role before.
        from: u32,
        /// Its new role.
        to: u32,
    },
}

/// The list after a commit's updates, and each update's operations.
pub(crate) struct Resolved {
    /// The new list.
    pub list: ParticipantListData,
    /// `ops[k]` are the operations of `updates[k]`.
    pub ops: Vec<Vec<ListOp>>,
}

/// Apply the participant-list updates of one commit, in order, to `list`
/// (protocol-06 §7.5): role changes, then removals, then additions, with every index
/// referring to `list` (docs/decisions/0030).
///
/// Structural checks only (no authorization, no role definitions): indices in range; no user
/// operated on twice across all `updates` (protocol-06 §7.5); no role 0 in the list
/// (room-policy-03 §3); added entries are user or pseudonym URIs not already in the list;
/// the result has each user once.
///
/// ```
/// use mimi_room::policy::apply_participant_updates;
/// use mimi_types::id::MimiUri;
/// use mimi_types::wire::{ParticipantListData, ParticipantListUpdate, UserRolePair};
///
/// let alice = MimiUri::parse("mimi://a.example/u/alice").unwrap();
/// let bob = MimiUri::parse("mimi://b.example/u/bob").unwrap();
/// let list = ParticipantListData {
///     participants: vec![UserRolePair { user: alice.into(), role_index: 4 }],
/// };
/// let add_bob = ParticipantListUpdate {
///     added_participants: vec![UserRolePair { user: bob.into(), role_index: 2 }],
///     ..Default::default()
/// };
/// let after = apply_participant_updates(&list, &[&add_bob]).unwrap();
/// assert_eq!(after.participants.len(), 2);
/// ```
pub fn apply_participant_updates(
    list: &ParticipantListData,
    updates: &[&ParticipantListUpdate],
) -> Result<ParticipantListData, PolicyError> {
    resolve(list, updates).map(|r| r.list)
}

/// [`apply_participant_updates`], also returning each update's resolved operations.
pub(crate) fn resolve(
    list: &ParticipantListData,
    updates: &[&ParticipantListUpdate],
) -> Result<Resolved, PolicyError> {
    let entries = &list.participants;
    let len = entries.len();
    let entry = |index: u32| {
        usize::try_from(index)
            .ok()
            .and_then(|i| entries.get(i).map(|e| (i, e)))
            .ok_or(PolicyError::IndexOutOfRange { index, len })
    };
    // protocol-06 §7.5: no user operated on more than once in one commit
    let mut touched: BTreeSet<MimiUri> = BTreeSet::new();
    let mut touch = |user: &MimiUri| {
        if touched.insert(user.clone()) {
            Ok(())
        } else {
            Err(PolicyError::UserTouchedTwice { user: user.clone() })
        }
    };
    let mut new_roles: BTreeMap<usize, u32> = BTreeMap::new();
    let mut removed: BTreeSet<usize> = BTreeSet::new();
    let mut added: Vec<UserRolePair> = Vec::new();
    let mut ops = Vec::with_capacity(updates.len());

    for update in updates {
        let mut these = Vec::new();
        // protocol-06 §7.5: first changedRoleParticipants ...
        for change in &update.changed_role_participants {
            let (i, e) = entry(change.user_index)?;
            let user = e.user.uri();
            touch(user)?;
            // room-policy-03 §3: role 0 means "not in the list"
            if change.role_index == NO_ROLE {
                return Err(PolicyError::RoleZeroInList { user: user.clone() });
            }
            new_roles.insert(i, change.role_index);
            these.push(ListOp::ChangeRole {
                user: user.clone(),
                from: e.role_index,
                to: change.role_index,
            });
        }
        // ... then removedIndices ...
        for &index in &update.removed_indices {
            let (i, e) = entry(index)?;
            let user = e.user.uri();
            touch(user)?;
            removed.insert(i);
            these.push(ListOp::Remove {
                user: user.clone(),
                from: e.role_index,
            });
        }
        // ... then addedParticipants, appended
        for pair in &update.added_participants {
            let user = pair.user.uri();
            if !matches!(user.kind(), UriKind::User | UriKind::Pseudonym) {
                return Err(PolicyError::NotAUser { uri: user.clone() });
            }
            touch(user)?;
            if pair.role_index == NO_ROLE {
                return Err(PolicyError::RoleZeroInList { user: user.clone() });
            }
            // a user removed in this commit was touched above; any other entry stays
            if entries.iter().any(|e| e.user.uri() == user) {
                return Err(PolicyError::DuplicateParticipant { user: user.clone() });
            }
            added.push(pair.clone());
            these.push(ListOp::Add {
                user: user.clone(),
                role: pair.role_index,
            });
        }
        ops.push(these);
    }

    let mut participants: Vec<UserRolePair> = entries
        .iter()
        .enumerate()
        .filter(|(i, _)| !removed.contains(i))
        .map(|(i, e)| UserRolePair {
            user: e.user.clone(),
            role_index: new_roles.get(&i).copied().unwrap_or(e.role_index),
        })
        .collect();
    participants.extend(added);

    // the input may already have been malformed: the output never is
    let mut seen = BTreeSet::new();
    for p in &participants {
        let user = p.user.uri();
        if !seen.insert(user) {
            return Err(PolicyError::DuplicateParticipant { user: user.clone() });
        }
        if p.role_index == NO_ROLE {
            return Err(PolicyError::RoleZeroInList { user: user.clone() });
        }
    }
    Ok(Resolved {
        list: ParticipantListData { participants },
        ops,
    })
}
