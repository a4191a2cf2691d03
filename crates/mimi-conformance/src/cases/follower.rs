//! The target as follower, protocol-06 §5.5: a room hosted by the suite's peer c (the hub
//! engine of `mimi-room`, run by the suite), with a local user of the target (bob) added by
//! cathy of c. The suite posts the hub's fanout to the target's `/notify` itself, so cases
//! can send what an honest hub would not: duplicates, batches, fanout from a non-hub.

use mimi_client::{ClientEvent, MimiClient};
use mimi_credential::TrustStore;
use mimi_room::hub::{Accepted, HubContext, HubLimits, HubRoom};
use mimi_room::policy::{PolicyState, Preset};
use mimi_types::id::{GroupUri, RoomUri};
use mimi_types::wire::{Endpoint, FanoutMessage, FanoutPayload, UpdateOutcome};

use super::hub::{local_until, texts};
use super::{Case, case};
use crate::ctx::{Check, Context as _, Ctx, SuitePeer, Why, fresh_id, key_packages_of, salt};
use crate::driver::LocalUser;
use crate::ensure;

pub fn cases() -> Vec<Case> {
    vec![
        case!(
            "FO-01",
            "protocol-06 §5.5",
            "the hub's /notify with a Welcome for a local user is answered 201",
            welcome_201
        ),
        case!(
            "FO-02",
            "protocol-06 §5.5",
            "the local user joins by the Welcome the follower delivered",
            joins
        ),
        case!(
            "FO-03",
            "protocol-06 §5.5",
            "a message fanned out by the hub reaches the local user",
            message_delivered
        ),
        case!(
            "FO-04",
            "protocol-06 §5.5",
            "a byte-identical duplicate /notify is answered 201 and delivered once",
            duplicate_once
        ),
        case!(
            "FO-05",
            "protocol-06 §5.5",
            "several FanoutMessages in one body are all delivered, in order",
            batch
        ),
        case!(
            "FO-06",
            "protocol-06 §5.5",
            "/notify for the room from a provider that is not its hub is refused and not delivered",
            not_the_hub
        ),
        case!(
            "FO-07",
            "protocol-06 §5.5",
            "/notify about a room the target hosts is refused",
            notify_own_room
        ),
        case!(
            "FO-08",
            "protocol-06 §5.5",
            "a commit fanned out by the hub moves the local user to the new epoch",
            commit_delivered
        ),
        case!(
            "FO-09",
            "protocol-06 §5.4, §4.1",
            "a local user's message goes to the room's hub as /submitMessage, From the follower, naming the user",
            relays_submit
        ),
        case!(
            "FO-10",
            "protocol-06 §5.3, §4.1",
            "a local user's commit goes to the room's hub as /update, byte for byte",
            relays_update
        ),
    ]
}

/// A room of peer c with cathy (of c) and bob (local to the target), the hub engine in the
/// suite.
struct Hosted {
    room: RoomUri,
    hub: HubRoom,
    trust: TrustStore,
    cathy: MimiClient,
    bob: LocalUser,
}

fn context<'a>(peer: &'a SuitePeer, trust: &'a TrustStore) -> HubContext<'a> {
    HubContext {
        hub: &peer.hub,
        trust,
        now_ms: mimi_server::provider::now_ms(),
        limits: HubLimits::default(),
    }
}

/// The fanout for the target among an accepted event's deliveries.
fn for_target(cx: &Ctx, accepted: &Accepted) -> Vec<FanoutMessage> {
    accepted
        .fanout
        .iter()
        .filter(|f| f.destination == cx.target.domain)
        .map(|f| f.message.clone())
        .collect()
}

/// POST these fanout messages as one `/notify` from `peer`; the status.
async fn notify(
    cx: &Ctx,
    peer: &SuitePeer,
    room: &RoomUri,
    messages: &[FanoutMessage],
) -> Result<u16, Why> {
    let body = FanoutMessage::encode_batch(messages).ctx("encode")?;
    Ok(cx
        .post(peer, Endpoint::Notify, &room.to_url_path(), body)
        .await?
        .status
        .as_u16())
}

async fn hosted(cx: &Ctx, deliver_welcome: bool) -> Result<(Hosted, Vec<FanoutMessage>), Why> {
    let mut bob = cx.local_user("bob", 2).await?;
    let trust = cx.trust_for_hub().await?;
    let preset = Preset::CooperativelyAdministered;
    let mut cathy = cx.peer_user(&cx.c, "cathy", 0)?;
    let id = fresh_id();
    let room = RoomUri::parse(&format!("mimi://{}/r/{id}", cx.c.domain())).ctx("room")?;
    let group = GroupUri::parse(&format!("mimi://{}/g/{id}", cx.c.domain())).ctx("group")?;
    let policy = PolicyState::new_room(preset, cathy.user()).ctx("policy")?;
    let info = cathy
        .create_room(
            room.clone(),
            &group,
            cx.c.hub.external_sender(),
            Some(cx.c.hub.franking_agent()),
            &policy,
        )
        .ctx("group")?;
    let mut hub = HubRoom::create(
        &context(&cx.c, &trust),
        room.clone(),
        &policy,
        info.group_info,
        info.ratchet_tree,
    )
    .ctx("the suite's hub refused its own room")?;
    // cathy asks the target for bob's KeyPackages (c is the room's hub, so it asks directly).
    let request = cathy
        .key_material_request(bob.mls.user_uri(), &room)
        .ctx("request")?;
    let response: mimi_types::wire::KeyMaterialResponse = cx
        .exchange(
            &cx.c,
            Endpoint::KeyMaterial,
            &bob.mls.user_uri().to_url_path(),
            &request,
        )
        .await?;
    let kps = key_packages_of(&response);
    ensure!(
        !kps.is_empty(),
        "no KeyPackage for bob: {:?}",
        response.user_status
    );
    let commit = cathy
        .add_users(&room, &[(bob.mls.user(), preset.member_role(), kps)])
        .ctx("commit")?;
    let reply = hub
        .handle_update(&context(&cx.c, &trust), cx.c.domain(), &commit)
        .ctx("hub")?;
    ensure!(
        matches!(reply.response.outcome, UpdateOutcome::Success { .. }),
        "the suite's hub refused the add: {:?}",
        reply.response
    );
    cathy.commit_accepted(&room).ctx("merge")?;
    let fanout = reply
        .accepted
        .map(|a| for_target(cx, &a))
        .unwrap_or_default();
    ensure!(
        fanout
            .iter()
            .any(|m| matches!(m.payload, FanoutPayload::Welcome { .. })),
        "the hub engine made no Welcome for the target"
    );
    if deliver_welcome {
        let status = notify(cx, &cx.c, &room, &fanout).await?;
        ensure!(status == 201, "/notify with the Welcome answered {status}");
        local_until(&mut bob, &room, |e| matches!(e, ClientEvent::Joined { .. })).await?;
    }
    Ok((
        Hosted {
            room,
            hub,
            trust,
            cathy,
            bob,
        },
        fanout,
    ))
}

/// cathy says `text` through the suite's hub; the fanout for the target.
fn cathy_says(cx: &Ctx, h: &mut Hosted, text: &str) -> Result<Vec<FanoutMessage>, Why> {
    let request = h
        .cathy
        .send_text(&h.room, salt(), text, None)
        .ctx("encrypt")?;
    let reply = h
        .hub
        .handle_submit(&context(&cx.c, &h.trust), cx.c.domain(), &request)
        .ctx("hub")?;
    let accepted = reply
        .accepted
        .ok_or_else(|| Why::Fail(format!("the suite's hub refused: {:?}", reply.refusal)))?;
    Ok(for_target(cx, &accepted))
}

async fn welcome_201(cx: &Ctx) -> Check {
    let (h, fanout) = hosted(cx, false).await?;
    let status = notify(cx, &cx.c, &h.room, &fanout).await?;
    ensure!(status == 201, "answered {status}, not 201");
    Ok(())
}

async fn joins(cx: &Ctx) -> Check {
    let (h, _) = hosted(cx, true).await?;
    let (a, b) = (
        h.cathy.epoch(&h.room).ctx("epoch")?,
        h.bob.mls.epoch(&h.room).ctx("epoch")?,
    );
    ensure!(a == b, "bob joined at epoch {b}, the room is at {a}");
    Ok(())
}

async fn message_delivered(cx: &Ctx) -> Check {
    let (mut h, _) = hosted(cx, true).await?;
    let fanout = cathy_says(cx, &mut h, "hello bob")?;
    let status = notify(cx, &cx.c, &h.room, &fanout).await?;
    ensure!(status == 201, "answered {status}");
    let events = local_until(&mut h.bob, &h.room, |e| {
        matches!(e, ClientEvent::Message { .. })
    })
    .await?;
    ensure!(
        texts(&events) == ["hello bob"],
        "bob got {:?}",
        texts(&events)
    );
    Ok(())
}

async fn duplicate_once(cx: &Ctx) -> Check {
    let (mut h, _) = hosted(cx, true).await?;
    let first = cathy_says(cx, &mut h, "once")?;
    for _ in 0..3 {
        let status = notify(cx, &cx.c, &h.room, &first).await?;
        ensure!(status == 201, "a duplicate was answered {status}");
    }
    let marker = cathy_says(cx, &mut h, "marker")?;
    ensure!(
        notify(cx, &cx.c, &h.room, &marker).await? == 201,
        "marker refused"
    );
    let events = local_until(&mut h.bob, &h.room, |e| {
        matches!(e, ClientEvent::Message { content, .. } if mimi_content::render_text(content) == "marker")
    })
    .await?;
    ensure!(
        texts(&events) == ["once", "marker"],
        "bob got {:?}",
        texts(&events)
    );
    Ok(())
}

async fn batch(cx: &Ctx) -> Check {
    let (mut h, _) = hosted(cx, true).await?;
    let mut all = Vec::new();
    for i in 0..4 {
        all.extend(cathy_says(cx, &mut h, &format!("batch {i}"))?);
    }
    ensure!(
        notify(cx, &cx.c, &h.room, &all).await? == 201,
        "the batch was refused"
    );
    let events = local_until(&mut h.bob, &h.room, |e| {
        matches!(e, ClientEvent::Message { content, .. } if mimi_content::render_text(content) == "batch 3")
    })
    .await?;
    let want: Vec<String> = (0..4).map(|i| format!("batch {i}")).collect();
    ensure!(texts(&events) == want, "bob got {:?}", texts(&events));
    Ok(())
}

async fn not_the_hub(cx: &Ctx) -> Check {
    let (mut h, _) = hosted(cx, true).await?;
    let forged = cathy_says(cx, &mut h, "from d")?;
    let status = notify(cx, &cx.d, &h.room, &forged).await?;
    ensure!((400..500).contains(&status), "answered {status}");
    // The real hub's next message arrives first and alone.
    let honest = cathy_says(cx, &mut h, "from the hub")?;
    ensure!(notify(cx, &cx.c, &h.room, &honest).await? == 201, "refused");
    let events = local_until(&mut h.bob, &h.room, |e| {
        matches!(e, ClientEvent::Message { .. })
    })
    .await?;
    ensure!(
        texts(&events) == ["from the hub"],
        "bob got {:?}",
        texts(&events)
    );
    Ok(())
}

async fn notify_own_room(cx: &Ctx) -> Check {
    let s = cx.scene().await?;
    let (mut h, _) = hosted(cx, true).await?;
    let fanout = cathy_says(cx, &mut h, "misdirected")?;
    // The fanout names a room of the target: c is not its hub.
    let status = notify(cx, &cx.c, &s.room, &fanout).await?;
    ensure!((400..500).contains(&status), "answered {status}");
    Ok(())
}

async fn commit_delivered(cx: &Ctx) -> Check {
    let (mut h, _) = hosted(cx, true).await?;
    let commit = h.cathy.change_roles(&h.room, &[]).ctx("commit")?;
    let reply = h
        .hub
        .handle_update(&context(&cx.c, &h.trust), cx.c.domain(), &commit)
        .ctx("hub")?;
    ensure!(
        matches!(reply.response.outcome, UpdateOutcome::Success { .. }),
        "the suite's hub refused: {:?}",
        reply.response
    );
    h.cathy.commit_accepted(&h.room).ctx("merge")?;
    let fanout = reply
        .accepted
        .map(|a| for_target(cx, &a))
        .unwrap_or_default();
    ensure!(
        notify(cx, &cx.c, &h.room, &fanout).await? == 201,
        "the commit was refused"
    );
    local_until(&mut h.bob, &h.room, |e| {
        matches!(e, ClientEvent::Committed { .. })
    })
    .await?;
    let (a, b) = (
        h.cathy.epoch(&h.room).ctx("epoch")?,
        h.bob.mls.epoch(&h.room).ctx("epoch")?,
    );
    ensure!(a == b, "bob is at epoch {b}, the room at {a}");
    Ok(())
}

async fn relays_submit(cx: &Ctx) -> Check {
    let (mut h, _) = hosted(cx, true).await?;
    let mark = cx.c.peer.mark();
    let request = h
        .bob
        .mls
        .send_text(&h.room, salt(), "via my provider", None)
        .ctx("encrypt")?;
    // The suite's listener does not answer as a hub, so the client API reports a failure;
    // what matters is what reached the hub.
    let _ = h.bob.device.submit(&h.room, &request).await;
    let path = format!("/v1/submitMessage/{}", h.room.to_url_path());
    let got =
        cx.c.peer
            .wait_for(mark, crate::ctx::WAIT, |i| i.path == path)
            .await
            .ok_or("nothing reached the hub's /submitMessage")?;
    let want_from = format!("mimi@{}", cx.target.domain);
    ensure!(
        got.from.as_deref() == Some(want_from.as_str()),
        "From: {:?}",
        got.from
    );
    let relayed =
        <mimi_types::wire::SubmitMessageRequest as mimi_types::wire::WireMessage>::decode(
            &got.body,
        )
        .ctx("the relayed body")?;
    ensure!(
        relayed.sending_uri.uri() == &h.bob.mls.user(),
        "sendingUri {}",
        relayed.sending_uri
    );
    ensure!(
        relayed.app_message.as_bytes() == request.app_message.as_bytes(),
        "the message was changed on the way"
    );
    Ok(())
}

async fn relays_update(cx: &Ctx) -> Check {
    let (mut h, _) = hosted(cx, true).await?;
    let mark = cx.c.peer.mark();
    let commit = h.bob.mls.change_roles(&h.room, &[]).ctx("commit")?;
    let _ = h.bob.device.update(&h.room, &commit).await;
    let path = format!("/v1/update/{}", h.room.to_url_path());
    let got =
        cx.c.peer
            .wait_for(mark, crate::ctx::WAIT, |i| i.path == path)
            .await
            .ok_or("nothing reached the hub's /update")?;
    let want_from = format!("mimi@{}", cx.target.domain);
    ensure!(
        got.from.as_deref() == Some(want_from.as_str()),
        "From: {:?}",
        got.from
    );
    let sent = mimi_types::wire::WireMessage::encode(&commit).ctx("encode")?;
    ensure!(
        got.body.as_ref() == sent.as_slice(),
        "the relayed UpdateRequest differs from the client's"
    );
    Ok(())
}
