//! One log line and one metrics sample per request: listener, provider, method, path, the
//! room it concerns, the authenticated peer (federation), status and latency.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::federation::auth::Peer;
use crate::metrics::{Listener, Metrics};

/// The state of the [`observe`] middleware.
#[derive(Debug, Clone)]
pub struct Observe {
    /// Where samples go.
    pub metrics: Arc<Metrics>,
    /// Which listener this is.
    pub listener: Listener,
    /// The provider serving it (several may share a process, as in `mimi demo`).
    pub provider: mimi_types::id::ProviderDomain,
}

/// The room a request path concerns: the federation endpoints end in the room's URL path
/// (`/v1/notify/<room>`), the client API names it after `/rooms/`.
fn room_of(path: &str) -> Option<&str> {
    const ROOM_ENDPOINTS: [&str; 5] = [
        "/v1/update/",
        "/v1/submitMessage/",
        "/v1/notify/",
        "/v1/groupInfo/",
        "/v1/reportAbuse/",
    ];
    if let Some(rest) = ROOM_ENDPOINTS.iter().find_map(|e| path.strip_prefix(e)) {
        return Some(rest);
    }
    let (_, rest) = path.split_once("/rooms/")?;
    Some(rest.split('/').next().unwrap_or(rest)).filter(|r| !r.is_empty())
}

/// Middleware: time the request, then log it and record it in [`Metrics`].
pub async fn observe(State(o): State<Observe>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    // The route template keeps the metrics' label set small (no room IDs in labels).
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let response = next.run(req).await;
    let took = started.elapsed();
    let status = response.status().as_u16();
    let peer = response
        .extensions()
        .get::<Peer>()
        .map(|p| p.0.as_str().to_string());
    o.metrics
        .request(o.listener, method.as_str(), &route, status, took);
    tracing::info!(
        target: "mimi::request",
        listener = o.listener.as_str(),
        provider = o.provider.as_str(),
        %method,
        %path,
        room = room_of(&path),
        peer,
        status,
        latency_ms = took.as_secs_f64() * 1000.0,
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::room_of;

    #[test]
    fn finds_the_room_in_federation_and_client_paths() {
        assert_eq!(
            room_of("/v1/notify/a.example/r/club"),
            Some("a.example/r/club")
        );
        assert_eq!(
            room_of("/client/v1/rooms/mimi%3A%2F%2Fa.example%2Fr%2Fclub/messages"),
            Some("mimi%3A%2F%2Fa.example%2Fr%2Fclub")
        );
        assert_eq!(room_of("/v1/keyMaterial/a.example/u/alice"), None);
        assert_eq!(room_of("/client/v1/rooms/"), None);
    }
}
