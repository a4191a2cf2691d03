//! Directory operations: the consent gate on key material (protocol-06 §5.2 with §5.7):
//! whether our user's KeyPackages may go to the requester, given the consent records the
//! target's provider keeps; and, for this provider's own users, identifier queries of any
//! provider (§5.8) and consent requests and answers sent to other providers (§5.7).
//!
//! ```text
//!   client API ─► query_identifiers(domain) ─► ours? answer_identifier_query : POST identifierQuery
//!   client API ─► send_consent(entry) ─► request|cancel: POST requestConsent/{target's domain}
//!                                      grant|revoke:  POST updateConsent/{requester's domain}
//! ```

use mimi_store::{ConsentState, Store};
use mimi_types::id::{ProviderDomain, UserUri};
use mimi_types::wire::{
    ConsentEntry, ConsentOperation, Endpoint, IdentifierRequest, IdentifierResponse,
    KeyMaterialRequest, KeyMaterialResponse, KeyMaterialUserCode, Protocol, WireMessage,
};

use crate::error::ServerError;
use crate::provider::{Provider, store_err};

/// Longest reason of a peer's refusal passed on, in bytes.
const MAX_PEER_REASON: usize = 300;

/// Why a request to another provider for one of our users gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum PeerOpError {
    /// The peer refused at the HTTP level.
    #[error("{peer} answered {status}: {reason}")]
    Refused {
        /// The peer.
        peer: ProviderDomain,
        /// HTTP status.
        status: u16,
        /// Its reason (shortened).
        reason: String,
    },
    /// The peer answered with something that is not a valid answer.
    #[error("{peer} sent an invalid answer: {reason}")]
    BadAnswer {
        /// The peer.
        peer: ProviderDomain,
        /// What is wrong with it.
        reason: String,
    },
    /// The peer could not be reached, or this provider failed.
    #[error(transparent)]
    Failed(#[from] ServerError),
}

fn reason_of(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line = text.split(['\n', '\r']).next().unwrap_or_default().trim();
    let mut end = line.len().min(MAX_PEER_REASON);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    line[..end].to_string()
}

impl<S: Store> Provider<S> {
    /// `None` when the request may claim key material; otherwise the status-only answer
    /// (`noConsent` or `noConsentForThisRoom`, protocol-06 §5.2). Only enforced when
    /// `[consent] require_for_key_material` is set, and only for requesters of other
    /// providers: our own users share one provider's policy (docs/decisions/0081).
    pub async fn key_material_without_consent(
        &self,
        request: &KeyMaterialRequest,
    ) -> Result<Option<KeyMaterialResponse>, ServerError> {
        if !self.config.file.consent.require_for_key_material {
            return Ok(None);
        }
        let requester = request.requesting_user.uri();
        if requester.domain() == self.domain() {
            return Ok(None);
        }
        let target = request.target_user.uri().as_str();
        let room = request.room_id.0.as_ref().map(|r| r.uri().as_str());
        let state_of = |room| async move {
            self.store
                .consent(requester.as_str(), target, room)
                .await
                .map(|record| record.map(|r| r.state))
                .map_err(store_err)
        };
        let general = state_of(None).await?;
        let for_room = match room {
            Some(room) => state_of(Some(room)).await?,
            None => None,
        };
        // A room-specific answer overrides the general one for that room; a pending
        // room-specific request is no answer (docs/decisions/0081).
        let code = match (for_room, general) {
            (Some(ConsentState::Granted), _) => return Ok(None),
            (Some(ConsentState::Revoked), _) => KeyMaterialUserCode::NoConsentForThisRoom,
            (_, Some(ConsentState::Granted)) => return Ok(None),
            _ => KeyMaterialUserCode::NoConsent,
        };
        Ok(Some(KeyMaterialResponse {
            protocol: Protocol::Mls10,
            user_status: code,
            user_uri: request.target_user.clone(),
            clients: vec![],
        }))
    }
}

impl<S: Store> Provider<S> {
    /// Ask provider `domain` which of its users match `request` (protocol-06 §5.8), for one
    /// of our users: answered here when `domain` is ours, else by `identifierQuery` to the
    /// peer. A peer's answer must name only user URIs of `domain`.
    pub async fn query_identifiers(
        &self,
        domain: &ProviderDomain,
        request: &IdentifierRequest,
    ) -> Result<IdentifierResponse, PeerOpError> {
        if domain == self.domain() {
            return Ok(self.answer_identifier_query(request).await?);
        }
        let body = request.encode().map_err(ServerError::from)?;
        let response = self
            .client
            .post(domain, Endpoint::IdentifierQuery, domain.as_str(), body)
            .await?;
        if !response.status.is_success() {
            return Err(PeerOpError::Refused {
                peer: domain.clone(),
                status: response.status.as_u16(),
                reason: reason_of(&response.body),
            });
        }
        let bad = |reason: String| PeerOpError::BadAnswer {
            peer: domain.clone(),
            reason,
        };
        let answer = IdentifierResponse::decode_with_limit(
            &response.body,
            self.config.file.limits.max_body_bytes,
        )
        .map_err(|e| bad(e.to_string()))?;
        let uris = answer
            .uri
            .iter()
            .chain(answer.found_profiles.iter().map(|p| &p.stable_uri));
        for uri in uris {
            match UserUri::try_from(uri.uri().clone()) {
                Ok(user) if user.domain() == domain => {}
                _ => return Err(bad(format!("{} is not a user of {domain}", uri.uri()))),
            }
        }
        Ok(answer)
    }

    /// Send a consent operation of one of our users to the other user's provider
    /// (protocol-06 §5.7): `request` and `cancel` to the target's provider
    /// (`requestConsent/{targetDomain}`), `grant` and `revoke` to the requester's
    /// (`updateConsent/{requesterDomain}`). Ok when the peer accepted it (2xx).
    pub async fn send_consent(&self, entry: &ConsentEntry) -> Result<(), PeerOpError> {
        let (endpoint, peer) = match entry.operation {
            ConsentOperation::Request | ConsentOperation::Cancel => {
                (Endpoint::RequestConsent, entry.target_uri.uri().domain())
            }
            ConsentOperation::Grant { .. } | ConsentOperation::Revoke => {
                (Endpoint::UpdateConsent, entry.requester_uri.uri().domain())
            }
        };
        if peer == self.domain() {
            return Err(ServerError::Invalid(format!(
                "{peer} is this provider: a local consent operation is not sent"
            ))
            .into());
        }
        let body = entry.encode().map_err(ServerError::from)?;
        let response = self
            .client
            .post(peer, endpoint, peer.as_str(), body)
            .await?;
        if !response.status.is_success() {
            return Err(PeerOpError::Refused {
                peer: peer.clone(),
                status: response.status.as_u16(),
                reason: reason_of(&response.body),
            });
        }
        Ok(())
    }
}
