//! Adversarial peers (issue 7): a test peer sends what a malicious provider would, over the
//! real mutual-TLS listener of `mimi serve` providers, each with a certificate of our choosing.
//! Every case asserts the precise refusal, that the provider's state did not change
//! ([`StateView`]: store and hub engine), and that an honest peer is served right after.
//!
//! The scene is `three_party()`: room `mimi://a.example/r/clubhouse` hosted by a.example with
//! alice (a), bob (b) and cathy (c). The honest peer is c: cathy sends a message through her
//! provider and alice and bob decrypt it ([`honest_round`]).

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use mimi_room::policy::cooperative;
use mimi_server::init::{InitOptions, init};
use mimi_store::Store;
use mimi_types::id::{ClientUri, MimiUri, RoomUri, UserUri};
use mimi_types::wire::{
    ConsentEntry, ConsentOperation, Endpoint, FanoutMessage, FanoutPayload, GroupInfo,
    GroupInfoOption, GroupInfoOutcome, GroupInfoResponse, HandshakeBundle, IdentifierUri,
    KeyMaterialResponse, KeyMaterialUserCode, MlsMessage, ParticipantListUpdate, RatchetTreeOption,
    RoomComponentUpdate, SubmitMessageRequest, SubmitMessageResponse, SubmitOutcome, UpdateOutcome,
    UpdateRequest, UpdateRoomResponse, WireMessage,
};
use rustls::ClientConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use support::{Net, StateView, domain, free_port, kps, three_party};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// ---- a test peer -------------------------------------------------------------------------

/// A client TLS configuration trusting the net's federation CA and presenting the
/// certificate chain and key in these PEM files, or no certificate.
fn tls_config(net: &Net, cert: Option<(&Path, &Path)>) -> Arc<ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let ca = std::fs::read(net.ca_dir().join("ca.pem")).expect("ca");
    for c in CertificateDer::pem_slice_iter(&ca) {
        roots.add(c.expect("pem")).expect("root");
    }
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots);
    let config = match cert {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => {
            let chain = CertificateDer::pem_slice_iter(&std::fs::read(chain).expect("cert"))
                .collect::<Result<Vec<_>, _>>()
                .expect("pem");
            let key =
                PrivateKeyDer::from_pem_slice(&std::fs::read(key).expect("key")).expect("key");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client cert")
        }
    };
    Arc::new(config)
}

/// The TLS identity of provider `d` of the net: its own federation certificate.
fn identity_of(net: &Net, d: &str) -> Arc<ClientConfig> {
    let dir = net.dir.0.join(d);
    tls_config(net, Some((&dir.join("tls.pem"), &dir.join("tls.key"))))
}

/// A federation certificate for `d` from the CA in `ca_dir` (created there if new), minted
/// with `mimi init` in a directory of its own.
fn minted_identity(net: &Net, tag: &str, d: &str, ca_dir: &Path) -> Arc<ClientConfig> {
    let dir = net.dir.0.join(tag);
    init(&InitOptions {
        domain: domain(d),
        dir: dir.clone(),
        ca_dir: ca_dir.to_path_buf(),
        federation_listen: "127.0.0.1:9".parse().expect("addr"),
        client_listen: "127.0.0.1:9".parse().expect("addr"),
        admin_listen: None,
        peers: vec![],
        database_url: None,
        now_secs: (mimi_server::provider::now_ms() / 1000) as i64,
    })
    .expect("init");
    tls_config(net, Some((&dir.join("tls.pem"), &dir.join("tls.key"))))
}

/// A response.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 connection over TLS to a provider's federation listener.
struct Conn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl Conn {
    async fn open(tls: Arc<ClientConfig>, port: u16, server_name: &str) -> Result<Conn, String> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| e.to_string())?;
        let name = ServerName::try_from(server_name.to_string()).map_err(|e| e.to_string())?;
        let stream = tokio_rustls::TlsConnector::from(tls)
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        Ok(Conn { sender })
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Reply, String> {
        self.sender
            .ready()
            .await
            .map_err(|e| format!("connection: {e}"))?;
        let mut builder = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request = builder
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let response = self
            .sender
            .send_request(request)
            .await
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
            body,
        })
    }
}

/// A test peer: a TLS identity, the provider it calls (`server`, checked against the
/// server's certificate), the `Host` it names and the `From` domain it claims.
#[derive(Clone)]
struct Caller {
    tls: Arc<ClientConfig>,
    port: u16,
    server: String,
    host: String,
    from: String,
}

impl Caller {
    fn new(net: &Net, tls: Arc<ClientConfig>, to: &str, from: &str) -> Caller {
        Caller {
            tls,
            port: net.federation_port(to),
            server: to.to_string(),
            host: to.to_string(),
            from: from.to_string(),
        }
    }

    /// Provider `d` calling provider `to` as itself.
    fn honest(net: &Net, d: &str, to: &str) -> Caller {
        Caller::new(net, identity_of(net, d), to, d)
    }

    fn headers(&self) -> Vec<(String, String)> {
        vec![
            ("host".into(), self.host.clone()),
            ("from".into(), format!("mimi@{}", self.from)),
        ]
    }

    /// One request on a new connection, with the caller's `Host` and `From`.
    async fn send(&self, method: Method, path: &str, body: Vec<u8>) -> Result<Reply, String> {
        let mut conn = Conn::open(self.tls.clone(), self.port, &self.server).await?;
        let headers = self.headers();
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        conn.send(method, path, &headers, body).await
    }

    async fn post(&self, endpoint: Endpoint, arg: &str, body: Vec<u8>) -> Reply {
        self.send(Method::POST, &path(endpoint, arg), body)
            .await
            .expect("a reply")
    }
}

fn path(endpoint: Endpoint, arg: &str) -> String {
    format!("/v1/{}/{arg}", endpoint.name())
}

fn fresh_id() -> [u8; 16] {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("random");
    b
}

/// The provider state a request may not change (settled outboxes first).
async fn view(net: &Net, d: &str, rooms: &[&RoomUri]) -> StateView {
    net.state_view(d, rooms, &[]).await
}

/// An honest peer is served: cathy (c.example) sends a message through her provider to the
/// hub, and alice and bob decrypt it (a client that cannot process its fanout fails the test).
async fn honest_round(net: &mut Net, room: &RoomUri) {
    let text = format!("honest {}", hex::encode(fresh_id()));
    let c = net.provider("c.example").clone();
    let request = net
        .client("cathy")
        .send_text(room, fresh_id(), &text, None)
        .expect("send");
    let outcome = tokio::time::timeout(Duration::from_secs(10), c.client_submit(room, &request))
        .await
        .expect("the hub answers an honest peer in time")
        .expect("submit");
    assert!(
        matches!(outcome.outcome, SubmitOutcome::Accepted { .. }),
        "{outcome:?}"
    );
    net.pump(room).await;
    assert_eq!(net.texts("alice").last(), Some(&text));
    assert_eq!(net.texts("bob").last(), Some(&text));
}

/// Restart provider `d` with `peer` at an address that refuses connections, so that nothing
/// it does for that peer waits on DNS.
async fn with_dead_peer(net: &mut Net, d: &str, peer: &str) {
    net.stop_node(d).await;
    let dead = free_port();
    net.configure(d, |c| {
        c.peers.insert(peer.into(), format!("127.0.0.1:{dead}"));
    });
    net.start_node(d).await;
}

fn submit_outcome(reply: &Reply) -> SubmitOutcome {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    SubmitMessageResponse::decode(&reply.body)
        .expect("SubmitMessageResponse")
        .outcome
}

fn update_outcome(reply: &Reply) -> UpdateRoomResponse {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    UpdateRoomResponse::decode(&reply.body).expect("UpdateRoomResponse")
}

/// The last fanout message provider `d` stored for client `name`.
async fn last_fanout(net: &Net, d: &str, name: &str) -> FanoutMessage {
    let client = net.clients[name].mimi.client_uri().clone();
    let event = net
        .provider(d)
        .events(&client, 0, 100_000)
        .await
        .expect("events")
        .pop()
        .expect("an event");
    FanoutMessage::decode_with_limit(&event.body, 1 << 24).expect("fanout")
}

// ---- who is calling -------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_that_are_not_who_they_claim() {
    let (mut net, room) = three_party().await;
    with_dead_peer(&mut net, "a.example", "d.example").await;
    let rooms = [&room];
    // A valid body only b.example may send: a message of bob's. Every forged request below
    // carries it, so a refusal is the transport's doing; at the end b sends it for real.
    let bobs = net
        .client("bob")
        .send_text(&room, fresh_id(), "bob, at last", None)
        .expect("send");
    let body = bobs.encode().expect("encode");
    let submit = path(Endpoint::SubmitMessage, &room.to_url_path());

    // protocol-06 §4.1: the certificate must authenticate the domain in From. c.example's
    // valid certificate claiming to be b.example:
    let before = view(&net, "a.example", &rooms).await;
    let forged = Caller::new(
        &net,
        identity_of(&net, "c.example"),
        "a.example",
        "b.example",
    );
    let r = forged
        .send(Method::POST, &submit, body.clone())
        .await
        .expect("reply");
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(
        r.text().contains("does not authenticate b.example"),
        "{}",
        r.text()
    );
    assert_eq!(view(&net, "a.example", &rooms).await, before);
    honest_round(&mut net, &room).await;

    // A certificate for another domain (issued by the federation CA to d.example, a provider
    // nobody federates with): claiming b.example is refused; as itself, d.example may not
    // speak for bob.
    let before = view(&net, "a.example", &rooms).await;
    let d_tls = minted_identity(&net, "d.example", "d.example", &net.ca_dir());
    let r = Caller::new(&net, d_tls.clone(), "a.example", "b.example")
        .send(Method::POST, &submit, body.clone())
        .await
        .expect("reply");
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = Caller::new(&net, d_tls, "a.example", "d.example")
        .send(Method::POST, &submit, body.clone())
        .await
        .expect("reply");
    assert!(matches!(submit_outcome(&r), SubmitOutcome::NotAllowed));
    assert_eq!(view(&net, "a.example", &rooms).await, before);
    honest_round(&mut net, &room).await;

    // No client certificate at all: the handshake or the first request fails.
    let before = view(&net, "a.example", &rooms).await;
    let anonymous = Caller::new(&net, tls_config(&net, None), "a.example", "b.example");
    let r = anonymous.send(Method::POST, &submit, body.clone()).await;
    assert!(r.is_err(), "served without a client certificate: {r:?}");
    // A certificate for b.example from a CA the providers do not trust.
    let rogue = minted_identity(&net, "rogue-b", "b.example", &net.dir.0.join("rogue-ca"));
    let r = Caller::new(&net, rogue, "a.example", "b.example")
        .send(Method::POST, &submit, body.clone())
        .await;
    assert!(r.is_err(), "served with an untrusted certificate: {r:?}");
    assert_eq!(view(&net, "a.example", &rooms).await, before);
    honest_round(&mut net, &room).await;

    // Host names another provider (b's certificate, a's listener): 421, whatever the
    // port; a From naming the provider called (a provider never calls itself): 403.
    let before = view(&net, "a.example", &rooms).await;
    for host in ["c.example", "c.example:443", "a.example.evil"] {
        let mut to_c = Caller::honest(&net, "b.example", "a.example");
        to_c.host = host.to_string();
        let r = to_c
            .send(Method::POST, &submit, body.clone())
            .await
            .expect("reply");
        assert_eq!(r.status, StatusCode::MISDIRECTED_REQUEST, "Host {host}");
    }
    let r = Caller::new(
        &net,
        identity_of(&net, "b.example"),
        "a.example",
        "a.example",
    )
    .send(Method::POST, &submit, body.clone())
    .await
    .expect("reply");
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    // The path names a domain served elsewhere (identifierQuery, consent): 421.
    let b_to_a = Caller::honest(&net, "b.example", "a.example");
    for endpoint in [
        Endpoint::IdentifierQuery,
        Endpoint::RequestConsent,
        Endpoint::UpdateConsent,
    ] {
        let r = b_to_a.post(endpoint, "c.example", vec![0]).await;
        assert_eq!(r.status, StatusCode::MISDIRECTED_REQUEST, "{endpoint:?}");
    }
    assert_eq!(view(&net, "a.example", &rooms).await, before);
    honest_round(&mut net, &room).await;

    // The message was b's to send all along.
    let r = Caller::honest(&net, "b.example", "a.example")
        .post(Endpoint::SubmitMessage, &room.to_url_path(), body)
        .await;
    assert!(matches!(submit_outcome(&r), SubmitOutcome::Accepted { .. }));
    net.pump(&room).await;
    assert_eq!(
        net.texts("alice").last().map(String::as_str),
        Some("bob, at last")
    );
}

// ---- requests about users the peer does not serve ---------------------------------------------

/// A consent entry.
fn consent(op: ConsentOperation, requester: &UserUri, target: &UserUri) -> Vec<u8> {
    ConsentEntry {
        operation: op,
        requester_uri: MimiUri::from(requester.clone()).into(),
        target_uri: MimiUri::from(target.clone()).into(),
        room_id: None,
        consent_extensions: openmls::prelude::AppDataDictionary::default(),
    }
    .encode()
    .expect("encode")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_acting_for_users_they_do_not_serve() {
    let (mut net, room) = three_party().await;
    net.add_user("eve", "c.example").await;
    let rooms = [&room];
    let b_to_a = Caller::honest(&net, "b.example", "a.example");
    let c_to_a = Caller::honest(&net, "c.example", "a.example");
    let room_arg = room.to_url_path();
    let (alice, bob, cathy, eve) = (
        net.client("alice").user_uri().clone(),
        net.client("bob").user_uri().clone(),
        net.client("cathy").user_uri().clone(),
        net.client("eve").user_uri().clone(),
    );

    // protocol-06 §5.4: a follower submits only its own users' messages. b.example passes on
    // a message of cathy's (c.example), as cathy's; then one that c.example got accepted,
    // as bob's: the hub cannot see the MLS sender of a PrivateMessage, but it knows what it
    // accepted from whom in this epoch.
    let before = view(&net, "a.example", &rooms).await;
    let cathys = net
        .client("cathy")
        .send_text(&room, fresh_id(), "cathy's own", None)
        .expect("send");
    let r = b_to_a
        .post(
            Endpoint::SubmitMessage,
            &room_arg,
            cathys.encode().expect("encode"),
        )
        .await;
    assert!(matches!(submit_outcome(&r), SubmitOutcome::NotAllowed));
    assert_eq!(view(&net, "a.example", &rooms).await, before);
    let c = net.provider("c.example").clone();
    let outcome = c.client_submit(&room, &cathys).await.expect("submit");
    assert!(matches!(outcome.outcome, SubmitOutcome::Accepted { .. }));
    net.pump(&room).await;
    let FanoutPayload::Application { message, .. } =
        last_fanout(&net, "b.example", "bob").await.payload
    else {
        panic!("the last fanout at b is cathy's message")
    };
    let replay = SubmitMessageRequest {
        protocol: cathys.protocol,
        app_message: message,
        sending_uri: MimiUri::from(bob.clone()).into(),
    };
    let before = view(&net, "a.example", &rooms).await;
    let r = b_to_a
        .post(
            Endpoint::SubmitMessage,
            &room_arg,
            replay.encode().expect("encode"),
        )
        .await;
    assert!(matches!(submit_outcome(&r), SubmitOutcome::NotAllowed));
    // A user who has no client in the room (eve, of c.example), sending cathy's message.
    let mut as_eve = net
        .client("cathy")
        .send_text(&room, fresh_id(), "spoof", None)
        .expect("send");
    as_eve.sending_uri = MimiUri::from(eve.clone()).into();
    let r = c_to_a
        .post(
            Endpoint::SubmitMessage,
            &room_arg,
            as_eve.encode().expect("encode"),
        )
        .await;
    assert!(matches!(submit_outcome(&r), SubmitOutcome::NotAllowed));
    assert_eq!(view(&net, "a.example", &rooms).await, before);
    honest_round(&mut net, &room).await;

    // protocol-06 §5.2, key material of alice (a.example's user). c.example passes on a
    // request of bob's (b.example) for a room hosted by a.example: c is neither bob's
    // provider nor the room's hub. Then c.example's own user, with bob's credential (re-signed
    // with a key of c's), and with a credential from a client CA c.example made up.
    let before = view(&net, "a.example", &rooms).await;
    let alice_arg = alice.to_url_path();
    let bobs_request = net
        .client("bob")
        .key_material_request(&alice, &room)
        .expect("request");
    let r = c_to_a
        .post(
            Endpoint::KeyMaterial,
            &alice_arg,
            bobs_request.encode().expect("encode"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(r.text().contains("neither the provider"), "{}", r.text());
    let bobs_credential = net.client("bob").credential().credential.clone();
    let impostor = mimi_client::MimiClient::new(
        net.client("cathy").client_uri().clone(),
        cathy.clone(),
        |_| Ok(bobs_credential),
    )
    .expect("client");
    let now = (mimi_server::provider::now_ms() / 1000) as i64;
    let made_up_ca =
        mimi_credential::ClientCa::generate(&domain("c.example"), now - 60, 86_400).expect("ca");
    let ghost_user = UserUri::parse("mimi://c.example/u/ghost").expect("user");
    let ghost_client = ClientUri::parse("mimi://c.example/d/ghost/1").expect("client");
    let ghost = mimi_client::MimiClient::new(ghost_client.clone(), ghost_user.clone(), |key| {
        Ok(made_up_ca
            .issue(&ghost_client, &ghost_user, key, now - 60, now + 3600)
            .expect("issue")
            .credential)
    })
    .expect("client");
    for forger in [&impostor, &ghost] {
        let request = forger.key_material_request(&alice, &room).expect("request");
        let r = c_to_a
            .post(
                Endpoint::KeyMaterial,
                &alice_arg,
                request.encode().expect("encode"),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
        assert!(r.text().contains("requesterCredential"), "{}", r.text());
    }
    // The hub relays key material only for participants of its room: eve (c.example, not in
    // the room) asks for bob's. And never for a room it does not host.
    let b_before = view(&net, "b.example", &rooms).await;
    let eves_request = net
        .client("eve")
        .key_material_request(&bob, &room)
        .expect("request");
    let r = c_to_a
        .post(
            Endpoint::KeyMaterial,
            &bob.to_url_path(),
            eves_request.encode().expect("encode"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(r.text().contains("not a participant"), "{}", r.text());
    let elsewhere = RoomUri::parse("mimi://a.example/r/elsewhere").expect("room");
    let request = net
        .client("cathy")
        .key_material_request(&bob, &elsewhere)
        .expect("request");
    let r = c_to_a
        .post(
            Endpoint::KeyMaterial,
            &bob.to_url_path(),
            request.encode().expect("encode"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(view(&net, "a.example", &rooms).await, before);
    assert_eq!(view(&net, "b.example", &rooms).await, b_before);
    // The honest requests: cathy asks a.example for alice's, and through the hub for bob's.
    for target in [&alice, &bob] {
        let request = net
            .client("cathy")
            .key_material_request(target, &room)
            .expect("request");
        let r = c_to_a
            .post(
                Endpoint::KeyMaterial,
                &target.to_url_path(),
                request.encode().expect("encode"),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let response = KeyMaterialResponse::decode(&r.body).expect("response");
        assert_eq!(response.user_status, KeyMaterialUserCode::Success);
        assert_eq!(kps(&response).len(), 1);
    }
    honest_round(&mut net, &room).await;

    // protocol-06 §5.7: requestConsent names a requester of the calling provider and a
    // target of ours; updateConsent the other way round.
    let before = view(&net, "a.example", &rooms).await;
    for (endpoint, entry, status) in [
        (
            Endpoint::RequestConsent,
            consent(ConsentOperation::Request, &bob, &alice),
            StatusCode::FORBIDDEN,
        ),
        (
            Endpoint::RequestConsent,
            consent(ConsentOperation::Request, &cathy, &bob),
            StatusCode::BAD_REQUEST,
        ),
        (
            Endpoint::UpdateConsent,
            consent(ConsentOperation::Revoke, &alice, &bob),
            StatusCode::FORBIDDEN,
        ),
        (
            Endpoint::UpdateConsent,
            consent(ConsentOperation::Revoke, &bob, &cathy),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let r = c_to_a.post(endpoint, "a.example", entry).await;
        assert_eq!(r.status, status, "{endpoint:?}: {}", r.text());
    }
    assert_eq!(view(&net, "a.example", &rooms).await, before);
    let r = c_to_a
        .post(
            Endpoint::RequestConsent,
            "a.example",
            consent(ConsentOperation::Request, &cathy, &alice),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let stored = net
        .provider("a.example")
        .store
        .consent(cathy.as_str(), alice.as_str(), None)
        .await
        .expect("consent");
    assert!(stored.is_some(), "the honest request is recorded");

    // protocol-06 §5.6: GroupInfo only for a user the room lets join (eve is not in it).
    let before = view(&net, "a.example", &rooms).await;
    let (request, _) = net
        .client("eve")
        .group_info_request(&room)
        .expect("request");
    let r = c_to_a
        .post(
            Endpoint::GroupInfo,
            &room_arg,
            request.encode().expect("encode"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let response = GroupInfoResponse::decode(&r.body).expect("response");
    assert!(matches!(response.outcome, GroupInfoOutcome::NotAuthorized));
    // protocol-06 §5.9: a report in the name of another provider's user.
    let report = mimi_types::wire::AbuseReport {
        reporting_user: mimi_types::wire::OptionalIdentifierUri(Some(IdentifierUri::from(
            MimiUri::from(bob.clone()),
        ))),
        alleged_abuser_uri: MimiUri::from(alice.clone()).into(),
        reason_code: mimi_types::wire::AbuseType(0),
        note: mimi_types::wire::Utf8String::default(),
        messages: vec![],
        abuse_extensions: openmls::prelude::AppDataDictionary::default(),
    };
    let r = c_to_a
        .post(
            Endpoint::ReportAbuse,
            &room_arg,
            report.encode().expect("encode"),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(
        r.text().contains("not a user of the reporting provider"),
        "{}",
        r.text()
    );
    assert_eq!(view(&net, "a.example", &rooms).await, before);
    honest_round(&mut net, &room).await;
}

// ---- commits that break the room's rules --------------------------------------------------------

/// A commit of bob's that the client library would never build: a GroupContextExtensions
/// proposal dropping `external_senders` (and with it the hub). Built on a copy of bob's
/// OpenMLS state; his client is untouched.
/// A copy of the OpenMLS state of one of the net's clients, and its signature key pair, to
/// build what its client library would never send.
fn openmls_copy(
    net: &mut Net,
    name: &str,
) -> (
    mimi_client::ClientState,
    openmls_rust_crypto::OpenMlsRustCrypto,
    openmls_basic_credential::SignatureKeyPair,
) {
    use openmls::prelude::OpenMlsProvider as _;
    let state = net.client(name).state().expect("state");
    let provider = openmls_rust_crypto::OpenMlsRustCrypto::default();
    provider
        .storage()
        .values
        .write()
        .expect("lock")
        .extend(state.storage.clone());
    let signer = openmls_basic_credential::SignatureKeyPair::read(
        provider.storage(),
        &state.signature_public_key,
        mimi_room::profile::CIPHERSUITE.signature_algorithm(),
    )
    .expect("signer");
    (state, provider, signer)
}

fn commit_dropping_the_hub(net: &mut Net, room: &RoomUri) -> UpdateRequest {
    use openmls::prelude::tls_codec::Serialize as _;
    use openmls::prelude::{ExtensionType, GroupId, MlsGroup, OpenMlsProvider as _};
    let (state, provider, signer) = openmls_copy(net, "bob");
    let (_, group_id) = state
        .rooms
        .iter()
        .find(|(r, _)| r == room)
        .expect("bob is in the room");
    let mut group = MlsGroup::load(provider.storage(), &GroupId::from_slice(group_id))
        .expect("load")
        .expect("group");
    let mut extensions = group.extensions().clone();
    assert!(extensions.remove(ExtensionType::ExternalSenders).is_some());
    let bundle = group
        .commit_builder()
        .propose_group_context_extensions(extensions)
        .expect("proposal")
        .load_psks(provider.storage())
        .expect("psks")
        .use_ratchet_tree_extension(false)
        .create_group_info(true)
        .build(provider.rand(), provider.crypto(), &signer, |_| true)
        .expect("build")
        .stage_commit(&provider)
        .expect("stage");
    let (commit, _, group_info) = bundle.into_contents();
    UpdateRequest {
        bundle: HandshakeBundle::Commit {
            commit: MlsMessage::from_bytes(commit.tls_serialize_detached().expect("encode"))
                .expect("commit"),
            welcome: None,
            group_info: GroupInfoOption::Full(
                GroupInfo::from_bytes(
                    group_info
                        .expect("group info")
                        .tls_serialize_detached()
                        .expect("encode"),
                )
                .expect("group info"),
            ),
            ratchet_tree: RatchetTreeOption::DistributionService,
        },
    }
}

/// bob's key material for `target` through the hub.
async fn key_packages_for(
    net: &mut Net,
    room: &RoomUri,
    target: &str,
) -> Vec<mimi_types::wire::KeyPackage> {
    let b = net.provider("b.example").clone();
    let uri = net.client(target).user_uri().clone();
    let request = net
        .client("bob")
        .key_material_request(&uri, room)
        .expect("request");
    let response = b
        .client_key_material(room, &request)
        .await
        .expect("key material");
    kps(&response)
}

/// Send `commit` as provider `from` (its own certificate) and expect `notAllowed` with a
/// description containing `why`; the hub's state must not change.
async fn refused_commit(
    net: &mut Net,
    room: &RoomUri,
    from: &str,
    commit: &UpdateRequest,
    why: &str,
) {
    let rooms = [room];
    let before = view(net, "a.example", &rooms).await;
    let r = Caller::honest(net, from, "a.example")
        .post(
            Endpoint::Update,
            &room.to_url_path(),
            commit.encode().expect("encode"),
        )
        .await;
    let response = update_outcome(&r);
    assert!(
        matches!(response.outcome, UpdateOutcome::NotAllowed),
        "{response:?}"
    );
    let description = response.error_description.as_str().to_string();
    assert!(description.contains(why), "{description:?} lacks {why:?}");
    assert_eq!(view(net, "a.example", &rooms).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_that_break_the_room_policy() {
    let (mut net, room) = three_party().await;
    net.add_user("dave", "c.example").await;
    net.add_user("eve", "c.example").await;
    let (bob, cathy, dave) = (
        net.client("bob").user(),
        net.client("cathy").user(),
        net.client("dave").user(),
    );

    // room-policy-03 §8.1.1: an ordinary user adds only ordinary users (canAddParticipant
    // lists role 2 only).
    let dave_kps = key_packages_for(&mut net, &room, "dave").await;
    let commit = net
        .client("bob")
        .add_users(
            &room,
            &[(dave.clone(), cooperative::GROUP_ADMIN, dave_kps.clone())],
        )
        .expect("commit");
    net.client("bob").commit_rejected(&room).expect("drop");
    refused_commit(
        &mut net,
        &room,
        "b.example",
        &commit,
        "does not authorize moving a user from role 0 to role 3",
    )
    .await;
    honest_round(&mut net, &room).await;

    // §8.1.3 role escalation: bob makes himself a group admin; §8.1.3 ban: bob bans cathy.
    for (change, why) in [
        (
            (bob.clone(), cooperative::GROUP_ADMIN),
            "lacks canChangeOwnRole",
        ),
        ((cathy.clone(), cooperative::BANNED), "lacks canBan"),
    ] {
        let commit = net
            .client("bob")
            .change_roles(&room, &[change])
            .expect("commit");
        net.client("bob").commit_rejected(&room).expect("drop");
        refused_commit(&mut net, &room, "b.example", &commit, why).await;
    }
    // §3: redefining the roles needs canChangeRoleDefinitions.
    let roles = net.client("bob").room_state(&room).expect("state").roles;
    let proposal = RoomComponentUpdate::Roles(roles)
        .to_proposal()
        .expect("proposal");
    let commit = net
        .client("bob")
        .commit(&room, vec![], vec![], vec![proposal])
        .expect("commit");
    net.client("bob").commit_rejected(&room).expect("drop");
    refused_commit(
        &mut net,
        &room,
        "b.example",
        &commit,
        "lacks canChangeRoleDefinitions",
    )
    .await;
    honest_round(&mut net, &room).await;

    // protocol-06 §7.2: the hub stays an external sender (here through a
    // GroupContextExtensions proposal, which MIMI rooms do not allow at all).
    let commit = commit_dropping_the_hub(&mut net, &room);
    refused_commit(
        &mut net,
        &room,
        "b.example",
        &commit,
        "GroupContextExtensions",
    )
    .await;
    honest_round(&mut net, &room).await;

    // protocol-06 §5.3, §7.5: the participant list and the MLS membership change together.
    // dave's client added without a participant-list entry; cathy taken off the list with
    // her client left in; cathy's client removed while she stays on the list (a kick, which
    // needs canKick).
    let commit = net
        .client("bob")
        .commit(&room, dave_kps, vec![], vec![])
        .expect("commit");
    net.client("bob").commit_rejected(&room).expect("drop");
    refused_commit(
        &mut net,
        &room,
        "b.example",
        &commit,
        "is not a participant after the commit",
    )
    .await;
    let state = net.client("bob").room_state(&room).expect("state");
    let cathy_index = state
        .participants
        .participants
        .iter()
        .position(|p| p.user.uri() == &cathy)
        .expect("cathy is listed") as u32;
    let list_only = RoomComponentUpdate::ParticipantList(ParticipantListUpdate {
        changed_role_participants: vec![],
        removed_indices: vec![cathy_index],
        added_participants: vec![],
    })
    .to_proposal()
    .expect("proposal");
    let commit = net
        .client("bob")
        .commit(&room, vec![], vec![], vec![list_only])
        .expect("commit");
    net.client("bob").commit_rejected(&room).expect("drop");
    refused_commit(
        &mut net,
        &room,
        "b.example",
        &commit,
        "but still has clients",
    )
    .await;
    let cathy_leaves = net
        .client("bob")
        .leaves_of(&room, std::slice::from_ref(&cathy))
        .expect("leaves");
    let commit = net
        .client("bob")
        .commit(&room, vec![], cathy_leaves, vec![])
        .expect("commit");
    net.client("bob").commit_rejected(&room).expect("drop");
    refused_commit(&mut net, &room, "b.example", &commit, "lacks canKick").await;
    honest_round(&mut net, &room).await;

    // A commit of cathy's (c.example) submitted by b.example.
    let commit = net
        .client("cathy")
        .change_roles(&room, &[])
        .expect("commit");
    net.client("cathy").commit_rejected(&room).expect("drop");
    refused_commit(&mut net, &room, "b.example", &commit, "c.example client").await;

    // A non-member's commit: eve (c.example, not a participant) joins by external commit
    // with a GroupInfo she should not have.
    let info = {
        let hosted = net.provider("a.example").room(&room).await.expect("hosted");
        let hosted = hosted.lock().await;
        mimi_client::JoinInfo {
            group_info: hosted.room.group_info().clone(),
            ratchet_tree: hosted.room.ratchet_tree().expect("tree"),
            pending_proposals: vec![],
        }
    };
    let commit = net
        .client("eve")
        .join_by_external_commit(room.clone(), info, None)
        .expect("commit");
    refused_commit(
        &mut net,
        &room,
        "c.example",
        &commit,
        "eve is not a participant after the commit",
    )
    .await;
    net.client("eve").forget_room(&room);
    honest_round(&mut net, &room).await;

    // protocol-06 §5.3: a commit for an epoch that is gone: wrongEpoch with the current one.
    let late = net.client("bob").change_roles(&room, &[]).expect("commit");
    net.client("bob").commit_rejected(&room).expect("drop");
    let a = net.provider("a.example").clone();
    let moving = net
        .client("alice")
        .change_roles(&room, &[])
        .expect("commit");
    let outcome = a.client_update(&room, &moving).await.expect("update");
    assert!(
        matches!(outcome.outcome, UpdateOutcome::Success { .. }),
        "{outcome:?}"
    );
    net.pump(&room).await;
    let rooms = [&room];
    let before = view(&net, "a.example", &rooms).await;
    let current = before.engine_rooms[0].epoch;
    let r = Caller::honest(&net, "b.example", "a.example")
        .post(
            Endpoint::Update,
            &room.to_url_path(),
            late.encode().expect("encode"),
        )
        .await;
    match update_outcome(&r).outcome {
        UpdateOutcome::WrongEpoch { current_epoch } => assert_eq!(current_epoch, current),
        other => panic!("expected wrongEpoch, got {other:?}"),
    }
    assert_eq!(view(&net, "a.example", &rooms).await, before);
    honest_round(&mut net, &room).await;
}

// ---- Welcome routing and fanout ----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn welcome_routing_and_fanout_tricks() {
    let (mut net, room) = three_party().await;
    net.add_user("dave", "c.example").await;
    let dave = net.client("dave").user();
    let rooms = [&room];
    let member = cooperative::ORDINARY_USER;

    // protocol-06 §5.5: the hub routes a Welcome by the KeyPackageRefs in it, so every one
    // must be a client the commit adds. bob adds dave with the Welcome of another commit
    // (for other KeyPackages of dave's), then with none at all.
    let first = key_packages_for(&mut net, &room, "dave").await;
    let other = net
        .client("bob")
        .add_users(&room, &[(dave.clone(), member, first)])
        .expect("commit");
    net.client("bob").commit_rejected(&room).expect("drop");
    let HandshakeBundle::Commit {
        welcome: Some(stale_welcome),
        ..
    } = other.bundle
    else {
        panic!("an add carries a Welcome")
    };
    let second = key_packages_for(&mut net, &room, "dave").await;
    let commit = net
        .client("bob")
        .add_users(&room, &[(dave.clone(), member, second)])
        .expect("commit");
    net.client("bob").commit_rejected(&room).expect("drop");
    let with_welcome = |welcome| match &commit.bundle {
        HandshakeBundle::Commit {
            commit,
            group_info,
            ratchet_tree,
            ..
        } => UpdateRequest {
            bundle: HandshakeBundle::Commit {
                commit: commit.clone(),
                welcome,
                group_info: group_info.clone(),
                ratchet_tree: ratchet_tree.clone(),
            },
        },
        HandshakeBundle::Proposals { .. } => panic!("a commit"),
    };
    refused_commit(
        &mut net,
        &room,
        "b.example",
        &with_welcome(Some(stale_welcome.clone())),
        "does not add",
    )
    .await;
    refused_commit(
        &mut net,
        &room,
        "b.example",
        &with_welcome(None),
        "must carry their Welcome",
    )
    .await;
    honest_round(&mut net, &room).await;

    // At a follower: the room's hub sends b.example a Welcome for KeyPackages b never handed
    // out (dave's, of c.example). Acknowledged (201), delivered to nobody, nobody joins.
    let before = view(&net, "b.example", &rooms).await;
    let welcome_bytes = {
        let mut bytes = vec![0, 1, 0, 3]; // mls10, mls_welcome
        bytes.extend_from_slice(stale_welcome.as_bytes());
        bytes
    };
    let foreign_welcome = FanoutMessage {
        timestamp: mimi_server::provider::now_ms(),
        payload: FanoutPayload::Welcome {
            message: MlsMessage::from_bytes(welcome_bytes).expect("welcome"),
            ratchet_tree: RatchetTreeOption::DistributionService,
        },
    };
    let a_to_b = Caller::honest(&net, "a.example", "b.example");
    let r = a_to_b
        .post(
            Endpoint::Notify,
            &room.to_url_path(),
            foreign_welcome.encode().expect("encode"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(view(&net, "b.example", &rooms).await, before);

    // protocol-06 §5.5: fanout only from the room's hub. c.example notifies b.example of a
    // message in a.example's room (a real one, re-stamped so it is new to b).
    let mut genuine = last_fanout(&net, "b.example", "bob").await;
    genuine.timestamp += 1;
    let c_to_b = Caller::honest(&net, "c.example", "b.example");
    let r = c_to_b
        .post(
            Endpoint::Notify,
            &room.to_url_path(),
            genuine.encode().expect("encode"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(r.text().contains("is not the hub"), "{}", r.text());
    // Nor to the hub itself, about its own room.
    let c_to_a = Caller::honest(&net, "c.example", "a.example");
    let a_before = view(&net, "a.example", &rooms).await;
    let r = c_to_a
        .post(
            Endpoint::Notify,
            &room.to_url_path(),
            genuine.encode().expect("encode"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(view(&net, "b.example", &rooms).await, before);
    assert_eq!(view(&net, "a.example", &rooms).await, a_before);
    honest_round(&mut net, &room).await;

    // A hub's fanout for one of its rooms the follower has no member in: acknowledged, and
    // nothing is stored, not even as seen: once dave is a member there, the same body is
    // delivered to him.
    let unfollowed = RoomUri::parse("mimi://a.example/r/unfollowed").expect("room");
    let c_rooms = [&room, &unfollowed];
    let c_before = view(&net, "c.example", &c_rooms).await;
    let body = genuine.encode().expect("encode");
    let a_to_c = Caller::honest(&net, "a.example", "c.example");
    let r = a_to_c
        .post(Endpoint::Notify, &unfollowed.to_url_path(), body.clone())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(view(&net, "c.example", &c_rooms).await, c_before);
    let c = net.provider("c.example").clone();
    let dave_client = net.client("dave").client_uri().clone();
    c.store
        .set_follower_member(unfollowed.as_str(), dave_client.as_str(), true)
        .await
        .expect("member");
    let r = a_to_c
        .post(Endpoint::Notify, &unfollowed.to_url_path(), body)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let delivered = c.events(&dave_client, 0, 100).await.expect("events");
    assert_eq!(delivered.len(), 1, "delivered once dave follows the room");
    assert_eq!(delivered[0].room, unfollowed.as_str());
    // (dave's client is not in that room: skip the event in the test's pump, and leave.)
    if let Some(t) = net.clients.get_mut("dave") {
        t.cursor = delivered[0].cursor;
    }
    c.store
        .set_follower_member(unfollowed.as_str(), dave_client.as_str(), false)
        .await
        .expect("leave");
    honest_round(&mut net, &room).await;
}

// ---- malformed, oversized, truncated bodies; slow connections ------------------------------------

type TlsStream = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// A raw TLS connection, for requests hyper would not send.
async fn raw_stream(tls: Arc<ClientConfig>, port: u16, server_name: &str) -> TlsStream {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    tokio_rustls::TlsConnector::from(tls)
        .connect(
            ServerName::try_from(server_name.to_string()).expect("name"),
            tcp,
        )
        .await
        .expect("TLS")
}

/// Read a response head (status line and headers, lower-cased) within 10 s.
async fn read_head<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut R,
) -> Result<(u16, String), String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !head.ends_with(b"\r\n\r\n") {
        match tokio::time::timeout_at(deadline, reader.read(&mut byte)).await {
            Ok(Ok(1)) => head.push(byte[0]),
            Ok(Ok(_)) => return Err("connection closed before a response".into()),
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err("no response in time".into()),
        }
    }
    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line: {text}"))?;
    Ok((status, text))
}

/// Whether the peer closes the connection (EOF or reset) within `within`, reading and
/// discarding whatever comes first.
async fn closes_within<R: tokio::io::AsyncRead + Unpin>(reader: &mut R, within: Duration) -> bool {
    let mut sink = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, reader.read(&mut sink)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// Send a request head and `body_len` bytes of body in the background (declared with
/// `framing`), and return the response status and head, and whether the server then closed
/// the connection although the body was not all read.
async fn oversized(net: &Net, path: &str, framing: &str, body_len: usize) -> (u16, String, bool) {
    let stream = raw_stream(
        identity_of(net, "b.example"),
        net.federation_port("a.example"),
        "a.example",
    )
    .await;
    let (mut reader, mut writer) = tokio::io::split(stream);
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: a.example\r\nfrom: mimi@b.example\r\n{framing}\r\n\r\n"
    );
    let chunked = framing.contains("chunked");
    let writing = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        let chunk = vec![0x41u8; 64 * 1024];
        let mut sent = 0;
        while sent < body_len {
            let n = chunk.len().min(body_len - sent);
            if chunked {
                writer.write_all(format!("{n:x}\r\n").as_bytes()).await?;
                writer.write_all(&chunk[..n]).await?;
                writer.write_all(b"\r\n").await?;
            } else {
                writer.write_all(&chunk[..n]).await?;
            }
            sent += n;
        }
        if chunked {
            writer.write_all(b"0\r\n\r\n").await?;
        }
        writer.flush().await
    });
    let (status, head) = read_head(&mut reader).await.expect("a response");
    let closed = closes_within(&mut reader, Duration::from_secs(5)).await;
    writing.abort();
    (status, head, closed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_oversized_and_truncated_bodies() {
    let (mut net, room) = three_party().await;
    let rooms = [&room];
    let room_arg = room.to_url_path();
    let b_to_a = Caller::honest(&net, "b.example", "a.example");
    let limits = net.provider("a.example").config.file.limits;

    // Over the limits (1 MiB; 16 MiB for /update and /notify): 413, and the connection is
    // closed rather than the rest of the body read. Declared by Content-Length or not.
    let before = view(&net, "a.example", &rooms).await;
    for (endpoint, limit) in [
        (Endpoint::SubmitMessage, limits.max_body_bytes),
        (Endpoint::Update, limits.max_update_bytes),
    ] {
        let over = limit + 1;
        let (status, head, closed) = oversized(
            &net,
            &path(endpoint, &room_arg),
            &format!("content-length: {}", over + (4 << 20)),
            over + (4 << 20),
        )
        .await;
        assert_eq!(status, 413, "{endpoint:?}: {head}");
        assert!(head.contains("connection: close"), "{head}");
        assert!(
            closed,
            "{endpoint:?}: the connection stays open after a 413"
        );
    }
    let (status, head, closed) = oversized(
        &net,
        &path(Endpoint::SubmitMessage, &room_arg),
        "transfer-encoding: chunked",
        limits.max_body_bytes + (1 << 20),
    )
    .await;
    assert_eq!(status, 413, "{head}");
    assert!(closed, "the connection stays open after a chunked 413");
    assert_eq!(view(&net, "a.example", &rooms).await, before);
    honest_round(&mut net, &room).await;

    // Length-lying TLS encodings: vectors that claim up to 2^30 - 1 bytes (the largest MLS
    // varint), non-minimal lengths, truncations of a valid body, a trailing byte, a batch of
    // more FanoutMessages than allowed. All 400, nothing stored.
    let before = view(&net, "a.example", &rooms).await;
    let valid = net
        .client("bob")
        .send_text(&room, fresh_id(), "valid, in the end", None)
        .expect("send")
        .encode()
        .expect("encode");
    let mut cases: Vec<(&str, Endpoint, Vec<u8>)> = vec![
        (
            "IdentifierUri of 2^30-1 bytes",
            Endpoint::RequestConsent,
            vec![1, 0xbf, 0xff, 0xff, 0xff, b'm', b'i'],
        ),
        (
            "group_id of 2^30-1 bytes",
            Endpoint::SubmitMessage,
            vec![1, 0, 1, 0, 2, 0xbf, 0xff, 0xff, 0xff, 0],
        ),
        (
            "non-minimal length",
            Endpoint::RequestConsent,
            [vec![1, 0x40, 0x05], b"mimi:".to_vec()].concat(),
        ),
        (
            "length prefixes only",
            Endpoint::Update,
            [0x80u8, 0xff, 0xff, 0xff].repeat(1000),
        ),
        (
            "trailing byte",
            Endpoint::SubmitMessage,
            [valid.clone(), vec![0]].concat(),
        ),
        ("empty", Endpoint::SubmitMessage, vec![]),
    ];
    for cut in [1, 5, valid.len() / 2, valid.len() - 1] {
        cases.push(("truncated", Endpoint::SubmitMessage, valid[..cut].to_vec()));
    }
    for (what, endpoint, body) in cases {
        let arg = if endpoint == Endpoint::RequestConsent {
            "a.example".to_string()
        } else {
            room_arg.clone()
        };
        let r = b_to_a.post(endpoint, &arg, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}: {}", r.text());
    }
    // At a follower: a batch of MAX_FANOUT_BATCH + 1 (tiny, valid) FanoutMessages, and a
    // batch whose last message is cut short: nothing of either is delivered.
    let b_before = view(&net, "b.example", &rooms).await;
    let mut genuine = last_fanout(&net, "b.example", "bob").await;
    let a_to_b = Caller::honest(&net, "a.example", "b.example");
    let mut batch = Vec::new();
    for i in 0..=mimi_types::wire::MAX_FANOUT_BATCH as u64 {
        genuine.timestamp = i;
        batch.push(genuine.clone());
    }
    let body = FanoutMessage::encode_batch(&batch).expect("batch");
    let r = a_to_b.post(Endpoint::Notify, &room_arg, body.clone()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let cut = &body[..body.len() - 3];
    let r = a_to_b.post(Endpoint::Notify, &room_arg, cut.to_vec()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    // A Welcome (well-formed to OpenMLS) whose only KeyPackageRef is empty, after a valid
    // message in the same batch: neither is recorded.
    let empty_ref_welcome = [
        &[0u8, 1, 0, 3][..],       // mls10, mls_welcome
        &[0, 1],                   // cipher_suite
        &[5, 0, 1, 0xaa, 1, 0xbb], // secrets: new_member<V> empty, ciphertext
        &[1, 0xcc],                // encrypted_group_info
    ]
    .concat();
    genuine.timestamp = u64::MAX;
    let batch = [
        genuine.clone(),
        FanoutMessage {
            timestamp: 1,
            payload: FanoutPayload::Welcome {
                message: MlsMessage::from_bytes(empty_ref_welcome).expect("a Welcome"),
                ratchet_tree: RatchetTreeOption::DistributionService,
            },
        },
    ];
    let r = a_to_b
        .post(
            Endpoint::Notify,
            &room_arg,
            FanoutMessage::encode_batch(&batch).expect("batch"),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(view(&net, "b.example", &rooms).await, b_before);
    assert_eq!(view(&net, "a.example", &rooms).await, before);
    honest_round(&mut net, &room).await;

    // A body cut off by the connection: Content-Length promises more than comes before the
    // client closes. No 5xx, nothing stored.
    let before = view(&net, "a.example", &rooms).await;
    let mut stream = raw_stream(
        identity_of(&net, "b.example"),
        net.federation_port("a.example"),
        "a.example",
    )
    .await;
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: a.example\r\nfrom: mimi@b.example\r\ncontent-length: {}\r\n\r\n",
        path(Endpoint::SubmitMessage, &room_arg),
        valid.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    stream
        .write_all(&valid[..valid.len() / 2])
        .await
        .expect("write");
    stream.shutdown().await.expect("shutdown");
    if let Ok((status, head)) = read_head(&mut stream).await {
        assert!((400..500).contains(&status), "{head}");
    }
    drop(stream);
    assert_eq!(view(&net, "a.example", &rooms).await, before);
    honest_round(&mut net, &room).await;

    // A well-formed, validly signed groupInfo request of a participant whose HPKE key is not
    // a key: the request is the peer's fault, so 400, not a retryable 503 (docs/security.md
    // G8), and nothing changes.
    {
        use openmls_traits::signatures::Signer as _;
        let (_, _, signer) = openmls_copy(&mut net, "bob");
        let (mut request, _) = net
            .client("bob")
            .group_info_request(&room)
            .expect("request");
        request.group_info_public_key = vec![7u8; 5].into();
        let tbs = request.tbs_bytes().expect("tbs");
        request.signature = signer
            .sign(
                &mimi_types::wire::sign_content(mimi_types::wire::GROUP_INFO_REQUEST_LABEL, &tbs)
                    .expect("content"),
            )
            .expect("sign")
            .into();
        let before = view(&net, "a.example", &rooms).await;
        let r = b_to_a
            .post(
                Endpoint::GroupInfo,
                &room_arg,
                request.encode().expect("encode"),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
        assert!(r.text().contains("groupInfoPublicKey"), "{}", r.text());
        assert_eq!(view(&net, "a.example", &rooms).await, before);
    }

    // Slow connections: TCP connections that never start TLS, and TLS connections that send
    // half a request head and wait. Honest peers are served meanwhile.
    let port = net.federation_port("a.example");
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect"),
        );
    }
    let mut half = Vec::new();
    for _ in 0..5 {
        let mut s = raw_stream(identity_of(&net, "b.example"), port, "a.example").await;
        s.write_all(b"POST /v1/submitMessage/a.example/r/clubhouse HTTP/1.1\r\nhost: a.ex")
            .await
            .expect("write");
        half.push(s);
    }
    honest_round(&mut net, &room).await;
    drop(idle);
    drop(half);

    // The valid message, sent whole, is accepted.
    let r = b_to_a.post(Endpoint::SubmitMessage, &room_arg, valid).await;
    assert!(matches!(submit_outcome(&r), SubmitOutcome::Accepted { .. }));
    net.pump(&room).await;
    assert_eq!(
        net.texts("alice").last().map(String::as_str),
        Some("valid, in the end")
    );
}

// ---- a flood from one peer ------------------------------------------------------------------------

/// How many requests the flooding peer sends, over how many connections.
const FLOOD: usize = 320;
const FLOOD_CONNECTIONS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_peer_changes_nothing_and_honest_peers_are_served() {
    let (mut net, room) = three_party().await;
    net.add_user("eve", "c.example").await;
    let rooms = [&room];
    let room_arg = room.to_url_path();
    let alice = net.client("alice").user_uri().clone();

    // What c.example floods a.example with: refused bodies of every kind, each answered
    // without a state change (4xx, or a protocol refusal in a 200), or 429 once a rate limit
    // applies.
    let bobs_request = net
        .client("bob")
        .key_material_request(&alice, &room)
        .expect("request")
        .encode()
        .expect("encode");
    let mut cathys_replay = net
        .client("cathy")
        .send_text(&room, fresh_id(), "not to be sent", None)
        .expect("send");
    cathys_replay.sending_uri = net.client("eve").user().into();
    let eves_group_info = net
        .client("eve")
        .group_info_request(&room)
        .expect("request")
        .0
        .encode()
        .expect("encode");
    let junk_fanout = last_fanout(&net, "a.example", "alice").await;
    let kinds: Vec<(Endpoint, String, Vec<u8>)> = vec![
        (Endpoint::SubmitMessage, room_arg.clone(), vec![1, 2, 3]),
        (
            Endpoint::SubmitMessage,
            room_arg.clone(),
            cathys_replay.encode().expect("encode"),
        ),
        (Endpoint::Update, room_arg.clone(), vec![0; 64]),
        (Endpoint::KeyMaterial, alice.to_url_path(), bobs_request),
        (Endpoint::GroupInfo, room_arg.clone(), eves_group_info),
        // As the hub of its own rooms, c.example notifies a.example, which follows none.
        (
            Endpoint::Notify,
            "c.example/r/flood".into(),
            junk_fanout.encode().expect("encode"),
        ),
        (Endpoint::RequestConsent, "a.example".into(), vec![9; 40]),
    ];
    let kinds = Arc::new(kinds);
    let flooder = Caller::honest(&net, "c.example", "a.example");

    net.settle().await;
    let before = view(&net, "a.example", &rooms).await;
    let mut tasks = Vec::new();
    for worker in 0..FLOOD_CONNECTIONS {
        let (flooder, kinds) = (flooder.clone(), kinds.clone());
        tasks.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            let mut conn: Option<Conn> = None;
            for i in 0..FLOOD / FLOOD_CONNECTIONS {
                let (endpoint, arg, body) = &kinds[(worker + i) % kinds.len()];
                if conn.is_none() {
                    conn = Conn::open(flooder.tls.clone(), flooder.port, &flooder.server)
                        .await
                        .ok();
                }
                let Some(c) = conn.as_mut() else {
                    statuses.push(0);
                    continue;
                };
                let headers = flooder.headers();
                let headers: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                match c
                    .send(Method::POST, &path(*endpoint, arg), &headers, body.clone())
                    .await
                {
                    Ok(r) => {
                        let code = match *endpoint {
                            Endpoint::SubmitMessage if r.status == StatusCode::OK => {
                                assert!(matches!(submit_outcome(&r), SubmitOutcome::NotAllowed));
                                200
                            }
                            _ => r.status.as_u16(),
                        };
                        statuses.push(code);
                        if r.headers.get("connection").is_some_and(|v| v == "close") {
                            conn = None;
                        }
                    }
                    // A limit may close the flooder's connection: open another.
                    Err(_) => {
                        statuses.push(0);
                        conn = None;
                    }
                }
            }
            statuses
        }));
    }

    // Meanwhile bob (b.example) keeps sending, each message answered in time.
    let b = net.provider("b.example").clone();
    let honest = 20;
    let started = std::time::Instant::now();
    for i in 0..honest {
        let request = net
            .client("bob")
            .send_text(&room, fresh_id(), &format!("during the flood {i}"), None)
            .expect("send");
        let outcome =
            tokio::time::timeout(Duration::from_secs(10), b.client_submit(&room, &request))
                .await
                .expect("an honest peer is answered during a flood")
                .expect("submit");
        assert!(
            matches!(outcome.outcome, SubmitOutcome::Accepted { .. }),
            "{outcome:?}"
        );
    }
    let honest_elapsed = started.elapsed();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.extend(t.await.expect("flood task"));
    }
    assert_eq!(statuses.len(), FLOOD);
    let served = statuses.iter().filter(|s| **s != 0 && **s != 429).count();
    for s in &statuses {
        assert!(
            *s == 0 || *s == 429 || (200..500).contains(s),
            "a flood request got {s}"
        );
    }
    eprintln!(
        "flood: {} requests, {served} answered without a limit, {} limited (429), {} cut; \
         {honest} honest messages in {honest_elapsed:?}",
        statuses.len(),
        statuses.iter().filter(|s| **s == 429).count(),
        statuses.iter().filter(|s| **s == 0).count(),
    );

    // Only bob's messages changed the hub: the room moved by exactly `honest` events, alice
    // got exactly those, nothing else was written.
    net.pump(&room).await;
    let after = view(&net, "a.example", &rooms).await;
    let (r0, r1) = (&before.engine_rooms[0], &after.engine_rooms[0]);
    assert_eq!(r1.seq, r0.seq + honest as u64);
    assert_eq!(
        (r1.epoch, &r1.tree_hash, r1.members, r1.pending, &r1.policy),
        (r0.epoch, &r0.tree_hash, r0.members, r0.pending, &r0.policy)
    );
    let alice_client = net.client("alice").client_uri().as_str().to_string();
    assert_eq!(
        after.cursors[&alice_client],
        before.cursors[&alice_client] + honest as u64
    );
    // alice's stream holds the honest messages, each stored once; nothing else was counted.
    assert_eq!(
        after.counts,
        mimi_store::Counts {
            stream_events: before.counts.stream_events + honest as u64,
            stream_deliveries: before.counts.stream_deliveries + honest as u64,
            ..before.counts
        }
    );
    assert_eq!(after.key_packages, before.key_packages);
    assert_eq!(after.consents, before.consents);
    assert_eq!(after.peer_cas, before.peer_cas);
    assert_eq!(after.outbox, before.outbox);
    let texts = net.texts("alice");
    assert_eq!(
        texts.last().map(String::as_str),
        Some(format!("during the flood {}", honest - 1).as_str())
    );
    honest_round(&mut net, &room).await;
}
