//! The outbox: order per destination, retries with backoff, removal, backlog.

use mimi_store::{OutboxRow, Store};

use super::*;

const B: &str = "b.example";
const C: &str = "c.example";

fn bodies(rows: &[OutboxRow]) -> Vec<String> {
    rows.iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

/// Rows come back per destination in insertion order, across rooms; `limit` caps them.
pub async fn order_per_destination<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    let (r1, r2) = (room("one"), room("two"));
    s.commit_hub_event(&event(&r1, 0, &[], &[])).await.unwrap();
    s.commit_hub_event(&event(&r2, 0, &[], &[])).await.unwrap();
    s.commit_hub_event(&event(&r1, 1, &[B, C], &[]))
        .await
        .unwrap();
    s.commit_hub_event(&event(&r2, 1, &[B], &[])).await.unwrap();
    s.commit_hub_event(&event(&r1, 2, &[B], &[])).await.unwrap();
    s.commit_hub_event(&event(&r1, 3, &[C], &[])).await.unwrap();

    let b = s.outbox_due(B, 20_000, 100).await.unwrap();
    assert_eq!(
        bodies(&b),
        vec![format!("{r1}#1"), format!("{r2}#1"), format!("{r1}#2")]
    );
    assert!(b.windows(2).all(|w| w[0].id < w[1].id));
    assert!(
        b.iter()
            .all(|r| r.destination == B && r.attempts == 0 && r.last_error.is_none())
    );
    assert_eq!((b[0].room.as_str(), b[0].seq), (r1.as_str(), 1));
    assert_eq!((b[1].room.as_str(), b[1].seq), (r2.as_str(), 1));
    assert_eq!(b[0].created_ms, 10_001);
    assert_eq!(b[0].next_attempt_ms, 10_001);
    let c = s.outbox_due(C, 20_000, 100).await.unwrap();
    assert_eq!(bodies(&c), vec![format!("{r1}#1"), format!("{r1}#3")]);
    assert_eq!(s.outbox_due(B, 20_000, 2).await.unwrap(), b[..2].to_vec());
    assert!(s.outbox_due(B, 20_000, 0).await.unwrap().is_empty());
    assert!(
        s.outbox_due("d.example", 20_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Not before it was queued.
    assert!(s.outbox_due(B, 10_000, 10).await.unwrap().is_empty());

    // Done removes exactly those rows; the queue continues behind them.
    s.outbox_done(&[b[0].id, b[1].id]).await.unwrap();
    s.outbox_done(&[b[0].id]).await.unwrap(); // again: ignored
    assert_eq!(s.outbox_due(B, 20_000, 100).await.unwrap(), b[2..].to_vec());
    assert_eq!(s.outbox_due(C, 20_000, 100).await.unwrap(), c);
}

/// A failed head holds its destination back until its next attempt; attempts and errors are
/// recorded; other destinations are not affected.
pub async fn retry_with_backoff<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    let r = room("one");
    s.commit_hub_event(&event(&r, 0, &[], &[])).await.unwrap();
    for seq in 1..=3 {
        s.commit_hub_event(&event(&r, seq, &[B, C], &[]))
            .await
            .unwrap();
    }
    let head = s.outbox_due(B, 20_000, 2).await.unwrap();
    let ids: Vec<i64> = head.iter().map(|r| r.id).collect();
    s.outbox_retry(&ids, 21_000, "connection refused")
        .await
        .unwrap();

    // Before the next attempt: nothing for B (row 3 waits behind the head), C unaffected.
    assert!(s.outbox_due(B, 20_999, 10).await.unwrap().is_empty());
    assert_eq!(s.outbox_due(C, 20_999, 10).await.unwrap().len(), 3);
    let again = s.outbox_due(B, 21_000, 10).await.unwrap();
    assert_eq!(again.len(), 3);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].next_attempt_ms, 21_000);
    assert_eq!(again[0].last_error.as_deref(), Some("connection refused"));
    assert_eq!(again[2].attempts, 0);

    s.outbox_retry(&ids, 25_000, "503").await.unwrap();
    let again = s.outbox_due(B, 25_000, 10).await.unwrap();
    assert_eq!(again[0].attempts, 2);
    assert_eq!(again[0].last_error.as_deref(), Some("503"));

    s.outbox_done(&ids).await.unwrap();
    let rest = s.outbox_due(B, 25_000, 10).await.unwrap();
    assert_eq!(bodies(&rest), vec![format!("{r}#3")]);
}

/// The backlog lists waiting destinations; waking a destination makes its queue due now.
pub async fn backlog_and_wake<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    assert!(s.outbox_backlog().await.unwrap().is_empty());
    let r = room("one");
    s.commit_hub_event(&event(&r, 0, &[], &[])).await.unwrap();
    s.commit_hub_event(&event(&r, 1, &[B, C], &[]))
        .await
        .unwrap();
    s.commit_hub_event(&event(&r, 2, &[B], &[])).await.unwrap();
    let head = s.outbox_due(B, 20_000, 1).await.unwrap();
    s.outbox_retry(&[head[0].id], 90_000, "timeout")
        .await
        .unwrap();

    let backlog = s.outbox_backlog().await.unwrap();
    assert_eq!(backlog.len(), 2);
    assert_eq!(backlog[0].destination, B);
    assert_eq!(backlog[0].rows, 2);
    assert_eq!(backlog[0].oldest_created_ms, 10_001);
    assert_eq!(backlog[0].next_attempt_ms, 90_000);
    assert_eq!(backlog[1].destination, C);
    assert_eq!(backlog[1].rows, 1);
    assert_eq!(backlog[1].next_attempt_ms, 10_001);

    // The peer contacted us: retry now.
    assert_eq!(s.outbox_wake(B, 30_000).await.unwrap(), 1);
    assert_eq!(s.outbox_due(B, 30_000, 10).await.unwrap().len(), 2);
    assert_eq!(s.outbox_backlog().await.unwrap()[0].next_attempt_ms, 30_000);

    let all: Vec<i64> = s
        .outbox_due(B, 30_000, 10)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    s.outbox_done(&all).await.unwrap();
    let backlog = s.outbox_backlog().await.unwrap();
    assert_eq!(backlog.len(), 1);
    assert_eq!(backlog[0].destination, C);
}

/// A row refused for good leaves its queue for the dead letters (with its attempts and the
/// reason) and the rows behind it become the head; other destinations are not affected.
pub async fn dead_letters_unblock_the_queue<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    let r = room("one");
    s.commit_hub_event(&event(&r, 0, &[], &[])).await.unwrap();
    for seq in 1..=3 {
        s.commit_hub_event(&event(&r, seq, &[B, C], &[]))
            .await
            .unwrap();
    }
    let head = s.outbox_due(B, 20_000, 1).await.unwrap();
    s.outbox_retry(&[head[0].id], 20_500, "HTTP 503")
        .await
        .unwrap();
    s.outbox_dead_letter(&[head[0].id, 999_999], "HTTP 403: not the hub", 21_000)
        .await
        .unwrap();
    s.outbox_dead_letter(&[head[0].id], "again", 22_000)
        .await
        .unwrap(); // already dead: ignored

    let dead = s.dead_letters(B, 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    let d = &dead[0];
    assert_eq!((d.id, d.destination.as_str()), (head[0].id, B));
    assert_eq!((d.room.as_str(), d.seq), (r.as_str(), 1));
    assert_eq!(d.body, head[0].body);
    assert_eq!(d.created_ms, head[0].created_ms);
    assert_eq!(d.attempts, 2, "the retried attempt and the refused one");
    assert_eq!(d.reason, "HTTP 403: not the hub");
    assert_eq!(d.dead_ms, 21_000);
    assert!(s.dead_letters(C, 10).await.unwrap().is_empty());
    assert!(s.dead_letters(B, 0).await.unwrap().is_empty());

    // The queue moves on at once (the dead row's backoff no longer holds it back).
    assert_eq!(
        bodies(&s.outbox_due(B, 20_000, 10).await.unwrap()),
        vec![format!("{r}#2"), format!("{r}#3")]
    );
    assert_eq!(s.outbox_due(C, 20_000, 10).await.unwrap().len(), 3);
    let backlog = s.outbox_backlog().await.unwrap();
    assert_eq!(
        backlog
            .iter()
            .map(|b| (b.destination.as_str(), b.rows))
            .collect::<Vec<_>>(),
        vec![(B, 2), (C, 3)]
    );
}
