//! The six flows of protocol-06 §3 with three providers (hub a.example, followers b.example
//! and c.example) and real OpenMLS clients, deterministic and in one thread.

mod support;

use mimi_client::ClientEvent;
use mimi_types::wire::{SubmitOutcome, UpdateOutcome};
use support::{alice_adds_bob, bob_adds_cathy, world};

#[test]
fn flow_1_create_room() {
    let (w, _) = world();
    let hub = w.room.as_ref().expect("room");
    assert_eq!(hub.member_count(), 1);
    assert_eq!(hub.policy().participants.participants.len(), 1);
    w.assert_in_sync(&["alice"]);
}

#[test]
fn flow_2_alice_adds_bob() {
    let (mut w, member) = world();
    alice_adds_bob(&mut w, member);
    assert!(
        w.events["bob"]
            .iter()
            .any(|e| matches!(e, ClientEvent::Joined { .. }))
    );
    w.assert_in_sync(&["alice", "bob"]);
    assert_eq!(
        w.room
            .as_ref()
            .expect("room")
            .policy()
            .participants
            .participants
            .len(),
        2
    );
}

#[test]
fn flow_3_bob_adds_cathy_and_flow_4_cathy_sends() {
    let (mut w, member) = world();
    alice_adds_bob(&mut w, member);
    bob_adds_cathy(&mut w, member);
    // Bob's commit came back to him through b.example: he merged it.
    w.assert_in_sync(&["alice", "bob", "cathy"]);
    let room = w.room_uri.clone();
    let request = w
        .client("cathy")
        .send_text(&room, [7; 16], "Hi everyone", None)
        .expect("send");
    assert!(matches!(
        w.submit("c.example", request),
        SubmitOutcome::Accepted { .. }
    ));
    let cathy = Some(w.clients["cathy"].user());
    for name in ["alice", "bob"] {
        assert_eq!(
            w.texts(name),
            vec![(cathy.clone(), "Hi everyone".to_string())],
            "{name}"
        );
    }
}

#[test]
fn flow_5_bob_leaves_and_cached_proposals_are_enforced() {
    let (mut w, member) = world();
    alice_adds_bob(&mut w, member);
    bob_adds_cathy(&mut w, member);
    let room = w.room_uri.clone();
    let leave = w.client("bob").leave(&room).expect("leave");
    assert!(matches!(
        w.update("b.example", leave),
        UpdateOutcome::Success { .. }
    ));
    assert_eq!(
        w.room.as_ref().expect("room").pending_proposals().count(),
        2
    );
    // A commit that ignores the cached proposals is refused, and changes nothing.
    let epoch = w.room.as_ref().expect("room").epoch();
    let sneaky = w
        .client("alice")
        .commit_ignoring_pending(&room)
        .expect("commit");
    match w.update("a.example", sneaky) {
        UpdateOutcome::InvalidProposal { invalid_proposals } => {
            assert_eq!(invalid_proposals.len(), 2)
        }
        other => panic!("expected invalidProposal, got {other:?}"),
    }
    w.client("alice").commit_rejected(&room).expect("discard");
    assert_eq!(w.room.as_ref().expect("room").epoch(), epoch);
    // Cathy commits the pending proposals.
    let commit = w.client("cathy").commit_pending(&room).expect("commit");
    assert!(matches!(
        w.update("c.example", commit),
        UpdateOutcome::Success { .. }
    ));
    assert_eq!(w.room.as_ref().expect("room").epoch(), epoch + 1);
    assert!(
        w.events["bob"]
            .iter()
            .any(|e| matches!(e, ClientEvent::Removed { .. }))
    );
    w.assert_in_sync(&["alice", "cathy"]);
    let bob = w.clients["bob"].user();
    assert!(
        !w.room
            .as_ref()
            .expect("room")
            .policy()
            .participants
            .participants
            .iter()
            .any(|p| p.user.uri() == &bob)
    );
}

#[test]
fn flow_6_new_device_joins_by_external_commit() {
    let (mut w, member) = world();
    alice_adds_bob(&mut w, member);
    bob_adds_cathy(&mut w, member);
    let room = w.room_uri.clone();
    let (request, key) = w
        .client("cathy2")
        .group_info_request(&room)
        .expect("request");
    let response = {
        let ctx = w.ctx();
        w.room
            .as_ref()
            .expect("room")
            .handle_group_info(&ctx, &support::domain("c.example"), &request)
            .expect("group info")
    };
    let info = w
        .client("cathy2")
        .open_group_info(&response, &key)
        .expect("open");
    let commit = w
        .client("cathy2")
        .join_by_external_commit(room.clone(), info, None)
        .expect("external commit");
    assert!(matches!(
        w.update("c.example", commit),
        UpdateOutcome::Success { .. }
    ));
    w.providers
        .get_mut("c.example")
        .expect("c")
        .follower
        .add_member(&room, w.clients["cathy2"].client_uri().clone());
    w.assert_in_sync(&["alice", "bob", "cathy", "cathy2"]);
    let request = w
        .client("cathy2")
        .send_text(&room, [9; 16], "from my phone", None)
        .expect("send");
    assert!(matches!(
        w.submit("c.example", request),
        SubmitOutcome::Accepted { .. }
    ));
    assert_eq!(
        w.texts("alice").last().map(|t| t.1.clone()),
        Some("from my phone".to_string())
    );
    assert_eq!(
        w.texts("cathy").last().map(|t| t.1.clone()),
        Some("from my phone".to_string())
    );
}

#[test]
fn franked_messages_verify_and_abuse_reports_are_confirmed() {
    let (mut w, member) = world();
    alice_adds_bob(&mut w, member);
    let room = w.room_uri.clone();
    let request = w
        .client("bob")
        .send_text(&room, [5; 16], "spam spam spam", None)
        .expect("send");
    let SubmitOutcome::Accepted {
        frank: Some(frank),
        accepted_timestamp,
    } = w.submit("b.example", request)
    else {
        panic!("franked acceptance expected")
    };
    // Alice's client verified the frank when decrypting.
    let (content, franked) = w.events["alice"]
        .iter()
        .find_map(|e| match e {
            ClientEvent::Message {
                content, franked, ..
            } => Some((content.clone(), *franked)),
            _ => None,
        })
        .expect("message");
    assert!(franked);
    // Alice reports it; the hub confirms the frank with its key.
    let report = mimi_types::wire::AbuseReport {
        reporting_user: mimi_types::wire::OptionalIdentifierUri(Some(
            w.clients["alice"].user().into(),
        )),
        alleged_abuser_uri: w.clients["bob"].user().into(),
        reason_code: mimi_types::wire::AbuseType(0),
        note: mimi_types::wire::Utf8String::new("spam").expect("note"),
        messages: vec![mimi_types::wire::AbusiveMessage {
            message_content: content.to_cbor().into(),
            frank: frank.clone(),
            accepted_timestamp,
        }],
        abuse_extensions: Default::default(),
    };
    let ctx = w.ctx();
    let hub = w.room.as_ref().expect("room");
    hub.handle_report(&ctx, &support::domain("a.example"), &report)
        .expect("confirmed");
    // A report with another timestamp (or edited content) is not.
    let mut forged = report.clone();
    forged.messages[0].accepted_timestamp += 1;
    assert!(
        hub.handle_report(&ctx, &support::domain("a.example"), &forged)
            .is_err()
    );
    // A provider cannot report for another provider's user.
    assert!(
        hub.handle_report(&ctx, &support::domain("b.example"), &report)
            .is_err()
    );
}

#[test]
fn hub_removes_a_users_clients_as_external_sender() {
    let (mut w, member) = world();
    alice_adds_bob(&mut w, member);
    bob_adds_cathy(&mut w, member);
    let room = w.room_uri.clone();
    let bob = w.clients["bob"].user();
    let accepted = w
        .with_hub(|room, ctx| room.propose_remove_user(ctx, &bob))
        .expect("proposal");
    w.deliver(accepted);
    assert_eq!(
        w.room.as_ref().expect("room").pending_proposals().count(),
        1
    );
    let commit = w.client("alice").commit_pending(&room).expect("commit");
    assert!(matches!(
        w.update("a.example", commit),
        UpdateOutcome::Success { .. }
    ));
    assert!(
        w.events["bob"]
            .iter()
            .any(|e| matches!(e, ClientEvent::Removed { .. }))
    );
    w.assert_in_sync(&["alice", "cathy"]);
    assert_eq!(w.room.as_ref().expect("room").member_count(), 2);
}

#[test]
fn hub_restores_a_room_from_group_info_and_tree() {
    let (mut w, member) = world();
    alice_adds_bob(&mut w, member);
    bob_adds_cathy(&mut w, member);
    let hub = w.room.as_ref().expect("room");
    let (gi, tree, seq) = (
        hub.group_info().clone(),
        hub.ratchet_tree().expect("tree"),
        hub.seq(),
    );
    let restored = mimi_room::hub::HubRoom::restore(&w.ctx(), w.room_uri.clone(), gi, tree, seq)
        .expect("restore");
    assert_eq!(restored.epoch(), hub.epoch());
    assert_eq!(restored.tree_hash(), hub.tree_hash());
    assert_eq!(restored.policy(), hub.policy());
    assert_eq!(restored.member_count(), 3);
    w.room = Some(restored);
    // The restored hub keeps serving the room.
    let room = w.room_uri.clone();
    let request = w
        .client("cathy")
        .send_text(&room, [4; 16], "after restart", None)
        .expect("send");
    assert!(matches!(
        w.submit("c.example", request),
        SubmitOutcome::Accepted { .. }
    ));
    let commit = w.client("bob").change_roles(&room, &[]).expect("commit");
    assert!(matches!(
        w.update("b.example", commit),
        UpdateOutcome::Success { .. }
    ));
    w.assert_in_sync(&["alice", "bob", "cathy"]);
}

#[test]
fn anyone_may_join_an_open_room_by_external_commit() {
    let mut w = support::World::new();
    w.add_client("alice", "alice", "a1", "a.example");
    w.add_client("eve", "eve", "e1", "c.example");
    w.create_room("alice", mimi_room::policy::Preset::OpenRoom);
    let outcome = w
        .external_join("eve", Some(mimi_room::policy::open::MEMBER))
        .expect("join");
    assert!(
        matches!(outcome, UpdateOutcome::Success { .. }),
        "{outcome:?}"
    );
    w.assert_in_sync(&["alice", "eve"]);
    let eve = w.clients["eve"].user();
    assert!(w.room.as_ref().expect("room").policy().is_participant(&eve));
}

#[test]
fn preauthorized_users_join_and_others_do_not() {
    use mimi_room::identity::SUBJECT_ALT_NAME_OID;
    use mimi_room::policy::{PolicyState, Preset, strict};
    use mimi_types::wire::{Claim, ClaimId, PreAuthRoleEntry};
    let mut w = support::World::new();
    w.add_client("alice", "alice", "a1", "a.example");
    w.add_client("eve", "eve", "e1", "c.example");
    w.add_client("mallory", "mallory", "m1", "c.example");
    let mut state = PolicyState::new_room(Preset::StrictlyAdministered, w.clients["alice"].user())
        .expect("state");
    let role = state.role(strict::ORDINARY_USER).cloned().expect("role");
    state.preauth.preauthorized_entries.push(PreAuthRoleEntry {
        claimset: vec![Claim {
            claim_id: ClaimId {
                credential_type: 2,
                id: SUBJECT_ALT_NAME_OID.to_vec().into(),
            },
            claim_value: w.clients["eve"].user().as_str().as_bytes().to_vec().into(),
        }],
        target_role: role,
    });
    w.create_room_with("alice", state);
    // Mallory is not on the list: the hub will not even give her the GroupInfo.
    assert!(
        w.external_join("mallory", Some(strict::ORDINARY_USER))
            .is_err()
    );
    let outcome = w
        .external_join("eve", Some(strict::ORDINARY_USER))
        .expect("join");
    assert!(
        matches!(outcome, UpdateOutcome::Success { .. }),
        "{outcome:?}"
    );
    w.assert_in_sync(&["alice", "eve"]);
}

#[test]
fn hub_restores_cached_proposals_after_a_restart() {
    let (mut w, member) = world();
    alice_adds_bob(&mut w, member);
    bob_adds_cathy(&mut w, member);
    let room = w.room_uri.clone();
    let leave = w.client("bob").leave(&room).expect("leave");
    assert!(matches!(
        w.update("b.example", leave),
        UpdateOutcome::Success { .. }
    ));
    let hub = w.room.as_ref().expect("room");
    let pending: Vec<_> = hub
        .pending_proposals()
        .map(|(m, t)| (m.clone(), t))
        .collect();
    let (gi, tree, seq) = (
        hub.group_info().clone(),
        hub.ratchet_tree().expect("tree"),
        hub.seq(),
    );
    let mut restored =
        mimi_room::hub::HubRoom::restore(&w.ctx(), room.clone(), gi, tree, seq).expect("restore");
    for (m, t) in pending {
        restored.readd_pending(&w.ctx(), m, t).expect("readd");
    }
    assert_eq!(restored.pending_proposals().count(), 2);
    w.room = Some(restored);
    // The cached proposals are still enforced, and can be committed.
    let sneaky = w
        .client("alice")
        .commit_ignoring_pending(&room)
        .expect("commit");
    assert!(matches!(
        w.update("a.example", sneaky),
        UpdateOutcome::InvalidProposal { .. }
    ));
    w.client("alice").commit_rejected(&room).expect("drop");
    let commit = w.client("cathy").commit_pending(&room).expect("commit");
    assert!(matches!(
        w.update("c.example", commit),
        UpdateOutcome::Success { .. }
    ));
    w.assert_in_sync(&["alice", "cathy"]);
}

#[test]
fn a_restored_client_carries_on_where_it_stopped() {
    let (mut w, member) = world();
    alice_adds_bob(&mut w, member);
    bob_adds_cathy(&mut w, member);
    let room = w.room_uri.clone();
    // Bob's client is written out and read back, as `mimi` does between commands.
    let state = w.client("bob").state().expect("state");
    let restored = mimi_client::MimiClient::restore(state.clone()).expect("restore");
    assert_eq!(restored.state().expect("state again"), state);
    w.clients.insert("bob".into(), restored);
    let request = w
        .client("bob")
        .send_text(&room, [3; 16], "still here", None)
        .expect("send");
    assert!(matches!(
        w.submit("b.example", request),
        SubmitOutcome::Accepted { .. }
    ));
    let bob = Some(w.clients["bob"].user());
    assert_eq!(
        w.texts("cathy"),
        vec![(bob.clone(), "still here".to_string())]
    );
    // And it still processes what others send.
    let request = w
        .client("cathy")
        .send_text(&room, [4; 16], "welcome back", None)
        .expect("send");
    assert!(matches!(
        w.submit("c.example", request),
        SubmitOutcome::Accepted { .. }
    ));
    assert_eq!(
        w.texts("bob").last().map(|(_, t)| t.as_str()),
        Some("welcome back")
    );
    w.assert_in_sync(&["alice", "bob", "cathy"]);
}

#[test]
fn a_state_without_its_signature_key_is_refused() {
    let (mut w, _) = world();
    let mut state = w.client("alice").state().expect("state");
    state.storage.clear();
    assert!(mimi_client::MimiClient::restore(state).is_err());
}

/// docs/security.md G16: a hub restarting after a member's certificate expired still restores
/// the room (the member keeps its identity), while a new leaf with that credential would be
/// refused.
#[test]
fn hub_restores_a_room_whose_member_certificate_expired() {
    let (mut w, member) = world();
    alice_adds_bob(&mut w, member);
    let room = w.room_uri.clone();
    let hub = w.room.as_ref().expect("room");
    let (gi, tree, seq) = (
        hub.group_info().clone(),
        hub.ratchet_tree().expect("tree"),
        hub.seq(),
    );
    // 31 days later: every client certificate (30 days) has expired.
    w.now_ms += 31 * 86_400 * 1000;
    let restored =
        mimi_room::hub::HubRoom::restore(&w.ctx(), room.clone(), gi.clone(), tree.clone(), seq)
            .expect("the room restores with expired member certificates");
    assert_eq!(restored.member_count(), 2);
    // Creating a room is stricter: its creator's certificate must be valid now.
    let state = restored.policy().clone();
    let refused = mimi_room::hub::HubRoom::create(&w.ctx(), room, &state, gi, tree)
        .err()
        .expect("a room created with expired certificates");
    assert!(refused.to_string().contains("expired"), "{refused}");
}
