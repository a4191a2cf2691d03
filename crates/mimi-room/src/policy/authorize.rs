//! Authorization of each change by its actor (room-policy-03 §8; protocol-06 §5.3, §7).
//!
//! Every change is authorized against the room state before the commit: the actor's role
//! and capabilities, the role definitions and the preauthorization list are those in force
//! when the commit starts (docs/decisions/0031).

use std::collections::{BTreeMap, BTreeSet};

use mimi_types::id::{MimiUri, ProviderDomain};
use mimi_types::wire::components as c;
use mimi_types::wire::{Capability, Claim, ComponentId, Role, RoomMetaData};

use super::change::{Actor, Change, ChangeKind};
use super::error::PolicyError;
use super::participants::ListOp;
use super::roles;
use super::state::{BANNED_ROLE, Membership, NO_ROLE, PolicyState};

/// What the authorization of one change may look at.
pub(crate) struct Ctx<'a> {
    /// The state before the commit.
    pub pre: &'a PolicyState,
    /// The group's clients before the commit.
    pub pre_members: &'a Membership,
    /// Role of each user in the participant list after the commit.
    pub post_roles: BTreeMap<&'a MimiUri, u32>,
    /// `ops[i]`: the participant-list operations of change `i` (empty for other kinds).
    pub ops: Vec<Vec<ListOp>>,
    /// Users removed from the list or banned in this commit.
    pub leaving: BTreeSet<MimiUri>,
    /// Users added to the list in this commit.
    pub joined: BTreeSet<MimiUri>,
}

impl Ctx<'_> {
    /// The role of `user` after the commit, if it is then a non-banned participant.
    fn post_participant_role(&self, user: &MimiUri) -> Option<u32> {
        let role = self.post_roles.get(user).copied()?;
        if role == BANNED_ROLE && self.pre.banned_role_defined() {
            return None;
        }
        Some(role)
    }

    fn fixed_membership(&self) -> bool {
        self.pre.base.fixed_membership.0
    }
}

/// Authorize change `i` of the commit.
pub(crate) fn authorize(ctx: &Ctx<'_>, i: usize, change: &Change) -> Result<(), PolicyError> {
    let ops = ctx.ops.get(i).map(Vec::as_slice).unwrap_or(&[]);
    match &change.actor {
        Actor::Member(user) => member(ctx, user, None, ops, &change.kind),
        Actor::MemberWithClaims { user, claims } => {
            member(ctx, user, Some(claims), ops, &change.kind)
        }
        Actor::NewMember { user, claims } => joiner(ctx, user, claims, ops, &change.kind),
        Actor::Hub => hub(ctx, ops, &change.kind),
        Actor::Follower(domain) => follower(ctx, domain, ops, &change.kind),
    }
}

/// Whether the actor may act at all, before looking at what it does (docs/decisions/0031):
/// a member has a client in the group and, if removed or banned, only removes its own
/// clients (protocol-06 §5.3); a joiner is not banned (room-policy-03 §4).
pub(crate) fn standing(
    pre: &PolicyState,
    pre_members: &Membership,
    change: &Change,
) -> Result<(), PolicyError> {
    match &change.actor {
        Actor::Member(u) | Actor::MemberWithClaims { user: u, .. } => {
            if !pre_members.is_active(u) {
                return Err(PolicyError::ActorNotInGroup { user: u.clone() });
            }
            if pre.is_participant(u) {
                return Ok(());
            }
            match &change.kind {
                ChangeKind::RemoveClient { user, .. } if user == u => Ok(()),
                _ => Err(PolicyError::ActorNotParticipant { user: u.clone() }),
            }
        }
        Actor::NewMember { user, .. } if pre.is_banned(user) => {
            Err(PolicyError::JoinerBanned { user: user.clone() })
        }
        Actor::NewMember { .. } | Actor::Hub | Actor::Follower(_) => Ok(()),
    }
}

/// `role` must hold `cap` (room-policy-03 §8).
fn require(role: &Role, cap: Capability) -> Result<(), PolicyError> {
    if roles::has(role, cap) {
        Ok(())
    } else {
        Err(PolicyError::MissingCapability {
            role: role.role_index,
            capability: cap,
        })
    }
}

/// Authorize moving a user from role `from` to role `to` through any of `caps`: the first
/// capability the role holds whose rule passes authorizes it. `canBan`/`canUnBan` also need
/// role 1 to be named `banned` (room-policy-03 §8.1.3). If none passes, the error is that of
/// the first capability held, or `MissingCapability` for `caps[0]` if none is held.
fn via(
    ctx: &Ctx<'_>,
    role: &Role,
    caps: &[Capability],
    from: u32,
    to: u32,
) -> Result<(), PolicyError> {
    let mut first_err = None;
    for &cap in caps {
        if !roles::has(role, cap) {
            continue;
        }
        let banning = cap == Capability::BAN || cap == Capability::UNBAN;
        let result = if banning && !ctx.pre.banned_role_defined() {
            Err(PolicyError::BannedRoleUndefined)
        } else if roles::transition_allowed(role, from, to) {
            Ok(())
        } else {
            Err(PolicyError::RoleChangeNotAuthorized {
                capability: cap,
                from,
                to,
            })
        };
        match result {
            Ok(()) => return Ok(()),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or(PolicyError::MissingCapability {
        role: role.role_index,
        capability: caps
            .first()
            .copied()
            .unwrap_or(Capability::CHANGE_USER_ROLE),
    }))
}

/// A client of `u`, already in the group.
fn member(
    ctx: &Ctx<'_>,
    u: &MimiUri,
    claims: Option<&[Claim]>,
    ops: &[ListOp],
    kind: &ChangeKind,
) -> Result<(), PolicyError> {
    if !ctx.pre_members.is_active(u) {
        return Err(PolicyError::ActorNotInGroup { user: u.clone() });
    }
    let pre = ctx.pre;
    let role = match pre.role_index_of(u) {
        Some(index) if !pre.is_banned(u) => pre.role(index).ok_or(PolicyError::UnknownRole {
            user: u.clone(),
            role: index,
        })?,
        // protocol-06 §5.3: a removed or banned user's clients may only send Remove and
        // SelfRemove proposals for its users
        _ => {
            return match kind {
                ChangeKind::RemoveClient { user, .. } if user == u => Ok(()),
                _ => Err(PolicyError::ActorNotParticipant { user: u.clone() }),
            };
        }
    };
    match kind {
        ChangeKind::ParticipantList(_) => ops
            .iter()
            .try_for_each(|op| member_list_op(ctx, u, role, claims, op)),
        // room-policy-03 §8.6
        ChangeKind::Roles(_) => require(role, Capability::CHANGE_ROLE_DEFINITIONS),
        ChangeKind::PreAuth(_) => require(role, Capability::CHANGE_PREAUTHORIZED_USER_LIST),
        // room-policy-03 §8.6 "modify the base room membership style"; docs/decisions/0034
        ChangeKind::BaseRoom(_) => require(role, Capability::CHANGE_ROOM_MEMBERSHIP_STYLE),
        ChangeKind::Metadata(new) => metadata(ctx, role, new),
        ChangeKind::OtherPolicy(id) => other_policy(role, *id),
        ChangeKind::AddClient { user: t, .. } => {
            if t == u {
                // room-policy-03 §8.1.1 canAddOwnClient
                require(role, Capability::ADD_OWN_CLIENT)
            } else {
                // room-policy-03 §8.1.1 canAddParticipant "is also authorized to add any MLS
                // clients matching the added user"; docs/decisions/0036
                let to = ctx
                    .post_participant_role(t)
                    .ok_or_else(|| PolicyError::ClientOfNonParticipant { user: t.clone() })?;
                via(ctx, role, &[Capability::ADD_PARTICIPANT], NO_ROLE, to)
            }
        }
        ChangeKind::RemoveClient { user: t, .. } => {
            if ctx.leaving.contains(t) {
                // required by the removal or ban authorized in this commit
                // (room-policy-03 §8.1.2, §8.1.3; docs/decisions/0036)
                Ok(())
            } else if t == u {
                // room-policy-03 §8.1.2 canRemoveOwnClient
                require(role, Capability::REMOVE_OWN_CLIENT)
            } else {
                // room-policy-03 §8.1.2 canKick
                require(role, Capability::KICK)
            }
        }
    }
}

/// One participant-list operation by member `u` holding `role`.
fn member_list_op(
    ctx: &Ctx<'_>,
    u: &MimiUri,
    role: &Role,
    claims: Option<&[Claim]>,
    op: &ListOp,
) -> Result<(), PolicyError> {
    match op {
        ListOp::Add { user, role: to } => {
            // room-policy-03 §5: fixed membership, "other users cannot be added"
            if ctx.fixed_membership() {
                return Err(PolicyError::FixedMembership { user: user.clone() });
            }
            // room-policy-03 §8.1.1 canAddParticipant: entry from 0 listing the target role
            via(ctx, role, &[Capability::ADD_PARTICIPANT], NO_ROLE, *to)
        }
        ListOp::Remove { user, from } => {
            // room-policy-03 §5: fixed membership, users "cannot leave or be removed"
            if ctx.fixed_membership() {
                return Err(PolicyError::FixedMembership { user: user.clone() });
            }
            if user == u {
                // room-policy-03 §8.1.2 canRemoveSelf: entry from own role listing 0
                via(ctx, role, &[Capability::REMOVE_SELF], *from, NO_ROLE)
            } else {
                // room-policy-03 §8.1.2 canRemoveParticipant: entry from target's role
                // listing 0
                via(ctx, role, &[Capability::REMOVE_PARTICIPANT], *from, NO_ROLE)
            }
        }
        ListOp::ChangeRole { user, from, to } => {
            if user == u {
                // room-policy-03 §8.1.3 canChangeOwnRole: the first non-zero preauthorized
                // role, authorized_role_changes not consulted
                require(role, Capability::CHANGE_OWN_ROLE)?;
                let matched =
                    claims.and_then(|c| roles::first_nonzero_preauth_match(&ctx.pre.preauth, c));
                if matched == Some(*to) {
                    Ok(())
                } else {
                    Err(PolicyError::PreauthRoleMismatch {
                        user: user.clone(),
                        requested: *to,
                        matched,
                    })
                }
            } else if *to == BANNED_ROLE {
                // room-policy-03 §8.1.3 canBan (or canChangeUserRole, which "would allow the
                // same action")
                via(
                    ctx,
                    role,
                    &[Capability::BAN, Capability::CHANGE_USER_ROLE],
                    *from,
                    *to,
                )
            } else if *from == BANNED_ROLE {
                // room-policy-03 §8.1.3 canUnBan: "identical to canChangeUserRole, except
                // that the from_role_index ... MUST be 1"
                via(
                    ctx,
                    role,
                    &[Capability::UNBAN, Capability::CHANGE_USER_ROLE],
                    *from,
                    *to,
                )
            } else {
                // room-policy-03 §8.1.3 canChangeUserRole
                via(ctx, role, &[Capability::CHANGE_USER_ROLE], *from, *to)
            }
        }
    }
}

/// A room metadata update: each changed field needs its capability (room-policy-03 §8.2); the
/// room URI, once set, never changes (docs/decisions/0034).
fn metadata(ctx: &Ctx<'_>, role: &Role, new: &RoomMetaData) -> Result<(), PolicyError> {
    let empty = RoomMetaData::default();
    let old = ctx.pre.metadata.as_ref().unwrap_or(&empty);
    if !old.room_uri.is_empty() && old.room_uri != new.room_uri {
        return Err(PolicyError::RoomUriChanged);
    }
    let fields = [
        (old.room_name != new.room_name, Capability::CHANGE_ROOM_NAME),
        (
            old.room_descriptions != new.room_descriptions,
            Capability::CHANGE_ROOM_DESCRIPTION,
        ),
        (
            old.room_avatar != new.room_avatar,
            Capability::CHANGE_ROOM_AVATAR,
        ),
        (
            old.room_subject != new.room_subject,
            Capability::CHANGE_ROOM_SUBJECT,
        ),
        (old.room_mood != new.room_mood, Capability::CHANGE_ROOM_MOOD),
    ];
    fields
        .iter()
        .filter(|(changed, _)| *changed)
        .try_for_each(|&(_, cap)| require(role, cap))
}

/// Any other policy component (docs/decisions/0034).
fn other_policy(role: &Role, id: ComponentId) -> Result<(), PolicyError> {
    match id {
        c::MLS_OPERATIONAL_POLICY => require(role, Capability::CHANGE_MLS_OPERATIONAL_POLICIES),
        c::JOIN_LINKS => require(role, Capability::CREATE_JOIN_CODE),
        _ if roles::has(role, Capability::CHANGE_ROOM_MEMBERSHIP_STYLE) => Ok(()),
        _ => require(role, Capability::CHANGE_OTHER_POLICY_ATTRIBUTE),
    }
}

/// A client not yet in the group (external commit or new-member proposal) for user `t`.
fn joiner(
    ctx: &Ctx<'_>,
    t: &MimiUri,
    claims: &[Claim],
    ops: &[ListOp],
    kind: &ChangeKind,
) -> Result<(), PolicyError> {
    let pre = ctx.pre;
    // room-policy-03 §4: preauthorization is not consulted for a banned user
    if pre.is_banned(t) {
        return Err(PolicyError::JoinerBanned { user: t.clone() });
    }
    let not_allowed = |action| PolicyError::NotAllowedForJoiner {
        user: t.clone(),
        action,
    };
    match kind {
        ChangeKind::ParticipantList(_) => ops.iter().try_for_each(|op| match op {
            ListOp::Add { user, role } if user == t => {
                if ctx.fixed_membership() {
                    return Err(PolicyError::FixedMembership { user: user.clone() });
                }
                join(ctx, t, claims, *role)
            }
            _ => Err(not_allowed("change other participants")),
        }),
        ChangeKind::AddClient { user, .. } => {
            if user != t {
                return Err(not_allowed("add another user's client"));
            }
            match pre.role_index_of(t) {
                // room-policy-03 §8.1.1 canAddOwnClient "via an external commit or external
                // proposal"
                Some(index) => {
                    let role = pre.role(index).ok_or(PolicyError::UnknownRole {
                        user: t.clone(),
                        role: index,
                    })?;
                    require(role, Capability::ADD_OWN_CLIENT)
                }
                // joining in this commit: authorized with the list addition
                None if ctx.joined.contains(t) => Ok(()),
                None => Err(PolicyError::ClientOfNonParticipant { user: t.clone() }),
            }
        }
        // RFC 9420 §12.4.3.2: an external commit may remove the joiner's own old leaf
        ChangeKind::RemoveClient { user, .. } if user == t => Ok(()),
        ChangeKind::RemoveClient { .. } => Err(not_allowed("remove another user's client")),
        other => Err(not_allowed(other.describe())),
    }
}

/// A non-participant adds itself with role `to`: `canOpenJoin` on role 0 with an entry from 0
/// listing `to`, or `canJoinIfPreauthorized` on `to` when `to` is its first preauthorization
/// match (room-policy-03 §8.1.1).
fn join(ctx: &Ctx<'_>, t: &MimiUri, claims: &[Claim], to: u32) -> Result<(), PolicyError> {
    let pre = ctx.pre;
    if let Some(role0) = pre.role(NO_ROLE)
        && roles::has(role0, Capability::OPEN_JOIN)
        && to != NO_ROLE
        && roles::transition_allowed(role0, NO_ROLE, to)
    {
        return Ok(());
    }
    if let Some(matched) = roles::first_preauth_match(&pre.preauth, claims)
        && matched == to
        && to != NO_ROLE
        && pre
            .role(to)
            .is_some_and(|r| roles::has(r, Capability::JOIN_IF_PREAUTHORIZED))
    {
        return Ok(());
    }
    Err(PolicyError::JoinNotAuthorized {
        user: t.clone(),
        role: to,
    })
}

/// The hub as external sender: removes clients and users and bans (docs/decisions/0033).
fn hub(ctx: &Ctx<'_>, ops: &[ListOp], kind: &ChangeKind) -> Result<(), PolicyError> {
    let not_allowed = |action| PolicyError::NotAllowedForExternalSender {
        sender: "hub",
        action,
    };
    match kind {
        ChangeKind::ParticipantList(_) => ops.iter().try_for_each(|op| match op {
            ListOp::Remove { user, .. } => {
                if ctx.fixed_membership() {
                    Err(PolicyError::FixedMembership { user: user.clone() })
                } else {
                    Ok(())
                }
            }
            ListOp::ChangeRole { to, .. } if *to == BANNED_ROLE => {
                if ctx.pre.banned_role_defined() {
                    Ok(())
                } else {
                    Err(PolicyError::BannedRoleUndefined)
                }
            }
            ListOp::ChangeRole { .. } => Err(not_allowed("change a role other than banning")),
            ListOp::Add { .. } => Err(not_allowed("add a user")),
        }),
        ChangeKind::RemoveClient { .. } => Ok(()),
        other => Err(not_allowed(other.describe())),
    }
}

/// A follower as external sender: removes its own users and their clients
/// (docs/decisions/0033).
fn follower(
    ctx: &Ctx<'_>,
    domain: &ProviderDomain,
    ops: &[ListOp],
    kind: &ChangeKind,
) -> Result<(), PolicyError> {
    let not_allowed = |action| PolicyError::NotAllowedForExternalSender {
        sender: "follower",
        action,
    };
    let own = |user: &MimiUri| {
        if user.is_in_domain(domain) {
            Ok(())
        } else {
            Err(PolicyError::FollowerForeignUser {
                domain: domain.clone(),
                user: user.clone(),
            })
        }
    };
    match kind {
        ChangeKind::ParticipantList(_) => ops.iter().try_for_each(|op| match op {
            ListOp::Remove { user, .. } => {
                own(user)?;
                if ctx.fixed_membership() {
                    Err(PolicyError::FixedMembership { user: user.clone() })
                } else {
                    Ok(())
                }
            }
            ListOp::ChangeRole { .. } => Err(not_allowed("change a role")),
            ListOp::Add { .. } => Err(not_allowed("add a user")),
        }),
        ChangeKind::RemoveClient { user, .. } => own(user),
        other => Err(not_allowed(other.describe())),
    }
}
