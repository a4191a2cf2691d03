//! How the suite gets users at the provider under test. The protocol has no client-to-
//! provider part, so a case that needs a local user of the target goes through a [`Driver`].
//! The MLS client itself runs in the suite (OpenMLS through `mimi-client`); the driver only
//! carries what a client would send to its own provider. [`MimiApiDriver`] drives this
//! project's client API; another implementation supplies its own driver, or runs without one
//! (cases that need a local user are then skipped).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use mimi_client::{HubKeys, JoinInfo, MimiClient, RemoteApi};
use mimi_types::client_api::IdentifiersRequest;
use mimi_types::id::{ClientUri, RoomUri, UserUri};
use mimi_types::wire::{
    FanoutMessage, GroupInfoRequest, GroupInfoResponse, KeyMaterialRequest, KeyMaterialResponse,
    KeyPackage, SubmitMessageRequest, SubmitMessageResponse, UpdateRequest, UpdateRoomResponse,
};
use openmls::prelude::Credential;

/// A driver operation in progress.
pub type DriverFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send + 'a>>;

/// A new device of a new local user, as the target certified it.
pub struct Registered {
    /// The user.
    pub user: UserUri,
    /// The device.
    pub client: ClientUri,
    /// The credential the target issued for the device's signature key.
    pub credential: Credential,
    /// The device's link to its provider.
    pub device: Box<dyn Device>,
}

/// Creates local users at the provider under test.
pub trait Driver: Send + Sync {
    /// A short name for reports.
    fn name(&self) -> &str;
    /// Register a new user (a fresh name derived from `hint`) with one device holding MLS
    /// signature key `signature_key`.
    fn new_user<'a>(
        &'a self,
        hint: &'a str,
        signature_key: &'a [u8],
    ) -> DriverFuture<'a, Registered>;
}

/// One device of a local user at the provider under test: what its client sends to its own
/// provider, and what that provider delivers to it.
pub trait Device: Send + Sync {
    /// Make one-time KeyPackages of this device available to `/keyMaterial`.
    fn publish_key_packages<'a>(&'a self, kps: &'a [KeyPackage]) -> DriverFuture<'a, ()>;
    /// The provider's hub keys (external sender, franking agent), to create rooms it hosts.
    fn hub_keys(&self) -> DriverFuture<'_, HubKeys>;
    /// Have the provider host a room whose group this device created.
    fn create_room<'a>(
        &'a self,
        room_id: &'a str,
        preset: &'a str,
        info: &'a JoinInfo,
    ) -> DriverFuture<'a, RoomUri>;
    /// Claim KeyPackages of a user (of any provider) to add to `room`.
    fn key_material<'a>(
        &'a self,
        room: &'a RoomUri,
        request: &'a KeyMaterialRequest,
    ) -> DriverFuture<'a, KeyMaterialResponse>;
    /// A commit or proposals for the room's hub.
    fn update<'a>(
        &'a self,
        room: &'a RoomUri,
        request: &'a UpdateRequest,
    ) -> DriverFuture<'a, UpdateRoomResponse>;
    /// An application message for the room's hub.
    fn submit<'a>(
        &'a self,
        room: &'a RoomUri,
        request: &'a SubmitMessageRequest,
    ) -> DriverFuture<'a, SubmitMessageResponse>;
    /// A GroupInfo request for the room's hub.
    fn group_info<'a>(
        &'a self,
        room: &'a RoomUri,
        request: &'a GroupInfoRequest,
    ) -> DriverFuture<'a, GroupInfoResponse>;
    /// Set the user's searchable identifiers (protocol-06 §5.8).
    fn set_identifiers<'a>(&'a self, identifiers: &'a IdentifiersRequest) -> DriverFuture<'a, ()>;
    /// Messages delivered to this device since the last call, waiting up to `wait` for the
    /// first one.
    fn received(&mut self, wait: Duration) -> DriverFuture<'_, Vec<(RoomUri, FanoutMessage)>>;
}

/// A local user of the target with one device, its MLS client in the suite.
pub struct LocalUser {
    /// The MLS client.
    pub mls: MimiClient,
    /// Its provider link.
    pub device: Box<dyn Device>,
}

/// Register a local user through `driver`.
pub async fn local_user(driver: &dyn Driver, hint: &str) -> Result<LocalUser, String> {
    let signer = MimiClient::new_signer().map_err(|e| e.to_string())?;
    let r = driver.new_user(hint, signer.public()).await?;
    let mls = MimiClient::from_parts(r.client, r.user, signer, r.credential)
        .map_err(|e| e.to_string())?;
    Ok(LocalUser {
        mls,
        device: r.device,
    })
}

/// The driver for this project's client API (`/client/v1`, see docs/client-api.md).
pub struct MimiApiDriver {
    base_url: String,
    tag: String,
}

impl MimiApiDriver {
    /// Drive the client API at `base_url` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base_url: &str) -> MimiApiDriver {
        let mut tag = [0u8; 4];
        let _ = getrandom::fill(&mut tag);
        MimiApiDriver {
            base_url: base_url.trim_end_matches('/').to_string(),
            tag: tag.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

const DEVICE: &str = "conformance";

impl Driver for MimiApiDriver {
    fn name(&self) -> &str {
        "mimi client API"
    }

    fn new_user<'a>(
        &'a self,
        hint: &'a str,
        signature_key: &'a [u8],
    ) -> DriverFuture<'a, Registered> {
        Box::pin(async move {
            static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let name = format!("{hint}{n}x{}", self.tag);
            let password = format!("pw-{name}-conformance");
            let mut api = RemoteApi::new(&self.base_url).map_err(err)?;
            let user = api.register(&name, &password, hint).await.map_err(err)?;
            api.login(&name, &password).await.map_err(err)?;
            let (client, credential) = api
                .register_device(DEVICE, signature_key)
                .await
                .map_err(err)?;
            Ok(Registered {
                user,
                client,
                credential,
                device: Box::new(ApiDevice { api, cursor: 0 }),
            })
        })
    }
}

struct ApiDevice {
    api: RemoteApi,
    cursor: u64,
}

impl Device for ApiDevice {
    fn publish_key_packages<'a>(&'a self, kps: &'a [KeyPackage]) -> DriverFuture<'a, ()> {
        Box::pin(async move {
            self.api
                .publish_key_packages(DEVICE, kps)
                .await
                .map(|_| ())
                .map_err(err)
        })
    }

    fn hub_keys(&self) -> DriverFuture<'_, HubKeys> {
        Box::pin(async move { self.api.hub().await.map_err(err) })
    }

    fn create_room<'a>(
        &'a self,
        room_id: &'a str,
        preset: &'a str,
        info: &'a JoinInfo,
    ) -> DriverFuture<'a, RoomUri> {
        Box::pin(async move {
            self.api
                .create_room(
                    room_id,
                    preset,
                    DEVICE,
                    &info.group_info,
                    &info.ratchet_tree,
                )
                .await
                .map_err(err)
        })
    }

    fn key_material<'a>(
        &'a self,
        room: &'a RoomUri,
        request: &'a KeyMaterialRequest,
    ) -> DriverFuture<'a, KeyMaterialResponse> {
        Box::pin(async move { self.api.key_material(room, request).await.map_err(err) })
    }

    fn update<'a>(
        &'a self,
        room: &'a RoomUri,
        request: &'a UpdateRequest,
    ) -> DriverFuture<'a, UpdateRoomResponse> {
        Box::pin(async move { self.api.update(room, DEVICE, request).await.map_err(err) })
    }

    fn submit<'a>(
        &'a self,
        room: &'a RoomUri,
        request: &'a SubmitMessageRequest,
    ) -> DriverFuture<'a, SubmitMessageResponse> {
        Box::pin(async move { self.api.submit(room, DEVICE, request).await.map_err(err) })
    }

    fn group_info<'a>(
        &'a self,
        room: &'a RoomUri,
        request: &'a GroupInfoRequest,
    ) -> DriverFuture<'a, GroupInfoResponse> {
        Box::pin(async move {
            self.api
                .group_info(room, DEVICE, request)
                .await
                .map_err(err)
        })
    }

    fn set_identifiers<'a>(&'a self, identifiers: &'a IdentifiersRequest) -> DriverFuture<'a, ()> {
        Box::pin(async move {
            self.api
                .set_identifiers(identifiers)
                .await
                .map(|_| ())
                .map_err(err)
        })
    }

    fn received(&mut self, wait: Duration) -> DriverFuture<'_, Vec<(RoomUri, FanoutMessage)>> {
        Box::pin(async move {
            let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
            let r = self
                .api
                .events(DEVICE, self.cursor, None, Some(wait_ms))
                .await
                .map_err(err)?;
            let mut out = Vec::new();
            for event in &r.events {
                self.cursor = self.cursor.max(event.cursor);
                if let Ok(message) = mimi_client::remote::fanout(event) {
                    out.push((event.room.clone(), message));
                }
            }
            Ok(out)
        })
    }
}
