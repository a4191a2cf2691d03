//! Lookups through Oblivious HTTP (docs/discovery.md §12): the DP's gateway answers an
//! encapsulated lookup exactly like a direct one and refuses everything else; the relay
//! forwards only encapsulated bodies, adds nothing that identifies the client, limits each
//! client, and never reflects what it cannot read.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Cursor;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use bhttp::{Message, Mode};
use common::*;
use mimi_dp::relay::{RelayState, serve_relay};
use mimi_dp::{DpOptions, OHTTP_REQUEST, OHTTP_RESPONSE};
use mimi_lookup::{LookupRequest, LookupResponse, RatePolicy};

/// A Binary HTTP request, encapsulated to `keys`; the pending response decapsulator.
fn encapsulate(
    keys: &[u8],
    method: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (Vec<u8>, ohttp::ClientResponse) {
    let mut inner = Message::request(
        method.as_bytes().to_vec(),
        b"https".to_vec(),
        b"dp.example".to_vec(),
        path.as_bytes().to_vec(),
    );
    inner.put_header("content-type", content_type);
    inner.write_content(body);
    let mut plain = Vec::new();
    inner.write_bhttp(Mode::KnownLength, &mut plain).unwrap();
    ohttp::ClientRequest::from_encoded_config_list(keys)
        .unwrap()
        .encapsulate(&plain)
        .unwrap()
}

/// The inner (status, content) of an encapsulated answer.
fn open(pending: ohttp::ClientResponse, answer: &[u8]) -> (u16, Vec<u8>) {
    let plain = pending.decapsulate(answer).unwrap();
    let msg = Message::read_bhttp(&mut Cursor::new(&plain[..])).unwrap();
    (
        msg.control().status().unwrap().code(),
        msg.content().to_vec(),
    )
}

#[tokio::test]
async fn the_gateway_answers_encapsulated_lookups_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let state = open_with(dir.path(), &DpOptions::default());
    let token = default_token(&state);
    let bob = secret(dir.path(), "+12025550101");
    let record = sealed(&bob, "bob's assertion");
    store(&state, &token, &bob, &record).await;

    let (status, headers, keys) =
        call(&state, "GET", "/discovery/v1/ohttp-keys", &[], vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/ohttp-keys");
    // The configuration is stable: derived from the secret in the data directory.
    assert_eq!(keys, state.gateway().key_configs());

    let lookup = LookupRequest {
        index: *bob.index(),
    }
    .encode();
    let (sealed_req, pending) = encapsulate(
        &keys,
        "POST",
        "/discovery/v1/lookup",
        "application/cbor",
        lookup.clone(),
    );
    let (status, headers, answer) = call(
        &state,
        "POST",
        "/discovery/v1/gateway",
        &[("content-type", OHTTP_REQUEST)],
        sealed_req,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], OHTTP_RESPONSE);
    let (inner, content) = open(pending, &answer);
    assert_eq!(inner, 200);
    let (_, _, direct) = call(&state, "POST", "/discovery/v1/lookup", &[CT], lookup).await;
    assert_eq!(content, direct, "the same answer as a direct lookup");
    let response = LookupResponse::decode(&content).unwrap();
    assert_eq!(
        bob.open(&response.records()[0]).unwrap(),
        b"bob's assertion"
    );

    // Inside the encapsulation: only POST /discovery/v1/lookup with a CBOR body.
    for (method, path, ct, body, want) in [
        (
            "POST",
            "/discovery/v1/upload",
            "application/cbor",
            vec![1],
            404,
        ),
        (
            "POST",
            "/discovery/v1/evaluate",
            "application/cbor",
            vec![1],
            404,
        ),
        (
            "GET",
            "/discovery/v1/lookup",
            "application/cbor",
            vec![],
            405,
        ),
        ("POST", "/discovery/v1/lookup", "text/plain", vec![1], 415),
        (
            "POST",
            "/discovery/v1/lookup",
            "application/cbor",
            vec![0xff],
            400,
        ),
    ] {
        let (req, pending) = encapsulate(&keys, method, path, ct, body);
        let (status, _, answer) = call(
            &state,
            "POST",
            "/discovery/v1/gateway",
            &[("content-type", OHTTP_REQUEST)],
            req,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{method} {path}");
        assert_eq!(open(pending, &answer).0, want, "{method} {path} {ct}");
    }

    // Outside: the wrong media type, a damaged or foreign encapsulation.
    let (req, _) = encapsulate(
        &keys,
        "POST",
        "/discovery/v1/lookup",
        "application/cbor",
        vec![],
    );
    let (status, _, _) = call(&state, "POST", "/discovery/v1/gateway", &[CT], req.clone()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let mut damaged = req;
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    let foreign_keys = mimi_dp::Gateway::from_secret(&[9; 32]).unwrap();
    let (foreign, _) = encapsulate(
        foreign_keys.key_configs(),
        "POST",
        "/discovery/v1/lookup",
        "application/cbor",
        vec![],
    );
    for body in [damaged, foreign, vec![], vec![0; 40]] {
        let (status, _, _) = call(
            &state,
            "POST",
            "/discovery/v1/gateway",
            &[("content-type", OHTTP_REQUEST)],
            body,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}

/// What a stand-in gateway saw.
#[derive(Default)]
struct Seen {
    headers: Vec<HeaderMap>,
    bodies: Vec<Vec<u8>>,
}

async fn fake_gateway(
    State(seen): State<Arc<Mutex<Seen>>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, [(&'static str, &'static str); 1], Vec<u8>) {
    let reply = if body.as_ref() == b"refuse" {
        (
            StatusCode::BAD_REQUEST,
            [("content-type", "text/plain")],
            b"secret gateway text".to_vec(),
        )
    } else {
        (
            StatusCode::OK,
            [("content-type", OHTTP_RESPONSE)],
            [b"sealed:".as_slice(), &body].concat(),
        )
    };
    let mut seen = seen.lock().unwrap();
    seen.headers.push(headers);
    seen.bodies.push(body.to_vec());
    reply
}

async fn listen(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    addr
}

async fn post_to(
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Option<String>, Vec<u8>) {
    use http_body_util::{BodyExt, Full};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let mut req = hyper::Request::post(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = client
        .request(req.body(Full::new(Bytes::copy_from_slice(body))).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, retry, body)
}

#[tokio::test]
async fn the_relay_forwards_only_the_encapsulated_body() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let gateway = listen(
        Router::new()
            .route("/discovery/v1/gateway", post(fake_gateway))
            .with_state(seen.clone()),
    )
    .await;
    let relay = RelayState::new(
        &format!("http://{gateway}/discovery/v1/gateway"),
        RatePolicy::new(5, 60_000),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_addr = listener.local_addr().unwrap();
    tokio::spawn(serve_relay(
        listener,
        Arc::new(relay),
        std::future::pending(),
    ));
    let url = format!("http://{relay_addr}/");

    let identifying = [
        ("content-type", OHTTP_REQUEST),
        ("cookie", "session=alice"),
        ("x-forwarded-for", "198.51.100.7"),
        ("forwarded", "for=198.51.100.7"),
        ("user-agent", "alice-phone/1.0"),
        ("authorization", "Bearer alice"),
    ];
    let (status, _, body) = post_to(&url, &identifying, b"encapsulated").await;
    assert_eq!(status, 200);
    assert_eq!(body, b"sealed:encapsulated");
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.bodies, [b"encapsulated".to_vec()]);
        let headers = &seen.headers[0];
        assert_eq!(headers["content-type"], OHTTP_REQUEST);
        for name in [
            "cookie",
            "x-forwarded-for",
            "forwarded",
            "user-agent",
            "authorization",
        ] {
            assert!(headers.get(name).is_none(), "the relay passed on {name}");
        }
    }

    // Not an encapsulated request: refused, not forwarded.
    let (status, _, _) = post_to(&url, &[("content-type", "application/cbor")], b"x").await;
    assert_eq!(status, 415);
    // A gateway refusal comes back as its status without its text.
    let (status, _, body) = post_to(&url, &[("content-type", OHTTP_REQUEST)], b"refuse").await;
    assert_eq!(status, 400);
    assert!(!String::from_utf8_lossy(&body).contains("secret gateway text"));
    assert_eq!(seen.lock().unwrap().bodies.len(), 2);

    // The budget (5) is used up: 429 with Retry-After, and nothing more reaches the gateway.
    let mut limited = None;
    for _ in 0..5 {
        let (status, retry, _) = post_to(&url, &[("content-type", OHTTP_REQUEST)], b"more").await;
        if status == 429 {
            limited = retry;
            break;
        }
    }
    let retry: u64 = limited.expect("rate limited").parse().unwrap();
    assert!(retry >= 1);
    let forwarded = seen.lock().unwrap().bodies.len();
    assert!(forwarded <= 5, "{forwarded} forwarded");
}

#[tokio::test]
async fn a_relay_whose_gateway_is_down_answers_502() {
    // A port nobody listens on.
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gateway = unused.local_addr().unwrap();
    drop(unused);
    let relay = RelayState::new(
        &format!("http://{gateway}/discovery/v1/gateway"),
        RatePolicy::new(10, 100),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_relay(
        listener,
        Arc::new(relay),
        std::future::pending(),
    ));
    let (status, _, _) = post_to(
        &format!("http://{addr}/"),
        &[("content-type", OHTTP_REQUEST)],
        b"x",
    )
    .await;
    assert_eq!(status, 502);
    assert!(RelayState::new("ftp://x/", RatePolicy::new(1, 1)).is_err());
}
