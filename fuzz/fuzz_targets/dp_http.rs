//! Arbitrary requests through the distribution point's real router (crates/mimi-dp) with a
//! real, journaled store in a temporary directory: the first byte picks the endpoint, the rest
//! is the body. For the OHTTP gateway the rest is also tried as the *plaintext* Binary HTTP
//! request, encapsulated to the gateway's key, so that the fuzzer reaches the inner parsing.
//! Nothing may panic, and no answer may be a 5xx (a bad request is always the asker's fault);
//! an encapsulated answer must decapsulate.
//!
//! Seeds in `fuzz/corpus/dp_http/`: a selector byte followed by a valid body of each kind.
#![no_main]

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use mimi_dp::{DpFiles, DpOptions, DpState, OHTTP_REQUEST, router};
use mimi_lookup::RatePolicy;
use tower::ServiceExt;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    state: Arc<DpState>,
    token: String,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("mimi-fuzz-dp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let files = DpFiles::open(&dir).expect("data directory");
        let token = files.publisher_token().expect("token");
        let options = DpOptions {
            rate: RatePolicy::new(u32::MAX, 1),
            max_records: 10_000,
            journal_max_bytes: 1 << 20,
        };
        let state = Arc::new(DpState::open(files, &options).expect("dp"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        Fixture {
            runtime,
            state,
            token,
        }
    })
}

/// Send one request; the status and body.
fn send(
    f: &Fixture,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Body::from(body)).expect("request");
    let peer: SocketAddr = "192.0.2.9:4000".parse().expect("addr");
    req.extensions_mut().insert(ConnectInfo(peer));
    f.runtime.block_on(async {
        let resp = router(f.state.clone())
            .oneshot(req)
            .await
            .expect("infallible");
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        (status, body)
    })
}

const CBOR: (&str, &str) = ("content-type", "application/cbor");

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let f = fixture();
    let auth = format!("Bearer {}", f.token);
    let body = body.to_vec();
    let (status, _) = match selector % 6 {
        0 => send(f, "POST", "/discovery/v1/evaluate", &[CBOR], body),
        1 => send(f, "POST", "/discovery/v1/lookup", &[CBOR], body),
        2 => send(
            f,
            "POST",
            "/discovery/v1/upload",
            &[CBOR, ("authorization", &auth)],
            body,
        ),
        3 => send(
            f,
            "POST",
            "/discovery/v1/gateway",
            &[("content-type", OHTTP_REQUEST)],
            body,
        ),
        4 => {
            // The body as the plaintext inside a well-formed encapsulation.
            let keys = f.state.gateway().key_configs().to_vec();
            let client = ohttp::ClientRequest::from_encoded_config_list(&keys).expect("keys");
            let (sealed, pending) = client.encapsulate(&body).expect("encapsulate");
            let (status, answer) = send(
                f,
                "POST",
                "/discovery/v1/gateway",
                &[("content-type", OHTTP_REQUEST)],
                sealed,
            );
            assert_eq!(
                status, 200,
                "a well-formed encapsulation is always answered"
            );
            pending
                .decapsulate(&answer)
                .expect("the answer decapsulates");
            (status, answer)
        }
        _ => send(
            f,
            "POST",
            "/discovery/v1/upload",
            &[("content-type", "text/plain")],
            body,
        ),
    };
    assert!(status < 500, "status {status}");
});
