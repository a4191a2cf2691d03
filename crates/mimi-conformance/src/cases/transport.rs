//! Transport rules, protocol-06 §4.1: mutual TLS, the `From` and `Host` headers.

use hyper::Method;

use super::{Case, case};
use crate::ctx::{Check, Ctx, Why};
use crate::ensure;
use crate::http::{Version, connect};

pub fn cases() -> Vec<Case> {
    vec![
        case!(
            "TR-01",
            "protocol-06 §4.1",
            "a connection without a client certificate is refused",
            no_client_cert
        ),
        case!(
            "TR-02",
            "protocol-06 §4.1",
            "a client certificate from an untrusted CA is refused",
            untrusted_ca
        ),
        case!(
            "TR-03",
            "protocol-06 §4.1",
            "the target's certificate authenticates its domain (RFC 6125)",
            server_cert
        ),
        case!(
            "TR-04",
            "protocol-06 §4.1",
            "HTTP/1.1 over mutual TLS is served",
            http1
        ),
        case!(
            "TR-05",
            "protocol-06 §4.1",
            "HTTP/2 over mutual TLS is served",
            http2
        ),
        case!(
            "TR-06",
            "protocol-06 §4.1",
            "a request without From is refused with 400",
            no_from
        ),
        case!(
            "TR-07",
            "protocol-06 §4.1",
            "From with a local part other than mimi is refused with 400",
            from_local_part
        ),
        case!(
            "TR-08",
            "protocol-06 §4.1",
            "From that is not an addr-spec is refused with 400",
            from_not_addr_spec
        ),
        case!(
            "TR-09",
            "protocol-06 §4.1",
            "From naming a domain the certificate does not authenticate is refused with 403",
            from_other_domain
        ),
        case!(
            "TR-10",
            "protocol-06 §4.1",
            "From naming another trusted peer is refused with 403",
            from_other_peer
        ),
        case!(
            "TR-11",
            "protocol-06 §4.1",
            "From naming the target itself is refused with 403",
            from_target
        ),
        case!(
            "TR-12",
            "protocol-06 §4.1",
            "Host naming another provider is refused (421)",
            host_other
        ),
        case!(
            "TR-13",
            "protocol-06 §4.1",
            "a Host port is ignored",
            host_port
        ),
        case!(
            "TR-14",
            "protocol-06 §4.1",
            "an unknown endpoint answers 404",
            unknown_endpoint
        ),
        case!(
            "TR-15",
            "protocol-06 §5",
            "GET on a POST endpoint is refused (405)",
            wrong_method
        ),
        case!(
            "TR-16",
            "protocol-06 §5.3",
            "a body far over any sane limit (64 MiB) is refused with 413",
            huge_body
        ),
    ]
}

fn directory_path() -> &'static str {
    mimi_types::wire::DIRECTORY_PATH
}

/// A protocol endpoint that needs no room: identifierQuery for the target's domain.
fn probe_path(cx: &Ctx) -> String {
    cx.path(
        mimi_types::wire::Endpoint::IdentifierQuery,
        cx.target.domain.as_str(),
    )
}

async fn refused_at_tls(cx: &Ctx, identity: &crate::http::Identity) -> Check {
    // TLS 1.3: the server checks the client certificate after the client's handshake ends, so
    // a refusal may only show on the first read.
    let r = cx
        .raw(
            identity,
            Version::Http1,
            Method::GET,
            directory_path(),
            &cx.honest_headers(cx.c.domain()),
            vec![],
        )
        .await;
    match r {
        Err(_) => Ok(()),
        Ok(reply) => Err(Why::Fail(format!(
            "the request was answered: {}",
            reply.describe()
        ))),
    }
}

async fn no_client_cert(cx: &Ctx) -> Check {
    refused_at_tls(cx, &cx.anonymous).await
}

async fn untrusted_ca(cx: &Ctx) -> Check {
    refused_at_tls(cx, &cx.rogue).await
}

async fn server_cert(cx: &Ctx) -> Check {
    // rustls verifies the chain to the configured roots and the name: the target's domain.
    connect(
        &cx.c.identity,
        Version::Http1,
        cx.target.addr,
        cx.target.domain.as_str(),
    )
    .await
    .map(|_| ())
    .map_err(|e| {
        Why::Fail(format!(
            "the certificate does not authenticate {}: {e}",
            cx.target.domain
        ))
    })
}

async fn served(cx: &Ctx, version: Version) -> Check {
    let r = cx
        .raw(
            &cx.c.identity,
            version,
            Method::GET,
            directory_path(),
            &cx.honest_headers(cx.c.domain()),
            vec![],
        )
        .await?;
    ensure!(r.status.as_u16() == 200, "directory: {}", r.describe());
    Ok(())
}

async fn http1(cx: &Ctx) -> Check {
    served(cx, Version::Http1).await
}

async fn http2(cx: &Ctx) -> Check {
    served(cx, Version::Http2).await
}

/// POST an (empty) identifierQuery with these headers; the status.
async fn probe(
    cx: &Ctx,
    identity: &crate::http::Identity,
    headers: Vec<(String, String)>,
) -> Result<u16, Why> {
    let r = cx
        .raw(
            identity,
            Version::Http1,
            Method::POST,
            &probe_path(cx),
            &headers,
            vec![],
        )
        .await?;
    Ok(r.status.as_u16())
}

fn host(cx: &Ctx) -> (String, String) {
    ("host".into(), cx.target.domain.to_string())
}

async fn expect_status(cx: &Ctx, headers: Vec<(String, String)>, want: u16) -> Check {
    let got = probe(cx, &cx.c.identity, headers).await?;
    ensure!(got == want, "expected {want}, got {got}");
    Ok(())
}

async fn no_from(cx: &Ctx) -> Check {
    expect_status(cx, vec![host(cx)], 400).await
}

async fn from_local_part(cx: &Ctx) -> Check {
    let from = format!("bob@{}", cx.c.domain());
    expect_status(cx, vec![host(cx), ("from".into(), from)], 400).await
}

async fn from_not_addr_spec(cx: &Ctx) -> Check {
    let from = cx.c.domain().to_string();
    expect_status(cx, vec![host(cx), ("from".into(), from)], 400).await
}

async fn from_other_domain(cx: &Ctx) -> Check {
    expect_status(
        cx,
        vec![host(cx), ("from".into(), "mimi@conf-x.example".into())],
        403,
    )
    .await
}

async fn from_other_peer(cx: &Ctx) -> Check {
    let from = format!("mimi@{}", cx.d.domain());
    expect_status(cx, vec![host(cx), ("from".into(), from)], 403).await
}

async fn from_target(cx: &Ctx) -> Check {
    let from = format!("mimi@{}", cx.target.domain);
    expect_status(cx, vec![host(cx), ("from".into(), from)], 403).await
}

async fn host_other(cx: &Ctx) -> Check {
    let got = probe(
        cx,
        &cx.c.identity,
        vec![
            ("host".into(), cx.d.domain().to_string()),
            ("from".into(), format!("mimi@{}", cx.c.domain())),
        ],
    )
    .await?;
    ensure!(got == 421, "expected 421 Misdirected Request, got {got}");
    Ok(())
}

async fn host_port(cx: &Ctx) -> Check {
    let got = probe(
        cx,
        &cx.c.identity,
        vec![
            ("host".into(), format!("{}:8443", cx.target.domain)),
            ("from".into(), format!("mimi@{}", cx.c.domain())),
        ],
    )
    .await?;
    ensure!(
        got != 421 && got != 403,
        "a Host with a port was refused ({got})"
    );
    Ok(())
}

async fn unknown_endpoint(cx: &Ctx) -> Check {
    let r = cx
        .raw(
            &cx.c.identity,
            Version::Http1,
            Method::POST,
            "/v1/noSuchEndpoint/x",
            &cx.honest_headers(cx.c.domain()),
            vec![],
        )
        .await?;
    ensure!(
        r.status.as_u16() == 404,
        "expected 404, got {}",
        r.describe()
    );
    Ok(())
}

async fn wrong_method(cx: &Ctx) -> Check {
    let r = cx
        .raw(
            &cx.c.identity,
            Version::Http1,
            Method::GET,
            &probe_path(cx),
            &cx.honest_headers(cx.c.domain()),
            vec![],
        )
        .await?;
    ensure!(
        r.status.as_u16() == 405,
        "expected 405, got {}",
        r.describe()
    );
    Ok(())
}

async fn huge_body(cx: &Ctx) -> Check {
    let path = cx.path(mimi_types::wire::Endpoint::Update, "x.example/r/none");
    let r = cx
        .raw(
            &cx.c.identity,
            Version::Http1,
            Method::POST,
            &path,
            &cx.honest_headers(cx.c.domain()),
            vec![0u8; 64 << 20],
        )
        .await;
    match r {
        Ok(reply) => {
            ensure!(
                reply.status.as_u16() == 413,
                "expected 413, got {}",
                reply.describe()
            );
            Ok(())
        }
        // A server may answer 413 and close before the body is sent; the client then sees
        // the connection reset while writing.
        Err(Why::Fail(e))
            if e.contains("request") || e.contains("reset") || e.contains("closed") =>
        {
            Ok(())
        }
        Err(e) => Err(e),
    }
}
