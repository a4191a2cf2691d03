//! The hub operations of a provider, shared by the federation routes (a peer's request) and
//! this provider's own clients (a local request): run the room engine, make the accepted
//! event durable, return the protocol response. Requests for rooms hosted elsewhere are
//! forwarded to their hub.

use mimi_room::hub::HubContext;
use mimi_store::Store;
use mimi_types::id::{ProviderDomain, RoomUri};
use mimi_types::wire::{
    Endpoint, GroupInfoRequest, GroupInfoResponse, SubmitMessageRequest, SubmitMessageResponse,
    UpdateRequest, UpdateRoomResponse, WireMessage,
};

use crate::error::ServerError;
use crate::provider::{Provider, now_ms};

/// Why a hub operation could not produce a protocol response.
#[derive(Debug, thiserror::Error)]
pub enum HubOpError {
    /// The room is not hosted here.
    #[error("{0} is not hosted here")]
    NotHosted(RoomUri),
    /// The hub (this provider or a remote one) failed.
    #[error(transparent)]
    Failed(#[from] ServerError),
    /// A remote hub refused the request at the HTTP level.
    #[error("the hub answered {status}: {reason}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Its reason.
        reason: String,
    },
}

impl<S: Store> Provider<S> {
    fn ctx<'a>(&'a self, trust: &'a mimi_credential::TrustStore, now: u64) -> HubContext<'a> {
        HubContext {
            hub: &self.keys.hub,
            trust,
            now_ms: now,
            limits: self.hub_limits(),
        }
    }

    /// `/update` at this hub from provider `from`.
    pub async fn hub_update(
        &self,
        from: &ProviderDomain,
        room: &RoomUri,
        request: &UpdateRequest,
    ) -> Result<UpdateRoomResponse, HubOpError> {
        let hosted = self
            .room(room)
            .await
            .ok_or_else(|| HubOpError::NotHosted(room.clone()))?;
        self.ensure_peer_ca(from).await;
        let now = now_ms();
        let mut hosted = hosted.lock().await;
        let reply = {
            let trust = self.trust.read().await;
            hosted
                .room
                .handle_update(&self.ctx(&trust, now), from, request)
                .map_err(ServerError::from)?
        };
        if let Some(accepted) = &reply.accepted {
            self.persist(&mut hosted, "update", accepted, now).await?;
        }
        Ok(reply.response)
    }

    /// `/submitMessage` at this hub from provider `from`.
    pub async fn hub_submit(
        &self,
        from: &ProviderDomain,
        room: &RoomUri,
        request: &SubmitMessageRequest,
    ) -> Result<SubmitMessageResponse, HubOpError> {
        let hosted = self
            .room(room)
            .await
            .ok_or_else(|| HubOpError::NotHosted(room.clone()))?;
        self.ensure_peer_ca(from).await;
        let now = now_ms();
        let mut hosted = hosted.lock().await;
        let reply = {
            let trust = self.trust.read().await;
            hosted
                .room
                .handle_submit(&self.ctx(&trust, now), from, request)
                .map_err(ServerError::from)?
        };
        if let Some(why) = &reply.refusal {
            tracing::info!(%room, %from, reason = %why, "message refused");
        }
        if let Some(accepted) = &reply.accepted {
            self.persist(&mut hosted, "message", accepted, now).await?;
        }
        Ok(reply.response)
    }

    /// `/groupInfo` at this hub from provider `from`.
    pub async fn hub_group_info(
        &self,
        from: &ProviderDomain,
        room: &RoomUri,
        request: &GroupInfoRequest,
    ) -> Result<GroupInfoResponse, HubOpError> {
        let hosted = self
            .room(room)
            .await
            .ok_or_else(|| HubOpError::NotHosted(room.clone()))?;
        self.ensure_peer_ca(from).await;
        let hosted = hosted.lock().await;
        let trust = self.trust.read().await;
        Ok(hosted
            .room
            .handle_group_info(&self.ctx(&trust, now_ms()), from, request)
            .map_err(ServerError::from)?)
    }

    /// Send a request of one of this provider's clients to the room's hub: handled here when
    /// this provider hosts the room, else POSTed to the hub (protocol-06 §3).
    async fn to_hub<Req: WireMessage, Resp: WireMessage>(
        &self,
        room: &RoomUri,
        endpoint: Endpoint,
        request: &Req,
    ) -> Result<Resp, HubOpError> {
        let hub = room.domain();
        let body = request.encode().map_err(ServerError::from)?;
        let response = self
            .client
            .post(hub, endpoint, &room.to_url_path(), body)
            .await?;
        if !response.status.is_success() {
            return Err(HubOpError::Refused {
                status: response.status.as_u16(),
                reason: String::from_utf8_lossy(&response.body).into_owned(),
            });
        }
        Ok(
            Resp::decode_with_limit(&response.body, self.config.file.limits.max_update_bytes)
                .map_err(ServerError::from)?,
        )
    }

    /// An `/update` of one of this provider's clients.
    pub async fn client_update(
        &self,
        room: &RoomUri,
        request: &UpdateRequest,
    ) -> Result<UpdateRoomResponse, HubOpError> {
        if room.domain() == self.domain() {
            self.hub_update(self.domain(), room, request).await
        } else {
            self.to_hub(room, Endpoint::Update, request).await
        }
    }

    /// A `/submitMessage` of one of this provider's clients.
    pub async fn client_submit(
        &self,
        room: &RoomUri,
        request: &SubmitMessageRequest,
    ) -> Result<SubmitMessageResponse, HubOpError> {
        if room.domain() == self.domain() {
            self.hub_submit(self.domain(), room, request).await
        } else {
            self.to_hub(room, Endpoint::SubmitMessage, request).await
        }
    }

    /// A `/groupInfo` of one of this provider's clients.
    pub async fn client_group_info(
        &self,
        room: &RoomUri,
        request: &GroupInfoRequest,
    ) -> Result<GroupInfoResponse, HubOpError> {
        if room.domain() == self.domain() {
            self.hub_group_info(self.domain(), room, request).await
        } else {
            self.to_hub(room, Endpoint::GroupInfo, request).await
        }
    }
}
