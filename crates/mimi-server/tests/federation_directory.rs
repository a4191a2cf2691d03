//! Identifier discovery, consent and the download proxy across `mimi serve` providers on
//! loopback (real mutual TLS, SQLite files), driven through the client API: protocol-06
//! §5.8 `identifierQuery`, §5.7 `requestConsent`/`updateConsent` with the key-material
//! consent gate (§5.2), and §5.10 `proxyDownload`.

mod support;

use std::sync::Arc;

use hyper::{Method, StatusCode};
use mimi_client::{ClientError, MimiClient, RemoteApi};
use mimi_room::policy::{PolicyState, Preset};
use mimi_server::federation::proxy::encode_download_url;
use mimi_store::{ConsentState, Store};
use mimi_types::client_api::{
    ConsentStatus, IdentifiersRequest, SearchCode, SearchElement, SearchResponse, SearchType,
};
use mimi_types::id::{EmailAddress, GroupUri, RoomUri, UserUri};
use mimi_types::wire::KeyMaterialUserCode;
use support::{Net, domain, free_port};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PASSWORD: &str = "correct horse battery";

/// A user logged in over the client API, with one device ("1") and 5 KeyPackages.
struct User {
    api: RemoteApi,
    mimi: MimiClient,
    uri: UserUri,
}

async fn user(net: &Net, d: &str, name: &str, display_name: &str) -> User {
    let mut api = net.api(d);
    let uri = api
        .register(name, PASSWORD, display_name)
        .await
        .expect("register");
    api.login(name, PASSWORD).await.expect("login");
    let signer = MimiClient::new_signer().expect("signer");
    let (client_uri, credential) = api
        .register_device("1", signer.public())
        .await
        .expect("device");
    let mimi = MimiClient::from_parts(client_uri, uri.clone(), signer, credential).expect("mimi");
    let kps = mimi.key_packages(5, false).expect("key packages");
    api.publish_key_packages("1", &kps).await.expect("publish");
    User { api, mimi, uri }
}

/// The status of a refused call (its message is one non-empty line).
fn status<T: std::fmt::Debug>(r: Result<T, ClientError>) -> u16 {
    match r {
        Err(ClientError::Api { status, message }) => {
            assert!(
                !message.is_empty() && !message.contains('\n'),
                "{message:?}"
            );
            status
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn q(kind: SearchType, value: &str) -> SearchElement {
    SearchElement {
        kind,
        name: None,
        value: value.to_string(),
    }
}

async fn search(u: &User, d: &str, query: &[SearchElement]) -> SearchResponse {
    u.api
        .search(&domain(d), query)
        .await
        .unwrap_or_else(|e| panic!("search {d} {query:?}: {e}"))
}

/// Exactly `who` found.
fn found(r: &SearchResponse, who: &UserUri) {
    assert_eq!(r.code, SearchCode::Success, "{r:?}");
    let users: Vec<&UserUri> = r.users.iter().map(|u| &u.user_uri).collect();
    assert_eq!(users, vec![who], "{r:?}");
}

fn not_found(r: &SearchResponse) {
    assert_eq!(r.code, SearchCode::NotFound, "{r:?}");
    assert!(r.users.is_empty(), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identifiers_are_set_and_searched_across_providers() {
    let mut net = Net::init(&["a.example", "b.example"]);
    // A peer whose address refuses connections.
    let dead = free_port();
    net.configure("a.example", |c| {
        c.peers
            .insert("z.example".into(), format!("127.0.0.1:{dead}"));
    });
    net.start_node("a.example").await;
    net.start_node("b.example").await;
    let alice = user(&net, "a.example", "alice", "Alice Liddell").await;
    let bob = user(&net, "b.example", "bob", "Bob Builder").await;
    let carol = user(&net, "b.example", "carol", "Carol Hidden").await;
    let dave = user(&net, "b.example", "dave", "Dave").await;

    // Before opting in, nobody is found, not even by name.
    not_found(
        &search(
            &alice,
            "b.example",
            &[q(SearchType::PartialName, "builder")],
        )
        .await,
    );

    // bob opts in with a handle, an email address and a phone number, in any written form;
    // the provider stores and answers the canonical forms.
    let set = bob
        .api
        .set_identifiers(&IdentifiersRequest {
            handle: Some("@Bob.Builder".into()),
            email: Some("mailto:Bob.Builder@B.Example".into()),
            phone: Some("+1 (212) 555-1212".into()),
            searchable: true,
            ..IdentifiersRequest::default()
        })
        .await
        .expect("identifiers");
    let email = EmailAddress::parse("Bob.Builder@B.Example").expect("email");
    assert_eq!(set.handle.as_deref(), Some("im:bob.builder@b.example"));
    assert_eq!(set.nicks, vec!["bob.builder".to_string()]);
    assert_eq!(set.email.as_deref(), Some(email.as_str()));
    assert_eq!(set.phone.as_deref(), Some("+12125551212"));
    assert!(set.searchable);
    // carol sets a handle but does not want to be found.
    carol
        .api
        .set_identifiers(&IdentifiersRequest {
            handle: Some("@carol".into()),
            searchable: false,
            ..IdentifiersRequest::default()
        })
        .await
        .expect("carol");
    // dave is found by his handle.
    dave.api
        .set_identifiers(&IdentifiersRequest {
            handle: Some("dave".into()),
            searchable: true,
            ..IdentifiersRequest::default()
        })
        .await
        .expect("dave");

    // alice (a.example) finds bob at b.example by every kind, over identifierQuery.
    for query in [
        vec![q(SearchType::Handle, "@bob.builder")],
        vec![q(SearchType::Handle, "im:BOB.builder@b.example")],
        vec![q(SearchType::Handle, "@bob.builder@b.example")],
        vec![q(SearchType::Nick, "bob.builder")],
        vec![q(SearchType::Email, "Bob.Builder@b.EXAMPLE")],
        vec![q(SearchType::Phone, "+12125551212")],
        vec![q(SearchType::Phone, "tel:+1-212-555-1212")],
        vec![q(SearchType::PartialName, "BUILD")],
        vec![q(SearchType::PartialName, "bob.b")],
        // AND of several elements.
        vec![
            q(SearchType::Handle, "@bob.builder"),
            q(SearchType::Phone, "+12125551212"),
        ],
    ] {
        let r = search(&alice, "b.example", &query).await;
        assert_eq!(r.code, SearchCode::Success, "{query:?}: {r:?}");
        found(&r, &bob.uri);
        assert_eq!(r.users[0].display_name.as_deref(), Some("Bob Builder"));
    }
    // Every element must match.
    not_found(
        &search(
            &alice,
            "b.example",
            &[
                q(SearchType::Handle, "@bob.builder"),
                q(SearchType::Phone, "+12125550000"),
            ],
        )
        .await,
    );
    // An email local part is case-sensitive (docs/decisions/0026).
    not_found(
        &search(
            &alice,
            "b.example",
            &[q(SearchType::Email, "bob.builder@b.example")],
        )
        .await,
    );
    // A user who is not searchable is not found, by handle or by name.
    not_found(&search(&alice, "b.example", &[q(SearchType::Handle, "@carol")]).await);
    not_found(&search(&alice, "b.example", &[q(SearchType::PartialName, "hidden")]).await);
    // Unknown handles, vague names, fields b does not search.
    not_found(&search(&alice, "b.example", &[q(SearchType::Nick, "nobody")]).await);
    let vague = search(&alice, "b.example", &[q(SearchType::PartialName, "bo")]).await;
    assert_eq!(vague.code, SearchCode::Ambiguous, "{vague:?}");
    let whole = search(&alice, "b.example", &[q(SearchType::WholeProfile, "bob")]).await;
    assert_eq!(whole.code, SearchCode::UnsupportedField, "{whole:?}");
    // carol, not searchable herself, can search her own provider (answered locally).
    found(
        &search(&carol, "b.example", &[q(SearchType::Nick, "dave")]).await,
        &dave.uri,
    );

    // Malformed queries are refused before anything is sent.
    for query in [
        vec![],
        vec![q(SearchType::Phone, "not a phone")],
        vec![q(SearchType::Email, "nobody")],
        vec![q(SearchType::Handle, "bad handle!")],
        vec![q(SearchType::Nick, "@bob@c.example")],
        vec![q(SearchType::PartialName, "   ")],
        vec![q(SearchType::VcardField, "Bob")],
        vec![q(SearchType::Nick, "bob"); 9],
    ] {
        assert_eq!(
            status(alice.api.search(&domain("b.example"), &query).await),
            400,
            "{query:?}"
        );
    }
    let raw = alice
        .api
        .raw(
            "POST",
            "/client/v1/search",
            &[],
            Some(br#"{"domain":"b.example","query":[{"kind":"shoeSize","value":"9"}]}"#.to_vec()),
        )
        .await
        .expect("raw");
    assert_eq!(raw.status, 400, "{}", String::from_utf8_lossy(&raw.body));
    // A provider that cannot be reached: 502.
    assert_eq!(
        status(
            alice
                .api
                .search(&domain("z.example"), &[q(SearchType::Nick, "bob")])
                .await
        ),
        502
    );

    // Refusals of PUT /identifiers change nothing: a taken handle (409), a handle of
    // another provider, a malformed email or phone (400).
    assert_eq!(
        status(
            dave.api
                .set_identifiers(&IdentifiersRequest {
                    handle: Some("@bob.builder".into()),
                    searchable: true,
                    ..IdentifiersRequest::default()
                })
                .await
        ),
        409
    );
    for bad in [
        IdentifiersRequest {
            handle: Some("@dave@a.example".into()),
            searchable: true,
            ..IdentifiersRequest::default()
        },
        IdentifiersRequest {
            email: Some("dave".into()),
            searchable: true,
            ..IdentifiersRequest::default()
        },
        IdentifiersRequest {
            phone: Some("12".into()),
            searchable: true,
            ..IdentifiersRequest::default()
        },
    ] {
        assert_eq!(status(dave.api.set_identifiers(&bad).await), 400, "{bad:?}");
    }
    found(
        &search(&alice, "b.example", &[q(SearchType::Handle, "@dave")]).await,
        &dave.uri,
    );
    found(
        &search(
            &alice,
            "b.example",
            &[q(SearchType::Handle, "@bob.builder")],
        )
        .await,
        &bob.uri,
    );
    // Without a token: 401.
    assert_eq!(
        status(
            net.api("a.example")
                .search(&domain("b.example"), &[q(SearchType::Nick, "bob")])
                .await
        ),
        401
    );

    // bob opts out again: gone from every search.
    bob.api
        .set_identifiers(&IdentifiersRequest {
            handle: Some("@bob.builder".into()),
            searchable: false,
            ..IdentifiersRequest::default()
        })
        .await
        .expect("opt out");
    not_found(
        &search(
            &alice,
            "b.example",
            &[q(SearchType::Handle, "@bob.builder")],
        )
        .await,
    );
    not_found(
        &search(
            &alice,
            "b.example",
            &[q(SearchType::PartialName, "builder")],
        )
        .await,
    );

    // The federation endpoint answers only for its own domain (421).
    let a = net.provider("a.example");
    let wrong = a
        .client
        .request(
            &domain("b.example"),
            Method::POST,
            "/v1/identifierQuery/c.example",
            Vec::new(),
        )
        .await
        .expect("request");
    assert_eq!(wrong.status, StatusCode::MISDIRECTED_REQUEST);
}

/// The key material alice's client gets for `bob` in `room` (through the hub a, which asks
/// b directly): the user status and how many KeyPackages came back.
async fn key_material(alice: &User, bob: &User, room: &RoomUri) -> (KeyMaterialUserCode, usize) {
    let request = alice
        .mimi
        .key_material_request(&bob.uri, room)
        .expect("request");
    let r = alice
        .api
        .key_material(room, &request)
        .await
        .expect("key material");
    (r.user_status, r.clients.len())
}

async fn consent_state(
    net: &Net,
    d: &str,
    requester: &UserUri,
    target: &UserUri,
    room: Option<&RoomUri>,
) -> Option<ConsentState> {
    net.provider(d)
        .store
        .consent(
            requester.as_str(),
            target.as_str(),
            room.map(RoomUri::as_str),
        )
        .await
        .expect("consent")
        .map(|r| r.state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_gates_key_material_across_providers() {
    let mut net = Net::init(&["a.example", "b.example"]);
    net.configure("b.example", |c| c.consent.require_for_key_material = true);
    // A peer whose address refuses connections.
    let dead = free_port();
    net.configure("a.example", |c| {
        c.peers
            .insert("z.example".into(), format!("127.0.0.1:{dead}"));
    });
    net.start_node("a.example").await;
    net.start_node("b.example").await;
    let alice = user(&net, "a.example", "alice", "Alice").await;
    let bob = user(&net, "b.example", "bob", "Bob").await;
    let other = user(&net, "a.example", "other", "Other").await;

    // alice's room, hosted by a.
    let hub = alice.api.hub().await.expect("hub");
    let room = RoomUri::parse("mimi://a.example/r/lounge").expect("room");
    let group = GroupUri::parse("mimi://a.example/g/lounge").expect("group");
    let preset = Preset::CooperativelyAdministered;
    let policy = PolicyState::new_room(preset, alice.mimi.user()).expect("policy");
    let mut creator = alice.mimi;
    let info = creator
        .create_room(
            room.clone(),
            &group,
            hub.external_sender,
            Some(hub.franking_agent),
            &policy,
        )
        .expect("group");
    alice
        .api
        .create_room(
            "lounge",
            preset.name(),
            "1",
            &info.group_info,
            &info.ratchet_tree,
        )
        .await
        .expect("create room");
    let alice = User {
        mimi: creator,
        ..alice
    };

    // b requires consent: without it, only a status.
    assert_eq!(
        key_material(&alice, &bob, &room).await,
        (KeyMaterialUserCode::NoConsent, 0)
    );
    // Users of a itself are not gated by b's setting (a does not require consent at all).
    let (code, n) = key_material(&alice, &other, &room).await;
    assert_eq!((code, n), (KeyMaterialUserCode::Success, 1));

    // alice asks bob: b records the pending request, so does a; still no key material.
    let asked = alice
        .api
        .request_consent(&bob.uri, None)
        .await
        .expect("request");
    assert_eq!(asked.state, Some(ConsentStatus::Requested));
    assert!(asked.delivered);
    for d in ["a.example", "b.example"] {
        assert_eq!(
            consent_state(&net, d, &alice.uri, &bob.uri, None).await,
            Some(ConsentState::Requested),
            "{d}"
        );
    }
    assert_eq!(
        key_material(&alice, &bob, &room).await.0,
        KeyMaterialUserCode::NoConsent
    );
    // A pending request for the room too.
    alice
        .api
        .request_consent(&bob.uri, Some(&room))
        .await
        .expect("room request");
    assert_eq!(
        consent_state(&net, "b.example", &alice.uri, &bob.uri, Some(&room)).await,
        Some(ConsentState::Requested)
    );

    // bob grants through the client API: recorded at b and told to a.
    let granted = bob
        .api
        .grant_consent(&alice.uri, None)
        .await
        .expect("grant");
    assert_eq!(granted.state, Some(ConsentStatus::Granted));
    assert!(granted.delivered, "{granted:?}");
    for d in ["a.example", "b.example"] {
        assert_eq!(
            consent_state(&net, d, &alice.uri, &bob.uri, None).await,
            Some(ConsentState::Granted),
            "{d}"
        );
    }
    // Now key material comes back (the pending room request does not override the grant).
    assert_eq!(
        key_material(&alice, &bob, &room).await,
        (KeyMaterialUserCode::Success, 1)
    );

    // alice withdraws the room request: gone at both providers.
    let cancelled = alice
        .api
        .cancel_consent(&bob.uri, Some(&room))
        .await
        .expect("cancel");
    assert_eq!(cancelled.state, None);
    for d in ["a.example", "b.example"] {
        assert_eq!(
            consent_state(&net, d, &alice.uri, &bob.uri, Some(&room)).await,
            None,
            "{d}"
        );
    }

    // bob revokes: noConsent again, and a is told.
    let revoked = bob
        .api
        .revoke_consent(&alice.uri, None)
        .await
        .expect("revoke");
    assert_eq!(
        (revoked.state, revoked.delivered),
        (Some(ConsentStatus::Revoked), true)
    );
    assert_eq!(
        consent_state(&net, "a.example", &alice.uri, &bob.uri, None).await,
        Some(ConsentState::Revoked)
    );
    assert_eq!(
        key_material(&alice, &bob, &room).await,
        (KeyMaterialUserCode::NoConsent, 0)
    );
    // Asking again does not undo bob's answer.
    let again = alice
        .api
        .request_consent(&bob.uri, None)
        .await
        .expect("request again");
    assert_eq!(again.state, Some(ConsentStatus::Revoked));
    assert_eq!(
        consent_state(&net, "b.example", &alice.uri, &bob.uri, None).await,
        Some(ConsentState::Revoked)
    );

    // A room-specific answer overrides the general one for that room.
    bob.api
        .grant_consent(&alice.uri, Some(&room))
        .await
        .expect("grant room");
    assert_eq!(
        key_material(&alice, &bob, &room).await,
        (KeyMaterialUserCode::Success, 1)
    );
    bob.api
        .revoke_consent(&alice.uri, Some(&room))
        .await
        .expect("revoke room");
    assert_eq!(
        key_material(&alice, &bob, &room).await,
        (KeyMaterialUserCode::NoConsentForThisRoom, 0)
    );

    // Refusals: with oneself (400), an unknown local user (404), not a user URI (400), a
    // provider that cannot be reached (502, nothing recorded), no token (401).
    assert_eq!(
        status(alice.api.request_consent(&alice.uri, None).await),
        400
    );
    let nobody = UserUri::parse("mimi://b.example/u/nobody").expect("uri");
    assert_eq!(status(bob.api.grant_consent(&nobody, None).await), 404);
    let raw = alice
        .api
        .raw(
            "POST",
            "/client/v1/consent/request",
            &[],
            Some(br#"{"target":"mimi://b.example/r/lounge"}"#.to_vec()),
        )
        .await
        .expect("raw");
    assert_eq!(raw.status, 400);
    let zed = UserUri::parse("mimi://z.example/u/zed").expect("uri");
    assert_eq!(status(alice.api.request_consent(&zed, None).await), 502);
    assert_eq!(
        consent_state(&net, "a.example", &alice.uri, &zed, None).await,
        None
    );
    assert_eq!(
        status(net.api("b.example").grant_consent(&alice.uri, None).await),
        401
    );
    // A grant to a requester whose provider cannot be told still takes effect here, and says
    // the requester's provider was not told.
    let late = other
        .api
        .grant_consent(&zed, None)
        .await
        .expect("grant unreachable");
    assert_eq!(late.state, Some(ConsentStatus::Granted));
    assert!(!late.delivered && late.delivery_error.is_some(), "{late:?}");
}

// ---- proxyDownload ----------------------------------------------------------------------

/// A tiny HTTPS asset server on loopback with a certificate for `host` from the test
/// federation CA: `/pic.txt` is 200 `a picture`, everything else 404.
async fn asset_server(ca_dir: &std::path::Path, host: &str) -> u16 {
    use rcgen::{CertificateParams, Issuer, KeyPair};
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

    let ca_pem = std::fs::read_to_string(ca_dir.join("ca.pem")).expect("ca.pem");
    let ca_key =
        KeyPair::from_pem(&std::fs::read_to_string(ca_dir.join("ca.key")).expect("ca.key"))
            .expect("ca key");
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key).expect("issuer");
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(vec![host.to_string()])
        .expect("params")
        .signed_by(&key, &issuer)
        .expect("cert");
    let chain = vec![CertificateDer::from(cert.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&request);
                let response: &[u8] = if text.starts_with("GET /pic.txt ") {
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\na picture"
                } else {
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                };
                let _ = tls.write_all(response).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

/// `GET /proxyDownload/{url}` from provider a to hub `hub`: status and body.
async fn proxy(net: &Net, hub: &str, url: &str) -> (StatusCode, Vec<u8>) {
    let path = format!("/v1/proxyDownload/{}", encode_download_url(url));
    let r = net
        .provider("a.example")
        .client
        .request(&domain(hub), Method::GET, &path, Vec::new())
        .await
        .expect("request");
    (r.status, r.body.to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_download_only_from_declared_asset_servers() {
    let mut net = Net::init(&["a.example", "b.example", "c.example"]);
    // c is a hub that knows b's asset servers; b declares none. The override for
    // assets.b.example points at the test asset server (the `[peers]` hook of 0083).
    let port = asset_server(&net.ca_dir(), "assets.b.example").await;
    net.configure("c.example", |c| {
        c.proxy_download.asset_domains.insert(
            "b.example".into(),
            vec!["assets.b.example".into(), "localhost".into()],
        );
        c.peers
            .insert("assets.b.example".into(), format!("127.0.0.1:{port}"));
    });
    for d in ["a.example", "b.example", "c.example"] {
        net.start_node(d).await;
    }
    let picture = "https://assets.b.example/pic.txt";

    // A hub without declared asset domains proxies nothing.
    assert_eq!(
        proxy(&net, "b.example", picture).await.0,
        StatusCode::FORBIDDEN
    );

    // c fetches from the declared asset server, over TLS verified against the CA.
    let (status, body) = proxy(&net, "c.example", picture).await;
    assert_eq!(
        (status, body.as_slice()),
        (StatusCode::OK, b"a picture".as_slice()),
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(
        proxy(&net, "c.example", "https://assets.b.example/missing")
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    // Everything else is refused before any connection.
    for url in [
        "https://undeclared.example/pic.txt",
        "https://assets.c.example/pic.txt",
        "https://127.0.0.1/pic.txt",
        "https://[::1]/pic.txt",
        "https://10.0.0.1/pic.txt",
        "http://assets.b.example/pic.txt",
        "https://assets.b.example:8443/pic.txt",
        "https://user@assets.b.example/pic.txt",
        // Declared, but DNS gives a loopback address.
        "https://localhost/pic.txt",
    ] {
        let (status, body) = proxy(&net, "c.example", url).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{url}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    for url in ["assets.b.example/pic.txt", "/pic.txt"] {
        assert_eq!(
            proxy(&net, "c.example", url).await.0,
            StatusCode::BAD_REQUEST,
            "{url}"
        );
    }
    let bad = net
        .provider("a.example")
        .client
        .request(
            &domain("c.example"),
            Method::GET,
            "/v1/proxyDownload/%ZZ",
            Vec::new(),
        )
        .await
        .expect("request");
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}
