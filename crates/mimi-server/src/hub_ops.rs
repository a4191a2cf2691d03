//! The hub operations of a provider, shared by the federation routes (a peer's request) and
//! this provider's own clients (a local request): run the room engine, make the accepted
//! event durable, return the protocol response. Requests for rooms hosted elsewhere are
//! forwarded to their hub.

use mimi_room::hub::HubContext;
use mimi_store::{HubSubmission, Store};
use mimi_types::id::{ProviderDomain, RoomUri};
use mimi_types::wire::{
    Endpoint, GroupInfoRequest, GroupInfoResponse, Protocol, SubmitMessageRequest,
    SubmitMessageResponse, SubmitOutcome, UpdateRequest, UpdateRoomResponse, WireMessage,
};
use sha2::Digest as _;

use crate::error::ServerError;
use crate::provider::{Provider, now_ms, store_err};

/// How long a hub remembers an accepted application message, to answer a resubmission of it
/// as it answered the first time instead of accepting it again: 24 hours, the usual lifetime
/// of an idempotency key (docs/decisions/0067).
pub const SUBMISSION_MEMORY_MS: u64 = 24 * 60 * 60 * 1000;

/// How often a hub operation is judged again after another instance of this provider
/// committed to the room first (shared storage, docs/decisions/0160) before it answers 503.
const CONTENDED_RETRIES: u32 = 8;

/// Why a hub operation could not produce a protocol response.
#[derive(Debug, thiserror::Error)]
pub enum HubOpError {
    /// The room is not hosted here.
    #[error("{0} is not hosted here")]
    NotHosted(RoomUri),
    /// The hub (this provider or a remote one) failed.
    #[error(transparent)]
    Failed(#[from] ServerError),
    /// The request is invalid for this room (an engine error on the peer's input, not a
    /// fault of this hub): 400, not a retryable 503.
    #[error("invalid request: {0}")]
    Invalid(mimi_room::RoomError),
    /// A remote hub refused the request at the HTTP level.
    #[error("the hub answered {status}: {reason}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Its reason.
        reason: String,
    },
}

/// An engine error as an operation error: a broken invariant of this hub stays retryable
/// (503), anything the peer's input caused is the peer's to fix (400).
fn engine_err(e: mimi_room::RoomError) -> HubOpError {
    match e {
        mimi_room::RoomError::Internal(_) => HubOpError::Failed(ServerError::Room(e)),
        e => HubOpError::Invalid(e),
    }
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
            .hosted_room(room)
            .await?
            .ok_or_else(|| HubOpError::NotHosted(room.clone()))?;
        self.ensure_peer_ca(from).await;
        let mut attempt = 0;
        loop {
            let now = now_ms();
            let mut hosted = hosted.lock().await;
            self.refresh(&mut hosted).await?;
            let reply = {
                let trust = self.trust.read().await;
                hosted
                    .room
                    .handle_update(&self.ctx(&trust, now), from, request)
                    .map_err(engine_err)?
            };
            if let Some(accepted) = &reply.accepted {
                match self.persist(&mut hosted, "update", accepted, now).await {
                    // Another instance committed first: the room was reloaded, so the
                    // request is judged again against the room as it now is.
                    Err(ServerError::Contended(_)) if attempt < CONTENDED_RETRIES => {
                        attempt += 1;
                        continue;
                    }
                    r => r?,
                }
            }
            return Ok(reply.response);
        }
    }

    /// `/submitMessage` at this hub from provider `from`.
    pub async fn hub_submit(
        &self,
        from: &ProviderDomain,
        room: &RoomUri,
        request: &SubmitMessageRequest,
    ) -> Result<SubmitMessageResponse, HubOpError> {
        let hosted = self
            .hosted_room(room)
            .await?
            .ok_or_else(|| HubOpError::NotHosted(room.clone()))?;
        self.ensure_peer_ca(from).await;
        let digest: [u8; 32] = sha2::Sha256::digest(request.app_message.as_bytes()).into();
        let mut attempt = 0;
        loop {
            match self.submit_once(from, room, request, &hosted, digest).await {
                // Another instance committed first (also, maybe, this very message): the
                // room was reloaded; judge the message again.
                Err(HubOpError::Failed(ServerError::Contended(_)))
                    if attempt < CONTENDED_RETRIES =>
                {
                    attempt += 1;
                }
                r => return r,
            }
        }
    }

    /// One attempt of [`Provider::hub_submit`].
    async fn submit_once(
        &self,
        from: &ProviderDomain,
        room: &RoomUri,
        request: &SubmitMessageRequest,
        hosted: &std::sync::Arc<tokio::sync::Mutex<crate::provider::HostedRoom>>,
        digest: [u8; 32],
    ) -> Result<SubmitMessageResponse, HubOpError> {
        let now = now_ms();
        // A message accepted before — a sender retrying after the answer was lost, also
        // across a restart of the hub — gets the first answer again, not a second acceptance
        // (docs/decisions/0067). Checked before the engine (whose epoch may have moved on
        // since), and before the room's lock so that the room's messages do not wait for
        // each other's reads; the same message submitted twice at once is caught under the
        // lock below.
        let sender = request.sending_uri.uri().as_str();
        if let Some(seen) = self
            .store
            .hub_submission(room.as_str(), &digest)
            .await
            .map_err(store_err)?
        {
            if seen.from_domain == from.as_str() && seen.sending_uri == sender {
                tracing::info!(%room, %from, seq = seen.seq, "message resubmitted: answered as before");
                return Ok(
                    SubmitMessageResponse::decode(&seen.response).map_err(ServerError::from)?
                );
            }
            tracing::info!(%room, %from, %sender, "message accepted before from another sender refused");
            return Ok(SubmitMessageResponse {
                protocol: Protocol::Mls10,
                outcome: SubmitOutcome::NotAllowed,
            });
        }
        let mut hosted = hosted.clone().lock_owned().await;
        let Some(_accepting) = Accepting::start(&self.accepting, room, digest) else {
            // Its first submission is being made durable: the retry gets that answer.
            return Err(HubOpError::Failed(ServerError::Store(
                "this message is being accepted; retry".into(),
            )));
        };
        self.refresh(&mut hosted).await?;
        let reply = {
            let trust = self.trust.read().await;
            hosted
                .room
                .handle_submit(&self.ctx(&trust, now), from, request)
                .map_err(engine_err)?
        };
        if let Some(why) = &reply.refusal {
            tracing::info!(%room, %from, reason = %why, "message refused");
        }
        if let Some(accepted) = &reply.accepted {
            let submission = HubSubmission {
                room: room.as_str().to_string(),
                message_hash: digest,
                from_domain: from.as_str().to_string(),
                sending_uri: sender.to_string(),
                seq: accepted.seq,
                response: reply.response.encode().map_err(ServerError::from)?,
                accepted_ms: now,
            };
            let forget_before = now.saturating_sub(SUBMISSION_MEMORY_MS);
            // Answered once durable; the room's next message goes ahead meanwhile.
            self.persist_message(hosted, accepted, submission, forget_before)
                .await?;
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
            .hosted_room(room)
            .await?
            .ok_or_else(|| HubOpError::NotHosted(room.clone()))?;
        self.ensure_peer_ca(from).await;
        let mut hosted = hosted.lock().await;
        self.refresh(&mut hosted).await?;
        let trust = self.trust.read().await;
        hosted
            .room
            .handle_group_info(&self.ctx(&trust, now_ms()), from, request)
            .map_err(engine_err)
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

/// A message between its acceptance by the engine and the end of its write (durable or
/// failed), so that the same message submitted twice at once is not accepted twice.
struct Accepting<'a> {
    set: &'a std::sync::Mutex<std::collections::HashSet<(String, [u8; 32])>>,
    key: (String, [u8; 32]),
}

impl<'a> Accepting<'a> {
    /// `None` if the message is being accepted already.
    fn start(
        set: &'a std::sync::Mutex<std::collections::HashSet<(String, [u8; 32])>>,
        room: &RoomUri,
        digest: [u8; 32],
    ) -> Option<Self> {
        let key = (room.as_str().to_string(), digest);
        let fresh = set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone());
        fresh.then_some(Accepting { set, key })
    }
}

impl Drop for Accepting<'_> {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}
