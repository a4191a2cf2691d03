//! The store suite against PostgreSQL, plus what only a shared database shows: durability
//! across a reconnect, and the store's rules holding between two pools (as between two
//! server processes) writing at once.
//!
//! `MIMI_TEST_POSTGRES_URL` names a server and a role that may create databases (e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`); each test works in fresh databases of its
//! own, dropped at its end. Without the variable every test passes without doing anything.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod suite;

use std::collections::BTreeSet;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Mutex;
use std::task::Poll;

use mimi_store::{
    HubSubmission, KeyPackageClaim, PgOptions, PgStore, Result, RoomVersion, ScratchDatabase,
    Store, StoreError, StoreWake,
};
use sqlx::{Connection, PgConnection};

const SKIP: &str = "MIMI_TEST_POSTGRES_URL not set: skipping PostgreSQL store tests";

/// Fresh databases for one test, dropped when it ends (also when it panics).
struct Databases {
    admin: String,
    created: Mutex<Vec<ScratchDatabase>>,
}

impl Databases {
    /// `None` (after saying so) when no server is configured.
    fn new() -> Option<Self> {
        match std::env::var("MIMI_TEST_POSTGRES_URL") {
            Ok(admin) if !admin.is_empty() => Some(Self {
                admin,
                created: Mutex::new(Vec::new()),
            }),
            _ => {
                eprintln!("{SKIP}");
                None
            }
        }
    }

    /// The URL of a new, empty database.
    async fn fresh_url(&self) -> String {
        let db = ScratchDatabase::create(&self.admin, "mimi_t")
            .await
            .unwrap();
        let url = db.url().to_string();
        self.created.lock().unwrap().push(db);
        url
    }

    /// A store on a new, empty database.
    async fn fresh(&self) -> PgStore {
        PgStore::connect(&self.fresh_url().await).await.unwrap()
    }
}

/// One test per suite function.
macro_rules! suite {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(databases) = crate::Databases::new() else {
                        return;
                    };
                    crate::suite::$module::$name(&async || databases.fresh().await).await;
                }
            )*
        }
    };
}

suite::every_test!(suite);

// ---- PostgreSQL only ---------------------------------------------------------------------

/// Two pools on one database, as two server processes would have.
async fn two_handles(databases: &Databases) -> (PgStore, PgStore) {
    let url = databases.fresh_url().await;
    let options = PgOptions {
        max_connections: 8,
        ..PgOptions::default()
    };
    // Both migrate at once, as processes starting together do.
    let (a, b) = tokio::join!(
        PgStore::connect_with(&url, &options),
        PgStore::connect_with(&url, &options)
    );
    (a.unwrap(), b.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_keeps_everything() {
    let Some(databases) = Databases::new() else {
        return;
    };
    let url = databases.fresh_url().await;
    let s = PgStore::connect(&url).await.unwrap();
    suite::durability::populate(&s).await;
    s.close().await;
    assert!(matches!(s.ping().await, Err(StoreError::Closed)));
    assert!(matches!(
        s.create_user(&suite::new_user("late")).await,
        Err(StoreError::Closed)
    ));

    // Connecting runs the migrations again: a no-op on a current schema.
    let s = PgStore::connect(&url).await.unwrap();
    suite::durability::verify_then_use(&s).await;
    s.close().await;
    let s = PgStore::connect(&url).await.unwrap();
    assert_eq!(
        s.hub_room(&suite::room("clubhouse"))
            .await
            .unwrap()
            .unwrap()
            .seq,
        3
    );
    s.close().await;
}

/// A database whose schema is newer than this build's is refused, not written.
#[tokio::test]
async fn a_newer_schema_is_refused() {
    let Some(databases) = Databases::new() else {
        return;
    };
    let url = databases.fresh_url().await;
    PgStore::connect(&url).await.unwrap().close().await;
    let mut c = PgConnection::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
         execution_time) VALUES ($1, 'from the future', TRUE, '\\x00', 0)",
    )
    .bind(mimi_store::POSTGRES_SCHEMA_VERSION + 1)
    .execute(&mut c)
    .await
    .unwrap();
    c.close().await.unwrap();
    let err = PgStore::connect(&url).await.unwrap_err();
    assert!(matches!(err, StoreError::Migration(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_without_close_keeps_committed_writes() {
    let Some(databases) = Databases::new() else {
        return;
    };
    let url = databases.fresh_url().await;
    {
        let s = PgStore::connect(&url).await.unwrap();
        suite::durability::populate(&s).await;
    }
    let s = PgStore::connect(&url).await.unwrap();
    suite::durability::verify(&s).await;
}

/// Writers of one sequence number on two handles: exactly one wins, every round, also for
/// the creation of the room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_one_winner_per_sequence_number() {
    let Some(databases) = Databases::new() else {
        return;
    };
    let (a, b) = two_handles(&databases).await;
    let r = suite::room("contested");
    let alice = suite::client_uri("alice", 1);
    suite::members(&a, &r, &[&alice]).await;
    for seq in 0..10u64 {
        let tasks: Vec<_> = (0..12)
            .map(|i| {
                let s = if i % 2 == 0 { a.clone() } else { b.clone() };
                let mut e = suite::event(&r, seq, &["b.example"], &[&alice]);
                e.kind = format!("writer-{i}");
                tokio::spawn(async move { s.commit_hub_event(&e).await })
            })
            .collect();
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => won += 1,
                Err(e) => assert!(e.is_conflict(), "{e:?}"),
            }
        }
        assert_eq!(won, 1, "sequence number {seq}");
    }
    assert_eq!(a.hub_room(&r).await.unwrap().unwrap().seq, 9);
    // One outbox row and one delivery per sequence number.
    let due = b.outbox_due("b.example", u64::MAX, 100).await.unwrap();
    assert_eq!(
        due.iter().map(|row| row.seq).collect::<Vec<_>>(),
        (0..10).collect::<Vec<_>>()
    );
    let events = b.events_after(&alice, 0, 100).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.cursor).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
}

/// Many claimers on two handles: each one-time KeyPackage is handed out exactly once; the
/// rest find the stock exhausted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_hand_out_each_key_package_once() {
    let Some(databases) = Databases::new() else {
        return;
    };
    let (a, b) = two_handles(&databases).await;
    suite::user_with_clients(&a, "alice", 2).await;
    const NOW: u64 = 1_700_000_000;
    const STOCK: usize = 25;
    const CLAIMERS: usize = 40;
    for n in 1..=2 {
        let stock: Vec<_> = (0..STOCK)
            .map(|i| suite::kp(&format!("{n}-{i}"), false, NOW + 100))
            .collect();
        a.add_key_packages(&suite::client_uri("alice", n), &stock)
            .await
            .unwrap();
    }
    let tasks: Vec<_> = (0..CLAIMERS)
        .map(|i| {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                let accept = |_: &[u8]| true;
                s.claim_key_packages(&suite::user_uri("alice"), NOW, &accept)
                    .await
            })
        })
        .collect();
    let mut handed_out = Vec::new();
    let mut exhausted = 0;
    for t in tasks {
        let claims = t.await.unwrap().unwrap();
        assert_eq!(claims.len(), 2);
        for claim in claims {
            match claim.outcome {
                KeyPackageClaim::Claimed(kp) => handed_out.push(kp.kp_ref),
                KeyPackageClaim::Exhausted => exhausted += 1,
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(handed_out.len(), 2 * STOCK);
    assert_eq!(exhausted, 2 * (CLAIMERS - STOCK));
    let distinct: BTreeSet<_> = handed_out.iter().collect();
    assert_eq!(
        distinct.len(),
        2 * STOCK,
        "a KeyPackage was handed out twice"
    );
    for n in 1..=2 {
        let c = suite::client_uri("alice", n);
        assert_eq!(b.key_package_count(&c).await.unwrap(), 0);
        // Handed out means spent: a re-upload is not offered again.
        assert_eq!(
            b.add_key_packages(&c, &[suite::kp(&format!("{n}-0"), false, NOW + 100)])
                .await
                .unwrap(),
            0
        );
    }
}

/// Transactions on two handles deliver to the same clients at once (each to several
/// clients): every client's cursors are 1, 2, 3, ... without gaps or repeats, and a reader
/// never sees a cursor before the ones below it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deliveries_keep_cursors_dense() {
    let Some(databases) = Databases::new() else {
        return;
    };
    let (a, b) = two_handles(&databases).await;
    let clients: Vec<String> = (1..=3).map(|n| suite::client_uri("alice", n)).collect();
    let all: Vec<&str> = clients.iter().map(String::as_str).collect();
    const ROOMS: usize = 4;
    const MESSAGES: u64 = 12;
    let followed: Vec<String> = (0..ROOMS)
        .map(|i| format!("mimi://z.example/r/f{i}"))
        .collect();
    let hosted: Vec<String> = (0..ROOMS).map(|i| suite::room(&format!("h{i}"))).collect();
    for r in followed.iter().chain(&hosted) {
        suite::members(&a, r, &all).await;
    }
    for r in &hosted {
        a.commit_hub_event(&suite::event(r, 0, &[], &[]))
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for i in 0..ROOMS {
        let (s, t) = if i % 2 == 0 {
            (a.clone(), b.clone())
        } else {
            (b.clone(), a.clone())
        };
        let (f, h) = (followed[i].clone(), hosted[i].clone());
        let all: Vec<String> = clients.clone();
        tasks.push(tokio::spawn(async move {
            for m in 0..MESSAGES {
                let hash = u8::try_from(m).unwrap();
                let mut n = suite::notify(&f, hash, &format!("{f}/{m}"), &[]);
                n.message_hash[1] = 1;
                if m % 3 == 0 {
                    // A batch of two.
                    let mut second = n.clone();
                    second.message_hash[1] = 2;
                    second.body = format!("{f}/{m}b").into_bytes();
                    s.record_notify_batch(&[n, second]).await.unwrap();
                } else {
                    s.record_notify(&n).await.unwrap();
                }
            }
        }));
        tasks.push(tokio::spawn(async move {
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            for seq in 1..=MESSAGES {
                t.commit_hub_event(&suite::event(&h, seq, &[], &all))
                    .await
                    .unwrap();
            }
        }));
    }
    let reader = {
        let s = b.clone();
        let c = clients[0].clone();
        tokio::spawn(async move {
            for _ in 0..40 {
                let seen = s.events_after(&c, 0, 10_000).await.unwrap();
                for (i, e) in seen.iter().enumerate() {
                    assert_eq!(e.cursor, i as u64 + 1, "a reader saw a gap");
                }
                tokio::task::yield_now().await;
            }
        })
    };
    for t in tasks {
        t.await.unwrap();
    }
    reader.await.unwrap();
    let per_room = MESSAGES + MESSAGES.div_ceil(3);
    let total = ROOMS as u64 * (per_room + MESSAGES);
    for c in &clients {
        let events = a.events_after(c, 0, 10_000).await.unwrap();
        assert_eq!(
            events.iter().map(|e| e.cursor).collect::<Vec<_>>(),
            (1..=total).collect::<Vec<_>>(),
            "{c}"
        );
        let bodies: BTreeSet<_> = events.iter().map(|e| e.body.clone()).collect();
        assert_eq!(
            bodies.len() as u64,
            total,
            "{c}: an event was delivered twice"
        );
        assert_eq!(a.latest_cursor(c).await.unwrap(), total);
        // Each room's events are in the room's order within the stream.
        for h in &hosted {
            let seqs: Vec<_> = events
                .iter()
                .filter(|e| &e.room == h)
                .map(|e| e.body.clone())
                .collect();
            let expected: Vec<_> = (1..=MESSAGES)
                .map(|seq| format!("{h}#{seq}").into_bytes())
                .collect();
            assert_eq!(seqs, expected);
        }
    }
}

/// The same fanout message arriving many times at once on two handles is recorded and
/// delivered once; so is a Welcome, which uses its route once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicate_notifies_recorded_once() {
    let Some(databases) = Databases::new() else {
        return;
    };
    let (a, b) = two_handles(&databases).await;
    let r = suite::room("followed");
    let (bob1, bob2) = (suite::client_uri("bob", 1), suite::client_uri("bob", 2));
    a.set_follower_member(&r, &bob1, true).await.unwrap();
    a.record_welcome_route(b"ref-2", &bob2).await.unwrap();
    a.record_welcome_route(b"ref-2", &bob2).await.unwrap();
    const COPIES: usize = 16;
    let tasks: Vec<_> = (0..COPIES)
        .flat_map(|i| {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            let message = suite::notify(&r, 1, "m1", &[]);
            let welcome = suite::notify(&r, 2, "welcome", &[b"ref-2"]);
            let t = s.clone();
            [
                tokio::spawn(async move { s.record_notify(&message).await }),
                tokio::spawn(async move { t.record_notify(&welcome).await }),
            ]
        })
        .collect();
    let mut recorded = Vec::new();
    for t in tasks {
        if let Some(to) = t.await.unwrap().unwrap() {
            recorded.push(to);
        }
    }
    recorded.sort();
    assert_eq!(recorded, vec![vec![bob1.clone()], vec![bob2.clone()]]);
    assert_eq!(a.events_after(&bob1, 0, 100).await.unwrap().len(), 1);
    assert_eq!(a.events_after(&bob2, 0, 100).await.unwrap().len(), 1);
    assert_eq!(
        b.notify_duplicates().await.unwrap(),
        vec![("z.example".to_string(), 2 * COPIES as u64 - 2)]
    );
    // The Welcome used one of the route's two uses.
    assert_eq!(
        a.record_notify(&suite::notify(&r, 3, "welcome again", &[b"ref-2"]))
            .await
            .unwrap(),
        Some(vec![bob2.clone()])
    );
    assert_eq!(
        a.record_notify(&suite::notify(&r, 4, "welcome again", &[b"ref-2"]))
            .await
            .unwrap(),
        Some(vec![])
    );
}

type Write = Pin<Box<dyn Future<Output = Result<Vec<String>>> + Send>>;

/// Poll every write once, in the given order, then run them all to the end: their results,
/// in the given order.
async fn poll_once_then_finish(writes: Vec<Write>) -> Vec<Result<Vec<String>>> {
    let mut running = Vec::new();
    for mut w in writes {
        match poll_fn(|cx| Poll::Ready(w.as_mut().poll(cx))).await {
            Poll::Ready(r) => running.push(tokio::spawn(async move { r })),
            Poll::Pending => running.push(tokio::spawn(w)),
        }
    }
    let mut results = Vec::new();
    for r in running {
        results.push(r.await.unwrap());
    }
    results
}

/// A room's writes are applied in the order their futures were first polled (the
/// `commit_hub_submission` contract, decision 0154), not in the order they happen to reach
/// the database: a hub may queue a room's next message before the previous one is durable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rooms_writes_apply_in_polling_order() {
    let Some(databases) = Databases::new() else {
        return;
    };
    let s = databases.fresh().await;
    let r = suite::room("pipelined");
    let alice = suite::client_uri("alice", 1);
    suite::members(&s, &r, &[&alice]).await;
    let write = |seq: u64| -> Write {
        let s = s.clone();
        let e = suite::event(&r, seq, &["b.example"], &[&alice]);
        if seq.is_multiple_of(2) {
            let submission = HubSubmission {
                room: r.clone(),
                message_hash: [u8::try_from(seq).unwrap(); 32],
                from_domain: "b.example".into(),
                sending_uri: "mimi://b.example/u/bob".into(),
                seq,
                response: vec![],
                accepted_ms: 1,
            };
            Box::pin(async move { s.commit_hub_submission(&e, &submission, 0).await })
        } else {
            Box::pin(async move { s.commit_hub_event(&e).await })
        }
    };

    // Creation and 40 events, each polled once before any is done: all go through, in order.
    let results = poll_once_then_finish((0..=40).map(write).collect()).await;
    for (seq, r) in results.into_iter().enumerate() {
        assert_eq!(r.unwrap(), vec![alice.clone()], "event {seq}");
    }
    assert_eq!(s.hub_room(&r).await.unwrap().unwrap().seq, 40);
    let events = s.events_after(&alice, 0, 100).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.body.clone()).collect::<Vec<_>>(),
        (0..=40)
            .map(|seq| format!("{r}#{seq}").into_bytes())
            .collect::<Vec<_>>()
    );

    // Polled in reverse order, they are applied in reverse order: only the next one fits.
    let results = poll_once_then_finish((41..=50).rev().map(write).collect()).await;
    let fitted: Vec<bool> = results.iter().map(Result::is_ok).collect();
    assert_eq!(fitted, [vec![false; 9], vec![true]].concat());
    for r in results.into_iter().filter_map(Result::err) {
        assert!(r.is_conflict(), "{r:?}");
    }
    assert_eq!(s.hub_room(&r).await.unwrap().unwrap().seq, 41);
}

#[tokio::test]
async fn futures_are_send() {
    fn send<T: Send>(_: &T) {}
    let Some(databases) = Databases::new() else {
        return;
    };
    let s = databases.fresh().await;
    let accept = |_: &[u8]| true;
    send(&s.claim_key_packages("u", 0, &accept));
    send(&s.commit_hub_event(&suite::event("r", 0, &[], &[])));
    send(&s.record_notify(&suite::notify("r", 0, "", &[])));
    send(&s.outbox_due("d", 0, 1));
}

/// Values PostgreSQL cannot hold in text (a NUL) are refused as invalid input, and change
/// nothing.
#[tokio::test]
async fn unstorable_text_is_invalid() {
    let Some(databases) = Databases::new() else {
        return;
    };
    let s = databases.fresh().await;
    let mut user = suite::new_user("nul");
    user.display_name = "a\0b".into();
    let err = s.create_user(&user).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert_eq!(s.counts().await.unwrap().users, 0);
}

/// One instance at a time holds a destination's lease: another gets it once the holder gave
/// it up or let it expire (docs/decisions/0160).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_holder_per_outbox_lease() {
    let Some(databases) = Databases::new() else {
        return;
    };
    let (a, b) = two_handles(&databases).await;
    assert!(a.shared() && b.shared());
    let lease = |s: &PgStore, holder: &'static str, now: u64, until: u64| {
        let s = s.clone();
        async move {
            s.outbox_lease("b.example", holder, now, until)
                .await
                .unwrap()
        }
    };
    assert!(lease(&a, "one", 1_000, 16_000).await, "free: taken");
    assert!(!lease(&b, "two", 2_000, 17_000).await, "held by one");
    assert!(
        lease(&a, "one", 3_000, 18_000).await,
        "renewed by its holder"
    );
    assert!(!lease(&b, "two", 17_999, 32_999).await, "held until 18,000");
    assert!(
        lease(&b, "two", 18_000, 33_000).await,
        "expired: taken over"
    );
    assert!(!lease(&a, "one", 19_000, 34_000).await, "now two's");
    assert!(lease(&b, "two", 20_000, 20_000).await, "given up");
    assert!(lease(&a, "one", 20_001, 35_000).await, "free again");
    // Leases are per destination.
    assert!(
        b.outbox_lease("c.example", "two", 20_002, 35_000)
            .await
            .unwrap()
    );
}

/// A commit through one handle reaches the other's listener once committed: the clients it
/// delivered to and the destinations it queued rows for (docs/decisions/0160).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_wake_the_other_instances() {
    let Some(databases) = Databases::new() else {
        return;
    };
    let (a, b) = two_handles(&databases).await;
    let mut wakes = a.wakes().await.unwrap().expect("PostgreSQL listens");
    let r = suite::room("woken");
    let alice = suite::client_uri("alice", 1);
    suite::members(&b, &r, &[&alice]).await;
    b.commit_hub_event(&suite::event(&r, 0, &["b.example", "c.example"], &[&alice]))
        .await
        .unwrap();
    let (mut clients, mut destinations) = (Vec::new(), Vec::new());
    while clients.is_empty() || destinations.is_empty() {
        match tokio::time::timeout(std::time::Duration::from_secs(10), wakes.recv())
            .await
            .expect("woken within 10 s")
            .expect("listening")
        {
            StoreWake::Clients(c) => clients.extend(c),
            StoreWake::Destinations(d) => destinations.extend(d),
            StoreWake::All => {}
        }
    }
    assert_eq!(clients, vec![alice.clone()]);
    assert_eq!(destinations, ["b.example", "c.example"]);
    let version = |seq, state_seq| Some(RoomVersion { seq, state_seq });
    assert_eq!(b.hub_room_version(&r).await.unwrap(), version(0, 0));
    b.commit_hub_event(&suite::event(&r, 1, &["b.example"], &[&alice]))
        .await
        .unwrap();
    assert_eq!(
        b.hub_room_version(&r).await.unwrap(),
        version(1, 0),
        "a message"
    );
    let mut update = suite::event(&r, 2, &["b.example"], &[]);
    update.snapshot = Some(suite::snapshot(&r, 2));
    b.commit_hub_event(&update).await.unwrap();
    assert_eq!(
        b.hub_room_version(&r).await.unwrap(),
        version(2, 2),
        "a state change"
    );
    assert_eq!(
        b.hub_room_version(&suite::room("none")).await.unwrap(),
        None
    );
}

/// The listening connection is lost (here: terminated by the server): the listener says
/// `All` (notifications may have been missed meanwhile), reconnects and hears commits again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_listening_connection_wakes_everything_and_listens_again() {
    let Some(databases) = Databases::new() else {
        return;
    };
    let url = databases.fresh_url().await;
    let a = PgStore::connect(&url).await.unwrap();
    let b = PgStore::connect(&url).await.unwrap();
    let mut wakes = a.wakes().await.unwrap().expect("PostgreSQL listens");
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    let ended: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query ILIKE 'LISTEN%') AS t",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(ended, 1, "one listening connection");
    let next = async |wakes: &mut tokio::sync::mpsc::Receiver<StoreWake>| {
        tokio::time::timeout(std::time::Duration::from_secs(10), wakes.recv())
            .await
            .expect("within 10 s")
            .expect("still listening")
    };
    assert_eq!(next(&mut wakes).await, StoreWake::All);
    let r = suite::room("again");
    b.commit_hub_event(&suite::event(&r, 0, &["b.example"], &[]))
        .await
        .unwrap();
    loop {
        match next(&mut wakes).await {
            StoreWake::Destinations(d) => {
                assert_eq!(d, ["b.example"]);
                break;
            }
            // Another `All` while reconnecting is allowed; nothing else is expected.
            StoreWake::All => {}
            other => panic!("{other:?}"),
        }
    }
}
