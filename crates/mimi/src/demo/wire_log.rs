//! What the providers say to each other, as the demo prints it: one line per federation
//! request (from the providers' `mimi::request` log events), and warnings from anywhere.

use std::fmt::Debug;

use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// The fields of one request log event.
#[derive(Default)]
struct Request {
    listener: String,
    provider: String,
    peer: Option<String>,
    method: String,
    path: String,
    status: u64,
    latency_ms: f64,
}

impl Visit for Request {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "listener" => self.listener = value.to_string(),
            "provider" => self.provider = value.to_string(),
            "peer" => self.peer = Some(value.to_string()),
            "path" => self.path = value.to_string(),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "status" {
            self.status = value;
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == "latency_ms" {
            self.latency_ms = value;
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        match field.name() {
            "method" => self.method = format!("{value:?}"),
            "path" => self.path = format!("{value:?}"),
            _ => {}
        }
    }
}

/// Prints federation requests.
struct WireLog;

impl<S: tracing::Subscriber> Layer<S> for WireLog {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "mimi::request" {
            return;
        }
        let mut r = Request::default();
        event.record(&mut r);
        if r.listener != "federation" {
            return;
        }
        let from = r.peer.as_deref().unwrap_or("a peer");
        println!(
            "    {from} → {}: {} {} → {} ({:.1} ms)",
            r.provider, r.method, r.path, r.status, r.latency_ms
        );
    }
}

/// Install the demo's log output: federation requests on stdout if `wire`, warnings and
/// errors on stderr.
pub fn install(wire: bool) {
    // Ours only: OpenMLS logs an error for every message it is handed twice (a device's
    // own commit coming back), which the client library expects and handles.
    let warnings = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(Targets::new().with_target("mimi", LevelFilter::WARN));
    let registry = tracing_subscriber::registry().with(warnings);
    let _ = if wire {
        registry.with(WireLog).try_init()
    } else {
        registry.try_init()
    };
}
