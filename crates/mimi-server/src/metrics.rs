//! Prometheus metrics: requests and their latency per listener and route, `/notify`
//! deliveries per peer, and — read from storage when scraped — the outbox backlog per peer,
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
    outbox_backlog: Family<PeerLabels, Gauge>,
    rooms: Gauge,
    users: Gauge,
    clients: Gauge,
    key_packages: Gauge,
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
        let outbox_backlog = Family::<PeerLabels, Gauge>::default();
        registry.register(
            "outbox_backlog",
            "Messages queued for delivery, by peer",
            outbox_backlog.clone(),
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
        Self {
            registry,
            requests,
            latency,
            notifies,
            notified_messages,
            outbox_backlog,
            rooms,
            users,
            clients,
            key_packages,
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

    /// Refresh the gauges of stored state from `store` and encode everything in the
    /// Prometheus text format.
    pub async fn render<S: Store>(&self, store: &S) -> Result<String, mimi_store::StoreError> {
        let backlog = store.outbox_backlog().await?;
        let counts = store.counts().await?;
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
        let text = m.render(&store).await.expect("render");
        for line in [
            "mimi_http_requests_total{listener=\"Federation\",method=\"POST\",route=\"/v1/notify/{*room}\",status=\"201\"} 1",
            "mimi_http_request_duration_seconds_count{listener=\"Federation\",route=\"/v1/notify/{*room}\"} 1",
            "mimi_notify_attempts_total{peer=\"b.example\",outcome=\"Delivered\"} 1",
            "mimi_notify_attempts_total{peer=\"b.example\",outcome=\"Retry\"} 1",
            "mimi_notified_messages_total{peer=\"b.example\"} 3",
            "mimi_hosted_rooms 0",
            "mimi_users 0",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
    }
}
