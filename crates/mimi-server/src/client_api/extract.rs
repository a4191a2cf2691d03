//! Reading request bodies and queries with JSON refusals: a body over its limit is 413, one
//! that is not JSON of the expected shape 400, a body that says it is something other than
//! JSON 415.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// How large a JSON body may be when it carries a protocol value of at most `wire_limit`
/// bytes in base64url (4 characters per 3 bytes) plus the rest of the object
/// (docs/decisions/0072).
pub(crate) fn json_limit(wire_limit: usize) -> usize {
    wire_limit
        .saturating_add(2)
        .saturating_div(3)
        .saturating_mul(4)
        .saturating_add(64 * 1024)
}

/// A JSON body, deserialized.
pub(crate) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, St: Send + Sync> FromRequest<St> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &St) -> Result<Self, Self::Rejection> {
        check_content_type(req.headers())?;
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
        parse(&bytes).map(ApiJson)
    }
}

/// Refuse a body labelled as anything but JSON (no label is fine).
pub(crate) fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json" || essence.ends_with("+json") {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be application/json",
        ))
    }
}

/// Deserialize a JSON body.
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}
