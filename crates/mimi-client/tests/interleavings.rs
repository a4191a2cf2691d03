//! Property: random interleavings of adds, removes, leaves, messages and concurrent commits
//! from several providers keep every member's MLS state and the hub's public state in
//! agreement (same epoch, same room state, same member count), and every message reaches
//! every member exactly once.

mod support;

use mimi_types::id::MimiUri;
use mimi_types::wire::{SubmitOutcome, UpdateOutcome};
use proptest::prelude::*;
use support::{World, kps, world};

const USERS: [(&str, &str); 4] = [
    ("bob", "b.example"),
    ("cathy", "c.example"),
    ("dave", "b.example"),
    ("erin", "c.example"),
];

#[derive(Debug, Clone)]
enum Op {
    /// A member (by position among current members) adds a user (by index in USERS).
    Add(usize, usize),
    /// A member removes another member.
    Remove(usize, usize),
    /// A member leaves (proposals), then another commits them.
    Leave(usize, usize),
    /// A member sends a message.
    Send(usize),
    /// Two members commit concurrently for the same epoch.
    Race(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<usize>(), 0..USERS.len()).prop_map(|(a, u)| Op::Add(a, u)),
        any::<(usize, usize)>().prop_map(|(a, b)| Op::Remove(a, b)),
        any::<(usize, usize)>().prop_map(|(a, b)| Op::Leave(a, b)),
        any::<usize>().prop_map(Op::Send),
        any::<(usize, usize)>().prop_map(|(a, b)| Op::Race(a, b)),
    ]
}

fn members(w: &World) -> Vec<String> {
    let room = w.room_uri.clone();
    w.clients
        .iter()
        .filter(|(_, c)| c.rooms().any(|r| r == &room))
        .map(|(n, _)| n.clone())
        .collect()
}

fn domain_of(w: &World, name: &str) -> String {
    w.clients[name].client_uri().domain().as_str().to_string()
}

fn accepted(o: &UpdateOutcome) -> bool {
    matches!(o, UpdateOutcome::Success { .. })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, max_shrink_iters: 20, ..ProptestConfig::default() })]

    #[test]
    fn state_stays_in_agreement(ops in prop::collection::vec(op(), 1..10)) {
        let (mut w, member) = world();
        for (user, d) in USERS.iter().skip(2) {
            w.add_client(user, user, "d1", d);
        }
        let room = w.room_uri.clone();
        let mut sent: Vec<String> = Vec::new();
        let mut salt = 0u8;
        for op in ops {
            let m = members(&w);
            let pick = |i: usize| m[i % m.len()].clone();
            match op {
                Op::Add(a, u) => {
                    let (user, d) = USERS[u];
                    let user_uri: MimiUri = w.clients[user].user();
                    if m.iter().any(|n| n == user) { continue; }
                    let adder = pick(a);
                    let response = w.fetch_key_material(&adder, user, d);
                    let kps = kps(&response);
                    if kps.is_empty() {
                        let fresh = w.clients[user].key_packages(3, false).expect("kps");
                        let uri = w.clients[user].client_uri().clone();
                        let crypto = openmls_rust_crypto::OpenMlsRustCrypto::default();
                        w.providers.get_mut(d).expect("p").store.publish(openmls::prelude::OpenMlsProvider::crypto(&crypto), user_uri.clone(), uri, fresh).expect("publish");
                        continue;
                    }
                    let request = w.client(&adder).add_users(&room, &[(user_uri, member, kps)]).expect("commit");
                    let from = domain_of(&w, &adder);
                    if !accepted(&w.update(&from, request)) {
                        w.client(&adder).commit_rejected(&room).expect("drop");
                    }
                }
                Op::Remove(a, b) => {
                    let (remover, target) = (pick(a), pick(b));
                    let user = w.clients[&target].user();
                    if w.clients[&remover].user() == user || target == "alice" { continue; }
                    let request = w.client(&remover).remove_users(&room, &[user]).expect("commit");
                    let from = domain_of(&w, &remover);
                    if !accepted(&w.update(&from, request)) {
                        w.client(&remover).commit_rejected(&room).expect("drop");
                    }
                }
                Op::Leave(a, b) => {
                    let (leaver, committer) = (pick(a), pick(b));
                    if w.clients[&leaver].user() == w.clients[&committer].user() || leaver == "alice" { continue; }
                    let request = w.client(&leaver).leave(&room).expect("leave");
                    let from = domain_of(&w, &leaver);
                    prop_assert!(accepted(&w.update(&from, request)));
                    let commit = w.client(&committer).commit_pending(&room).expect("commit");
                    let from = domain_of(&w, &committer);
                    prop_assert!(accepted(&w.update(&from, commit)));
                }
                Op::Send(a) => {
                    let sender = pick(a);
                    salt = salt.wrapping_add(1);
                    let text = format!("message {salt} from {sender}");
                    let request = w.client(&sender).send_text(&room, [salt; 16], &text, None).expect("send");
                    let from = domain_of(&w, &sender);
                    let ok = matches!(w.submit(&from, request), SubmitOutcome::Accepted { .. });
                    prop_assert!(ok);
                    sent.push(text);
                }
                Op::Race(a, b) => {
                    let (x, y) = (pick(a), pick(b));
                    if x == y { continue; }
                    let cx = w.client(&x).change_roles(&room, &[]).expect("commit");
                    let cy = w.client(&y).change_roles(&room, &[]).expect("commit");
                    let (fx, fy) = (domain_of(&w, &x), domain_of(&w, &y));
                    prop_assert!(accepted(&w.update(&fx, cx)));
                    let lost = matches!(w.update(&fy, cy), UpdateOutcome::WrongEpoch { .. });
                    prop_assert!(lost);
                }
            }
            let names = members(&w);
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            w.assert_in_sync(&refs);
        }
        // Every member saw each message sent while it was a member at most once.
        for name in members(&w) {
            let texts: Vec<String> = w.texts(&name).into_iter().map(|t| t.1).collect();
            let mut dedup = texts.clone();
            dedup.sort();
            dedup.dedup();
            prop_assert_eq!(dedup.len(), texts.len(), "duplicates at {}", name);
            for t in &texts { prop_assert!(sent.contains(t)); }
        }
    }
}
