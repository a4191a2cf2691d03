//! A distribution point that lies, over real HTTP on loopback, against the real
//! [`DiscoveryClient`]: it drops, substitutes, replays and forges records, tags the client
//! with another OPRF key, or announces a key other than the pinned one. None of it makes the
//! client accept a false mapping (docs/discovery.md §6.4).
//!
//! The liar holds the OPRF key, so it can compute the index *and sealing key* of any SII it
//! guesses (docs/discovery-lookup.md §10): its substitutions open. What it cannot do is sign.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mimi_client::{ClientError, DiscoveryClient};
use mimi_discovery::{
    Authority, LookupRejection, MappingAssertion, Permissions, RevocationSet, Signer, Sii,
    SsiEntry, TrustSet,
};
use mimi_lookup::rand_core::OsRng;
use mimi_lookup::{BlindedQuery, DpKey, LookupResponse, SealedRecord, encode_key_info};
use mimi_types::id::{ProviderDomain, UserUri};

const NOW: u64 = 1_780_000_000;
const BOB: &str = "+12025550101";
const ALICE: &str = "+12025550102";

/// What the liar answers to a lookup.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Lie {
    /// The truth: bob's current assertion.
    Honest,
    /// Nothing.
    Drop,
    /// Alice's genuine assertion, sealed under bob's index with bob's key.
    Substitute,
    /// Bob's superseded assertion next to the current one.
    ReplayBeside,
    /// Only bob's superseded assertion (a rollback).
    ReplayAlone,
    /// An assertion mapping bob's number to mallory, signed by a key nobody trusts.
    Forge,
    /// Bob's current assertion with one byte changed, resealed so that it opens.
    Tamper,
    /// Random bytes in the shape of a sealed record.
    Garbage,
}

struct Liar {
    announced: DpKey,
    evaluates_with: DpKey,
    lie: Mutex<Lie>,
    objects: BTreeMap<&'static str, Vec<u8>>,
}

fn domain(s: &str) -> ProviderDomain {
    ProviderDomain::parse(s).unwrap()
}

fn b_signer() -> Signer {
    Signer::from_secret(domain("b.example"), &[3; 32])
}

fn sign(signer: &Signer, serial: u64, sii: &str, user: &str) -> Vec<u8> {
    let assertion = MappingAssertion::new(
        signer.authority().clone(),
        serial,
        Sii::parse(sii).unwrap(),
        NOW - 100,
        NOW + 86_400,
        vec![SsiEntry::new(UserUri::parse(user).unwrap(), 0)],
    )
    .unwrap();
    signer.sign_assertion(&assertion).unwrap()
}

fn trust() -> TrustSet {
    let b = b_signer();
    let mut t = TrustSet::new();
    t.insert(
        Authority::new(
            domain("b.example"),
            Permissions::provider(domain("b.example")),
        )
        .with_key(b.kid().clone(), b.verifying_key())
        .unwrap(),
    );
    t
}

impl Liar {
    fn new(announced: DpKey, evaluates_with: DpKey) -> Self {
        let b = b_signer();
        let evil = Signer::from_secret(domain("b.example"), &[9; 32]);
        let mut objects = BTreeMap::new();
        objects.insert("old", sign(&b, 1, BOB, "mimi://b.example/u/bob"));
        objects.insert("current", sign(&b, 2, BOB, "mimi://b.example/u/bob"));
        objects.insert("alice", sign(&b, 7, ALICE, "mimi://b.example/u/alice"));
        objects.insert("forged", sign(&evil, 3, BOB, "mimi://b.example/u/mallory"));
        let mut tampered = objects["current"].clone();
        let at = tampered.len() - 70;
        tampered[at] ^= 0x01;
        objects.insert("tampered", tampered);
        Self {
            announced,
            evaluates_with,
            lie: Mutex::new(Lie::Honest),
            objects,
        }
    }

    /// The records it serves for bob's index, sealed with bob's key (it can compute it).
    fn records(&self) -> Vec<SealedRecord> {
        let bob = Sii::parse(BOB).unwrap().to_connection_id();
        let secret = self.announced.direct_secret(&bob).unwrap();
        let seal = |name: &str| secret.seal(&self.objects[name], &mut OsRng).unwrap();
        match *self.lie.lock().unwrap() {
            Lie::Honest => vec![seal("current")],
            Lie::Drop => vec![],
            Lie::Substitute => vec![seal("alice")],
            Lie::ReplayBeside => vec![seal("old"), seal("current")],
            Lie::ReplayAlone => vec![seal("old")],
            Lie::Forge => vec![seal("forged")],
            Lie::Tamper => vec![seal("tampered")],
            Lie::Garbage => {
                let mut nonce = [0u8; 12];
                rand_core::RngCore::fill_bytes(&mut OsRng, &mut nonce);
                vec![SealedRecord::new(nonce, vec![0x5a; 200]).unwrap()]
            }
        }
    }
}

async fn key(State(liar): State<Arc<Liar>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/cbor")],
        encode_key_info(liar.announced.public()),
    )
        .into_response()
}

/// Both messages start `[1, key_id, ...]`: 0x83 0x01 0x48, then the 8 bytes of the id.
const KEY_ID_AT: std::ops::Range<usize> = 3..11;

async fn evaluate(State(liar): State<Arc<Liar>>, body: Bytes) -> Response {
    // A tagging DP evaluates with a key of its own, whatever key the client named, and
    // presents the answer under the key id the client expects.
    let mut query = body.to_vec();
    query[KEY_ID_AT].copy_from_slice(liar.evaluates_with.public().id().as_bytes());
    let Ok(query) = BlindedQuery::decode(&query) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let evaluation = mimi_lookup::evaluate(&liar.evaluates_with, &query, &mut OsRng).unwrap();
    let mut bytes = evaluation.encode();
    bytes[KEY_ID_AT].copy_from_slice(body.get(KEY_ID_AT).unwrap_or(&[0; 8]));
    ([(header::CONTENT_TYPE, "application/cbor")], bytes).into_response()
}

async fn lookup(State(liar): State<Arc<Liar>>) -> Response {
    let answer = LookupResponse::new(liar.records()).unwrap().encode();
    ([(header::CONTENT_TYPE, "application/cbor")], answer).into_response()
}

async fn start(liar: Arc<Liar>) -> String {
    let router = Router::new()
        .route("/discovery/v1/key", get(key))
        .route("/discovery/v1/evaluate", post(evaluate))
        .route("/discovery/v1/lookup", post(lookup))
        .with_state(liar);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

fn users(found: &mimi_client::Found) -> Vec<String> {
    found
        .outcome
        .ssis()
        .iter()
        .map(|e| e.ssi().to_string())
        .collect()
}

#[tokio::test]
async fn no_lie_makes_the_client_accept_a_false_mapping() {
    let key = DpKey::generate(&mut OsRng).unwrap();
    let liar = Arc::new(Liar::new(key.clone(), key.clone()));
    let url = start(liar.clone()).await;
    let client = DiscoveryClient::new(&url)
        .unwrap()
        .pin_key(key.public().clone());
    let bob = Sii::parse(BOB).unwrap();
    let trust = trust();
    let none = RevocationSet::new();
    let look = |floor: BTreeMap<ProviderDomain, u64>| {
        let (client, bob, trust, none) = (client.clone(), bob.clone(), trust.clone(), none.clone());
        async move {
            client
                .lookup(&bob, &trust, &none, &floor, NOW)
                .await
                .unwrap()
        }
    };
    let set = |lie| *liar.lie.lock().unwrap() = lie;

    let honest = look(BTreeMap::new()).await;
    assert_eq!(users(&honest), ["mimi://b.example/u/bob"]);
    assert_eq!(honest.outcome.newest_serials[&domain("b.example")], 2);

    for lie in [
        Lie::Drop,
        Lie::Substitute,
        Lie::Forge,
        Lie::Tamper,
        Lie::Garbage,
    ] {
        set(lie);
        let found = look(BTreeMap::new()).await;
        assert!(
            found.outcome.mappings.is_empty(),
            "{lie:?}: {:?}",
            users(&found)
        );
        assert!(found.best().is_none(), "{lie:?}");
        match lie {
            Lie::Drop => assert!(found.outcome.rejected.is_empty() && found.unopened == 0),
            Lie::Substitute => assert_eq!(
                found.outcome.rejected[0].reason,
                LookupRejection::OtherSii,
                "{lie:?}"
            ),
            Lie::Forge | Lie::Tamper => assert!(
                matches!(
                    found.outcome.rejected[0].reason,
                    LookupRejection::Invalid(_)
                ),
                "{lie:?}: {:?}",
                found.outcome.rejected
            ),
            Lie::Garbage => assert_eq!(found.unopened, 1),
            _ => unreachable!(),
        }
    }

    // A replayed older assertion beside the current one loses to it.
    set(Lie::ReplayBeside);
    let found = look(BTreeMap::new()).await;
    assert_eq!(users(&found), ["mimi://b.example/u/bob"]);
    assert_eq!(found.outcome.mappings[0].assertion().serial(), 2);
    assert_eq!(
        found.outcome.rejected[0].reason,
        LookupRejection::Superseded { serial: 2 }
    );

    // Served alone, it is refused by a client that remembers having seen serial 2.
    set(Lie::ReplayAlone);
    let found = look(honest.outcome.newest_serials.clone()).await;
    assert!(found.outcome.mappings.is_empty());
    assert_eq!(found.outcome.stale, [domain("b.example")]);
}

#[tokio::test]
async fn a_dp_cannot_tag_the_client_with_another_key() {
    let announced = DpKey::generate(&mut OsRng).unwrap();
    let other = DpKey::generate(&mut OsRng).unwrap();
    let bob = Sii::parse(BOB).unwrap();

    // It announces one key and evaluates with another: the proof fails.
    let url = start(Arc::new(Liar::new(announced.clone(), other.clone()))).await;
    let err = DiscoveryClient::new(&url)
        .unwrap()
        .evaluate(std::slice::from_ref(&bob))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Discovery(_)), "{err}");

    // It announces a key other than the one the client pinned.
    let url = start(Arc::new(Liar::new(other.clone(), other.clone()))).await;
    let pinned = DiscoveryClient::new(&url)
        .unwrap()
        .pin_key(announced.public().clone());
    let err = pinned.key().await.unwrap_err();
    assert!(err.to_string().contains("not the pinned"), "{err}");
    // And a pinned client never blinds under the DP's key: the evaluation does not verify.
    let err = pinned
        .evaluate(std::slice::from_ref(&bob))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Discovery(_)), "{err}");
}
