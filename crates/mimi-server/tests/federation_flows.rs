//! The six flows of protocol-06 §3 across three `mimi serve` providers on loopback: real
//! mutual TLS, real SQLite files, real OpenMLS clients.

mod support;

use mimi_types::wire::{SubmitOutcome, UpdateOutcome};
use support::{assert_in_sync, three_party};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_flows_over_mutual_tls() {
    let (mut net, room) = three_party().await;
    assert_in_sync(&net, &room, &["alice", "bob", "cathy"]);

    // Flow 4: cathy sends; everyone decrypts the same text.
    let c = net.provider("c.example").clone();
    let message = net
        .client("cathy")
        .send_text(&room, [7; 16], "Hi everyone", None)
        .expect("send");
    let outcome = c.client_submit(&room, &message).await.expect("submit");
    assert!(
        matches!(outcome.outcome, SubmitOutcome::Accepted { .. }),
        "{outcome:?}"
    );
    net.pump(&room).await;
    assert_eq!(net.texts("alice"), vec!["Hi everyone".to_string()]);
    assert_eq!(net.texts("bob"), vec!["Hi everyone".to_string()]);

    // Flow 5: bob leaves (proposals cached at the hub), cathy commits them.
    let b = net.provider("b.example").clone();
    let leave = net.client("bob").leave(&room).expect("leave");
    let outcome = b.client_update(&room, &leave).await.expect("leave");
    assert!(
        matches!(outcome.outcome, UpdateOutcome::Success { .. }),
        "{outcome:?}"
    );
    net.pump(&room).await;
    let commit = net.client("cathy").commit_pending(&room).expect("commit");
    let outcome = c.client_update(&room, &commit).await.expect("commit");
    assert!(
        matches!(outcome.outcome, UpdateOutcome::Success { .. }),
        "{outcome:?}"
    );
    net.pump(&room).await;
    assert!(
        net.clients["bob"]
            .events
            .iter()
            .any(|e| matches!(e, mimi_client::ClientEvent::Removed { .. }))
    );
    assert_in_sync(&net, &room, &["alice", "cathy"]);

    // Flow 6: cathy's new device joins by external commit.
    net.add_device("cathy2", "cathy", "2").await;
    let (request, key) = net
        .client("cathy2")
        .group_info_request(&room)
        .expect("request");
    let response = c
        .client_group_info(&room, &request)
        .await
        .expect("group info");
    let info = net
        .client("cathy2")
        .open_group_info(&response, &key)
        .expect("open");
    let commit = net
        .client("cathy2")
        .join_by_external_commit(room.clone(), info, None)
        .expect("external commit");
    let outcome = c.client_update(&room, &commit).await.expect("update");
    assert!(
        matches!(outcome.outcome, UpdateOutcome::Success { .. }),
        "{outcome:?}"
    );
    let cathy2 = net.client("cathy2").client_uri().clone();
    c.joined_by_external_commit(&room, &cathy2)
        .await
        .expect("member");
    net.pump(&room).await;
    assert_in_sync(&net, &room, &["alice", "cathy", "cathy2"]);
    let message = net
        .client("cathy2")
        .send_text(&room, [9; 16], "from my phone", None)
        .expect("send");
    let outcome = c.client_submit(&room, &message).await.expect("submit");
    assert!(
        matches!(outcome.outcome, SubmitOutcome::Accepted { .. }),
        "{outcome:?}"
    );
    net.pump(&room).await;
    assert_eq!(
        net.texts("alice").last().map(String::as_str),
        Some("from my phone")
    );
    assert_eq!(
        net.texts("cathy").last().map(String::as_str),
        Some("from my phone")
    );
}
