//! `POST /groupInfo/{roomId}` at the hub (protocol-06 §5.6): GroupInfo, ratchet tree and the
//! epoch's pending proposals, encrypted to an authorized joiner and signed by the hub.

use mimi_types::id::{MimiUri, ProviderDomain};
use mimi_types::wire::{
    Capability, GROUP_INFO_ENCRYPTION_LABEL, GROUP_INFO_REQUEST_LABEL, GROUP_INFO_RESPONSE_LABEL,
    GroupInfoOutcome, GroupInfoRatchetTreeTbe, GroupInfoRequest, GroupInfoResponse,
    GroupInfoSuccess, IdentifierUri, PendingProposal, Protocol, RatchetTreeOption, sign_content,
};
use openmls::prelude::tls_codec::Serialize as _;
use openmls::prelude::{OpenMlsCrypto, OpenMlsProvider};
use openmls_traits::signatures::Signer;

use super::{HubContext, HubRoom};
use crate::RoomError;
use crate::profile::CIPHERSUITE;

impl HubRoom {
    /// Whether a non-participant may join this room on its own (room-policy-03
    /// canOpenJoin on role 0).
    pub fn open_join_allowed(&self) -> bool {
        self.policy
            .roles
            .roles
            .iter()
            .any(|r| r.role_index == 0 && r.role_capabilities.contains(&Capability::OPEN_JOIN))
    }

    /// Handle a `/groupInfo` request from provider `from`. A refusal is a `notAuthorized`
    /// response (also used for requests that do not verify, so a prober learns nothing).
    pub fn handle_group_info(
        &self,
        ctx: &HubContext<'_>,
        from: &ProviderDomain,
        request: &GroupInfoRequest,
    ) -> Result<GroupInfoResponse, RoomError> {
        let room_id = IdentifierUri::from(MimiUri::from(self.room.clone()));
        let refuse = || GroupInfoResponse {
            protocol: Protocol::Mls10,
            room_id: room_id.clone(),
            outcome: GroupInfoOutcome::NotAuthorized,
        };
        let crypto = self.provider.crypto();
        let scheme = CIPHERSUITE.signature_algorithm();
        // protocol-06 §5.6: the request is signed with the requester's key over the TBS.
        let signed = sign_content(GROUP_INFO_REQUEST_LABEL, &request.tbs_bytes()?)?;
        if crypto
            .verify_signature(
                scheme,
                &signed,
                request.requesting_signature_key.as_slice(),
                request.signature.as_slice(),
            )
            .is_err()
        {
            return Ok(refuse());
        }
        // The credential must be a client of `from`, certified by it.
        let Ok(identity) = mimi_credential::verify_credential(
            &request.requesting_credential,
            request.requesting_signature_key.as_slice(),
            ctx.trust,
            ctx.now_secs(),
        ) else {
            return Ok(refuse());
        };
        if &identity.domain != from {
            return Ok(refuse());
        }
        let identity = crate::identity::LeafIdentity {
            user: MimiUri::from(identity.user),
            client: identity.client,
            domain: identity.domain,
        };
        // Who may see the GroupInfo: participants (a new device), anyone when the room is
        // open, and users the pre-authorization list admits (room-policy-03 §4).
        let policy = self.effective_policy();
        let allowed = policy.is_participant(&identity.user)
            || (!policy.is_banned(&identity.user)
                && (self.open_join_allowed()
                    || policy.preauthorized_role(&identity.claims()).is_some()));
        if !allowed {
            return Ok(refuse());
        }
        let tbe = GroupInfoRatchetTreeTbe {
            group_info: self.group_info.clone(),
            ratchet_tree_option: RatchetTreeOption::Full(self.ratchet_tree()?),
            pending_proposals: self
                .pending
                .iter()
                .map(|p| PendingProposal {
                    proposal: p.message.clone(),
                    hub_accepted_time: p.accepted_ms,
                })
                .collect(),
        };
        let plaintext = tbe
            .tls_serialize_detached()
            .map_err(|e| RoomError::Internal(format!("encoding GroupInfoRatchetTreeTBE: {e:?}")))?;
        // RFC 9420 §5.1.3 EncryptWithLabel: info = EncryptContext{label, context}, which has
        // the same layout as SignContent.
        let info = sign_content(
            GROUP_INFO_ENCRYPTION_LABEL,
            room_id.as_received().as_bytes(),
        )?;
        let encrypted = crypto
            .hpke_seal(
                CIPHERSUITE.hpke_config(),
                request.group_info_public_key.as_slice(),
                &info,
                &[],
                &plaintext,
            )
            .map_err(|_| RoomError::Invalid("groupInfoPublicKey is not a valid HPKE key".into()))?;
        let mut success = GroupInfoSuccess {
            cipher_suite: request.cipher_suite,
            hub_sender: ctx.hub.external_sender(),
            encrypted_groupinfo_and_tree: encrypted,
            signature: Vec::new().into(),
        };
        let tbs = GroupInfoResponse::tbs_bytes(Protocol::Mls10, &room_id, &success)?;
        let signature = ctx
            .hub
            .signer
            .sign(&sign_content(GROUP_INFO_RESPONSE_LABEL, &tbs)?)
            .map_err(|e| RoomError::Internal(format!("signing: {e:?}")))?;
        success.signature = signature.into();
        Ok(GroupInfoResponse {
            protocol: Protocol::Mls10,
            room_id,
            outcome: GroupInfoOutcome::Success(success),
        })
    }
}
