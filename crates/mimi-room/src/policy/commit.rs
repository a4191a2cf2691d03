//! Evaluating a commit (or standalone proposals): composition, structure, authorization,
//! resulting state, invariants and per-role constraints, in that order
//! (docs/decisions/0031).

use std::collections::{BTreeMap, BTreeSet};

use mimi_types::id::{MimiUri, UriKind};
use mimi_types::wire::ComponentId;
use mimi_types::wire::components as c;

use super::authorize::{self, Ctx};
use super::change::{Change, ChangeKind, CommitOutcome};
use super::error::PolicyError;
use super::participants::{self, ListOp};
use super::roles;
use super::state::{self, BANNED_ROLE, Membership, NO_ROLE, PolicyState};

/// Whether the changes are a whole commit, or proposals that other proposals will complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A commit: everything it implies must be in it.
    Commit,
    /// Standalone proposals: the removal of a leaving user's clients may come in other
    /// proposals (protocol-06 §3.5: `Remove` proposals travel beside the participant-list
    /// update), so "no clients of non-participants" is not required yet.
    Proposal,
}

/// Validate and apply every change of one commit, atomically: `Ok` carries the state and
/// membership after the commit, `Err` the first rule broken (and nothing applies).
///
/// `changes` are in proposal order, the committer's by-value proposals included, each with
/// the actor that sent it. `state` and `membership` are those before the commit (the
/// membership as read from the ratchet tree). The checks, in order: composition of the
/// commit; standing of each actor; participant-list structure (decision 0030); client removes
/// and adds; authorization of every change against the state before the commit; validity of
/// the resulting state; client invariants; per-role constraints (decision 0032).
pub fn apply_commit(
    state: &PolicyState,
    membership: &Membership,
    changes: &[Change],
) -> Result<CommitOutcome, PolicyError> {
    let refs: Vec<&Change> = changes.iter().collect();
    evaluate(state, membership, &refs, Mode::Commit)
}

/// Validate one standalone proposal as the hub receives it (protocol-06 §7.1: its effect
/// applies as soon as the hub accepts it). Same rules as [`apply_commit`], evaluated for this
/// change alone, except that the clients of a user it removes or bans need not be removed by
/// it (the `Remove` proposals are separate MLS proposals).
pub fn check_proposal(
    state: &PolicyState,
    membership: &Membership,
    change: &Change,
) -> Result<(), PolicyError> {
    evaluate(state, membership, &[change], Mode::Proposal).map(|_| ())
}

/// Validate a proposal given the proposals the hub already accepted in this epoch
/// (`pending`, each accepted this way): the new proposal must be valid on its own and
/// compatible with them (no user operated on twice, one metadata update, ...), all authorized
/// against the committed `state`. Returns the room as it stands once the hub accepts it: the
/// state the hub uses for later decisions such as [`PolicyState::can_send_message`]
/// (protocol-06 §7.1); its `membership` still lists the clients whose removal is not yet
/// proposed. A commit holding exactly these proposals (plus the removal of the clients of
/// removed users) then passes [`apply_commit`].
pub fn check_proposal_with_pending(
    state: &PolicyState,
    membership: &Membership,
    pending: &[Change],
    change: &Change,
) -> Result<CommitOutcome, PolicyError> {
    let refs: Vec<&Change> = pending.iter().chain(std::iter::once(change)).collect();
    evaluate(state, membership, &refs, Mode::Proposal)
}

fn evaluate(
    pre: &PolicyState,
    pre_members: &Membership,
    changes: &[&Change],
    mode: Mode,
) -> Result<CommitOutcome, PolicyError> {
    // 1. composition of the commit, and who may act at all
    composition(changes)?;
    for change in changes {
        authorize::standing(pre, pre_members, change)?;
    }

    // 2. participant-list structure (protocol-06 §7.5, docs/decisions/0030)
    let mut updates = Vec::new();
    let mut owners = Vec::new();
    for (i, change) in changes.iter().enumerate() {
        if let ChangeKind::ParticipantList(u) = &change.kind {
            updates.push(u);
            owners.push(i);
        }
    }
    let resolved = participants::resolve(&pre.participants, &updates)?;
    let mut ops: Vec<Vec<ListOp>> = vec![Vec::new(); changes.len()];
    for (owner, these) in owners.iter().zip(resolved.ops) {
        if let Some(slot) = ops.get_mut(*owner) {
            *slot = these;
        }
    }
    for op in ops.iter().flatten() {
        match op {
            ListOp::Add { user, role } | ListOp::ChangeRole { user, to: role, .. } => {
                // room-policy-03 §3: roles are referred to by a defined role_index
                if pre.role(*role).is_none() {
                    return Err(PolicyError::UnknownRole {
                        user: user.clone(),
                        role: *role,
                    });
                }
            }
            ListOp::Remove { .. } => {}
        }
        if let ListOp::ChangeRole { user, from, to } = op
            && from == to
        {
            return Err(PolicyError::RoleUnchanged {
                user: user.clone(),
                role: *to,
            });
        }
    }

    // 3. clients: removes, then adds (RFC 9420 §12.3 applies Removes before Adds)
    let mut members = pre_members.clone();
    for change in changes {
        if let ChangeKind::RemoveClient { user, client } = &change.kind
            && !members.remove(user, client)
        {
            return Err(PolicyError::UnknownClient {
                client: client.clone(),
            });
        }
    }
    for change in changes {
        if let ChangeKind::AddClient { user, client } = &change.kind {
            if !matches!(user.kind(), UriKind::User | UriKind::Pseudonym) {
                return Err(PolicyError::NotAUser { uri: user.clone() });
            }
            if members.contains_client(client) {
                return Err(PolicyError::DuplicateClient {
                    client: client.clone(),
                });
            }
            members.insert(user.clone(), client.clone());
        }
    }

    // 4. authorization of each change against the state before the commit
    let banned_defined = pre.banned_role_defined();
    let mut leaving = BTreeSet::new();
    let mut removed_users = Vec::new();
    let mut joined = BTreeSet::new();
    for op in ops.iter().flatten() {
        match op {
            ListOp::Remove { user, .. } => {
                leaving.insert(user.clone());
                removed_users.push(user.clone());
            }
            ListOp::ChangeRole { user, to, .. } if *to == BANNED_ROLE && banned_defined => {
                leaving.insert(user.clone());
                removed_users.push(user.clone());
            }
            ListOp::Add { user, .. } => {
                joined.insert(user.clone());
            }
            ListOp::ChangeRole { .. } => {}
        }
    }
    let post_roles: BTreeMap<&MimiUri, u32> = resolved
        .list
        .participants
        .iter()
        .map(|p| (p.user.uri(), p.role_index))
        .collect();
    let added_users: Vec<MimiUri> = resolved
        .list
        .participants
        .iter()
        .map(|p| p.user.uri())
        .filter(|u| joined.contains(*u))
        .cloned()
        .collect();
    let ctx = Ctx {
        pre,
        pre_members,
        post_roles,
        ops,
        leaving,
        joined,
    };
    for (i, change) in changes.iter().enumerate() {
        authorize::authorize(&ctx, i, change)?;
    }
    let leaving = ctx.leaving;

    // 5. the resulting state
    let mut post = PolicyState {
        participants: resolved.list,
        ..pre.clone()
    };
    for change in changes {
        match &change.kind {
            ChangeKind::Roles(r) => post.roles = r.clone(),
            ChangeKind::PreAuth(p) => post.preauth = p.clone(),
            ChangeKind::BaseRoom(b) => post.base = b.clone(),
            ChangeKind::Metadata(m) => post.metadata = Some(m.clone()),
            _ => {}
        }
    }

    // 6. validity of the resulting state
    roles::validate_roles(&post.roles, &post.base)?;
    state::validate_base(&post.base)?;
    post.validate_list()?;

    // 7. client invariants
    for change in changes {
        // protocol-06 §5.3: the participant-list change comes no later than the MLS Add
        if let ChangeKind::AddClient { user, .. } = &change.kind
            && !post.is_participant(user)
        {
            return Err(PolicyError::ClientOfNonParticipant { user: user.clone() });
        }
    }
    post.validate_clients(&members, mode == Mode::Commit)?;

    // 8. per-role constraints (docs/decisions/0032). For proposals, the clients of leaving
    // users count as removed, as the commit will remove them.
    let counted = match mode {
        Mode::Commit => members.clone(),
        Mode::Proposal => members
            .iter()
            .filter(|(u, _)| !leaving.contains(*u))
            .map(|(u, c)| (u.clone(), c.clone()))
            .collect(),
    };
    check_constraints(pre, pre_members, &post, &counted)?;

    Ok(CommitOutcome {
        state: post,
        membership: members,
        added_users,
        removed_users,
    })
}

/// Components that have their own [`ChangeKind`].
fn is_typed_component(id: ComponentId) -> bool {
    matches!(
        id,
        c::PARTICIPANT_LIST
            | c::ROOM_METADATA
            | c::ROLES_LIST
            | c::PREAUTH_LIST
            | c::BASE_ROOM_POLICY
    )
}

/// Which changes may share a commit.
fn composition(changes: &[&Change]) -> Result<(), PolicyError> {
    let mut metadata = 0usize;
    let mut replaced: BTreeMap<ComponentId, usize> = BTreeMap::new();
    let mut list_change = false;
    let mut list_change_beyond_removal = false;
    for change in changes {
        let id = match &change.kind {
            ChangeKind::ParticipantList(u) => {
                list_change = true;
                if !u.changed_role_participants.is_empty() || !u.added_participants.is_empty() {
                    list_change_beyond_removal = true;
                }
                continue;
            }
            ChangeKind::Metadata(_) => {
                metadata += 1;
                continue;
            }
            ChangeKind::Roles(_) => c::ROLES_LIST,
            ChangeKind::PreAuth(_) => c::PREAUTH_LIST,
            ChangeKind::BaseRoom(_) => c::BASE_ROOM_POLICY,
            ChangeKind::OtherPolicy(id) => {
                if is_typed_component(*id) {
                    return Err(PolicyError::NotOtherPolicy { component: *id });
                }
                *id
            }
            ChangeKind::AddClient { .. } | ChangeKind::RemoveClient { .. } => continue,
        };
        *replaced.entry(id).or_default() += 1;
    }
    // protocol-06 §7.6: "Only a single Room metadata update is valid per commit"
    if metadata > 1 {
        return Err(PolicyError::MultipleMetadataUpdates);
    }
    // docs/decisions/0031: a replaced component is replaced once
    if let Some((&component, _)) = replaced.iter().find(|(_, n)| **n > 1) {
        return Err(PolicyError::DuplicateComponentUpdate { component });
    }
    // room-policy-03 §3: no role definitions update with any participant-list change
    if list_change && replaced.contains_key(&c::ROLES_LIST) {
        return Err(PolicyError::RolesWithParticipantChange);
    }
    // room-policy-03 §4: no preauth update with a participant-list change but user removals
    if list_change_beyond_removal && replaced.contains_key(&c::PREAUTH_LIST) {
        return Err(PolicyError::PreAuthWithParticipantChange);
    }
    Ok(())
}

/// Participants and active participants (with at least one client) per role.
fn role_counts(state: &PolicyState, members: &Membership) -> BTreeMap<u32, (usize, usize)> {
    let mut counts: BTreeMap<u32, (usize, usize)> = BTreeMap::new();
    for p in &state.participants.participants {
        let entry = counts.entry(p.role_index).or_default();
        entry.0 += 1;
        if members.is_active(p.user.uri()) {
            entry.1 += 1;
        }
    }
    counts
}

/// Per-role constraints restrict changes (docs/decisions/0032): a commit may not lower a
/// role's (active) participants below its minimum, nor raise them above its maximum. A count
/// that is already out of bounds and does not move the wrong way is not an error.
fn check_constraints(
    pre: &PolicyState,
    pre_members: &Membership,
    post: &PolicyState,
    post_members: &Membership,
) -> Result<(), PolicyError> {
    let before = role_counts(pre, pre_members);
    let after = role_counts(post, post_members);
    for role in &post.roles.roles {
        let index = role.role_index;
        if index == NO_ROLE {
            continue;
        }
        let (b, b_active) = before.get(&index).copied().unwrap_or_default();
        let (a, a_active) = after.get(&index).copied().unwrap_or_default();
        let min = role.minimum_participants_constraint;
        if a < min as usize && a < b {
            return Err(PolicyError::BelowMinParticipants {
                role: index,
                count: a,
                min,
            });
        }
        if let Some(max) = role.maximum_participants_constraint
            && a > max as usize
            && a > b
        {
            return Err(PolicyError::AboveMaxParticipants {
                role: index,
                count: a,
                max,
            });
        }
        let min = role.minimum_active_participants_constraint;
        if a_active < min as usize && a_active < b_active {
            return Err(PolicyError::BelowMinActive {
                role: index,
                count: a_active,
                min,
            });
        }
        if let Some(max) = role.maximum_active_participants_constraint
            && a_active > max as usize
            && a_active > b_active
        {
            return Err(PolicyError::AboveMaxActive {
                role: index,
                count: a_active,
                max,
            });
        }
    }
    Ok(())
}
