//! Refusals at the hub: each asserts the protocol's precise answer and that the room did not
//! change (epoch, sequence, members, tree hash, room state, cached proposals).

mod support;

use mimi_room::hub::HubLimits;
use mimi_types::wire::{HandshakeBundle, MlsMessage, SubmitOutcome, UpdateOutcome};
use support::{World, alice_adds_bob, bob_adds_cathy, kps, world};

fn not_allowed(outcome: UpdateOutcome) {
    assert!(
        matches!(outcome, UpdateOutcome::NotAllowed),
        "expected notAllowed, got {outcome:?}"
    );
}

fn three_party() -> (World, u32) {
    let (mut w, member) = world();
    alice_adds_bob(&mut w, member);
    bob_adds_cathy(&mut w, member);
    (w, member)
}

#[test]
fn stale_epoch_is_wrong_epoch() {
    let (mut w, member) = world();
    let room = w.room_uri.clone();
    // Bob's key material fetched, alice builds a commit at epoch 0 but it is delayed...
    let response = w.fetch_key_material("alice", "bob", "b.example");
    let bob = w.clients["bob"].user();
    let late = w
        .client("alice")
        .add_users(&room, &[(bob, member, kps(&response))])
        .expect("commit");
    w.client("alice").commit_rejected(&room).expect("drop");
    // ... meanwhile another commit of hers moves the room to epoch 1.
    let other = w.client("alice").change_roles(&room, &[]).expect("commit");
    assert!(matches!(
        w.update("a.example", other),
        UpdateOutcome::Success { .. }
    ));
    let before = w.snapshot();
    match w.update("a.example", late) {
        UpdateOutcome::WrongEpoch { current_epoch } => assert_eq!(current_epoch, 1),
        other => panic!("expected wrongEpoch, got {other:?}"),
    }
    assert_eq!(w.snapshot(), before);
}

#[test]
fn competing_commits_first_wins_loser_recovers() {
    let (mut w, _) = three_party();
    let room = w.room_uri.clone();
    let from_alice = w.client("alice").change_roles(&room, &[]).expect("commit");
    let from_bob = w.client("bob").change_roles(&room, &[]).expect("commit");
    assert!(matches!(
        w.update("a.example", from_alice),
        UpdateOutcome::Success { .. }
    ));
    let before = w.snapshot();
    assert!(matches!(
        w.update("b.example", from_bob),
        UpdateOutcome::WrongEpoch { .. }
    ));
    assert_eq!(w.snapshot(), before);
    // Bob already processed alice's commit from the fanout (his own was dropped then).
    w.assert_in_sync(&["alice", "bob", "cathy"]);
}

#[test]
fn replayed_commit_is_refused() {
    let (mut w, _) = three_party();
    let room = w.room_uri.clone();
    let commit = w.client("alice").change_roles(&room, &[]).expect("commit");
    assert!(matches!(
        w.update("a.example", commit.clone()),
        UpdateOutcome::Success { .. }
    ));
    let before = w.snapshot();
    assert!(matches!(
        w.update("a.example", commit),
        UpdateOutcome::WrongEpoch { .. }
    ));
    assert_eq!(w.snapshot(), before);
}

#[test]
fn add_without_participant_list_update_is_refused() {
    let (mut w, _) = world();
    let room = w.room_uri.clone();
    let response = w.fetch_key_material("alice", "bob", "b.example");
    let commit = w
        .client("alice")
        .commit(&room, kps(&response), vec![], vec![])
        .expect("commit");
    let before = w.snapshot();
    not_allowed(w.update("a.example", commit));
    assert_eq!(w.snapshot(), before);
}

#[test]
fn handshake_from_the_wrong_provider_is_refused() {
    let (mut w, _) = three_party();
    let room = w.room_uri.clone();
    // Cathy's client (c.example) commits, but b.example submits it.
    let commit = w.client("cathy").change_roles(&room, &[]).expect("commit");
    let before = w.snapshot();
    not_allowed(w.update("b.example", commit));
    assert_eq!(w.snapshot(), before);
}

#[test]
fn forged_signature_is_refused() {
    let (mut w, _) = three_party();
    let room = w.room_uri.clone();
    let request = w.client("alice").change_roles(&room, &[]).expect("commit");
    let HandshakeBundle::Commit {
        commit,
        welcome,
        group_info,
        ratchet_tree,
    } = request.bundle
    else {
        panic!("a commit")
    };
    // The PublicMessage ends with signature<V> (64 bytes), confirmation_tag<V> (32) and
    // membership_tag<V> (32): flip the last byte of the signature.
    let mut bytes = commit.as_bytes().to_vec();
    let at = bytes.len() - 1 - 33 - 33;
    bytes[at] ^= 0x01;
    let forged = mimi_types::wire::UpdateRequest {
        bundle: HandshakeBundle::Commit {
            commit: MlsMessage::from_bytes(bytes).expect("still well-formed"),
            welcome,
            group_info,
            ratchet_tree,
        },
    };
    let before = w.snapshot();
    not_allowed(w.update("a.example", forged));
    assert_eq!(w.snapshot(), before);
}

#[test]
fn oversized_update_is_refused() {
    let (mut w, _) = three_party();
    let room = w.room_uri.clone();
    w.limits = HubLimits {
        max_update_bytes: 512,
        ..HubLimits::default()
    };
    let commit = w.client("alice").change_roles(&room, &[]).expect("commit");
    let before = w.snapshot();
    not_allowed(w.update("a.example", commit));
    assert_eq!(w.snapshot(), before);
}

#[test]
fn removed_user_cannot_send() {
    let (mut w, _) = three_party();
    let room = w.room_uri.clone();
    let leave = w.client("bob").leave(&room).expect("leave");
    assert!(matches!(
        w.update("b.example", leave),
        UpdateOutcome::Success { .. }
    ));
    let commit = w.client("cathy").commit_pending(&room).expect("commit");
    assert!(matches!(
        w.update("c.example", commit),
        UpdateOutcome::Success { .. }
    ));
    // b.example claims a (valid) message of the room is bob's.
    let mut request = w
        .client("cathy")
        .send_text(&room, [1; 16], "hi", None)
        .expect("send");
    request.sending_uri = w.clients["bob"].user().into();
    let before = w.snapshot();
    assert!(matches!(
        w.submit("b.example", request),
        SubmitOutcome::NotAllowed
    ));
    assert_eq!(w.snapshot(), before);
}

#[test]
fn message_for_an_old_epoch_is_epoch_too_old() {
    let (mut w, _) = three_party();
    let room = w.room_uri.clone();
    let old = w
        .client("cathy")
        .send_text(&room, [2; 16], "late", None)
        .expect("send");
    let commit = w.client("alice").change_roles(&room, &[]).expect("commit");
    assert!(matches!(
        w.update("a.example", commit),
        UpdateOutcome::Success { .. }
    ));
    let before = w.snapshot();
    match w.submit("c.example", old) {
        SubmitOutcome::EpochTooOld { current_epoch } => assert_eq!(current_epoch, before.0),
        other => panic!("expected epochTooOld, got {other:?}"),
    }
    assert_eq!(w.snapshot(), before);
}

#[test]
fn message_from_another_providers_user_is_refused() {
    let (mut w, _) = three_party();
    let room = w.room_uri.clone();
    let request = w
        .client("cathy")
        .send_text(&room, [3; 16], "hi", None)
        .expect("send");
    let before = w.snapshot();
    // b.example forwards cathy's (c.example) message.
    assert!(matches!(
        w.submit("b.example", request),
        SubmitOutcome::NotAllowed
    ));
    assert_eq!(w.snapshot(), before);
}

#[test]
fn group_info_for_a_non_participant_is_not_authorized() {
    let (mut w, _) = three_party();
    w.add_client("eve", "eve", "e1", "c.example");
    let room = w.room_uri.clone();
    let (request, _) = w.client("eve").group_info_request(&room).expect("request");
    let ctx = w.ctx();
    let response = w
        .room
        .as_ref()
        .expect("room")
        .handle_group_info(&ctx, &support::domain("c.example"), &request)
        .expect("response");
    assert!(matches!(
        response.outcome,
        mimi_types::wire::GroupInfoOutcome::NotAuthorized
    ));
}

#[test]
fn external_commit_by_a_non_participant_is_refused() {
    let (mut w, _) = three_party();
    w.add_client("eve", "eve", "e1", "c.example");
    let room = w.room_uri.clone();
    // Eve obtained the GroupInfo and tree somehow (e.g. a leak): the hub still refuses.
    let info = mimi_client::JoinInfo {
        group_info: w.room.as_ref().expect("room").group_info().clone(),
        ratchet_tree: w.room.as_ref().expect("room").ratchet_tree().expect("tree"),
        pending_proposals: vec![],
    };
    let commit = w
        .client("eve")
        .join_by_external_commit(room, info, None)
        .expect("commit");
    let before = w.snapshot();
    not_allowed(w.update("c.example", commit));
    assert_eq!(w.snapshot(), before);
}

#[test]
fn duplicate_notify_is_acknowledged_and_processed_once() {
    let (mut w, _) = three_party();
    let room = w.room_uri.clone();
    let request = w
        .client("cathy")
        .send_text(&room, [6; 16], "once", None)
        .expect("send");
    let ctx_from = support::domain("c.example");
    let reply = w
        .with_hub(|room, ctx| room.handle_submit(ctx, &ctx_from, &request))
        .expect("submit");
    let accepted = reply.accepted.expect("accepted");
    let to_b = accepted
        .fanout
        .iter()
        .find(|f| f.destination.as_str() == "b.example")
        .expect("b gets it")
        .message
        .clone();
    let hub = w.hub.domain.clone();
    let b = &mut w.providers.get_mut("b.example").expect("b").follower;
    let first = b
        .handle_notify(&hub, &room, vec![to_b.clone()])
        .expect("first");
    assert_eq!(first.len(), 1);
    // The hub retries (say the 201 was lost): acknowledged, nothing delivered again.
    let again = b
        .handle_notify(&hub, &room, vec![to_b.clone()])
        .expect("duplicate is fine");
    assert!(again.is_empty());
    // Only the room's hub may notify.
    assert!(
        b.handle_notify(&support::domain("c.example"), &room, vec![to_b])
            .is_err()
    );
}

#[test]
fn credential_from_an_untrusted_provider_is_refused() {
    let (mut w, member) = world();
    // d.example is nobody the hub trusts; mallory's KeyPackage carries its credential.
    let d = support::domain("d.example");
    let now = (w.now_ms / 1000) as i64;
    let ca = mimi_credential::ClientCa::generate(&d, now - 60, 86_400).expect("ca");
    let user = mimi_types::id::UserUri::parse("mimi://d.example/u/mallory").expect("user");
    let client = mimi_types::id::ClientUri::parse("mimi://d.example/d/mallory/1").expect("client");
    let mallory = mimi_client::MimiClient::new(client.clone(), user.clone(), |key| {
        Ok(ca
            .issue(&client, &user, key, now - 60, now + 3600)
            .expect("issue")
            .credential)
    })
    .expect("client");
    let kps = mallory.key_packages(1, false).expect("kp");
    let room = w.room_uri.clone();
    let request = w
        .client("alice")
        .add_users(&room, &[(mallory.user(), member, kps)])
        .expect("commit");
    let before = w.snapshot();
    not_allowed(w.update("a.example", request));
    assert_eq!(w.snapshot(), before);
}

#[test]
fn role_change_without_the_capability_is_refused() {
    let (mut w, member) = three_party();
    let room = w.room_uri.clone();
    // Bob is an ordinary member: he may not make alice (the creator) an ordinary member.
    let alice = w.clients["alice"].user();
    let commit = w
        .client("bob")
        .change_roles(&room, &[(alice, member)])
        .expect("commit");
    let before = w.snapshot();
    not_allowed(w.update("b.example", commit));
    assert_eq!(w.snapshot(), before);
}

#[test]
fn a_pending_leave_blocks_messages_at_once() {
    let (mut w, _) = three_party();
    let room = w.room_uri.clone();
    let message = w
        .client("bob")
        .send_text(&room, [8; 16], "one more thing", None)
        .expect("send");
    let leave = w.client("bob").leave(&room).expect("leave");
    assert!(matches!(
        w.update("b.example", leave),
        UpdateOutcome::Success { .. }
    ));
    // protocol-06 §7.1: the accepted proposal takes effect for the hub before any commit.
    let before = w.snapshot();
    assert!(matches!(
        w.submit("b.example", message),
        SubmitOutcome::NotAllowed
    ));
    assert_eq!(w.snapshot(), before);
}
