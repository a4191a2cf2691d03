//! Delivery under transport faults (issue 7; figures in docs/reliability.md): three
//! providers in process (hub a.example with alice, followers b.example with bob and
//! c.example with cathy), real mutual TLS and SQLite, with a fault proxy (`mimi_faults`) on
//! the path that a scenario breaks.
//!
//! Every scenario ends with the same two checks: each client got each message exactly once
//! (counted on its stream, by MLS message, before decryption: duplicates seen by clients = 0,
//! and every text decrypted once, in the hub's order), and the room has one state everywhere
//! ([`support::assert_converged`]). Each prints a `FIGURES` line for the document.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mimi_faults::{Direction, FaultProxy};
use mimi_store::Store;
use mimi_types::id::RoomUri;
use mimi_types::wire::SubmitOutcome;
use support::{
    Net, Received, assert_converged, assert_exactly_once, drained, encrypt, eventually,
    expectations, metric, send, three_party,
};

/// Messages accepted by the hub while the follower is away (the figure).
const WHILE_DOWN: usize = 1000;
/// Rounds of each connection cut.
const CUT_ROUNDS: usize = 20;
/// Bound on every wait for deliveries (the hub's backoff is capped at 60 s).
const CONVERGE: Duration = Duration::from_secs(120);

const NAMES: [&str; 3] = support::THREE;

/// Every client reads and processes its stream.
async fn receive_all(net: &mut Net, room: &RoomUri, got: &mut BTreeMap<&'static str, Received>) {
    net.receive_many(&NAMES, room, got).await;
}

/// Redeliveries a provider acknowledged without delivering them again (from `hub`).
async fn suppressed(net: &Net, d: &str, hub: &str) -> u64 {
    metric(
        net.provider(d),
        &format!("mimi_notify_duplicates_total{{peer=\"{hub}\"}}"),
    )
    .await
}

/// Warm up: one message from cathy delivered everywhere (connections and directories are
/// established, every client is past the room's setup).
async fn warm_up(
    net: &mut Net,
    room: &RoomUri,
    log: &mut Vec<(&'static str, String)>,
    got: &mut BTreeMap<&'static str, Received>,
) {
    send(net, "cathy", room, 0, "warm-up").await;
    log.push(("cathy", "warm-up".into()));
    drained(net, CONVERGE).await;
    receive_all(net, room, got).await;
}

/// (a) b.example is unreachable (its proxy is down: connections refused) while the hub
/// accepts 1,000 messages from cathy; then it is back. The hub kept them all; bob gets each
/// once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_down_for_1000_messages_then_back() {
    let (mut net, room) = three_party().await;
    let to_b = net.proxy_between("a.example", "b.example").await;
    let (mut log, mut got) = (Vec::new(), BTreeMap::new());
    warm_up(&mut net, &room, &mut log, &mut got).await;

    to_b.down().await.expect("down");
    let started = Instant::now();
    for i in 1..=WHILE_DOWN {
        let text = format!("while b is down #{i:04}");
        send(&mut net, "cathy", &room, i, &text).await;
        log.push(("cathy", text));
    }
    let accepting = started.elapsed();
    let a = net.provider("a.example").clone();
    let backlog = a.store.outbox_backlog().await.expect("backlog");
    let queued = backlog
        .iter()
        .find(|b| b.destination == "b.example")
        .map_or(0, |b| b.rows);
    assert_eq!(
        queued, WHILE_DOWN as u64,
        "the hub keeps b's messages: {backlog:?}"
    );

    to_b.up().await.expect("up");
    let back = Instant::now();
    drained(&net, CONVERGE).await;
    let converged = back.elapsed();
    let processing = Instant::now();
    receive_all(&mut net, &room, &mut got).await;
    let processed = processing.elapsed();
    assert_exactly_once(&got, &expectations(&log));
    assert_converged(&net, &room, &NAMES).await;
    let retries = metric(
        &a,
        "mimi_notify_attempts_total{peer=\"b.example\",outcome=\"Retry\"}",
    )
    .await;
    println!(
        "FIGURES a: sent {} accepted {} delivered bob {} alice {} duplicates-seen {} \
         suppressed-at-b {} notify-retries {} accept-ms {} converge-ms {} clients-ms {}",
        WHILE_DOWN + 1,
        log.len(),
        got["bob"].texts.len(),
        got["alice"].texts.len(),
        got.values().map(|r| r.duplicates).sum::<usize>(),
        suppressed(&net, "b.example", "a.example").await,
        retries,
        accepting.as_millis(),
        converged.as_millis(),
        processed.as_millis(),
    );
}

/// (c) `/notify` cut mid-response: b stored the message, the hub never saw the 201, retries,
/// and b recognizes the redelivery (counted); then cut mid-request: b never saw it, the
/// hub's retry delivers it. Bob gets each message once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_cut_mid_response_and_mid_request() {
    let (mut net, room) = three_party().await;
    let to_b = net.proxy_between("a.example", "b.example").await;
    let (mut log, mut got) = (Vec::new(), BTreeMap::new());
    warm_up(&mut net, &room, &mut log, &mut got).await;
    let started = Instant::now();
    let mut n = 0;
    for (direction, what) in [
        (Direction::ToClient, "response"),
        (Direction::ToServer, "request"),
    ] {
        for _ in 0..CUT_ROUNDS {
            n += 1;
            // The hub's connection to b is open and idle: its next bytes in `direction` are
            // the next /notify (request or response), and they are cut.
            assert!(
                cut_next(&to_b, direction).await >= 1,
                "an open connection to cut"
            );
            let text = format!("notify {what} cut #{n:02}");
            send(&mut net, "cathy", &room, n, &text).await;
            log.push(("cathy", text));
            drained(&net, CONVERGE).await;
        }
    }
    let elapsed = started.elapsed();
    receive_all(&mut net, &room, &mut got).await;
    assert_exactly_once(&got, &expectations(&log));
    assert_converged(&net, &room, &NAMES).await;
    let dedupe = suppressed(&net, "b.example", "a.example").await;
    assert_eq!(
        dedupe, CUT_ROUNDS as u64,
        "b recognized the redelivery of each cut response, and only those"
    );
    println!(
        "FIGURES c-notify: sent {} delivered bob {} cuts {} duplicates-seen {} \
         suppressed-at-b {} converge-ms {}",
        log.len(),
        got["bob"].texts.len(),
        to_b.stats().cut,
        got.values().map(|r| r.duplicates).sum::<usize>(),
        dedupe,
        elapsed.as_millis(),
    );
}

/// Arm a cut of the next bytes in `direction` on every open connection of `proxy`, once the
/// hub's connection (re-established after the previous cut) is open. How many were armed.
async fn cut_next(proxy: &FaultProxy, direction: Direction) -> usize {
    eventually("a connection through the proxy", CONVERGE, || async {
        proxy.stats().open >= 1
    })
    .await;
    proxy.cut_open(direction, 0)
}

/// (c) `/submitMessage` cut between b and the hub: mid-response (the hub accepted bob's
/// message, b's request failed) and mid-request (the hub never saw it). Bob's client retries
/// the same message until it gets an answer, and once more after it; the hub accepts each
/// message once and answers every retry with the first answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_cut_mid_response_and_mid_request_then_retried() {
    let (mut net, room) = three_party().await;
    let to_a = net.proxy_between("b.example", "a.example").await;
    let (mut log, mut got) = (Vec::new(), BTreeMap::new());
    warm_up(&mut net, &room, &mut log, &mut got).await;
    send(&mut net, "bob", &room, 1, "bob warms up").await;
    log.push(("bob", "bob warms up".into()));
    drained(&net, CONVERGE).await;
    let a = net.provider("a.example").clone();
    let b = net.provider("b.example").clone();
    let seq = async || {
        a.store
            .hub_room(room.as_str())
            .await
            .expect("room")
            .expect("hosted")
            .seq
    };
    let first_seq = seq().await;
    let (mut failed_first, mut retries) = (0, 0);
    let started = Instant::now();
    let mut n = 1;
    for (direction, what) in [
        (Direction::ToClient, "response"),
        (Direction::ToServer, "request"),
    ] {
        for _ in 0..CUT_ROUNDS {
            n += 1;
            assert!(
                cut_next(&to_a, direction).await >= 1,
                "an open connection to cut"
            );
            let text = format!("submit {what} cut #{n:02}");
            let request = encrypt(&mut net, "bob", &room, n, &text);
            let mut answer = b.client_submit(&room, &request).await.ok();
            if answer.is_none() {
                failed_first += 1;
            }
            // The client does not know whether the hub accepted: it sends the same bytes
            // again until it gets an answer (bounded).
            for _ in 0..20 {
                if answer.is_some() {
                    break;
                }
                retries += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
                answer = b.client_submit(&room, &request).await.ok();
            }
            let answer = answer.expect("an answer after retrying");
            assert!(
                matches!(answer.outcome, SubmitOutcome::Accepted { .. }),
                "{answer:?}"
            );
            // And once more, as a client that lost this answer too would: the same answer.
            retries += 1;
            let again = b.client_submit(&room, &request).await.expect("resubmit");
            assert_eq!(again, answer, "a resubmission gets the first answer");
            log.push(("bob", text));
        }
    }
    drained(&net, CONVERGE).await;
    let elapsed = started.elapsed();
    assert_eq!(
        seq().await - first_seq,
        2 * CUT_ROUNDS as u64,
        "the hub accepted each message once"
    );
    assert!(failed_first >= 1, "the cuts failed submissions");
    receive_all(&mut net, &room, &mut got).await;
    assert_exactly_once(&got, &expectations(&log));
    assert_converged(&net, &room, &NAMES).await;
    println!(
        "FIGURES c-submit: sent {} accepted {} first-attempts-failed {} resubmissions {} \
         duplicates-seen {} delivered alice {} cathy {} converge-ms {}",
        2 * CUT_ROUNDS,
        seq().await - first_seq,
        failed_first,
        retries,
        got.values().map(|r| r.duplicates).sum::<usize>(),
        got["alice"].texts.len(),
        got["cathy"].texts.len(),
        elapsed.as_millis(),
    );
}

/// (d) A permanent refusal does not block the queue: b refuses `/notify` bodies over 16 KiB
/// (413). Three messages queue for b while it is away, the middle one too large; when it is
/// back, the refused batch is resent one by one, the large message goes to the dead letters
/// (counted in `mimi_notify_dead_letters_total{peer}`, kept in storage), and the messages
/// around it and after it are delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanently_refused_notify_is_dead_lettered_and_the_queue_moves_on() {
    let (mut net, room) = three_party().await;
    net.stop_node("b.example").await;
    net.configure("b.example", |f| {
        f.limits.max_body_bytes = 8 << 10;
        f.limits.max_update_bytes = 16 << 10;
    });
    net.start_node("b.example").await;
    let to_b = net.proxy_between("a.example", "b.example").await;
    let (mut log, mut got) = (Vec::new(), BTreeMap::new());
    warm_up(&mut net, &room, &mut log, &mut got).await;

    to_b.down().await.expect("down");
    let big = "x".repeat(40 << 10);
    send(&mut net, "cathy", &room, 1, "before the large one").await;
    send(&mut net, "cathy", &room, 2, &big).await;
    send(&mut net, "cathy", &room, 3, "after the large one").await;
    to_b.up().await.expect("up");
    drained(&net, CONVERGE).await;
    send(&mut net, "cathy", &room, 4, "later").await;
    drained(&net, CONVERGE).await;

    let a = net.provider("a.example").clone();
    let dead = a
        .store
        .dead_letters("b.example", 10)
        .await
        .expect("dead letters");
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert!(dead[0].reason.contains("413"), "{}", dead[0].reason);
    assert!(dead[0].body.len() > 40 << 10);
    assert_eq!(a.metrics.notify_dead_letters("b.example"), 1);
    assert_eq!(
        metric(&a, "mimi_notify_dead_letters_total{peer=\"b.example\"}").await,
        1
    );
    assert!(
        a.store
            .dead_letters("c.example", 10)
            .await
            .expect("dead")
            .is_empty()
    );

    receive_all(&mut net, &room, &mut got).await;
    let all = [
        "before the large one",
        big.as_str(),
        "after the large one",
        "later",
    ];
    let mut expected = expectations(&log);
    for name in ["alice", "bob"] {
        let list = expected.get_mut(name).expect("name");
        list.extend(all.iter().map(|t| t.to_string()));
    }
    // Bob never gets the refused message; the ones behind it were not held back.
    expected
        .get_mut("bob")
        .expect("bob")
        .retain(|t| t.as_str() != big);
    assert_exactly_once(&got, &expected);
    assert_converged(&net, &room, &NAMES).await;
    println!(
        "FIGURES d: sent 5 delivered bob {} alice {} dead-letters {} duplicates-seen {}",
        got["bob"].texts.len(),
        got["alice"].texts.len(),
        dead.len(),
        got.values().map(|r| r.duplicates).sum::<usize>(),
    );
}
