//! Rooms: create a room hosted here, claim key material, and the protocol-06 requests of a
//! device for a room's hub (`update`, `messages`, `group-info`) plus the device's membership
//! in the room's local stream (`joined`, `left`).

use std::net::IpAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use mimi_room::key_material::verify_request;
use mimi_room::policy::{PolicyState, Preset};
use mimi_store::Store;
use mimi_types::client_api::{
    CreateRoomRequest, CreateRoomResponse, DeviceRequest, DeviceWireRequest, KeyMaterialApiRequest,
    WireResponse,
};
use mimi_types::id::{ClientUri, MimiUri, RoomUri, UserUri};
use mimi_types::wire::{
    GroupInfo, GroupInfoRequest, HandshakeBundle, KeyMaterialRequest, RatchetTree,
    SubmitMessageRequest, UpdateOutcome, UpdateRequest, WireMessage,
};
use openmls::prelude::{MlsMessageBodyIn, OpenMlsProvider, Sender};

use super::auth::{Authed, authenticate};
use super::error::ApiError;
use super::extract::{ApiJson, check_content_type, json_limit, parse};
use super::{Api, api_path};
use crate::error::ServerError;
use crate::hub_ops::HubOpError;
use crate::listener::RemoteAddr;
use crate::metrics::{Limit, Listener};

/// Longest local room id.
const MAX_ROOM_ID: usize = 128;

fn preset(name: &str) -> Result<Preset, ApiError> {
    Preset::ALL
        .into_iter()
        .find(|p| p.name() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
            ApiError::bad_request(format!(
                "unknown preset {name:?}; one of {}",
                names.join(", ")
            ))
        })
}

fn encode<R: WireMessage>(response: &R) -> Result<Json<WireResponse>, ApiError> {
    let bytes = response.encode().map_err(ApiError::internal)?;
    Ok(Json(WireResponse {
        response: bytes.into(),
    }))
}

/// `POST /client/v1/rooms`: host a room whose group the client created for this hub.
pub(crate) async fn create<S: Store>(
    State(api): State<Api<S>>,
    authed: Authed,
    ApiJson(req): ApiJson<CreateRoomRequest>,
) -> Result<(StatusCode, Json<CreateRoomResponse>), ApiError> {
    let id_ok = !req.room.is_empty()
        && req.room.len() <= MAX_ROOM_ID
        && req
            .room
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !id_ok {
        return Err(ApiError::bad_request(format!(
            "a room id has 1 to {MAX_ROOM_ID} of A-Z, a-z, 0-9, '.', '_' and '-'"
        )));
    }
    let room = RoomUri::new(api.p.domain().clone(), &req.room)
        .map_err(|e| ApiError::bad_request(format!("room: {e}")))?;
    let preset = preset(&req.preset)?;
    let (client, _) = api.device(&authed.user, &req.device).await?;
    let limit = api.p.config.file.limits.max_update_bytes;
    let group_info = GroupInfo::from_bytes(req.group_info.into_bytes())
        .map_err(|e| ApiError::wire("group_info", &e))?;
    let ratchet_tree = RatchetTree::from_bytes(req.ratchet_tree.into_bytes())
        .map_err(|e| ApiError::wire("ratchet_tree", &e))?;
    if group_info.as_bytes().len() + ratchet_tree.as_bytes().len() > limit {
        return Err(ApiError::too_large(
            "group_info and ratchet_tree are too large",
        ));
    }
    let policy = PolicyState::new_room(preset, authed.user.clone().into())
        .map_err(|e| ApiError::bad_request(format!("policy: {e}")))?;
    if api.p.room(&room).await.is_some() {
        return Err(ApiError::conflict(format!("{room} exists")));
    }
    check_room_quota(&api, &authed.user).await?;
    match api
        .p
        .create_room(
            room.clone(),
            preset.name(),
            &policy,
            &client,
            group_info,
            ratchet_tree,
        )
        .await
    {
        Ok(()) => {}
        // The engine refuses a group that is not the room the hub establishes.
        Err(ServerError::Room(e)) => {
            return Err(ApiError::bad_request(format!(
                "the group does not fit the room: {e}"
            )));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(%room, creator = %client, preset = preset.name(), "room created");
    Ok((
        StatusCode::CREATED,
        Json(CreateRoomResponse { room_uri: room }),
    ))
}

/// Refuse one more room for `user` when its devices are in `quotas.rooms_per_user` rooms
/// already (docs/decisions/0091).
async fn check_room_quota<S: Store>(api: &Api<S>, user: &UserUri) -> Result<(), ApiError> {
    let quota = api.limits.limits().quotas.rooms_per_user;
    if quota == 0 {
        return Ok(());
    }
    let rooms = api.p.store.user_room_count(user.as_str()).await?;
    if rooms >= quota {
        api.limits.refused(Limit::RoomsPerUser, Listener::Client);
        return Err(ApiError::quota(format!(
            "{user} is in {rooms} rooms, at most {quota} (limits.quotas.rooms_per_user)"
        )));
    }
    Ok(())
}

/// `POST /client/v1/key-material`: KeyPackages of a user to add to a room, from this
/// provider, the target's provider, or through the room's hub.
pub(crate) async fn key_material<S: Store>(
    State(api): State<Api<S>>,
    authed: Authed,
    ApiJson(req): ApiJson<KeyMaterialApiRequest>,
) -> Result<Json<WireResponse>, ApiError> {
    let request = KeyMaterialRequest::decode_with_limit(
        req.request.as_bytes(),
        api.p.config.file.limits.max_body_bytes,
    )
    .map_err(|e| ApiError::wire("request", &e))?;
    if request.requesting_user.uri() != &MimiUri::from(authed.user.clone()) {
        return Err(ApiError::forbidden(format!(
            "the request's requesting user is not {}",
            authed.user
        )));
    }
    match &request.room_id.0 {
        Some(r) if r.uri() == &MimiUri::from(req.room.clone()) => {}
        Some(r) => {
            return Err(ApiError::bad_request(format!(
                "the request's room {} is not {}",
                r.uri(),
                req.room
            )));
        }
        None => return Err(ApiError::bad_request("the request names no room")),
    }
    let crypto = openmls_rust_crypto::OpenMlsRustCrypto::default();
    verify_request(crypto.crypto(), &request)
        .map_err(|e| ApiError::bad_request(format!("request: {e}")))?;
    let response = api.p.client_key_material(&req.room, &request).await?;
    encode(&response)
}

/// The room operations: `POST /client/v1/rooms/{room}/{update|messages|group-info|joined|left}`.
pub(crate) async fn operation<S: Store>(
    State(api): State<Api<S>>,
    remote: Option<Extension<RemoteAddr>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let remote = remote.map(|Extension(RemoteAddr(addr))| addr.ip());
    match operation_inner(&api, remote, &headers, &uri, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Operation {
    Update,
    Messages,
    GroupInfo,
    Joined,
    Left,
}

async fn operation_inner<S: Store>(
    api: &Api<S>,
    remote: Option<IpAddr>,
    headers: &HeaderMap,
    uri: &Uri,
    body: &[u8],
) -> Result<Response, ApiError> {
    let no_endpoint = || ApiError::not_found(format!("no endpoint POST {}", uri.path()));
    let rest = api_path(uri)
        .strip_prefix("/rooms/")
        .ok_or_else(no_endpoint)?;
    let (room_path, op) = rest.rsplit_once('/').ok_or_else(no_endpoint)?;
    let op = match op {
        "update" => Operation::Update,
        "messages" => Operation::Messages,
        "group-info" => Operation::GroupInfo,
        "joined" => Operation::Joined,
        "left" => Operation::Left,
        _ => return Err(no_endpoint()),
    };
    let authed = authenticate(api, headers, remote).await?;
    let room = RoomUri::from_url_path(room_path)
        .map_err(|e| ApiError::bad_request(format!("room in path: {e}")))?;
    check_content_type(headers)?;
    let limits = api.p.config.file.limits;
    if op != Operation::Update && body.len() > json_limit(limits.max_body_bytes) {
        return Err(ApiError::too_large("the body is too large"));
    }
    match op {
        Operation::Joined | Operation::Left => {
            let req: DeviceRequest = parse(body)?;
            let (client, _) = api.device(&authed.user, &req.device).await?;
            if op == Operation::Left {
                api.p.left_room(&room, &client).await?;
            } else if !is_member(api, &room, &client).await? {
                return Err(ApiError::conflict(format!(
                    "no Welcome or accepted external commit put {client} into {room}"
                )));
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Operation::Update | Operation::Messages | Operation::GroupInfo => {
            let req: DeviceWireRequest = parse(body)?;
            let (client, _) = api.device(&authed.user, &req.device).await?;
            let bytes = req.request.as_bytes();
            let response = match op {
                Operation::Update => {
                    let request = UpdateRequest::decode_with_limit(bytes, limits.max_update_bytes)
                        .map_err(|e| ApiError::wire("request", &e))?;
                    update(api, &authed.user, &room, &client, &request).await?
                }
                Operation::Messages => {
                    let request =
                        SubmitMessageRequest::decode_with_limit(bytes, limits.max_body_bytes)
                            .map_err(|e| ApiError::wire("request", &e))?;
                    if request.sending_uri.uri() != &MimiUri::from(authed.user.clone()) {
                        return Err(ApiError::forbidden(format!(
                            "the message's sending URI is not {}",
                            authed.user
                        )));
                    }
                    // A room hosted here: its message budget, shared with peers' senders.
                    if room.domain() == api.p.domain() && api.p.room(&room).await.is_some() {
                        api.limits
                            .room_message(&room, bytes.len(), Listener::Client)
                            .map_err(|t| {
                                ApiError::throttled(
                                    t,
                                    format!("{room} takes no more messages for now"),
                                )
                            })?;
                    }
                    encode(&api.p.client_submit(&room, &request).await?)?
                }
                _ => {
                    let request = GroupInfoRequest::decode_with_limit(bytes, limits.max_body_bytes)
                        .map_err(|e| ApiError::wire("request", &e))?;
                    encode(&api.p.client_group_info(&room, &request).await?)?
                }
            };
            Ok(response.into_response())
        }
    }
}

async fn is_member<S: Store>(
    api: &Api<S>,
    room: &RoomUri,
    client: &ClientUri,
) -> Result<bool, ApiError> {
    Ok(api
        .p
        .store
        .follower_members(room.as_str())
        .await?
        .iter()
        .any(|c| c == client.as_str()))
}

/// Whether an update is an external commit (a device joining by itself).
fn is_external_commit(request: &UpdateRequest) -> bool {
    let HandshakeBundle::Commit { commit, .. } = &request.bundle else {
        return false;
    };
    match commit.parse().map(|m| m.extract()) {
        Ok(MlsMessageBodyIn::PublicMessage(pm)) => matches!(pm.sender(), Sender::NewMemberCommit),
        _ => false,
    }
}

/// Forward an update to the room's hub. A device joining by external commit is put into the
/// room's local stream *before* the commit is sent, so no message the hub fans out after
/// accepting it can miss the device; it is taken out again when the hub refuses for sure
/// (docs/decisions/0074).
async fn update<S: Store>(
    api: &Api<S>,
    user: &UserUri,
    room: &RoomUri,
    client: &ClientUri,
    request: &UpdateRequest,
) -> Result<Json<WireResponse>, ApiError> {
    let joining = is_external_commit(request) && !is_member(api, room, client).await?;
    if joining {
        // One more room for the user, unless another of its devices is in it already.
        let members = api.p.store.follower_members(room.as_str()).await?;
        let devices = api.p.store.clients_of(user.as_str()).await?;
        if !devices.iter().any(|d| members.contains(&d.client_uri)) {
            check_room_quota(api, user).await?;
        }
        api.p.joined_by_external_commit(room, client).await?;
    }
    let result = api.p.client_update(room, request).await;
    if joining {
        let refused = match &result {
            Ok(r) => !matches!(r.outcome, UpdateOutcome::Success { .. }),
            Err(HubOpError::NotHosted(_) | HubOpError::Invalid(_)) => true,
            Err(HubOpError::Refused { status, .. }) => (400..500).contains(status),
            // Unknown outcome (the hub may have accepted): keep the device in the stream.
            Err(HubOpError::Failed(_)) => false,
        };
        if refused && let Err(e) = api.p.left_room(room, client).await {
            tracing::warn!(%room, %client, error = %e, "could not undo a refused join");
        }
    }
    encode(&result?)
}
