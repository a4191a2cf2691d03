//! Fanout: `POST /notify/{roomId}` (protocol-06 §5.5).

use openmls::prelude::{ContentType, WireFormat};
use tls_codec::{Deserialize, Serialize, Size};

use super::codec::{decode_error, invalid};
use super::mls::MlsMessage;
use super::ratchet_tree::RatchetTreeOption;
use super::submit::Frank;
use super::update::decode_proposal_list;
use crate::Error;

/// Most `FanoutMessage`s accepted in one `/notify` body.
pub const MAX_FANOUT_BATCH: usize = 4096;

/// The message of a [`FanoutMessage`] with what travels beside it.
///
/// The draft's `select (message.wire_format)` mixes wire formats and content types; it is
/// decoded by wire format (Welcome) and, for framed messages, by content type.
#[derive(Debug, Clone, PartialEq)]
pub enum FanoutPayload {
    /// An application message (PrivateMessage), franked if the sender asked for it.
    Application {
        /// The PrivateMessage.
        message: MlsMessage,
        /// The hub's frank.
        frank: Option<Frank>,
    },
    /// A Welcome, with how to get the ratchet tree.
    Welcome {
        /// The Welcome (an `MLSMessage`).
        message: MlsMessage,
        /// How the joiner obtains the tree.
        ratchet_tree: RatchetTreeOption,
    },
    /// A proposal with the other proposals of its bundle (protocol-06 §5.5: identical to the
    /// HandshakeBundle's `moreProposals`).
    Proposal {
        /// The PublicMessage proposal.
        message: MlsMessage,
        /// The bundle's other proposals.
        more_proposals: Vec<MlsMessage>,
    },
    /// A commit, with replacement proposals the hub stapled after an external commit.
    Commit {
        /// The PublicMessage commit.
        message: MlsMessage,
        /// The hub's replacement proposals for the new epoch.
        external_proposals: Vec<MlsMessage>,
    },
}

impl FanoutPayload {
    /// The MLS message.
    pub fn message(&self) -> &MlsMessage {
        match self {
            FanoutPayload::Application { message, .. }
            | FanoutPayload::Welcome { message, .. }
            | FanoutPayload::Proposal { message, .. }
            | FanoutPayload::Commit { message, .. } => message,
        }
    }
}

/// `FanoutMessage`: one message the hub distributes.
#[derive(Debug, Clone, PartialEq)]
pub struct FanoutMessage {
    /// Hub acceptance time (ms since the UNIX epoch).
    pub timestamp: u64,
    /// The message and its companions.
    pub payload: FanoutPayload,
}

impl FanoutMessage {
    /// Decode a `/notify` body: one or more concatenated `FanoutMessage`s (protocol-06 §5.5),
    /// at most [`MAX_FANOUT_BATCH`], the body at most `limit` bytes.
    pub fn decode_batch(bytes: &[u8], limit: usize) -> Result<Vec<FanoutMessage>, Error> {
        const NAME: &str = "FanoutMessage";
        if bytes.len() > limit {
            return Err(Error::TooLarge {
                what: NAME,
                len: bytes.len(),
                limit,
            });
        }
        if bytes.is_empty() {
            return Err(Error::Decode {
                what: NAME,
                reason: "empty body".into(),
            });
        }
        let mut out = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            if out.len() == MAX_FANOUT_BATCH {
                return Err(Error::Decode {
                    what: NAME,
                    reason: format!("more than {MAX_FANOUT_BATCH} messages in one body"),
                });
            }
            let message =
                FanoutMessage::tls_deserialize(&mut rest).map_err(|e| decode_error(NAME, e))?;
            out.push(message);
        }
        Ok(out)
    }

    /// Encode several messages as one `/notify` body.
    pub fn encode_batch(messages: &[FanoutMessage]) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(messages.iter().map(Size::tls_serialized_len).sum());
        for m in messages {
            m.tls_serialize(&mut out).map_err(|e| Error::Encode {
                what: "FanoutMessage",
                reason: super::codec::describe(&e),
            })?;
        }
        Ok(out)
    }
}

impl Size for FanoutMessage {
    fn tls_serialized_len(&self) -> usize {
        8 + match &self.payload {
            FanoutPayload::Application { message, frank } => {
                message.tls_serialized_len() + frank.tls_serialized_len()
            }
            FanoutPayload::Welcome {
                message,
                ratchet_tree,
            } => message.tls_serialized_len() + ratchet_tree.tls_serialized_len(),
            FanoutPayload::Proposal {
                message,
                more_proposals: list,
            }
            | FanoutPayload::Commit {
                message,
                external_proposals: list,
            } => message.tls_serialized_len() + list.tls_serialized_len(),
        }
    }
}

impl Serialize for FanoutMessage {
    fn tls_serialize<W: std::io::Write>(&self, writer: &mut W) -> Result<usize, tls_codec::Error> {
        let n = self.timestamp.tls_serialize(writer)?;
        Ok(n + match &self.payload {
            FanoutPayload::Application { message, frank } => {
                message.tls_serialize(writer)? + frank.tls_serialize(writer)?
            }
            FanoutPayload::Welcome {
                message,
                ratchet_tree,
            } => message.tls_serialize(writer)? + ratchet_tree.tls_serialize(writer)?,
            FanoutPayload::Proposal {
                message,
                more_proposals: list,
            }
            | FanoutPayload::Commit {
                message,
                external_proposals: list,
            } => message.tls_serialize(writer)? + list.tls_serialize(writer)?,
        })
    }
}

impl Deserialize for FanoutMessage {
    fn tls_deserialize<R: std::io::Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        let timestamp = u64::tls_deserialize(bytes)?;
        let message = MlsMessage::tls_deserialize(bytes)?;
        let payload = match (message.wire_format(), message.content_type()) {
            (WireFormat::PrivateMessage, Some(ContentType::Application)) => {
                let frank = Option::<Frank>::tls_deserialize(bytes)?;
                FanoutPayload::Application { message, frank }
            }
            (WireFormat::Welcome, _) => {
                let ratchet_tree = RatchetTreeOption::tls_deserialize(bytes)?;
                FanoutPayload::Welcome {
                    message,
                    ratchet_tree,
                }
            }
            (WireFormat::PublicMessage, Some(ContentType::Proposal)) => {
                let more_proposals = decode_proposal_list(bytes)?;
                FanoutPayload::Proposal {
                    message,
                    more_proposals,
                }
            }
            (WireFormat::PublicMessage, Some(ContentType::Commit)) => {
                let external_proposals = decode_proposal_list(bytes)?;
                FanoutPayload::Commit {
                    message,
                    external_proposals,
                }
            }
            (wf, ct) => {
                return Err(invalid(format!(
                    "cannot fan out a {wf:?} message with content {ct:?}"
                )));
            }
        };
        Ok(FanoutMessage { timestamp, payload })
    }
}

impl super::codec::WireMessage for FanoutMessage {
    const NAME: &'static str = "FanoutMessage";
}
