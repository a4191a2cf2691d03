//! An Oblivious HTTP relay (RFC 9458 §4; docs/discovery.md §12): it forwards encapsulated
//! lookups from clients to one configured gateway — a distribution point's
//! `POST /discovery/v1/gateway` — and the encapsulated answers back. It sees who asks, never
//! what (the requests are encrypted to the gateway's key); the gateway sees what is asked,
//! never who (the relay adds nothing that identifies the client).
//!
//! ```text
//!  client ──POST / message/ohttp-req──▶ relay ──POST <gateway> message/ohttp-req──▶ DP
//!         ◀──── message/ohttp-res ─────       ◀────────── message/ohttp-res ──────
//! ```
//!
//! Rate limited per client address (the gateway cannot do it: it sees only the relay).

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use mimi_lookup::limits::MAX_MESSAGE_LEN;
use mimi_lookup::{Error, RateLimiter, RatePolicy};
use tokio::sync::Mutex;

use crate::{DpError, OHTTP_REQUEST, OHTTP_RESPONSE, now_ms};

/// Largest encapsulated message relayed, either way: a lookup message and the OHTTP and
/// Binary HTTP framing around it.
pub const MAX_RELAYED_LEN: usize = MAX_MESSAGE_LEN + 4096;

/// How long the gateway may take to answer.
const GATEWAY_TIMEOUT: Duration = Duration::from_secs(30);

/// Requests a client may relay: 600 at once, then one every 100 ms (what an address book
/// sync needs, and far below what could flood a gateway).
pub fn relay_rate_default() -> RatePolicy {
    RatePolicy::new(600, 100)
}

/// A relay's state: where it forwards, its HTTP client and its per-client limiter.
pub struct RelayState {
    gateway: hyper::Uri,
    http: Client<HttpConnector, Full<Bytes>>,
    limiter: Mutex<RateLimiter<IpAddr>>,
}

impl std::fmt::Debug for RelayState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayState")
            .field("gateway", &self.gateway)
            .finish_non_exhaustive()
    }
}

impl RelayState {
    /// A relay forwarding to `gateway` (`http://host:port/discovery/v1/gateway`), limiting
    /// each client address to `rate`.
    ///
    /// # Errors
    /// [`DpError::Config`] for a gateway URL that is not `http://` with a host.
    pub fn new(gateway: &str, rate: RatePolicy) -> Result<Self, DpError> {
        let uri: hyper::Uri = gateway
            .parse()
            .map_err(|e| DpError::Config(format!("gateway {gateway}: {e}")))?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(DpError::Config(format!(
                "gateway {gateway}: expected http://host:port/path"
            )));
        }
        Ok(Self {
            gateway: uri,
            http: Client::builder(TokioExecutor::new()).build_http(),
            limiter: Mutex::new(RateLimiter::new(rate)),
        })
    }
}

/// The relay's router: `POST /` forwards.
pub fn relay_router(state: Arc<RelayState>) -> Router {
    Router::new()
        .route("/", post(forward))
        .layer(DefaultBodyLimit::max(MAX_RELAYED_LEN))
        .with_state(state)
}

/// Serve the relay on `listener` until `shutdown` resolves.
///
/// # Errors
/// The listener's I/O errors.
pub async fn serve_relay(
    listener: tokio::net::TcpListener,
    state: Arc<RelayState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        relay_router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

fn text(status: StatusCode, message: &'static str) -> Response {
    (status, message).into_response()
}

fn has_type(headers: &HeaderMap, want: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(want))
}

async fn forward(
    State(state): State<Arc<RelayState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // RFC 9458 §5: the relay forwards only encapsulated requests.
    if !has_type(&headers, OHTTP_REQUEST) {
        return text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be message/ohttp-req",
        );
    }
    if let Err(e) = state
        .limiter
        .lock()
        .await
        .check(&crate::requester(peer.ip()), 1, now_ms())
    {
        return match e {
            Error::RateLimited { retry_after_ms } => (
                StatusCode::TOO_MANY_REQUESTS,
                [(
                    header::RETRY_AFTER,
                    retry_after_ms.div_ceil(1000).max(1).to_string(),
                )],
                "relay rate limit",
            )
                .into_response(),
            _ => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "1".to_string())],
                "relay busy",
            )
                .into_response(),
        };
    }
    // Nothing of the client's request travels on but the encapsulated bytes (RFC 9458 §4:
    // no Forwarded, no client address, no cookies).
    let request = hyper::Request::post(state.gateway.clone())
        .header(header::CONTENT_TYPE, OHTTP_REQUEST)
        .body(Full::new(body));
    let Ok(request) = request else {
        return text(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
    };
    let answer = tokio::time::timeout(GATEWAY_TIMEOUT, async {
        let response = state.http.request(request).await.ok()?;
        let status = response.status();
        let ok_type = has_type(response.headers(), OHTTP_RESPONSE);
        let body = Limited::new(response.into_body(), MAX_RELAYED_LEN)
            .collect()
            .await
            .ok()?
            .to_bytes();
        Some((status, ok_type, body))
    })
    .await;
    match answer {
        Ok(Some((StatusCode::OK, true, body))) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(OHTTP_RESPONSE),
            )],
            body,
        )
            .into_response(),
        // The gateway refused the encapsulation itself (bad key id, undecryptable): the client
        // learns that much, not the gateway's text.
        Ok(Some((status, _, _))) if status.is_client_error() => {
            text(status, "the gateway refused the request")
        }
        Ok(_) => text(StatusCode::BAD_GATEWAY, "the gateway failed"),
        Err(_) => text(StatusCode::GATEWAY_TIMEOUT, "the gateway did not answer"),
    }
}
