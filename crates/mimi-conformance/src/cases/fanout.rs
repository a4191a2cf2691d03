//! Fanout from the target as hub to the suite's followers, protocol-06 §5.5, and claiming
//! group information for an external join, §5.6.

use std::time::Duration;

use mimi_client::ClientEvent;
use mimi_types::id::RoomUri;
use mimi_types::wire::{
    Endpoint, FanoutPayload, GroupInfoOutcome, GroupInfoRequest, GroupInfoResponse, SubmitOutcome,
    WireMessage,
};

use super::hub::{local_until, texts, update_from};
use super::{Case, case};
use crate::ctx::{Check, Context as _, Ctx, Scene, WAIT, Why, expect_success, fresh_id, salt};
use crate::ensure;
use crate::peer::ScriptedAnswer;

pub fn cases() -> Vec<Case> {
    vec![
        case!(
            "NF-01",
            "protocol-06 §5.5, §4.1",
            "the hub's /notify names the hub in From and the follower in Host",
            notify_headers
        ),
        case!(
            "NF-02",
            "protocol-06 §5.5",
            "a local member's message reaches the follower as a FanoutMessage it can decrypt",
            message_reaches_follower
        ),
        case!(
            "NF-03",
            "protocol-06 §5.5",
            "messages reach the follower in the order the hub accepted them",
            in_order
        ),
        case!(
            "NF-04",
            "protocol-06 §5.5",
            "after a 503 with Retry-After the hub delivers the message again",
            retried
        ),
        case!(
            "NF-05",
            "protocol-06 §5.5",
            "a Welcome goes only to the provider of the added client",
            welcome_routing
        ),
        case!(
            "NF-06",
            "protocol-06 §5.5",
            "a provider without participants receives nothing for the room",
            nothing_for_outsiders
        ),
        case!(
            "NF-07",
            "protocol-06 §5.5",
            "the provider of a removed user receives the commit that removes it",
            removal_reaches_removed
        ),
        case!(
            "NF-08",
            "protocol-06 §5.5",
            "a Welcome fanout carries a ratchet tree option",
            welcome_has_tree
        ),
        case!(
            "GI-01",
            "protocol-06 §5.6",
            "a participant's new device gets the GroupInfo, signed by the hub and decryptable",
            group_info_success
        ),
        case!(
            "GI-02",
            "protocol-06 §3, §5.3",
            "the new device's external commit is accepted",
            external_commit
        ),
        case!(
            "GI-03",
            "protocol-06 §5.6",
            "a user who is not a participant of a closed room: notAuthorized",
            group_info_outsider
        ),
        case!(
            "GI-04",
            "protocol-06 §5.6",
            "a request with a broken signature: notAuthorized or 4xx",
            group_info_bad_signature
        ),
        case!(
            "GI-05",
            "protocol-06 §5.6",
            "a credential of another provider's user: notAuthorized or 4xx",
            group_info_foreign_credential
        ),
        case!(
            "GI-06",
            "protocol-06 §5.6",
            "a room the target does not host: noSuchRoom, notAuthorized or 404",
            group_info_unknown_room
        ),
    ]
}

/// alice (local) says `text`; accepted.
async fn alice_says(s: &mut Scene, text: &str) -> Result<u64, Why> {
    let request = s
        .alice
        .mls
        .send_text(&s.room, salt(), text, None)
        .ctx("encrypt")?;
    let r = s
        .alice
        .device
        .submit(&s.room, &request)
        .await
        .map_err(Why::Fail)?;
    match r.outcome {
        SubmitOutcome::Accepted {
            accepted_timestamp, ..
        } => Ok(accepted_timestamp),
        o => Err(Why::Fail(format!("alice's message: {o:?}"))),
    }
}

fn texts_of(
    cathy: &mut mimi_client::MimiClient,
    room: &RoomUri,
    messages: &[mimi_types::wire::FanoutMessage],
) -> Result<Vec<String>, Why> {
    let mut events = Vec::new();
    for m in messages {
        events.extend(cathy.process(room, m).ctx("cathy processing the fanout")?);
    }
    Ok(texts(&events))
}

fn is_application(m: &mimi_types::wire::FanoutMessage) -> bool {
    matches!(m.payload, FanoutPayload::Application { .. })
}

async fn notify_headers(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let mark = cx.c.peer.mark();
    alice_says(&mut s, "headers").await?;
    cx.fanout_at(&cx.c, &s.room, mark, is_application).await?;
    let path = cx.notify_path(&s.room);
    let inbound =
        cx.c.peer
            .since(mark)
            .into_iter()
            .find(|i| i.path == path)
            .ok_or("no /notify")?;
    let want_from = format!("mimi@{}", cx.target.domain);
    ensure!(
        inbound.from.as_deref() == Some(want_from.as_str()),
        "From: {:?}",
        inbound.from
    );
    let host = inbound.host.unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default().to_string();
    ensure!(host == cx.c.domain().as_str(), "Host: {host}");
    Ok(())
}

async fn message_reaches_follower(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let mark = cx.c.peer.mark();
    let at = alice_says(&mut s, "to the follower").await?;
    let m = cx.fanout_at(&cx.c, &s.room, mark, is_application).await?;
    ensure!(
        m.timestamp == at,
        "fanout timestamp {} is not the acceptance time {at}",
        m.timestamp
    );
    let got = texts_of(&mut s.cathy, &s.room, &[m])?;
    ensure!(got == ["to the follower"], "cathy decrypted {got:?}");
    Ok(())
}

async fn in_order(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let mark = cx.c.peer.mark();
    let sent: Vec<String> = (0..5).map(|i| format!("message {i}")).collect();
    for t in &sent {
        alice_says(&mut s, t).await?;
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got: Vec<_> = cx
            .fanout_since(&cx.c, &s.room, mark)
            .into_iter()
            .filter(is_application)
            .collect();
        if got.len() >= sent.len() {
            let texts = texts_of(&mut s.cathy, &s.room, &got)?;
            ensure!(texts == sent, "cathy got {texts:?}");
            return Ok(());
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "only {} of {} messages arrived",
            got.len(),
            sent.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn retried(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let mark = cx.c.peer.mark();
    cx.c.peer.script_notify(&[ScriptedAnswer {
        status: 503,
        retry_after: Some(1),
    }]);
    alice_says(&mut s, "again").await?;
    let m = cx.fanout_at(&cx.c, &s.room, mark, is_application).await;
    // fanout_at also sees the refused delivery; wait for an accepted one.
    m?;
    let deadline = tokio::time::Instant::now() + WAIT + WAIT;
    loop {
        let accepted: Vec<_> = cx
            .fanout_since(&cx.c, &s.room, mark)
            .into_iter()
            .filter(is_application)
            .collect();
        if !accepted.is_empty() {
            let refused =
                cx.c.peer
                    .since(mark)
                    .iter()
                    .filter(|i| i.answered == 503)
                    .count();
            ensure!(refused >= 1, "the scripted 503 was never sent");
            let texts = texts_of(&mut s.cathy, &s.room, &accepted)?;
            ensure!(texts == ["again"], "cathy got {texts:?}");
            return Ok(());
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "the message was not delivered again after the 503"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn welcome_routing(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let (mark_c, mark_d) = (cx.c.peer.mark(), cx.d.peer.mark());
    let mut dora = cx.peer_user(&cx.d, "dora", 2)?;
    cx.add_peer_user(&s.room, &mut s.alice, &mut dora, s.preset.member_role())
        .await?;
    // The commit reaches c; by then any Welcome for c would have been sent too.
    cx.fanout_at(&cx.c, &s.room, mark_c, |m| {
        matches!(m.payload, FanoutPayload::Commit { .. })
    })
    .await?;
    let welcomes_c = cx
        .fanout_since(&cx.c, &s.room, mark_c)
        .iter()
        .filter(|m| matches!(m.payload, FanoutPayload::Welcome { .. }))
        .count();
    let welcomes_d = cx
        .fanout_since(&cx.d, &s.room, mark_d)
        .iter()
        .filter(|m| matches!(m.payload, FanoutPayload::Welcome { .. }))
        .count();
    ensure!(
        welcomes_d == 1,
        "{} got {welcomes_d} Welcomes",
        cx.d.domain()
    );
    ensure!(
        welcomes_c == 0,
        "{} got {welcomes_c} Welcomes for a client it does not serve",
        cx.c.domain()
    );
    Ok(())
}

async fn nothing_for_outsiders(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let mark = cx.d.peer.mark();
    let mark_c = cx.c.peer.mark();
    alice_says(&mut s, "not for d").await?;
    cx.fanout_at(&cx.c, &s.room, mark_c, is_application).await?;
    let path = cx.notify_path(&s.room);
    ensure!(
        cx.d.peer.since(mark).iter().all(|i| i.path != path),
        "{} received fanout",
        cx.d.domain()
    );
    Ok(())
}

async fn removal_reaches_removed(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let mark = cx.c.peer.mark();
    let commit = s
        .alice
        .mls
        .remove_users(&s.room, &[s.cathy.user()])
        .ctx("commit")?;
    let r = s
        .alice
        .device
        .update(&s.room, &commit)
        .await
        .map_err(Why::Fail)?;
    expect_success(&r, "alice removing cathy")?;
    let m = cx
        .fanout_at(&cx.c, &s.room, mark, |m| {
            matches!(m.payload, FanoutPayload::Commit { .. })
        })
        .await?;
    let events = s
        .cathy
        .process(&s.room, &m)
        .ctx("cathy processing her removal")?;
    ensure!(
        events
            .iter()
            .any(|e| matches!(e, ClientEvent::Removed { .. })),
        "cathy did not learn she was removed: {events:?}"
    );
    Ok(())
}

async fn welcome_has_tree(cx: &Ctx) -> Check {
    let s = cx.scene().await?;
    let w = cx
        .fanout_since(&cx.c, &s.room, 0)
        .into_iter()
        .find(|m| matches!(m.payload, FanoutPayload::Welcome { .. }))
        .ok_or("no Welcome received")?;
    let FanoutPayload::Welcome { ratchet_tree, .. } = &w.payload else {
        return Err(Why::Fail("not a Welcome".into()));
    };
    let encoded = tls_codec::Serialize::tls_serialize_detached(ratchet_tree).ctx("encode")?;
    ensure!(encoded.len() > 1, "the ratchet tree option is empty");
    Ok(())
}

/// A second device of cathy's user at c, and its GroupInfo request.
fn new_device(
    cx: &Ctx,
    s: &Scene,
) -> Result<
    (
        mimi_client::MimiClient,
        GroupInfoRequest,
        mimi_client::GroupInfoKey,
    ),
    Why,
> {
    let device = cx.peer_device(&cx.c, s.cathy.user_uri(), "2", 0)?;
    let (request, key) = device.group_info_request(&s.room).ctx("request")?;
    Ok((device, request, key))
}

async fn ask_group_info(
    cx: &Ctx,
    peer: &crate::ctx::SuitePeer,
    room: &str,
    request: &GroupInfoRequest,
) -> Result<Result<GroupInfoResponse, u16>, Why> {
    let r = cx
        .post(
            peer,
            Endpoint::GroupInfo,
            room,
            request.encode().ctx("encode")?,
        )
        .await?;
    if r.status.as_u16() == 200 {
        Ok(Ok(GroupInfoResponse::decode(&r.body).ctx("decode")?))
    } else {
        Ok(Err(r.status.as_u16()))
    }
}

async fn group_info_success(cx: &Ctx) -> Check {
    let s = cx.scene().await?;
    let (device, request, key) = new_device(cx, &s)?;
    let r = ask_group_info(cx, &cx.c, &s.room.to_url_path(), &request)
        .await?
        .map_err(|st| format!("answered {st}"))?;
    ensure!(
        matches!(r.outcome, GroupInfoOutcome::Success(_)),
        "{:?}",
        r.outcome.code()
    );
    device
        .open_group_info(&r, &key)
        .ctx("the response does not verify or decrypt")?;
    Ok(())
}

async fn external_commit(cx: &Ctx) -> Check {
    let mut s = cx.scene().await?;
    let (mut device, request, key) = new_device(cx, &s)?;
    let r = ask_group_info(cx, &cx.c, &s.room.to_url_path(), &request)
        .await?
        .map_err(|st| format!("answered {st}"))?;
    let info = device.open_group_info(&r, &key).ctx("open")?;
    let commit = device
        .join_by_external_commit(s.room.clone(), info, None)
        .ctx("external commit")?;
    let r = update_from(cx, &cx.c, &s.room, &commit).await?;
    expect_success(&r, "the external commit")?;
    device.commit_accepted(&s.room).ctx("merge")?;
    local_until(&mut s.alice, &s.room, |e| {
        matches!(e, ClientEvent::Committed { .. })
    })
    .await?;
    ensure!(
        s.alice.mls.member_count(&s.room).ctx("members")? == 3,
        "alice does not see the new device"
    );
    Ok(())
}

fn refused_group_info(answer: Result<GroupInfoResponse, u16>) -> Check {
    match answer {
        Ok(r) => ensure!(
            !matches!(r.outcome, GroupInfoOutcome::Success(_)),
            "the GroupInfo was handed out"
        ),
        Err(status) => ensure!((400..500).contains(&status), "answered {status}"),
    }
    Ok(())
}

async fn group_info_outsider(cx: &Ctx) -> Check {
    let s = cx.scene().await?;
    let eve = cx.peer_user(&cx.c, "eve", 0)?;
    let (request, _) = eve.group_info_request(&s.room).ctx("request")?;
    let answer = ask_group_info(cx, &cx.c, &s.room.to_url_path(), &request).await?;
    match answer {
        Ok(r) => ensure!(
            matches!(r.outcome, GroupInfoOutcome::NotAuthorized),
            "{:?}",
            r.outcome.code()
        ),
        Err(status) => return Err(Why::Fail(format!("answered {status}, not notAuthorized"))),
    }
    Ok(())
}

async fn group_info_bad_signature(cx: &Ctx) -> Check {
    let s = cx.scene().await?;
    let (_, mut request, _) = new_device(cx, &s)?;
    let mut sig = request.signature.as_slice().to_vec();
    if let Some(b) = sig.get_mut(3) {
        *b ^= 0x10;
    }
    request.signature = sig.into();
    refused_group_info(ask_group_info(cx, &cx.c, &s.room.to_url_path(), &request).await?)
}

async fn group_info_foreign_credential(cx: &Ctx) -> Check {
    let s = cx.scene().await?;
    let dora = cx.peer_user(&cx.d, "dora", 0)?;
    let (request, _) = dora.group_info_request(&s.room).ctx("request")?;
    refused_group_info(ask_group_info(cx, &cx.c, &s.room.to_url_path(), &request).await?)
}

async fn group_info_unknown_room(cx: &Ctx) -> Check {
    let s = cx.scene().await?;
    let (_, request, _) = new_device(cx, &s)?;
    let other = format!("{}/r/none-{}", cx.target.domain, fresh_id());
    refused_group_info(ask_group_info(cx, &cx.c, &other, &request).await?)
}
