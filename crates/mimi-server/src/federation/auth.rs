//! Who is calling (protocol-06 §4.1): the TLS client certificate must authenticate the domain
//! in `From: mimi@<domain>`, and `Host` must be this provider.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mimi_types::id::ProviderDomain;

use crate::listener::PeerCertificate;

/// The authenticated peer provider of a federation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer(pub ProviderDomain);

/// A refusal: status and a one-line reason (the body).
pub fn reject(status: StatusCode, reason: impl Into<String>) -> Response {
    let reason = reason.into();
    tracing::info!(%status, %reason, "request refused");
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        reason,
    )
        .into_response()
}

/// The host in `Host` (or the HTTP/2 authority), without port.
fn request_host(req: &Request) -> Option<String> {
    let raw = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_string()))?;
    // protocol-06 §4.1: a non-standard port in Host is ignored.
    let host = match raw.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h.to_string(),
        _ => raw,
    };
    Some(host)
}

/// The domain of `From: mimi@<domain>`.
fn from_domain(headers: &HeaderMap) -> Result<ProviderDomain, String> {
    let value = headers
        .get(header::FROM)
        .ok_or("missing From header")?
        .to_str()
        .map_err(|_| "From header is not text")?
        .trim();
    // protocol-06 §4.1: an addr-spec whose local part is exactly "mimi".
    let domain = value
        .strip_prefix("mimi@")
        .ok_or("From must be mimi@<provider domain>")?;
    ProviderDomain::parse(domain).map_err(|e| format!("From: {e}"))
}

/// Middleware for every protocol endpoint: establish the [`Peer`] or refuse.
pub async fn authenticate(
    State(ours): State<ProviderDomain>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(cert) = req.extensions().get::<PeerCertificate>().cloned() else {
        return reject(StatusCode::UNAUTHORIZED, "a client certificate is required");
    };
    match request_host(&req).map(|h| ProviderDomain::parse(&h)) {
        Some(Ok(host)) if host == ours => {}
        // RFC 9110 §15.5.20: the request is for another server.
        _ => {
            return reject(
                StatusCode::MISDIRECTED_REQUEST,
                format!("Host must be {ours}"),
            );
        }
    }
    let domain = match from_domain(req.headers()) {
        Ok(d) => d,
        Err(why) => return reject(StatusCode::BAD_REQUEST, why),
    };
    if !cert.domains.contains(&domain) {
        return reject(
            StatusCode::FORBIDDEN,
            format!("the client certificate does not authenticate {domain}"),
        );
    }
    if domain == ours {
        return reject(StatusCode::FORBIDDEN, "a provider does not call itself");
    }
    req.extensions_mut().insert(Peer(domain.clone()));
    let mut response = next.run(req).await;
    // For the request log (crate::access_log).
    response.extensions_mut().insert(Peer(domain));
    response
}
