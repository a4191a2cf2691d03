//! proxyDownload restrictions, protocol-06 §5.10: the hub fetches only from the asset domains
//! of its peer providers, and nothing else (no open proxy).

use hyper::Method;

use super::{Case, case};
use crate::ctx::{Check, Ctx};
use crate::ensure;
use crate::http::Version;

pub fn cases() -> Vec<Case> {
    vec![
        case!(
            "PD-01",
            "protocol-06 §5.10",
            "a host that is no peer's asset domain is refused, and nothing is fetched",
            not_an_asset_domain
        ),
        case!(
            "PD-02",
            "protocol-06 §5.10",
            "a URL that is not https is refused",
            not_https
        ),
        case!(
            "PD-03",
            "protocol-06 §5.10",
            "an IP address as host is refused",
            ip_host
        ),
        case!(
            "PD-04",
            "protocol-06 §5.10",
            "a URL with user information is refused",
            userinfo
        ),
        case!(
            "PD-05",
            "protocol-06 §5.10",
            "a URL to another port than 443 is refused",
            other_port
        ),
    ]
}

/// Percent-encode a URL as one path segment.
fn segment(url: &str) -> String {
    url.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn refused(cx: &Ctx, url: &str) -> Result<u16, crate::ctx::Why> {
    let path = cx.path(mimi_types::wire::Endpoint::ProxyDownload, &segment(url));
    let r = cx
        .raw(
            &cx.c.identity,
            Version::Http1,
            Method::GET,
            &path,
            &cx.honest_headers(cx.c.domain()),
            vec![],
        )
        .await?;
    let status = r.status.as_u16();
    ensure!(
        (400..500).contains(&status),
        "{url}: answered {}",
        r.describe()
    );
    Ok(status)
}

async fn not_an_asset_domain(cx: &Ctx) -> Check {
    let mark = cx.c.peer.mark();
    refused(cx, &format!("https://{}/asset", cx.c.domain())).await?;
    ensure!(
        cx.c.peer.since(mark).iter().all(|i| i.path != "/asset"),
        "the target fetched the asset anyway"
    );
    Ok(())
}

async fn not_https(cx: &Ctx) -> Check {
    refused(cx, &format!("http://{}/asset", cx.c.domain()))
        .await
        .map(|_| ())
}

async fn ip_host(cx: &Ctx) -> Check {
    refused(cx, "https://127.0.0.1/asset").await.map(|_| ())
}

async fn userinfo(cx: &Ctx) -> Check {
    refused(cx, &format!("https://user:pw@{}/asset", cx.c.domain()))
        .await
        .map(|_| ())
}

async fn other_port(cx: &Ctx) -> Check {
    refused(cx, &format!("https://{}:8443/asset", cx.c.domain()))
        .await
        .map(|_| ())
}
