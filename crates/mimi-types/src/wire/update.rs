//! Update room state: `POST /update/{roomId}` (protocol-06 §5.3).

use openmls::ciphersuite::hash_ref::ProposalRef;
use openmls::prelude::{ContentType, WireFormat};
use tls_codec::{Deserialize, Serialize, Size, TlsDeserialize, TlsSerialize, TlsSize};

use super::codec::{WireMessage, invalid};
use super::common::Utf8String;
use super::mls::{GroupInfo, MlsMessage, Welcome};
use super::ratchet_tree::{PartialGroupInfo, RatchetTreeOption};

/// `GroupInfoOption`: the new epoch's GroupInfo, whole or partial.
#[derive(Debug, Clone, PartialEq, TlsSize, TlsSerialize, TlsDeserialize)]
#[repr(u8)]
pub enum GroupInfoOption {
    /// `full(1)`: a whole GroupInfo (without ratchet_tree).
    #[tls_codec(discriminant = 1)]
    Full(GroupInfo),
    /// `partial(2)`: the hub reconstructs the GroupInfo.
    #[tls_codec(discriminant = 2)]
    Partial(PartialGroupInfo),
}

/// `HandshakeBundle`: a commit with what joiners need, or one or more proposals.
///
/// Handshakes must be PublicMessages (protocol-06 §5.3 also allows SemiPrivateMessage, which
/// has no MLS wire-format code point yet and so cannot be decoded; see docs/decisions).
#[derive(Debug, Clone, PartialEq)]
pub enum HandshakeBundle {
    /// `proposalOrCommit` is a commit.
    Commit {
        /// The commit (PublicMessage).
        commit: MlsMessage,
        /// A Welcome for added members; the Welcome omits the ratchet tree.
        welcome: Option<Welcome>,
        /// The new epoch's GroupInfo.
        group_info: GroupInfoOption,
        /// How joiners obtain the ratchet tree.
        ratchet_tree: RatchetTreeOption,
    },
    /// `proposalOrCommit` is a proposal, with possibly more proposals.
    Proposals {
        /// The first proposal (PublicMessage).
        proposal: MlsMessage,
        /// Additional proposals, each a PublicMessage proposal.
        more_proposals: Vec<MlsMessage>,
    },
}

/// Check that an MLS message is a PublicMessage proposal or commit and return its content
/// type.
fn handshake_content_type(message: &MlsMessage) -> Result<ContentType, tls_codec::Error> {
    match (message.wire_format(), message.content_type()) {
        (WireFormat::PublicMessage, Some(ct @ (ContentType::Proposal | ContentType::Commit))) => {
            Ok(ct)
        }
        (WireFormat::PublicMessage, _) => Err(invalid(
            "handshake is a PublicMessage without a proposal or commit",
        )),
        (wf, _) => Err(invalid(format!(
            "handshake must be a PublicMessage (protocol-06 §5.3), got {wf:?}"
        ))),
    }
}

/// Decode a vector of MLS messages that must each be PublicMessage proposals.
pub(crate) fn decode_proposal_list<R: std::io::Read>(
    bytes: &mut R,
) -> Result<Vec<MlsMessage>, tls_codec::Error> {
    let list = Vec::<MlsMessage>::tls_deserialize(bytes)?;
    for m in &list {
        if handshake_content_type(m)? != ContentType::Proposal {
            return Err(invalid("a proposal list holds a commit"));
        }
    }
    Ok(list)
}

impl Size for HandshakeBundle {
    fn tls_serialized_len(&self) -> usize {
        match self {
            HandshakeBundle::Commit {
                commit,
                welcome,
                group_info,
                ratchet_tree,
            } => {
                commit.tls_serialized_len()
                    + welcome.tls_serialized_len()
                    + group_info.tls_serialized_len()
                    + ratchet_tree.tls_serialized_len()
            }
            HandshakeBundle::Proposals {
                proposal,
                more_proposals,
            } => proposal.tls_serialized_len() + more_proposals.tls_serialized_len(),
        }
    }
}

impl Serialize for HandshakeBundle {
    fn tls_serialize<W: std::io::Write>(&self, writer: &mut W) -> Result<usize, tls_codec::Error> {
        match self {
            HandshakeBundle::Commit {
                commit,
                welcome,
                group_info,
                ratchet_tree,
            } => Ok(commit.tls_serialize(writer)?
                + welcome.tls_serialize(writer)?
                + group_info.tls_serialize(writer)?
                + ratchet_tree.tls_serialize(writer)?),
            HandshakeBundle::Proposals {
                proposal,
                more_proposals,
            } => Ok(proposal.tls_serialize(writer)? + more_proposals.tls_serialize(writer)?),
        }
    }
}

impl Deserialize for HandshakeBundle {
    fn tls_deserialize<R: std::io::Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        let first = MlsMessage::tls_deserialize(bytes)?;
        match handshake_content_type(&first)? {
            ContentType::Commit => {
                let welcome = Option::<Welcome>::tls_deserialize(bytes)?;
                let group_info = GroupInfoOption::tls_deserialize(bytes)?;
                let ratchet_tree = RatchetTreeOption::tls_deserialize(bytes)?;
                Ok(HandshakeBundle::Commit {
                    commit: first,
                    welcome,
                    group_info,
                    ratchet_tree,
                })
            }
            _ => {
                let more_proposals = decode_proposal_list(bytes)?;
                Ok(HandshakeBundle::Proposals {
                    proposal: first,
                    more_proposals,
                })
            }
        }
    }
}

/// `UpdateRequest`: `select (room.protocol) { case mls10: HandshakeBundle bundle; }`.
///
/// The protocol is the room's and is not transmitted, so the body is the bundle alone.
#[derive(Debug, Clone, PartialEq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct UpdateRequest {
    /// The handshake bundle.
    pub bundle: HandshakeBundle,
}

impl WireMessage for UpdateRequest {
    const NAME: &'static str = "UpdateRequest";
}

/// `UpdateResponseCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, TlsSize, TlsSerialize, TlsDeserialize)]
#[repr(u8)]
pub enum UpdateResponseCode {
    /// Accepted; the hub will distribute it.
    Success = 0,
    /// The hub is at a different epoch.
    WrongEpoch = 1,
    /// Refused by policy or authorization.
    NotAllowed = 2,
    /// One or more proposals are invalid.
    InvalidProposal = 3,
}

/// The code-specific part of an [`UpdateRoomResponse`].
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateOutcome {
    /// `success`, with the hub acceptance time in ms since the UNIX epoch.
    Success {
        /// Hub acceptance time (ms since the UNIX epoch).
        accepted_timestamp: u64,
    },
    /// `wrongEpoch`, with the group's current epoch.
    WrongEpoch {
        /// The hub's current epoch for the group.
        current_epoch: u64,
    },
    /// `notAllowed`.
    NotAllowed,
    /// `invalidProposal`, listing the offending proposals.
    InvalidProposal {
        /// References of the invalid proposals.
        invalid_proposals: Vec<ProposalRef>,
    },
}

impl UpdateOutcome {
    /// The response code on the wire.
    pub fn code(&self) -> UpdateResponseCode {
        match self {
            UpdateOutcome::Success { .. } => UpdateResponseCode::Success,
            UpdateOutcome::WrongEpoch { .. } => UpdateResponseCode::WrongEpoch,
            UpdateOutcome::NotAllowed => UpdateResponseCode::NotAllowed,
            UpdateOutcome::InvalidProposal { .. } => UpdateResponseCode::InvalidProposal,
        }
    }
}

/// `UpdateRoomResponse`.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateRoomResponse {
    /// Human-readable detail (may be empty).
    pub error_description: Utf8String,
    /// Code and code-specific fields.
    pub outcome: UpdateOutcome,
}

impl Size for UpdateRoomResponse {
    fn tls_serialized_len(&self) -> usize {
        1 + self.error_description.tls_serialized_len()
            + match &self.outcome {
                UpdateOutcome::Success { .. } | UpdateOutcome::WrongEpoch { .. } => 8,
                UpdateOutcome::NotAllowed => 0,
                UpdateOutcome::InvalidProposal { invalid_proposals } => {
                    invalid_proposals.tls_serialized_len()
                }
            }
    }
}

impl Serialize for UpdateRoomResponse {
    fn tls_serialize<W: std::io::Write>(&self, writer: &mut W) -> Result<usize, tls_codec::Error> {
        let mut n = self.outcome.code().tls_serialize(writer)?;
        n += self.error_description.tls_serialize(writer)?;
        n += match &self.outcome {
            UpdateOutcome::Success { accepted_timestamp } => {
                accepted_timestamp.tls_serialize(writer)?
            }
            UpdateOutcome::WrongEpoch { current_epoch } => current_epoch.tls_serialize(writer)?,
            UpdateOutcome::NotAllowed => 0,
            UpdateOutcome::InvalidProposal { invalid_proposals } => {
                invalid_proposals.tls_serialize(writer)?
            }
        };
        Ok(n)
    }
}

impl Deserialize for UpdateRoomResponse {
    fn tls_deserialize<R: std::io::Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        let code = UpdateResponseCode::tls_deserialize(bytes)?;
        let error_description = Utf8String::tls_deserialize(bytes)?;
        let outcome = match code {
            UpdateResponseCode::Success => {
                let accepted_timestamp = u64::tls_deserialize(bytes)?;
                UpdateOutcome::Success { accepted_timestamp }
            }
            UpdateResponseCode::WrongEpoch => {
                let current_epoch = u64::tls_deserialize(bytes)?;
                UpdateOutcome::WrongEpoch { current_epoch }
            }
            UpdateResponseCode::NotAllowed => UpdateOutcome::NotAllowed,
            UpdateResponseCode::InvalidProposal => {
                let invalid_proposals = Vec::<ProposalRef>::tls_deserialize(bytes)?;
                UpdateOutcome::InvalidProposal { invalid_proposals }
            }
        };
        Ok(UpdateRoomResponse {
            error_description,
            outcome,
        })
    }
}

impl WireMessage for UpdateRoomResponse {
    const NAME: &'static str = "UpdateRoomResponse";
}
