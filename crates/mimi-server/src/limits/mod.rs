//! The provider's limits at run time (`[limits]`, docs/operating.md "Limits",
//! docs/decisions/0091): token buckets per peer, user, address and room, counted event-stream
//! slots per device and user, and the middleware that applies them. The listener
//! (crate::listener) enforces the transport and connection limits itself.
//!
//! ```text
//!  connection ─► listener: per-listener and per-address caps, TLS handshake, header, body,
//!                idle timeouts; per-peer cap once the certificate is known
//!  federation request ─► authenticate (Peer) ─► peer bucket ─► submitMessage: room bucket
//!  client request ─► no token: address bucket │ token: user bucket (bad token: address)
//!                    ─► stream slots, quotas in the handlers
//! ```
//!
//! Every trigger increments `mimi_limit_refusals_total{limit, listener}`. Buckets and slots
//! live in memory: a restart refills every bucket.

pub mod bucket;
pub mod slots;

use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use mimi_store::Store;
use mimi_types::id::{ProviderDomain, RoomUri};

use crate::config::Limits;
use crate::federation::auth::{Peer, reject};
use crate::metrics::{Limit, Listener, Metrics};
use crate::provider::Provider;
use bucket::{KeyedBuckets, Rate, retry_after_secs};
use slots::{SharedSlots, Slot, SlotTable};

/// Most keys one table of buckets tracks at once (beyond, newcomers share a bucket).
const MAX_KEYS: usize = 65_536;

/// How long a client is told to wait before opening another event stream: the SSE
/// keep-alive interval, by which a stream whose client went away has been noticed.
pub const STREAM_RETRY_AFTER_SECS: u64 = 15;

/// A request refused by a rate or stream limit: which, and when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// The limit that refused.
    pub limit: Limit,
    /// Whole seconds to wait (`Retry-After`), at least 1.
    pub retry_after_secs: u64,
}

impl Throttled {
    /// The federation answer: `429`, `Retry-After`, a one-line reason.
    pub fn federation_response(&self, reason: impl Into<String>) -> Response {
        let mut response = reject(StatusCode::TOO_MANY_REQUESTS, reason);
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(self.retry_after_secs),
        );
        response
    }
}

/// The key of an address: IPv4 as is, IPv6 by its /64 (one subscriber's prefix; a host
/// has as many /128s as it wants). IPv4-mapped IPv6 addresses count as IPv4.
pub fn ip_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

type Buckets<K> = Option<Mutex<KeyedBuckets<K>>>;

fn buckets<K: Eq + std::hash::Hash + Clone>(per_sec: u64, burst: u64) -> Buckets<K> {
    Rate::new(per_sec, burst).map(|rate| Mutex::new(KeyedBuckets::new(rate, MAX_KEYS)))
}

/// The limiters of one provider, shared by its routers.
#[derive(Debug)]
pub struct Limiters {
    limits: Limits,
    metrics: Arc<Metrics>,
    epoch: Instant,
    peers: Buckets<ProviderDomain>,
    users: Buckets<String>,
    anonymous: Buckets<IpAddr>,
    rooms: Buckets<RoomUri>,
    stream_devices: SharedSlots<String>,
    stream_users: SharedSlots<String>,
}

impl Limiters {
    /// Limiters for `limits`, counting triggers in `metrics`.
    pub fn new(limits: Limits, metrics: Arc<Metrics>) -> Arc<Limiters> {
        let r = &limits.rates;
        let q = &limits.quotas;
        Arc::new(Limiters {
            peers: buckets(r.peer_per_sec, r.peer_burst),
            users: buckets(r.user_per_sec, r.user_burst),
            anonymous: buckets(r.anonymous_per_sec, r.anonymous_burst),
            rooms: buckets(r.room_message_bytes_per_sec, r.room_message_burst_bytes),
            stream_devices: Arc::new(Mutex::new(SlotTable::new(q.streams_per_device))),
            stream_users: Arc::new(Mutex::new(SlotTable::new(q.streams_per_user))),
            limits,
            metrics,
            epoch: Instant::now(),
        })
    }

    /// The configured limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Count one trigger of `limit` on `listener`.
    pub fn refused(&self, limit: Limit, listener: Listener) {
        tracing::info!(
            limit = limit.as_str(),
            listener = listener.as_str(),
            "limit reached"
        );
        self.metrics.refused(limit, listener);
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn charge<K: Eq + std::hash::Hash + Clone>(
        &self,
        table: &Buckets<K>,
        key: &K,
        cost: u64,
        limit: Limit,
        listener: Listener,
    ) -> Result<(), Throttled> {
        let Some(table) = table else {
            return Ok(());
        };
        let now = self.now_ms();
        let result = table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take(key, cost, now);
        result.map_err(|wait| {
            self.refused(limit, listener);
            Throttled {
                limit,
                retry_after_secs: retry_after_secs(wait),
            }
        })
    }

    /// One federation request of `peer` (`rates.peer_*`).
    pub fn peer_request(&self, peer: &ProviderDomain) -> Result<(), Throttled> {
        self.charge(&self.peers, peer, 1, Limit::PeerRate, Listener::Federation)
    }

    /// One client API request of `user` (`rates.user_*`).
    pub fn user_request(&self, user: &str) -> Result<(), Throttled> {
        self.charge(
            &self.users,
            &user.to_string(),
            1,
            Limit::UserRate,
            Listener::Client,
        )
    }

    /// One client API request from `ip` without a valid token (`rates.anonymous_*`).
    pub fn anonymous_request(&self, ip: IpAddr) -> Result<(), Throttled> {
        self.charge(
            &self.anonymous,
            &ip_key(ip),
            1,
            Limit::AnonymousRate,
            Listener::Client,
        )
    }

    /// `bytes` of a message for `room`, hosted here (`rates.room_message_*`), arriving on
    /// `listener`.
    pub fn room_message(
        &self,
        room: &RoomUri,
        bytes: usize,
        listener: Listener,
    ) -> Result<(), Throttled> {
        let cost = u64::try_from(bytes).unwrap_or(u64::MAX);
        self.charge(&self.rooms, room, cost, Limit::RoomMessageRate, listener)
    }

    /// A slot for one more event stream of `device` (a client URI) of `user`
    /// (`quotas.streams_per_*`), held until the returned guard is dropped.
    pub fn open_stream(&self, user: &str, device: &str) -> Result<StreamSlot, Throttled> {
        let throttled = |limit| {
            self.refused(limit, Listener::Client);
            Throttled {
                limit,
                retry_after_secs: STREAM_RETRY_AFTER_SECS,
            }
        };
        let device = Slot::take(&self.stream_devices, vec![device.to_string()])
            .ok_or_else(|| throttled(Limit::StreamsPerDevice))?;
        let user = Slot::take(&self.stream_users, vec![user.to_string()])
            .ok_or_else(|| throttled(Limit::StreamsPerUser))?;
        self.metrics.event_streams_changed(1);
        Ok(StreamSlot {
            _device: device,
            _user: user,
            metrics: self.metrics.clone(),
        })
    }
}

/// An open event stream's slots; dropping it gives them back.
#[derive(Debug)]
pub struct StreamSlot {
    _device: Slot<String>,
    _user: Slot<String>,
    metrics: Arc<Metrics>,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.metrics.event_streams_changed(-1);
    }
}

/// Federation middleware, inside [`crate::federation::auth::authenticate`]: charge the
/// authenticated peer's bucket; over it, `429` with `Retry-After` before anything is read
/// or done.
pub async fn limit_peer_requests(
    State(limiters): State<Arc<Limiters>>,
    req: Request,
    next: Next,
) -> Response {
    if let Some(Peer(peer)) = req.extensions().get::<Peer>()
        && let Err(t) = limiters.peer_request(peer)
    {
        return t.federation_response(format!(
            "too many requests from {peer}; retry after {} s",
            t.retry_after_secs
        ));
    }
    next.run(req).await
}

/// The state of [`limit_room_messages`].
pub struct RoomMessages<S: Store> {
    /// The provider (which rooms are hosted here).
    pub provider: Arc<Provider<S>>,
    /// Its limiters.
    pub limiters: Arc<Limiters>,
}

impl<S: Store> Clone for RoomMessages<S> {
    fn clone(&self) -> Self {
        Self {
            provider: self.provider.clone(),
            limiters: self.limiters.clone(),
        }
    }
}

/// Federation middleware of `/submitMessage`: charge a message's bytes to its room when the
/// room is hosted here; over the room's bucket, `429` with `Retry-After`, and the hub does
/// nothing with the message. The body is read here (bounded by `max_body_bytes`) and
/// handed on.
pub async fn limit_room_messages<S: Store>(
    State(state): State<RoomMessages<S>>,
    req: Request,
    next: Next,
) -> Response {
    const PREFIX: &str = "/v1/submitMessage/";
    let room = req
        .uri()
        .path()
        .strip_prefix(PREFIX)
        .and_then(|arg| RoomUri::from_url_path(arg).ok());
    let Some(room) = room else {
        // The handler refuses the path.
        return next.run(req).await;
    };
    if state.provider.room(&room).await.is_none() {
        return next.run(req).await;
    }
    let limit = state.limiters.limits().max_body_bytes;
    let (parts, body) = req.into_parts();
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return reject(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is over {limit} bytes"),
            );
        }
        Err(e) => {
            return reject(
                StatusCode::BAD_REQUEST,
                format!("reading the request body: {e}"),
            );
        }
    };
    if let Err(t) = state
        .limiters
        .room_message(&room, bytes.len(), Listener::Federation)
    {
        return t.federation_response(format!(
            "{room} takes no more messages for now; retry after {} s",
            t.retry_after_secs
        ));
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_keyed_by_ipv4_or_ipv6_prefix() {
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(ip_key(v4), v4);
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(ip_key(mapped), v4);
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ip_key(a), ip_key(b));
        assert_ne!(ip_key(a), ip_key(other));
        assert_eq!(ip_key(a), "2001:db8:1:2::".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn stream_slots_per_device_and_user() {
        let mut limits = Limits::default();
        limits.quotas.streams_per_device = 1;
        limits.quotas.streams_per_user = 2;
        let metrics = Arc::new(Metrics::new());
        let l = Limiters::new(limits, metrics.clone());
        let a1 = l.open_stream("alice", "a1").expect("first");
        let err = l.open_stream("alice", "a1").expect_err("second of a1");
        assert_eq!(err.limit, Limit::StreamsPerDevice);
        assert_eq!(err.retry_after_secs, STREAM_RETRY_AFTER_SECS);
        let _a2 = l.open_stream("alice", "a2").expect("a2");
        let err = l.open_stream("alice", "a3").expect_err("third of alice");
        assert_eq!(err.limit, Limit::StreamsPerUser);
        // The refused a3 took no device slot: with a1 closed, a3 gets one.
        drop(a1);
        let _a3 = l.open_stream("alice", "a3").expect("a3 after a1 closed");
        let _b = l.open_stream("bob", "b1").expect("another user");
        assert_eq!(
            metrics.refusals(Limit::StreamsPerDevice, Listener::Client),
            1
        );
        assert_eq!(metrics.refusals(Limit::StreamsPerUser, Listener::Client), 1);
    }

    #[test]
    fn rates_off_at_zero() {
        let mut limits = Limits::default();
        limits.rates.peer_per_sec = 0;
        limits.rates.user_per_sec = 1;
        limits.rates.user_burst = 1;
        let l = Limiters::new(limits, Arc::new(Metrics::new()));
        let peer = ProviderDomain::parse("b.example").unwrap();
        for _ in 0..10_000 {
            assert!(l.peer_request(&peer).is_ok());
        }
        assert!(l.user_request("mimi://a.example/u/alice").is_ok());
        let t = l
            .user_request("mimi://a.example/u/alice")
            .expect_err("bucket of 1");
        assert_eq!(t.limit, Limit::UserRate);
        assert_eq!(t.retry_after_secs, 1);
    }
}
