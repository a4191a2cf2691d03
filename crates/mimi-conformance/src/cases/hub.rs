//! The target as hub: `/update` (protocol-06 §5.3) and `/submitMessage` (§5.4) from peer c,
//! acting for cathy in a room the target hosts (the [`Scene`]).

use std::time::Duration;

use mimi_client::ClientEvent;
use mimi_room::policy::cooperative;
use mimi_types::id::{MimiUri, RoomUri, UserUri};
use mimi_types::wire::{
    Endpoint, IdentifierUri, SubmitMessageRequest, SubmitMessageResponse, SubmitOutcome,
    UpdateOutcome, UpdateRequest, UpdateRoomResponse, WireMessage,
};

use super::{Case, case};
use crate::ctx::{
    Check, Context as _, Ctx, Scene, SuitePeer, WAIT, Why, expect_success, fresh_id, salt,
};
use crate::driver::LocalUser;
use crate::ensure;
use mimi_server::provider::now_ms;

pub fn cases() -> Vec<Case> {
    vec![
        case!(
            "UP-01",
            "protocol-06 §5.3",
            "a participant's valid commit (adding a user) is accepted",
            commit_accepted
        ),
        case!(
            "UP-02",
            "protocol-06 §5.3",
            "success carries the hub's acceptance time",
            acceptance_time
        ),
        case!(
            "UP-03",
            "protocol-06 §5.3, §5.5",
            "an accepted commit reaches the hub's own members",
            commit_reaches_members
        ),
        case!(
            "UP-04",
            "protocol-06 §5.3",
            "a commit for an epoch the hub left: wrongEpoch with the current epoch",
            stale_commit
        ),
        case!(
            "UP-05",
            "protocol-06 §5.3",
            "an accepted commit sent again is not accepted twice",
            replayed_commit
        ),
        case!(
            "UP-06",
            "protocol-06 §5.3, §4.1",
            "a commit of cathy's submitted by another provider is refused",
            commit_from_wrong_provider
        ),
        case!(
            "UP-07",
            "protocol-06 §5.3",
            "a commit with a broken signature is refused",
            forged_commit
        ),
        case!(
            "UP-08",
            "room-policy-03 §8.1.3",
            "an ordinary user making herself admin is notAllowed",
            role_escalation
        ),
        case!(
            "UP-09",
            "protocol-06 §5.3",
            "an MLS Add without the participant-list change is notAllowed",
            add_without_participant
        ),
        case!(
            "UP-10",
            "protocol-06 §5.3",
            "an update for a room the target does not host answers 404",
            unknown_room_update
        ),
        case!(
            "UP-11",
            "protocol-06 §5.3",
            "an accepted leave proposal must be in the next commit: invalidProposal listing it",
            cached_proposals
        ),
        case!(
            "UP-12",
            "protocol-06 §5.3",
            "the commit including the cached proposals is accepted",
            cached_proposals_committed
        ),
        case!(
            "UP-13",
            "protocol-06 §5.3",
            "a user whose leave was accepted can no longer commit",
            removed_cannot_commit
        ),
        case!(
            "UP-14",
            "room-policy-03 §8.1.3",
            "an ordinary user banning another is notAllowed",
            ban_without_right
        ),
        case!(
            "UP-15",
            "protocol-06 §5.3",
            "two followers commit for the same epoch at once: exactly one wins, the other gets wrongEpoch",
            competing_commits
        ),
        case!(
            "SM-01",
            "protocol-06 §5.4",
            "a participant's message is accepted with the acceptance time",
            message_accepted
        ),
        case!(
            "SM-02",
            "protocol-06 §5.4, §5.5",
            "the accepted message reaches the hub's own members, once",
            message_delivered
        ),
        case!(
            "SM-03",
            "protocol-06 §5.4",
            "a sendingUri of another provider's user is notAllowed",
            sender_of_other_provider
        ),
        case!(
            "SM-04",
            "protocol-06 §5.4",
            "a sendingUri of a non-participant is notAllowed",
            sender_not_participant
        ),
        case!(
            "SM-05",
            "protocol-06 §5.4, §4.1",
            "a provider without participants cannot submit",
            provider_without_participants
        ),
        case!(
            "SM-06",
            "protocol-06 §5.4",
            "a message for a room the target does not host answers 404",
            unknown_room_submit
        ),
        case!(
            "SM-07",
            "protocol-06 §5.4",
            "an appMessage that is not a PrivateMessage is refused",
            not_private_message
        ),
        case!(
            "SM-08",
            "protocol-06 §5.4, §5.5",
            "a message submitted twice is delivered once",
            resubmitted_once
        ),
        case!(
            "SM-09",
            "protocol-06 §5.4.1",
            "a message with a franking tag in a franking room gets a frank",
            franked
        ),
        case!(
            "SM-10",
            "protocol-06 §5.5",
            "the fanout carries the acceptance time the sender got",
            fanout_timestamp
        ),
        case!(
            "SM-11",
            "protocol-06 §5.3, §7.1",
            "a user whose leave was accepted can no longer send",
            removed_cannot_send
        ),
    ]
}

/// POST an update from `peer` for `room`.
pub(crate) async fn update_from(
    cx: &Ctx,
    peer: &SuitePeer,
    room: &RoomUri,
    request: &UpdateRequest,
) -> Result<UpdateRoomResponse, Why> {
    cx.exchange(peer, Endpoint::Update, &room.to_url_path(), request)
        .await
}

/// POST a message from `peer` for `room`.
pub(crate) async fn submit_from(
    cx: &Ctx,
    peer: &SuitePeer,
    room: &RoomUri,
    request: &SubmitMessageRequest,
) -> Result<SubmitMessageResponse, Why> {
    cx.exchange(peer, Endpoint::SubmitMessage, &room.to_url_path(), request)
        .await
}

/// Process what the target delivered to a local user until `pred` holds for an event.
pub(crate) async fn local_until(
    user: &mut LocalUser,
    room: &RoomUri,
    pred: impl Fn(&ClientEvent) -> bool,
) -> Result<Vec<ClientEvent>, Why> {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut all = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return Err(Why::Fail(format!(
                "{} got no matching event within {} s (got {} events)",
                user.mls.user_uri(),
                WAIT.as_secs(),
                all.len()
            )));
        }
        let got = user
            .device
            .received(left.min(Duration::from_secs(2)))
            .await
            .map_err(Why::Fail)?;
        for (r, m) in got {
            if &r != room {
                continue;
            }
            let events = user
                .mls
                .process(room, &m)
                .ctx("processing a delivered message")?;
            let done = events.iter().any(&pred);
            all.extend(events);
            if done {
                return Ok(all);
            }
        }
    }
}

/// The texts among events.
pub(crate) fn texts(events: &[ClientEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Message { content, .. } => Some(mimi_content::render_text(content)),
            _ => None,
        })
        .collect()
}

/// cathy adds a new user of c (dave) with a KeyPackage she got directly from dave.
fn cathy_adds_dave(cx: &Ctx, s: &mut Scene) -> Result<UpdateRequest, Why> {
    let dave = cx.peer_user(&cx.c, "dave", 0)?;
    let kps = dave.key_packages(1, false).ctx("key packages")?;
    s.cathy
        .add_users(&s.room, &[(dave.user(), s.preset.member_role(), kps)])
        .ctx("commit")
}

fn accepted_at(r: &UpdateRoomResponse) -> Result<u64, Why> {
    match r.outcome {
        UpdateOutcome::Success { accepted_timestamp } => Ok(accepted_timestamp),
        ref o => Err(Why::Fail(format!(
            "not accepted: {o:?} ({})",
            r.error_description.as_str()
        ))),
    }
}

async fn commit_accepted(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let commit = cathy_adds_dave(cx, &mut s)?;
    let r = update_from(cx, &cx.c, &s.room, &commit).await?;
    expect_success(&r, "cathy's commit")
}

async fn acceptance_time(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let commit = cathy_adds_dave(cx, &mut s)?;
    let r = update_from(cx, &cx.c, &s.room, &commit).await?;
    let at = accepted_at(&r)?;
    let now = now_ms();
    ensure!(
        at + 300_000 > now && at < now + 300_000,
        "accepted_timestamp {at} is not within 5 minutes of now ({now})"
    );
    Ok(())
}

async fn commit_reaches_members(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let commit = cathy_adds_dave(cx, &mut s)?;
    let r = update_from(cx, &cx.c, &s.room, &commit).await?;
    expect_success(&r, "cathy's commit")?;
    s.cathy.commit_accepted(&s.room).ctx("merge")?;
    local_until(&mut s.alice, &s.room, |e| {
        matches!(e, ClientEvent::Committed { .. })
    })
    .await?;
    let (a, c) = (
        s.alice.mls.epoch(&s.room).ctx("epoch")?,
        s.cathy.epoch(&s.room).ctx("epoch")?,
    );
    ensure!(a == c, "alice is at epoch {a}, cathy at {c}");
    Ok(())
}

/// alice (local) commits first; cathy's commit is then for an epoch the hub left.
async fn alice_moves_on(s: &mut Scene) -> Result<u64, Why> {
    let commit = s.alice.mls.change_roles(&s.room, &[]).ctx("commit")?;
    let r = s
        .alice
        .device
        .update(&s.room, &commit)
        .await
        .map_err(Why::Fail)?;
    expect_success(&r, "alice's commit")?;
    s.alice.mls.commit_accepted(&s.room).ctx("merge")?;
    s.alice.mls.epoch(&s.room).ctx("epoch")
}

async fn stale_commit(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let epoch = alice_moves_on(&mut s).await?;
    let commit = cathy_adds_dave(cx, &mut s)?;
    let r = update_from(cx, &cx.c, &s.room, &commit).await?;
    match r.outcome {
        UpdateOutcome::WrongEpoch { current_epoch } => {
            ensure!(
                current_epoch == epoch,
                "currentEpoch {current_epoch}, the hub is at {epoch}"
            );
            Ok(())
        }
        o => Err(Why::Fail(format!("expected wrongEpoch, got {o:?}"))),
    }
}

async fn replayed_commit(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let commit = cathy_adds_dave(cx, &mut s)?;
    expect_success(&update_from(cx, &cx.c, &s.room, &commit).await?, "first")?;
    refused_update(cx, &cx.c, &s.room, &commit).await
}

/// The update was refused: a 4xx, or notAllowed/wrongEpoch/invalidProposal.
async fn refused_update(
    cx: &Ctx,
    peer: &SuitePeer,
    room: &RoomUri,
    request: &UpdateRequest,
) -> Check {
    let r = cx
        .post(
            peer,
            Endpoint::Update,
            &room.to_url_path(),
            request.encode().ctx("encode")?,
        )
        .await?;
    if r.status.as_u16() == 200 {
        let answer = UpdateRoomResponse::decode(&r.body).ctx("decode")?;
        ensure!(
            !matches!(answer.outcome, UpdateOutcome::Success { .. }),
            "accepted"
        );
    } else {
        ensure!(
            (400..500).contains(&r.status.as_u16()),
            "answered {}",
            r.describe()
        );
    }
    Ok(())
}

async fn not_allowed(cx: &Ctx, room: &RoomUri, request: &UpdateRequest) -> Check {
    let r = update_from(cx, &cx.c, room, request).await?;
    ensure!(
        matches!(r.outcome, UpdateOutcome::NotAllowed),
        "expected notAllowed, got {:?}",
        r.outcome
    );
    Ok(())
}

async fn commit_from_wrong_provider(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let commit = cathy_adds_dave(cx, &mut s)?;
    refused_update(cx, &cx.d, &s.room, &commit).await?;
    // And the commit was not applied: cathy's own provider can still get it accepted.
    expect_success(
        &update_from(cx, &cx.c, &s.room, &commit).await?,
        "the same commit from c",
    )
}

async fn forged_commit(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let mut commit = cathy_adds_dave(cx, &mut s)?;
    let mimi_types::wire::HandshakeBundle::Commit {
        commit: message, ..
    } = &mut commit.bundle
    else {
        return Err(Why::Fail("not a commit".into()));
    };
    // A member's PublicMessage ends with signature<V> (Ed25519: 1 + 64 bytes),
    // confirmation_tag<V> (1 + 32) and membership_tag<V> (1 + 32): flip a bit of the signature.
    let mut bytes = message.as_bytes().to_vec();
    let at = bytes
        .len()
        .checked_sub(33 + 33 + 20)
        .ok_or("commit too short")?;
    bytes[at] ^= 0x01;
    *message = mimi_types::wire::MlsMessage::from_bytes(bytes).ctx("re-framing")?;
    refused_update(cx, &cx.c, &s.room, &commit).await
}

async fn role_escalation(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let commit = s
        .cathy
        .change_roles(&s.room, &[(s.cathy.user(), cooperative::GROUP_ADMIN)])
        .ctx("commit")?;
    not_allowed(cx, &s.room, &commit).await
}

async fn ban_without_right(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let alice = s.alice.mls.user();
    let commit = s
        .cathy
        .change_roles(&s.room, &[(alice, cooperative::BANNED)])
        .ctx("commit")?;
    not_allowed(cx, &s.room, &commit).await
}

async fn add_without_participant(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let dave = cx.peer_user(&cx.c, "dave", 0)?;
    let kps = dave.key_packages(1, false).ctx("key packages")?;
    let commit = s.cathy.commit(&s.room, kps, vec![], vec![]).ctx("commit")?;
    not_allowed(cx, &s.room, &commit).await
}

async fn unknown_room_update(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let commit = cathy_adds_dave(cx, &mut s)?;
    let other = format!("{}/r/none-{}", cx.target.domain, fresh_id());
    let r = cx
        .post(
            &cx.c,
            Endpoint::Update,
            &other,
            commit.encode().ctx("encode")?,
        )
        .await?;
    ensure!(r.status.as_u16() == 404, "answered {}", r.describe());
    Ok(())
}

/// cathy asks to leave (proposals from c), alice receives them.
async fn cathy_leaves(cx: &Ctx, s: &mut Scene) -> Check {
    let leave = s.cathy.leave(&s.room).ctx("leave")?;
    let r = update_from(cx, &cx.c, &s.room, &leave).await?;
    expect_success(&r, "cathy's leave proposals")?;
    local_until(&mut s.alice, &s.room, |e| {
        matches!(e, ClientEvent::Proposed { .. })
    })
    .await?;
    Ok(())
}

async fn cached_proposals(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    cathy_leaves(cx, &mut s).await?;
    let commit = s.alice.mls.commit_ignoring_pending(&s.room).ctx("commit")?;
    let r = s
        .alice
        .device
        .update(&s.room, &commit)
        .await
        .map_err(Why::Fail)?;
    match &r.outcome {
        UpdateOutcome::InvalidProposal { invalid_proposals } => {
            ensure!(
                !invalid_proposals.is_empty(),
                "invalidProposal lists nothing"
            );
            Ok(())
        }
        o => Err(Why::Fail(format!("expected invalidProposal, got {o:?}"))),
    }
}

async fn cached_proposals_committed(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    cathy_leaves(cx, &mut s).await?;
    let commit = s.alice.mls.commit_pending(&s.room).ctx("commit")?;
    let r = s
        .alice
        .device
        .update(&s.room, &commit)
        .await
        .map_err(Why::Fail)?;
    expect_success(&r, "the commit of the pending proposals")?;
    s.alice.mls.commit_accepted(&s.room).ctx("merge")?;
    let state = s.alice.mls.room_state(&s.room).ctx("state")?;
    ensure!(
        !state.is_participant(&s.cathy.user()),
        "cathy is still a participant"
    );
    Ok(())
}

async fn removed_cannot_commit(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    // A commit of cathy's for this epoch, kept while she asks to leave.
    let commit = cathy_adds_dave(cx, &mut s)?;
    s.cathy.commit_rejected(&s.room).ctx("drop")?;
    cathy_leaves(cx, &mut s).await?;
    refused_update(cx, &cx.c, &s.room, &commit).await
}

async fn cathy_says(
    cx: &Ctx,
    s: &mut Scene,
    text: &str,
) -> Result<(SubmitMessageRequest, SubmitMessageResponse), Why> {
    let request = s
        .cathy
        .send_text(&s.room, salt(), text, None)
        .ctx("encrypt")?;
    let r = submit_from(cx, &cx.c, &s.room, &request).await?;
    Ok((request, r))
}

fn expect_accepted(r: &SubmitMessageResponse) -> Result<u64, Why> {
    match &r.outcome {
        SubmitOutcome::Accepted {
            accepted_timestamp, ..
        } => Ok(*accepted_timestamp),
        o => Err(Why::Fail(format!("not accepted: {o:?}"))),
    }
}

async fn message_accepted(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let (_, r) = cathy_says(cx, &mut s, "hello").await?;
    let at = expect_accepted(&r)?;
    let now = now_ms();
    ensure!(
        at + 300_000 > now && at < now + 300_000,
        "accepted_timestamp {at} is not within 5 minutes of now"
    );
    Ok(())
}

async fn message_delivered(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let (_, r) = cathy_says(cx, &mut s, "hello alice").await?;
    expect_accepted(&r)?;
    let events = local_until(&mut s.alice, &s.room, |e| {
        matches!(e, ClientEvent::Message { .. })
    })
    .await?;
    let got = texts(&events);
    ensure!(got == ["hello alice"], "alice got {got:?}");
    Ok(())
}

async fn refused_submit(
    cx: &Ctx,
    peer: &SuitePeer,
    room: &RoomUri,
    request: &SubmitMessageRequest,
) -> Check {
    let r = cx
        .post(
            peer,
            Endpoint::SubmitMessage,
            &room.to_url_path(),
            request.encode().ctx("encode")?,
        )
        .await?;
    if r.status.as_u16() == 200 {
        let answer = SubmitMessageResponse::decode(&r.body).ctx("decode")?;
        ensure!(
            matches!(answer.outcome, SubmitOutcome::NotAllowed),
            "expected notAllowed, got {:?}",
            answer.outcome
        );
    } else {
        ensure!(
            (400..500).contains(&r.status.as_u16()),
            "answered {}",
            r.describe()
        );
    }
    Ok(())
}

async fn sender_of_other_provider(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let mut request = s
        .cathy
        .send_text(&s.room, salt(), "as alice", None)
        .ctx("encrypt")?;
    request.sending_uri = IdentifierUri::from(s.alice.mls.user());
    refused_submit(cx, &cx.c, &s.room, &request).await
}

async fn sender_not_participant(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let mut request = s
        .cathy
        .send_text(&s.room, salt(), "as eve", None)
        .ctx("encrypt")?;
    let eve =
        UserUri::parse(&format!("mimi://{}/u/eve-{}", cx.c.domain(), fresh_id())).ctx("uri")?;
    request.sending_uri = IdentifierUri::from(MimiUri::from(eve));
    refused_submit(cx, &cx.c, &s.room, &request).await
}

async fn provider_without_participants(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let request = s
        .cathy
        .send_text(&s.room, salt(), "via d", None)
        .ctx("encrypt")?;
    refused_submit(cx, &cx.d, &s.room, &request).await
}

async fn unknown_room_submit(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let request = s
        .cathy
        .send_text(&s.room, salt(), "lost", None)
        .ctx("encrypt")?;
    let other = format!("{}/r/none-{}", cx.target.domain, fresh_id());
    let r = cx
        .post(
            &cx.c,
            Endpoint::SubmitMessage,
            &other,
            request.encode().ctx("encode")?,
        )
        .await?;
    ensure!(r.status.as_u16() == 404, "answered {}", r.describe());
    Ok(())
}

async fn not_private_message(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let commit = cathy_adds_dave(cx, &mut s)?;
    let message = match commit.bundle {
        mimi_types::wire::HandshakeBundle::Commit { commit, .. } => commit,
        mimi_types::wire::HandshakeBundle::Proposals { proposal, .. } => proposal,
    };
    let request = SubmitMessageRequest {
        protocol: mimi_types::wire::Protocol::Mls10,
        app_message: message,
        sending_uri: IdentifierUri::from(s.cathy.user()),
    };
    refused_submit(cx, &cx.c, &s.room, &request).await
}

async fn resubmitted_once(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let (request, r) = cathy_says(cx, &mut s, "once").await?;
    expect_accepted(&r)?;
    let _ = cx
        .post(
            &cx.c,
            Endpoint::SubmitMessage,
            &s.room.to_url_path(),
            request.encode().ctx("encode")?,
        )
        .await?;
    let (_, r) = cathy_says(cx, &mut s, "after").await?;
    expect_accepted(&r)?;
    let events = local_until(&mut s.alice, &s.room, |e| {
        matches!(e, ClientEvent::Message { content, .. } if mimi_content::render_text(content) == "after")
    })
    .await?;
    let got = texts(&events);
    ensure!(got == ["once", "after"], "alice got {got:?}");
    Ok(())
}

async fn franked(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let (_, r) = cathy_says(cx, &mut s, "franked").await?;
    match &r.outcome {
        SubmitOutcome::Accepted { frank: Some(_), .. } => Ok(()),
        o => Err(Why::Fail(format!(
            "expected an accepted message with a frank, got {o:?}"
        ))),
    }
}

async fn fanout_timestamp(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let (_, r) = cathy_says(cx, &mut s, "when").await?;
    let at = expect_accepted(&r)?;
    let events = local_until(&mut s.alice, &s.room, |e| {
        matches!(e, ClientEvent::Message { .. })
    })
    .await?;
    let got = events.iter().find_map(|e| match e {
        ClientEvent::Message { timestamp, .. } => Some(*timestamp),
        _ => None,
    });
    ensure!(
        got == Some(at),
        "the fanout says {got:?}, the acceptance {at}"
    );
    Ok(())
}

async fn removed_cannot_send(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    // Encrypted before cathy asks to leave; submitted once her leave is accepted (an accepted
    // proposal applies at once, protocol-06 §7.1).
    let request = s
        .cathy
        .send_text(&s.room, salt(), "still here?", None)
        .ctx("encrypt")?;
    cathy_leaves(cx, &mut s).await?;
    refused_submit(cx, &cx.c, &s.room, &request).await
}

async fn competing_commits(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let mut dora = cx.peer_user(&cx.d, "dora", 2)?;
    cx.add_peer_user(&s.room, &mut s.alice, &mut dora, s.preset.member_role())
        .await?;
    // cathy has not seen dora's add: bring her to the same epoch first.
    let fanout = cx.fanout_since(&cx.c, &s.room, 0);
    for m in fanout
        .iter()
        .filter(|m| matches!(m.payload, mimi_types::wire::FanoutPayload::Commit { .. }))
    {
        let _ = s.cathy.process(&s.room, m);
    }
    ensure!(
        s.cathy.epoch(&s.room).ctx("epoch")? == dora.epoch(&s.room).ctx("epoch")?,
        "cathy and dora are not at the same epoch"
    );
    let from_c = s.cathy.change_roles(&s.room, &[]).ctx("commit")?;
    let from_d = dora.change_roles(&s.room, &[]).ctx("commit")?;
    let (a, b) = tokio::join!(
        update_from(cx, &cx.c, &s.room, &from_c),
        update_from(cx, &cx.d, &s.room, &from_d)
    );
    let outcomes = [a?.outcome, b?.outcome];
    let wins = outcomes
        .iter()
        .filter(|o| matches!(o, UpdateOutcome::Success { .. }))
        .count();
    let wrong_epoch = outcomes
        .iter()
        .filter(|o| matches!(o, UpdateOutcome::WrongEpoch { .. }))
        .count();
    ensure!(
        wins == 1 && wrong_epoch == 1,
        "expected one success and one wrongEpoch, got {outcomes:?}"
    );
    Ok(())
}
