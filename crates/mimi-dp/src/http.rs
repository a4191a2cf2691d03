//! The HTTP binding (docs/discovery.md §10.1).
//!
//! Locks: the distribution point (the store) is behind a read-write lock: lookups share it,
//! an upload takes it exclusively only while the store applies the upload. Evaluations do not
//! touch it (the key is immutable, the rate limiter has its own mutex). The journal has its
//! own lock, always taken first: an upload holds it from before it is applied until it is
//! durable, so the journal is in apply order and the fsync runs without the store's lock; a
//! compaction holds it (and the store's read lock) while it serializes the store, so uploads,
//! not lookups, wait for that.

use std::fs::File;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex as StdMutex, PoisonError, TryLockError};
use std::time::{Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mimi_lookup::limits::MAX_MESSAGE_LEN;
use mimi_lookup::rand_core::OsRng;
use mimi_lookup::{
    BlindedQuery, DistributionPoint, DpKey, Error, IndexStore, MemoryStore, PublisherId,
    RateLimiter, RatePolicy, UploadResponse, UploadStatus, encode_key_info,
};
use subtle::ConstantTimeEq;
use tokio::sync::{Mutex, RwLock};

use crate::files::{DpFiles, token_hash};
use crate::gateway::Gateway;
use crate::journal::{Journals, PendingSnapshot, recover};
use crate::relay::MAX_RELAYED_LEN;
use crate::{CBOR, DpError, OHTTP_REQUEST, now_ms};

/// Tunables of a DP.
#[derive(Debug, Clone)]
pub struct DpOptions {
    /// The evaluation budget of each requester (peer IP address).
    pub rate: RatePolicy,
    /// Most records in the whole store.
    pub max_records: usize,
    /// Compact (write a new snapshot, empty the journal) once the journal holds this many
    /// bytes (docs/decisions/0130).
    pub journal_max_bytes: u64,
}

impl Default for DpOptions {
    fn default() -> Self {
        Self {
            rate: RatePolicy::client_default(),
            max_records: 1_000_000,
            journal_max_bytes: 64 << 20,
        }
    }
}

/// Blinded elements evaluated on the request's own task; larger batches go to the blocking
/// pool so that one request does not hold an async worker for milliseconds.
const INLINE_EVALUATION_ELEMENTS: usize = 4;

/// A running DP's state: the sans-IO distribution point, its OPRF key and rate limiter, its
/// journal, its publishers and its files.
pub struct DpState {
    dp: RwLock<DistributionPoint<MemoryStore, IpAddr>>,
    key: DpKey,
    limiter: StdMutex<RateLimiter<IpAddr>>,
    journal: Mutex<Journals>,
    /// Held for the whole of a compaction: one at a time.
    compaction: StdMutex<()>,
    publishers: Publishers,
    gateway: Gateway,
    files: DpFiles,
    options: DpOptions,
    /// The directory's `flock`, held while the state lives.
    _lock: File,
}

impl std::fmt::Debug for DpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpState")
            .field("dir", &self.files.dir())
            .finish_non_exhaustive()
    }
}

impl DpState {
    /// Open (or create) the DP whose data directory is `files`: lock the directory, load its
    /// key, its publishers (creating the `default` publisher's token at first start) and its
    /// store — the snapshot, then every journaled upload replayed, then a compaction if that
    /// changed anything (docs/decisions/0130).
    ///
    /// # Errors
    /// Any [`DpError`] of the files; [`DpError::InUse`] if another DP serves the directory;
    /// [`DpError::Corrupt`] for a journal damaged before its last record.
    pub fn open(files: DpFiles, options: &DpOptions) -> Result<Self, DpError> {
        let lock = files.lock()?;
        let key = files.key()?;
        // The `default` publisher (and, before docs/decisions/0130, the only one).
        files.publisher_token()?;
        let publishers = Publishers::load(files.clone())?;
        let gateway = Gateway::from_secret(&files.ohttp_secret()?)?;
        let started = Instant::now();
        let (dp, journal, report) = recover(
            &files,
            key.clone(),
            RateLimiter::new(options.rate),
            options.max_records,
            now_ms(),
        )?;
        if report.torn > 0 {
            tracing::warn!(
                bytes = report.torn,
                "dropped a torn last journal record (a crash during its append; never acknowledged)"
            );
        }
        tracing::info!(
            records = dp.store().len(),
            replayed = report.replayed,
            purged = report.purged,
            migrated = report.migrated,
            compacted = report.compacted,
            ms = started.elapsed().as_millis() as u64,
            "store loaded"
        );
        Ok(Self {
            dp: RwLock::new(dp),
            key,
            limiter: StdMutex::new(RateLimiter::new(options.rate)),
            journal: Mutex::new(journal),
            compaction: StdMutex::new(()),
            publishers,
            gateway,
            files,
            options: options.clone(),
            _lock: lock,
        })
    }

    /// The data directory.
    pub fn files(&self) -> &DpFiles {
        &self.files
    }

    /// How many indices the store holds.
    pub async fn index_count(&self) -> usize {
        self.dp.read().await.store().index_count()
    }

    /// How many records the store holds (expired ones not yet purged included).
    pub async fn record_count(&self) -> usize {
        self.dp.read().await.store().len()
    }

    /// The store's snapshot encoding as it is in memory now (docs/discovery-lookup.md §9.4).
    pub async fn snapshot(&self) -> Vec<u8> {
        self.dp.read().await.store().snapshot()
    }

    /// Answer an encoded `LookupRequest` with an encoded `LookupResponse` (what
    /// `POST /discovery/v1/lookup` does, for other transports of the same request).
    ///
    /// # Errors
    /// Decoding errors.
    pub async fn lookup(&self, request: &[u8]) -> Result<Vec<u8>, Error> {
        self.dp.read().await.lookup(request, now_ms())
    }

    /// The OPRF public key (what clients pin).
    pub fn public_key(&self) -> &mimi_lookup::DpPublicKey {
        self.key.public()
    }

    /// The OHTTP gateway (its key configurations are what relayed clients encrypt to).
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// Bytes in the journal (uploads since the last snapshot).
    pub async fn journal_len(&self) -> u64 {
        self.journal.lock().await.len()
    }

    /// Compact now: write the store as a new snapshot and start an empty journal (nothing is
    /// written if the journal holds no upload). [`serve`] does this after a graceful stop.
    ///
    /// # Errors
    /// I/O errors; the journal then still holds every acknowledged upload.
    pub async fn compact(self: &Arc<Self>) -> Result<(), DpError> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || state.compact_blocking(true).map(drop))
            .await
            .map_err(|e| DpError::Io {
                path: self.files.dir().display().to_string(),
                source: std::io::Error::other(e.to_string()),
            })?
    }

    /// Compact, on a blocking thread. `wait`: wait for a compaction already running, or
    /// (false) leave it at that. Whether this call compacted.
    fn compact_blocking(&self, wait: bool) -> Result<bool, DpError> {
        let _one = if wait {
            self.compaction
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        } else {
            match self.compaction.try_lock() {
                Ok(g) => g,
                Err(TryLockError::WouldBlock) => return Ok(false),
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
            }
        };
        let started = Instant::now();
        let pending = {
            // Uploads wait (for the journal) while the store is serialized; lookups go on.
            let mut journal = self.journal.blocking_lock();
            let dp = self.dp.blocking_read();
            journal.begin(dp.store())?
        };
        if let Some(PendingSnapshot(snapshot)) = pending {
            // No lock held: uploads continue into the new journal meanwhile.
            let written = self.files.save_store(&snapshot);
            let bytes = snapshot.len();
            drop(snapshot);
            self.journal.blocking_lock().finish(written.is_ok())?;
            written?;
            tracing::info!(
                bytes,
                ms = started.elapsed().as_millis() as u64,
                "store compacted"
            );
        }
        Ok(true)
    }

    /// Start a compaction on the blocking pool, unless one is running.
    fn spawn_compaction(self: &Arc<Self>) {
        let state = self.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn_blocking(move || {
                if let Err(e) = state.compact_blocking(false) {
                    tracing::error!(error = %e, "compaction failed; the journal keeps every upload");
                }
            });
        }
    }

    /// Apply an upload and journal it (on a blocking thread: this runs to its end even if the
    /// client goes away).
    fn upload_blocking(
        self: &Arc<Self>,
        publisher: &PublisherId,
        body: &[u8],
    ) -> Result<Vec<u8>, UploadFailure> {
        // The journal's lock first (module docs), held until the upload is durable.
        let mut journal = self.journal.blocking_lock();
        if journal.needs_repair() {
            drop(journal);
            self.spawn_compaction();
            return Err(UploadFailure::Unavailable);
        }
        let now = now_ms();
        let out = self
            .dp
            .blocking_write()
            .upload(publisher, body, now)
            .map_err(UploadFailure::Refused)?;
        if may_have_changed(&out) {
            // docs/discovery.md §10.1: written to disk before the answer. Lookups go on
            // meanwhile (they may see the record a moment before it is durable).
            if let Err(e) = journal.append(publisher, now, body) {
                tracing::error!(error = %e, "cannot journal an upload");
                drop(journal);
                self.spawn_compaction();
                return Err(UploadFailure::Unavailable);
            }
            if journal.len() >= self.options.journal_max_bytes {
                drop(journal);
                self.spawn_compaction();
            }
        }
        Ok(out)
    }
}

/// Why an upload got no `UploadResponse`.
enum UploadFailure {
    /// The request does not decode.
    Refused(Error),
    /// It could not be saved (503).
    Unavailable,
}

/// Whether the store may differ after an upload answered with `out`: anything but entries
/// refused before the store looked at their index (`Expired`, `ExpiryTooFar`) and removals of
/// nothing. (A `Duplicate` refreshes the expiry; any put purges the index's expired records.)
fn may_have_changed(out: &[u8]) -> bool {
    UploadResponse::decode(out).map_or(true, |r| {
        r.statuses
            .iter()
            .any(|s| !matches!(s, UploadStatus::Expired | UploadStatus::ExpiryTooFar))
            || r.removed.iter().any(|&r| r)
    })
}

/// The publishers and their token hashes, reloaded when the publishers file changes (a
/// publisher added while the DP runs is accepted from its next upload on).
struct Publishers {
    files: DpFiles,
    table: StdMutex<PublisherTable>,
}

struct PublisherTable {
    stamp: Option<(SystemTime, u64)>,
    entries: Vec<(PublisherId, [u8; 32])>,
}

impl Publishers {
    fn load(files: DpFiles) -> Result<Self, DpError> {
        let table = Self::read(&files)?;
        Ok(Self {
            files,
            table: StdMutex::new(table),
        })
    }

    fn read(files: &DpFiles) -> Result<PublisherTable, DpError> {
        let stamp = files.publishers_stamp();
        let entries = files
            .publishers()?
            .into_iter()
            .map(|p| Ok((p.id()?, p.token_sha256)))
            .collect::<Result<_, DpError>>()?;
        Ok(PublisherTable { stamp, entries })
    }

    /// The publisher whose token this is. Every stored hash is compared, in constant time.
    fn authenticate(&self, token: &str) -> Option<PublisherId> {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let stamp = self.files.publishers_stamp();
        if stamp != table.stamp {
            match Self::read(&self.files) {
                Ok(t) => *table = t,
                // Keep the publishers known so far; the file is retried at the next upload.
                Err(e) => tracing::error!(error = %e, "cannot reload the publishers"),
            }
        }
        let presented = token_hash(token);
        let mut found = None;
        for (id, hash) in &table.entries {
            if bool::from(hash.ct_eq(&presented)) {
                found = Some(id.clone());
            }
        }
        found
    }
}

/// The router: the endpoints under [`crate::PREFIX`] (docs/discovery.md §10.1 and §12.1),
/// bodies at most [`MAX_MESSAGE_LEN`] bytes (the gateway's: [`MAX_RELAYED_LEN`]). Handlers need
/// [`ConnectInfo<SocketAddr>`] (see [`serve`]).
pub fn router(state: Arc<DpState>) -> Router {
    Router::new()
        .route("/discovery/v1/key", get(key))
        .route("/discovery/v1/evaluate", post(evaluate))
        .route("/discovery/v1/lookup", post(lookup))
        .route("/discovery/v1/upload", post(upload))
        .layer(DefaultBodyLimit::max(MAX_MESSAGE_LEN))
        .route("/discovery/v1/ohttp-keys", get(ohttp_keys))
        .route(
            "/discovery/v1/gateway",
            post(gateway).layer(DefaultBodyLimit::max(MAX_RELAYED_LEN)),
        )
        .with_state(state)
}

/// Serve `state` on `listener` until `shutdown` resolves; in-flight requests finish first,
/// then the store is compacted (docs/decisions/0130).
///
/// # Errors
/// The listener's I/O errors, or a failed compaction (the journal then still holds every
/// acknowledged upload, and the next start replays it).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<DpState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state.clone()).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    state.compact().await.map_err(std::io::Error::other)
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

fn unavailable(message: &'static str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "1")],
        message,
    )
        .into_response()
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
    cbor(encode_key_info(state.key.public()))
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
    // As `DistributionPoint::evaluate`, without the store's lock: decode, the key (409),
    // the requester's budget (429, charging nothing when refused), then the evaluation.
    let query = match BlindedQuery::decode(&body) {
        Ok(q) => q,
        Err(e) => return refusal(&e),
    };
    if query.key_id() != state.key.public().id() {
        return refusal(&Error::KeyMismatch);
    }
    let Ok(cost) = u32::try_from(query.len()) else {
        return refusal(&Error::Crypto("batch size"));
    };
    // The requester is the TCP peer: behind an OHTTP relay, the relay (docs/decisions/0118).
    let charged = state
        .limiter
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .check(&crate::requester(peer.ip()), cost, now_ms());
    if let Err(e) = charged {
        return refusal(&e);
    }
    let evaluated = if query.len() <= INLINE_EVALUATION_ELEMENTS {
        mimi_lookup::evaluate(&state.key, &query, &mut OsRng)
    } else {
        let state = state.clone();
        match tokio::task::spawn_blocking(move || {
            mimi_lookup::evaluate(&state.key, &query, &mut OsRng)
        })
        .await
        {
            Ok(r) => r,
            Err(_) => Err(Error::Crypto("evaluation task")),
        }
    };
    match evaluated {
        Ok(out) => cbor(out.encode()),
        Err(e) => refusal(&e),
    }
}

async fn lookup(State(state): State<Arc<DpState>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = media_type_refusal(&headers) {
        return r;
    }
    match state.lookup(&body).await {
        Ok(out) => cbor(out),
        Err(e) => refusal(&e),
    }
}

async fn ohttp_keys(State(state): State<Arc<DpState>>) -> Response {
    state.gateway.keys_response()
}

/// A lookup that came through an OHTTP relay (docs/discovery.md §12.1).
async fn gateway(State(state): State<Arc<DpState>>, headers: HeaderMap, body: Bytes) -> Response {
    let is_ohttp = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(OHTTP_REQUEST));
    if !is_ohttp {
        return text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be message/ohttp-req",
        );
    }
    let dp = state.dp.read().await;
    state
        .gateway
        .handle(&body, |request| dp.lookup(request, now_ms()))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

async fn upload(State(state): State<Arc<DpState>>, headers: HeaderMap, body: Bytes) -> Response {
    // docs/discovery.md §10.1: 401 without a publisher's token; the records are stored under
    // the publisher the token belongs to (docs/discovery-lookup.md §9.1 rules 3 and 6).
    let Some(publisher) = bearer(&headers).and_then(|t| state.publishers.authenticate(t)) else {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "upload needs a publisher token",
        )
            .into_response();
    };
    if let Some(r) = media_type_refusal(&headers) {
        return r;
    }
    let task = tokio::task::spawn_blocking(move || state.upload_blocking(&publisher, &body));
    match task.await {
        Ok(Ok(out)) => cbor(out),
        Ok(Err(UploadFailure::Refused(e))) => refusal(&e),
        Ok(Err(UploadFailure::Unavailable)) => unavailable("cannot save the store"),
        Err(e) => {
            tracing::error!(error = %e, "upload task failed");
            unavailable("cannot save the store")
        }
    }
}
