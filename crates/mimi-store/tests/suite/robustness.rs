//! Cancelled operations and concurrent writers.

use std::future::{Future, poll_fn};
use std::task::Poll;

use mimi_store::Store;

use super::*;

/// Poll `fut` at most `polls` times, pausing briefly in between (the database works
/// meanwhile on its own threads), then drop it: whether it finished.
async fn poll_then_drop<F: Future>(fut: F, polls: u32) -> bool {
    let mut fut = std::pin::pin!(fut);
    for _ in 0..polls {
        if poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx).is_ready())).await {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_micros(20));
        tokio::task::yield_now().await;
    }
    false
}

/// Writes abandoned at random points (their futures dropped) leave the store consistent and
/// usable: every event is there whole or not at all, and the sequence continues.
pub async fn cancelled_writes_leave_no_trace<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    let r = room("clubhouse");
    let alice = client_uri("alice", 1);
    members(&s, &r, &[&alice]).await;
    s.commit_hub_event(&event(&r, 0, &[], &[])).await.unwrap();
    let mut seq = 0;
    let mut cancelled = 0;
    let mut submissions = Vec::new();
    for i in 0..300u32 {
        let e = event(&r, seq + 1, &["b.example", "c.example"], &[&alice]);
        // Every other write is a message with its submission (one round trip on SQLite).
        let mut hash = [0u8; 32];
        hash[..4].copy_from_slice(&i.to_be_bytes());
        let submission = mimi_store::HubSubmission {
            room: r.clone(),
            message_hash: hash,
            from_domain: "b.example".into(),
            sending_uri: "mimi://b.example/u/bob".into(),
            seq: seq + 1,
            response: b"accepted".to_vec(),
            accepted_ms: 1_000,
        };
        // From 0 to 99 polls: some writes never start, some stop at every stage, some finish.
        let polls = (i * 7) % 100;
        let finished = if i % 2 == 0 {
            poll_then_drop(s.commit_hub_event(&e), polls).await
        } else {
            poll_then_drop(s.commit_hub_submission(&e, &submission, 0), polls).await
        };
        if !finished {
            cancelled += 1;
        }
        let stored = s.hub_room(&r).await.unwrap().unwrap().seq;
        assert!(
            stored == seq || stored == seq + 1,
            "sequence jumped from {seq} to {stored}"
        );
        if i % 2 == 1 {
            submissions.push(hash);
        }
        seq = stored;
    }
    // Finish with a write that is not cancelled.
    s.commit_hub_event(&event(&r, seq + 1, &["b.example", "c.example"], &[&alice]))
        .await
        .unwrap();
    seq += 1;

    // One outbox row per destination and one delivery per committed event: all or nothing.
    let backlog = s.outbox_backlog().await.unwrap();
    assert_eq!(backlog.len(), 2);
    assert!(
        backlog.iter().all(|b| b.rows == seq),
        "{backlog:?} vs {seq} events ({cancelled} cancelled)"
    );
    // A remembered submission came with its event: no two share a sequence number (only one
    // event per number is stored). (A write whose future was dropped may still finish later
    // on PostgreSQL, so this is checked at the end, not after each write.)
    let mut remembered = Vec::new();
    for hash in &submissions {
        if let Some(sub) = s.hub_submission(&r, hash).await.unwrap() {
            assert!(sub.seq >= 1 && sub.seq <= seq, "{sub:?} beyond {seq}");
            remembered.push(sub.seq);
        }
    }
    let all = remembered.len();
    remembered.sort_unstable();
    remembered.dedup();
    assert_eq!(
        remembered.len(),
        all,
        "two submissions for one sequence number"
    );
    assert!(all > 0, "no submission was ever stored");
    let events = s.events_after(&alice, 0, 10_000).await.unwrap();
    assert_eq!(events.len() as u64, seq);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.cursor, i as u64 + 1);
        assert_eq!(e.body, format!("{r}#{}", i + 1).into_bytes());
    }
}

/// Writers and readers in parallel tasks: every write lands, reads never see partial
/// events.
pub async fn parallel_writers_and_readers<S: Store>(make: &impl AsyncFn() -> S) {
    let s = make().await;
    let rooms: Vec<String> = (0..4).map(|i| room(&format!("r{i}"))).collect();
    for r in &rooms {
        s.commit_hub_event(&event(r, 0, &[], &[])).await.unwrap();
    }
    let mut tasks = Vec::new();
    for (i, r) in rooms.iter().enumerate() {
        let s = s.clone();
        let r = r.clone();
        tasks.push(tokio::spawn(async move {
            let me = client_uri("reader", u32::try_from(i).unwrap());
            for seq in 1..=20 {
                s.commit_hub_event(&event(&r, seq, &["b.example"], &[&me]))
                    .await
                    .unwrap();
            }
        }));
    }
    let reader = {
        let s = s.clone();
        tokio::spawn(async move {
            for _ in 0..50 {
                for b in s.outbox_backlog().await.unwrap() {
                    assert!(b.rows <= 80);
                }
                for snapshot in s.load_hub_rooms().await.unwrap() {
                    assert!(snapshot.seq <= 20);
                }
                tokio::task::yield_now().await;
            }
        })
    };
    for t in tasks {
        t.await.unwrap();
    }
    reader.await.unwrap();
    assert_eq!(s.outbox_backlog().await.unwrap()[0].rows, 80);
    let due = s.outbox_due("b.example", u64::MAX, 1000).await.unwrap();
    assert_eq!(due.len(), 80);
    // Per room, rows are in sequence order.
    for r in &rooms {
        let seqs: Vec<u64> = due
            .iter()
            .filter(|row| &row.room == r)
            .map(|row| row.seq)
            .collect();
        assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
    }
}
