//! The policy engine through its public API only: the flow of protocol-06 §3 (Alice creates a
//! room, adds Bob, Bob adds Cathy, Bob leaves) on a cooperatively administered room.
#![allow(clippy::unwrap_used)]

use mimi_room::policy::{
    Actor, Change, ChangeKind, Membership, PolicyError, PolicyState, Preset, apply_commit,
    check_proposal, cooperative,
};
use mimi_types::id::{ClientUri, MimiUri};
use mimi_types::wire::{ParticipantListUpdate, UserRolePair};

fn uri(s: &str) -> MimiUri {
    MimiUri::parse(s).unwrap()
}

fn add(actor: &MimiUri, user: &MimiUri, client: &str) -> Vec<Change> {
    vec![
        Change::new(
            Actor::Member(actor.clone()),
            ChangeKind::ParticipantList(ParticipantListUpdate {
                added_participants: vec![UserRolePair {
                    user: user.clone().into(),
                    role_index: cooperative::ORDINARY_USER,
                }],
                ..Default::default()
            }),
        ),
        Change::new(
            Actor::Member(actor.clone()),
            ChangeKind::AddClient {
                user: user.clone(),
                client: ClientUri::parse(client).unwrap(),
            },
        ),
    ]
}

#[test]
fn protocol_06_example_flow() {
    let alice = uri("mimi://a.example/u/alice");
    let bob = uri("mimi://b.example/u/bob");
    let cathy = uri("mimi://c.example/u/cathy");
    let state = PolicyState::new_room(Preset::CooperativelyAdministered, alice.clone()).unwrap();
    let mut members = Membership::new();
    members.insert(
        alice.clone(),
        ClientUri::parse("mimi://a.example/d/alice/ClientA1").unwrap(),
    );

    // Alice adds Bob, Bob adds Cathy
    let out = apply_commit(
        &state,
        &members,
        &add(&alice, &bob, "mimi://b.example/d/bob/ClientB1"),
    )
    .unwrap();
    let out = apply_commit(
        &out.state,
        &out.membership,
        &add(&bob, &cathy, "mimi://c.example/d/cathy/ClientC1"),
    )
    .unwrap();
    assert!(out.state.can_send_message(&cathy));

    // Bob leaves: his proposals are each acceptable, and must be committed together
    let bob_index = out
        .state
        .participants
        .participants
        .iter()
        .position(|p| p.user.uri() == &bob)
        .unwrap() as u32;
    let leave = Change::new(
        Actor::Member(bob.clone()),
        ChangeKind::ParticipantList(ParticipantListUpdate {
            removed_indices: vec![bob_index],
            ..Default::default()
        }),
    );
    let remove = Change::new(
        Actor::Member(bob.clone()),
        ChangeKind::RemoveClient {
            user: bob.clone(),
            client: ClientUri::parse("mimi://b.example/d/bob/ClientB1").unwrap(),
        },
    );
    check_proposal(&out.state, &out.membership, &leave).unwrap();
    check_proposal(&out.state, &out.membership, &remove).unwrap();
    assert_eq!(
        apply_commit(&out.state, &out.membership, std::slice::from_ref(&leave)).unwrap_err(),
        PolicyError::NonParticipantHasClients { user: bob.clone() }
    );
    let done = apply_commit(&out.state, &out.membership, &[leave, remove]).unwrap();
    assert_eq!(done.removed_users, vec![bob.clone()]);
    assert!(!done.state.can_send_message(&bob));
    assert_eq!(done.membership.client_count(), 2);
    done.state.validate(&done.membership).unwrap();
}
