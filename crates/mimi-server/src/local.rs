//! Operations for this provider's own users and clients: accounts, clients certified by the
//! provider's client CA, KeyPackages, rooms hosted here, key material for adding users, and
//! the per-client event streams. The client API calls these; so do the tests and the demo.

use mimi_room::hub::HubRoom;
use mimi_room::key_material::{is_compatible, user_status};
use mimi_room::policy::PolicyState;
use mimi_store::{ClientRecord, DeliveryRow, KeyPackageClaim, NewUser, Store, StoredKeyPackage};
use mimi_types::id::{ClientUri, MimiUri, RoomUri, UserUri};
use mimi_types::wire::{
    ClientKeyMaterial, ClientMaterial, Endpoint, GroupInfo, KeyMaterialRequest,
    KeyMaterialResponse, KeyMaterialUserCode, KeyPackage, Protocol, RatchetTree, WireMessage,
};
use openmls::prelude::{Credential, OpenMlsProvider, ProtocolVersion};

use crate::error::ServerError;
use crate::hub_ops::HubOpError;
use crate::provider::{HostedRoom, Provider, now_ms, store_err};

/// Lifetime of client certificates issued here.
const CLIENT_CERT_SECS: i64 = 30 * 86_400;

/// A store failure, keeping a uniqueness conflict distinguishable (the client API answers 409).
fn conflict_or_store_err(e: mimi_store::StoreError) -> ServerError {
    if e.is_conflict() {
        ServerError::Conflict(e.to_string())
    } else {
        store_err(e)
    }
}

impl<S: Store> Provider<S> {
    /// Create an account `username` with user URI `mimi://<domain>/u/<username>`.
    pub async fn register_user(
        &self,
        username: &str,
        password_hash: &str,
        display_name: &str,
    ) -> Result<UserUri, ServerError> {
        let user = UserUri::new(self.domain().clone(), username)
            .map_err(|e| ServerError::Invalid(e.to_string()))?;
        self.store
            .create_user(&NewUser {
                username: username.to_string(),
                user_uri: user.as_str().to_string(),
                password_hash: password_hash.to_string(),
                display_name: display_name.to_string(),
                created_ms: now_ms(),
            })
            .await
            .map_err(conflict_or_store_err)?;
        Ok(user)
    }

    /// Certify a new client of `user` holding MLS signature key `signature_key` and record it.
    pub async fn register_client(
        &self,
        user: &UserUri,
        device: &str,
        signature_key: &[u8],
    ) -> Result<(ClientUri, Credential), ServerError> {
        let client = ClientUri::new(self.domain().clone(), Some(user.id()), device)
            .map_err(|e| ServerError::Invalid(e.to_string()))?;
        let now = i64::try_from(now_ms() / 1000).unwrap_or(i64::MAX);
        let issued = self
            .keys
            .client_ca
            .issue(
                &client,
                user,
                signature_key,
                now - 60,
                now + CLIENT_CERT_SECS,
            )
            .map_err(|e| ServerError::Invalid(e.to_string()))?;
        self.store
            .add_client(&ClientRecord {
                client_uri: client.as_str().to_string(),
                user_uri: user.as_str().to_string(),
                credential: issued.certificate_der.clone(),
                signature_key: signature_key.to_vec(),
                created_ms: now_ms(),
            })
            .await
            .map_err(conflict_or_store_err)?;
        Ok((client, issued.credential))
    }

    /// Store KeyPackages a client uploaded (checked: valid, and the client's own).
    pub async fn publish_key_packages(
        &self,
        client: &ClientUri,
        key_packages: &[KeyPackage],
    ) -> Result<usize, ServerError> {
        let record = self
            .store
            .client(client.as_str())
            .await
            .map_err(store_err)?
            .ok_or_else(|| ServerError::Invalid(format!("unknown client {client}")))?;
        let crypto = openmls_rust_crypto::OpenMlsRustCrypto::default();
        let mut stored = Vec::new();
        for kp in key_packages {
            let verified = kp
                .parse()?
                .validate(crypto.crypto(), ProtocolVersion::Mls10)
                .map_err(|e| ServerError::Invalid(format!("KeyPackage: {e:?}")))?;
            if verified.leaf_node().signature_key().as_slice() != record.signature_key.as_slice() {
                return Err(ServerError::Invalid(
                    "a KeyPackage of another client".into(),
                ));
            }
            let kp_ref = verified
                .hash_ref(crypto.crypto())
                .map_err(|e| ServerError::Invalid(format!("KeyPackageRef: {e:?}")))?;
            stored.push(StoredKeyPackage {
                kp_ref: kp_ref.as_slice().to_vec(),
                bytes: kp.as_bytes().to_vec(),
                last_resort: verified.last_resort(),
                not_after_s: verified.life_time().not_after(),
            });
        }
        self.store
            .add_key_packages(client.as_str(), &stored)
            .await
            .map_err(conflict_or_store_err)
    }

    /// Claim KeyPackages of one of our users for a `/keyMaterial` request whose signature
    /// the caller checked (protocol-06 §5.2).
    pub async fn claim_key_material(
        &self,
        request: &KeyMaterialRequest,
    ) -> Result<KeyMaterialResponse, ServerError> {
        let target = request.target_user.uri();
        let status_only = |code| KeyMaterialResponse {
            protocol: Protocol::Mls10,
            user_status: code,
            user_uri: request.target_user.clone(),
            clients: vec![],
        };
        if self
            .store
            .user_by_uri(target.as_str())
            .await
            .map_err(store_err)?
            .is_none()
        {
            return Ok(status_only(KeyMaterialUserCode::UserUnknown));
        }
        let crypto = openmls_rust_crypto::OpenMlsRustCrypto::default();
        let accept = |bytes: &[u8]| {
            KeyPackage::from_bytes(bytes.to_vec())
                .ok()
                .and_then(|kp| kp.parse().ok())
                .and_then(|kp| kp.validate(crypto.crypto(), ProtocolVersion::Mls10).ok())
                .is_some_and(|kp| is_compatible(request, &kp))
        };
        let claims = self
            .store
            .claim_key_packages(target.as_str(), now_ms() / 1000, &accept)
            .await
            .map_err(store_err)?;
        let mut clients = Vec::new();
        for claim in claims {
            let client_uri =
                MimiUri::parse(&claim.client_uri).map_err(|e| ServerError::Store(e.to_string()))?;
            let material = match claim.outcome {
                KeyPackageClaim::Claimed(kp) => {
                    ClientMaterial::Success(KeyPackage::from_bytes(kp.bytes)?)
                }
                KeyPackageClaim::Exhausted => ClientMaterial::KeyMaterialExhausted,
                KeyPackageClaim::NothingCompatible => ClientMaterial::NothingCompatible(None),
            };
            clients.push(ClientKeyMaterial {
                client_uri: client_uri.into(),
                material,
            });
        }
        Ok(KeyMaterialResponse {
            protocol: Protocol::Mls10,
            user_status: user_status(&clients),
            user_uri: request.target_user.clone(),
            clients,
        })
    }

    /// Key material for one of our clients adding `target` to `room` (protocol-06 §3 flows
    /// 2 and 3): claimed here for our own users, asked from the target's provider when we
    /// host the room, else asked through the room's hub.
    pub async fn client_key_material(
        &self,
        room: &RoomUri,
        request: &KeyMaterialRequest,
    ) -> Result<KeyMaterialResponse, HubOpError> {
        let target = UserUri::try_from(request.target_user.uri().clone())
            .map_err(|e| ServerError::Invalid(e.to_string()))?;
        if target.domain() == self.domain() {
            return Ok(self.claim_key_material(request).await?);
        }
        // The added client's credential will be checked against its provider's CA.
        self.ensure_peer_ca(target.domain()).await;
        let via = if room.domain() == self.domain() {
            target.domain()
        } else {
            room.domain()
        };
        let response = self
            .client
            .post(
                via,
                Endpoint::KeyMaterial,
                &target.to_url_path(),
                request.encode().map_err(ServerError::from)?,
            )
            .await?;
        if !response.status.is_success() {
            return Err(HubOpError::Refused {
                status: response.status.as_u16(),
                reason: String::from_utf8_lossy(&response.body).into_owned(),
            });
        }
        Ok(KeyMaterialResponse::decode(&response.body).map_err(ServerError::from)?)
    }

    /// Host a new room created by one of our clients (protocol-06 §3 flow 1): check the
    /// group against the policy this hub established, persist it, and make the creator's
    /// client a member of the room's local stream.
    pub async fn create_room(
        &self,
        room: RoomUri,
        preset: &str,
        policy: &PolicyState,
        creator: &ClientUri,
        group_info: GroupInfo,
        ratchet_tree: RatchetTree,
    ) -> Result<(), ServerError> {
        if room.domain() != self.domain() {
            return Err(ServerError::Invalid(format!(
                "{room} is not a room of {}",
                self.domain()
            )));
        }
        if self.room(&room).await.is_some() {
            return Err(ServerError::Conflict(format!("{room} exists")));
        }
        let hub_room = {
            let trust = self.trust.read().await;
            let ctx = mimi_room::hub::HubContext {
                hub: &self.keys.hub,
                trust: &trust,
                now_ms: now_ms(),
                limits: self.hub_limits(),
            };
            HubRoom::create(&ctx, room.clone(), policy, group_info, ratchet_tree)?
        };
        self.store
            .set_follower_member(room.as_str(), creator.as_str(), true)
            .await
            .map_err(store_err)?;
        self.host(
            HostedRoom {
                room: hub_room,
                preset: preset.to_string(),
            },
            now_ms(),
        )
        .await
    }

    /// A client joined a room by external commit accepted by its hub: it receives the room's
    /// messages from now on.
    pub async fn joined_by_external_commit(
        &self,
        room: &RoomUri,
        client: &ClientUri,
    ) -> Result<(), ServerError> {
        self.store
            .set_follower_member(room.as_str(), client.as_str(), true)
            .await
            .map_err(store_err)
    }

    /// A client left a room (it processed its removal): stop delivering to it.
    pub async fn left_room(&self, room: &RoomUri, client: &ClientUri) -> Result<(), ServerError> {
        self.store
            .set_follower_member(room.as_str(), client.as_str(), false)
            .await
            .map_err(store_err)
    }

    /// A client's events after `cursor`, oldest first.
    pub async fn events(
        &self,
        client: &ClientUri,
        cursor: u64,
        limit: usize,
    ) -> Result<Vec<DeliveryRow>, ServerError> {
        self.store
            .events_after(client.as_str(), cursor, limit)
            .await
            .map_err(store_err)
    }
}
