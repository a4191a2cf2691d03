//! Arbitrary requests through a provider's real federation router
//! (`mimi_server::federation::routes::router`) with a real SQLite store in a temporary
//! directory, as an authenticated peer: the request carries the `PeerCertificate` extension
//! the mutual-TLS listener inserts, and the `Host` and `From` headers.
//!
//! The provider is `a.example`, built once per process. It hosts `mimi://a.example/r/clubhouse`
//! with alice (its own user) and bob (of `b.example`, whose client CA it trusts), so update,
//! submitMessage, groupInfo, keyMaterial and reportAbuse reach the room engine; it follows
//! `mimi://b.example/r/fuzz` (alice is a member there), so `/notify` from b.example reaches
//! the store. Peers have unreachable addresses: nothing leaves the process.
//!
//! Input: `data[0] % KINDS` picks the request kind (endpoint and path), `data[1] % PEERS` the
//! caller (b.example, c.example, d.example as themselves; c.example's certificate claiming
//! b.example; a.example itself). With `data[0] >= 128` the body is a valid body of that kind
//! built in this process (bob's message, bob's commit for the current epoch, ...) mutated by
//! the rest of the input, read as (offset u16, xor u8) triples; otherwise the rest is the body.
//! Nothing may panic and no answer may be a 5xx (except `502` when a relayed `/keyMaterial`
//! cannot reach the unreachable target provider).
//!
//! Seeds in `fuzz/corpus/federation/`: for every kind, the valid body as a raw body (as
//! b.example) and the template selector with no mutation. They were written by this target:
//! `MIMI_FUZZ_WRITE_CORPUS=fuzz/corpus/federation cargo +nightly fuzz run --fuzz-dir fuzz
//! federation -- -runs=1` (raw bodies are valid in structure only in another process: other
//! keys, another group).
#![no_main]

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use mimi_client::MimiClient;
use mimi_content::MimiContent;
use mimi_credential::ClientCa;
use mimi_room::policy::{PolicyState, Preset};
use mimi_server::config::{Config, ConfigFile};
use mimi_server::federation::client::FederationClient;
use mimi_server::init::{InitOptions, init};
use mimi_server::keys::ProviderKeys;
use mimi_server::listener::PeerCertificate;
use mimi_server::provider::{Provider, now_ms};
use mimi_server::tls::FederationTls;
use mimi_store::{SqliteStore, Store};
use mimi_types::id::{ClientUri, GroupUri, MimiUri, ProviderDomain, RoomUri, UserUri};
use mimi_types::wire::{
    AbuseReport, AbuseType, AbusiveMessage, ConsentEntry, ConsentOperation, FanoutMessage,
    FanoutPayload, IdentifierRequest, IdentifierUri, OptionalIdentifierUri, QueryElement,
    SearchKind, SubmitOutcome, UpdateOutcome, Utf8String, WireMessage,
};
use openmls::prelude::AppDataDictionary;
use tower::ServiceExt;

const ROOM: &str = "mimi://a.example/r/clubhouse";
const FOLLOWED: &str = "mimi://b.example/r/fuzz";

/// The request kinds: method, path (`{room}`, `{followed}` and `{tail}` replaced), and whether
/// a `502` is an acceptable answer.
const KINDS: &[(&str, &str, bool)] = &[
    ("POST", "/v1/update/{room}", false),
    ("POST", "/v1/submitMessage/{room}", false),
    ("POST", "/v1/notify/{followed}", false),
    ("POST", "/v1/groupInfo/{room}", false),
    ("POST", "/v1/keyMaterial/a.example/u/alice", false),
    ("POST", "/v1/keyMaterial/c.example/u/carol", true),
    ("POST", "/v1/reportAbuse/{room}", false),
    ("POST", "/v1/requestConsent/a.example", false),
    ("POST", "/v1/updateConsent/a.example", false),
    ("POST", "/v1/identifierQuery/a.example", false),
    ("POST", "/v1/notify/{followed}", false),
    ("GET", "/v1/proxyDownload/{tail}", false),
    ("POST", "/v1/{tail}", true),
    ("GET", "/.well-known/mimi-protocol-directory", false),
];

/// (certificate domains, `From` domain) of each caller.
const PEERS: &[(&str, &str)] = &[
    ("b.example", "b.example"),
    ("c.example", "c.example"),
    ("d.example", "d.example"),
    ("c.example", "b.example"),
    ("a.example", "a.example"),
];

struct Fixture {
    runtime: tokio::runtime::Runtime,
    provider: Arc<Provider<SqliteStore>>,
    router: Router,
    room: RoomUri,
    state: Mutex<State>,
}

/// What changes as the fuzzer gets bob's commits accepted: bob's client and the valid
/// bodies built from it.
struct State {
    bob: MimiClient,
    epoch: u64,
    templates: Vec<Vec<u8>>,
    /// Bodies that do not depend on the epoch.
    fixed: Fixed,
}

struct Fixed {
    group_info: Vec<u8>,
    key_material_alice: Vec<u8>,
    key_material_carol: Vec<u8>,
    report: Vec<u8>,
    request_consent: Vec<u8>,
    update_consent: Vec<u8>,
    identifier_query: Vec<u8>,
    notify_message: Vec<u8>,
    notify_welcome: Vec<u8>,
}

fn domain(s: &str) -> ProviderDomain {
    ProviderDomain::parse(s).expect("domain")
}

fn uri(s: &str) -> IdentifierUri {
    IdentifierUri::from(MimiUri::parse(s).expect("uri"))
}

fn now_secs() -> i64 {
    (now_ms() / 1000) as i64
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let fixture = runtime.block_on(build());
        let (provider, router, room, state) = fixture;
        let f = Fixture {
            runtime,
            provider,
            router,
            room,
            state: Mutex::new(state),
        };
        if let Ok(dir) = std::env::var("MIMI_FUZZ_WRITE_CORPUS") {
            write_corpus(&f, &PathBuf::from(dir));
        }
        f
    })
}

/// Set up provider a.example with its room, bob's client in it, and the valid bodies.
async fn build() -> (Arc<Provider<SqliteStore>>, Router, RoomUri, State) {
    let dir = std::env::temp_dir().join(format!("mimi-fuzz-federation-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // Every peer at an address that refuses connections: nothing leaves the process.
    let peers = ["b.example", "c.example", "d.example"]
        .iter()
        .map(|p| (p.to_string(), "127.0.0.1:1".to_string()))
        .collect();
    let path = init(&InitOptions {
        domain: domain("a.example"),
        dir: dir.join("a.example"),
        ca_dir: dir.join("ca"),
        federation_listen: "127.0.0.1:9".parse().expect("addr"),
        client_listen: "127.0.0.1:9".parse().expect("addr"),
        admin_listen: None,
        peers,
        database_url: None,
        now_secs: now_secs(),
    })
    .expect("init");
    // No rate limits: the fuzzer would otherwise mostly meet 429s.
    let mut file: ConfigFile =
        toml::from_str(&std::fs::read_to_string(&path).expect("read")).expect("config");
    let rates = &mut file.limits.rates;
    rates.peer_per_sec = 0;
    rates.user_per_sec = 0;
    rates.anonymous_per_sec = 0;
    rates.room_message_bytes_per_sec = 0;
    let config =
        Config::from_file(file, path.parent().expect("dir").to_path_buf()).expect("config");
    let keys = ProviderKeys::load(&config).expect("keys");
    let tls = FederationTls::load(&config).expect("tls");
    let store = SqliteStore::open(&config.database_path())
        .await
        .expect("store");
    let client = FederationClient::new(config.domain.clone(), tls.client, config.peers.clone());
    let provider = Provider::start(config, keys, store, client)
        .await
        .expect("provider");

    // b.example's and c.example's client CAs, as if fetched from them.
    let ca_b =
        ClientCa::generate(&domain("b.example"), now_secs() - 3600, 86_400 * 365).expect("ca");
    let ca_c =
        ClientCa::generate(&domain("c.example"), now_secs() - 3600, 86_400 * 365).expect("ca");
    {
        let mut trust = provider.trust.write().await;
        trust
            .add(&domain("b.example"), ca_b.cert_der())
            .expect("trust");
        trust
            .add(&domain("c.example"), ca_c.cert_der())
            .expect("trust");
    }

    // alice: a user here, with one-time and last-resort KeyPackages (claims keep working).
    let alice_user = provider
        .register_user("alice", "", "Alice")
        .await
        .expect("user");
    let signer = MimiClient::new_signer().expect("signer");
    let (alice_client, credential) = provider
        .register_client(&alice_user, "1", signer.public())
        .await
        .expect("client");
    let mut alice = MimiClient::from_parts(alice_client.clone(), alice_user, signer, credential)
        .expect("alice");
    let mut kps = alice.key_packages(3, false).expect("kps");
    kps.extend(alice.key_packages(1, true).expect("last resort"));
    provider
        .publish_key_packages(&alice_client, &kps)
        .await
        .expect("publish");

    // bob: a user of b.example.
    let bob_user = UserUri::parse("mimi://b.example/u/bob").expect("user");
    let bob_client = ClientUri::parse("mimi://b.example/d/bob/1").expect("client");
    let mut bob = MimiClient::new(bob_client.clone(), bob_user.clone(), |key| {
        Ok(ca_b
            .issue(
                &bob_client,
                &bob_user,
                key,
                now_secs() - 3600,
                now_secs() + 86_400 * 30,
            )
            .expect("issue")
            .credential)
    })
    .expect("bob");

    // alice's room; alice adds bob; bob joins with the Welcome the hub queued for b.example.
    let room = RoomUri::parse(ROOM).expect("room");
    let group = GroupUri::parse("mimi://a.example/g/clubhouse").expect("group");
    let preset = Preset::CooperativelyAdministered;
    let policy = PolicyState::new_room(preset, alice.user()).expect("policy");
    let info = alice
        .create_room(
            room.clone(),
            &group,
            provider.keys.hub.external_sender(),
            Some(provider.keys.hub.franking_agent()),
            &policy,
        )
        .expect("group");
    provider
        .create_room(
            room.clone(),
            preset.name(),
            &policy,
            &alice_client,
            info.group_info,
            info.ratchet_tree,
        )
        .await
        .expect("host");
    let bob_kps = bob.key_packages(1, false).expect("kps");
    let commit = alice
        .add_users(&room, &[(bob.user(), preset.member_role(), bob_kps)])
        .expect("commit");
    let outcome = provider
        .client_update(&room, &commit)
        .await
        .expect("update");
    assert!(matches!(outcome.outcome, UpdateOutcome::Success { .. }));
    alice.commit_accepted(&room).expect("merge");
    let rows = provider
        .store
        .outbox_due("b.example", u64::MAX, 100)
        .await
        .expect("outbox");
    let mut welcome = None;
    for row in &rows {
        let message = FanoutMessage::decode_with_limit(&row.body, 1 << 24).expect("fanout");
        if matches!(message.payload, FanoutPayload::Welcome { .. }) {
            bob.process(&room, &message).expect("bob joins");
            welcome = Some(row.body.clone());
        }
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    provider.store.outbox_done(&ids).await.expect("done");

    // alice follows a room of b.example's, so b.example's /notify reaches the store.
    provider
        .store
        .set_follower_member(FOLLOWED, alice_client.as_str(), true)
        .await
        .expect("member");

    // A franked message of bob's, accepted, for the abuse report.
    let content = MimiContent::text([7; 16], bob.user_uri().as_str(), ROOM, "report me", None);
    let request = bob.send(&room, &content).expect("send");
    let reply = provider
        .hub_submit(&domain("b.example"), &room, &request)
        .await
        .expect("submit");
    let SubmitOutcome::Accepted {
        accepted_timestamp,
        frank: Some(frank),
    } = reply.outcome
    else {
        panic!("bob's message is accepted and franked: {:?}", reply.outcome)
    };
    let report = AbuseReport {
        reporting_user: OptionalIdentifierUri(Some(uri(bob.user_uri().as_str()))),
        alleged_abuser_uri: uri(bob.user_uri().as_str()),
        reason_code: AbuseType(0),
        note: Utf8String::default(),
        messages: vec![AbusiveMessage {
            message_content: content.to_cbor().into(),
            frank,
            accepted_timestamp,
        }],
        abuse_extensions: AppDataDictionary::default(),
    };
    let notify_message = FanoutMessage {
        timestamp: now_ms(),
        payload: FanoutPayload::Application {
            message: request.app_message.clone(),
            frank: None,
        },
    };
    let consent = |operation, requester: &str, target: &str| ConsentEntry {
        operation,
        requester_uri: uri(requester),
        target_uri: uri(target),
        room_id: Some(uri(ROOM)),
        consent_extensions: AppDataDictionary::default(),
    };
    let fixed = Fixed {
        group_info: bob
            .group_info_request(&room)
            .expect("request")
            .0
            .encode()
            .expect("encode"),
        key_material_alice: bob
            .key_material_request(
                &UserUri::parse("mimi://a.example/u/alice").expect("user"),
                &room,
            )
            .expect("request")
            .encode()
            .expect("encode"),
        key_material_carol: bob
            .key_material_request(
                &UserUri::parse("mimi://c.example/u/carol").expect("user"),
                &room,
            )
            .expect("request")
            .encode()
            .expect("encode"),
        report: report.encode().expect("encode"),
        request_consent: consent(
            ConsentOperation::Request,
            "mimi://b.example/u/bob",
            "mimi://a.example/u/alice",
        )
        .encode()
        .expect("encode"),
        update_consent: consent(
            ConsentOperation::Grant {
                client_key_packages: vec![],
            },
            "mimi://a.example/u/alice",
            "mimi://b.example/u/bob",
        )
        .encode()
        .expect("encode"),
        identifier_query: IdentifierRequest {
            query_elements: vec![QueryElement {
                kind: SearchKind::Nick,
                search_value: Utf8String::new("alice").expect("value"),
            }],
            id_request_extensions: AppDataDictionary::default(),
        }
        .encode()
        .expect("encode"),
        notify_message: notify_message.encode().expect("encode"),
        notify_welcome: welcome.expect("a Welcome for bob"),
    };
    let mut state = State {
        bob,
        epoch: 0,
        templates: Vec::new(),
        fixed,
    };
    let epoch = provider
        .room(&room)
        .await
        .expect("hosted")
        .lock()
        .await
        .room
        .epoch();
    rebuild(&mut state, &room, epoch);
    let router = mimi_server::federation::routes::router(provider.clone());
    (provider, router, room, state)
}

/// The valid body of each kind for the room's current epoch (bob's message and commit are
/// built anew for it).
fn rebuild(state: &mut State, room: &RoomUri, epoch: u64) {
    let message = state
        .bob
        .send_text(room, [epoch as u8; 16], "fuzz", None)
        .expect("send")
        .encode()
        .expect("encode");
    let commit = state.bob.change_roles(room, &[]).expect("commit");
    let commit = commit.encode().expect("encode");
    let f = &state.fixed;
    state.templates = vec![
        commit,
        message,
        f.notify_message.clone(),
        f.group_info.clone(),
        f.key_material_alice.clone(),
        f.key_material_carol.clone(),
        f.report.clone(),
        f.request_consent.clone(),
        f.update_consent.clone(),
        f.identifier_query.clone(),
        f.notify_welcome.clone(),
        b"https%3A%2F%2Fassets.b.example%2Fx".to_vec(),
        b"update/a.example/r/clubhouse\0".to_vec(),
        vec![],
    ];
    state.epoch = epoch;
}

/// Percent-encode bytes for a URL path (keeping unreserved characters and `/`).
fn path_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Send one request as `peer`; its status.
fn send(f: &Fixture, method: &str, path: &str, peer: (&str, &str), body: Vec<u8>) -> u16 {
    let Ok(req) = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "a.example")
        .header("from", format!("mimi@{}", peer.1))
        .header("content-type", "application/octet-stream")
        .body(Body::from(body))
    else {
        return 400;
    };
    let mut req = req;
    req.extensions_mut().insert(PeerCertificate {
        domains: Arc::new(vec![domain(peer.0)]),
    });
    f.runtime.block_on(async {
        let response = f.router.clone().oneshot(req).await.expect("infallible");
        let status = response.status().as_u16();
        let _ = response.into_body().collect().await;
        status
    })
}

/// The path and body of request kind `kind` for the raw input `rest`.
fn raw_request(kind: usize, rest: &[u8]) -> (String, Vec<u8>) {
    let template = KINDS[kind].1;
    if template.contains("{tail}") {
        // The path tail is the input up to a NUL, the body what follows.
        let (tail, body) = match rest.iter().position(|b| *b == 0) {
            Some(i) => (&rest[..i], rest[i + 1..].to_vec()),
            None => (rest, Vec::new()),
        };
        return (template.replace("{tail}", &path_encode(tail)), body);
    }
    (fill(template), rest.to_vec())
}

fn fill(template: &str) -> String {
    template
        .replace("{room}", "a.example/r/clubhouse")
        .replace("{followed}", "b.example/r/fuzz")
}

/// The template of `kind`, mutated by (offset u16, xor u8) triples.
fn mutated(template: &[u8], mutations: &[u8]) -> Vec<u8> {
    let mut body = template.to_vec();
    if body.is_empty() {
        return body;
    }
    for m in mutations.chunks_exact(3) {
        let at = usize::from(u16::from_be_bytes([m[0], m[1]])) % body.len();
        body[at] ^= m[2];
    }
    body
}

/// Write the seed corpus: each kind's valid body raw (as b.example), and each template
/// selector unmutated.
fn write_corpus(f: &Fixture, dir: &std::path::Path) {
    std::fs::create_dir_all(dir).expect("corpus dir");
    let state = f.state.lock().expect("state");
    for (kind, template) in state.templates.iter().enumerate() {
        let raw = [vec![kind as u8, 0], template.clone()].concat();
        std::fs::write(dir.join(format!("raw-{kind:02}")), raw).expect("write");
        let seed = vec![128 + kind as u8, 0];
        std::fs::write(dir.join(format!("template-{kind:02}")), seed).expect("write");
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let [selector, who, rest @ ..] = data else {
        return;
    };
    let kind = usize::from(*selector & 0x7f) % KINDS.len();
    let peer = PEERS[usize::from(*who) % PEERS.len()];
    let (method, _, may_be_bad_gateway) = KINDS[kind];
    let status = if *selector >= 128 {
        let mut state = f.state.lock().expect("state");
        let body = mutated(&state.templates[kind], rest);
        let (path, body) = if KINDS[kind].1.contains("{tail}") {
            raw_request(kind, &body)
        } else {
            (fill(KINDS[kind].1), body)
        };
        let status = send(f, method, &path, peer, body);
        // bob's commit accepted (its unsigned parts may be mutated): move bob and the
        // templates to the new epoch.
        let epoch = f.runtime.block_on(async {
            f.provider
                .room(&f.room)
                .await
                .expect("hosted")
                .lock()
                .await
                .room
                .epoch()
        });
        if epoch != state.epoch {
            if state.bob.commit_accepted(&f.room).is_ok() {
                rebuild(&mut state, &f.room, epoch);
            } else {
                // Not bob's commit (cannot happen: only he signs for his leaf); keep going
                // with the old bodies.
                state.epoch = epoch;
            }
        }
        status
    } else {
        let (path, body) = raw_request(kind, rest);
        send(f, method, &path, peer, body)
    };
    assert!(
        status < 500 || (status == 502 && may_be_bad_gateway),
        "{method} {} as {peer:?}: status {status}",
        KINDS[kind].1
    );
});
