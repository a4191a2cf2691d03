//! The inputs and output of a policy decision: who asks for which change, and what results.

use mimi_types::id::{ClientUri, MimiUri, ProviderDomain};
use mimi_types::wire::{
    BaseRoomPolicy, Claim, ComponentId, ParticipantListUpdate, PreAuthData, RoleData, RoomMetaData,
};

use super::state::{Membership, PolicyState};

/// Who asked for a change: the MLS sender of the proposal, or the committer for changes
/// carried by value in a commit (docs/decisions/0031).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A client of this user that is already in the group.
    Member(MimiUri),
    /// Like [`Actor::Member`], with the claims of the sending client's credential. Only
    /// `canChangeOwnRole` needs them (room-policy-03 §8.1.3: the new role is the first
    /// non-zero preauthorized role the member's claims match).
    MemberWithClaims {
        /// The user.
        user: MimiUri,
        /// Claims of the sender's MLS credential.
        claims: Vec<Claim>,
    },
    /// A client that is not in the group: the joiner of an external commit, or the sender of
    /// an external (new-member) proposal, with the claims of its credential
    /// (room-policy-03 §4, §8.1.1).
    NewMember {
        /// The joiner's user.
        user: MimiUri,
        /// Claims of the joiner's MLS credential.
        claims: Vec<Claim>,
    },
    /// The hub, as MLS external sender (docs/decisions/0033).
    Hub,
    /// A follower provider, as MLS external sender (docs/decisions/0033).
    Follower(ProviderDomain),
}

impl Actor {
    /// The user this actor acts for, if it is a client.
    pub fn user(&self) -> Option<&MimiUri> {
        match self {
            Actor::Member(user)
            | Actor::MemberWithClaims { user, .. }
            | Actor::NewMember { user, .. } => Some(user),
            Actor::Hub | Actor::Follower(_) => None,
        }
    }
}

/// One change of a commit (or one standalone proposal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Who asked for it.
    pub actor: Actor,
    /// What it changes.
    pub kind: ChangeKind,
}

impl Change {
    /// A change by `actor`.
    pub fn new(actor: Actor, kind: ChangeKind) -> Self {
        Self { actor, kind }
    }
}

/// What a change does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    /// An AppDataUpdate of the `participant_list` component (protocol-06 §7.5).
    ParticipantList(ParticipantListUpdate),
    /// An AppDataUpdate replacing the `roles_list` component (room-policy-03 §3).
    Roles(RoleData),
    /// An AppDataUpdate replacing the `preauth_list` component (room-policy-03 §4).
    PreAuth(PreAuthData),
    /// An AppDataUpdate replacing the `base_room_policy` component (room-policy-03 §5).
    BaseRoom(BaseRoomPolicy),
    /// An AppDataUpdate replacing the `room_metadata` component (protocol-06 §7.6).
    Metadata(RoomMetaData),
    /// An AppDataUpdate of any other policy component (room-policy-03 §6, §7); the engine
    /// only authorizes it (docs/decisions/0034).
    OtherPolicy(ComponentId),
    /// An MLS Add of `client`, or the joiner of an external commit.
    AddClient {
        /// The client's user (from its credential).
        user: MimiUri,
        /// The client.
        client: ClientUri,
    },
    /// An MLS Remove or SelfRemove of `client`.
    RemoveClient {
        /// The client's user (from its credential).
        user: MimiUri,
        /// The client.
        client: ClientUri,
    },
}

impl ChangeKind {
    /// Short description, for logs and errors.
    pub fn describe(&self) -> &'static str {
        match self {
            ChangeKind::ParticipantList(_) => "change the participant list",
            ChangeKind::Roles(_) => "change the role definitions",
            ChangeKind::PreAuth(_) => "change the preauthorization list",
            ChangeKind::BaseRoom(_) => "change the base room policy",
            ChangeKind::Metadata(_) => "change the room metadata",
            ChangeKind::OtherPolicy(_) => "change a policy component",
            ChangeKind::AddClient { .. } => "add a client",
            ChangeKind::RemoveClient { .. } => "remove a client",
        }
    }
}

/// The result of an accepted commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitOutcome {
    /// The room state after the commit.
    pub state: PolicyState,
    /// The group's clients after the commit.
    pub membership: Membership,
    /// Users who entered the participant list in this commit, in list order.
    pub added_users: Vec<MimiUri>,
    /// Users who left the participant list or were banned in this commit, in proposal
    /// order. The hub stops their messages at once (protocol-06 §5.3).
    pub removed_users: Vec<MimiUri>,
}
