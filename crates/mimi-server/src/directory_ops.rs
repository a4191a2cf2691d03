//! Consent gate on key material (protocol-06 §5.2 with §5.7): whether our user's KeyPackages
//! may go to the requester, given the consent records the target's provider keeps.

use mimi_store::{ConsentState, Store};
use mimi_types::wire::{KeyMaterialRequest, KeyMaterialResponse, KeyMaterialUserCode, Protocol};

use crate::error::ServerError;
use crate::provider::{Provider, store_err};

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
        // A room-specific answer overrides the general one for that room.
        let code = match (for_room, general) {
            (Some(ConsentState::Granted), _) => return Ok(None),
            (Some(_), _) => KeyMaterialUserCode::NoConsentForThisRoom,
            (None, Some(ConsentState::Granted)) => return Ok(None),
            (None, _) => KeyMaterialUserCode::NoConsent,
        };
        Ok(Some(KeyMaterialResponse {
            protocol: Protocol::Mls10,
            user_status: code,
            user_uri: request.target_user.clone(),
            clients: vec![],
        }))
    }
}
