//! Prometheus metrics: requests and their latency per listener and route, `/notify`
//! deliveries per peer, refusals by the limits of `[limits]` (with open connections and
//! event streams), and — read from storage when scraped — the outbox backlog per peer,
//! hosted rooms, users, clients and KeyPackages.

use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use mimi_store::Store;

/// Which listener served a request.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum Listener {
    /// The mutual-TLS federation listener.
    Federation,
    /// The client API for this provider's users.
    Client,
    /// The operator's listener (`/metrics`, `/healthz`).
    Admin,
}

impl Listener {
    /// The name used in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Listener::Federation => "federation",
            Listener::Client => "client",
            Listener::Admin => "admin",
        }
    }
}

/// A limit of `[limits]`, as the `limit` label of `mimi_limit_refusals_total`.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Limit {
    /// `connections.max_per_listener`: the listener's connection cap.
    Connections,
    /// `connections.*_per_ip`: connections from one address.
    ConnectionsPerIp,
    /// `connections.federation_per_peer`: connections of one peer domain.
    ConnectionsPerPeer,
    /// `transport.tls_handshake_secs`.
    TlsHandshakeTimeout,
    /// `transport.header_read_secs`: a request head (or a connection's first request) too
    /// slow.
    HeaderReadTimeout,
    /// `transport.body_secs` / `body_min_bytes_per_sec`: a request body too slow.
    BodyReadTimeout,
    /// `transport.idle_secs` (and HTTP/1.1 keep-alive at `header_read_secs`): an idle
    /// connection closed.
    IdleTimeout,
    /// `rates.peer_*`: a peer's request rate.
    PeerRate,
    /// `rates.user_*`: a user's request rate.
    UserRate,
    /// `rates.anonymous_*`: an address's rate of unauthenticated requests.
    AnonymousRate,
    /// `rates.room_message_*`: a room's message bytes.
    RoomMessageRate,
    /// `quotas.streams_per_device`.
    StreamsPerDevice,
    /// `quotas.streams_per_user`.
    StreamsPerUser,
    /// `quotas.devices_per_user`.
    DevicesPerUser,
    /// `quotas.key_packages_per_device`.
    KeyPackagesPerDevice,
    /// `quotas.rooms_per_user`.
    RoomsPerUser,
}

impl Limit {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::Connections => "connections",
            Limit::ConnectionsPerIp => "connections_per_ip",
            Limit::ConnectionsPerPeer => "connections_per_peer",
            Limit::TlsHandshakeTimeout => "tls_handshake_timeout",
            Limit::HeaderReadTimeout => "header_read_timeout",
            Limit::BodyReadTimeout => "body_read_timeout",
            Limit::IdleTimeout => "idle_timeout",
            Limit::PeerRate => "peer_rate",
            Limit::UserRate => "user_rate",
            Limit::AnonymousRate => "anonymous_rate",
            Limit::RoomMessageRate => "room_message_rate",
            Limit::StreamsPerDevice => "streams_per_device",
            Limit::StreamsPerUser => "streams_per_user",
            Limit::DevicesPerUser => "devices_per_user",
            Limit::KeyPackagesPerDevice => "key_packages_per_device",
            Limit::RoomsPerUser => "rooms_per_user",
        }
    }
}

impl EncodeLabelValue for Limit {
    fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::LabelValueEncoder,
    ) -> Result<(), std::fmt::Error> {
        use std::fmt::Write as _;
        encoder.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: Limit,
    listener: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ListenerLabels {
    listener: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    listener: Listener,
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    listener: Listener,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PeerLabels {
    peer: String,
}

/// The outcome of one `/notify` attempt.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum NotifyOutcome {
    /// The peer answered 2xx.
    Delivered,
    /// The attempt failed and will be retried.
    Retry,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NotifyLabels {
    peer: String,
    outcome: NotifyOutcome,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// The provider's metrics. Counters are updated as things happen; gauges of stored state
/// are refreshed by [`Metrics::render`].
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily<RouteLabels>,
    notifies: Family<NotifyLabels, Counter>,
    notified_messages: Family<PeerLabels, Counter>,
    notify_dead_letters: Family<PeerLabels, Counter>,
    notify_duplicates: Family<PeerLabels, Counter>,
    outbox_backlog: Family<PeerLabels, Gauge>,
    limit_refusals: Family<LimitLabels, Counter>,
    open_connections: Family<ListenerLabels, Gauge>,
    open_event_streams: Gauge,
    rooms: Gauge,
    users: Gauge,
    clients: Gauge,
    key_packages: Gauge,
    stream_events: Gauge,
    stream_deliveries: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Empty metrics, registered under the `mimi_` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("mimi");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by listener, route and status",
            requests.clone(),
        );
        let latency: HistogramFamily<RouteLabels> =
            Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by listener and route",
            latency.clone(),
        );
        let notifies = Family::<NotifyLabels, Counter>::default();
        registry.register(
            "notify_attempts",
            "Outgoing /notify requests, by peer and outcome",
            notifies.clone(),
        );
        let notified_messages = Family::<PeerLabels, Counter>::default();
        registry.register(
            "notified_messages",
            "FanoutMessages delivered to peers",
            notified_messages.clone(),
        );
        let notify_dead_letters = Family::<PeerLabels, Counter>::default();
        registry.register(
            "notify_dead_letters",
            "FanoutMessages a peer refused for good, moved to the dead letters (docs/decisions/0067)",
            notify_dead_letters.clone(),
        );
        let notify_duplicates = Family::<PeerLabels, Counter>::default();
        registry.register(
            "notify_duplicates",
            "Redelivered FanoutMessages acknowledged without delivering them again, by hub",
            notify_duplicates.clone(),
        );
        let outbox_backlog = Family::<PeerLabels, Gauge>::default();
        registry.register(
            "outbox_backlog",
            "Messages queued for delivery, by peer",
            outbox_backlog.clone(),
        );
        let limit_refusals = Family::<LimitLabels, Counter>::default();
        registry.register(
            "limit_refusals",
            "Connections closed and requests refused by a limit of [limits], by limit and listener",
            limit_refusals.clone(),
        );
        let open_connections = Family::<ListenerLabels, Gauge>::default();
        registry.register(
            "open_connections",
            "Connections open now, by listener",
            open_connections.clone(),
        );
        let open_event_streams = Gauge::default();
        registry.register(
            "open_event_streams",
            "Client API event streams (SSE) open now",
            open_event_streams.clone(),
        );
        let rooms = Gauge::default();
        registry.register("hosted_rooms", "Rooms hosted here as hub", rooms.clone());
        let users = Gauge::default();
        registry.register("users", "Accounts of this provider", users.clone());
        let clients = Gauge::default();
        registry.register(
            "clients",
            "Registered clients (devices) of this provider's users",
            clients.clone(),
        );
        let key_packages = Gauge::default();
        registry.register(
            "key_packages",
            "KeyPackages published and not yet claimed",
            key_packages.clone(),
        );
        let stream_events = Gauge::default();
        registry.register(
            "stream_events",
            "Events held for local clients' event streams, each stored once",
            stream_events.clone(),
        );
        let stream_deliveries = Gauge::default();
        registry.register(
            "stream_deliveries",
            "Deliveries in local clients' event streams (an event to each recipient)",
            stream_deliveries.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            notifies,
            notified_messages,
            notify_dead_letters,
            notify_duplicates,
            outbox_backlog,
            limit_refusals,
            open_connections,
            open_event_streams,
            rooms,
            users,
            clients,
            key_packages,
            stream_events,
            stream_deliveries,
        }
    }

    /// Count an answered request.
    pub fn request(
        &self,
        listener: Listener,
        method: &str,
        route: &str,
        status: u16,
        took: Duration,
    ) {
        self.requests
            .get_or_create(&RequestLabels {
                listener,
                method: method.to_string(),
                route: route.to_string(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                listener,
                route: route.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    /// Count a `/notify` attempt carrying `messages` FanoutMessages.
    pub fn notify(&self, peer: &str, outcome: NotifyOutcome, messages: usize) {
        self.notifies
            .get_or_create(&NotifyLabels {
                peer: peer.to_string(),
                outcome,
            })
            .inc();
        if outcome == NotifyOutcome::Delivered {
            self.notified_messages
                .get_or_create(&PeerLabels {
                    peer: peer.to_string(),
                })
                .inc_by(messages as u64);
        }
    }

    /// Count one trigger of `limit` on `listener` (a connection closed or a request
    /// refused).
    pub fn refused(&self, limit: Limit, listener: Listener) {
        self.limit_refusals
            .get_or_create(&LimitLabels {
                limit,
                listener: listener.as_str(),
            })
            .inc();
    }

    /// How often `limit` triggered on `listener` so far.
    pub fn refusals(&self, limit: Limit, listener: Listener) -> u64 {
        self.limit_refusals
            .get_or_create(&LimitLabels {
                limit,
                listener: listener.as_str(),
            })
            .get()
    }

    /// A connection on `listener` opened (`+1`) or closed (`-1`).
    pub fn connections_changed(&self, listener: Listener, delta: i64) {
        self.open_connections
            .get_or_create(&ListenerLabels {
                listener: listener.as_str(),
            })
            .inc_by(delta);
    }

    /// An event stream opened (`+1`) or closed (`-1`).
    pub fn event_streams_changed(&self, delta: i64) {
        self.open_event_streams.inc_by(delta);
    }

    /// Count `messages` FanoutMessages for `peer` moved to the dead letters.
    pub fn notify_dead_letter(&self, peer: &str, messages: usize) {
        self.notify_dead_letters
            .get_or_create(&PeerLabels {
                peer: peer.to_string(),
            })
            .inc_by(messages as u64);
    }

    /// How many FanoutMessages for `peer` went to the dead letters since start.
    pub fn notify_dead_letters(&self, peer: &str) -> u64 {
        self.notify_dead_letters
            .get_or_create(&PeerLabels {
                peer: peer.to_string(),
            })
            .get()
    }

    /// Refresh the gauges of stored state from `store` and encode everything in the
    /// Prometheus text format.
    pub async fn render<S: Store>(&self, store: &S) -> Result<String, mimi_store::StoreError> {
        let backlog = store.outbox_backlog().await?;
        let counts = store.counts().await?;
        // Counted durably by the store (in the transaction that recognizes the redelivery):
        // the counter follows the stored total.
        for (hub, stored) in store.notify_duplicates().await? {
            let counter = self
                .notify_duplicates
                .get_or_create(&PeerLabels { peer: hub });
            counter.inc_by(stored.saturating_sub(counter.get()));
        }
        self.outbox_backlog.clear();
        for b in backlog {
            self.outbox_backlog
                .get_or_create(&PeerLabels {
                    peer: b.destination,
                })
                .set(gauge(b.rows));
        }
        self.rooms.set(gauge(counts.hub_rooms));
        self.users.set(gauge(counts.users));
        self.clients.set(gauge(counts.clients));
        self.key_packages.set(gauge(counts.key_packages));
        self.stream_events.set(gauge(counts.stream_events));
        self.stream_deliveries.set(gauge(counts.stream_deliveries));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .map_err(|e| mimi_store::StoreError::Invalid(format!("encoding metrics: {e}")))?;
        Ok(text)
    }
}

fn gauge(v: impl TryInto<i64>) -> i64 {
    v.try_into().unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn renders_requests_deliveries_and_stored_state() {
        let store = mimi_store::SqliteStore::open_in_memory()
            .await
            .expect("store");
        let m = Metrics::new();
        m.request(
            Listener::Federation,
            "POST",
            "/v1/notify/{*room}",
            201,
            Duration::from_millis(3),
        );
        m.notify("b.example", NotifyOutcome::Delivered, 3);
        m.notify("b.example", NotifyOutcome::Retry, 2);
        m.refused(Limit::PeerRate, Listener::Federation);
        m.refused(Limit::PeerRate, Listener::Federation);
        m.refused(Limit::StreamsPerDevice, Listener::Client);
        m.connections_changed(Listener::Client, 2);
        m.connections_changed(Listener::Client, -1);
        assert_eq!(m.refusals(Limit::PeerRate, Listener::Federation), 2);
        let text = m.render(&store).await.expect("render");
        for line in [
            "mimi_http_requests_total{listener=\"Federation\",method=\"POST\",route=\"/v1/notify/{*room}\",status=\"201\"} 1",
            "mimi_http_request_duration_seconds_count{listener=\"Federation\",route=\"/v1/notify/{*room}\"} 1",
            "mimi_notify_attempts_total{peer=\"b.example\",outcome=\"Delivered\"} 1",
            "mimi_notify_attempts_total{peer=\"b.example\",outcome=\"Retry\"} 1",
            "mimi_notified_messages_total{peer=\"b.example\"} 3",
            "mimi_limit_refusals_total{limit=\"peer_rate\",listener=\"federation\"} 2",
            "mimi_limit_refusals_total{limit=\"streams_per_device\",listener=\"client\"} 1",
            "mimi_open_connections{listener=\"client\"} 1",
            "mimi_open_event_streams 0",
            "mimi_hosted_rooms 0",
            "mimi_users 0",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
    }
}
