//! Refusals and failures of the client API: every one is `{"error": "one line"}` with a
//! precise status (docs/decisions/0072).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mimi_types::client_api::ErrorBody;

use crate::error::ServerError;
use crate::hub_ops::HubOpError;
use crate::limits::Throttled;

/// A refusal (4xx, the request changed nothing) or a failure (5xx) as a response. The one
/// private response type of the client API; internal details are logged, not sent.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    /// `Retry-After`, in seconds (a `429`).
    pub(crate) retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: one_line(message.into()),
            retry_after: None,
        }
    }

    /// `429` with `Retry-After`: a rate or stream limit refused the request
    /// (docs/decisions/0091).
    pub(crate) fn throttled(t: Throttled, message: impl Into<String>) -> Self {
        Self {
            retry_after: Some(t.retry_after_secs),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!("{}; retry after {} s", message.into(), t.retry_after_secs),
            )
        }
    }

    /// `403`: the request would take the user over a quota of `[limits.quotas]`; it changed
    /// nothing (docs/decisions/0092).
    pub(crate) fn quota(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            format!("quota exceeded: {}", message.into()),
        )
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    pub(crate) fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, message)
    }

    /// An internal failure: logged with its detail, answered without it.
    pub(crate) fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "client API: internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }

    /// Storage is unavailable (busy, full, closed): the client may retry later.
    pub(crate) fn unavailable(detail: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %detail, "client API: storage unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily unable to process the request",
        )
    }

    /// A bad wire value inside a JSON field: 413 when it is over its size limit, else 400.
    pub(crate) fn wire(field: &str, e: &mimi_types::Error) -> Self {
        match e {
            mimi_types::Error::TooLarge { .. } => Self::too_large(format!("{field}: {e}")),
            _ => Self::bad_request(format!("{field}: {e}")),
        }
    }
}

fn one_line(s: String) -> String {
    if s.contains(['\n', '\r']) {
        s.split(['\n', '\r'])
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        s
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_client_error() {
            tracing::debug!(status = %self.status, reason = %self.message, "client API request refused");
        }
        let unauthorized = self.status == StatusCode::UNAUTHORIZED;
        let retry_after = self.retry_after;
        let mut response = (
            self.status,
            Json(ErrorBody {
                error: self.message,
            }),
        )
            .into_response();
        if unauthorized {
            // RFC 6750 §3.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"mimi\""),
            );
        }
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<ServerError> for ApiError {
    fn from(e: ServerError) -> Self {
        match e {
            ServerError::Invalid(why) => Self::bad_request(why),
            ServerError::Conflict(why) => Self::conflict(why),
            ServerError::Wire(e) => match e {
                mimi_types::Error::Encode { .. } => Self::internal(e),
                _ => Self::wire("request", &e),
            },
            ServerError::Peer { peer, reason } => Self::new(
                StatusCode::BAD_GATEWAY,
                format!("provider {peer} could not be reached: {reason}"),
            ),
            ServerError::Store(why) | ServerError::Contended(why) => Self::unavailable(why),
            e @ (ServerError::Config(_)
            | ServerError::Tls(_)
            | ServerError::Io(_)
            | ServerError::Keys(_)
            | ServerError::Room(_)) => Self::internal(e),
        }
    }
}

impl From<HubOpError> for ApiError {
    fn from(e: HubOpError) -> Self {
        match e {
            HubOpError::NotHosted(room) => Self::not_found(format!("{room} is not hosted here")),
            // The hub's limits (docs/decisions/0091): the client may retry; the hub's own
            // Retry-After is not passed on, so wait the least.
            HubOpError::Refused {
                status: 429,
                reason,
            } => Self {
                retry_after: Some(1),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("the hub answered 429: {reason}"),
                )
            },
            HubOpError::Refused { status, reason } => Self::new(
                StatusCode::BAD_GATEWAY,
                format!("the hub answered {status}: {reason}"),
            ),
            HubOpError::Invalid(e) => Self::new(StatusCode::BAD_REQUEST, e.to_string()),
            HubOpError::Failed(e) => e.into(),
        }
    }
}

impl From<mimi_store::StoreError> for ApiError {
    fn from(e: mimi_store::StoreError) -> Self {
        use mimi_store::StoreError as E;
        match e {
            E::Conflict(why) => Self::conflict(why),
            E::Busy(_) | E::Full(_) | E::Io(_) | E::Closed | E::ReadOnly(_) => Self::unavailable(e),
            _ => Self::internal(e),
        }
    }
}
