//! Standalone proposals as the hub receives them (protocol-06 §7.1, §3.5).

use mimi_types::wire::{RoomMetaData, Utf8String};

use super::*;

const ORD: u32 = cooperative::ORDINARY_USER;
const SUPER: u32 = cooperative::SUPER_ADMIN;

fn room() -> Room {
    Room::with(
        Preset::CooperativelyAdministered,
        &[("alice", SUPER), ("bob", ORD), ("carol", ORD)],
        &["alice", "bob", "carol"],
    )
}

fn name(n: &str) -> Change {
    Change::new(
        member("alice"),
        ChangeKind::Metadata(RoomMetaData {
            room_name: Utf8String::new(n).unwrap(),
            ..Default::default()
        }),
    )
}

#[test]
fn leave_as_separate_proposals() {
    // protocol-06 §3.5 "Bob leaves": his list removal and his Remove proposals are separate
    let room = room();
    let leave = list_change(member("bob"), pl(&[], &[room.index("bob")], &[]));
    let removes = room.client_removals(member("bob"), "bob");
    // each is acceptable on its own
    check_proposal(&room.state, &room.members, &leave).unwrap();
    for r in &removes {
        check_proposal(&room.state, &room.members, r).unwrap();
    }
    // the hub's view once it accepted the leave: bob may no longer send
    let accepted = check_proposal_with_pending(&room.state, &room.members, &[], &leave).unwrap();
    assert!(!accepted.state.can_send_message(&user("bob")));
    assert_eq!(accepted.removed_users, vec![user("bob")]);
    // the committer must include the client removals
    room.reject(
        std::slice::from_ref(&leave),
        PolicyError::NonParticipantHasClients { user: user("bob") },
    );
    let mut all = vec![leave];
    all.extend(removes);
    room.clone().apply(&all);
}

#[test]
fn pending_proposals_lock_their_users() {
    let room = room();
    let leave = list_change(member("bob"), pl(&[], &[room.index("bob")], &[]));
    let promote = room.set_role(member("alice"), "bob", cooperative::GROUP_ADMIN);
    // alone, the promotion is fine
    check_proposal(&room.state, &room.members, &promote).unwrap();
    // after the leave was accepted, it operates on bob a second time
    assert_eq!(
        check_proposal_with_pending(
            &room.state,
            &room.members,
            std::slice::from_ref(&leave),
            &promote,
        )
        .unwrap_err(),
        PolicyError::UserTouchedTwice { user: user("bob") }
    );
    // a change about carol is fine
    let carol = room.set_role(member("alice"), "carol", cooperative::GROUP_ADMIN);
    check_proposal_with_pending(&room.state, &room.members, &[leave], &carol).unwrap();
}

#[test]
fn one_pending_metadata_update() {
    let room = room();
    assert_eq!(
        check_proposal_with_pending(&room.state, &room.members, &[name("a")], &name("b"))
            .unwrap_err(),
        PolicyError::MultipleMetadataUpdates
    );
}

#[test]
fn proposals_are_authorized_like_commits() {
    let room = room();
    assert_eq!(
        check_proposal(
            &room.state,
            &room.members,
            &remove_client(member("bob"), "carol", 1)
        ),
        Err(missing(ORD, Capability::KICK))
    );
    assert_eq!(
        check_proposal(
            &room.state,
            &room.members,
            &list_change(
                Actor::Follower(domain("b.example")),
                pl(&[], &[room.index("alice")], &[])
            )
        ),
        Err(PolicyError::FollowerForeignUser {
            domain: domain("b.example"),
            user: user("alice"),
        })
    );
}

#[test]
fn hub_ban_proposal_before_the_removes() {
    // the banned role admits no active participant; a ban proposal is valid although the
    // Remove proposals come separately
    let room = room();
    let ban = room.set_role(Actor::Hub, "bob", BANNED_ROLE);
    check_proposal(&room.state, &room.members, &ban).unwrap();
    let view = check_proposal_with_pending(&room.state, &room.members, &[], &ban).unwrap();
    assert!(view.state.is_banned(&user("bob")));
    assert!(!view.state.can_receive_message(&user("bob")));
    // the remove proposals are then acceptable one by one, from the hub
    let removes = room.client_removals(Actor::Hub, "bob");
    let mut pending = vec![ban];
    for r in removes {
        check_proposal_with_pending(&room.state, &room.members, &pending, &r).unwrap();
        pending.push(r);
    }
    // and committed together
    room.clone().apply(&pending);
}

#[test]
fn proposals_still_check_added_clients() {
    let room = room();
    assert_eq!(
        check_proposal(&room.state, &room.members, &add_client("alice", "dave", 1)),
        Err(PolicyError::ClientOfNonParticipant { user: user("dave") })
    );
    // with the pending addition of dave, alice's Add proposal is fine
    let add_dave = list_change(member("alice"), pl(&[], &[], &[(user("dave"), ORD)]));
    check_proposal_with_pending(
        &room.state,
        &room.members,
        &[add_dave],
        &add_client("alice", "dave", 1),
    )
    .unwrap();
}
