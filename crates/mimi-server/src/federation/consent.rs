//! `POST /requestConsent/{targetDomain}` and `POST /updateConsent/{requesterDomain}`
//! (protocol-06 §5.7), received from a peer provider (docs/decisions/0080).
//!
//! ```text
//!   requester's provider ──requestConsent (request | cancel)──► target's provider
//!   requester's provider ◄──updateConsent (grant | revoke)───── target's provider
//! ```
//!
//! Every check runs before the store is touched; 201 only after the record is committed.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use mimi_store::{ConsentRecord, ConsentState, Store};
use mimi_types::id::{ProviderDomain, RoomUri, UserUri};
use mimi_types::wire::{ConsentEntry, ConsentOperation, Endpoint, IdentifierUri};

use super::auth::{Peer, reject};
use super::routes::{Refusal, decode, internal, path_arg};
use crate::provider::{Provider, now_ms};

type App<S> = Arc<Provider<S>>;

/// The domain an endpoint's path names (`/v1/identifierQuery/{domain}`, ...) must be this
/// provider's: the request was addressed to a domain served here.
pub(super) fn check_path_domain(
    uri: &Uri,
    endpoint: Endpoint,
    ours: &ProviderDomain,
) -> Result<(), Refusal> {
    let arg = path_arg(uri, endpoint);
    let named = ProviderDomain::parse(arg)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("domain in path: {e}")))?;
    if &named != ours {
        return Err((
            StatusCode::MISDIRECTED_REQUEST,
            format!("this is {ours}; the path names {named}"),
        ));
    }
    Ok(())
}

/// The users and room of a checked [`ConsentEntry`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedScope {
    /// `requesterUri`.
    pub requester: UserUri,
    /// `targetUri`.
    pub target: UserUri,
    /// `roomId`, if the consent is for one room.
    pub room: Option<RoomUri>,
}

impl CheckedScope {
    /// The stored record of this scope in `state`.
    pub fn record(&self, state: ConsentState, updated_ms: u64) -> ConsentRecord {
        ConsentRecord {
            requester_uri: self.requester.as_str().to_string(),
            target_uri: self.target.as_str().to_string(),
            room: self.room.as_ref().map(|r| r.as_str().to_string()),
            state,
            updated_ms,
        }
    }
}

fn user(what: &str, uri: &IdentifierUri) -> Result<UserUri, Refusal> {
    UserUri::try_from(uri.uri().clone()).map_err(|e| {
        (
            StatusCode::BAD_REQUEST,
            format!("{what} is not a user URI: {e}"),
        )
    })
}

/// Parse the scope of an entry: user URIs for requester and target, a room URI if any.
fn scope(entry: &ConsentEntry) -> Result<CheckedScope, Refusal> {
    let room = match &entry.room_id {
        Some(r) => Some(
            RoomUri::try_from(r.uri().clone())
                .map_err(|e| (StatusCode::BAD_REQUEST, format!("roomId: {e}")))?,
        ),
        None => None,
    };
    Ok(CheckedScope {
        requester: user("requesterUri", &entry.requester_uri)?,
        target: user("targetUri", &entry.target_uri)?,
        room,
    })
}

/// The checks of a `requestConsent` from `peer` at provider `ours` (protocol-06 §5.7): the
/// operation is `request` or `cancel`, `targetUri` is one of our users' URIs and
/// `requesterUri` a user of the calling provider.
pub fn check_request(
    entry: &ConsentEntry,
    peer: &ProviderDomain,
    ours: &ProviderDomain,
) -> Result<CheckedScope, Refusal> {
    if !matches!(
        entry.operation,
        ConsentOperation::Request | ConsentOperation::Cancel
    ) {
        return Err((
            StatusCode::BAD_REQUEST,
            "requestConsent carries a request or cancel operation".into(),
        ));
    }
    let scope = scope(entry)?;
    if scope.requester.domain() != peer {
        return Err((
            StatusCode::FORBIDDEN,
            format!(
                "{peer} asks consent only for its own users, not for {}",
                scope.requester
            ),
        ));
    }
    if scope.target.domain() != ours {
        return Err((
            StatusCode::BAD_REQUEST,
            format!("targetUri {} is not a user of {ours}", scope.target),
        ));
    }
    Ok(scope)
}

/// The checks of an `updateConsent` from `peer` at provider `ours` (protocol-06 §5.7): the
/// operation is `grant` or `revoke`, `requesterUri` is one of our users' URIs and
/// `targetUri` a user of the calling provider.
pub fn check_update(
    entry: &ConsentEntry,
    peer: &ProviderDomain,
    ours: &ProviderDomain,
) -> Result<CheckedScope, Refusal> {
    if !matches!(
        entry.operation,
        ConsentOperation::Grant { .. } | ConsentOperation::Revoke
    ) {
        return Err((
            StatusCode::BAD_REQUEST,
            "updateConsent carries a grant or revoke operation".into(),
        ));
    }
    let scope = scope(entry)?;
    if scope.target.domain() != peer {
        return Err((
            StatusCode::FORBIDDEN,
            format!(
                "{peer} answers consent only for its own users, not for {}",
                scope.target
            ),
        ));
    }
    if scope.requester.domain() != ours {
        return Err((
            StatusCode::BAD_REQUEST,
            format!("requesterUri {} is not a user of {ours}", scope.requester),
        ));
    }
    Ok(scope)
}

/// Whether `user` has an account here. Unknown users are answered 201 like known ones and
/// nothing is stored (protocol-06 §5.7 allows hiding them; docs/decisions/0080).
async fn known<S: Store>(p: &Provider<S>, user: &UserUri) -> Result<bool, Response> {
    match p.store.user_by_uri(user.as_str()).await {
        Ok(u) => Ok(u.is_some()),
        Err(e) => Err(internal(e)),
    }
}

/// `requestConsent` at the target's provider.
pub async fn request_consent<S: Store>(
    State(p): State<App<S>>,
    Extension(Peer(peer)): Extension<Peer>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let checked = check_path_domain(&uri, Endpoint::RequestConsent, p.domain())
        .and_then(|()| decode::<ConsentEntry>(&body, p.config.file.limits.max_body_bytes))
        .and_then(|entry| Ok((check_request(&entry, &peer, p.domain())?, entry)));
    let (scope, entry) = match checked {
        Ok(c) => c,
        Err((status, reason)) => return reject(status, reason),
    };
    match known(&p, &scope.target).await {
        Ok(true) => {}
        Ok(false) => return StatusCode::CREATED.into_response(),
        Err(r) => return r,
    }
    let stored = match entry.operation {
        ConsentOperation::Cancel => {
            // A cancel without a matching pending request changes nothing (§5.7).
            p.store
                .cancel_consent_request(
                    scope.requester.as_str(),
                    scope.target.as_str(),
                    scope.room.as_ref().map(RoomUri::as_str),
                )
                .await
        }
        // A request never overrides the target's answer (docs/decisions/0080).
        _ => {
            p.store
                .request_consent(&scope.record(ConsentState::Requested, now_ms()))
                .await
        }
    };
    match stored {
        Ok(changed) => {
            tracing::info!(%peer, requester = %scope.requester, target = %scope.target,
                operation = ?entry.operation.code(), changed, "consent request received");
            StatusCode::CREATED.into_response()
        }
        Err(e) => internal(e),
    }
}

/// `updateConsent` at the requester's provider.
pub async fn update_consent<S: Store>(
    State(p): State<App<S>>,
    Extension(Peer(peer)): Extension<Peer>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let checked = check_path_domain(&uri, Endpoint::UpdateConsent, p.domain())
        .and_then(|()| decode::<ConsentEntry>(&body, p.config.file.limits.max_body_bytes))
        .and_then(|entry| Ok((check_update(&entry, &peer, p.domain())?, entry)));
    let (scope, entry) = match checked {
        Ok(c) => c,
        Err((status, reason)) => return reject(status, reason),
    };
    match known(&p, &scope.requester).await {
        Ok(true) => {}
        Ok(false) => return StatusCode::CREATED.into_response(),
        Err(r) => return r,
    }
    // A grant's KeyPackages are not kept: the requester claims key material through
    // /keyMaterial once consent is recorded (docs/decisions/0080).
    let state = match entry.operation {
        ConsentOperation::Grant { .. } => ConsentState::Granted,
        _ => ConsentState::Revoked,
    };
    match p.store.put_consent(&scope.record(state, now_ms())).await {
        Ok(()) => {
            tracing::info!(%peer, requester = %scope.requester, target = %scope.target,
                state = state.as_str(), "consent answer received");
            StatusCode::CREATED.into_response()
        }
        Err(e) => internal(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mimi_types::id::MimiUri;
    use openmls::prelude::AppDataDictionary;

    fn entry(operation: ConsentOperation, requester: &str, target: &str) -> ConsentEntry {
        let id = |s: &str| IdentifierUri::from(MimiUri::parse(s).expect("uri"));
        ConsentEntry {
            operation,
            requester_uri: id(requester),
            target_uri: id(target),
            room_id: None,
            consent_extensions: AppDataDictionary::default(),
        }
    }

    fn d(s: &str) -> ProviderDomain {
        ProviderDomain::parse(s).expect("domain")
    }

    #[test]
    fn request_checks() {
        let (a, b) = (d("a.example"), d("b.example"));
        let ok = entry(
            ConsentOperation::Request,
            "mimi://b.example/u/bob",
            "mimi://a.example/u/alice",
        );
        assert!(check_request(&ok, &b, &a).is_ok());
        // Someone else's user, a target elsewhere, a wrong operation, not a user.
        for (e, status) in [
            (
                entry(
                    ConsentOperation::Request,
                    "mimi://c.example/u/cathy",
                    "mimi://a.example/u/alice",
                ),
                StatusCode::FORBIDDEN,
            ),
            (
                entry(
                    ConsentOperation::Request,
                    "mimi://b.example/u/bob",
                    "mimi://c.example/u/cathy",
                ),
                StatusCode::BAD_REQUEST,
            ),
            (
                entry(
                    ConsentOperation::Revoke,
                    "mimi://b.example/u/bob",
                    "mimi://a.example/u/alice",
                ),
                StatusCode::BAD_REQUEST,
            ),
            (
                entry(
                    ConsentOperation::Cancel,
                    "mimi://b.example/r/room",
                    "mimi://a.example/u/alice",
                ),
                StatusCode::BAD_REQUEST,
            ),
        ] {
            assert_eq!(check_request(&e, &b, &a).expect_err("refused").0, status);
        }
    }

    #[test]
    fn update_checks() {
        let (a, b) = (d("a.example"), d("b.example"));
        let ok = entry(
            ConsentOperation::Revoke,
            "mimi://b.example/u/bob",
            "mimi://a.example/u/alice",
        );
        assert!(check_update(&ok, &a, &b).is_ok());
        assert_eq!(
            check_update(&ok, &d("c.example"), &b)
                .expect_err("not the target's provider")
                .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            check_update(&ok, &a, &d("c.example"))
                .expect_err("requester elsewhere")
                .0,
            StatusCode::BAD_REQUEST
        );
        let request = entry(
            ConsentOperation::Request,
            "mimi://b.example/u/bob",
            "mimi://a.example/u/alice",
        );
        assert_eq!(
            check_update(&request, &a, &b).expect_err("operation").0,
            StatusCode::BAD_REQUEST
        );
    }
}
