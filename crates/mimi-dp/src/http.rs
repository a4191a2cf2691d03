//! The HTTP binding (docs/discovery.md §10.1).

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mimi_lookup::limits::MAX_MESSAGE_LEN;
use mimi_lookup::rand_core::OsRng;
use mimi_lookup::{
    DistributionPoint, Error, MemoryStore, PublisherId, RateLimiter, RatePolicy, UploadResponse,
    encode_key_info,
};
use subtle::ConstantTimeEq;
use tokio::sync::Mutex;

use crate::files::DpFiles;
use crate::{CBOR, DpError, now_ms};

/// Tunables of a DP.
#[derive(Debug, Clone)]
pub struct DpOptions {
    /// The evaluation budget of each requester (peer IP address).
    pub rate: RatePolicy,
    /// Most records in the whole store.
    pub max_records: usize,
}

impl Default for DpOptions {
    fn default() -> Self {
        Self {
            rate: RatePolicy::client_default(),
            max_records: 1_000_000,
        }
    }
}

/// A running DP's state: the sans-IO distribution point, its files and the publisher token.
pub struct DpState {
    dp: Mutex<DistributionPoint<MemoryStore, IpAddr>>,
    files: DpFiles,
    token: String,
    publisher: PublisherId,
}

impl std::fmt::Debug for DpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpState")
            .field("dir", &self.files.dir())
            .finish_non_exhaustive()
    }
}

impl DpState {
    /// Open (or create) the DP whose data directory is `files`: its key, its publisher token
    /// and its saved store.
    ///
    /// # Errors
    /// Any [`DpError`] of the files.
    pub fn open(files: DpFiles, options: &DpOptions) -> Result<Self, DpError> {
        let key = files.key()?;
        let token = files.publisher_token()?;
        let store = files.load_store(now_ms() / 1000, options.max_records)?;
        let limiter = RateLimiter::new(options.rate);
        Ok(Self {
            dp: Mutex::new(DistributionPoint::new(key, store, limiter)),
            files,
            token,
            publisher: PublisherId::new(b"publisher".to_vec())?,
        })
    }

    /// The data directory.
    pub fn files(&self) -> &DpFiles {
        &self.files
    }

    /// How many indices the store holds.
    pub async fn index_count(&self) -> usize {
        self.dp.lock().await.store().index_count()
    }
}

/// The router: the four endpoints under [`crate::PREFIX`], bodies at most
/// [`MAX_MESSAGE_LEN`] bytes. Handlers need [`ConnectInfo<SocketAddr>`] (see [`serve`]).
pub fn router(state: Arc<DpState>) -> Router {
    Router::new()
        .route("/discovery/v1/key", get(key))
        .route("/discovery/v1/evaluate", post(evaluate))
        .route("/discovery/v1/lookup", post(lookup))
        .route("/discovery/v1/upload", post(upload))
        .layer(DefaultBodyLimit::max(MAX_MESSAGE_LEN))
        .with_state(state)
}

/// Serve `state` on `listener` until `shutdown` resolves; in-flight requests finish first.
///
/// # Errors
/// The listener's I/O errors.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<DpState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

fn cbor(body: Vec<u8>) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(CBOR))],
        body,
    )
        .into_response()
}

fn text(status: StatusCode, message: impl Into<String>) -> Response {
    (status, message.into()).into_response()
}

/// The response for a refusal by the lookup library. Error texts never hold an SII.
fn refusal(e: &Error) -> Response {
    match e {
        Error::RateLimited { retry_after_ms } => {
            let secs = retry_after_ms.div_ceil(1000).max(1);
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, secs.to_string())],
                e.to_string(),
            )
                .into_response()
        }
        Error::RateLimiterFull => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1".to_string())],
            e.to_string(),
        )
            .into_response(),
        Error::KeyMismatch => text(
            StatusCode::CONFLICT,
            "unknown key id: fetch GET /discovery/v1/key and blind again",
        ),
        Error::TooLarge { .. } => text(StatusCode::PAYLOAD_TOO_LARGE, e.to_string()),
        Error::Truncated { .. }
        | Error::TrailingBytes { .. }
        | Error::NonCanonical { .. }
        | Error::Malformed { .. }
        | Error::UnsupportedVersion { .. }
        | Error::TooMany { .. }
        | Error::Empty { .. }
        | Error::InvalidElement { .. } => text(StatusCode::BAD_REQUEST, e.to_string()),
        _ => {
            tracing::error!(error = %e, "distribution point failure");
            text(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// 415 unless the request says `application/cbor`.
fn media_type_refusal(headers: &HeaderMap) -> Option<Response> {
    let ok = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(CBOR));
    (!ok).then(|| {
        text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be application/cbor",
        )
    })
}

async fn key(State(state): State<Arc<DpState>>) -> Response {
    let dp = state.dp.lock().await;
    cbor(encode_key_info(dp.public_key()))
}

async fn evaluate(
    State(state): State<Arc<DpState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = media_type_refusal(&headers) {
        return r;
    }
    // The requester is the TCP peer: behind an OHTTP relay, the relay (docs/decisions/0118).
    let mut dp = state.dp.lock().await;
    match dp.evaluate(&peer.ip(), &body, now_ms(), &mut OsRng) {
        Ok(out) => cbor(out),
        Err(e) => refusal(&e),
    }
}

async fn lookup(State(state): State<Arc<DpState>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = media_type_refusal(&headers) {
        return r;
    }
    let dp = state.dp.lock().await;
    match dp.lookup(&body, now_ms()) {
        Ok(out) => cbor(out),
        Err(e) => refusal(&e),
    }
}

fn authorized(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| bool::from(t.trim().as_bytes().ct_eq(token.as_bytes())))
}

async fn upload(State(state): State<Arc<DpState>>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorized(&headers, &state.token) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "upload needs the publisher token",
        )
            .into_response();
    }
    if let Some(r) = media_type_refusal(&headers) {
        return r;
    }
    let mut dp = state.dp.lock().await;
    let out = match dp.upload(&state.publisher, &body, now_ms()) {
        Ok(out) => out,
        Err(e) => return refusal(&e),
    };
    let changed = UploadResponse::decode(&out).is_ok_and(|r| {
        r.statuses.iter().any(|s| {
            matches!(
                s,
                mimi_lookup::UploadStatus::Stored | mimi_lookup::UploadStatus::Replaced
            )
        }) || r.removed.iter().any(|&r| r)
    });
    if changed {
        // Saved before answering, under the lock: an acknowledged upload survives a crash.
        let snapshot = dp.store().snapshot();
        let files = state.files.clone();
        let saved = tokio::task::spawn_blocking(move || files.save_store(&snapshot)).await;
        match saved {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot save the store");
                return text(StatusCode::SERVICE_UNAVAILABLE, "cannot save the store");
            }
            Err(e) => {
                tracing::error!(error = %e, "store save task failed");
                return text(StatusCode::SERVICE_UNAVAILABLE, "cannot save the store");
            }
        }
    }
    cbor(out)
}
