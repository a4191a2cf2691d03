//! Abuse reports (protocol-06 §5.9) are stored at the hub before it answers 201
//! (docs/decisions/0069): over real providers, bob's provider reports cathy's franked
//! message to the hub, and the hub's store holds the report as received, also after a
//! restart.

mod support;

use mimi_client::ClientEvent;
use mimi_store::Store;
use mimi_types::wire::{
    AbuseReport, AbuseType, AbusiveMessage, Endpoint, OptionalIdentifierUri, SubmitOutcome,
    Utf8String, WireMessage,
};
use support::{domain, three_party};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_abuse_report_is_stored_before_201() {
    let (mut net, room) = three_party().await;
    let c = net.provider("c.example").clone();
    let request = net
        .client("cathy")
        .send_text(&room, [9; 16], "buy cheap watches", None)
        .expect("send");
    let SubmitOutcome::Accepted {
        frank: Some(frank),
        accepted_timestamp,
    } = c
        .client_submit(&room, &request)
        .await
        .expect("submit")
        .outcome
    else {
        panic!("a franked acceptance expected");
    };
    net.pump(&room).await;
    let content = net.clients["bob"]
        .events
        .iter()
        .find_map(|e| match e {
            ClientEvent::Message { content, .. } => Some(content.clone()),
            _ => None,
        })
        .expect("bob got the message");
    let bob = net.client("bob").user();
    let cathy = net.client("cathy").user();
    let report = AbuseReport {
        reporting_user: OptionalIdentifierUri(Some(bob.clone().into())),
        alleged_abuser_uri: cathy.clone().into(),
        reason_code: AbuseType(1),
        note: Utf8String::new("spam").expect("note"),
        messages: vec![AbusiveMessage {
            message_content: content.to_cbor().into(),
            frank,
            accepted_timestamp,
        }],
        abuse_extensions: Default::default(),
    };
    let body = report.encode().expect("encode");
    let a = net.provider("a.example").clone();
    assert!(
        a.store
            .abuse_reports(room.as_str(), 10)
            .await
            .expect("reports")
            .is_empty()
    );
    let b = net.provider("b.example").clone();
    let r = b
        .client
        .post(
            &domain("a.example"),
            Endpoint::ReportAbuse,
            &room.to_url_path(),
            body.clone(),
        )
        .await
        .expect("reportAbuse");
    assert_eq!(
        r.status.as_u16(),
        201,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let stored = a
        .store
        .abuse_reports(room.as_str(), 10)
        .await
        .expect("reports");
    assert_eq!(stored.len(), 1);
    let s = &stored[0];
    assert_eq!(s.reporter_domain, "b.example");
    assert_eq!(s.reporting_user.as_deref(), Some(bob.as_str()));
    assert_eq!(s.alleged_abuser, cathy.as_str());
    assert_eq!(s.reason_code, 1);
    assert_eq!(s.report, body, "the report is kept as received");
    // Acknowledged means durable: the report is still there after the hub restarts.
    drop(a);
    net.stop_node("a.example").await;
    net.start_node("a.example").await;
    let a = net.provider("a.example").clone();
    assert_eq!(
        a.store
            .abuse_reports(room.as_str(), 10)
            .await
            .expect("reports"),
        stored
    );
    // A refused report (its timestamp edited, so the frank does not confirm) stores nothing.
    let mut forged = report.clone();
    forged.messages[0].accepted_timestamp += 1;
    let r = b
        .client
        .post(
            &domain("a.example"),
            Endpoint::ReportAbuse,
            &room.to_url_path(),
            forged.encode().expect("encode"),
        )
        .await
        .expect("reportAbuse");
    assert_eq!(r.status.as_u16(), 400);
    assert_eq!(
        a.store
            .abuse_reports(room.as_str(), 10)
            .await
            .expect("reports")
            .len(),
        1
    );
}
