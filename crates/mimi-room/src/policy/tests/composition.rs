//! Which changes may share a commit, and the validity of replaced components.

use mimi_types::wire::components as c;
use mimi_types::wire::{PreAuthData, PreAuthRoleEntry, RoomMetaData, Uri, Utf8String};

use super::*;

fn meta(name: &str) -> RoomMetaData {
    RoomMetaData {
        room_uri: Uri::new("mimi://a.example/r/clubhouse").unwrap(),
        room_name: Utf8String::new(name).unwrap(),
        ..Default::default()
    }
}

fn room() -> Room {
    Room::with(
        Preset::StrictlyAdministered,
        &[
            ("alice", strict::SUPER_ADMIN),
            ("bob", strict::ORDINARY_USER),
        ],
        &["alice", "bob"],
    )
}

fn preauth() -> PreAuthData {
    PreAuthData {
        preauthorized_entries: vec![PreAuthRoleEntry {
            claimset: vec![claim("dept", "eng")],
            target_role: Preset::StrictlyAdministered.roles().roles[2].clone(),
        }],
    }
}

#[test]
fn one_metadata_update_per_commit() {
    let room = room();
    let one = Change::new(member("alice"), ChangeKind::Metadata(meta("one")));
    let two = Change::new(member("alice"), ChangeKind::Metadata(meta("two")));
    room.reject(&[one.clone(), two], PolicyError::MultipleMetadataUpdates);
    let mut room = room;
    room.apply(&[one]);
    assert_eq!(room.state.metadata, Some(meta("one")));
}

#[test]
fn one_update_per_replaced_component() {
    let room = room();
    let base = Change::new(
        member("alice"),
        ChangeKind::BaseRoom(room.state.base.clone()),
    );
    room.reject(
        &[base.clone(), base],
        PolicyError::DuplicateComponentUpdate {
            component: c::BASE_ROOM_POLICY,
        },
    );
    let other = Change::new(
        member("alice"),
        ChangeKind::OtherPolicy(c::STATUS_NOTIFICATION_POLICY),
    );
    room.reject(
        &[other.clone(), other],
        PolicyError::DuplicateComponentUpdate {
            component: c::STATUS_NOTIFICATION_POLICY,
        },
    );
    let roles = Change::new(member("alice"), ChangeKind::Roles(room.state.roles.clone()));
    room.reject(
        &[roles.clone(), roles],
        PolicyError::DuplicateComponentUpdate {
            component: c::ROLES_LIST,
        },
    );
}

#[test]
fn roles_update_not_with_a_list_change() {
    let room = room();
    let roles = Change::new(member("alice"), ChangeKind::Roles(room.state.roles.clone()));
    let mut changes = vec![roles.clone()];
    changes.extend(room.remove_with_clients(member("alice"), "bob"));
    room.reject(&changes, PolicyError::RolesWithParticipantChange);
    // even an empty participant-list update
    room.reject(
        &[
            list_change(member("alice"), pl(&[], &[], &[])),
            roles.clone(),
        ],
        PolicyError::RolesWithParticipantChange,
    );
    // alone it is fine
    let mut room = room;
    room.apply(&[roles]);
}

#[test]
fn preauth_update_only_with_user_removals() {
    let room = room();
    let update = Change::new(member("alice"), ChangeKind::PreAuth(preauth()));
    let mut with_add = room.add_with_client("alice", "carol", strict::ORDINARY_USER);
    with_add.push(update.clone());
    room.reject(&with_add, PolicyError::PreAuthWithParticipantChange);
    let with_role_change = [
        room.set_role(member("alice"), "bob", strict::GROUP_ADMIN),
        update.clone(),
    ];
    room.reject(&with_role_change, PolicyError::PreAuthWithParticipantChange);
    let mut with_removal = room.remove_with_clients(member("alice"), "bob");
    with_removal.push(update);
    let mut room = room;
    room.apply(&with_removal);
    assert_eq!(room.state.preauth, preauth());
    assert_eq!(room.role("bob"), None);
}

#[test]
fn typed_components_are_not_other_policy() {
    let room = room();
    for id in [
        c::PARTICIPANT_LIST,
        c::ROOM_METADATA,
        c::ROLES_LIST,
        c::PREAUTH_LIST,
        c::BASE_ROOM_POLICY,
    ] {
        room.reject(
            &[Change::new(member("alice"), ChangeKind::OtherPolicy(id))],
            PolicyError::NotOtherPolicy { component: id },
        );
    }
}

#[test]
fn role_definitions_must_be_valid() {
    let room = room();
    let mut roles = room.state.roles.clone();
    let dup = roles.roles[2].clone();
    roles.roles.push(dup);
    room.reject(
        &[Change::new(member("alice"), ChangeKind::Roles(roles))],
        PolicyError::DuplicateRoleIndex { role: 2 },
    );
    let mut roles = room.state.roles.clone();
    roles.roles[2].role_capabilities.push(Capability::OPEN_JOIN);
    room.reject(
        &[Change::new(member("alice"), ChangeKind::Roles(roles))],
        PolicyError::OpenJoinOnNonZeroRole { role: 2 },
    );
}

#[test]
fn roles_update_must_keep_every_participants_role() {
    let room = room();
    let mut roles = room.state.roles.clone();
    roles
        .roles
        .retain(|r| r.role_index != strict::ORDINARY_USER);
    room.reject(
        &[Change::new(member("alice"), ChangeKind::Roles(roles))],
        PolicyError::UnknownRole {
            user: user("bob"),
            role: strict::ORDINARY_USER,
        },
    );
}

#[test]
fn fixed_membership_forbids_add_participant_roles() {
    // room-policy-03 §5: the strict preset's group_admin holds canAddParticipant
    let room = room();
    let mut base = room.state.base.clone();
    base.fixed_membership = true.into();
    room.reject(
        &[Change::new(member("alice"), ChangeKind::BaseRoom(base))],
        PolicyError::AddParticipantInFixedRoom {
            role: strict::GROUP_ADMIN,
        },
    );
}

#[test]
fn parent_room_set_exactly_when_parent_dependent() {
    let room = room();
    let mut base = room.state.base.clone();
    base.parent_dependant = true.into();
    room.reject(
        &[Change::new(
            member("alice"),
            ChangeKind::BaseRoom(base.clone()),
        )],
        PolicyError::ParentRoomInconsistent,
    );
    base.parent_room = vec![Uri::new("mimi://a.example/r/parent").unwrap()];
    let mut ok = room.clone();
    ok.apply(&[Change::new(
        member("alice"),
        ChangeKind::BaseRoom(base.clone()),
    )]);
    base.parent_dependant = false.into();
    room.reject(
        &[Change::new(member("alice"), ChangeKind::BaseRoom(base))],
        PolicyError::ParentRoomInconsistent,
    );
}

#[test]
fn base_policy_change_needs_membership_style_capability() {
    let room = room();
    let mut base = room.state.base.clone();
    base.discoverable = true.into();
    room.reject(
        &[Change::new(
            member("bob"),
            ChangeKind::BaseRoom(base.clone()),
        )],
        missing(
            strict::ORDINARY_USER,
            Capability::CHANGE_ROOM_MEMBERSHIP_STYLE,
        ),
    );
    let mut room = room;
    room.apply(&[Change::new(member("alice"), ChangeKind::BaseRoom(base))]);
    assert!(room.state.base.discoverable.0);
}

#[test]
fn room_uri_never_changes() {
    let mut room = room();
    room.apply(&[Change::new(
        member("alice"),
        ChangeKind::Metadata(meta("x")),
    )]);
    let mut moved = meta("x");
    moved.room_uri = Uri::new("mimi://a.example/r/elsewhere").unwrap();
    room.reject(
        &[Change::new(member("alice"), ChangeKind::Metadata(moved))],
        PolicyError::RoomUriChanged,
    );
}

#[test]
fn metadata_needs_one_capability_per_changed_field() {
    // cooperative ordinary users may rename but not re-describe the room
    let mut room = Room::with(
        Preset::CooperativelyAdministered,
        &[
            ("alice", cooperative::SUPER_ADMIN),
            ("bob", cooperative::ORDINARY_USER),
        ],
        &["alice", "bob"],
    );
    room.apply(&[Change::new(
        member("bob"),
        ChangeKind::Metadata(meta("bob's")),
    )]);
    let mut described = meta("bob's");
    described.room_descriptions = vec![mimi_types::wire::RichDescription {
        media_type: Vec::new().into(),
        language_tag: b"en".to_vec().into(),
        description_content: b"a room".to_vec().into(),
    }];
    room.reject(
        &[Change::new(
            member("bob"),
            ChangeKind::Metadata(described.clone()),
        )],
        missing(
            cooperative::ORDINARY_USER,
            Capability::CHANGE_ROOM_DESCRIPTION,
        ),
    );
    room.apply(&[Change::new(
        member("alice"),
        ChangeKind::Metadata(described),
    )]);
    // strict ordinary users may not change anything
    let strict = self::room();
    for (field, cap) in [
        ("name", Capability::CHANGE_ROOM_NAME),
        ("avatar", Capability::CHANGE_ROOM_AVATAR),
        ("subject", Capability::CHANGE_ROOM_SUBJECT),
        ("mood", Capability::CHANGE_ROOM_MOOD),
    ] {
        let mut m = RoomMetaData::default();
        match field {
            "name" => m.room_name = Utf8String::new("n").unwrap(),
            "avatar" => m.room_avatar = Uri::new("https://a.example/x.png").unwrap(),
            "subject" => m.room_subject = Utf8String::new("s").unwrap(),
            _ => m.room_mood = Utf8String::new("m").unwrap(),
        }
        strict.reject(
            &[Change::new(member("bob"), ChangeKind::Metadata(m))],
            missing(strict::ORDINARY_USER, cap),
        );
    }
    // an update that changes nothing needs no capability
    strict.clone().apply(&[Change::new(
        member("bob"),
        ChangeKind::Metadata(RoomMetaData::default()),
    )]);
}

#[test]
fn other_policy_components() {
    let room = room();
    // decision 0034: the membership-style holder changes other policy components
    let mut ok = room.clone();
    ok.apply(&[Change::new(
        member("alice"),
        ChangeKind::OtherPolicy(c::ASSET_POLICY),
    )]);
    room.reject(
        &[Change::new(
            member("bob"),
            ChangeKind::OtherPolicy(c::ASSET_POLICY),
        )],
        missing(
            strict::ORDINARY_USER,
            Capability::CHANGE_OTHER_POLICY_ATTRIBUTE,
        ),
    );
    // the operational policy needs canChangeMlsOperationalPolicies, which the strict
    // super_admin lacks
    room.reject(
        &[Change::new(
            member("alice"),
            ChangeKind::OtherPolicy(c::MLS_OPERATIONAL_POLICY),
        )],
        missing(
            strict::SUPER_ADMIN,
            Capability::CHANGE_MLS_OPERATIONAL_POLICIES,
        ),
    );
    // join links need canCreateJoinCode (strict super_admin has it)
    ok.apply(&[Change::new(
        member("alice"),
        ChangeKind::OtherPolicy(c::JOIN_LINKS),
    )]);
    room.reject(
        &[Change::new(
            member("bob"),
            ChangeKind::OtherPolicy(c::JOIN_LINKS),
        )],
        missing(strict::ORDINARY_USER, Capability::CREATE_JOIN_CODE),
    );
}

#[test]
fn preauth_and_roles_need_their_capabilities() {
    let room = room();
    room.reject(
        &[Change::new(member("bob"), ChangeKind::PreAuth(preauth()))],
        missing(
            strict::ORDINARY_USER,
            Capability::CHANGE_PREAUTHORIZED_USER_LIST,
        ),
    );
    room.reject(
        &[Change::new(
            member("bob"),
            ChangeKind::Roles(room.state.roles.clone()),
        )],
        missing(strict::ORDINARY_USER, Capability::CHANGE_ROLE_DEFINITIONS),
    );
    // the cooperative super_admin lacks canChangeRoleDefinitions (only its policy_enforcer
    // has it)
    let coop = Room::new(Preset::CooperativelyAdministered);
    coop.reject(
        &[Change::new(
            member("alice"),
            ChangeKind::Roles(coop.state.roles.clone()),
        )],
        missing(
            cooperative::SUPER_ADMIN,
            Capability::CHANGE_ROLE_DEFINITIONS,
        ),
    );
}

#[test]
fn roles_are_redefined_without_checking_counts() {
    // decision 0032: a redefinition does not move anyone, so it is not refused because the
    // current list is outside the new bounds; later changes are held to them
    let mut room = room();
    let mut roles = room.state.roles.clone();
    roles.roles[2].maximum_participants_constraint = Some(0);
    room.apply(&[Change::new(member("alice"), ChangeKind::Roles(roles))]);
    room.reject(
        &room.add_with_client("alice", "carol", strict::ORDINARY_USER),
        PolicyError::AboveMaxParticipants {
            role: strict::ORDINARY_USER,
            count: 2,
            max: 0,
        },
    );
}

#[test]
fn parent_dependent_rooms_are_subsets_of_their_parent() {
    let parent = Room::with(
        Preset::CooperativelyAdministered,
        &[
            ("alice", cooperative::SUPER_ADMIN),
            ("bob", cooperative::ORDINARY_USER),
            ("carol", cooperative::BANNED),
        ],
        &["alice", "bob"],
    );
    let mut child = Room::with(
        Preset::DirectMessage,
        &[("alice", dm::MEMBER), ("bob", dm::MEMBER)],
        &["alice"],
    );
    child.state.check_parent_subset(&parent.state).unwrap();
    // a user banned in the parent is not a participant of it
    child.state.participants = list(&[(user("alice"), dm::MEMBER), (user("carol"), dm::MEMBER)]);
    assert_eq!(
        child.state.check_parent_subset(&parent.state),
        Err(PolicyError::NotInParentRoom {
            user: user("carol")
        })
    );
    // nor is a stranger; a user banned in the child is exempt
    child.state.participants = list(&[(user("alice"), dm::MEMBER), (user("dave"), dm::MEMBER)]);
    assert_eq!(
        child.state.check_parent_subset(&parent.state),
        Err(PolicyError::NotInParentRoom { user: user("dave") })
    );
    child.state.participants = list(&[(user("alice"), dm::MEMBER), (user("dave"), dm::BANNED)]);
    child.state.check_parent_subset(&parent.state).unwrap();
}

#[test]
fn commit_rejects_adding_a_participant_twice() {
    let room = Room::with(
        Preset::CooperativelyAdministered,
        &[
            ("alice", cooperative::SUPER_ADMIN),
            ("bob", cooperative::ORDINARY_USER),
        ],
        &["alice"],
    );
    room.reject(
        &[list_change(
            member("alice"),
            pl(&[], &[], &[(user("bob"), cooperative::GROUP_ADMIN)]),
        )],
        PolicyError::DuplicateParticipant { user: user("bob") },
    );
}
