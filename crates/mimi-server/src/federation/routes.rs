//! The protocol-06 endpoints of a provider, behind mutual TLS and [`authenticate`].
//!
//! Each handler decodes the body with the bounded decoders of `mimi-types` (400 on malformed
//! input), hands it to the room engine, makes the effects durable, and only then answers
//! 2xx. Refusals are precise 4xx with a one-line reason and change nothing.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, State};
use axum::http::Uri;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Router, middleware};
use mimi_room::follower::{check_hub, message_digest, welcome_key_package_refs};
use mimi_room::hub::HubContext;
use mimi_room::key_material::verify_request;
use mimi_store::{FollowerNotify, Store};
use mimi_types::id::{MimiUri, RoomUri, UserUri};
use mimi_types::wire::{
    AbuseReport, DIRECTORY_PATH, Directory, Endpoint, FanoutMessage, FanoutPayload,
    GroupInfoRequest, KeyMaterialRequest, SubmitMessageRequest, UpdateRequest, WireMessage,
};
use openmls::prelude::OpenMlsProvider;

use super::auth::{Peer, authenticate, reject};
use super::{consent, proxy, search};
use crate::access_log::{Observe, observe};
use crate::hub_ops::HubOpError;
use crate::limits::{Limiters, RoomMessages, limit_peer_requests, limit_room_messages};
use crate::metrics::Listener;
use crate::provider::{Provider, now_ms};

/// Where this provider publishes its client CA certificate (PEM) for peers verifying its
/// users' credentials (docs/decisions/0070).
pub const CLIENT_CA_PATH: &str = "/.well-known/mimi-client-ca";

/// Path prefix of the protocol endpoints.
pub const API_PREFIX: &str = "/v1";

type App<S> = Arc<Provider<S>>;

/// The federation router, with limiters of its own (see [`router_with`]).
pub fn router<S: Store>(provider: App<S>) -> Router {
    let limiters = Limiters::new(provider.config.file.limits, provider.metrics.clone());
    router_with(provider, limiters)
}

/// The federation router, charging peers' requests and rooms' messages to `limiters`
/// (shared with the client API: docs/decisions/0091).
pub fn router_with<S: Store>(provider: App<S>, limiters: Arc<Limiters>) -> Router {
    let limit = provider.config.file.limits;
    let room_messages = RoomMessages {
        provider: provider.clone(),
        limiters: limiters.clone(),
    };
    let protocol = Router::new()
        .route(
            "/v1/update/{*room}",
            post(update::<S>).layer(DefaultBodyLimit::max(limit.max_update_bytes)),
        )
        .route(
            "/v1/submitMessage/{*room}",
            post(submit::<S>).route_layer(middleware::from_fn_with_state(
                room_messages,
                limit_room_messages::<S>,
            )),
        )
        .route(
            "/v1/notify/{*room}",
            post(notify::<S>).layer(DefaultBodyLimit::max(limit.max_update_bytes)),
        )
        .route("/v1/groupInfo/{*room}", post(group_info::<S>))
        .route("/v1/keyMaterial/{*user}", post(key_material::<S>))
        .route("/v1/reportAbuse/{*room}", post(report_abuse::<S>))
        .route(
            "/v1/requestConsent/{domain}",
            post(consent::request_consent::<S>),
        )
        .route(
            "/v1/updateConsent/{domain}",
            post(consent::update_consent::<S>),
        )
        .route(
            "/v1/identifierQuery/{domain}",
            post(search::identifier_query::<S>),
        )
        .route("/v1/proxyDownload/{*url}", get(proxy::proxy_download::<S>))
        .layer(DefaultBodyLimit::max(limit.max_body_bytes))
        // Inside authenticate: the peer is known.
        .route_layer(middleware::from_fn_with_state(
            limiters,
            limit_peer_requests,
        ))
        .route_layer(middleware::from_fn_with_state(
            provider.domain().clone(),
            authenticate,
        ));
    Router::new()
        .route(DIRECTORY_PATH, get(directory::<S>))
        .route(CLIENT_CA_PATH, get(client_ca::<S>))
        .route("/healthz", get(crate::admin::healthz::<S>))
        .merge(protocol)
        .with_state(provider.clone())
        .layer(middleware::from_fn(
            crate::listener::close_after_refused_body,
        ))
        .layer(middleware::from_fn_with_state(
            Observe {
                metrics: provider.metrics.clone(),
                listener: Listener::Federation,
                provider: provider.domain().clone(),
            },
            observe,
        ))
}

async fn directory<S: Store>(State(p): State<App<S>>) -> Response {
    let base = format!(
        "{}{API_PREFIX}",
        p.config.file.federation.public_url.trim_end_matches('/')
    );
    (
        [(header::CONTENT_TYPE, "application/json")],
        Directory::for_base(&base).to_json(),
    )
        .into_response()
}

async fn client_ca<S: Store>(State(p): State<App<S>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        p.keys.client_ca.cert_pem(),
    )
        .into_response()
}

/// The argument of an endpoint path (`/v1/update/<arg>`), undecoded (docs/decisions/0027).
pub(super) fn path_arg(uri: &Uri, endpoint: Endpoint) -> &str {
    let path = uri.path();
    let prefix_len = API_PREFIX.len() + 1 + endpoint.name().len() + 1;
    path.get(prefix_len..).unwrap_or_default()
}

/// A refusal before any work: status and reason.
pub(super) type Refusal = (StatusCode, String);

fn room_of(uri: &Uri, endpoint: Endpoint) -> Result<RoomUri, Refusal> {
    RoomUri::from_url_path(path_arg(uri, endpoint))
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("room in path: {e}")))
}

pub(super) fn decode<T: WireMessage>(body: &[u8], limit: usize) -> Result<T, Refusal> {
    T::decode_with_limit(body, limit).map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))
}

pub(super) fn tls_body(status: StatusCode, bytes: Vec<u8>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/octet-stream")],
        bytes,
    )
        .into_response()
}

pub(super) fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "internal error");
    reject(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily unable to process the request",
    )
}

macro_rules! try_resp {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err((status, reason)) => return reject(status, reason),
        }
    };
}

async fn update<S: Store>(
    State(p): State<App<S>>,
    Extension(Peer(peer)): Extension<Peer>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let room = try_resp!(room_of(&uri, Endpoint::Update));
    let request: UpdateRequest = try_resp!(decode(&body, p.config.file.limits.max_update_bytes));
    respond(p.hub_update(&peer, &room, &request).await)
}

async fn submit<S: Store>(
    State(p): State<App<S>>,
    Extension(Peer(peer)): Extension<Peer>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let room = try_resp!(room_of(&uri, Endpoint::SubmitMessage));
    let request: SubmitMessageRequest =
        try_resp!(decode(&body, p.config.file.limits.max_body_bytes));
    respond(p.hub_submit(&peer, &room, &request).await)
}

async fn group_info<S: Store>(
    State(p): State<App<S>>,
    Extension(Peer(peer)): Extension<Peer>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let room = try_resp!(room_of(&uri, Endpoint::GroupInfo));
    let request: GroupInfoRequest = try_resp!(decode(&body, p.config.file.limits.max_body_bytes));
    respond(p.hub_group_info(&peer, &room, &request).await)
}

async fn report_abuse<S: Store>(
    State(p): State<App<S>>,
    Extension(Peer(peer)): Extension<Peer>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let room = try_resp!(room_of(&uri, Endpoint::ReportAbuse));
    let report: AbuseReport = try_resp!(decode(&body, p.config.file.limits.max_body_bytes));
    let Some(hosted) = p.room(&room).await else {
        return reject(StatusCode::NOT_FOUND, format!("{room} is not hosted here"));
    };
    {
        let mut hosted = hosted.lock().await;
        if let Err(e) = p.refresh(&mut hosted).await {
            return reject(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
        }
        let trust = p.trust.read().await;
        let ctx = HubContext {
            hub: &p.keys.hub,
            trust: &trust,
            now_ms: now_ms(),
            limits: p.hub_limits(),
        };
        if let Err(e) = hosted.room.handle_report(&ctx, &peer, &report) {
            return reject(StatusCode::BAD_REQUEST, e.to_string());
        }
    }
    // Stored before the 201: an acknowledged report is not lost (docs/decisions/0069).
    let record = mimi_store::AbuseReportRecord {
        id: 0,
        room: room.as_str().to_string(),
        reporter_domain: peer.as_str().to_string(),
        reporting_user: report
            .reporting_user
            .0
            .as_ref()
            .map(|u| u.uri().as_str().to_string()),
        alleged_abuser: report.alleged_abuser_uri.uri().as_str().to_string(),
        reason_code: report.reason_code.0,
        report: body.to_vec(),
        received_ms: now_ms(),
    };
    match p.store.record_abuse_report(&record).await {
        Ok(id) => {
            tracing::warn!(%room, %peer, abuser = %report.alleged_abuser_uri, id, "abuse report accepted");
            StatusCode::CREATED.into_response()
        }
        Err(e) => internal(e),
    }
}

/// A hub operation's result as an HTTP response: 200 with the protocol body, 404 for a room
/// not hosted here, 400 for a request the engine finds invalid, 503 when the event could not
/// be made durable.
fn respond<R: WireMessage>(result: Result<R, HubOpError>) -> Response {
    match result {
        Ok(r) => match r.encode() {
            Ok(bytes) => tls_body(StatusCode::OK, bytes),
            Err(e) => internal(e),
        },
        Err(HubOpError::NotHosted(room)) => {
            reject(StatusCode::NOT_FOUND, format!("{room} is not hosted here"))
        }
        Err(HubOpError::Invalid(e)) => reject(StatusCode::BAD_REQUEST, e.to_string()),
        Err(e) => internal(e),
    }
}

/// `/notify` at a follower (protocol-06 §5.5): record and deliver each new message once;
/// duplicates are acknowledged with 201 too.
async fn notify<S: Store>(
    State(p): State<App<S>>,
    Extension(Peer(peer)): Extension<Peer>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let room = try_resp!(room_of(&uri, Endpoint::Notify));
    if let Err(e) = check_hub(&room, &peer, p.domain()) {
        return reject(StatusCode::FORBIDDEN, e.to_string());
    }
    let messages = match FanoutMessage::decode_batch(&body, p.config.file.limits.max_update_bytes) {
        Ok(m) => m,
        Err(e) => return reject(StatusCode::BAD_REQUEST, e.to_string()),
    };
    // Every message is checked before any is recorded: a batch with one bad message
    // changes nothing.
    let now = now_ms();
    let mut checked = Vec::with_capacity(messages.len());
    for message in &messages {
        let (digest, body, welcome_refs) = match (
            message_digest(message),
            message.encode(),
            welcome_key_package_refs(message),
        ) {
            (Ok(d), Ok(e), Ok(r)) => (d, e, r),
            (Err(e), _, _) | (_, _, Err(e)) => {
                return reject(StatusCode::BAD_REQUEST, e.to_string());
            }
            (_, Err(e), _) => return reject(StatusCode::BAD_REQUEST, e.to_string()),
        };
        // RFC 9420 §12.4.3.1: a KeyPackageRef is a hash, never empty (the store would refuse
        // to route it: a 5xx after the batch's earlier messages were recorded).
        if welcome_refs.iter().any(Vec::is_empty) {
            return reject(
                StatusCode::BAD_REQUEST,
                "a Welcome names an empty KeyPackageRef",
            );
        }
        let welcome = matches!(message.payload, FanoutPayload::Welcome { .. });
        checked.push((
            welcome,
            FollowerNotify {
                room: room.as_str().to_string(),
                hub: peer.as_str().to_string(),
                message_hash: digest,
                kind: "fanout".into(),
                body,
                created_ms: now,
                welcome_refs,
            },
        ));
    }
    // A follower records fanout only for rooms it follows: with no local member, only a
    // Welcome (routed by the KeyPackages this provider handed out) can concern it; anything
    // else is acknowledged and not stored (docs/decisions/0053).
    let mut followed = match p.store.follower_members(room.as_str()).await {
        Ok(members) => !members.is_empty(),
        Err(e) => return internal(e),
    };
    if followed {
        // The usual case: every message of the batch is for local members, recorded in
        // order in one transaction.
        let notifies: Vec<FollowerNotify> = checked.into_iter().map(|(_, n)| n).collect();
        return match p.store.record_notify_batch(&notifies).await {
            Ok(recorded) => {
                p.streams
                    .wake(recorded.iter().flatten().flatten().map(String::as_str));
                StatusCode::CREATED.into_response()
            }
            Err(e) => internal(e),
        };
    }
    for (welcome, notify) in checked {
        if !followed && !welcome {
            tracing::info!(%room, %peer, "fanout for a room without local members ignored");
            continue;
        }
        match p.store.record_notify(&notify).await {
            // A Welcome made local clients members: the rest of the batch is theirs too.
            Ok(Some(recipients)) if !recipients.is_empty() => {
                p.streams.wake(recipients.iter().map(String::as_str));
                followed = true;
            }
            Ok(_) => {}
            Err(e) => return internal(e),
        }
    }
    StatusCode::CREATED.into_response()
}

/// `/keyMaterial` (protocol-06 §5.2): claim KeyPackages of one of our users, or, as the hub
/// of the request's room, relay the request to the target's provider.
async fn key_material<S: Store>(
    State(p): State<App<S>>,
    Extension(Peer(peer)): Extension<Peer>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let target = match UserUri::from_url_path(path_arg(&uri, Endpoint::KeyMaterial)) {
        Ok(u) => u,
        Err(e) => return reject(StatusCode::BAD_REQUEST, format!("user in path: {e}")),
    };
    let request: KeyMaterialRequest = try_resp!(decode(&body, p.config.file.limits.max_body_bytes));
    if request.target_user.uri() != &MimiUri::from(target.clone()) {
        return reject(StatusCode::BAD_REQUEST, "targetUser differs from the path");
    }
    let crypto = openmls_rust_crypto::OpenMlsRustCrypto::default();
    if let Err(e) = verify_request(crypto.crypto(), &request) {
        return reject(StatusCode::BAD_REQUEST, e.to_string());
    }
    let requester_domain = request.requesting_user.uri().domain().clone();
    if target.domain() != p.domain() {
        // Relay as the hub of the request's room: the requester must be a user of the
        // calling provider, and the room hosted here (protocol-06 §5.2).
        if requester_domain != peer {
            return reject(
                StatusCode::FORBIDDEN,
                "a follower requests only for its own users",
            );
        }
        let hosted = match &request.room_id.0 {
            Some(room) => match RoomUri::try_from(room.uri().clone()) {
                Ok(r) => p.room(&r).await,
                Err(_) => None,
            },
            None => None,
        };
        let Some(hosted) = hosted else {
            return reject(
                StatusCode::FORBIDDEN,
                "key material is relayed only for rooms hosted here",
            );
        };
        // protocol-06 §5.2: the KeyPackages are for adding the target to this room, so only
        // a participant of the room may have them relayed (docs/decisions/0053).
        {
            let mut hosted = hosted.lock().await;
            if let Err(e) = p.refresh(&mut hosted).await {
                return reject(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
            }
            let policy = hosted.room.effective_policy();
            let requester = request.requesting_user.uri();
            if !policy.is_participant(requester) || policy.is_banned(requester) {
                return reject(
                    StatusCode::FORBIDDEN,
                    format!("{requester} is not a participant of the request's room"),
                );
            }
        }
        let target_domain = target.domain().clone();
        p.ensure_peer_ca(&target_domain).await;
        return match p
            .client
            .post(
                &target_domain,
                Endpoint::KeyMaterial,
                &target.to_url_path(),
                body.to_vec(),
            )
            .await
        {
            Ok(r) if r.status.is_success() => tls_body(StatusCode::OK, r.body.to_vec()),
            Ok(r) => reject(
                StatusCode::BAD_GATEWAY,
                format!("{target_domain} answered {}", r.status),
            ),
            Err(e) => reject(StatusCode::BAD_GATEWAY, e.to_string()),
        };
    }
    // Our user: the request comes straight from the requester's provider or relayed by the
    // hub of the room it names (protocol-06 §5.2), and the requester is who it claims to be:
    // any other provider could otherwise claim our users' KeyPackages in someone else's name
    // (and with their consent). docs/decisions/0053.
    let relayed_by_hub = request
        .room_id
        .0
        .as_ref()
        .is_some_and(|room| room.uri().domain() == &peer);
    if requester_domain != peer && !relayed_by_hub {
        return reject(
            StatusCode::FORBIDDEN,
            format!(
                "{peer} is neither the provider of {} nor the hub of the request's room",
                request.requesting_user
            ),
        );
    }
    if let Err((status, reason)) = check_requester(&p, &request).await {
        return reject(status, reason);
    }
    // Without the consent the configuration requires, only a status (docs/decisions/0081).
    match p.key_material_without_consent(&request).await {
        Ok(None) => {}
        Ok(Some(refusal)) => {
            return match refusal.encode() {
                Ok(bytes) => tls_body(StatusCode::OK, bytes),
                Err(e) => internal(e),
            };
        }
        Err(e) => return internal(e),
    }
    match p.claim_key_material(&request).await {
        Ok(response) => match response.encode() {
            Ok(bytes) => tls_body(StatusCode::OK, bytes),
            Err(e) => internal(e),
        },
        Err(e) => internal(e),
    }
}

/// The requester of a `/keyMaterial` is who the request says: `requesterCredential` is a
/// client credential of `requestingUser`, certified by that user's provider, for the key that
/// signed the request (protocol-06 §5.2; docs/decisions/0053). The provider's client CA is
/// fetched once if not yet trusted.
async fn check_requester<S: Store>(
    p: &Provider<S>,
    request: &KeyMaterialRequest,
) -> Result<(), Refusal> {
    let requester = request.requesting_user.uri();
    p.ensure_peer_ca(requester.domain()).await;
    let trust = p.trust.read().await;
    let now = i64::try_from(now_ms() / 1000).unwrap_or(i64::MAX);
    let verified = mimi_credential::verify_credential_for_domain(
        &request.requester_credential,
        request.requester_signature_key.as_slice(),
        &trust,
        requester.domain(),
        now,
    )
    .map_err(|e| (StatusCode::FORBIDDEN, format!("requesterCredential: {e}")))?;
    if &MimiUri::from(verified.user) != requester {
        return Err((
            StatusCode::FORBIDDEN,
            format!("requesterCredential is not a credential of {requester}"),
        ));
    }
    Ok(())
}
