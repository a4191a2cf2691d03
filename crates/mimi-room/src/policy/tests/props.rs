//! Property tests: random commits on random rooms never panic, and every accepted commit
//! yields a state that satisfies every invariant.

use std::collections::BTreeMap;

use mimi_types::wire::{
    BaseRoomPolicy, PreAuthData, PreAuthRoleEntry, RoleData, RoomMetaData, Utf8String,
};
use proptest::prelude::*;

use super::*;

const NAMES: [&str; 8] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "oscar", "zoe",
];
const DOMAINS: [&str; 3] = ["a.example", "b.example", "c.example"];

fn claims(eng: bool) -> Vec<Claim> {
    if eng {
        vec![claim("dept", "eng"), claim("level", "admin")]
    } else {
        vec![claim("dept", "sales")]
    }
}

fn preauth_for(roles: &RoleData, member_role: u32, admin_role: u32) -> PreAuthData {
    let role = |i| roles.roles.iter().find(|r| r.role_index == i).cloned();
    let mut entries = Vec::new();
    if let Some(r) = role(admin_role) {
        entries.push(PreAuthRoleEntry {
            claimset: vec![claim("level", "admin"), claim("dept", "eng")],
            target_role: r,
        });
    }
    if let Some(r) = role(member_role) {
        entries.push(PreAuthRoleEntry {
            claimset: vec![claim("dept", "eng")],
            target_role: r,
        });
    }
    PreAuthData {
        preauthorized_entries: entries,
    }
}

/// A valid random room: a preset, some participants with random roles and 0..=2 clients,
/// possibly a preauthorization list and base-policy limits.
fn build_room(
    preset: usize,
    entries: &[(usize, usize, u32)],
    preauth: bool,
    base_variant: u8,
) -> Room {
    let preset = Preset::ALL[preset % Preset::ALL.len()];
    let fresh = Room::new(preset);
    let mut room = fresh.clone();
    let roles = room.state.roles.roles.clone();
    for &(name, role, clients) in entries {
        let name = NAMES[name % NAMES.len()];
        let u = user(name);
        if room.state.role_index_of(&u).is_some() {
            continue;
        }
        let role = roles[role % roles.len()].role_index;
        if role == NO_ROLE {
            continue;
        }
        room.state
            .participants
            .participants
            .push(mimi_types::wire::UserRolePair {
                user: u.clone().into(),
                role_index: role,
            });
        if role != BANNED_ROLE {
            for n in 1..=clients {
                room.members.insert(u.clone(), client(name, n));
            }
        }
    }
    if preauth {
        room.state.preauth = preauth_for(
            &room.state.roles,
            preset.member_role(),
            preset.creator_role(),
        );
    }
    match base_variant {
        1 => {
            room.state.base.multi_device = false.into();
            let extra: Vec<_> = room
                .members
                .iter()
                .filter(|(_, c)| c.device() != "c1")
                .map(|(u, c)| (u.clone(), c.clone()))
                .collect();
            for (u, c) in extra {
                room.members.remove(&u, &c);
            }
        }
        2 => room.state.base.max_users = Some(room.state.user_count() as u32 + 1),
        3 => room.state.base.max_clients = Some(room.members.client_count() as u32 + 1),
        _ => {}
    }
    if room.state.validate(&room.members).is_ok() {
        room
    } else {
        fresh
    }
}

fn arb_room() -> impl Strategy<Value = Room> {
    (
        0..Preset::ALL.len(),
        proptest::collection::vec((0..8usize, 0..12usize, 0..3u32), 0..8),
        any::<bool>(),
        0..4u8,
    )
        .prop_map(|(p, entries, preauth, base)| build_room(p, &entries, preauth, base))
}

fn arb_actor() -> impl Strategy<Value = Actor> {
    prop_oneof![
        4 => (0..8usize).prop_map(|i| member(NAMES[i])),
        1 => (0..8usize, any::<bool>()).prop_map(|(i, c)| Actor::MemberWithClaims {
            user: user(NAMES[i]),
            claims: claims(c),
        }),
        2 => (0..8usize, any::<bool>()).prop_map(|(i, c)| Actor::NewMember {
            user: user(NAMES[i]),
            claims: claims(c),
        }),
        1 => Just(Actor::Hub),
        1 => (0..3usize).prop_map(|i| Actor::Follower(domain(DOMAINS[i]))),
    ]
}

fn roles_variant(preset: usize, tweak: u8) -> RoleData {
    let mut roles = Preset::ALL[preset % Preset::ALL.len()].roles();
    let n = roles.roles.len();
    if let Some(r) = roles.roles.get_mut(usize::from(tweak) % n) {
        match tweak % 5 {
            0 => r.role_capabilities.push(Capability::OPEN_JOIN),
            1 => r.maximum_participants_constraint = Some(u32::from(tweak % 3)),
            2 => r.minimum_active_participants_constraint = u32::from(tweak % 2),
            3 => r.role_capabilities.clear(),
            _ => {}
        }
    }
    roles
}

fn base_variant(
    fixed: bool,
    multi: bool,
    max_users: Option<u32>,
    max_clients: Option<u32>,
    pseudonyms: bool,
) -> BaseRoomPolicy {
    let mut b = Preset::CooperativelyAdministered.base_policy();
    b.fixed_membership = fixed.into();
    b.multi_device = multi.into();
    b.max_users = max_users;
    b.max_clients = max_clients;
    b.pseudonyms_allowed = pseudonyms.into();
    b
}

fn arb_kind() -> impl Strategy<Value = ChangeKind> {
    let pair = (0..9u32, 0..11u32);
    prop_oneof![
        4 => (
            proptest::collection::vec(pair, 0..3),
            proptest::collection::vec(0..9u32, 0..3),
            proptest::collection::vec((0..8usize, 0..11u32), 0..3),
        )
            .prop_map(|(c, r, a)| {
                let added: Vec<_> = a.into_iter().map(|(i, role)| (user(NAMES[i]), role)).collect();
                ChangeKind::ParticipantList(pl(&c, &r, &added))
            }),
        1 => (0..6usize, any::<u8>()).prop_map(|(p, t)| ChangeKind::Roles(roles_variant(p, t))),
        1 => any::<bool>().prop_map(|b| {
            let roles = Preset::StrictlyAdministered.roles();
            ChangeKind::PreAuth(if b { preauth_for(&roles, 2, 3) } else { PreAuthData::default() })
        }),
        1 => (
            any::<bool>(),
            any::<bool>(),
            proptest::option::of(0..6u32),
            proptest::option::of(0..8u32),
            any::<bool>(),
        )
            .prop_map(|(f, m, u, c, p)| ChangeKind::BaseRoom(base_variant(f, m, u, c, p))),
        1 => (0..3u8).prop_map(|i| ChangeKind::Metadata(RoomMetaData {
            room_name: Utf8String::new(format!("room {i}")).unwrap(),
            ..Default::default()
        })),
        1 => (0x20u16..0x32).prop_map(ChangeKind::OtherPolicy),
        3 => (0..8usize, 1..4u32).prop_map(|(i, n)| ChangeKind::AddClient {
            user: user(NAMES[i]),
            client: client(NAMES[i], n),
        }),
        3 => (0..8usize, 1..4u32).prop_map(|(i, n)| ChangeKind::RemoveClient {
            user: user(NAMES[i]),
            client: client(NAMES[i], n),
        }),
    ]
}

/// An abstract step, resolved against the room when it runs, so that many commits are
/// plausible (and many are accepted).
#[derive(Debug, Clone)]
enum Plan {
    Raw(Box<Change>),
    Add {
        actor: usize,
        target: usize,
        role: usize,
        with_client: bool,
    },
    Remove {
        actor: usize,
        target: usize,
    },
    /// A list removal or ban without the client removals (never valid for an active user).
    ListOnly {
        actor: usize,
        target: usize,
        ban: bool,
    },
    SetRole {
        actor: usize,
        target: usize,
        role: usize,
    },
    Ban {
        actor: usize,
        target: usize,
    },
    Kick {
        actor: usize,
        target: usize,
    },
    OwnClient {
        actor: usize,
        n: u32,
    },
    Join {
        target: usize,
        role: usize,
        eng: bool,
    },
    Hub {
        target: usize,
        ban: bool,
    },
    Follower {
        target: usize,
    },
}

fn arb_plan() -> impl Strategy<Value = Plan> {
    let i = || 0..16usize;
    prop_oneof![
        2 => (arb_actor(), arb_kind()).prop_map(|(a, k)| Plan::Raw(Box::new(Change::new(a, k)))),
        2 => (i(), i(), i(), any::<bool>()).prop_map(|(actor, target, role, with_client)| {
            Plan::Add { actor, target, role, with_client }
        }),
        1 => (i(), i()).prop_map(|(actor, target)| Plan::Remove { actor, target }),
        1 => (i(), i(), any::<bool>()).prop_map(|(actor, target, ban)| Plan::ListOnly { actor, target, ban }),
        2 => (i(), i(), i()).prop_map(|(actor, target, role)| Plan::SetRole { actor, target, role }),
        1 => (i(), i()).prop_map(|(actor, target)| Plan::Ban { actor, target }),
        1 => (i(), i()).prop_map(|(actor, target)| Plan::Kick { actor, target }),
        1 => (i(), 1..4u32).prop_map(|(actor, n)| Plan::OwnClient { actor, n }),
        2 => (i(), i(), any::<bool>()).prop_map(|(target, role, eng)| Plan::Join { target, role, eng }),
        1 => (i(), any::<bool>()).prop_map(|(target, ban)| Plan::Hub { target, ban }),
        1 => i().prop_map(|target| Plan::Follower { target }),
    ]
}

fn name_of(u: &MimiUri) -> String {
    u.id().unwrap_or_default().to_owned()
}

/// Resolve a plan against the room.
fn realize(room: &Room, plan: &Plan) -> Vec<Change> {
    let participants: Vec<String> = room
        .state
        .participants
        .participants
        .iter()
        .map(|p| name_of(p.user.uri()))
        .collect();
    let active: Vec<String> = room.members.users().map(name_of).collect();
    let pick = |v: &[String], i: usize| -> Option<String> {
        if v.is_empty() {
            None
        } else {
            v.get(i % v.len()).cloned()
        }
    };
    let role = |i: usize| {
        let roles = &room.state.roles.roles;
        roles
            .get(i % roles.len().max(1))
            .map_or(0, |r| r.role_index)
    };
    match plan {
        Plan::Raw(c) => vec![(**c).clone()],
        Plan::Add {
            actor,
            target,
            role: r,
            with_client,
        } => {
            let Some(a) = pick(&active, *actor) else {
                return vec![];
            };
            let t = NAMES[target % NAMES.len()];
            let mut changes = vec![list_change(
                member(&a),
                pl(&[], &[], &[(user(t), role(*r))]),
            )];
            if *with_client {
                changes.push(add_client(&a, t, 1));
            }
            changes
        }
        Plan::Remove { actor, target } => {
            match (pick(&active, *actor), pick(&participants, *target)) {
                (Some(a), Some(t)) => room.remove_with_clients(member(&a), &t),
                _ => vec![],
            }
        }
        Plan::ListOnly { actor, target, ban } => {
            match (pick(&active, *actor), pick(&participants, *target)) {
                (Some(a), Some(t)) if *ban => vec![room.set_role(member(&a), &t, BANNED_ROLE)],
                (Some(a), Some(t)) => {
                    vec![list_change(member(&a), pl(&[], &[room.index(&t)], &[]))]
                }
                _ => vec![],
            }
        }
        Plan::SetRole {
            actor,
            target,
            role: r,
        } => match (pick(&active, *actor), pick(&participants, *target)) {
            (Some(a), Some(t)) => vec![room.set_role(member(&a), &t, role(*r))],
            _ => vec![],
        },
        Plan::Ban { actor, target } => {
            match (pick(&active, *actor), pick(&participants, *target)) {
                (Some(a), Some(t)) => room.ban(member(&a), &t),
                _ => vec![],
            }
        }
        Plan::Kick { actor, target } => match (pick(&active, *actor), pick(&active, *target)) {
            (Some(a), Some(t)) => room.client_removals(member(&a), &t),
            _ => vec![],
        },
        Plan::OwnClient { actor, n } => match pick(&active, *actor) {
            Some(a) => vec![add_client(&a, &a, *n)],
            None => vec![],
        },
        Plan::Join {
            target,
            role: r,
            eng,
        } => {
            let t = NAMES[target % NAMES.len()];
            let actor = Actor::NewMember {
                user: user(t),
                claims: claims(*eng),
            };
            vec![
                list_change(actor.clone(), pl(&[], &[], &[(user(t), role(*r))])),
                Change::new(
                    actor,
                    ChangeKind::AddClient {
                        user: user(t),
                        client: client(t, 1),
                    },
                ),
            ]
        }
        Plan::Hub { target, ban } => match pick(&participants, *target) {
            Some(t) if *ban => room.ban(Actor::Hub, &t),
            Some(t) => room.remove_with_clients(Actor::Hub, &t),
            None => vec![],
        },
        Plan::Follower { target } => match pick(&participants, *target) {
            Some(t) => {
                let d = user(&t).domain().clone();
                room.remove_with_clients(Actor::Follower(d), &t)
            }
            None => vec![],
        },
    }
}

/// Participants and active participants per role.
fn counts(state: &PolicyState, members: &Membership) -> BTreeMap<u32, (usize, usize)> {
    let mut m: BTreeMap<u32, (usize, usize)> = BTreeMap::new();
    for p in &state.participants.participants {
        let e = m.entry(p.role_index).or_default();
        e.0 += 1;
        if members.is_active(p.user.uri()) {
            e.1 += 1;
        }
    }
    m
}

/// Every invariant of an accepted commit.
fn check_outcome(
    before: &Room,
    changes: &[Change],
    out: &CommitOutcome,
) -> Result<(), TestCaseError> {
    // unique users, defined non-zero roles, valid roles and base policy, clients only for
    // non-banned participants, single-device, max_clients, max_users
    prop_assert_eq!(out.state.validate(&out.membership), Ok(()));
    // the participant list is what apply_participant_updates computes (what the MLS side
    // stores in the GroupContext)
    let updates: Vec<_> = changes
        .iter()
        .filter_map(|c| match &c.kind {
            ChangeKind::ParticipantList(u) => Some(u),
            _ => None,
        })
        .collect();
    prop_assert_eq!(
        apply_participant_updates(&before.state.participants, &updates),
        Ok(out.state.participants.clone())
    );
    // per-role constraints never worsened
    let b = counts(&before.state, &before.members);
    let a = counts(&out.state, &out.membership);
    for role in &out.state.roles.roles {
        if role.role_index == NO_ROLE {
            continue;
        }
        let (bn, ba) = b.get(&role.role_index).copied().unwrap_or_default();
        let (an, aa) = a.get(&role.role_index).copied().unwrap_or_default();
        if an < role.minimum_participants_constraint as usize {
            prop_assert!(an >= bn, "role {} fell below its minimum", role.role_index);
        }
        if let Some(max) = role.maximum_participants_constraint
            && an > max as usize
        {
            prop_assert!(an <= bn, "role {} rose above its maximum", role.role_index);
        }
        if aa < role.minimum_active_participants_constraint as usize {
            prop_assert!(aa >= ba, "role {} active fell below min", role.role_index);
        }
        if let Some(max) = role.maximum_active_participants_constraint
            && aa > max as usize
        {
            prop_assert!(aa <= ba, "role {} active rose above max", role.role_index);
        }
    }
    // removed or banned users are gone and cannot send
    for u in &out.removed_users {
        prop_assert!(!out.state.is_participant(u));
        prop_assert!(!out.state.can_send_message(u));
        prop_assert!(!out.membership.is_active(u));
    }
    for u in &out.added_users {
        prop_assert!(out.state.role_index_of(u).is_some());
    }
    // nobody left the list of a fixed-membership room, nobody joined it
    if before.state.base.fixed_membership.0 {
        let names = |s: &PolicyState| -> Vec<MimiUri> {
            let mut v: Vec<_> = s
                .participants
                .participants
                .iter()
                .map(|p| p.user.uri().clone())
                .collect();
            v.sort();
            v
        };
        prop_assert_eq!(names(&before.state), names(&out.state));
    }
    Ok(())
}

/// Run `commits` on `room`, checking every accepted one; returns how many were accepted.
fn run(mut room: Room, commits: &[Vec<Plan>]) -> Result<usize, TestCaseError> {
    let mut accepted = 0;
    for plans in commits {
        let changes: Vec<Change> = plans.iter().flat_map(|p| realize(&room, p)).collect();
        // standalone evaluation of each change never panics
        for (i, c) in changes.iter().enumerate() {
            let _ = check_proposal(&room.state, &room.members, c);
            let pending = changes.get(..i).unwrap_or_default();
            if let Ok(view) = check_proposal_with_pending(&room.state, &room.members, pending, c) {
                prop_assert_eq!(view.state.validate_list(), Ok(()));
            }
        }
        if let Ok(out) = apply_commit(&room.state, &room.members, &changes) {
            check_outcome(&room, &changes, &out)?;
            room.state = out.state;
            room.members = out.membership;
            accepted += 1;
        }
    }
    Ok(accepted)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(384))]

    #[test]
    fn random_commits_keep_every_invariant(
        room in arb_room(),
        commits in proptest::collection::vec(proptest::collection::vec(arb_plan(), 1..4), 1..10),
    ) {
        run(room, &commits)?;
    }

    #[test]
    fn raw_random_changes_never_panic(
        room in arb_room(),
        changes in proptest::collection::vec((arb_actor(), arb_kind()), 0..6),
    ) {
        let changes: Vec<Change> = changes.into_iter().map(|(a, k)| Change::new(a, k)).collect();
        if let Ok(out) = apply_commit(&room.state, &room.members, &changes) {
            check_outcome(&room, &changes, &out)?;
        }
        for c in &changes {
            let _ = check_proposal(&room.state, &room.members, c);
        }
    }

    #[test]
    fn participant_updates_never_panic(
        entries in proptest::collection::vec((0..8usize, 0..4u32), 0..8),
        updates in proptest::collection::vec(
            (
                proptest::collection::vec((0..10u32, 0..4u32), 0..3),
                proptest::collection::vec(0..10u32, 0..3),
                proptest::collection::vec((0..8usize, 0..4u32), 0..3),
            ),
            0..4,
        ),
    ) {
        let start = list(&entries.iter().map(|(i, r)| (user(NAMES[*i]), *r)).collect::<Vec<_>>());
        let updates: Vec<_> = updates
            .into_iter()
            .map(|(c, r, a)| {
                let added: Vec<_> = a.into_iter().map(|(i, role)| (user(NAMES[i]), role)).collect();
                pl(&c, &r, &added)
            })
            .collect();
        let refs: Vec<_> = updates.iter().collect();
        if let Ok(after) = apply_participant_updates(&start, &refs) {
            let mut users: Vec<_> = after.participants.iter().map(|p| p.user.uri().clone()).collect();
            let n = users.len();
            users.sort();
            users.dedup();
            prop_assert_eq!(users.len(), n);
            prop_assert!(after.participants.iter().all(|p| p.role_index != 0));
        }
    }
}

/// A long deterministic random walk over every preset: the engine accepts a good share of
/// plausible commits (so the property tests exercise accepted states, not only errors).
#[test]
fn random_walk_accepts_plausible_commits() {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut total = 0;
    let mut accepted = 0;
    for round in 0..60 {
        let entries: Vec<_> = (0..(next() % 7))
            .map(|_| {
                (
                    (next() % 8) as usize,
                    (next() % 12) as usize,
                    (next() % 3) as u32,
                )
            })
            .collect();
        let room = build_room(round, &entries, next() % 2 == 0, (next() % 4) as u8);
        let commits: Vec<Vec<Plan>> = (0..40)
            .map(|_| {
                let i = |n: &mut dyn FnMut() -> u64| (n() % 16) as usize;
                let plan = match next() % 9 {
                    0 => Plan::Add {
                        actor: i(&mut next),
                        target: i(&mut next),
                        role: i(&mut next),
                        with_client: next() % 2 == 0,
                    },
                    1 => Plan::Remove {
                        actor: i(&mut next),
                        target: i(&mut next),
                    },
                    2 => Plan::SetRole {
                        actor: i(&mut next),
                        target: i(&mut next),
                        role: i(&mut next),
                    },
                    3 => Plan::Ban {
                        actor: i(&mut next),
                        target: i(&mut next),
                    },
                    4 => Plan::Kick {
                        actor: i(&mut next),
                        target: i(&mut next),
                    },
                    5 => Plan::OwnClient {
                        actor: i(&mut next),
                        n: (next() % 3) as u32 + 1,
                    },
                    6 => Plan::Join {
                        target: i(&mut next),
                        role: i(&mut next),
                        eng: next() % 2 == 0,
                    },
                    7 => Plan::Hub {
                        target: i(&mut next),
                        ban: next() % 2 == 0,
                    },
                    _ => Plan::Follower {
                        target: i(&mut next),
                    },
                };
                vec![plan]
            })
            .collect();
        total += commits.len();
        accepted += run(room, &commits).unwrap();
    }
    eprintln!("random walk: {accepted} of {total} accepted");
    assert!(
        accepted * 5 > total,
        "only {accepted} of {total} plausible commits accepted"
    );
}
