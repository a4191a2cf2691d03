//! Hub validation time for one commit in rooms of 10, 1,000 and 10,000 members, and the hub's
//! memory per room. Real OpenMLS clients with X.509 credentials; the measured part is only
//! `HubRoom::handle_update` (OpenMLS PublicGroup validation, credential checks, policy, the
//! GroupInfo check and the merge).

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use mimi_client::MimiClient;
use mimi_credential::{ClientCa, TrustStore};
use mimi_room::hub::{HubContext, HubIdentity, HubLimits, HubRoom, HubSigner};
use mimi_room::policy::{PolicyState, Preset};
use mimi_types::id::{ClientUri, GroupUri, ProviderDomain, RoomUri, UserUri};
use mimi_types::wire::{UpdateOutcome, UpdateRequest};
use openmls::prelude::BasicCredential;

const NOW_MS: u64 = 1_795_420_800_000;

struct Setup {
    hub: HubIdentity,
    trust: TrustStore,
    room: HubRoom,
    alice: MimiClient,
    room_uri: RoomUri,
}

fn client(ca: &ClientCa, d: &str, user: &str) -> MimiClient {
    let now = (NOW_MS / 1000) as i64;
    let u = UserUri::parse(&format!("mimi://{d}/u/{user}")).expect("user");
    let c = ClientUri::parse(&format!("mimi://{d}/d/{user}/1")).expect("client");
    MimiClient::new(c.clone(), u.clone(), |key| {
        Ok(ca
            .issue(&c, &u, key, now - 60, now + 86_400)
            .map_err(|e| mimi_client::ClientError::Invalid(e.to_string()))?
            .credential)
    })
    .expect("client")
}

fn setup(members: usize) -> Setup {
    let a = ProviderDomain::parse("a.example").expect("a");
    let b = ProviderDomain::parse("b.example").expect("b");
    let now = (NOW_MS / 1000) as i64;
    let ca_a = ClientCa::generate(&a, now - 3600, 86_400 * 365).expect("ca");
    let ca_b = ClientCa::generate(&b, now - 3600, 86_400 * 365).expect("ca");
    let mut trust = TrustStore::new();
    trust.add(&a, ca_a.cert_der()).expect("trust");
    trust.add(&b, ca_b.cert_der()).expect("trust");
    let hub = HubIdentity {
        domain: a,
        signer: HubSigner::from_private(&[9; 32]).expect("hub signer"),
        credential: BasicCredential::new(b"a.example".to_vec()).into(),
        franking_key: [7; 32],
    };
    let room_uri = RoomUri::parse("mimi://a.example/r/bench").expect("room");
    let mut alice = client(&ca_a, "a.example", "alice");
    let state =
        PolicyState::new_room(Preset::CooperativelyAdministered, alice.user()).expect("policy");
    let member_role = Preset::CooperativelyAdministered.member_role();
    let info = alice
        .create_room(
            room_uri.clone(),
            &GroupUri::parse("mimi://a.example/g/bench").expect("g"),
            hub.external_sender(),
            None,
            &state,
        )
        .expect("create");
    let ctx = HubContext {
        hub: &hub,
        trust: &trust,
        now_ms: NOW_MS,
        limits: HubLimits::default(),
    };
    let mut room = HubRoom::create(
        &ctx,
        room_uri.clone(),
        &state,
        info.group_info,
        info.ratchet_tree,
    )
    .expect("hub room");
    let mut additions = Vec::new();
    for i in 1..members {
        let c = client(&ca_b, "b.example", &format!("user{i}"));
        let kp = c.key_packages(1, false).expect("kp");
        additions.push((c.user(), member_role, kp));
    }
    if !additions.is_empty() {
        let request = alice.add_users(&room_uri, &additions).expect("add");
        let reply = room
            .handle_update(&ctx, &ctx.hub.domain, &request)
            .expect("update");
        assert!(
            matches!(reply.response.outcome, UpdateOutcome::Success { .. }),
            "{:?}",
            reply.response
        );
        alice.commit_accepted(&room_uri).expect("merge");
    }
    assert_eq!(room.member_count(), members);
    Setup {
        hub,
        trust,
        room,
        alice,
        room_uri,
    }
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

fn commit_validation(c: &mut Criterion) {
    let mut group = c.benchmark_group("hub_commit_validation");
    group.sample_size(10);
    // MIMI_BENCH_MEMBERS=1000,10000 picks sizes (e.g. for profiling one of them).
    let sizes: Vec<usize> = std::env::var("MIMI_BENCH_MEMBERS")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10, 1_000, 10_000]);
    for members in sizes {
        let before = rss_bytes();
        let mut s = setup(members);
        let after = rss_bytes();
        eprintln!(
            "room of {members}: RSS grew {:.1} MiB while building it (clients + hub), hub tree {} KiB",
            (after.saturating_sub(before)) as f64 / 1048576.0,
            s.room
                .ratchet_tree()
                .map(|t| t.as_bytes().len() / 1024)
                .unwrap_or(0)
        );
        // The hub's share alone: rebuild the room from its GroupInfo and tree, as after a
        // restart, and measure what that copy costs.
        {
            let ctx = HubContext {
                hub: &s.hub,
                trust: &s.trust,
                now_ms: NOW_MS,
                limits: HubLimits::default(),
            };
            let (gi, tree) = (
                s.room.group_info().clone(),
                s.room.ratchet_tree().expect("tree"),
            );
            let before = rss_bytes();
            let copies: Vec<HubRoom> = (0..4)
                .map(|_| {
                    HubRoom::restore(&ctx, s.room_uri.clone(), gi.clone(), tree.clone(), 0)
                        .expect("restore")
                })
                .collect();
            let per_room = rss_bytes().saturating_sub(before) as f64 / copies.len() as f64;
            eprintln!(
                "hub memory, room of {members}: {:.2} MiB per room, {:.1} KiB per member",
                per_room / 1048576.0,
                per_room / 1024.0 / members as f64
            );
        }
        group.bench_function(format!("{members}_members"), |bench| {
            bench.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let request: UpdateRequest =
                        s.alice.change_roles(&s.room_uri, &[]).expect("commit");
                    let ctx = HubContext {
                        hub: &s.hub,
                        trust: &s.trust,
                        now_ms: NOW_MS,
                        limits: HubLimits::default(),
                    };
                    let start = Instant::now();
                    let reply = s
                        .room
                        .handle_update(&ctx, &s.hub.domain, &request)
                        .expect("update");
                    total += start.elapsed();
                    assert!(matches!(
                        reply.response.outcome,
                        UpdateOutcome::Success { .. }
                    ));
                    s.alice.commit_accepted(&s.room_uri).expect("merge");
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, commit_validation);
criterion_main!(benches);
