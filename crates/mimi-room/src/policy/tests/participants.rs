//! Participant-list structure: protocol-06 §7.5 and docs/decisions/0030.

use super::*;

fn base() -> ParticipantListData {
    list(&[(user("alice"), 4), (user("bob"), 2), (user("carol"), 2)])
}

fn names(l: &ParticipantListData) -> Vec<(String, u32)> {
    l.participants
        .iter()
        .map(|p| {
            (
                p.user.uri().id().unwrap_or_default().to_owned(),
                p.role_index,
            )
        })
        .collect()
}

#[test]
fn order_is_changes_then_removals_then_additions() {
    let u = pl(&[(2, 3)], &[1], &[(user("dave"), 2)]);
    let after = apply_participant_updates(&base(), &[&u]).unwrap();
    assert_eq!(
        names(&after),
        vec![("alice".into(), 4), ("carol".into(), 3), ("dave".into(), 2)]
    );
}

#[test]
fn several_updates_index_the_list_before_the_commit() {
    // decision 0030: the second update's index 2 is carol, although the first update removed
    // bob (index 1) before it
    let first = pl(&[], &[1], &[]);
    let second = pl(&[(2, 3)], &[], &[(user("dave"), 2)]);
    let third = pl(&[], &[], &[(user("erin"), 2)]);
    let after = apply_participant_updates(&base(), &[&first, &second, &third]).unwrap();
    assert_eq!(
        names(&after),
        vec![
            ("alice".into(), 4),
            ("carol".into(), 3),
            ("dave".into(), 2),
            ("erin".into(), 2)
        ]
    );
    // the same operations in one update give the same list
    let merged = pl(&[(2, 3)], &[1], &[(user("dave"), 2), (user("erin"), 2)]);
    assert_eq!(
        apply_participant_updates(&base(), &[&merged]).unwrap(),
        after
    );
}

#[test]
fn no_updates_is_identity() {
    assert_eq!(apply_participant_updates(&base(), &[]).unwrap(), base());
}

#[test]
fn index_out_of_range() {
    for u in [
        pl(&[], &[3], &[]),
        pl(&[(7, 2)], &[], &[]),
        pl(&[], &[u32::MAX], &[]),
    ] {
        let index = u
            .removed_indices
            .first()
            .copied()
            .or(u.changed_role_participants.first().map(|c| c.user_index))
            .unwrap();
        assert_eq!(
            apply_participant_updates(&base(), &[&u]),
            Err(PolicyError::IndexOutOfRange { index, len: 3 })
        );
    }
}

#[test]
fn same_user_twice_in_one_update() {
    let bob = user("bob");
    let cases = [
        pl(&[], &[1, 1], &[]),
        pl(&[(1, 3), (1, 2)], &[], &[]),
        pl(&[(1, 3)], &[1], &[]),
        pl(&[], &[1], &[(bob.clone(), 2)]),
        pl(&[], &[], &[(user("dave"), 2), (user("dave"), 3)]),
    ];
    for (i, u) in cases.iter().enumerate() {
        let expected = if i == 4 { user("dave") } else { bob.clone() };
        assert_eq!(
            apply_participant_updates(&base(), &[u]),
            Err(PolicyError::UserTouchedTwice { user: expected }),
            "case {i}"
        );
    }
}

#[test]
fn same_user_twice_across_updates() {
    let a = pl(&[(1, 3)], &[], &[]);
    let b = pl(&[], &[1], &[]);
    assert_eq!(
        apply_participant_updates(&base(), &[&a, &b]),
        Err(PolicyError::UserTouchedTwice { user: user("bob") })
    );
    let c = pl(&[], &[], &[(user("dave"), 2)]);
    assert_eq!(
        apply_participant_updates(&base(), &[&c, &c]),
        Err(PolicyError::UserTouchedTwice { user: user("dave") })
    );
}

#[test]
fn adding_a_participant_again() {
    let u = pl(&[], &[], &[(user("carol"), 3)]);
    assert_eq!(
        apply_participant_updates(&base(), &[&u]),
        Err(PolicyError::DuplicateParticipant {
            user: user("carol")
        })
    );
}

#[test]
fn malformed_input_list_is_not_passed_on() {
    let dup = list(&[(user("alice"), 4), (user("alice"), 2)]);
    assert_eq!(
        apply_participant_updates(&dup, &[]),
        Err(PolicyError::DuplicateParticipant {
            user: user("alice")
        })
    );
    let zero = list(&[(user("alice"), 0)]);
    assert_eq!(
        apply_participant_updates(&zero, &[]),
        Err(PolicyError::RoleZeroInList {
            user: user("alice")
        })
    );
}

#[test]
fn role_zero_never_in_the_list() {
    let add = pl(&[], &[], &[(user("dave"), 0)]);
    assert_eq!(
        apply_participant_updates(&base(), &[&add]),
        Err(PolicyError::RoleZeroInList { user: user("dave") })
    );
    let change = pl(&[(1, 0)], &[], &[]);
    assert_eq!(
        apply_participant_updates(&base(), &[&change]),
        Err(PolicyError::RoleZeroInList { user: user("bob") })
    );
}

#[test]
fn only_users_and_pseudonyms_are_participants() {
    let room = MimiUri::parse("mimi://a.example/r/clubhouse").unwrap();
    let u = pl(&[], &[], &[(room.clone(), 2)]);
    assert_eq!(
        apply_participant_updates(&base(), &[&u]),
        Err(PolicyError::NotAUser { uri: room })
    );
    let pseudonym = MimiUri::parse("mimi://a.example/p/koala").unwrap();
    let u = pl(&[], &[], &[(pseudonym, 2)]);
    assert!(apply_participant_updates(&base(), &[&u]).is_ok());
}

// ----- the same rules through apply_commit -----

#[test]
fn commit_rejects_unknown_role() {
    let room = Room::new(Preset::CooperativelyAdministered);
    room.reject(
        &[list_change(
            member("alice"),
            pl(&[], &[], &[(user("bob"), 42)]),
        )],
        PolicyError::UnknownRole {
            user: user("bob"),
            role: 42,
        },
    );
    room.reject(
        &[list_change(member("alice"), pl(&[(0, 9)], &[], &[]))],
        PolicyError::UnknownRole {
            user: user("alice"),
            role: 9,
        },
    );
}

#[test]
fn commit_rejects_user_touched_by_two_actors() {
    let room = Room::with(
        Preset::CooperativelyAdministered,
        &[("alice", 4), ("bob", 2)],
        &["alice", "bob"],
    );
    let mut changes = vec![room.set_role(member("alice"), "bob", 3)];
    changes.extend(room.remove_with_clients(member("alice"), "bob"));
    room.reject(
        &changes,
        PolicyError::UserTouchedTwice { user: user("bob") },
    );
}

#[test]
fn commit_rejects_index_out_of_range() {
    let room = Room::new(Preset::CooperativelyAdministered);
    room.reject(
        &[list_change(member("alice"), pl(&[], &[1], &[]))],
        PolicyError::IndexOutOfRange { index: 1, len: 1 },
    );
}

#[test]
fn commit_rejects_pseudonym_unless_allowed() {
    let mut room = Room::new(Preset::CooperativelyAdministered);
    let koala = MimiUri::parse("mimi://a.example/p/koala").unwrap();
    let add = list_change(member("alice"), pl(&[], &[], &[(koala.clone(), 2)]));
    room.reject(
        std::slice::from_ref(&add),
        PolicyError::PseudonymNotAllowed { user: koala },
    );
    let mut base = room.state.base.clone();
    base.pseudonyms_allowed = true.into();
    room.apply(&[Change::new(member("alice"), ChangeKind::BaseRoom(base))]);
    room.apply(&[add]);
}

#[test]
fn commit_rejects_unchanged_role() {
    let room = Room::with(
        Preset::CooperativelyAdministered,
        &[("alice", 4), ("bob", 2)],
        &["alice"],
    );
    room.reject(
        &[room.set_role(member("alice"), "bob", 2)],
        PolicyError::RoleUnchanged {
            user: user("bob"),
            role: 2,
        },
    );
}

#[test]
fn commit_result_lists_added_and_removed_users() {
    let mut room = Room::with(
        Preset::CooperativelyAdministered,
        &[("alice", 4), ("bob", 2), ("carol", 2)],
        &["alice", "bob", "carol"],
    );
    let mut changes = room.remove_with_clients(member("alice"), "bob");
    changes.extend(room.ban(member("alice"), "carol"));
    changes.extend(room.add_with_client("alice", "dave", 2));
    let out = room.apply(&changes);
    assert_eq!(out.removed_users, vec![user("bob"), user("carol")]);
    assert_eq!(out.added_users, vec![user("dave")]);
    assert!(room.state.is_banned(&user("carol")));
    assert_eq!(room.role("bob"), None);
}
