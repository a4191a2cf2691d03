//! Tests of the policy engine: one module per group of rules, preset flows, proposals, and
//! property tests. Every rejection test asserts the precise error and that the room is
//! unchanged.

mod authorization;
mod clients;
mod composition;
mod constraints;
mod external;
mod participants;
mod presets;
mod proposals;
mod props;

use mimi_types::id::{ClientUri, MimiUri, ProviderDomain};
use mimi_types::wire::{
    Capability, Claim, ClaimId, ParticipantListData, ParticipantListUpdate, UserIndexRolePair,
    UserRolePair,
};

use super::*;

/// A user URI: `alice`, `carol`, `dave`, `oscar` live on a.example, `bob`, `erin` on
/// b.example, anyone else on c.example.
pub(crate) fn user(name: &str) -> MimiUri {
    MimiUri::parse(&format!("mimi://{}/u/{name}", domain_of(name))).unwrap()
}

fn domain_of(name: &str) -> &'static str {
    match name {
        "alice" | "carol" | "dave" | "oscar" => "a.example",
        "bob" | "erin" => "b.example",
        _ => "c.example",
    }
}

/// Client `n` of user `name`.
pub(crate) fn client(name: &str, n: u32) -> ClientUri {
    ClientUri::parse(&format!("mimi://{}/d/{name}/c{n}", domain_of(name))).unwrap()
}

pub(crate) fn domain(d: &str) -> ProviderDomain {
    ProviderDomain::parse(d).unwrap()
}

pub(crate) fn member(name: &str) -> Actor {
    Actor::Member(user(name))
}

/// A claim with credential type 1 (basic).
pub(crate) fn claim(id: &str, value: &str) -> Claim {
    Claim {
        claim_id: ClaimId {
            credential_type: 1,
            id: id.as_bytes().to_vec().into(),
        },
        claim_value: value.as_bytes().to_vec().into(),
    }
}

/// A participant-list update.
pub(crate) fn pl(
    changed: &[(u32, u32)],
    removed: &[u32],
    added: &[(MimiUri, u32)],
) -> ParticipantListUpdate {
    ParticipantListUpdate {
        changed_role_participants: changed
            .iter()
            .map(|&(user_index, role_index)| UserIndexRolePair {
                user_index,
                role_index,
            })
            .collect(),
        removed_indices: removed.to_vec(),
        added_participants: added
            .iter()
            .map(|(u, r)| UserRolePair {
                user: u.clone().into(),
                role_index: *r,
            })
            .collect(),
    }
}

pub(crate) fn list(entries: &[(MimiUri, u32)]) -> ParticipantListData {
    ParticipantListData {
        participants: pl(&[], &[], entries).added_participants,
    }
}

/// A room under test.
#[derive(Debug, Clone)]
pub(crate) struct Room {
    pub state: PolicyState,
    pub members: Membership,
}

impl Room {
    /// A preset room created by alice, whose client 1 is in the group.
    pub fn new(preset: Preset) -> Room {
        let state = PolicyState::new_room(preset, user("alice")).unwrap();
        let mut members = Membership::new();
        members.insert(user("alice"), client("alice", 1));
        Room { state, members }
    }

    /// A preset room with the given participants (name, role) and one client (c1) for each
    /// name in `active`.
    pub fn with(preset: Preset, participants: &[(&str, u32)], active: &[&str]) -> Room {
        let mut state = PolicyState::new_room(preset, user("alice")).unwrap();
        state.participants = list(
            &participants
                .iter()
                .map(|(n, r)| (user(n), *r))
                .collect::<Vec<_>>(),
        );
        let members = active
            .iter()
            .map(|n| (user(n), client(n, 1)))
            .collect::<Membership>();
        state.validate(&members).unwrap();
        Room { state, members }
    }

    /// Index of `name` in the participant list.
    pub fn index(&self, name: &str) -> u32 {
        let u = user(name);
        self.state
            .participants
            .participants
            .iter()
            .position(|p| p.user.uri() == &u)
            .unwrap() as u32
    }

    /// Role index of `name`.
    pub fn role(&self, name: &str) -> Option<u32> {
        self.state.role_index_of(&user(name))
    }

    pub fn commit(&self, changes: &[Change]) -> Result<CommitOutcome, PolicyError> {
        apply_commit(&self.state, &self.members, changes)
    }

    /// Apply a commit that must succeed; check the invariants on the result.
    #[track_caller]
    pub fn apply(&mut self, changes: &[Change]) -> CommitOutcome {
        let out = match self.commit(changes) {
            Ok(out) => out,
            Err(e) => panic!("commit refused: {e} ({e:?})"),
        };
        out.state.validate(&out.membership).unwrap();
        self.state = out.state.clone();
        self.members = out.membership.clone();
        out
    }

    /// A commit that must fail with `expected`; the room is unchanged.
    #[track_caller]
    pub fn reject(&self, changes: &[Change], expected: PolicyError) {
        let before = self.clone();
        match self.commit(changes) {
            Ok(_) => panic!("commit accepted, expected {expected:?}"),
            Err(e) => assert_eq!(e, expected),
        }
        assert_eq!(before.state, self.state);
        assert_eq!(before.members, self.members);
    }

    // ----- change builders -----

    /// `actor` adds `name` with `role`, and client 1 of `name`.
    pub fn add_with_client(&self, actor: &str, name: &str, role: u32) -> Vec<Change> {
        vec![
            Change::new(
                member(actor),
                ChangeKind::ParticipantList(pl(&[], &[], &[(user(name), role)])),
            ),
            add_client(actor, name, 1),
        ]
    }

    /// `actor` removes `name` from the list and removes all its clients.
    pub fn remove_with_clients(&self, actor: Actor, name: &str) -> Vec<Change> {
        let mut changes = vec![Change::new(
            actor.clone(),
            ChangeKind::ParticipantList(pl(&[], &[self.index(name)], &[])),
        )];
        changes.extend(self.client_removals(actor, name));
        changes
    }

    /// `actor` sets the role of `name`.
    pub fn set_role(&self, actor: Actor, name: &str, role: u32) -> Change {
        Change::new(
            actor,
            ChangeKind::ParticipantList(pl(&[(self.index(name), role)], &[], &[])),
        )
    }

    /// `actor` bans `name` (role 1) and removes all its clients.
    pub fn ban(&self, actor: Actor, name: &str) -> Vec<Change> {
        let mut changes = vec![self.set_role(actor.clone(), name, BANNED_ROLE)];
        changes.extend(self.client_removals(actor, name));
        changes
    }

    /// `actor` removes every client of `name`.
    pub fn client_removals(&self, actor: Actor, name: &str) -> Vec<Change> {
        let u = user(name);
        self.members
            .clients_of(&u)
            .map(|c| {
                Change::new(
                    actor.clone(),
                    ChangeKind::RemoveClient {
                        user: u.clone(),
                        client: c.clone(),
                    },
                )
            })
            .collect()
    }
}

/// Member `actor` adds client `n` of `name`.
pub(crate) fn add_client(actor: &str, name: &str, n: u32) -> Change {
    Change::new(
        member(actor),
        ChangeKind::AddClient {
            user: user(name),
            client: client(name, n),
        },
    )
}

/// Member `actor` removes client `n` of `name`.
pub(crate) fn remove_client(actor: Actor, name: &str, n: u32) -> Change {
    Change::new(
        actor,
        ChangeKind::RemoveClient {
            user: user(name),
            client: client(name, n),
        },
    )
}

/// Member `actor` changes the participant list by `update`.
pub(crate) fn list_change(actor: Actor, update: ParticipantListUpdate) -> Change {
    Change::new(actor, ChangeKind::ParticipantList(update))
}

/// A capability check helper for readability.
pub(crate) fn missing(role: u32, capability: Capability) -> PolicyError {
    PolicyError::MissingCapability { role, capability }
}
