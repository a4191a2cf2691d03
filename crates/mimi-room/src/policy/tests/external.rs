//! The hub, followers and joiners (docs/decisions/0033, 0035).

use mimi_types::wire::{PreAuthData, PreAuthRoleEntry, RoomMetaData};

use super::*;

const ORD: u32 = cooperative::ORDINARY_USER;
const SUPER: u32 = cooperative::SUPER_ADMIN;

/// alice (a.example), bob and erin (b.example), all ordinary except alice.
fn room() -> Room {
    Room::with(
        Preset::CooperativelyAdministered,
        &[("alice", SUPER), ("bob", ORD), ("erin", ORD)],
        &["alice", "bob", "erin"],
    )
}

#[test]
fn hub_removes_kicks_and_bans() {
    let room = room();
    let mut removed = room.clone();
    let out = removed.apply(&room.remove_with_clients(Actor::Hub, "bob"));
    assert_eq!(out.removed_users, vec![user("bob")]);
    let mut banned = room.clone();
    banned.apply(&room.ban(Actor::Hub, "bob"));
    assert!(banned.state.is_banned(&user("bob")));
    let mut kicked = room.clone();
    kicked.apply(&[remove_client(Actor::Hub, "erin", 1)]);
    assert_eq!(kicked.role("erin"), Some(ORD));
    // the hub may also clean up a banned entry
    banned.apply(&banned.remove_with_clients(Actor::Hub, "bob"));
    assert_eq!(banned.role("bob"), None);
}

#[test]
fn hub_is_held_to_constraints() {
    // decision 0033: the hub cannot remove the last group_admin either
    let room = Room::with(
        Preset::CooperativelyAdministered,
        &[("alice", SUPER), ("bob", cooperative::GROUP_ADMIN)],
        &["alice", "bob"],
    );
    room.reject(
        &room.remove_with_clients(Actor::Hub, "bob"),
        PolicyError::BelowMinParticipants {
            role: cooperative::GROUP_ADMIN,
            count: 0,
            min: 1,
        },
    );
    // and must remove the clients of users it removes
    room.reject(
        &[list_change(
            Actor::Hub,
            pl(&[], &[room.index("alice")], &[]),
        )],
        PolicyError::NonParticipantHasClients {
            user: user("alice"),
        },
    );
}

#[test]
fn hub_may_not_add_unban_or_edit() {
    let mut room = room();
    let not_allowed = |action| PolicyError::NotAllowedForExternalSender {
        sender: "hub",
        action,
    };
    room.reject(
        &[list_change(
            Actor::Hub,
            pl(&[], &[], &[(user("carol"), ORD)]),
        )],
        not_allowed("add a user"),
    );
    room.reject(
        &[room.set_role(Actor::Hub, "bob", cooperative::GROUP_ADMIN)],
        not_allowed("change a role other than banning"),
    );
    room.reject(
        &[Change::new(
            Actor::Hub,
            ChangeKind::AddClient {
                user: user("bob"),
                client: client("bob", 2),
            },
        )],
        not_allowed("add a client"),
    );
    room.reject(
        &[Change::new(
            Actor::Hub,
            ChangeKind::Metadata(RoomMetaData::default()),
        )],
        not_allowed("change the room metadata"),
    );
    room.reject(
        &[Change::new(
            Actor::Hub,
            ChangeKind::Roles(room.state.roles.clone()),
        )],
        not_allowed("change the role definitions"),
    );
    room.apply(&room.ban(Actor::Hub, "bob"));
    room.reject(
        &[room.set_role(Actor::Hub, "bob", ORD)],
        not_allowed("change a role other than banning"),
    );
}

#[test]
fn hub_ban_needs_the_banned_role() {
    let mut room = room();
    room.state.roles.roles[1].role_name = mimi_types::wire::Utf8String::new("muted").unwrap();
    room.reject(
        &room.ban(Actor::Hub, "bob"),
        PolicyError::BannedRoleUndefined,
    );
}

#[test]
fn follower_removes_only_its_own_users() {
    let room = room();
    let b = Actor::Follower(domain("b.example"));
    let mut left = room.clone();
    left.apply(&room.remove_with_clients(b.clone(), "bob"));
    assert_eq!(left.role("bob"), None);
    let mut kicked = room.clone();
    kicked.apply(&[remove_client(b.clone(), "erin", 1)]);
    room.reject(
        &room.remove_with_clients(b.clone(), "alice"),
        PolicyError::FollowerForeignUser {
            domain: domain("b.example"),
            user: user("alice"),
        },
    );
    room.reject(
        &[remove_client(b.clone(), "alice", 1)],
        PolicyError::FollowerForeignUser {
            domain: domain("b.example"),
            user: user("alice"),
        },
    );
    let not_allowed = |action| PolicyError::NotAllowedForExternalSender {
        sender: "follower",
        action,
    };
    room.reject(&room.ban(b.clone(), "bob"), not_allowed("change a role"));
    room.reject(
        &[list_change(
            b.clone(),
            pl(&[], &[], &[(user("frank"), ORD)]),
        )],
        not_allowed("add a user"),
    );
    room.reject(
        &[Change::new(
            b,
            ChangeKind::Metadata(RoomMetaData::default()),
        )],
        not_allowed("change the room metadata"),
    );
}

fn joiner(name: &str, claims: Vec<mimi_types::wire::Claim>) -> Actor {
    Actor::NewMember {
        user: user(name),
        claims,
    }
}

/// The changes of an external commit by `name` joining as `role` with client 1.
fn join(name: &str, role: u32, claims: Vec<mimi_types::wire::Claim>) -> Vec<Change> {
    let actor = joiner(name, claims);
    vec![
        list_change(actor.clone(), pl(&[], &[], &[(user(name), role)])),
        Change::new(
            actor,
            ChangeKind::AddClient {
                user: user(name),
                client: client(name, 1),
            },
        ),
    ]
}

#[test]
fn open_join() {
    let mut room = Room::new(Preset::OpenRoom);
    room.apply(&join("frank", open::MEMBER, vec![]));
    assert_eq!(room.role("frank"), Some(open::MEMBER));
    assert!(room.state.can_send_message(&user("frank")));
    // not as a moderator: role 0's entry is (0,[2])
    room.reject(
        &join("erin", open::MODERATOR, vec![]),
        PolicyError::JoinNotAuthorized {
            user: user("erin"),
            role: open::MODERATOR,
        },
    );
    // a non-participant holds role 0's capabilities
    assert!(
        room.state
            .has_capability(&user("erin"), Capability::OPEN_JOIN)
    );
    assert!(
        !room
            .state
            .has_capability(&user("frank"), Capability::OPEN_JOIN)
    );
}

#[test]
fn no_join_without_open_join_or_preauthorization() {
    let room = room();
    room.reject(
        &join("frank", ORD, vec![]),
        PolicyError::JoinNotAuthorized {
            user: user("frank"),
            role: ORD,
        },
    );
}

#[test]
fn join_by_preauthorization() {
    let mut room = Room::new(Preset::StrictlyAdministered);
    let roles = room.state.roles.clone();
    room.state.preauth = PreAuthData {
        preauthorized_entries: vec![
            // contractors are explicitly denied (role 0 as first match)
            PreAuthRoleEntry {
                claimset: vec![claim("contractor", "yes")],
                target_role: roles.roles[0].clone(),
            },
            PreAuthRoleEntry {
                claimset: vec![claim("dept", "eng")],
                target_role: roles.roles[2].clone(),
            },
            PreAuthRoleEntry {
                claimset: vec![claim("dept", "it")],
                target_role: roles.roles[3].clone(),
            },
        ],
    };
    let eng = vec![claim("dept", "eng"), claim("site", "paris")];
    let mut joined = room.clone();
    joined.apply(&join("frank", strict::ORDINARY_USER, eng.clone()));
    // only the first matching role
    room.reject(
        &join("frank", strict::GROUP_ADMIN, eng),
        PolicyError::JoinNotAuthorized {
            user: user("frank"),
            role: strict::GROUP_ADMIN,
        },
    );
    // the target role must hold canJoinIfPreauthorized: group_admin (strict) holds it through
    // the ordinary user's capabilities
    room.clone().apply(&join(
        "frank",
        strict::GROUP_ADMIN,
        vec![claim("dept", "it")],
    ));
    // a first match on role 0 denies
    room.reject(
        &join(
            "frank",
            strict::ORDINARY_USER,
            vec![claim("contractor", "yes"), claim("dept", "eng")],
        ),
        PolicyError::JoinNotAuthorized {
            user: user("frank"),
            role: strict::ORDINARY_USER,
        },
    );
    // a role without canJoinIfPreauthorized
    let mut no_cap = room.clone();
    no_cap.state.roles.roles[2]
        .role_capabilities
        .retain(|c| *c != Capability::JOIN_IF_PREAUTHORIZED);
    no_cap.reject(
        &join("frank", strict::ORDINARY_USER, vec![claim("dept", "eng")]),
        PolicyError::JoinNotAuthorized {
            user: user("frank"),
            role: strict::ORDINARY_USER,
        },
    );
}

#[test]
fn banned_users_cannot_rejoin() {
    let mut room = Room::new(Preset::OpenRoom);
    room.apply(&join("frank", open::MEMBER, vec![]));
    room.apply(&room.ban(member("alice"), "frank"));
    room.reject(
        &join("frank", open::MEMBER, vec![]),
        PolicyError::JoinerBanned {
            user: user("frank"),
        },
    );
    room.reject(
        &[Change::new(
            joiner("frank", vec![]),
            ChangeKind::AddClient {
                user: user("frank"),
                client: client("frank", 1),
            },
        )],
        PolicyError::JoinerBanned {
            user: user("frank"),
        },
    );
}

#[test]
fn participant_rejoins_with_a_new_client() {
    // canAddOwnClient by external commit, with the resync removal of its old client
    let mut room = room();
    let bob = joiner("bob", vec![]);
    room.apply(&[
        Change::new(
            bob.clone(),
            ChangeKind::AddClient {
                user: user("bob"),
                client: client("bob", 2),
            },
        ),
        remove_client(bob, "bob", 1),
    ]);
    assert_eq!(
        room.members.clients_of(&user("bob")).collect::<Vec<_>>(),
        vec![&client("bob", 2)]
    );
    // a role without canAddOwnClient cannot
    let moderated = Room::with(
        Preset::Moderated,
        &[("alice", moderated::SUPER_ADMIN), ("bob", moderated::GUEST)],
        &["alice"],
    );
    moderated.reject(
        &[Change::new(
            joiner("bob", vec![]),
            ChangeKind::AddClient {
                user: user("bob"),
                client: client("bob", 1),
            },
        )],
        missing(moderated::GUEST, Capability::ADD_OWN_CLIENT),
    );
}

#[test]
fn joiner_acts_only_for_itself() {
    let room = Room::new(Preset::OpenRoom);
    let frank = joiner("frank", vec![]);
    let not_allowed = |action| PolicyError::NotAllowedForJoiner {
        user: user("frank"),
        action,
    };
    room.reject(
        &[list_change(
            frank.clone(),
            pl(&[], &[], &[(user("erin"), open::MEMBER)]),
        )],
        not_allowed("change other participants"),
    );
    room.reject(
        &[list_change(frank.clone(), pl(&[], &[0], &[]))],
        not_allowed("change other participants"),
    );
    room.reject(
        &[Change::new(
            frank.clone(),
            ChangeKind::AddClient {
                user: user("erin"),
                client: client("erin", 1),
            },
        )],
        not_allowed("add another user's client"),
    );
    room.reject(
        &[remove_client(frank.clone(), "alice", 1)],
        not_allowed("remove another user's client"),
    );
    room.reject(
        &[Change::new(
            frank.clone(),
            ChangeKind::Metadata(RoomMetaData::default()),
        )],
        not_allowed("change the room metadata"),
    );
    // a client without the list addition
    room.reject(
        &[Change::new(
            frank,
            ChangeKind::AddClient {
                user: user("frank"),
                client: client("frank", 1),
            },
        )],
        PolicyError::ClientOfNonParticipant {
            user: user("frank"),
        },
    );
}
