//! Why the policy engine refused a change.

use mimi_types::id::{ClientUri, MimiUri, ProviderDomain};
use mimi_types::wire::{Capability, ComponentId};

/// A room change broke a rule of the room policy. Nothing was applied.
///
/// Each variant names one rule; its doc comment cites the draft section (or the decision
/// record, where the drafts are silent) that states it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    // ----- participant list structure -----
    /// A `user_index` or removed index does not index the participant list as it was before
    /// the commit. protocol-06 §7.5 ("the index of the `participants` vector in the current
    /// `ParticipantListData`"); docs/decisions/0030.
    #[error("participant index {index} is out of range (the list has {len} entries)")]
    IndexOutOfRange {
        /// The index.
        index: u32,
        /// Length of the participant list.
        len: usize,
    },
    /// The commit adds, removes or changes the role of the same user more than once.
    /// protocol-06 §7.5 ("A single commit is not valid if it contain any combination of
    /// Participant list updates that operate on ... the same user ... more than once").
    #[error("the commit operates on user {user} more than once")]
    UserTouchedTwice {
        /// The user.
        user: MimiUri,
    },
    /// A user would appear twice in the participant list. protocol-06 §7.5 ("each user is
    /// assigned exactly one role").
    #[error("user {user} is already in the participant list")]
    DuplicateParticipant {
        /// The user.
        user: MimiUri,
    },
    /// A user would be given role 0 in the list. room-policy-03 §3 ("role_index zero is
    /// reserved to refer to a participant that does not ... appear in the participant list").
    #[error("user {user} cannot have role 0 in the participant list")]
    RoleZeroInList {
        /// The user.
        user: MimiUri,
    },
    /// A participant's role index is not defined in the roles list. room-policy-03 §3
    /// (`role_index` "is used to refer to the role elsewhere").
    #[error("role {role} of user {user} is not defined in the room's roles")]
    UnknownRole {
        /// The user.
        user: MimiUri,
        /// The undefined role index.
        role: u32,
    },
    /// A participant-list entry or a client's user is not a user or pseudonym URI.
    /// protocol-06 §7.5 (`participants.user` is a user identifier).
    #[error("{uri} is not a user or pseudonym URI")]
    NotAUser {
        /// The URI.
        uri: MimiUri,
    },
    /// A pseudonym URI in a room whose base policy has `pseudonyms_allowed = false`.
    /// room-policy-03 §5 (`pseudonyms_allowed`).
    #[error("pseudonym {user} is not allowed in this room")]
    PseudonymNotAllowed {
        /// The pseudonym.
        user: MimiUri,
    },

    // ----- composition of one commit -----
    /// More than one room metadata update in one commit. protocol-06 §7.6 ("Only a single
    /// Room metadata update is valid per commit").
    #[error("more than one room metadata update in one commit")]
    MultipleMetadataUpdates,
    /// More than one update of a replaced policy component (roles, preauth, base policy or
    /// another policy component) in one commit. docs/decisions/0031.
    #[error("more than one update of component 0x{component:04x} in one commit")]
    DuplicateComponentUpdate {
        /// The component.
        component: ComponentId,
    },
    /// A role definitions update in the same commit as a participant-list change.
    /// room-policy-03 §3 ("an update to this component is not valid if it appear in the same
    /// commit as any Participant List change").
    #[error("role definitions cannot change in a commit that changes the participant list")]
    RolesWithParticipantChange,
    /// A preauthorization update in the same commit as a participant-list change other than
    /// user removals. room-policy-03 §4 ("not valid if it appears in the same commit as any
    /// Participant List change, except for user removals").
    #[error("preauthorization cannot change in a commit that adds users or changes roles")]
    PreAuthWithParticipantChange,
    /// `ChangeKind::OtherPolicy` names a component that has its own typed change kind.
    /// docs/decisions/0034.
    #[error("component 0x{component:04x} must be changed through its typed change kind")]
    NotOtherPolicy {
        /// The component.
        component: ComponentId,
    },

    // ----- validity of the policy components -----
    /// Two roles share a `role_index`. room-policy-03 §3 (`role_index` "is used to refer to
    /// the role elsewhere").
    #[error("role index {role} is defined more than once")]
    DuplicateRoleIndex {
        /// The role index.
        role: u32,
    },
    /// `canOpenJoin` on a non-zero role. room-policy-03 §8.1.1 ("`canOpenJoin` MUST NOT
    /// appear in any non-zero role").
    #[error("role {role} is non-zero and holds canOpenJoin")]
    OpenJoinOnNonZeroRole {
        /// The role index.
        role: u32,
    },
    /// A fixed-membership room has a non-zero, non-banned role holding `canAddParticipant`.
    /// room-policy-03 §5 ("none of its non-zero, non-banned roles can contain the
    /// `canAddParticipant` capability").
    #[error("role {role} holds canAddParticipant in a fixed-membership room")]
    AddParticipantInFixedRoom {
        /// The role index.
        role: u32,
    },
    /// `parent_room` is empty although `parent_dependant` is true, or set although it is
    /// false. room-policy-03 §5 ("If `parent-dependent` is true, the `parent_room` MUST be
    /// set ... Otherwise the field is zero-length").
    #[error("parent_room must be set exactly when the room is parent-dependent")]
    ParentRoomInconsistent,
    /// A metadata update changes the room URI. docs/decisions/0034.
    #[error("the room URI in the room metadata cannot change")]
    RoomUriChanged,

    // ----- who may act -----
    /// A member actor has no client in the group. docs/decisions/0031 (`Actor::Member` is a
    /// client already in the group).
    #[error("{user} has no client in the group")]
    ActorNotInGroup {
        /// The user.
        user: MimiUri,
    },
    /// A member whose user is not in the participant list, or is banned, did something other
    /// than removing its own clients. protocol-06 §5.3 (the hub "MUST prevent it from sending
    /// any proposals except for `Remove` and `SelfRemove` ... for its users").
    #[error("{user} is not a participant (or is banned) and may only remove its own clients")]
    ActorNotParticipant {
        /// The user.
        user: MimiUri,
    },
    /// A banned user tried to join or add a client. room-policy-03 §4 (preauthorization
    /// "prevents an explicitly banned user from rejoining"); protocol-06 §5.3.
    #[error("{user} is banned from the room")]
    JoinerBanned {
        /// The user.
        user: MimiUri,
    },
    /// A joining (external) user tried something other than adding itself and its own
    /// clients, or removing its own old client. docs/decisions/0035.
    #[error("a joining user ({user}) may only add itself and its own client: {action}")]
    NotAllowedForJoiner {
        /// The joining user.
        user: MimiUri,
        /// What it tried.
        action: &'static str,
    },
    /// The hub or a follower, as an MLS external sender, tried something it may not do.
    /// docs/decisions/0033.
    #[error("the {sender} may not {action}")]
    NotAllowedForExternalSender {
        /// `"hub"` or `"follower"`.
        sender: &'static str,
        /// What it tried.
        action: &'static str,
    },
    /// A follower acted on a user of another provider. docs/decisions/0033 (a follower acts
    /// only for its own users).
    #[error("follower {domain} may not act on {user}, a user of another provider")]
    FollowerForeignUser {
        /// The follower's domain.
        domain: ProviderDomain,
        /// The user.
        user: MimiUri,
    },

    // ----- authorization -----
    /// The actor's role lacks the capability the change needs. room-policy-03 §8 ("the
    /// `role_capabilities` list contains the relevant capability").
    #[error("role {role} lacks {capability:?}")]
    MissingCapability {
        /// The actor's role index (0 for a non-participant).
        role: u32,
        /// The capability needed.
        capability: Capability,
    },
    /// The actor's role holds the capability but its `authorized_role_changes` has no entry
    /// from `from` listing `to`. room-policy-03 §8.1 (each membership and role-change
    /// capability "consults its role's `authorized_role_changes` entries").
    #[error("{capability:?} does not authorize moving a user from role {from} to role {to}")]
    RoleChangeNotAuthorized {
        /// The capability used.
        capability: Capability,
        /// Source role (0 = not in the list).
        from: u32,
        /// Target role (0 = removed from the list).
        to: u32,
    },
    /// `canBan`/`canUnBan` used in a room whose role 1 is absent or not named `banned`.
    /// room-policy-03 §8.1.3 ("to use the `canBan` and `canUnban` capabilities, the role
    /// needs to exist exactly as described above").
    #[error("the room has no role 1 named \"banned\"")]
    BannedRoleUndefined,
    /// A non-participant's join as `role` is authorized neither by `canOpenJoin` on role 0
    /// nor by `canJoinIfPreauthorized` with a first-matching preauthorization.
    /// room-policy-03 §8.1.1 (`canOpenJoin`, `canJoinIfPreauthorized`).
    #[error("{user} may not join as role {role}")]
    JoinNotAuthorized {
        /// The joining user.
        user: MimiUri,
        /// The requested role.
        role: u32,
    },
    /// `canChangeOwnRole`: the requested role is not the first non-zero role the member's
    /// claims match in the preauthorization list. room-policy-03 §8.1.3 (`canChangeOwnRole`).
    #[error("{user} may change its own role only to {matched:?}, not {requested}")]
    PreauthRoleMismatch {
        /// The member.
        user: MimiUri,
        /// The requested role.
        requested: u32,
        /// The first non-zero preauthorized role its claims match, if any.
        matched: Option<u32>,
    },
    /// A role change to the role the user already has. docs/decisions/0031.
    #[error("user {user} already has role {role}")]
    RoleUnchanged {
        /// The user.
        user: MimiUri,
        /// The role.
        role: u32,
    },
    /// A user added to or removed from the participant list of a fixed-membership room.
    /// room-policy-03 §5 ("other users cannot be added"; "Ordinary users cannot leave or be
    /// removed"); docs/decisions/0034.
    #[error("the room has fixed membership: {user} cannot be added or removed")]
    FixedMembership {
        /// The user.
        user: MimiUri,
    },

    // ----- clients -----
    /// An added client is already in the group. RFC 9420 §12.2 (a client is one member).
    #[error("client {client} is already in the group")]
    DuplicateClient {
        /// The client.
        client: ClientUri,
    },
    /// A removed client is not in the group as a client of the user the change names.
    /// RFC 9420 §12.1.3 (a Remove names a current member).
    #[error("client {client} is not in the group as a client of the named user")]
    UnknownClient {
        /// The client.
        client: ClientUri,
    },
    /// An added client's user is not a (non-banned) participant after the commit.
    /// protocol-06 §5.3 ("the proposal containing the participant list change MUST be
    /// committed either before or simultaneously with the corresponding MLS operation").
    #[error("a client of {user} is added but {user} is not a participant after the commit")]
    ClientOfNonParticipant {
        /// The client's user.
        user: MimiUri,
    },
    /// A user removed from the list or banned (or otherwise not a participant) still has
    /// clients after the commit. room-policy-03 §8.1.2 ("There MUST NOT be any clients of
    /// the removed user in the MLS group after the corresponding commit"), §8.1.3 (`canBan`
    /// "removes all the banned user's clients"); protocol-06 §5.3.
    #[error("{user} is not a participant (or is banned) but still has clients")]
    NonParticipantHasClients {
        /// The user.
        user: MimiUri,
    },
    /// A user has more than one client in a room with `multi_device = false`.
    /// room-policy-03 §5 ("If false only a single client can be an MLS member at one time").
    #[error("{user} has {count} clients but the room is single-device")]
    SingleDevice {
        /// The user.
        user: MimiUri,
        /// Its number of clients.
        count: usize,
    },
    /// The group has more clients than `max_clients`. room-policy-03 §5 ("the room's
    /// associated MLS group MUST NOT have more clients than the provided value").
    #[error("the group would have {count} clients, more than max_clients = {max}")]
    MaxClientsExceeded {
        /// Clients after the commit.
        count: usize,
        /// The limit.
        max: u32,
    },
    /// The participant list has more non-banned entries than `max_users`. room-policy-03 §5
    /// ("the room MUST NOT have more non-banned entries in the participant list than that
    /// value").
    #[error("the room would have {count} non-banned users, more than max_users = {max}")]
    MaxUsersExceeded {
        /// Non-banned users after the commit.
        count: usize,
        /// The limit.
        max: u32,
    },

    // ----- per-role constraints (docs/decisions/0032) -----
    /// The commit lowers the number of participants with `role` below its
    /// `minimum_participants_constraint`. room-policy-03 §3 and §8.1.2/§8.1.3 (removals and
    /// role changes require the minimum to be satisfied).
    #[error("role {role} would have {count} participants, fewer than its minimum {min}")]
    BelowMinParticipants {
        /// The role.
        role: u32,
        /// Participants with the role after the commit.
        count: usize,
        /// The minimum.
        min: u32,
    },
    /// The commit raises the number of participants with `role` above its
    /// `maximum_participants_constraint`. room-policy-03 §3 and §8.1.1/§8.1.3 (additions and
    /// role changes must respect the maximum).
    #[error("role {role} would have {count} participants, more than its maximum {max}")]
    AboveMaxParticipants {
        /// The role.
        role: u32,
        /// Participants with the role after the commit.
        count: usize,
        /// The maximum.
        max: u32,
    },
    /// The commit lowers the number of active participants (with at least one client) with
    /// `role` below its `minimum_active_participants_constraint`. room-policy-03 §3,
    /// §8.1.2 (`canRemoveOwnClient`, `canKick`, removals).
    #[error("role {role} would have {count} active participants, fewer than its minimum {min}")]
    BelowMinActive {
        /// The role.
        role: u32,
        /// Active participants with the role after the commit.
        count: usize,
        /// The minimum.
        min: u32,
    },
    /// The commit raises the number of active participants with `role` above its
    /// `maximum_active_participants_constraint` (0 = no clients allowed). room-policy-03 §3
    /// ("If the maximum number of active participants is zero, then no participants are
    /// allowed to have clients").
    #[error("role {role} would have {count} active participants, more than its maximum {max}")]
    AboveMaxActive {
        /// The role.
        role: u32,
        /// Active participants with the role after the commit.
        count: usize,
        /// The maximum.
        max: u32,
    },

    // ----- parent-dependent rooms -----
    /// A participant of a parent-dependent room is not a participant of the parent room.
    /// room-policy-03 §5 ("the list of participants of the room MUST be a strict subset of
    /// the participants of the parent room"); docs/decisions/0034.
    #[error("{user} is not a participant of the parent room")]
    NotInParentRoom {
        /// The user.
        user: MimiUri,
    },
}
