//! The policy-relevant room state and the group's membership.

use std::collections::{BTreeMap, BTreeSet};

use mimi_types::id::{ClientUri, MimiUri, ProviderDomain, UriKind};
use mimi_types::wire::{
    BaseRoomPolicy, Capability, ParticipantListData, PreAuthData, Role, RoleData, RoomMetaData,
    UserRolePair,
};

use super::error::PolicyError;
use super::presets::Preset;
use super::roles;

/// The role index of the "banned" role (room-policy-03 §8.1.3: "The "banned" role always has
/// `role_index` = 1 and `role_name` = "banned"").
pub const BANNED_ROLE: u32 = 1;

/// The role index meaning "not in the participant list" (room-policy-03 §3).
pub const NO_ROLE: u32 = 0;

/// The policy-relevant room state: the decoded `roles_list`, `preauth_list`,
/// `base_room_policy`, `participant_list` and `room_metadata` components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyState {
    /// Role definitions (room-policy-03 §3).
    pub roles: RoleData,
    /// Preauthorization rules (room-policy-03 §4).
    pub preauth: PreAuthData,
    /// Base room policy (room-policy-03 §5).
    pub base: BaseRoomPolicy,
    /// The participant list (protocol-06 §7.5).
    pub participants: ParticipantListData,
    /// Room metadata (protocol-06 §7.6), if the room has any.
    pub metadata: Option<RoomMetaData>,
}

impl PolicyState {
    /// A new room: `creator` gets the preset's creator role in a participant list of one.
    ///
    /// Fails if `creator` is not a user (or, where the preset allows pseudonyms, a
    /// pseudonym) URI.
    pub fn new_room(preset: Preset, creator: MimiUri) -> Result<PolicyState, PolicyError> {
        Self::new_room_with(preset, creator, &[])
    }

    /// A new room whose participant list is `creator` with the preset's creator role followed
    /// by `others` with the preset's member role. This is how a fixed-membership room (a DM)
    /// gets its participants at creation (room-policy-03 §5: "have the list of participants
    /// specified when they are created").
    pub fn new_room_with(
        preset: Preset,
        creator: MimiUri,
        others: &[MimiUri],
    ) -> Result<PolicyState, PolicyError> {
        let mut participants = vec![UserRolePair {
            user: creator.into(),
            role_index: preset.creator_role(),
        }];
        participants.extend(others.iter().map(|u| UserRolePair {
            user: u.clone().into(),
            role_index: preset.member_role(),
        }));
        let state = PolicyState {
            roles: preset.roles(),
            preauth: PreAuthData::default(),
            base: preset.base_policy(),
            participants: ParticipantListData { participants },
            metadata: None,
        };
        state.validate(&Membership::new())?;
        Ok(state)
    }

    /// The definition of role `index`, if the room defines it.
    pub fn role(&self, index: u32) -> Option<&Role> {
        roles::find(&self.roles, index)
    }

    /// The role index of `user` in the participant list; `None` if not a participant (role 0).
    pub fn role_index_of(&self, user: &MimiUri) -> Option<u32> {
        self.participants
            .participants
            .iter()
            .find(|p| p.user.uri() == user)
            .map(|p| p.role_index)
    }

    /// The role of `user`; `None` if it is not a participant (role 0) or its role is not
    /// defined.
    pub fn role_of(&self, user: &MimiUri) -> Option<&Role> {
        self.role_index_of(user).and_then(|i| self.role(i))
    }

    /// Whether `user` holds `cap`: through its role if it is a participant, through role 0
    /// (if defined) if it is not (room-policy-03 §8.1.1: `canOpenJoin` "appears on role
    /// zero").
    pub fn has_capability(&self, user: &MimiUri, cap: Capability) -> bool {
        let role = match self.role_index_of(user) {
            Some(i) => self.role(i),
            None => self.role(NO_ROLE),
        };
        role.is_some_and(|r| roles::has(r, cap))
    }

    /// Whether the room has a role 1 named `banned`, which `canBan`/`canUnBan` need
    /// (room-policy-03 §8.1.3).
    pub fn banned_role_defined(&self) -> bool {
        roles::banned_role_defined(&self.roles)
    }

    /// Whether `user` is banned: in the list with role 1, and role 1 is named `banned`
    /// (room-policy-03 §8.1.3).
    pub fn is_banned(&self, user: &MimiUri) -> bool {
        self.role_index_of(user) == Some(BANNED_ROLE) && self.banned_role_defined()
    }

    /// Whether `user` is a participant that is not banned.
    pub fn is_participant(&self, user: &MimiUri) -> bool {
        self.role_index_of(user).is_some() && !self.is_banned(user)
    }

    /// Whether the hub lets `user` send application messages: a participant, not banned,
    /// whose role holds `canSendMessage` (room-policy-03 §8.3; protocol-06 §5.3 and §5.4).
    pub fn can_send_message(&self, user: &MimiUri) -> bool {
        self.participant_has(user, Capability::SEND_MESSAGE)
    }

    /// Whether the hub fans application messages out to `user`: a participant, not banned,
    /// whose role holds `canReceiveMessage` (room-policy-03 §8.3; protocol-06 §5.3).
    pub fn can_receive_message(&self, user: &MimiUri) -> bool {
        self.participant_has(user, Capability::RECEIVE_MESSAGE)
    }

    fn participant_has(&self, user: &MimiUri, cap: Capability) -> bool {
        self.is_participant(user) && self.role_of(user).is_some_and(|r| roles::has(r, cap))
    }

    /// Every participant holding `cap` (not banned), computed in one pass over the list: for
    /// per-message decisions in large rooms, e.g. who may receive (canReceiveMessage).
    pub fn participants_with(&self, cap: Capability) -> std::collections::HashSet<&MimiUri> {
        let banned = self.banned_role_defined();
        self.participants
            .participants
            .iter()
            .filter(|p| !(banned && p.role_index == BANNED_ROLE))
            .filter(|p| self.role(p.role_index).is_some_and(|r| roles::has(r, cap)))
            .map(|p| p.user.uri())
            .collect()
    }

    /// Number of non-banned entries in the participant list (what `max_users` limits,
    /// room-policy-03 §5).
    pub fn user_count(&self) -> usize {
        let banned = self.banned_role_defined();
        self.participants
            .participants
            .iter()
            .filter(|p| !(banned && p.role_index == BANNED_ROLE))
            .count()
    }

    /// The provider domains of the users in the participant list, banned users included
    /// (protocol-06 §7.4: a follower's certificate leaves `external_senders` when its last
    /// participant leaves).
    pub fn participant_domains(&self) -> BTreeSet<ProviderDomain> {
        self.participants
            .participants
            .iter()
            .map(|p| p.user.uri().domain().clone())
            .collect()
    }

    /// The first non-zero role whose preauthorization entry `claims` match, if any
    /// (room-policy-03 §4; used by `canChangeOwnRole`).
    pub fn preauthorized_role(&self, claims: &[mimi_types::wire::Claim]) -> Option<u32> {
        roles::first_nonzero_preauth_match(&self.preauth, claims)
    }

    /// Check the invariants every room state satisfies, with `membership` the group's
    /// clients: role definitions valid, base policy consistent, each user at most once, no
    /// role 0 and no undefined role in the list, only user/pseudonym URIs (pseudonyms only if
    /// allowed), clients only for non-banned participants, single-device, `max_clients` and
    /// `max_users`.
    ///
    /// Per-role participant constraints are not checked here: they restrict changes, not
    /// states (docs/decisions/0032). [`super::apply_commit`] guarantees this check on every
    /// state it returns.
    pub fn validate(&self, membership: &Membership) -> Result<(), PolicyError> {
        roles::validate_roles(&self.roles, &self.base)?;
        validate_base(&self.base)?;
        self.validate_list()?;
        self.validate_clients(membership, true)
    }

    /// The participant list on its own: unique users, defined non-zero roles, URI kinds.
    pub(crate) fn validate_list(&self) -> Result<(), PolicyError> {
        let mut seen = BTreeSet::new();
        for p in &self.participants.participants {
            let user = p.user.uri();
            check_user_uri(user, &self.base)?;
            if !seen.insert(user) {
                return Err(PolicyError::DuplicateParticipant { user: user.clone() });
            }
            if p.role_index == NO_ROLE {
                return Err(PolicyError::RoleZeroInList { user: user.clone() });
            }
            if self.role(p.role_index).is_none() {
                return Err(PolicyError::UnknownRole {
                    user: user.clone(),
                    role: p.role_index,
                });
            }
        }
        Ok(())
    }

    /// Client-related invariants. `complete` adds "no clients of non-participants or banned
    /// users" (skipped while evaluating standalone proposals).
    pub(crate) fn validate_clients(
        &self,
        membership: &Membership,
        complete: bool,
    ) -> Result<(), PolicyError> {
        // One index instead of a scan of the list per user: large rooms have 10^4 users.
        let roles: std::collections::HashMap<&MimiUri, u32> = self
            .participants
            .participants
            .iter()
            .map(|p| (p.user.uri(), p.role_index))
            .collect();
        let banned_defined = self.banned_role_defined();
        for (user, clients) in &membership.users {
            let participant = match roles.get(user) {
                Some(&role) => !(banned_defined && role == BANNED_ROLE),
                None => false,
            };
            if complete && !participant {
                return Err(PolicyError::NonParticipantHasClients { user: user.clone() });
            }
            // room-policy-03 §5: multi_device = false allows one client per user
            if !self.base.multi_device.0 && clients.len() > 1 {
                return Err(PolicyError::SingleDevice {
                    user: user.clone(),
                    count: clients.len(),
                });
            }
        }
        // room-policy-03 §5: max_clients
        if let Some(max) = self.base.max_clients {
            let count = membership.client_count();
            if count > max as usize {
                return Err(PolicyError::MaxClientsExceeded { count, max });
            }
        }
        // room-policy-03 §5: max_users counts non-banned entries
        if let Some(max) = self.base.max_users {
            let count = self.user_count();
            if count > max as usize {
                return Err(PolicyError::MaxUsersExceeded { count, max });
            }
        }
        Ok(())
    }

    /// Check that every participant of this (parent-dependent) room is a participant of the
    /// parent room (room-policy-03 §5). Banned entries of the child are exempt; banned
    /// entries of the parent do not count as participants. Read as "subset", not "strict
    /// subset": docs/decisions/0034.
    pub fn check_parent_subset(&self, parent: &PolicyState) -> Result<(), PolicyError> {
        for p in &self.participants.participants {
            let user = p.user.uri();
            if self.is_banned(user) {
                continue;
            }
            if !parent.is_participant(user) {
                return Err(PolicyError::NotInParentRoom { user: user.clone() });
            }
        }
        Ok(())
    }
}

/// A participant must be a user URI, or a pseudonym URI where the room allows pseudonyms.
pub(crate) fn check_user_uri(user: &MimiUri, base: &BaseRoomPolicy) -> Result<(), PolicyError> {
    match user.kind() {
        UriKind::User => Ok(()),
        // room-policy-03 §5: pseudonyms_allowed
        UriKind::Pseudonym if base.pseudonyms_allowed.0 => Ok(()),
        UriKind::Pseudonym => Err(PolicyError::PseudonymNotAllowed { user: user.clone() }),
        _ => Err(PolicyError::NotAUser { uri: user.clone() }),
    }
}

/// The base policy on its own: `parent_room` is set exactly when the room is
/// parent-dependent (room-policy-03 §5).
pub(crate) fn validate_base(base: &BaseRoomPolicy) -> Result<(), PolicyError> {
    let parent_set = match base.parent_room.as_slice() {
        [] => false,
        [uri] => !uri.is_empty(),
        _ => return Err(PolicyError::ParentRoomInconsistent),
    };
    if parent_set != base.parent_dependant.0 {
        return Err(PolicyError::ParentRoomInconsistent);
    }
    Ok(())
}

/// The users with clients in the MLS group and their clients (read from the ratchet tree by
/// the caller).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Membership {
    users: BTreeMap<MimiUri, BTreeSet<ClientUri>>,
}

impl Membership {
    /// An empty group.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record that `client` of `user` is in the group. Returns false if it already was.
    pub fn insert(&mut self, user: MimiUri, client: ClientUri) -> bool {
        self.users.entry(user).or_default().insert(client)
    }

    /// Remove `client` of `user`. Returns false if it was not a client of that user.
    pub fn remove(&mut self, user: &MimiUri, client: &ClientUri) -> bool {
        let Some(clients) = self.users.get_mut(user) else {
            return false;
        };
        let removed = clients.remove(client);
        if clients.is_empty() {
            self.users.remove(user);
        }
        removed
    }

    /// The clients of `user` in the group (none if it is not active).
    pub fn clients_of(&self, user: &MimiUri) -> impl Iterator<Item = &ClientUri> + '_ {
        self.users.get(user).into_iter().flatten()
    }

    /// Number of clients of `user` in the group.
    pub fn user_client_count(&self, user: &MimiUri) -> usize {
        self.users.get(user).map_or(0, BTreeSet::len)
    }

    /// Whether `user` has at least one client in the group ("active", docs/decisions/0032).
    pub fn is_active(&self, user: &MimiUri) -> bool {
        self.user_client_count(user) > 0
    }

    /// Whether `client` is in the group, as a client of any user.
    pub fn contains_client(&self, client: &ClientUri) -> bool {
        self.users.values().any(|c| c.contains(client))
    }

    /// Number of clients in the group.
    pub fn client_count(&self) -> usize {
        self.users.values().map(BTreeSet::len).sum()
    }

    /// The users with at least one client.
    pub fn users(&self) -> impl Iterator<Item = &MimiUri> + '_ {
        self.users.keys()
    }

    /// Every (user, client) pair.
    pub fn iter(&self) -> impl Iterator<Item = (&MimiUri, &ClientUri)> + '_ {
        self.users
            .iter()
            .flat_map(|(u, cs)| cs.iter().map(move |c| (u, c)))
    }
}

impl FromIterator<(MimiUri, ClientUri)> for Membership {
    fn from_iter<I: IntoIterator<Item = (MimiUri, ClientUri)>>(iter: I) -> Self {
        let mut m = Membership::new();
        for (u, c) in iter {
            m.insert(u, c);
        }
        m
    }
}
