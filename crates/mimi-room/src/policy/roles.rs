//! Role lookups, role transitions and preauthorization matching (room-policy-03 §3, §4, §8).

use std::collections::BTreeSet;

use mimi_types::wire::{BaseRoomPolicy, Capability, Claim, PreAuthData, Role, RoleData};

use super::error::PolicyError;
use super::state::{BANNED_ROLE, NO_ROLE};

/// The name role 1 must have for banning (room-policy-03 §8.1.3).
pub const BANNED_ROLE_NAME: &str = "banned";

/// The role with `index`, if defined.
pub(crate) fn find(roles: &RoleData, index: u32) -> Option<&Role> {
    roles.roles.iter().find(|r| r.role_index == index)
}

/// Whether `role` holds `cap`.
pub(crate) fn has(role: &Role, cap: Capability) -> bool {
    role.role_capabilities.contains(&cap)
}

/// Whether role 1 exists and is named `banned` (room-policy-03 §8.1.3).
pub(crate) fn banned_role_defined(roles: &RoleData) -> bool {
    find(roles, BANNED_ROLE).is_some_and(|r| r.role_name.as_str() == BANNED_ROLE_NAME)
}

/// Whether `role`'s `authorized_role_changes` has an entry from `from` listing `to`
/// (room-policy-03 §3, §8.1). Several entries with the same `from_role_index` are all
/// consulted.
pub(crate) fn transition_allowed(role: &Role, from: u32, to: u32) -> bool {
    role.authorized_role_changes
        .iter()
        .any(|e| e.from_role_index == from && e.target_role_indexes.contains(&to))
}

/// Check role definitions: unique indices (room-policy-03 §3), `canOpenJoin` only on role 0
/// (§8.1.1), and in a fixed-membership room no non-zero non-banned role with
/// `canAddParticipant` (§5).
pub(crate) fn validate_roles(roles: &RoleData, base: &BaseRoomPolicy) -> Result<(), PolicyError> {
    let mut seen = BTreeSet::new();
    let banned = banned_role_defined(roles);
    for role in &roles.roles {
        let index = role.role_index;
        if !seen.insert(index) {
            return Err(PolicyError::DuplicateRoleIndex { role: index });
        }
        // room-policy-03 §8.1.1: "canOpenJoin MUST NOT appear in any non-zero role"
        if index != NO_ROLE && has(role, Capability::OPEN_JOIN) {
            return Err(PolicyError::OpenJoinOnNonZeroRole { role: index });
        }
        // room-policy-03 §5: fixed membership, no non-zero non-banned role adds users
        let is_banned_role = banned && index == BANNED_ROLE;
        if base.fixed_membership.0
            && index != NO_ROLE
            && !is_banned_role
            && has(role, Capability::ADD_PARTICIPANT)
        {
            return Err(PolicyError::AddParticipantInFixedRoom { role: index });
        }
    }
    Ok(())
}

/// Whether a preauthorization entry's claim set is satisfied by `claims`: every claim of the
/// set has a claim in `claims` with the same `claim_id` and exactly the same `claim_value`
/// (room-policy-03 §4). An empty claim set matches everyone (docs/decisions/0035).
fn matches(claimset: &[Claim], claims: &[Claim]) -> bool {
    claimset.iter().all(|want| {
        claims
            .iter()
            .any(|have| have.claim_id == want.claim_id && have.claim_value == want.claim_value)
    })
}

/// The role of the first entry `claims` match, for joins (room-policy-03 §8.1.1
/// `canJoinIfPreauthorized`: "the first matching role"). An entry whose role is 0 matches and
/// denies (docs/decisions/0035).
pub(crate) fn first_preauth_match(preauth: &PreAuthData, claims: &[Claim]) -> Option<u32> {
    preauth
        .preauthorized_entries
        .iter()
        .find(|e| matches(&e.claimset, claims))
        .map(|e| e.target_role.role_index)
}

/// The role of the first entry with a non-zero role that `claims` match, for own role
/// changes (room-policy-03 §8.1.3 `canChangeOwnRole`: "the first non-zero role it matches").
pub(crate) fn first_nonzero_preauth_match(preauth: &PreAuthData, claims: &[Claim]) -> Option<u32> {
    preauth
        .preauthorized_entries
        .iter()
        .filter(|e| e.target_role.role_index != NO_ROLE)
        .find(|e| matches(&e.claimset, claims))
        .map(|e| e.target_role.role_index)
}
