//! Per-role participant constraints (room-policy-03 §3, §8.1; docs/decisions/0032).

use super::*;

#[test]
fn below_min_participants() {
    // cooperative group_admin: minimum 1. The super admin cannot remove the only admin...
    let room = Room::with(
        Preset::CooperativelyAdministered,
        &[
            ("alice", cooperative::SUPER_ADMIN),
            ("bob", cooperative::GROUP_ADMIN),
        ],
        &["alice", "bob"],
    );
    room.reject(
        &room.remove_with_clients(member("alice"), "bob"),
        PolicyError::BelowMinParticipants {
            role: cooperative::GROUP_ADMIN,
            count: 0,
            min: 1,
        },
    );
    // ... nor demote or ban them, and the admin cannot leave
    room.reject(
        &[room.set_role(member("alice"), "bob", cooperative::ORDINARY_USER)],
        PolicyError::BelowMinParticipants {
            role: cooperative::GROUP_ADMIN,
            count: 0,
            min: 1,
        },
    );
    room.reject(
        &room.ban(member("alice"), "bob"),
        PolicyError::BelowMinParticipants {
            role: cooperative::GROUP_ADMIN,
            count: 0,
            min: 1,
        },
    );
    room.reject(
        &room.remove_with_clients(member("bob"), "bob"),
        PolicyError::BelowMinParticipants {
            role: cooperative::GROUP_ADMIN,
            count: 0,
            min: 1,
        },
    );
    // with a second admin it works
    let mut room = room;
    room.apply(&room.add_with_client("alice", "carol", cooperative::GROUP_ADMIN));
    room.apply(&room.remove_with_clients(member("alice"), "bob"));
}

#[test]
fn a_count_already_below_its_minimum_may_stay_there() {
    // a new cooperative room has no group_admin (minimum 1) and no policy_enforcer
    // (minimum 1): changes that do not lower those counts are accepted
    let mut room = Room::new(Preset::CooperativelyAdministered);
    room.apply(&room.add_with_client("alice", "bob", cooperative::ORDINARY_USER));
    room.apply(&room.remove_with_clients(member("alice"), "bob"));
}

#[test]
fn above_max_participants() {
    // multi-org: at most 3 org_b_admins
    let room = Room::with(
        Preset::MultiOrganization,
        &[
            ("alice", multi_org::SUPER_ADMIN),
            ("bob", multi_org::ORG_B_ADMIN),
            ("erin", multi_org::ORG_B_ADMIN),
        ],
        &["alice", "bob", "erin"],
    );
    let add = |names: &[&str]| {
        list_change(
            member("alice"),
            pl(
                &[],
                &[],
                &names
                    .iter()
                    .map(|n| (user(n), multi_org::ORG_B_ADMIN))
                    .collect::<Vec<_>>(),
            ),
        )
    };
    room.clone().apply(&[add(&["frank"])]);
    room.reject(
        &[add(&["frank", "oscar"])],
        PolicyError::AboveMaxParticipants {
            role: multi_org::ORG_B_ADMIN,
            count: 4,
            max: 3,
        },
    );
    // promotion counts too
    let mut three = room.clone();
    three.apply(&[add(&["frank"])]);
    three.apply(&[list_change(
        member("alice"),
        pl(&[], &[], &[(user("oscar"), multi_org::ORG_B_USER)]),
    )]);
    three.reject(
        &[three.set_role(member("alice"), "oscar", multi_org::ORG_B_ADMIN)],
        PolicyError::AboveMaxParticipants {
            role: multi_org::ORG_B_ADMIN,
            count: 4,
            max: 3,
        },
    );
    // a swap keeps the count
    three.apply(&[
        three.set_role(member("alice"), "oscar", multi_org::ORG_B_ADMIN),
        three.set_role(member("alice"), "frank", multi_org::ORG_B_USER),
    ]);
}

#[test]
fn below_min_active() {
    // multi-org org_b_admin: at least 1 active; bob is the only active one
    let room = Room::with(
        Preset::MultiOrganization,
        &[
            ("alice", multi_org::SUPER_ADMIN),
            ("bob", multi_org::ORG_B_ADMIN),
            ("erin", multi_org::ORG_B_ADMIN),
        ],
        &["alice", "bob"],
    );
    room.reject(
        &[remove_client(member("bob"), "bob", 1)],
        PolicyError::BelowMinActive {
            role: multi_org::ORG_B_ADMIN,
            count: 0,
            min: 1,
        },
    );
    // kicked by the super admin: same rule (canKick "if the
    // minimum_active_participants_constraint is satisfied")
    room.reject(
        &[remove_client(member("alice"), "bob", 1)],
        PolicyError::BelowMinActive {
            role: multi_org::ORG_B_ADMIN,
            count: 0,
            min: 1,
        },
    );
    // once erin is active, bob may go inactive
    let mut room = room;
    room.apply(&[add_client("alice", "erin", 1)]);
    room.apply(&[remove_client(member("bob"), "bob", 1)]);
}

#[test]
fn above_max_active() {
    // ordinary users limited to one active participant
    let mut room = Room::with(
        Preset::CooperativelyAdministered,
        &[
            ("alice", cooperative::SUPER_ADMIN),
            ("bob", cooperative::ORDINARY_USER),
        ],
        &["alice", "bob"],
    );
    room.state.roles.roles[2].maximum_active_participants_constraint = Some(1);
    room.reject(
        &room.add_with_client("alice", "carol", cooperative::ORDINARY_USER),
        PolicyError::AboveMaxActive {
            role: cooperative::ORDINARY_USER,
            count: 2,
            max: 1,
        },
    );
    // carol may be added inactive
    room.apply(&[list_change(
        member("alice"),
        pl(&[], &[], &[(user("carol"), cooperative::ORDINARY_USER)]),
    )]);
    // a second client of an active user does not add an active participant
    room.apply(&[add_client("bob", "bob", 2)]);
}

#[test]
fn max_active_zero_means_no_clients() {
    // the policy enforcer (max active 0) may be a participant but never have a client
    let mut room = Room::new(Preset::CooperativelyAdministered);
    room.state.roles.roles[4].authorized_role_changes.push(
        mimi_types::wire::SingleSourceRoleChangeTargets {
            from_role_index: 0,
            target_role_indexes: vec![cooperative::POLICY_ENFORCER],
        },
    );
    room.reject(
        &room.add_with_client("alice", "oscar", cooperative::POLICY_ENFORCER),
        PolicyError::AboveMaxActive {
            role: cooperative::POLICY_ENFORCER,
            count: 1,
            max: 0,
        },
    );
    room.apply(&[list_change(
        member("alice"),
        pl(&[], &[], &[(user("oscar"), cooperative::POLICY_ENFORCER)]),
    )]);
}
