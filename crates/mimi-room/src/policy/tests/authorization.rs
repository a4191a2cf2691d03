//! Authorization of member actions by capability (room-policy-03 §8.1).

use mimi_types::wire::{PreAuthData, PreAuthRoleEntry, RoleData, Utf8String};

use super::*;

const ORD: u32 = cooperative::ORDINARY_USER;
const ADMIN: u32 = cooperative::GROUP_ADMIN;
const SUPER: u32 = cooperative::SUPER_ADMIN;

/// alice super_admin, bob group_admin, carol and dave ordinary; all active.
fn coop() -> Room {
    Room::with(
        Preset::CooperativelyAdministered,
        &[
            ("alice", SUPER),
            ("bob", ADMIN),
            ("carol", ORD),
            ("dave", ORD),
        ],
        &["alice", "bob", "carol", "dave"],
    )
}

#[test]
fn add_participant_needs_entry_from_zero_listing_the_role() {
    let room = coop();
    // ordinary users add ordinary users: (0,[2])
    room.clone()
        .apply(&room.add_with_client("carol", "erin", ORD));
    // but not group admins
    room.reject(
        &room.add_with_client("carol", "erin", ADMIN),
        PolicyError::RoleChangeNotAuthorized {
            capability: Capability::ADD_PARTICIPANT,
            from: 0,
            to: ADMIN,
        },
    );
    // group admins may add admins and pre-banned users
    room.clone()
        .apply(&room.add_with_client("bob", "erin", ADMIN));
    room.clone().apply(&[list_change(
        member("bob"),
        pl(&[], &[], &[(user("erin"), BANNED_ROLE)]),
    )]);
}

#[test]
fn add_participant_needs_the_capability() {
    let room = Room::with(
        Preset::StrictlyAdministered,
        &[
            ("alice", strict::SUPER_ADMIN),
            ("bob", strict::ORDINARY_USER),
        ],
        &["alice", "bob"],
    );
    room.reject(
        &room.add_with_client("bob", "carol", strict::ORDINARY_USER),
        missing(strict::ORDINARY_USER, Capability::ADD_PARTICIPANT),
    );
}

#[test]
fn adding_a_client_of_another_user() {
    let mut room = coop();
    // with the list addition, by the adder
    room.apply(&room.add_with_client("carol", "erin", ORD));
    assert!(room.members.is_active(&user("erin")));
    // re-adding a client of an inactive participant whose role the actor could have given
    // (decision 0036)
    let mut inactive = coop();
    inactive.apply(&inactive.client_removals(member("bob"), "dave"));
    assert!(!inactive.members.is_active(&user("dave")));
    inactive.apply(&[add_client("carol", "dave", 2)]);
    // but not for a role outside the actor's (0 -> role) entry
    let admin_inactive = Room::with(
        Preset::CooperativelyAdministered,
        &[("alice", SUPER), ("bob", ADMIN), ("carol", ORD)],
        &["alice", "carol"],
    );
    admin_inactive.reject(
        &[add_client("carol", "bob", 1)],
        PolicyError::RoleChangeNotAuthorized {
            capability: Capability::ADD_PARTICIPANT,
            from: 0,
            to: ADMIN,
        },
    );
    // nor without canAddParticipant
    let strict_room = Room::with(
        Preset::StrictlyAdministered,
        &[
            ("alice", strict::SUPER_ADMIN),
            ("bob", strict::ORDINARY_USER),
            ("carol", strict::ORDINARY_USER),
        ],
        &["alice", "bob"],
    );
    strict_room.reject(
        &[add_client("bob", "carol", 1)],
        missing(strict::ORDINARY_USER, Capability::ADD_PARTICIPANT),
    );
}

#[test]
fn add_own_client() {
    let mut room = coop();
    room.apply(&[add_client("carol", "carol", 2)]);
    assert_eq!(room.members.user_client_count(&user("carol")), 2);
    // the moderated guest lacks canAddOwnClient
    let moderated = Room::with(
        Preset::Moderated,
        &[("alice", moderated::SUPER_ADMIN), ("bob", moderated::GUEST)],
        &["alice", "bob"],
    );
    moderated.reject(
        &[add_client("bob", "bob", 2)],
        missing(moderated::GUEST, Capability::ADD_OWN_CLIENT),
    );
}

#[test]
fn remove_participant() {
    let room = coop();
    // ordinary users remove ordinary users: (2,[0])
    room.clone()
        .apply(&room.remove_with_clients(member("carol"), "dave"));
    // not admins: no (3, ...) entry
    room.reject(
        &room.remove_with_clients(member("carol"), "bob"),
        PolicyError::RoleChangeNotAuthorized {
            capability: Capability::REMOVE_PARTICIPANT,
            from: ADMIN,
            to: 0,
        },
    );
    let strict_room = Room::with(
        Preset::StrictlyAdministered,
        &[
            ("alice", strict::SUPER_ADMIN),
            ("bob", strict::ORDINARY_USER),
            ("carol", strict::ORDINARY_USER),
        ],
        &["alice", "bob", "carol"],
    );
    strict_room.reject(
        &strict_room.remove_with_clients(member("bob"), "carol"),
        missing(strict::ORDINARY_USER, Capability::REMOVE_PARTICIPANT),
    );
}

#[test]
fn remove_self() {
    let room = coop();
    // carol leaves: her list removal and her clients' removal (committed by someone else;
    // here her own proposals, by reference)
    let mut left = room.clone();
    let out = left.apply(&room.remove_with_clients(member("carol"), "carol"));
    assert_eq!(out.removed_users, vec![user("carol")]);
    assert!(!left.state.can_send_message(&user("carol")));
    // a role without canRemoveSelf
    let mut roles = room.state.roles.clone();
    roles.roles[2]
        .role_capabilities
        .retain(|c| *c != Capability::REMOVE_SELF);
    let mut no_leave = room.clone();
    no_leave.state.roles = roles;
    no_leave.reject(
        &no_leave.remove_with_clients(member("carol"), "carol"),
        missing(ORD, Capability::REMOVE_SELF),
    );
    // a role whose entries lack (own role -> 0): the moderated policy enforcer has none for 7
    let mut enforcer = Room::with(
        Preset::Moderated,
        &[
            ("alice", moderated::SUPER_ADMIN),
            ("oscar", moderated::POLICY_ENFORCER),
        ],
        &["alice"],
    );
    enforcer.members.insert(user("oscar"), client("oscar", 1));
    let mut roles = enforcer.state.roles.clone();
    roles.roles[7]
        .role_capabilities
        .push(Capability::REMOVE_SELF);
    roles.roles[7].maximum_active_participants_constraint = None;
    enforcer.state.roles = roles;
    enforcer.reject(
        &enforcer.remove_with_clients(member("oscar"), "oscar"),
        PolicyError::RoleChangeNotAuthorized {
            capability: Capability::REMOVE_SELF,
            from: moderated::POLICY_ENFORCER,
            to: 0,
        },
    );
}

#[test]
fn remove_own_client_and_kick() {
    let room = coop();
    room.clone()
        .apply(&[remove_client(member("carol"), "carol", 1)]);
    room.reject(
        &[remove_client(member("carol"), "dave", 1)],
        missing(ORD, Capability::KICK),
    );
    let mut kicked = room.clone();
    kicked.apply(&[remove_client(member("bob"), "dave", 1)]);
    // kicked, still a participant
    assert_eq!(kicked.role("dave"), Some(ORD));
    assert!(!kicked.members.is_active(&user("dave")));
    // a role without canRemoveOwnClient
    let moderated = Room::with(
        Preset::Moderated,
        &[("alice", moderated::SUPER_ADMIN), ("bob", moderated::GUEST)],
        &["alice", "bob"],
    );
    moderated.reject(
        &[remove_client(member("bob"), "bob", 1)],
        missing(moderated::GUEST, Capability::REMOVE_OWN_CLIENT),
    );
}

#[test]
fn change_user_role() {
    let room = coop();
    // bob (group_admin): (2,[0,1,3]) -> promote carol to admin
    let mut promoted = room.clone();
    promoted.apply(&[room.set_role(member("bob"), "carol", ADMIN)]);
    assert_eq!(promoted.role("carol"), Some(ADMIN));
    // but not to super_admin
    room.reject(
        &[room.set_role(member("bob"), "carol", SUPER)],
        PolicyError::RoleChangeNotAuthorized {
            capability: Capability::CHANGE_USER_ROLE,
            from: ORD,
            to: SUPER,
        },
    );
    // ordinary users cannot change roles
    room.reject(
        &[room.set_role(member("carol"), "dave", ADMIN)],
        missing(ORD, Capability::CHANGE_USER_ROLE),
    );
    // nor can an admin change its own role through canChangeUserRole
    room.reject(
        &[room.set_role(member("bob"), "bob", ORD)],
        missing(ADMIN, Capability::CHANGE_OWN_ROLE),
    );
}

#[test]
fn ban_and_unban() {
    let mut room = coop();
    room.apply(&room.ban(member("bob"), "dave"));
    assert!(room.state.is_banned(&user("dave")));
    assert!(!room.state.can_send_message(&user("dave")));
    assert!(!room.state.can_receive_message(&user("dave")));
    assert!(!room.members.is_active(&user("dave")));
    // ordinary users cannot ban or unban
    room.reject(
        &room.ban(member("carol"), "alice"),
        missing(ORD, Capability::BAN),
    );
    room.reject(
        &[room.set_role(member("carol"), "dave", ORD)],
        missing(ORD, Capability::UNBAN),
    );
    // unban (1 -> 2); no client comes back with it
    room.apply(&[room.set_role(member("bob"), "dave", ORD)]);
    assert!(!room.state.is_banned(&user("dave")));
    assert!(!room.members.is_active(&user("dave")));
}

#[test]
fn ban_rules_follow_authorized_role_changes() {
    // multi-org: org_b_admin may ban org_b_users (3,[0,1,6]) but not org_c users, and may
    // not unban at all
    let mut room = Room::with(
        Preset::MultiOrganization,
        &[
            ("alice", multi_org::SUPER_ADMIN),
            ("bob", multi_org::ORG_B_ADMIN),
            ("erin", multi_org::ORG_B_USER),
            ("frank", multi_org::ORG_C_USER),
        ],
        &["alice", "bob", "erin", "frank"],
    );
    room.reject(
        &room.ban(member("bob"), "frank"),
        PolicyError::RoleChangeNotAuthorized {
            capability: Capability::BAN,
            from: multi_org::ORG_C_USER,
            to: BANNED_ROLE,
        },
    );
    room.apply(&room.ban(member("bob"), "erin"));
    // (canChangeUserRole, which it holds, has no entry from role 1 either)
    room.reject(
        &[room.set_role(member("bob"), "erin", multi_org::ORG_B_USER)],
        PolicyError::RoleChangeNotAuthorized {
            capability: Capability::CHANGE_USER_ROLE,
            from: BANNED_ROLE,
            to: multi_org::ORG_B_USER,
        },
    );
    // the super_admin may
    room.apply(&[room.set_role(member("alice"), "erin", multi_org::ORG_B_USER)]);
}

#[test]
fn banning_needs_the_banned_role() {
    // a role set whose role 1 is not named "banned"
    let mut room = coop();
    let mut roles: RoleData = room.state.roles.clone();
    roles.roles[1].role_name = Utf8String::new("muted").unwrap();
    // group_admin keeps canBan but loses canChangeUserRole, to see the ban rule alone
    roles.roles[3]
        .role_capabilities
        .retain(|c| *c != Capability::CHANGE_USER_ROLE);
    room.state.roles = roles;
    room.reject(
        &room.ban(member("bob"), "dave"),
        PolicyError::BannedRoleUndefined,
    );
    // with canChangeUserRole the move to role 1 is an ordinary role change, and role 1 is
    // not "banned": dave keeps his clients and stays a participant
    let mut room2 = coop();
    room2.state.roles.roles[1].role_name = Utf8String::new("muted").unwrap();
    room2.state.roles.roles[1].maximum_active_participants_constraint = None;
    room2.apply(&[room2.set_role(member("bob"), "dave", 1)]);
    assert!(!room2.state.is_banned(&user("dave")));
    assert!(room2.members.is_active(&user("dave")));
}

fn preauth_room() -> Room {
    // strict: ordinary users hold canChangeOwnRole; preauth: eng-admins -> group_admin
    let mut room = Room::with(
        Preset::StrictlyAdministered,
        &[
            ("alice", strict::SUPER_ADMIN),
            ("bob", strict::ORDINARY_USER),
        ],
        &["alice", "bob"],
    );
    let roles = room.state.roles.clone();
    room.state.preauth = PreAuthData {
        preauthorized_entries: vec![
            PreAuthRoleEntry {
                claimset: vec![claim("dept", "eng"), claim("level", "admin")],
                target_role: roles.roles[3].clone(),
            },
            PreAuthRoleEntry {
                claimset: vec![claim("dept", "eng")],
                target_role: roles.roles[2].clone(),
            },
        ],
    };
    room
}

#[test]
fn change_own_role_by_preauthorization() {
    let room = preauth_room();
    let bob_admin = Actor::MemberWithClaims {
        user: user("bob"),
        claims: vec![claim("level", "admin"), claim("dept", "eng")],
    };
    let mut promoted = room.clone();
    promoted.apply(&[room.set_role(bob_admin, "bob", strict::GROUP_ADMIN)]);
    assert_eq!(promoted.role("bob"), Some(strict::GROUP_ADMIN));
    // claims matching only the second entry
    let bob_eng = Actor::MemberWithClaims {
        user: user("bob"),
        claims: vec![claim("dept", "eng")],
    };
    room.reject(
        &[room.set_role(bob_eng, "bob", strict::GROUP_ADMIN)],
        PolicyError::PreauthRoleMismatch {
            user: user("bob"),
            requested: strict::GROUP_ADMIN,
            matched: Some(strict::ORDINARY_USER),
        },
    );
    // no claims at all
    room.reject(
        &[room.set_role(member("bob"), "bob", strict::GROUP_ADMIN)],
        PolicyError::PreauthRoleMismatch {
            user: user("bob"),
            requested: strict::GROUP_ADMIN,
            matched: None,
        },
    );
    // a value that differs
    let bob_ops = Actor::MemberWithClaims {
        user: user("bob"),
        claims: vec![claim("dept", "ops"), claim("level", "admin")],
    };
    room.reject(
        &[room.set_role(bob_ops, "bob", strict::GROUP_ADMIN)],
        PolicyError::PreauthRoleMismatch {
            user: user("bob"),
            requested: strict::GROUP_ADMIN,
            matched: None,
        },
    );
}

#[test]
fn change_own_role_needs_the_capability() {
    // no cooperative role holds canChangeOwnRole
    let room = coop();
    room.reject(
        &[room.set_role(
            Actor::MemberWithClaims {
                user: user("carol"),
                claims: vec![],
            },
            "carol",
            ADMIN,
        )],
        missing(ORD, Capability::CHANGE_OWN_ROLE),
    );
}

#[test]
fn member_actor_must_have_a_client() {
    let room = Room::with(
        Preset::CooperativelyAdministered,
        &[("alice", SUPER), ("bob", ADMIN)],
        &["alice"],
    );
    room.reject(
        &room.add_with_client("bob", "carol", ORD),
        PolicyError::ActorNotInGroup { user: user("bob") },
    );
}

#[test]
fn removed_user_clients_may_only_remove_themselves() {
    // protocol-06 §5.3: carol is no longer a participant but one client lingers
    let mut room = Room::with(
        Preset::CooperativelyAdministered,
        &[("alice", SUPER), ("bob", ORD)],
        &["alice", "bob"],
    );
    room.members.insert(user("carol"), client("carol", 1));
    room.reject(
        &room.add_with_client("carol", "dave", ORD),
        PolicyError::ActorNotParticipant {
            user: user("carol"),
        },
    );
    room.reject(
        &[remove_client(member("carol"), "bob", 1)],
        PolicyError::ActorNotParticipant {
            user: user("carol"),
        },
    );
    room.clone()
        .apply(&[remove_client(member("carol"), "carol", 1)]);
}

#[test]
fn client_removal_of_a_leaving_user_needs_no_capability() {
    // decision 0036: alice removes carol (ordinary) from the list; carol's clients are removed
    // by the committer dave, who holds no canKick
    let room = coop();
    let mut changes = vec![list_change(
        member("bob"),
        pl(&[], &[room.index("carol")], &[]),
    )];
    changes.extend(room.client_removals(member("dave"), "carol"));
    room.clone().apply(&changes);
    // without the list removal dave needs canKick
    room.reject(
        &room.client_removals(member("dave"), "carol"),
        missing(ORD, Capability::KICK),
    );
}

#[test]
fn authorization_uses_the_state_before_the_commit() {
    // decision 0031: carol promoted to admin in this commit cannot yet kick
    let room = coop();
    room.reject(
        &[
            room.set_role(member("bob"), "carol", ADMIN),
            remove_client(member("carol"), "dave", 1),
        ],
        missing(ORD, Capability::KICK),
    );
}
