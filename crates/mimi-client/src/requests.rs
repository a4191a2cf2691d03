//! Signed requests a client prepares for its provider to send: `/keyMaterial` and
//! `/groupInfo` (protocol-06 §5.2, §5.6), and opening the hub's GroupInfo response.

use mimi_room::profile::{self, CIPHERSUITE};
use mimi_types::id::{MimiUri, RoomUri, UserUri};
use mimi_types::wire::{
    GROUP_INFO_ENCRYPTION_LABEL, GROUP_INFO_REQUEST_LABEL, GROUP_INFO_RESPONSE_LABEL,
    GroupInfoOutcome, GroupInfoRatchetTreeTbe, GroupInfoRequest, GroupInfoResponse,
    KEY_MATERIAL_REQUEST_LABEL, KeyMaterialRequest, OptionalIdentifierUri, Protocol,
    RatchetTreeOption, sign_content,
};
use openmls::prelude::tls_codec::{Deserialize as _, Serialize as _};
use openmls::prelude::{OpenMlsCrypto, OpenMlsProvider, OpenMlsRand, VerifiableCiphersuite};
use openmls_traits::signatures::Signer;
use openmls_traits::types::HpkePrivateKey;

use crate::MimiClient;
use crate::error::{ClientError, mls};
use crate::room::JoinInfo;

/// The private half of the HPKE key a GroupInfo response is encrypted to.
pub struct GroupInfoKey {
    private: HpkePrivateKey,
    room: RoomUri,
}

impl MimiClient {
    /// `SignWithLabel(label, tbs)` with this client's signature key (RFC 9420 §5.1.2): for
    /// protocol-06 request signatures built or altered outside this library (the conformance
    /// suite signs requests an honest client would never send).
    pub fn sign_labeled(&self, label: &str, tbs: &[u8]) -> Result<Vec<u8>, ClientError> {
        self.signer.sign(&sign_content(label, tbs)?).map_err(mls)
    }

    /// A signed request for one KeyPackage per client of `target`, to add them to `room`.
    pub fn key_material_request(
        &self,
        target: &UserUri,
        room: &RoomUri,
    ) -> Result<KeyMaterialRequest, ClientError> {
        let mut request = KeyMaterialRequest {
            protocol: Protocol::Mls10,
            requesting_user: MimiUri::from(self.user.clone()).into(),
            target_user: MimiUri::from(target.clone()).into(),
            room_id: OptionalIdentifierUri(Some(MimiUri::from(room.clone()).into())),
            acceptable_ciphersuites: vec![VerifiableCiphersuite::from(CIPHERSUITE)],
            required_capabilities: match profile::required_capabilities() {
                openmls::prelude::Extension::RequiredCapabilities(r) => r,
                _ => return Err(ClientError::Invalid("required capabilities".into())),
            },
            requester_signature_key: self.credential.signature_key.clone(),
            requester_credential: self.credential.credential.clone(),
            key_material_request_signature: Vec::new().into(),
        };
        request.key_material_request_signature = self
            .sign_labeled(KEY_MATERIAL_REQUEST_LABEL, &request.tbs_bytes()?)?
            .into();
        Ok(request)
    }

    /// A signed `/groupInfo` request for `room`, and the key to open the response with.
    pub fn group_info_request(
        &self,
        room: &RoomUri,
    ) -> Result<(GroupInfoRequest, GroupInfoKey), ClientError> {
        let crypto = self.provider.crypto();
        let ikm = self.provider.rand().random_vec(32).map_err(mls)?;
        let pair = crypto
            .derive_hpke_keypair(CIPHERSUITE.hpke_config(), &ikm)
            .map_err(mls)?;
        let mut request = GroupInfoRequest {
            protocol: Protocol::Mls10,
            cipher_suite: VerifiableCiphersuite::from(CIPHERSUITE),
            requesting_signature_key: self.credential.signature_key.clone(),
            requesting_credential: self.credential.credential.clone(),
            group_info_public_key: pair.public.clone().into(),
            joining_code: Vec::new().into(),
            signature: Vec::new().into(),
        };
        request.signature = self
            .sign_labeled(GROUP_INFO_REQUEST_LABEL, &request.tbs_bytes()?)?
            .into();
        Ok((
            request,
            GroupInfoKey {
                private: pair.private,
                room: room.clone(),
            },
        ))
    }

    /// Verify the hub's signature on a GroupInfo response and decrypt what it carries.
    pub fn open_group_info(
        &self,
        response: &GroupInfoResponse,
        key: &GroupInfoKey,
    ) -> Result<JoinInfo, ClientError> {
        let GroupInfoOutcome::Success(success) = &response.outcome else {
            return Err(ClientError::Invalid(format!(
                "the hub refused: {:?}",
                response.outcome
            )));
        };
        if response.room_id.uri() != &MimiUri::from(key.room.clone()) {
            return Err(ClientError::Invalid("response for another room".into()));
        }
        let crypto = self.provider.crypto();
        let tbs = GroupInfoResponse::tbs_bytes(response.protocol, &response.room_id, success)?;
        let hub_key = success
            .hub_sender
            .tls_serialize_detached()
            .ok()
            .and_then(|b| {
                openmls::prelude::SignaturePublicKey::tls_deserialize(&mut b.as_slice()).ok()
            })
            .ok_or_else(|| ClientError::Invalid("hub sender".into()))?;
        crypto
            .verify_signature(
                CIPHERSUITE.signature_algorithm(),
                &sign_content(GROUP_INFO_RESPONSE_LABEL, &tbs)?,
                hub_key.as_slice(),
                success.signature.as_slice(),
            )
            .map_err(|_| ClientError::Invalid("the hub's signature does not verify".into()))?;
        let info = sign_content(
            GROUP_INFO_ENCRYPTION_LABEL,
            response.room_id.as_received().as_bytes(),
        )?;
        let plaintext = crypto
            .hpke_open(
                CIPHERSUITE.hpke_config(),
                &success.encrypted_groupinfo_and_tree,
                key.private.as_ref(),
                &info,
                &[],
            )
            .map_err(mls)?;
        let tbe = <GroupInfoRatchetTreeTbe as openmls::prelude::tls_codec::Deserialize>::tls_deserialize_exact(&plaintext)
            .map_err(mls)?;
        let RatchetTreeOption::Full(ratchet_tree) = tbe.ratchet_tree_option else {
            return Err(ClientError::Invalid("the hub sent no ratchet tree".into()));
        };
        Ok(JoinInfo {
            group_info: tbe.group_info,
            ratchet_tree,
            pending_proposals: tbe
                .pending_proposals
                .into_iter()
                .map(|p| p.proposal)
                .collect(),
        })
    }
}
