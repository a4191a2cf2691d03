//! The directory, protocol-06 §5.1.

use hyper::Method;
use mimi_types::wire::{DIRECTORY_PATH, Directory, Endpoint};

use super::{Case, case};
use crate::ctx::{Check, Context as _, Ctx};
use crate::ensure;
use crate::http::Version;

pub fn cases() -> Vec<Case> {
    vec![
        case!(
            "DIR-01",
            "protocol-06 §5.1",
            "GET /.well-known/mimi-protocol-directory answers 200 with a JSON object",
            served
        ),
        case!(
            "DIR-02",
            "protocol-06 §5.1",
            "the directory lists every endpoint a hub and a follower serve",
            complete
        ),
        case!(
            "DIR-03",
            "protocol-06 §5.1",
            "every endpoint URL is https",
            https
        ),
        case!(
            "DIR-04",
            "protocol-06 §5.1",
            "every endpoint URL carries its placeholder",
            placeholders
        ),
        case!(
            "DIR-05",
            "protocol-06 §4.1",
            "the directory too is served only over mutual TLS",
            mtls_only
        ),
        case!(
            "DIR-06",
            "protocol-06 §5.1",
            "the endpoint URLs of the directory are the ones served",
            usable
        ),
    ]
}

async fn fetch(cx: &Ctx) -> Result<(u16, Vec<u8>), crate::ctx::Why> {
    let r = cx
        .raw(
            &cx.c.identity,
            Version::Http1,
            Method::GET,
            DIRECTORY_PATH,
            &cx.honest_headers(cx.c.domain()),
            vec![],
        )
        .await?;
    Ok((r.status.as_u16(), r.body.to_vec()))
}

async fn directory(cx: &Ctx) -> Result<Directory, crate::ctx::Why> {
    let (status, body) = fetch(cx).await?;
    ensure!(status == 200, "status {status}");
    Directory::parse(&body).ctx("the directory")
}

async fn served(cx: &Ctx) -> Check {
    let (status, body) = fetch(cx).await?;
    ensure!(status == 200, "status {status}");
    let value: serde_json::Value = serde_json::from_slice(&body).ctx("not JSON")?;
    ensure!(value.is_object(), "not a JSON object");
    Ok(())
}

const REQUIRED: [Endpoint; 6] = [
    Endpoint::KeyMaterial,
    Endpoint::Update,
    Endpoint::Notify,
    Endpoint::SubmitMessage,
    Endpoint::GroupInfo,
    Endpoint::ReportAbuse,
];

async fn complete(cx: &Ctx) -> Check {
    let d = directory(cx).await?;
    let missing: Vec<&str> = REQUIRED
        .iter()
        .filter(|e| d.template(**e).is_none())
        .map(|e| e.name())
        .collect();
    ensure!(missing.is_empty(), "missing: {}", missing.join(", "));
    Ok(())
}

async fn https(cx: &Ctx) -> Check {
    let d = directory(cx).await?;
    for e in Endpoint::ALL {
        if let Some(t) = d.template(e) {
            ensure!(t.starts_with("https://"), "{}: {t}", e.name());
        }
    }
    Ok(())
}

async fn placeholders(cx: &Ctx) -> Check {
    let d = directory(cx).await?;
    for e in Endpoint::ALL {
        if let Some(t) = d.template(e) {
            ensure!(
                t.contains('{') && t.ends_with('}'),
                "{}: {t} has no trailing placeholder",
                e.name()
            );
        }
    }
    Ok(())
}

async fn mtls_only(cx: &Ctx) -> Check {
    let r = cx
        .raw(
            &cx.anonymous,
            Version::Http1,
            Method::GET,
            DIRECTORY_PATH,
            &cx.honest_headers(cx.c.domain()),
            vec![],
        )
        .await;
    ensure!(r.is_err(), "answered without a client certificate");
    Ok(())
}

async fn usable(cx: &Ctx) -> Check {
    // An empty identifierQuery at the directory's URL must reach the endpoint: any answer but
    // 404 (the request is malformed, so 400 is the expected one).
    let path = cx.path(Endpoint::IdentifierQuery, cx.target.domain.as_str());
    let r = cx
        .raw(
            &cx.c.identity,
            Version::Http1,
            Method::POST,
            &path,
            &cx.honest_headers(cx.c.domain()),
            vec![],
        )
        .await?;
    ensure!(r.status.as_u16() != 404, "{path} is not served");
    Ok(())
}
