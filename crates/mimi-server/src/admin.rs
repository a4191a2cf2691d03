//! The operator's listener: Prometheus `/metrics` and `/healthz`, plain HTTP, meant for a
//! loopback or otherwise private address (docs/decisions/0090).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mimi_store::Store;

use crate::provider::Provider;

/// The admin router.
pub fn router<S: Store>(provider: Arc<Provider<S>>) -> Router {
    Router::new()
        .route("/metrics", get(metrics::<S>))
        .route("/healthz", get(healthz::<S>))
        .with_state(provider)
}

async fn metrics<S: Store>(State(p): State<Arc<Provider<S>>>) -> Response {
    match p.metrics.render(&p.store).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering metrics");
            (StatusCode::SERVICE_UNAVAILABLE, "storage unavailable\n").into_response()
        }
    }
}

/// `/healthz`: 200 `ok` when storage answers, else 503. Mounted on every listener.
pub async fn healthz<S: Store>(State(p): State<Arc<Provider<S>>>) -> Response {
    match p.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: storage");
            (StatusCode::SERVICE_UNAVAILABLE, "storage unavailable\n").into_response()
        }
    }
}
