//! Claim group key information: `POST /groupInfo/{roomId}` (protocol-06 §5.6).

use openmls::prelude::{
    Credential, ExternalSender, HpkeCiphertext, SignaturePublicKey, VerifiableCiphersuite,
};
use tls_codec::{Deserialize, Serialize, Size, TlsDeserialize, TlsSerialize, TlsSize, VLByteVec};

use super::codec::{WireMessage, encode_fields};
use super::common::{IdentifierUri, Protocol};
use super::mls::{GroupInfo, MlsMessage};
use super::ratchet_tree::RatchetTreeOption;

/// Label of the requester's signature.
pub const GROUP_INFO_REQUEST_LABEL: &str = "GroupInfoRequestTBS";
/// Label of the hub's signature on the response.
pub const GROUP_INFO_RESPONSE_LABEL: &str = "GroupInfoResponseTBS";
/// HPKE `EncryptWithLabel` label for the encrypted GroupInfo and tree.
pub const GROUP_INFO_ENCRYPTION_LABEL: &str = "GroupInfo and ratchet_tree encryption";

/// `GroupInfoRequest`: a would-be joiner asks the hub for the GroupInfo.
#[derive(Debug, Clone, PartialEq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct GroupInfoRequest {
    /// Always `mls10`.
    pub protocol: Protocol,
    /// A ciphersuite shared with the hub, used only to sign request and response.
    pub cipher_suite: VerifiableCiphersuite,
    /// The requester's signature key.
    pub requesting_signature_key: SignaturePublicKey,
    /// The requester's (real or pseudonymous) credential; the hub correlates it with the
    /// later external commit.
    pub requesting_credential: Credential,
    /// HPKE key the response is encrypted to.
    pub group_info_public_key: VLByteVec,
    /// Joining code (empty if none).
    pub joining_code: VLByteVec,
    /// `SignWithLabel(requestingSignatureKey, "GroupInfoRequestTBS", GroupInfoRequestTBS)`.
    pub signature: VLByteVec,
}

impl GroupInfoRequest {
    /// The encoded `GroupInfoRequestTBS`.
    ///
    /// The draft's TBS has `optional opaque joiningCode<V>` where the request has a plain
    /// vector; an empty joining code is signed as absent (docs/decisions).
    pub fn tbs_bytes(&self) -> Result<Vec<u8>, crate::Error> {
        let joining_code: Option<&VLByteVec> =
            (!self.joining_code.as_slice().is_empty()).then_some(&self.joining_code);
        encode_fields(&[
            &self.protocol,
            &self.cipher_suite,
            &self.requesting_signature_key,
            &self.requesting_credential,
            &self.group_info_public_key,
            &joining_code,
        ])
    }
}

impl WireMessage for GroupInfoRequest {
    const NAME: &'static str = "GroupInfoRequest";
}

/// `GroupInfoCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, TlsSize, TlsSerialize, TlsDeserialize)]
#[repr(u8)]
pub enum GroupInfoCode {
    /// The GroupInfo is enclosed.
    Success = 1,
    /// The requester may not join (also used to hide whether the room exists).
    NotAuthorized = 2,
    /// No such room.
    NoSuchRoom = 3,
}

/// `PendingProposal`: a proposal the hub accepted in the current epoch.
#[derive(Debug, Clone, PartialEq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct PendingProposal {
    /// The proposal.
    pub proposal: MlsMessage,
    /// When the hub accepted it (ms since the UNIX epoch).
    pub hub_accepted_time: u64,
}

/// `GroupInfoRatchetTreeTBE`: the plaintext encrypted to the requester.
#[derive(Debug, Clone, PartialEq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct GroupInfoRatchetTreeTbe {
    /// The GroupInfo without an embedded ratchet_tree.
    pub group_info: GroupInfo,
    /// How to get the tree.
    pub ratchet_tree_option: RatchetTreeOption,
    /// Valid pending proposals of the current epoch.
    pub pending_proposals: Vec<PendingProposal>,
}

/// The fields of a successful [`GroupInfoResponse`].
#[derive(Debug, Clone, PartialEq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct GroupInfoSuccess {
    /// Ciphersuite of the request.
    pub cipher_suite: VerifiableCiphersuite,
    /// The hub as an MLS external sender; its key signs the response.
    pub hub_sender: ExternalSender,
    /// `EncryptWithLabel(groupInfoPublicKey, "GroupInfo and ratchet_tree encryption", room_id,
    /// GroupInfoRatchetTreeTBE)`.
    pub encrypted_groupinfo_and_tree: HpkeCiphertext,
    /// `SignWithLabel(hub_sender.signature_key, "GroupInfoResponseTBS", GroupInfoResponseTBS)`.
    pub signature: VLByteVec,
}

/// The status-specific part of a [`GroupInfoResponse`].
#[derive(Debug, Clone, PartialEq)]
pub enum GroupInfoOutcome {
    /// `success`.
    Success(GroupInfoSuccess),
    /// `notAuthorized`.
    NotAuthorized,
    /// `noSuchRoom`.
    NoSuchRoom,
}

impl GroupInfoOutcome {
    /// The status code on the wire.
    pub fn code(&self) -> GroupInfoCode {
        match self {
            GroupInfoOutcome::Success(_) => GroupInfoCode::Success,
            GroupInfoOutcome::NotAuthorized => GroupInfoCode::NotAuthorized,
            GroupInfoOutcome::NoSuchRoom => GroupInfoCode::NoSuchRoom,
        }
    }
}

/// `GroupInfoResponse`.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupInfoResponse {
    /// Always `mls10` (the draft names this field `version`).
    pub protocol: Protocol,
    /// The room (`opaque room_id<V>`, the room URI).
    pub room_id: IdentifierUri,
    /// Status and, on success, the encrypted GroupInfo.
    pub outcome: GroupInfoOutcome,
}

impl GroupInfoResponse {
    /// The encoded `GroupInfoResponseTBS` for a successful response (the fields before the
    /// signature).
    pub fn tbs_bytes(
        protocol: Protocol,
        room_id: &IdentifierUri,
        success: &GroupInfoSuccess,
    ) -> Result<Vec<u8>, crate::Error> {
        encode_fields(&[
            &protocol,
            room_id,
            &GroupInfoCode::Success,
            &success.cipher_suite,
            &success.hub_sender,
            &success.encrypted_groupinfo_and_tree,
        ])
    }
}

impl Size for GroupInfoResponse {
    fn tls_serialized_len(&self) -> usize {
        2 + self.room_id.tls_serialized_len()
            + match &self.outcome {
                GroupInfoOutcome::Success(s) => s.tls_serialized_len(),
                _ => 0,
            }
    }
}

impl Serialize for GroupInfoResponse {
    fn tls_serialize<W: std::io::Write>(&self, writer: &mut W) -> Result<usize, tls_codec::Error> {
        let mut n = self.protocol.tls_serialize(writer)?;
        n += self.room_id.tls_serialize(writer)?;
        n += self.outcome.code().tls_serialize(writer)?;
        if let GroupInfoOutcome::Success(s) = &self.outcome {
            n += s.tls_serialize(writer)?;
        }
        Ok(n)
    }
}

impl Deserialize for GroupInfoResponse {
    fn tls_deserialize<R: std::io::Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        let protocol = Protocol::tls_deserialize(bytes)?;
        let room_id = IdentifierUri::tls_deserialize(bytes)?;
        let code = GroupInfoCode::tls_deserialize(bytes)?;
        let outcome = match code {
            GroupInfoCode::Success => {
                let s = GroupInfoSuccess::tls_deserialize(bytes)?;
                GroupInfoOutcome::Success(s)
            }
            GroupInfoCode::NotAuthorized => GroupInfoOutcome::NotAuthorized,
            GroupInfoCode::NoSuchRoom => GroupInfoOutcome::NoSuchRoom,
        };
        Ok(GroupInfoResponse {
            protocol,
            room_id,
            outcome,
        })
    }
}

impl WireMessage for GroupInfoResponse {
    const NAME: &'static str = "GroupInfoResponse";
}
