//! The presets, and realistic flows in each (room-policy-03 Appendix A).

use mimi_types::wire::{PreAuthData, PreAuthRoleEntry};

use super::*;

#[test]
fn every_preset_creates_a_valid_room() {
    for preset in Preset::ALL {
        let state = PolicyState::new_room(preset, user("alice")).unwrap();
        assert_eq!(
            state.role_index_of(&user("alice")),
            Some(preset.creator_role())
        );
        state.validate(&Membership::new()).unwrap();
        assert!(
            state.role(preset.member_role()).is_some(),
            "{}",
            preset.name()
        );
        assert!(state.banned_role_defined());
        assert!(state.can_send_message(&user("alice")), "{}", preset.name());
        assert!(state.can_receive_message(&user("alice")));
        assert!(!state.can_send_message(&user("bob")));
        assert_eq!(state.participant_domains().len(), 1);
        // the creator's first client
        let mut m = Membership::new();
        m.insert(user("alice"), client("alice", 1));
        state.validate(&m).unwrap();
    }
}

#[test]
fn creator_must_be_a_user() {
    let room_uri = MimiUri::parse("mimi://a.example/r/clubhouse").unwrap();
    assert_eq!(
        PolicyState::new_room(Preset::OpenRoom, room_uri.clone()),
        Err(PolicyError::NotAUser { uri: room_uri })
    );
    let koala = MimiUri::parse("mimi://a.example/p/koala").unwrap();
    assert_eq!(
        PolicyState::new_room(Preset::OpenRoom, koala.clone()),
        Err(PolicyError::PseudonymNotAllowed { user: koala })
    );
}

#[test]
fn appendix_a_role_sets() {
    let coop = Preset::CooperativelyAdministered.roles();
    assert_eq!(coop.roles.len(), 6);
    let names: Vec<_> = coop.roles.iter().map(|r| r.role_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "no_role",
            "banned",
            "ordinary_user",
            "group_admin",
            "super_admin",
            "policy_enforcer"
        ]
    );
    assert_eq!(coop.roles[2].role_capabilities.len(), 37);
    assert_eq!(coop.roles[3].minimum_participants_constraint, 1);
    assert_eq!(coop.roles[5].maximum_participants_constraint, Some(2));
    assert_eq!(
        coop.roles[5].maximum_active_participants_constraint,
        Some(0)
    );
    assert_eq!(Preset::StrictlyAdministered.roles().roles.len(), 6);
    let moderated = Preset::Moderated.roles();
    assert_eq!(moderated.roles.len(), 8);
    // speaker holds the attendee's capabilities plus sending (decision 0037)
    assert!(
        moderated.roles[4]
            .role_capabilities
            .contains(&Capability::SEND_MESSAGE)
    );
    assert!(
        moderated.roles[4]
            .role_capabilities
            .contains(&Capability::ADD_OWN_CLIENT)
    );
    assert!(
        !moderated.roles[3]
            .role_capabilities
            .contains(&Capability::SEND_MESSAGE)
    );
    let multi = Preset::MultiOrganization.roles();
    assert_eq!(multi.roles.len(), 10);
    assert_eq!(multi.roles[6].maximum_participants_constraint, Some(3));
    // every preset's roles are unique and consistent with its base policy
    for preset in Preset::ALL {
        let state = PolicyState::new_room(preset, user("alice")).unwrap();
        for r in &state.roles.roles {
            if r.role_index != 0 {
                assert!(!r.role_capabilities.contains(&Capability::OPEN_JOIN));
            }
        }
    }
}

#[test]
fn cooperatively_administered_flow() {
    use cooperative::*;
    let mut room = Room::new(Preset::CooperativelyAdministered);
    // the super admin adds bob and carol with their clients
    room.apply(&room.add_with_client("alice", "bob", ORDINARY_USER));
    room.apply(&room.add_with_client("alice", "carol", GROUP_ADMIN));
    // any ordinary user adds ordinary users ...
    room.apply(&room.add_with_client("bob", "dave", ORDINARY_USER));
    // ... but not admins
    room.reject(
        &room.add_with_client("bob", "erin", GROUP_ADMIN),
        PolicyError::RoleChangeNotAuthorized {
            capability: Capability::ADD_PARTICIPANT,
            from: 0,
            to: GROUP_ADMIN,
        },
    );
    // and removes ordinary users
    room.apply(&room.remove_with_clients(member("bob"), "dave"));
    // the admin kicks bob's client; bob stays a participant
    room.apply(&[remove_client(member("carol"), "bob", 1)]);
    assert_eq!(room.role("bob"), Some(ORDINARY_USER));
    // bob comes back with a new client by external commit
    room.apply(&[Change::new(
        Actor::NewMember {
            user: user("bob"),
            claims: vec![],
        },
        ChangeKind::AddClient {
            user: user("bob"),
            client: client("bob", 2),
        },
    )]);
    // the admin bans and unbans bob
    room.apply(&room.ban(member("carol"), "bob"));
    assert!(!room.state.can_send_message(&user("bob")));
    room.apply(&[room.set_role(member("carol"), "bob", ORDINARY_USER)]);
    assert!(room.state.can_send_message(&user("bob")));
    // alice promotes bob, then bob leaves (his removal committed by alice)
    room.apply(&[room.set_role(member("alice"), "bob", GROUP_ADMIN)]);
    // bob has no client since his ban: he rejoins by external commit
    room.apply(&[Change::new(
        Actor::NewMember {
            user: user("bob"),
            claims: vec![],
        },
        ChangeKind::AddClient {
            user: user("bob"),
            client: client("bob", 3),
        },
    )]);
    let mut leave = vec![list_change(
        member("bob"),
        pl(&[], &[room.index("bob")], &[]),
    )];
    leave.extend(room.client_removals(member("alice"), "bob"));
    room.apply(&leave);
    assert_eq!(room.role("bob"), None);
}

#[test]
fn strictly_administered_flow() {
    use strict::*;
    let mut room = Room::new(Preset::StrictlyAdministered);
    room.apply(&room.add_with_client("alice", "bob", ORDINARY_USER));
    room.apply(&room.add_with_client("alice", "carol", GROUP_ADMIN));
    // members cannot add anyone
    room.reject(
        &room.add_with_client("bob", "dave", ORDINARY_USER),
        missing(ORDINARY_USER, Capability::ADD_PARTICIPANT),
    );
    // the group admin adds dave, promotes bob within its authorized role changes ...
    room.apply(&room.add_with_client("carol", "dave", ORDINARY_USER));
    room.apply(&[room.set_role(member("carol"), "bob", GROUP_ADMIN)]);
    // ... but not to super admin (no 4 in (2,[0,1,3]))
    room.reject(
        &[room.set_role(member("carol"), "dave", SUPER_ADMIN)],
        PolicyError::RoleChangeNotAuthorized {
            capability: Capability::CHANGE_USER_ROLE,
            from: ORDINARY_USER,
            to: SUPER_ADMIN,
        },
    );
    // the super admin can
    room.apply(&[room.set_role(member("alice"), "dave", SUPER_ADMIN)]);
    // members cannot kick; admins can
    room.apply(&room.add_with_client("alice", "erin", ORDINARY_USER));
    room.reject(
        &[remove_client(member("erin"), "carol", 1)],
        missing(ORDINARY_USER, Capability::KICK),
    );
    room.apply(&[remove_client(member("carol"), "erin", 1)]);
    // preauthorized engineers join on their own as ordinary users
    let roles = room.state.roles.clone();
    room.apply(&[Change::new(
        member("alice"),
        ChangeKind::PreAuth(PreAuthData {
            preauthorized_entries: vec![PreAuthRoleEntry {
                claimset: vec![claim("dept", "eng")],
                target_role: roles.roles[2].clone(),
            }],
        }),
    )]);
    let frank = Actor::NewMember {
        user: user("frank"),
        claims: vec![claim("dept", "eng")],
    };
    room.apply(&[
        list_change(
            frank.clone(),
            pl(&[], &[], &[(user("frank"), ORDINARY_USER)]),
        ),
        Change::new(
            frank,
            ChangeKind::AddClient {
                user: user("frank"),
                client: client("frank", 1),
            },
        ),
    ]);
    assert!(room.state.can_send_message(&user("frank")));
    let outsider = Actor::NewMember {
        user: user("oscar"),
        claims: vec![claim("dept", "sales")],
    };
    room.reject(
        &[list_change(
            outsider,
            pl(&[], &[], &[(user("oscar"), ORDINARY_USER)]),
        )],
        PolicyError::JoinNotAuthorized {
            user: user("oscar"),
            role: ORDINARY_USER,
        },
    );
    // frank leaves on his own
    let mut leave = vec![list_change(
        member("frank"),
        pl(&[], &[room.index("frank")], &[]),
    )];
    leave.extend(room.client_removals(member("frank"), "frank"));
    room.apply(&leave);
}

#[test]
fn moderated_flow() {
    use moderated::*;
    let mut room = Room::new(Preset::Moderated);
    room.apply(&room.add_with_client("alice", "bob", MODERATOR));
    // the moderator brings in a guest and a speaker
    room.apply(&room.add_with_client("bob", "carol", GUEST));
    room.apply(&room.add_with_client("bob", "dave", SPEAKER));
    assert!(!room.state.can_send_message(&user("carol")));
    assert!(room.state.can_receive_message(&user("carol")));
    assert!(room.state.can_send_message(&user("dave")));
    // guests cannot add their own devices, attendees can
    room.reject(
        &[add_client("carol", "carol", 2)],
        missing(GUEST, Capability::ADD_OWN_CLIENT),
    );
    room.apply(&[room.set_role(member("bob"), "carol", ATTENDEE)]);
    room.apply(&[add_client("carol", "carol", 2)]);
    // the moderator gives carol voice, kicks her, then bans dave
    room.apply(&[room.set_role(member("bob"), "carol", SPEAKER)]);
    assert!(room.state.can_send_message(&user("carol")));
    room.apply(&room.client_removals(member("bob"), "carol"));
    assert_eq!(room.role("carol"), Some(SPEAKER));
    room.apply(&room.ban(member("bob"), "dave"));
    assert!(!room.state.can_send_message(&user("dave")));
    // a speaker cannot moderate
    room.apply(&room.add_with_client("alice", "erin", SPEAKER));
    room.reject(
        &[room.set_role(member("erin"), "dave", GUEST)],
        missing(SPEAKER, Capability::UNBAN),
    );
    // the moderator cannot remove the super admin: no entry from role 6
    room.reject(
        &room.remove_with_clients(member("bob"), "alice"),
        PolicyError::RoleChangeNotAuthorized {
            capability: Capability::REMOVE_PARTICIPANT,
            from: SUPER_ADMIN,
            to: 0,
        },
    );
    // guests leave on their own
    room.apply(&room.add_with_client("bob", "frank", GUEST));
    let mut leave = vec![list_change(
        member("frank"),
        pl(&[], &[room.index("frank")], &[]),
    )];
    leave.extend(room.client_removals(member("bob"), "frank"));
    room.apply(&leave);
    // the last moderator cannot be demoted (minimum 1)
    room.reject(
        &[room.set_role(member("alice"), "bob", ATTENDEE)],
        PolicyError::BelowMinParticipants {
            role: MODERATOR,
            count: 0,
            min: 1,
        },
    );
}

#[test]
fn multi_organization_flow() {
    use multi_org::*;
    let mut room = Room::new(Preset::MultiOrganization);
    // the super admin appoints an admin for org B
    room.apply(&room.add_with_client("alice", "bob", ORG_B_ADMIN));
    // who adds org B users but not org C users
    room.apply(&room.add_with_client("bob", "erin", ORG_B_USER));
    room.reject(
        &room.add_with_client("bob", "frank", ORG_C_USER),
        PolicyError::RoleChangeNotAuthorized {
            capability: Capability::ADD_PARTICIPANT,
            from: 0,
            to: ORG_C_USER,
        },
    );
    // org B users cannot start topics or upload, admins can (client-enforced capabilities)
    assert!(
        !room
            .state
            .has_capability(&user("erin"), Capability::START_TOPIC)
    );
    assert!(
        room.state
            .has_capability(&user("bob"), Capability::START_TOPIC)
    );
    // the org B admin bans its user but cannot unban
    room.apply(&room.ban(member("bob"), "erin"));
    room.reject(
        &[room.set_role(member("bob"), "erin", ORG_B_USER)],
        PolicyError::RoleChangeNotAuthorized {
            capability: Capability::CHANGE_USER_ROLE,
            from: BANNED_ROLE,
            to: ORG_B_USER,
        },
    );
    room.apply(&[room.set_role(member("alice"), "erin", ORG_B_USER)]);
    // bob is the only active org B admin (minimum 1 active): he cannot drop his last client
    room.reject(
        &[remove_client(member("bob"), "bob", 1)],
        PolicyError::BelowMinActive {
            role: ORG_B_ADMIN,
            count: 0,
            min: 1,
        },
    );
}

#[test]
fn open_room_flow() {
    use open::*;
    let mut room = Room::new(Preset::OpenRoom);
    assert!(room.state.base.discoverable.0);
    let join = |name: &str| {
        let actor = Actor::NewMember {
            user: user(name),
            claims: vec![],
        };
        vec![
            list_change(actor.clone(), pl(&[], &[], &[(user(name), MEMBER)])),
            Change::new(
                actor,
                ChangeKind::AddClient {
                    user: user(name),
                    client: client(name, 1),
                },
            ),
        ]
    };
    room.apply(&join("bob"));
    room.apply(&join("erin"));
    // members invite others and leave; they cannot kick
    room.apply(&room.add_with_client("bob", "carol", MEMBER));
    room.reject(
        &[remove_client(member("bob"), "erin", 1)],
        missing(MEMBER, Capability::KICK),
    );
    // the owner appoints a moderator, who kicks and bans
    room.apply(&[room.set_role(member("alice"), "bob", MODERATOR)]);
    room.apply(&[remove_client(member("bob"), "erin", 1)]);
    room.apply(&join("dave"));
    room.apply(&room.ban(member("bob"), "dave"));
    room.reject(
        &join("dave"),
        PolicyError::JoinerBanned { user: user("dave") },
    );
    // unbanned, dave is a member without clients; he comes back with canAddOwnClient
    room.apply(&[room.set_role(member("bob"), "dave", MEMBER)]);
    room.apply(&[Change::new(
        Actor::NewMember {
            user: user("dave"),
            claims: vec![],
        },
        ChangeKind::AddClient {
            user: user("dave"),
            client: client("dave", 2),
        },
    )]);
    // the last owner cannot leave
    room.reject(
        &room.remove_with_clients(member("alice"), "alice"),
        PolicyError::BelowMinParticipants {
            role: OWNER,
            count: 0,
            min: 1,
        },
    );
}

#[test]
fn direct_message_flow() {
    let state =
        PolicyState::new_room_with(Preset::DirectMessage, user("alice"), &[user("bob")]).unwrap();
    let members: Membership = [
        (user("alice"), client("alice", 1)),
        (user("bob"), client("bob", 1)),
    ]
    .into_iter()
    .collect();
    let mut room = Room { state, members };
    // own devices come and go
    room.apply(&[add_client("bob", "bob", 2)]);
    room.apply(&[remove_client(member("bob"), "bob", 1)]);
    // nobody joins, leaves or is removed, the hub included
    room.reject(
        &room.add_with_client("alice", "carol", dm::MEMBER),
        PolicyError::FixedMembership {
            user: user("carol"),
        },
    );
    room.reject(
        &room.remove_with_clients(member("bob"), "bob"),
        PolicyError::FixedMembership { user: user("bob") },
    );
    room.reject(
        &room.remove_with_clients(Actor::Hub, "bob"),
        PolicyError::FixedMembership { user: user("bob") },
    );
    room.reject(
        &room.remove_with_clients(Actor::Follower(domain("b.example")), "bob"),
        PolicyError::FixedMembership { user: user("bob") },
    );
    room.reject(
        &[list_change(
            Actor::NewMember {
                user: user("carol"),
                claims: vec![],
            },
            pl(&[], &[], &[(user("carol"), dm::MEMBER)]),
        )],
        PolicyError::FixedMembership {
            user: user("carol"),
        },
    );
    // but the hub may still ban (the user stays in the list)
    room.apply(&room.ban(Actor::Hub, "bob"));
    assert!(room.state.is_banned(&user("bob")));
}
