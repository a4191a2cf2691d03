//! Transport rules of protocol-06 §4.1 at a real listener: mutual TLS, `From` authenticated by
//! the certificate, `Host` must be ours, bounded bodies, malformed input refused, duplicates
//! of `/notify` acknowledged and processed once.

mod support;

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use mimi_server::config::Config;
use mimi_server::tls::FederationTls;
use mimi_types::wire::Endpoint;
use rustls_pki_types::ServerName;
use support::{Net, domain};

/// Send one HTTP/1.1 request to `port` over TLS with `tls` as client configuration.
async fn raw(
    tls: Arc<rustls::ClientConfig>,
    port: u16,
    server_name: &str,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<(StatusCode, String), String> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let connector = tokio_rustls::TlsConnector::from(tls);
    let name = ServerName::try_from(server_name.to_string()).map_err(|e| e.to_string())?;
    let stream = connector
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
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
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request: {e}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

fn port_of(net: &Net, d: &str) -> u16 {
    net.nodes[d]
        .running
        .as_ref()
        .expect("running")
        .federation_addr
        .port()
}

fn tls_of(net: &Net, d: &str) -> FederationTls {
    FederationTls::load(&Config::load(&net.nodes[d].config_path).expect("config")).expect("tls")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_rules() {
    let net = Net::start(&["a.example", "b.example", "c.example"]).await;
    let a_port = port_of(&net, "a.example");
    let b_tls = tls_of(&net, "b.example").client;
    let path = "/v1/submitMessage/a.example/r/x";

    // A well-formed request reaches the handler (the room does not exist: 404).
    let (status, _) = raw(
        b_tls.clone(),
        a_port,
        "a.example",
        Method::POST,
        path,
        &[("host", "a.example"), ("from", "mimi@b.example")],
        vec![0],
    )
    .await
    .expect("request");
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a malformed body is a 400 before any lookup"
    );

    // From names a domain the certificate does not authenticate.
    let (status, reason) = raw(
        b_tls.clone(),
        a_port,
        "a.example",
        Method::POST,
        path,
        &[("host", "a.example"), ("from", "mimi@c.example")],
        vec![],
    )
    .await
    .expect("request");
    assert_eq!(status, StatusCode::FORBIDDEN, "{reason}");
    assert!(
        reason.contains("does not authenticate c.example"),
        "{reason}"
    );

    // Missing From; a From that is not mimi@...
    let (status, _) = raw(
        b_tls.clone(),
        a_port,
        "a.example",
        Method::POST,
        path,
        &[("host", "a.example")],
        vec![],
    )
    .await
    .expect("request");
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = raw(
        b_tls.clone(),
        a_port,
        "a.example",
        Method::POST,
        path,
        &[("host", "a.example"), ("from", "bob@b.example")],
        vec![],
    )
    .await
    .expect("request");
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Host must be this provider (a port is ignored).
    let (status, _) = raw(
        b_tls.clone(),
        a_port,
        "a.example",
        Method::POST,
        path,
        &[("host", "b.example"), ("from", "mimi@b.example")],
        vec![],
    )
    .await
    .expect("request");
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST);
    let (status, _) = raw(
        b_tls.clone(),
        a_port,
        "a.example",
        Method::POST,
        path,
        &[("host", "a.example:8443"), ("from", "mimi@b.example")],
        vec![],
    )
    .await
    .expect("request");
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "authenticated; the empty body is malformed"
    );

    // Oversized bodies are refused before decoding.
    let big = vec![0u8; 2 << 20];
    let (status, _) = raw(
        b_tls.clone(),
        a_port,
        "a.example",
        Method::POST,
        path,
        &[("host", "a.example"), ("from", "mimi@b.example")],
        big,
    )
    .await
    .expect("request");
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    // No client certificate: the TLS handshake (or the first request) fails.
    let roots = {
        let mut r = rustls::RootCertStore::empty();
        let ca = std::fs::read(net.dir.0.join("ca").join("ca.pem")).expect("ca");
        use rustls_pki_types::pem::PemObject;
        for c in rustls_pki_types::CertificateDer::pem_slice_iter(&ca) {
            r.add(c.expect("pem")).expect("add");
        }
        r
    };
    let anonymous = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );
    let result = raw(
        anonymous,
        a_port,
        "a.example",
        Method::GET,
        "/.well-known/mimi-protocol-directory",
        &[("host", "a.example")],
        vec![],
    )
    .await;
    assert!(
        result.is_err(),
        "a connection without client certificate must fail: {result:?}"
    );

    // A server whose certificate names another domain: connecting to "b.example" at c's
    // address fails the TLS name check.
    let c_port = port_of(&net, "c.example");
    let result = raw(
        b_tls.clone(),
        c_port,
        "b.example",
        Method::GET,
        "/.well-known/mimi-protocol-directory",
        &[("host", "b.example")],
        vec![],
    )
    .await;
    assert!(
        result.as_ref().is_err_and(|e| e.contains("TLS")),
        "{result:?}"
    );
    let mut overrides = std::collections::BTreeMap::new();
    overrides.insert(domain("b.example"), format!("127.0.0.1:{c_port}"));
    let misdirected = mimi_server::federation::client::FederationClient::new(
        domain("a.example"),
        tls_of(&net, "a.example").client,
        overrides,
    );
    assert!(misdirected.directory(&domain("b.example")).await.is_err());

    // The directory is valid JSON naming every endpoint.
    let (status, body) = raw(
        b_tls,
        a_port,
        "a.example",
        Method::GET,
        "/.well-known/mimi-protocol-directory",
        &[("host", "a.example")],
        vec![],
    )
    .await
    .expect("directory");
    assert_eq!(status, StatusCode::OK);
    let directory = mimi_types::wire::Directory::parse(body.as_bytes()).expect("directory");
    assert!(
        directory
            .url(Endpoint::Notify, "a.example/r/x")
            .expect("notify")
            .ends_with("/v1/notify/a.example/r/x")
    );
}
