//! Serving an axum router on a TCP listener, optionally behind TLS, with graceful shutdown
//! (the listener stops accepting and in-flight requests finish) and the transport and
//! connection limits of `[limits]` (docs/decisions/0091):
//!
//! - at most `connections.max_per_listener` connections, and per remote address (IPv6: per
//!   /64) `connections.*_per_ip`; an excess connection is closed as soon as it is accepted;
//! - the TLS handshake within `transport.tls_handshake_secs`; then at most
//!   `connections.federation_per_peer` connections per domain the client certificate
//!   names, an excess one closed after the handshake;
//! - the first request's head within `transport.header_read_secs` of the connection; on
//!   HTTP/1.1 every later head within as long of the previous response (hyper's header
//!   timer starts when the connection becomes idle, so it also closes a kept-alive
//!   connection waiting for its next request);
//! - a request body within `transport.body_secs`, plus a second per
//!   `transport.body_min_bytes_per_sec` bytes received, else `408` and the connection is
//!   closed;
//! - a connection without a request in flight for `transport.idle_secs` is shut down
//!   gracefully (HTTP/2: GOAWAY);
//! - HTTP/2: `transport.http2_max_concurrent_streams` streams and a header list of at most
//!   `transport.max_header_bytes` (HTTP/1.1: the head's read buffer).
//!
//! Every trigger increments `mimi_limit_refusals_total{limit, listener}`.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use mimi_types::id::ProviderDomain;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::config::{Limits, TransportLimits};
use crate::limits::ip_key;
use crate::limits::slots::{SharedSlots, Slot, SlotTable};
use crate::metrics::{Limit, Listener, Metrics};
use crate::tls::certificate_domains;

/// The provider domains the peer's TLS client certificate authenticates; inserted into every
/// request of a mutual-TLS connection.
#[derive(Debug, Clone)]
pub struct PeerCertificate {
    /// Domains named by the certificate.
    pub domains: Arc<Vec<mimi_types::id::ProviderDomain>>,
}

/// The remote address of the connection a request came on; inserted into every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteAddr(pub SocketAddr);

/// After `accept` fails (out of file descriptors), wait this long: retrying at once spins.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How long a connection shut down for idleness may take to finish before it is dropped.
const IDLE_DRAIN: Duration = Duration::from_secs(10);

/// How one listener bounds its connections.
#[derive(Debug, Clone)]
pub struct ListenerOptions {
    /// Which listener (metrics labels, logs, the shape of refusals).
    pub listener: Listener,
    /// Timeouts and HTTP framing bounds.
    pub transport: TransportLimits,
    /// Open connections at most (0: no limit).
    pub max_connections: usize,
    /// Open connections per remote address at most (0: no limit).
    pub per_ip: usize,
    /// Open connections per peer domain of the client certificate at most (0: no limit).
    pub per_peer: usize,
    /// Where triggers are counted.
    pub metrics: Arc<Metrics>,
}

impl ListenerOptions {
    /// The federation listener's options.
    pub fn federation(limits: &Limits, metrics: Arc<Metrics>) -> Self {
        Self {
            listener: Listener::Federation,
            transport: limits.transport,
            max_connections: limits.connections.max_per_listener,
            per_ip: limits.connections.federation_per_ip,
            per_peer: limits.connections.federation_per_peer,
            metrics,
        }
    }

    /// The client API listener's options.
    pub fn client(limits: &Limits, metrics: Arc<Metrics>) -> Self {
        Self {
            listener: Listener::Client,
            transport: limits.transport,
            max_connections: limits.connections.max_per_listener,
            per_ip: limits.connections.client_per_ip,
            per_peer: 0,
            metrics,
        }
    }

    /// The admin listener's options: the transport limits and the listener's cap.
    pub fn admin(limits: &Limits, metrics: Arc<Metrics>) -> Self {
        Self {
            listener: Listener::Admin,
            transport: limits.transport,
            max_connections: limits.connections.max_per_listener,
            per_ip: 0,
            per_peer: 0,
            metrics,
        }
    }
}

/// `secs` as a timeout; 0: none.
fn timeout(secs: u64) -> Option<Duration> {
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// What every connection of one listener shares.
struct Shared {
    options: ListenerOptions,
    router: Router,
    per_peer: SharedSlots<ProviderDomain>,
}

/// Serve `router` on `listener` until `shutdown` completes. With `tls`, every connection must
/// complete a TLS handshake (the server config decides whether a client certificate is
/// required) and its requests carry a [`PeerCertificate`]. Every request carries the
/// connection's [`RemoteAddr`].
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    router: Router,
    options: ListenerOptions,
    shutdown: impl Future<Output = ()> + Send,
) {
    let acceptor = tls.map(TlsAcceptor::from);
    let total: SharedSlots<()> = Arc::new(std::sync::Mutex::new(SlotTable::new(
        options.max_connections,
    )));
    let per_ip: SharedSlots<IpAddr> =
        Arc::new(std::sync::Mutex::new(SlotTable::new(options.per_ip)));
    let shared = Arc::new(Shared {
        per_peer: Arc::new(std::sync::Mutex::new(SlotTable::new(options.per_peer))),
        options,
        router,
    });
    // Each connection holds a receiver; shutdown sends `true` and waits for all of them.
    let (close_tx, close_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let listener_kind = shared.options.listener;
        let metrics = &shared.options.metrics;
        // Excess connections are closed before any work is done for them.
        let Some(total_slot) = Slot::take(&total, vec![()]) else {
            tracing::info!(%remote, listener = listener_kind.as_str(), "connection refused: listener full");
            metrics.refused(Limit::Connections, listener_kind);
            continue;
        };
        let Some(ip_slot) = Slot::take(&per_ip, vec![ip_key(remote.ip())]) else {
            tracing::info!(%remote, listener = listener_kind.as_str(), "connection refused: too many from this address");
            metrics.refused(Limit::ConnectionsPerIp, listener_kind);
            continue;
        };
        let shared = shared.clone();
        let acceptor = acceptor.clone();
        let close = close_rx.clone();
        // Each connection is its own task so a slow handshake never blocks accepting.
        tokio::spawn(async move {
            let _slots = (total_slot, ip_slot);
            let _open = OpenConnection::new(&shared.options);
            let _ = stream.set_nodelay(true);
            match acceptor {
                None => connection(stream, remote, None, None, &shared, close).await,
                Some(acceptor) => tls_connection(acceptor, stream, remote, &shared, close).await,
            }
        });
    }
    drop(listener);
    drop(close_rx);
    let _ = close_tx.send(true);
    close_tx.closed().await;
}

/// The open-connections gauge, decremented on drop.
struct OpenConnection {
    metrics: Arc<Metrics>,
    listener: Listener,
}

impl OpenConnection {
    fn new(options: &ListenerOptions) -> Self {
        options.metrics.connections_changed(options.listener, 1);
        Self {
            metrics: options.metrics.clone(),
            listener: options.listener,
        }
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.metrics.connections_changed(self.listener, -1);
    }
}

async fn tls_connection(
    acceptor: TlsAcceptor,
    stream: tokio::net::TcpStream,
    remote: SocketAddr,
    shared: &Shared,
    close: watch::Receiver<bool>,
) {
    let options = &shared.options;
    let handshake = acceptor.accept(stream);
    let accepted = match timeout(options.transport.tls_handshake_secs) {
        Some(budget) => match tokio::time::timeout(budget, handshake).await {
            Ok(r) => r,
            Err(_) => {
                tracing::info!(%remote, "TLS handshake timed out");
                options
                    .metrics
                    .refused(Limit::TlsHandshakeTimeout, options.listener);
                return;
            }
        },
        None => handshake.await,
    };
    let tls = match accepted {
        Ok(tls) => tls,
        Err(e) => {
            tracing::info!(%remote, error = %e, "TLS handshake refused");
            return;
        }
    };
    let domains = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|certs| certs.first())
        .and_then(|leaf| certificate_domains(leaf).ok())
        .unwrap_or_default();
    // Now that the certificate says who the peer is: its own connection cap.
    let Some(peer_slot) = Slot::take(&shared.per_peer, domains.clone()) else {
        tracing::info!(%remote, ?domains, "connection refused: too many of this peer");
        options
            .metrics
            .refused(Limit::ConnectionsPerPeer, options.listener);
        return;
    };
    let peer = PeerCertificate {
        domains: Arc::new(domains),
    };
    connection(tls, remote, Some(peer), Some(peer_slot), shared, close).await;
}

/// What a connection is doing, for its idle timer and for telling an idle HTTP/1.1
/// connection from a slow request head.
#[derive(Debug, Clone, Copy, Default)]
struct ActivityState {
    /// Requests whose response has not been sent completely.
    in_flight: usize,
    /// Requests started on the connection.
    started: u64,
    /// Bytes read from the connection when it last became idle.
    read_when_idle: u64,
}

struct Activity {
    state: watch::Sender<ActivityState>,
    read: AtomicU64,
}

impl Activity {
    fn new() -> Arc<Activity> {
        Arc::new(Activity {
            state: watch::Sender::new(ActivityState::default()),
            read: AtomicU64::new(0),
        })
    }

    fn start(self: &Arc<Self>) -> InFlight {
        self.state.send_modify(|s| {
            s.in_flight += 1;
            s.started += 1;
        });
        InFlight(self.clone())
    }

    /// Whether bytes arrived since the connection last became idle: a request head is
    /// on its way.
    fn reading_a_request(&self) -> bool {
        let s = *self.state.borrow();
        s.started == 0 || self.read.load(Ordering::Relaxed) > s.read_when_idle
    }

    /// Completes when the connection has been idle too long: no request yet within
    /// `first` ([`Limit::HeaderReadTimeout`]), or none in flight for `idle`
    /// ([`Limit::IdleTimeout`]).
    async fn idle(&self, first: Option<Duration>, idle: Option<Duration>) -> Limit {
        let mut rx = self.state.subscribe();
        loop {
            let s = *rx.borrow_and_update();
            let wait = match (s.in_flight, s.started) {
                (0, 0) => first.map(|d| (d, Limit::HeaderReadTimeout)),
                (0, _) => idle.map(|d| (d, Limit::IdleTimeout)),
                _ => None,
            };
            match wait {
                Some((d, limit)) => tokio::select! {
                    () = tokio::time::sleep(d) => return limit,
                    changed = rx.changed() => if changed.is_err() {
                        return std::future::pending().await;
                    },
                },
                None => {
                    if rx.changed().await.is_err() {
                        return std::future::pending().await;
                    }
                }
            }
        }
    }
}

/// A request in flight, until its response body is done or dropped.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let read = self.0.read.load(Ordering::Relaxed);
        self.0.state.send_modify(|s| {
            s.in_flight = s.in_flight.saturating_sub(1);
            if s.in_flight == 0 {
                s.read_when_idle = read;
            }
        });
    }
}

/// Serve one (TLS or plain) connection until it ends, is shut down or times out.
async fn connection<IO>(
    io: IO,
    remote: SocketAddr,
    peer: Option<PeerCertificate>,
    _peer_slot: Option<Slot<ProviderDomain>>,
    shared: &Shared,
    mut close: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let options = &shared.options;
    let transport = options.transport;
    let activity = Activity::new();
    let io = Counted {
        inner: io,
        activity: activity.clone(),
    };
    let service = {
        let activity = activity.clone();
        let router = shared.router.clone();
        let metrics = options.metrics.clone();
        let listener = options.listener;
        tower::service_fn(move |req: hyper::Request<Incoming>| {
            let in_flight = activity.start();
            let router = router.clone();
            let metrics = metrics.clone();
            let peer = peer.clone();
            async move {
                let timed_out = Arc::new(AtomicBool::new(false));
                let (parts, body) = req.into_parts();
                let body = TimedBody::new(body, &transport, timed_out.clone());
                let mut req = Request::from_parts(parts, axum::body::Body::new(body));
                req.extensions_mut().insert(RemoteAddr(remote));
                if let Some(peer) = peer {
                    req.extensions_mut().insert(peer);
                }
                let response = match router.oneshot(req).await {
                    Ok(r) => r,
                    Err(never) => match never {},
                };
                let response = if timed_out.load(Ordering::Relaxed) {
                    tracing::info!(%remote, listener = listener.as_str(), "request body too slow");
                    metrics.refused(Limit::BodyReadTimeout, listener);
                    body_timeout_response(listener)
                } else {
                    response
                };
                Ok::<_, Infallible>(response.map(|body| {
                    axum::body::Body::new(Tracked {
                        inner: body,
                        _in_flight: in_flight,
                    })
                }))
            }
        })
    };
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeout(transport.header_read_secs))
        .max_buf_size(transport.max_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(transport.max_header_bytes).unwrap_or(u32::MAX));
    if transport.http2_max_concurrent_streams > 0 {
        builder
            .http2()
            .max_concurrent_streams(transport.http2_max_concurrent_streams);
    }
    let conn =
        builder.serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(service));
    tokio::pin!(conn);
    let idle = activity.idle(
        timeout(transport.header_read_secs),
        timeout(transport.idle_secs),
    );
    tokio::pin!(idle);
    let mut draining = *close.borrow();
    if draining {
        conn.as_mut().graceful_shutdown();
    }
    let mut drain_deadline: Option<tokio::time::Instant> = None;
    let result = loop {
        tokio::select! {
            result = conn.as_mut() => break result,
            changed = close.changed(), if !draining => {
                let _ = changed;
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            limit = &mut idle, if !draining => {
                options.metrics.refused(limit, options.listener);
                if limit == Limit::HeaderReadTimeout {
                    // Nothing was served yet: the client is stalling (slow loris).
                    tracing::info!(%remote, listener = options.listener.as_str(), "connection closed: no request in time");
                    return;
                }
                tracing::debug!(%remote, listener = options.listener.as_str(), "idle connection shut down");
                draining = true;
                drain_deadline = Some(tokio::time::Instant::now() + IDLE_DRAIN);
                conn.as_mut().graceful_shutdown();
            }
            () = sleep_until(drain_deadline), if drain_deadline.is_some() => {
                tracing::debug!(%remote, "idle connection dropped after its drain time");
                return;
            }
        }
    };
    if let Err(e) = result {
        let timed_out = e
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_timeout);
        if timed_out && !draining {
            // hyper's header timer: a slow head, or an HTTP/1.1 connection idle between
            // requests.
            let limit = if activity.reading_a_request() {
                Limit::HeaderReadTimeout
            } else {
                Limit::IdleTimeout
            };
            tracing::debug!(%remote, limit = limit.as_str(), "connection timed out");
            options.metrics.refused(limit, options.listener);
        } else {
            tracing::debug!(%remote, error = %e, "connection ended with an error");
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// `408` for a body that did not arrive in time, closing the connection (the rest of the
/// body is never read).
fn body_timeout_response(listener: Listener) -> Response {
    const REASON: &str = "the request body did not arrive in time";
    let mut response = match listener {
        Listener::Client => (
            StatusCode::REQUEST_TIMEOUT,
            axum::Json(mimi_types::client_api::ErrorBody {
                error: REASON.into(),
            }),
        )
            .into_response(),
        _ => (
            StatusCode::REQUEST_TIMEOUT,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            REASON,
        )
            .into_response(),
    };
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The byte stream of a connection, counting what is read.
struct Counted<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            let n = (buf.filled().len() - before) as u64;
            self.activity.read.fetch_add(n, Ordering::Relaxed);
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A request body that must arrive within its budget: `body_secs` from the first read,
/// plus a second per `body_min_bytes_per_sec` bytes received.
struct TimedBody {
    inner: Incoming,
    budget: Option<(Duration, u64)>,
    started: Option<tokio::time::Instant>,
    received: u64,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    timed_out: Arc<AtomicBool>,
}

/// The error a [`TimedBody`] ends with when its budget runs out.
#[derive(Debug)]
struct BodyTimedOut;

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl std::error::Error for BodyTimedOut {}

impl TimedBody {
    fn new(inner: Incoming, transport: &TransportLimits, timed_out: Arc<AtomicBool>) -> Self {
        Self {
            inner,
            budget: timeout(transport.body_secs).map(|d| (d, transport.body_min_bytes_per_sec)),
            started: None,
            received: 0,
            sleep: None,
            timed_out,
        }
    }

    /// When the body must be complete, given what has arrived.
    fn deadline(
        &self,
        started: tokio::time::Instant,
        base: Duration,
        rate: u64,
    ) -> tokio::time::Instant {
        let earned = self
            .received
            .saturating_mul(1000)
            .checked_div(rate)
            .map_or(Duration::ZERO, Duration::from_millis);
        started + base.saturating_add(earned)
    }
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if this.timed_out.load(Ordering::Relaxed) {
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut))));
        }
        let started = *this.started.get_or_insert_with(tokio::time::Instant::now);
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received = this.received.saturating_add(data.len() as u64);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Box::new(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let Some((base, rate)) = this.budget else {
                    return Poll::Pending;
                };
                let deadline = this.deadline(started, base, rate);
                let sleep = match &mut this.sleep {
                    Some(sleep) => {
                        if sleep.deadline() != deadline {
                            sleep.as_mut().reset(deadline);
                        }
                        sleep
                    }
                    None => this
                        .sleep
                        .insert(Box::pin(tokio::time::sleep_until(deadline))),
                };
                if sleep.as_mut().poll(cx).is_ready() {
                    this.timed_out.store(true, Ordering::Relaxed);
                    return Poll::Ready(Some(Err(Box::new(BodyTimedOut))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that keeps its request counted as in flight until it is done.
struct Tracked {
    inner: axum::body::Body,
    _in_flight: InFlight,
}

impl Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Middleware: a `413` is sent before the request body was read, and the server then closes
/// the connection; saying so (`Connection: close`) keeps the client from reusing it for its
/// next request, which would fail instead of reaching us.
pub async fn close_after_refused_body(
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(req).await;
    if response.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    response
}
