//! Nothing acknowledged is lost: a follower down while the hub accepts messages receives
//! every one exactly once and in order when it comes back; a hub restarted mid-stream keeps
//! everything it acknowledged; a duplicated `/notify` is processed once; a non-member's
//! message is refused.

mod support;

use mimi_store::Store;
use mimi_types::wire::{Endpoint, FanoutMessage, SubmitOutcome, WireMessage};
use support::three_party;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_down_then_back_gets_everything_once_in_order() {
    let (mut net, room) = three_party().await;
    net.stop_node("b.example").await;
    let c = net.provider("c.example").clone();
    let mut sent = Vec::new();
    for i in 0..30u8 {
        let text = format!("message {i}");
        let request = net
            .client("cathy")
            .send_text(&room, [i; 16], &text, None)
            .expect("send");
        let outcome = c.client_submit(&room, &request).await.expect("submit");
        assert!(
            matches!(outcome.outcome, SubmitOutcome::Accepted { .. }),
            "{outcome:?}"
        );
        sent.push(text);
    }
    // The hub keeps b's messages in its outbox meanwhile.
    let a = net.provider("a.example").clone();
    let backlog = a.store.outbox_backlog().await.expect("backlog");
    assert!(
        backlog
            .iter()
            .any(|b| b.destination == "b.example" && b.rows > 0),
        "{backlog:?}"
    );
    net.start_node("b.example").await;
    net.pump(&room).await;
    assert_eq!(
        net.texts("bob"),
        sent,
        "bob gets every message once, in order"
    );
    assert_eq!(net.texts("alice"), sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_restart_loses_nothing_acknowledged() {
    let (mut net, room) = three_party().await;
    // Hold b's deliveries in the hub's outbox across the hub's restart.
    net.stop_node("b.example").await;
    let c = net.provider("c.example").clone();
    let mut sent = Vec::new();
    for i in 0..10u8 {
        let text = format!("before {i}");
        let request = net
            .client("cathy")
            .send_text(&room, [i; 16], &text, None)
            .expect("send");
        let outcome = c.client_submit(&room, &request).await.expect("submit");
        assert!(matches!(outcome.outcome, SubmitOutcome::Accepted { .. }));
        sent.push(text);
    }
    net.stop_node("a.example").await;
    net.start_node("a.example").await;
    net.start_node("b.example").await;
    // The restored hub keeps accepting, in order after what it acknowledged.
    for i in 10..15u8 {
        let text = format!("after {i}");
        let request = net
            .client("cathy")
            .send_text(&room, [i; 16], &text, None)
            .expect("send");
        let outcome = c.client_submit(&room, &request).await.expect("submit");
        assert!(
            matches!(outcome.outcome, SubmitOutcome::Accepted { .. }),
            "{outcome:?}"
        );
        sent.push(text);
    }
    net.pump(&room).await;
    assert_eq!(net.texts("bob"), sent);
    assert_eq!(net.texts("alice"), sent);
    // And it still validates commits against the restored state.
    let commit = net.client("bob").change_roles(&room, &[]).expect("commit");
    let b = net.provider("b.example").clone();
    let outcome = b.client_update(&room, &commit).await.expect("update");
    assert!(
        matches!(
            outcome.outcome,
            mimi_types::wire::UpdateOutcome::Success { .. }
        ),
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_notify_is_processed_once_and_non_members_are_refused() {
    let (mut net, room) = three_party().await;
    let c = net.provider("c.example").clone();
    let request = net
        .client("cathy")
        .send_text(&room, [3; 16], "once", None)
        .expect("send");
    assert!(matches!(
        c.client_submit(&room, &request)
            .await
            .expect("submit")
            .outcome,
        SubmitOutcome::Accepted { .. }
    ));
    net.pump(&room).await;
    assert_eq!(net.texts("bob"), vec!["once".to_string()]);
    // The hub redelivers the same fanout (say its 201 was lost): b answers 201, bob gets
    // nothing new.
    let b = net.provider("b.example").clone();
    let bob = net.client("bob").client_uri().clone();
    let last = b
        .events(&bob, 0, 1000)
        .await
        .expect("events")
        .pop()
        .expect("one event");
    let message = FanoutMessage::decode(&last.body).expect("fanout");
    let a = net.provider("a.example").clone();
    for _ in 0..2 {
        let r = a
            .client
            .post(
                &support::domain("b.example"),
                Endpoint::Notify,
                &room.to_url_path(),
                message.encode().expect("encode"),
            )
            .await
            .expect("notify");
        assert_eq!(r.status.as_u16(), 201);
    }
    net.pump(&room).await;
    assert_eq!(net.texts("bob"), vec!["once".to_string()]);

    // A user who is not in the room: c asserts eve sent cathy's message.
    net.add_user("eve", "c.example").await;
    let mut request = net
        .client("cathy")
        .send_text(&room, [4; 16], "spoof", None)
        .expect("send");
    request.sending_uri = net.client("eve").user().into();
    let before = a
        .store
        .hub_room(room.as_str())
        .await
        .expect("room")
        .expect("room")
        .seq;
    assert!(matches!(
        c.client_submit(&room, &request)
            .await
            .expect("submit")
            .outcome,
        SubmitOutcome::NotAllowed
    ));
    let after = a
        .store
        .hub_room(room.as_str())
        .await
        .expect("room")
        .expect("room")
        .seq;
    assert_eq!(before, after, "nothing recorded");
}
