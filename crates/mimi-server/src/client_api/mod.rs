//! The client API: the provider-internal HTTP JSON API this provider's own users' clients use
//! (`/client/v1/...`, described in `docs/client-api.md` and by the OpenAPI document served at
//! [`OPENAPI_PATH`]).
//!
//! Clients register and log in (bearer tokens), certify devices (MLS clients) with the
//! provider's client CA, publish KeyPackages, create rooms hosted here, and hand the provider
//! the protocol-06 requests it forwards to a room's hub (base64url TLS bodies in JSON). Each
//! device reads what the hubs fan out to it from its event stream: a poll endpoint or
//! Server-Sent Events, both resumable from a cursor without gaps or duplicates. Users set the
//! identifiers others find them by, search any provider, and ask for and answer consent.
//!
//! ```text
//!  client ──HTTP JSON──► client_api ──► Provider (local.rs, hub_ops.rs) ──mTLS──► hub
//!  client ◄──SSE / poll── client_api ◄── store: the device's event stream ◄── fanout
//! ```
//!
//! Every refusal is `{"error": "..."}` with a precise 4xx and changes nothing
//! (docs/decisions/0071..0075, 0084).

mod accounts;
mod auth;
mod directory;
mod error;
mod events;
mod extract;
mod rooms;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use mimi_store::{ClientRecord, Store};
use mimi_types::client_api::CLIENT_API_PREFIX;
use mimi_types::id::{ClientUri, UserUri};
use tokio::sync::{Semaphore, watch};

use crate::limits::Limiters;
use crate::provider::Provider;
use error::ApiError;
use extract::json_limit;

/// The OpenAPI 3 description of the client API.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Where [`OPENAPI`] is served.
pub const OPENAPI_PATH: &str = "/client/v1/openapi.json";

/// Every endpoint of the client API as (method, path template), as the OpenAPI document
/// lists them. `{room}` is a room URI's URL path form (`a.example/r/clubhouse`), `{device}`
/// a device id of the token's user.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", OPENAPI_PATH),
    ("POST", "/client/v1/register"),
    ("POST", "/client/v1/login"),
    ("POST", "/client/v1/logout"),
    ("GET", "/client/v1/hub"),
    ("POST", "/client/v1/devices"),
    ("POST", "/client/v1/devices/{device}/key-packages"),
    ("GET", "/client/v1/devices/{device}/events"),
    ("GET", "/client/v1/devices/{device}/stream"),
    ("POST", "/client/v1/rooms"),
    ("POST", "/client/v1/key-material"),
    ("POST", "/client/v1/rooms/{room}/update"),
    ("POST", "/client/v1/rooms/{room}/messages"),
    ("POST", "/client/v1/rooms/{room}/group-info"),
    ("POST", "/client/v1/rooms/{room}/joined"),
    ("POST", "/client/v1/rooms/{room}/left"),
    ("PUT", "/client/v1/identifiers"),
    ("POST", "/client/v1/search"),
    ("POST", "/client/v1/consent/request"),
    ("POST", "/client/v1/consent/cancel"),
    ("POST", "/client/v1/consent/grant"),
    ("POST", "/client/v1/consent/revoke"),
];

/// The state every handler shares.
pub(crate) struct Api<S: Store> {
    /// The provider.
    pub(crate) p: Arc<Provider<S>>,
    /// Becomes true at shutdown: long polls answer, streams end.
    pub(crate) stop: watch::Receiver<bool>,
    /// Bounds concurrent password hashing (CPU and 19 MiB of memory each).
    pub(crate) hashing: Arc<Semaphore>,
    /// Rates, stream slots and quotas (docs/decisions/0091).
    pub(crate) limits: Arc<Limiters>,
}

impl<S: Store> Clone for Api<S> {
    fn clone(&self) -> Self {
        Self {
            p: self.p.clone(),
            stop: self.stop.clone(),
            hashing: self.hashing.clone(),
            limits: self.limits.clone(),
        }
    }
}

impl<S: Store> Api<S> {
    /// Whether the server is shutting down (or its shutdown signal is gone).
    pub(crate) fn stopping(&self) -> bool {
        *self.stop.borrow() || self.stop.has_changed().is_err()
    }

    /// The device `device` of `user`: a device id of the user, or a client URI. 404 if no
    /// such client is registered here, 403 if it is another user's.
    pub(crate) async fn device(
        &self,
        user: &UserUri,
        device: &str,
    ) -> Result<(ClientUri, ClientRecord), ApiError> {
        let client = if device.starts_with("mimi:") {
            ClientUri::parse(device).map_err(|e| ApiError::bad_request(format!("device: {e}")))?
        } else {
            ClientUri::new(self.p.domain().clone(), Some(user.id()), device)
                .map_err(|e| ApiError::bad_request(format!("device: {e}")))?
        };
        let record = self
            .p
            .store
            .client(client.as_str())
            .await?
            .ok_or_else(|| ApiError::not_found(format!("unknown device {client}")))?;
        if record.user_uri != user.as_str() {
            return Err(ApiError::forbidden(format!(
                "{client} is not a device of {user}"
            )));
        }
        Ok((client, record))
    }
}

/// The client API router, with limiters of its own (see [`router_with`]). `shutdown`
/// becoming true (or its sender going away) ends open event streams and long polls, so a
/// graceful shutdown does not wait for them.
pub fn router<S: Store>(provider: Arc<Provider<S>>, shutdown: watch::Receiver<bool>) -> Router {
    let limiters = Limiters::new(provider.config.file.limits, provider.metrics.clone());
    router_with(provider, shutdown, limiters)
}

/// The client API router, charging requests, streams and rooms' messages to `limiters`
/// (shared with the federation router: docs/decisions/0091).
pub fn router_with<S: Store>(
    provider: Arc<Provider<S>>,
    shutdown: watch::Receiver<bool>,
    limiters: Arc<Limiters>,
) -> Router {
    let limits = provider.config.file.limits;
    let body = json_limit(limits.max_body_bytes);
    let update = json_limit(limits.max_update_bytes);
    let hashing = std::thread::available_parallelism().map_or(2, |n| n.get());
    let observer = crate::access_log::Observe {
        metrics: provider.metrics.clone(),
        listener: crate::metrics::Listener::Client,
        provider: provider.domain().clone(),
    };
    let api = Api {
        p: provider,
        stop: shutdown,
        hashing: Arc::new(Semaphore::new(hashing)),
        limits: limiters.clone(),
    };
    Router::new()
        .route("/healthz", get(healthz::<S>))
        .route(OPENAPI_PATH, get(openapi))
        .route("/client/v1/register", post(accounts::register::<S>))
        .route("/client/v1/login", post(accounts::login::<S>))
        .route("/client/v1/logout", post(accounts::logout::<S>))
        .route("/client/v1/hub", get(accounts::hub::<S>))
        .route("/client/v1/devices", post(accounts::new_device::<S>))
        .route(
            "/client/v1/devices/{device}/key-packages",
            post(accounts::key_packages::<S>),
        )
        .route("/client/v1/devices/{device}/events", get(events::poll::<S>))
        .route(
            "/client/v1/devices/{device}/stream",
            get(events::stream::<S>),
        )
        .route("/client/v1/rooms", post(rooms::create::<S>))
        .route("/client/v1/key-material", post(rooms::key_material::<S>))
        .route(
            "/client/v1/identifiers",
            put(directory::put_identifiers::<S>),
        )
        .route("/client/v1/search", post(directory::search::<S>))
        .route("/client/v1/consent/request", post(directory::request::<S>))
        .route("/client/v1/consent/cancel", post(directory::cancel::<S>))
        .route("/client/v1/consent/grant", post(directory::grant::<S>))
        .route("/client/v1/consent/revoke", post(directory::revoke::<S>))
        // `{room}` spans several segments, so the room operations share one route and are
        // told apart by their last segment (rooms::operation checks the smaller limit of
        // all but `update`).
        .route(
            "/client/v1/rooms/{*room_and_operation}",
            post(rooms::operation::<S>).layer(DefaultBodyLimit::max(update)),
        )
        .layer(DefaultBodyLimit::max(body))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(api)
        .layer(axum::middleware::from_fn_with_state(
            limiters,
            auth::anonymous_requests,
        ))
        .layer(axum::middleware::from_fn(
            crate::listener::close_after_refused_body,
        ))
        .layer(axum::middleware::from_fn_with_state(
            observer,
            crate::access_log::observe,
        ))
}

async fn healthz<S: Store>(axum::extract::State(api): axum::extract::State<Api<S>>) -> Response {
    match api.p.store.ping().await {
        Ok(()) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "ok").into_response(),
        Err(e) => ApiError::unavailable(e).into_response(),
    }
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no endpoint {method} {}", uri.path()))
}

async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        format!("{} does not take {method}", uri.path()),
    )
}

/// The path below the API prefix, undecoded.
pub(crate) fn api_path(uri: &Uri) -> &str {
    uri.path()
        .strip_prefix(CLIENT_API_PREFIX)
        .unwrap_or_default()
}
