//! The store test suite, generic over [`Store`]: every backend runs all of it.
//!
//! Each test takes `make`, which returns a fresh, empty store (an async closure), so a
//! backend's harness only says how to make one. Durability across a reopen is split in
//! [`durability::populate`] and [`durability::verify`]: a backend's harness writes with one
//! handle, closes it, opens another on the same database and verifies.

pub mod accounts;
pub mod directory;
pub mod durability;
pub mod follower;
pub mod hub;
pub mod keys;
pub mod outbox;
pub mod robustness;
pub mod streams;

/// Calls `$m!` with every test of the suite (`module::name, ...`): a backend's harness
/// defines `$m` to make one test per entry, so every backend runs all of them.
macro_rules! every_test {
    ($m:ident) => {
        $m! {
            accounts::users_are_unique,
            accounts::tokens_expire,
            accounts::clients_belong_to_users,
            accounts::counts,
            keys::one_time_oldest_first,
            keys::last_resort_reused,
            keys::expired_never_returned,
            keys::uploads_are_idempotent,
            keys::claimed_once_under_concurrency,
            keys::welcome_routes,
            keys::purge_expired,
            hub::rooms_created_and_updated,
            hub::sequence_enforced_atomically,
            hub::invalid_events_rejected,
            hub::concurrent_commits_one_wins,
            hub::submissions_remembered_with_their_event,
            hub::messages_with_local_fanout,
            follower::notify_dedupe,
            follower::notify_batch,
            follower::follower_membership,
            follower::welcome_delivery,
            follower::user_room_count,
            outbox::order_per_destination,
            outbox::retry_with_backoff,
            outbox::backlog_and_wake,
            outbox::dead_letters_unblock_the_queue,
            streams::resume_without_gaps,
            streams::trim_keeps_cursors,
            streams::events_stored_once,
            directory::consent_records,
            directory::consent_requests,
            directory::identifier_search,
            directory::name_search,
            directory::peer_cas,
            directory::abuse_reports,
            durability::populate_and_verify,
            robustness::cancelled_writes_leave_no_trace,
            robustness::parallel_writers_and_readers,
        }
    };
}
pub(crate) use every_test;

use mimi_store::{
    ClientRecord, FollowerNotify, HubEvent, HubRoomSnapshot, NewOutbox, NewUser, Store, StoreError,
    StoredKeyPackage,
};

/// The URI of a test user.
pub fn user_uri(name: &str) -> String {
    format!("mimi://a.example/u/{name}")
}

/// A new account named `name`.
pub fn new_user(name: &str) -> NewUser {
    NewUser {
        username: name.to_string(),
        user_uri: user_uri(name),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
        display_name: name.to_string(),
        created_ms: 1_000,
    }
}

/// The URI of client `n` of a test user.
pub fn client_uri(name: &str, n: u32) -> String {
    format!("mimi://a.example/d/{name}/{n}")
}

/// Client `n` of a test user.
pub fn client(name: &str, n: u32) -> ClientRecord {
    ClientRecord {
        client_uri: client_uri(name, n),
        user_uri: user_uri(name),
        credential: format!("cert-{name}-{n}").into_bytes(),
        signature_key: format!("sig-{name}-{n}").into_bytes(),
        created_ms: 1_000 + u64::from(n),
    }
}

/// Create a user with `clients` clients.
pub async fn user_with_clients<S: Store>(s: &S, name: &str, clients: u32) {
    s.create_user(&new_user(name)).await.unwrap();
    for n in 1..=clients {
        s.add_client(&client(name, n)).await.unwrap();
    }
}

/// A KeyPackage named `tag`.
pub fn kp(tag: &str, last_resort: bool, not_after_s: u64) -> StoredKeyPackage {
    StoredKeyPackage {
        kp_ref: format!("ref-{tag}").into_bytes(),
        bytes: format!("kp-{tag}").into_bytes(),
        last_resort,
        not_after_s,
    }
}

/// A test room URI.
pub fn room(name: &str) -> String {
    format!("mimi://a.example/r/{name}")
}

/// A room state at `seq`.
pub fn snapshot(room: &str, seq: u64) -> HubRoomSnapshot {
    HubRoomSnapshot {
        room: room.to_string(),
        group_info: format!("group-info-{seq}").into_bytes(),
        ratchet_tree: format!("tree-{seq}").into_bytes(),
        seq,
        policy_preset: "private".into(),
        pending: Vec::new(),
    }
}

/// A fanout message for `room` from z.example, identified by `hash`; a Welcome for `refs`.
pub fn notify(room: &str, hash: u8, body: &str, refs: &[&[u8]]) -> FollowerNotify {
    FollowerNotify {
        room: room.to_string(),
        hub: "z.example".into(),
        message_hash: [hash; 32],
        kind: "fanout".into(),
        body: body.as_bytes().to_vec(),
        created_ms: 5_000,
        welcome_refs: refs.iter().map(|r| r.to_vec()).collect(),
    }
}

/// A hub event: `seq` 0 creates the room (with its state); one outbox row per destination,
/// bodies naming the sequence number. If `local` names the clients expected to receive it, the
/// event carries one local fanout message, which reaches the room's local members (the test
/// makes them members first, with [`members`]).
pub fn event(room: &str, seq: u64, destinations: &[&str], local: &[&str]) -> HubEvent {
    let body = format!("{room}#{seq}");
    let mut hash = [0u8; 32];
    for chunk in hash.chunks_mut(8) {
        chunk.copy_from_slice(&seq.to_be_bytes());
    }
    HubEvent {
        room: room.to_string(),
        seq,
        kind: if seq == 0 { "create" } else { "message" }.into(),
        created_ms: 10_000u64.saturating_add(seq),
        snapshot: (seq == 0).then(|| snapshot(room, 0)),
        outbox: destinations
            .iter()
            .map(|d| NewOutbox {
                destination: d.to_string(),
                room: room.to_string(),
                body: body.clone().into_bytes(),
                created_ms: 10_000u64.saturating_add(seq),
            })
            .collect(),
        local: if local.is_empty() {
            vec![]
        } else {
            vec![FollowerNotify {
                room: room.to_string(),
                hub: "a.example".into(),
                message_hash: hash,
                kind: "message".into(),
                body: body.into_bytes(),
                created_ms: 5_000,
                welcome_refs: vec![],
            }]
        },
    }
}

/// Make `clients` local members of `room`.
pub async fn members<S: Store>(s: &S, room: &str, clients: &[&str]) {
    for c in clients {
        s.set_follower_member(room, c, true).await.unwrap();
    }
}

/// Assert a result is the given error variant.
#[track_caller]
pub fn assert_err<T: std::fmt::Debug>(r: Result<T, StoreError>, want: fn(&StoreError) -> bool) {
    match r {
        Err(e) if want(&e) => {}
        other => panic!("unexpected result: {other:?}"),
    }
}

/// Is it a conflict?
pub fn conflict(e: &StoreError) -> bool {
    matches!(e, StoreError::Conflict(_))
}

/// Is it "not found"?
pub fn not_found(e: &StoreError) -> bool {
    matches!(e, StoreError::NotFound(_))
}

/// Is it "invalid input"?
pub fn invalid(e: &StoreError) -> bool {
    matches!(e, StoreError::Invalid(_))
}
