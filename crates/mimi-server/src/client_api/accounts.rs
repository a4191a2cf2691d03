//! Accounts, sessions, the hub's public keys, devices and their KeyPackages.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use mimi_store::Store;
use mimi_types::client_api::{
    HubInfo, LoginRequest, LoginResponse, NewDeviceRequest, NewDeviceResponse,
    PublishKeyPackagesRequest, PublishKeyPackagesResponse, RegisterRequest, RegisterResponse,
};
use mimi_types::id::{DisplayName, UserUri};
use mimi_types::wire::KeyPackage;
use openmls::prelude::tls_codec::Serialize as _;

use super::Api;
use super::auth::{
    Authed, TOKEN_LIFETIME_MS, check_password, hash_password, new_token, normalize_username,
    verify_password,
};
use super::error::ApiError;
use super::extract::ApiJson;
use crate::metrics::{Limit, Listener};
use crate::provider::now_ms;

/// Longest device id.
const MAX_DEVICE_ID: usize = 64;

/// `POST /client/v1/register`: create an account.
pub(crate) async fn register<S: Store>(
    State(api): State<Api<S>>,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<RegisterResponse>), ApiError> {
    let username = normalize_username(&req.username)?;
    check_password(&req.password)?;
    let display_name = DisplayName::new(&req.display_name)
        .map_err(|e| ApiError::bad_request(format!("display_name: {e}")))?;
    // The user URI must be valid too (it always is for these characters).
    UserUri::new(api.p.domain().clone(), &username)
        .map_err(|e| ApiError::bad_request(format!("username: {e}")))?;
    if api.p.store.user_by_name(&username).await?.is_some() {
        return Err(ApiError::conflict(format!(
            "the username {username} is taken"
        )));
    }
    let hash = hash_password(&api, req.password).await?;
    // A concurrent registration of the same name loses here with 409 (the store's uniqueness
    // rule).
    let user_uri = api
        .p
        .register_user(&username, &hash, display_name.as_str())
        .await?;
    tracing::info!(user = %user_uri, "account registered");
    Ok((StatusCode::CREATED, Json(RegisterResponse { user_uri })))
}

/// `POST /client/v1/login`: a new bearer token. Unknown user and wrong password get the same
/// answer, after the same work.
pub(crate) async fn login<S: Store>(
    State(api): State<Api<S>>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let record = match normalize_username(&req.username) {
        Ok(name) if req.password.len() <= super::auth::MAX_PASSWORD_BYTES => {
            api.p.store.user_by_name(&name).await?
        }
        _ => None,
    };
    let stored = record.as_ref().map(|r| r.password_hash.clone());
    let password = if req.password.len() <= super::auth::MAX_PASSWORD_BYTES {
        req.password
    } else {
        String::new()
    };
    let valid = verify_password(&api, stored, password).await?;
    let Some(record) = record.filter(|_| valid) else {
        return Err(ApiError::unauthorized("invalid username or password"));
    };
    let user_uri = UserUri::parse(&record.user_uri)
        .map_err(|e| ApiError::internal(format!("stored user {}: {e}", record.user_uri)))?;
    let (token, hash) = new_token()?;
    let expires_ms = now_ms().saturating_add(TOKEN_LIFETIME_MS);
    api.p
        .store
        .put_token(&hash, user_uri.as_str(), expires_ms)
        .await?;
    Ok(Json(LoginResponse {
        token,
        user_uri,
        expires_ms,
    }))
}

/// `POST /client/v1/logout`: forget the token used.
pub(crate) async fn logout<S: Store>(
    State(api): State<Api<S>>,
    authed: Authed,
) -> Result<StatusCode, ApiError> {
    api.p.store.delete_token(&authed.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /client/v1/hub`: the public keys a creator puts into a group hosted here.
pub(crate) async fn hub<S: Store>(State(api): State<Api<S>>) -> Result<Json<HubInfo>, ApiError> {
    let hub = &api.p.keys.hub;
    let external_sender = hub
        .external_sender()
        .tls_serialize_detached()
        .map_err(ApiError::internal)?;
    let franking_agent = hub
        .franking_agent()
        .tls_serialize_detached()
        .map_err(ApiError::internal)?;
    Ok(Json(HubInfo {
        domain: api.p.domain().as_str().to_string(),
        external_sender: external_sender.into(),
        franking_agent: franking_agent.into(),
    }))
}

/// Check a new device id: 1 to 64 of `A-Z a-z 0-9 . _ -`.
fn check_device_id(device: &str) -> Result<(), ApiError> {
    let ok = !device.is_empty()
        && device.len() <= MAX_DEVICE_ID
        && device
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "a device id has 1 to {MAX_DEVICE_ID} of A-Z, a-z, 0-9, '.', '_' and '-'"
        )))
    }
}

/// `POST /client/v1/devices`: certify a new client of the token's user.
pub(crate) async fn new_device<S: Store>(
    State(api): State<Api<S>>,
    authed: Authed,
    ApiJson(req): ApiJson<NewDeviceRequest>,
) -> Result<(StatusCode, Json<NewDeviceResponse>), ApiError> {
    check_device_id(&req.device)?;
    match api.device(&authed.user, &req.device).await {
        Ok((client, _)) => return Err(ApiError::conflict(format!("{client} exists"))),
        Err(e) if e.status == StatusCode::NOT_FOUND => {}
        Err(e) => return Err(e),
    }
    let quota = api.limits.limits().quotas.devices_per_user;
    if quota > 0 {
        let devices = api.p.store.clients_of(authed.user.as_str()).await?.len();
        if devices >= quota {
            api.limits.refused(Limit::DevicesPerUser, Listener::Client);
            return Err(ApiError::quota(format!(
                "{} has {devices} devices, at most {quota} (limits.quotas.devices_per_user)",
                authed.user
            )));
        }
    }
    // An unusable key is refused by the CA (400); a key another client has, by the store
    // (409).
    let (client_uri, credential) = api
        .p
        .register_client(&authed.user, &req.device, req.signature_key.as_bytes())
        .await?;
    let credential = credential
        .tls_serialize_detached()
        .map_err(ApiError::internal)?;
    tracing::info!(client = %client_uri, "device registered");
    Ok((
        StatusCode::CREATED,
        Json(NewDeviceResponse {
            client_uri,
            credential: credential.into(),
        }),
    ))
}

/// `POST /client/v1/devices/{device}/key-packages`: publish KeyPackages (all or none).
pub(crate) async fn key_packages<S: Store>(
    State(api): State<Api<S>>,
    authed: Authed,
    Path(device): Path<String>,
    ApiJson(req): ApiJson<PublishKeyPackagesRequest>,
) -> Result<Json<PublishKeyPackagesResponse>, ApiError> {
    let (client, _) = api.device(&authed.user, &device).await?;
    let mut parsed = Vec::with_capacity(req.key_packages.len());
    for (i, kp) in req.key_packages.into_iter().enumerate() {
        parsed.push(
            KeyPackage::from_bytes(kp.into_bytes())
                .map_err(|e| ApiError::wire(&format!("key_packages[{i}]"), &e))?,
        );
    }
    // Every KeyPackage of the upload counts, as if none were stored yet.
    let quota = api.limits.limits().quotas.key_packages_per_device;
    if quota > 0 {
        let held = api.p.store.key_package_count(client.as_str()).await?;
        if held.saturating_add(parsed.len()) > quota {
            api.limits
                .refused(Limit::KeyPackagesPerDevice, Listener::Client);
            return Err(ApiError::quota(format!(
                "{client} holds {held} KeyPackages; {} more would exceed {quota} (limits.quotas.key_packages_per_device)",
                parsed.len()
            )));
        }
    }
    let stored = api.p.publish_key_packages(&client, &parsed).await?;
    let remaining = api.p.store.key_package_count(client.as_str()).await?;
    Ok(Json(PublishKeyPackagesResponse {
        stored: stored as u64,
        remaining: remaining as u64,
    }))
}
