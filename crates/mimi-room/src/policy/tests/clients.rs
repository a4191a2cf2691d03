//! Client rules: protocol-06 §5.3, room-policy-03 §5 and §8.1.2.

use super::*;

const ORD: u32 = cooperative::ORDINARY_USER;
const SUPER: u32 = cooperative::SUPER_ADMIN;

fn room() -> Room {
    Room::with(
        Preset::CooperativelyAdministered,
        &[("alice", SUPER), ("bob", ORD)],
        &["alice", "bob"],
    )
}

#[test]
fn duplicate_client() {
    let room = room();
    room.reject(
        &[add_client("bob", "bob", 1)],
        PolicyError::DuplicateClient {
            client: client("bob", 1),
        },
    );
    // the same new client twice
    room.reject(
        &[add_client("bob", "bob", 2), add_client("bob", "bob", 2)],
        PolicyError::DuplicateClient {
            client: client("bob", 2),
        },
    );
}

#[test]
fn unknown_client() {
    let room = room();
    room.reject(
        &[remove_client(member("bob"), "bob", 7)],
        PolicyError::UnknownClient {
            client: client("bob", 7),
        },
    );
    // removed twice
    room.reject(
        &[
            remove_client(member("bob"), "bob", 1),
            remove_client(member("bob"), "bob", 1),
        ],
        PolicyError::UnknownClient {
            client: client("bob", 1),
        },
    );
    // a client of another user
    room.reject(
        &[Change::new(
            member("alice"),
            ChangeKind::RemoveClient {
                user: user("alice"),
                client: client("bob", 1),
            },
        )],
        PolicyError::UnknownClient {
            client: client("bob", 1),
        },
    );
}

#[test]
fn remove_then_add_the_same_client() {
    // RFC 9420: Removes apply before Adds (an external commit's resync)
    let mut room = room();
    room.apply(&[
        add_client("bob", "bob", 1),
        remove_client(member("alice"), "bob", 1),
    ]);
    assert!(room.members.is_active(&user("bob")));
}

#[test]
fn added_client_user_must_be_a_participant() {
    let room = room();
    room.reject(
        &[add_client("alice", "carol", 1)],
        PolicyError::ClientOfNonParticipant {
            user: user("carol"),
        },
    );
    // the list addition in the same commit makes it valid (protocol-06 §5.3)
    room.clone()
        .apply(&room.add_with_client("alice", "carol", ORD));
    // not for a banned user
    let mut banned = room.clone();
    banned.apply(&room.ban(member("alice"), "bob"));
    banned.reject(
        &[add_client("alice", "bob", 2)],
        PolicyError::ClientOfNonParticipant { user: user("bob") },
    );
    // nor for a user added as banned in the same commit
    room.reject(
        &room.add_with_client("alice", "carol", BANNED_ROLE),
        PolicyError::ClientOfNonParticipant {
            user: user("carol"),
        },
    );
}

#[test]
fn added_client_user_must_be_a_user_uri() {
    let room = room();
    let not_user = MimiUri::parse("mimi://a.example/r/clubhouse").unwrap();
    room.reject(
        &[Change::new(
            member("alice"),
            ChangeKind::AddClient {
                user: not_user.clone(),
                client: client("alice", 9),
            },
        )],
        PolicyError::NotAUser { uri: not_user },
    );
}

#[test]
fn removed_user_clients_must_go_in_the_same_commit() {
    let room = room();
    // removal without the client removal
    room.reject(
        &[list_change(
            member("alice"),
            pl(&[], &[room.index("bob")], &[]),
        )],
        PolicyError::NonParticipantHasClients { user: user("bob") },
    );
    // ban without the client removal
    room.reject(
        &[room.set_role(member("alice"), "bob", BANNED_ROLE)],
        PolicyError::NonParticipantHasClients { user: user("bob") },
    );
    // with two clients, removing one is not enough
    let mut two = room.clone();
    two.apply(&[add_client("bob", "bob", 2)]);
    two.reject(
        &[
            list_change(member("alice"), pl(&[], &[two.index("bob")], &[])),
            remove_client(member("alice"), "bob", 1),
        ],
        PolicyError::NonParticipantHasClients { user: user("bob") },
    );
    two.apply(&two.remove_with_clients(member("alice"), "bob"));
}

#[test]
fn single_device_rooms() {
    let mut room = room();
    let mut base = room.state.base.clone();
    base.multi_device = false.into();
    room.apply(&[Change::new(member("alice"), ChangeKind::BaseRoom(base))]);
    room.reject(
        &[add_client("bob", "bob", 2)],
        PolicyError::SingleDevice {
            user: user("bob"),
            count: 2,
        },
    );
    // replacing the device is fine
    room.apply(&[
        add_client("alice", "bob", 2),
        remove_client(member("alice"), "bob", 1),
    ]);
    // turning multi-device off while a user has two clients is refused
    let mut multi = self::room();
    multi.apply(&[add_client("bob", "bob", 2)]);
    let mut base = multi.state.base.clone();
    base.multi_device = false.into();
    multi.reject(
        &[Change::new(member("alice"), ChangeKind::BaseRoom(base))],
        PolicyError::SingleDevice {
            user: user("bob"),
            count: 2,
        },
    );
}

#[test]
fn max_clients() {
    let mut room = room();
    let mut base = room.state.base.clone();
    base.max_clients = Some(3);
    room.apply(&[Change::new(member("alice"), ChangeKind::BaseRoom(base))]);
    room.apply(&[add_client("bob", "bob", 2)]);
    room.reject(
        &[add_client("alice", "alice", 2)],
        PolicyError::MaxClientsExceeded { count: 4, max: 3 },
    );
    // lowering the limit below the current count is refused
    let mut base = room.state.base.clone();
    base.max_clients = Some(2);
    room.reject(
        &[Change::new(member("alice"), ChangeKind::BaseRoom(base))],
        PolicyError::MaxClientsExceeded { count: 3, max: 2 },
    );
}

#[test]
fn max_users_counts_non_banned_entries() {
    let mut room = room();
    let mut base = room.state.base.clone();
    base.max_users = Some(2);
    room.apply(&[Change::new(member("alice"), ChangeKind::BaseRoom(base))]);
    room.reject(
        &room.add_with_client("alice", "carol", ORD),
        PolicyError::MaxUsersExceeded { count: 3, max: 2 },
    );
    // a banned entry does not count
    room.apply(&room.ban(member("alice"), "bob"));
    room.apply(&room.add_with_client("alice", "carol", ORD));
    assert_eq!(room.state.participants.participants.len(), 3);
    assert_eq!(room.state.user_count(), 2);
}

#[test]
fn membership_accessors() {
    let mut m = Membership::new();
    assert!(m.insert(user("bob"), client("bob", 1)));
    assert!(!m.insert(user("bob"), client("bob", 1)));
    assert!(m.insert(user("bob"), client("bob", 2)));
    assert!(m.insert(user("alice"), client("alice", 1)));
    assert_eq!(m.client_count(), 3);
    assert_eq!(m.clients_of(&user("bob")).count(), 2);
    assert_eq!(m.clients_of(&user("carol")).count(), 0);
    assert!(m.contains_client(&client("alice", 1)));
    assert_eq!(m.users().count(), 2);
    assert_eq!(m.iter().count(), 3);
    assert!(!m.remove(&user("alice"), &client("bob", 1)));
    assert!(m.remove(&user("alice"), &client("alice", 1)));
    assert!(!m.is_active(&user("alice")));
    assert_eq!(m.users().count(), 1);
}

#[test]
fn policy_error_stays_small() {
    // it is wrapped in the crate's RoomError and returned on every path
    assert!(std::mem::size_of::<PolicyError>() <= 112);
}
