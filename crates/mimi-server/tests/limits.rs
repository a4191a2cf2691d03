//! The limits of `[limits]` at real listeners (docs/decisions/0091): slow clients are cut
//! off while honest ones are served, excess connections are closed, peers, users, addresses
//! and rooms over their rates get `429` with `Retry-After` and change nothing, event streams
//! and per-user quotas are bounded, and every trigger is counted in
//! `mimi_limit_refusals_total` on the admin listener's `/metrics`.
//!
//! Limits are set small with `Net::configure`; every wait is bounded ([`WAIT`]) and no test
//! passes or fails on how long something took.

mod support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use mimi_client::{ClientError, MimiClient, RemoteApi};
use mimi_room::policy::{PolicyState, Preset};
use mimi_server::config::Config;
use mimi_server::tls::FederationTls;
use mimi_store::Store;
use mimi_types::client_api::NewDeviceRequest;
use mimi_types::id::{GroupUri, RoomUri, UserUri};
use mimi_types::wire::{SubmitMessageResponse, SubmitOutcome, WireMessage};
use rustls_pki_types::ServerName;
use support::{Net, eventually, three_party};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest any wait of these tests may take before it counts as a failure.
const WAIT: Duration = Duration::from_secs(20);

const PASSWORD: &str = "correct horse battery";

// ---- harness ------------------------------------------------------------------------------

/// A response: status, headers, body.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    /// The body as text (lossy), for reasons.
    body: String,
    /// The body as sent.
    raw: Bytes,
}

impl Reply {
    /// `Retry-After` in whole seconds; panics if absent or not a number.
    fn retry_after(&self) -> u64 {
        self.headers
            .get(hyper::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no Retry-After in {self:?}"))
    }
}

/// One HTTP/1.1 request on `io`.
async fn send<IO>(
    io: IO,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<Reply, String>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut builder = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let request = builder
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let response = tokio::time::timeout(WAIT, sender.send_request(request))
        .await
        .map_err(|_| "no answer".to_string())?
        .map_err(|e| format!("request: {e}"))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        raw: body,
    })
}

fn tls_client(net: &Net, d: &str) -> Arc<rustls::ClientConfig> {
    FederationTls::load(&Config::load(&net.nodes[d].config_path).expect("config"))
        .expect("tls")
        .client
}

/// A TLS connection to `to`'s federation listener with `peer`'s certificate.
async fn tls_connect(
    net: &Net,
    peer: &str,
    to: &str,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let tcp = TcpStream::connect(("127.0.0.1", net.federation_port(to)))
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from(to.to_string()).map_err(|e| e.to_string())?;
    tokio_rustls::TlsConnector::from(tls_client(net, peer))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))
}

/// A federation request from `peer` to `to` on a new connection.
async fn federation(
    net: &Net,
    peer: &str,
    to: &str,
    method: Method,
    path: &str,
    body: Vec<u8>,
) -> Result<Reply, String> {
    let tls = tls_connect(net, peer, to).await?;
    let from = format!("mimi@{peer}");
    send(tls, method, path, &[("host", to), ("from", &from)], body).await
}

fn client_addr(net: &Net, d: &str) -> std::net::SocketAddr {
    net.nodes[d]
        .running
        .as_ref()
        .expect("running")
        .client_api_addr
}

/// A client API request on a new connection, with `token` if given.
async fn client(
    net: &Net,
    d: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
) -> Result<Reply, String> {
    let tcp = TcpStream::connect(client_addr(net, d))
        .await
        .map_err(|e| e.to_string())?;
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("host", "a.example")];
    if let Some(auth) = &auth {
        headers.push(("authorization", auth));
    }
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    send(tcp, method, path, &headers, body.unwrap_or_default()).await
}

/// Provider `d`'s `/metrics`, scraped over HTTP from its admin listener.
async fn scrape(net: &Net, d: &str) -> String {
    let addr = net.nodes[d]
        .running
        .as_ref()
        .expect("running")
        .admin_addr
        .expect("admin listener");
    let tcp = TcpStream::connect(addr).await.expect("connect admin");
    let reply = send(tcp, Method::GET, "/metrics", &[("host", "admin")], vec![])
        .await
        .expect("metrics");
    assert_eq!(reply.status, StatusCode::OK);
    reply.body
}

/// The count of `mimi_limit_refusals_total{limit, listener}` in a scrape (0 if absent).
fn refusals(metrics: &str, limit: &str, listener: &str) -> u64 {
    let series = format!("mimi_limit_refusals_total{{limit=\"{limit}\",listener=\"{listener}\"}}");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&series)?.trim().parse().ok())
        .unwrap_or(0)
}

/// Whether the peer closes `stream` within `within` (end of stream or an error; data read
/// meanwhile is skipped).
async fn closed_within<S: AsyncRead + Unpin>(stream: &mut S, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// Send `head` one byte at a time, pausing `pause` after each, until the server closes the
/// connection; how many bytes were sent before it did (`None`: it never did).
async fn trickle<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    head: &[u8],
    pause: Duration,
) -> Option<usize> {
    for (sent, byte) in head.iter().enumerate() {
        if stream.write_all(&[*byte]).await.is_err() || stream.flush().await.is_err() {
            return Some(sent);
        }
        if closed_within(stream, pause).await {
            return Some(sent + 1);
        }
    }
    None
}

/// Read a whole response off a raw stream until the server closes it.
async fn read_until_closed<S: AsyncRead + Unpin>(stream: &mut S) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(WAIT, stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Register and log in `name` over the client API; its token.
async fn account(net: &Net, d: &str, name: &str) -> RemoteApi {
    let mut api = net.api(d);
    api.register(name, PASSWORD, name).await.expect("register");
    api.login(name, PASSWORD).await.expect("login");
    api
}

/// Certify device `device` of `api`'s user; the device's MLS client.
async fn device(api: &RemoteApi, device: &str) -> Result<MimiClient, ClientError> {
    let signer = MimiClient::new_signer().expect("signer");
    let (client_uri, credential) = api.register_device(device, signer.public()).await?;
    let user = UserUri::parse(&format!(
        "mimi://{}/u/{}",
        client_uri.domain(),
        client_uri.user_part().expect("user part")
    ))
    .expect("user");
    Ok(MimiClient::from_parts(client_uri, user, signer, credential).expect("client"))
}

fn new_device_body(device: &str) -> Vec<u8> {
    let signer = MimiClient::new_signer().expect("signer");
    serde_json::to_vec(&NewDeviceRequest {
        device: device.to_string(),
        signature_key: signer.public().to_vec().into(),
    })
    .expect("json")
}

fn status(r: Result<impl std::fmt::Debug, ClientError>) -> u16 {
    match r {
        Err(ClientError::Api { status, .. }) => status,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

// ---- slow clients -------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_while_honest_ones_are_served() {
    let mut net = Net::init(&["a.example", "b.example"]);
    net.configure("a.example", |f| {
        let t = &mut f.limits.transport;
        t.tls_handshake_secs = 1;
        t.header_read_secs = 1;
        t.body_secs = 1;
        t.body_min_bytes_per_sec = 0;
        t.idle_secs = 1;
    });
    net.start_node("a.example").await;
    let a = net.provider("a.example").clone();

    // A TCP connection that never starts the TLS handshake is closed.
    let mut tcp = TcpStream::connect(("127.0.0.1", net.federation_port("a.example")))
        .await
        .expect("connect");
    assert!(
        closed_within(&mut tcp, WAIT).await,
        "a stalled TLS handshake must be cut"
    );

    // A peer trickling its request head byte by byte is cut off before the head is
    // complete; meanwhile an honest peer's request is answered.
    let head = b"POST /v1/identifierQuery/a.example HTTP/1.1\r\nhost: a.example\r\n\
                 from: mimi@b.example\r\ncontent-type: application/octet-stream\r\n\
                 content-length: 4\r\n\r\n";
    let mut slow = tls_connect(&net, "b.example", "a.example")
        .await
        .expect("connect");
    let honest = {
        let net_dir = net.nodes["b.example"].config_path.clone();
        let port = net.federation_port("a.example");
        tokio::spawn(async move {
            let tls = FederationTls::load(&Config::load(&net_dir).expect("config"))
                .expect("tls")
                .client;
            let tcp = TcpStream::connect(("127.0.0.1", port)).await.expect("tcp");
            let stream = tokio_rustls::TlsConnector::from(tls)
                .connect(ServerName::try_from("a.example").expect("name"), tcp)
                .await
                .expect("TLS");
            send(
                stream,
                Method::GET,
                "/.well-known/mimi-protocol-directory",
                &[("host", "a.example")],
                vec![],
            )
            .await
        })
    };
    let sent = trickle(&mut slow, head, Duration::from_millis(200)).await;
    assert!(
        sent.is_some_and(|n| n < head.len()),
        "the server waited for a head trickled over {} bytes: {sent:?}",
        head.len()
    );
    let honest = honest.await.expect("join").expect("honest request");
    assert_eq!(honest.status, StatusCode::OK, "{honest:?}");

    // A TLS connection that never sends a request is closed.
    let mut silent = tls_connect(&net, "b.example", "a.example")
        .await
        .expect("connect");
    assert!(closed_within(&mut silent, WAIT).await);

    // A body that stops arriving: 408, the connection is closed, nothing is done.
    let mut body = tls_connect(&net, "b.example", "a.example")
        .await
        .expect("connect");
    body.write_all(head).await.expect("head");
    body.write_all(b"\x00").await.expect("part of the body");
    body.flush().await.expect("flush");
    let answer = read_until_closed(&mut body).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // The same on the client API (plain HTTP): a trickled head is cut off ...
    let api = client_addr(&net, "a.example");
    let head = b"POST /client/v1/register HTTP/1.1\r\nhost: a.example\r\n\
                 content-type: application/json\r\ncontent-length: 200\r\n\r\n";
    let mut slow = TcpStream::connect(api).await.expect("connect");
    let sent = trickle(&mut slow, head, Duration::from_millis(200)).await;
    assert!(sent.is_some_and(|n| n < head.len()), "{sent:?}");
    // ... a stalled body gets 408 and registers nobody ...
    let mut body = TcpStream::connect(api).await.expect("connect");
    body.write_all(head).await.expect("head");
    body.write_all(br#"{"username": "slow", "#)
        .await
        .expect("part of the body");
    let answer = read_until_closed(&mut body).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive in time"), "{answer}");
    assert!(a.store.user_by_name("slow").await.expect("store").is_none());
    // ... and a kept-alive connection left idle after its request is closed.
    let tcp = TcpStream::connect(api).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .expect("handshake");
    let conn = tokio::spawn(conn);
    let response = sender
        .send_request(
            Request::get("/healthz")
                .header("host", "a.example")
                .body(Full::new(Bytes::new()))
                .expect("request"),
        )
        .await
        .expect("healthz");
    assert_eq!(response.status(), StatusCode::OK);
    let _ = response.into_body().collect().await;
    let _ = tokio::time::timeout(WAIT, conn)
        .await
        .expect("the idle connection must be closed by the server");
    // The honest client is still served.
    let reply = client(&net, "a.example", Method::GET, "/healthz", None, None)
        .await
        .expect("healthz");
    assert_eq!(reply.status, StatusCode::OK);

    let metrics = scrape(&net, "a.example").await;
    for (limit, listener) in [
        ("tls_handshake_timeout", "federation"),
        ("header_read_timeout", "federation"),
        ("body_read_timeout", "federation"),
        ("header_read_timeout", "client"),
        ("body_read_timeout", "client"),
        ("idle_timeout", "client"),
    ] {
        assert!(
            refusals(&metrics, limit, listener) >= 1,
            "{limit} on {listener} not counted in\n{metrics}"
        );
    }
    net.stop_node("a.example").await;
}

// ---- connections ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excess_connections_are_closed_per_address_and_per_peer() {
    let mut net = Net::init(&["a.example", "b.example", "c.example"]);
    net.configure("a.example", |f| {
        f.limits.connections.client_per_ip = 2;
        f.limits.connections.federation_per_peer = 1;
        // Held connections stay open for the whole test.
        f.limits.transport.header_read_secs = 60;
        f.limits.transport.idle_secs = 60;
    });
    net.start_node("a.example").await;
    let api = client_addr(&net, "a.example");

    // Two kept-alive connections from 127.0.0.1, each served once, stay open.
    let mut held = Vec::new();
    for _ in 0..2 {
        let tcp = TcpStream::connect(api).await.expect("connect");
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .expect("handshake");
        let conn = tokio::spawn(conn);
        let response = sender
            .send_request(
                Request::get("/healthz")
                    .header("host", "a.example")
                    .body(Full::new(Bytes::new()))
                    .expect("request"),
            )
            .await
            .expect("healthz");
        assert_eq!(response.status(), StatusCode::OK);
        let _ = response.into_body().collect().await;
        held.push((sender, conn));
    }
    // A third from the same address is closed at once, before it sends anything.
    let mut third = TcpStream::connect(api).await.expect("connect");
    assert!(closed_within(&mut third, WAIT).await);
    let refused = client(&net, "a.example", Method::GET, "/healthz", None, None).await;
    assert!(refused.is_err(), "{refused:?}");
    let metrics = scrape(&net, "a.example").await;
    assert!(
        refusals(&metrics, "connections_per_ip", "client") >= 2,
        "{metrics}"
    );
    assert!(
        metrics.contains("mimi_open_connections{listener=\"client\"} 2"),
        "{metrics}"
    );
    // Once one is closed, a new connection is served again.
    let (sender, conn) = held.pop().expect("held");
    drop(sender);
    let _ = tokio::time::timeout(WAIT, conn).await;
    eventually("a freed connection slot is reused", WAIT, || async {
        client(&net, "a.example", Method::GET, "/healthz", None, None)
            .await
            .is_ok_and(|r| r.status == StatusCode::OK)
    })
    .await;

    // Federation: one connection per peer domain. b's first connection is served ...
    let first = tls_connect(&net, "b.example", "a.example")
        .await
        .expect("connect");
    let (mut b_sender, b_conn) = hyper::client::conn::http1::handshake(TokioIo::new(first))
        .await
        .expect("handshake");
    let _b_conn = tokio::spawn(b_conn);
    let response = b_sender
        .send_request(
            Request::get("/.well-known/mimi-protocol-directory")
                .header("host", "a.example")
                .body(Full::new(Bytes::new()))
                .expect("request"),
        )
        .await
        .expect("directory");
    assert_eq!(response.status(), StatusCode::OK);
    let _ = response.into_body().collect().await;
    // ... its second is closed once the certificate names b.example ...
    let second = federation(
        &net,
        "b.example",
        "a.example",
        Method::GET,
        "/.well-known/mimi-protocol-directory",
        vec![],
    )
    .await;
    assert!(second.is_err(), "{second:?}");
    // ... and another peer is not affected.
    let other = federation(
        &net,
        "c.example",
        "a.example",
        Method::GET,
        "/.well-known/mimi-protocol-directory",
        vec![],
    )
    .await
    .expect("c's connection");
    assert_eq!(other.status, StatusCode::OK);
    let metrics = scrape(&net, "a.example").await;
    assert!(
        refusals(&metrics, "connections_per_peer", "federation") >= 1,
        "{metrics}"
    );
    drop(b_sender);
    drop(held);
    net.stop_node("a.example").await;
}

// ---- federation rates -------------------------------------------------------------------

/// What a refused request must not have changed at the hub: the room's sequence number in
/// memory and in storage, the stored row counts, the outbox.
async fn hub_state(net: &Net, room: &RoomUri) -> (u64, u64, mimi_store::Counts, usize) {
    let a = net.provider("a.example");
    let seq = a.room(room).await.expect("hosted").lock().await.room.seq();
    let stored = a
        .store
        .hub_room(room.as_str())
        .await
        .expect("store")
        .expect("stored")
        .seq;
    let counts = a.store.counts().await.expect("counts");
    let outbox = a
        .store
        .outbox_backlog()
        .await
        .expect("backlog")
        .iter()
        .map(|b| b.rows as usize)
        .sum();
    (seq, stored, counts, outbox)
}

/// bob's next message, as the body of a `/submitMessage` b.example sends to the hub.
fn bob_says(net: &mut Net, room: &RoomUri, n: u8, text: &str) -> Vec<u8> {
    net.client("bob")
        .send_text(room, [n; 16], text, None)
        .expect("send")
        .encode()
        .expect("encode")
}

/// Submit bob's messages until the hub refuses one with 429; the accepted texts, the refused
/// body and the refusal.
async fn submit_until_refused(
    net: &mut Net,
    room: &RoomUri,
    tag: &str,
) -> (Vec<String>, Vec<u8>, Reply) {
    let path = format!("/v1/submitMessage/{}", room.to_url_path());
    let mut accepted = Vec::new();
    for n in 0..40u8 {
        let text = format!("{tag} {n}");
        let body = bob_says(net, room, n, &text);
        net.settle().await;
        let before = hub_state(net, room).await;
        let reply = federation(
            net,
            "b.example",
            "a.example",
            Method::POST,
            &path,
            body.clone(),
        )
        .await
        .expect("submit");
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(
                hub_state(net, room).await,
                before,
                "a refused message changed the hub"
            );
            return (accepted, body, reply);
        }
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        accepted.push(text);
    }
    panic!("40 messages in a row were accepted");
}

fn accepted(reply: &Reply) -> bool {
    reply.status == StatusCode::OK
        && SubmitMessageResponse::decode(&reply.raw)
            .is_ok_and(|r| matches!(r.outcome, SubmitOutcome::Accepted { .. }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_and_rooms_over_their_rates_get_429_and_change_nothing() {
    let (mut net, room) = three_party().await;
    let path = format!("/v1/submitMessage/{}", room.to_url_path());

    // Per peer: a burst of 3, then one request a second.
    net.stop_node("a.example").await;
    net.configure("a.example", |f| {
        f.limits.rates.peer_per_sec = 1;
        f.limits.rates.peer_burst = 3;
        f.limits.rates.room_message_bytes_per_sec = 0;
    });
    net.start_node("a.example").await;
    let (texts, refused, reply) = submit_until_refused(&mut net, &room, "peer").await;
    assert!(texts.len() >= 3, "the burst is 3: {texts:?}");
    assert!(
        reply.body.contains("too many requests from b.example"),
        "{reply:?}"
    );
    let wait = reply.retry_after();
    assert!(wait >= 1, "{wait}");
    // Another peer has its own bucket (its malformed request reaches the handler: 400).
    let other = federation(
        &net,
        "c.example",
        "a.example",
        Method::POST,
        "/v1/identifierQuery/a.example",
        vec![0],
    )
    .await
    .expect("c");
    assert_eq!(other.status, StatusCode::BAD_REQUEST, "{other:?}");
    // After Retry-After the very same request is accepted, once.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let retried = federation(&net, "b.example", "a.example", Method::POST, &path, refused)
        .await
        .expect("retry");
    assert!(accepted(&retried), "{retried:?}");
    net.pump(&room).await;
    let mut expected = texts.clone();
    expected.push(format!("peer {}", texts.len()));
    assert_eq!(
        net.texts("alice"),
        expected,
        "every accepted message once, in order"
    );
    let metrics = scrape(&net, "a.example").await;
    assert!(
        refusals(&metrics, "peer_rate", "federation") >= 1,
        "{metrics}"
    );

    // Per room: 1500 bytes at once, then a byte a second.
    net.stop_node("a.example").await;
    net.configure("a.example", |f| {
        f.limits.rates.peer_per_sec = 0;
        f.limits.rates.room_message_bytes_per_sec = 1;
        f.limits.rates.room_message_burst_bytes = 1500;
    });
    net.start_node("a.example").await;
    let before = net.texts("alice").len();
    let (texts, _, reply) = submit_until_refused(&mut net, &room, "room").await;
    assert!(!texts.is_empty(), "the first message fits the burst");
    assert!(reply.body.contains("takes no more messages"), "{reply:?}");
    assert!(reply.retry_after() >= 1);
    net.pump(&room).await;
    assert_eq!(&net.texts("alice")[before..], &texts[..]);
    let metrics = scrape(&net, "a.example").await;
    assert!(
        refusals(&metrics, "room_message_rate", "federation") >= 1,
        "{metrics}"
    );
}

// ---- client API rates ---------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_addresses_over_their_rates_get_429_and_change_nothing() {
    let mut net = Net::init(&["a.example"]);
    net.configure("a.example", |f| {
        let r = &mut f.limits.rates;
        r.user_per_sec = 1;
        r.user_burst = 3;
        r.anonymous_per_sec = 1;
        r.anonymous_burst = 8;
    });
    net.start_node("a.example").await;
    let a = net.provider("a.example").clone();
    let alice = account(&net, "a.example", "alice").await;
    let bob = account(&net, "a.example", "bob").await;
    let alice_token = alice.token().expect("token").to_string();
    let alice_uri = "mimi://a.example/u/alice";

    // alice creates devices until her bucket is empty; the refused one is not created.
    let mut refusal = None;
    for n in 0..20 {
        let before = a.store.clients_of(alice_uri).await.expect("clients").len();
        let reply = client(
            &net,
            "a.example",
            Method::POST,
            "/client/v1/devices",
            Some(&alice_token),
            Some(new_device_body(&format!("d{n}"))),
        )
        .await
        .expect("request");
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            let after = a.store.clients_of(alice_uri).await.expect("clients").len();
            assert_eq!(after, before, "a refused request created a device");
            refusal = Some((n, reply));
            break;
        }
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    }
    let (n, reply) = refusal.expect("alice was never limited");
    assert!(n >= 3, "the burst is 3");
    assert!(
        reply
            .body
            .contains("too many requests of mimi://a.example/u/alice"),
        "{reply:?}"
    );
    let wait = reply.retry_after();
    // bob has his own bucket.
    device(&bob, "phone")
        .await
        .expect("bob is not limited by alice");
    // After Retry-After alice's request goes through.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let reply = client(
        &net,
        "a.example",
        Method::POST,
        "/client/v1/devices",
        Some(&alice_token),
        Some(new_device_body(&format!("d{n}"))),
    )
    .await
    .expect("retry");
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");

    // Requests without a valid token are charged to the address: bad tokens (401) until the
    // address's bucket is empty, then 429 — also for login, whatever the headers.
    let bogus = "A".repeat(43);
    let mut limited = None;
    for _ in 0..40 {
        let reply = client(
            &net,
            "a.example",
            Method::POST,
            "/client/v1/devices",
            Some(&bogus),
            Some(new_device_body("x")),
        )
        .await
        .expect("request");
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(reply);
            break;
        }
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
    }
    let limited = limited.expect("the address was never limited");
    assert!(limited.retry_after() >= 1);
    // Login is anonymous whatever the headers: charged to the address too.
    let mut login_limited = false;
    for _ in 0..40 {
        let login = client(
            &net,
            "a.example",
            Method::POST,
            "/client/v1/login",
            Some(&bogus),
            Some(br#"{"username": "alice", "password": "wrong password"}"#.to_vec()),
        )
        .await
        .expect("login");
        if login.status == StatusCode::TOO_MANY_REQUESTS {
            login_limited = true;
            break;
        }
        assert_eq!(login.status, StatusCode::UNAUTHORIZED, "{login:?}");
    }
    assert!(
        login_limited,
        "logins with a bogus Authorization header escaped the address's bucket"
    );
    // A user with a valid token is not charged to the address.
    let reply = client(
        &net,
        "a.example",
        Method::POST,
        "/client/v1/logout",
        Some(bob.token().expect("token")),
        None,
    )
    .await
    .expect("logout");
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{reply:?}");

    let metrics = scrape(&net, "a.example").await;
    assert!(refusals(&metrics, "user_rate", "client") >= 1, "{metrics}");
    assert!(
        refusals(&metrics, "anonymous_rate", "client") >= 2,
        "{metrics}"
    );
    net.stop_node("a.example").await;
}

// ---- event streams ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_are_bounded_per_device_and_per_user() {
    let mut net = Net::init(&["a.example"]);
    net.configure("a.example", |f| {
        f.limits.quotas.streams_per_device = 1;
        f.limits.quotas.streams_per_user = 2;
    });
    net.start_node("a.example").await;
    let alice = account(&net, "a.example", "alice").await;
    for d in ["d1", "d2", "d3"] {
        device(&alice, d).await.expect("device");
    }
    let token = alice.token().expect("token").to_string();
    let stream_path = |d: &str| format!("/client/v1/devices/{d}/stream");

    let d1 = alice.stream("d1", 0).await.expect("first stream of d1");
    // A second stream of d1: 429 with Retry-After.
    let reply = client(
        &net,
        "a.example",
        Method::GET,
        &stream_path("d1"),
        Some(&token),
        None,
    )
    .await
    .expect("request");
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{reply:?}");
    assert!(
        reply.body.contains("mimi://a.example/d/alice/d1"),
        "{reply:?}"
    );
    assert!(reply.retry_after() >= 1);
    let d2 = alice
        .stream("d2", 0)
        .await
        .expect("d2: alice's second stream");
    // A third stream of alice (another device): 429.
    let reply = client(
        &net,
        "a.example",
        Method::GET,
        &stream_path("d3"),
        Some(&token),
        None,
    )
    .await
    .expect("request");
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{reply:?}");
    assert!(reply.body.contains("mimi://a.example/u/alice"), "{reply:?}");
    // Another user is not affected.
    let bob = account(&net, "a.example", "bob").await;
    device(&bob, "b1").await.expect("device");
    let _b1 = bob.stream("b1", 0).await.expect("bob's stream");
    let metrics = scrape(&net, "a.example").await;
    assert!(metrics.contains("mimi_open_event_streams 3"), "{metrics}");
    // Closing d1's stream frees a slot of alice's (once the server notices: at the latest
    // at the stream's next keep-alive, 15 s).
    drop(d1);
    let deadline = tokio::time::Instant::now() + 2 * WAIT;
    let d3 = loop {
        match alice.stream("d3", 0).await {
            Ok(s) => break s,
            Err(e) => assert_eq!(status(Err::<(), _>(e)), 429),
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "alice's freed stream slot was never reused"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let metrics = scrape(&net, "a.example").await;
    assert!(
        refusals(&metrics, "streams_per_device", "client") >= 1,
        "{metrics}"
    );
    assert!(
        refusals(&metrics, "streams_per_user", "client") >= 1,
        "{metrics}"
    );
    drop((d2, d3));
    net.stop_node("a.example").await;
}

// ---- quotas -------------------------------------------------------------------------------

async fn create_room(
    api: &RemoteApi,
    mimi: &mut MimiClient,
    device: &str,
    id: &str,
) -> Result<RoomUri, ClientError> {
    let hub = api.hub().await.expect("hub");
    let room = RoomUri::parse(&format!("mimi://{}/r/{id}", hub.domain)).expect("room");
    let group = GroupUri::parse(&format!("mimi://{}/g/{id}", hub.domain)).expect("group");
    let preset = Preset::CooperativelyAdministered;
    let policy = PolicyState::new_room(preset, mimi.user()).expect("policy");
    let info = mimi
        .create_room(
            room.clone(),
            &group,
            hub.external_sender,
            Some(hub.franking_agent),
            &policy,
        )
        .expect("group");
    api.create_room(
        id,
        preset.name(),
        device,
        &info.group_info,
        &info.ratchet_tree,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_refuse_with_403_and_change_nothing() {
    let mut net = Net::init(&["a.example"]);
    net.configure("a.example", |f| {
        let q = &mut f.limits.quotas;
        q.devices_per_user = 2;
        q.key_packages_per_device = 3;
        q.rooms_per_user = 1;
    });
    net.start_node("a.example").await;
    let a = net.provider("a.example").clone();
    let alice = account(&net, "a.example", "alice").await;
    let alice_uri = "mimi://a.example/u/alice";

    // Devices per user.
    let mut laptop = device(&alice, "laptop").await.expect("first device");
    device(&alice, "phone").await.expect("second device");
    let refused = device(&alice, "tablet").await;
    let Err(ClientError::Api {
        status: code,
        message,
    }) = refused
    else {
        panic!("a third device was accepted");
    };
    assert_eq!(code, 403);
    assert!(
        message.contains("quota exceeded") && message.contains("devices_per_user"),
        "{message}"
    );
    assert_eq!(
        a.store.clients_of(alice_uri).await.expect("clients").len(),
        2
    );

    // KeyPackages per device: 3 fit; one more is refused whole.
    let kps = laptop.key_packages(3, false).expect("key packages");
    let r = alice
        .publish_key_packages("laptop", &kps)
        .await
        .expect("publish 3");
    assert_eq!(r.remaining, 3);
    let more = laptop.key_packages(1, false).expect("key package");
    let refused = alice.publish_key_packages("laptop", &more).await;
    assert_eq!(status(refused), 403);
    let laptop_uri = laptop.client_uri().as_str().to_string();
    assert_eq!(
        a.store.key_package_count(&laptop_uri).await.expect("count"),
        3
    );

    // Rooms per user: the first is hosted, the second refused and not hosted.
    let first = create_room(&alice, &mut laptop, "laptop", "first")
        .await
        .expect("first room");
    assert!(a.room(&first).await.is_some());
    let refused = create_room(&alice, &mut laptop, "laptop", "second").await;
    let Err(ClientError::Api {
        status: code,
        message,
    }) = refused
    else {
        panic!("a second room was accepted");
    };
    assert_eq!(code, 403);
    assert!(message.contains("rooms_per_user"), "{message}");
    let second = RoomUri::parse("mimi://a.example/r/second").expect("room");
    assert!(a.room(&second).await.is_none());
    assert!(
        a.store
            .hub_room(second.as_str())
            .await
            .expect("store")
            .is_none()
    );
    assert_eq!(a.store.user_room_count(alice_uri).await.expect("rooms"), 1);

    let metrics = scrape(&net, "a.example").await;
    for limit in [
        "devices_per_user",
        "key_packages_per_device",
        "rooms_per_user",
    ] {
        assert_eq!(
            refusals(&metrics, limit, "client"),
            1,
            "{limit} in\n{metrics}"
        );
    }
    net.stop_node("a.example").await;
}
