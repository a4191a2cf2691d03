//! Submit a message: `POST /submitMessage/{roomId}` (protocol-06 §5.4), and the franking
//! structs of §5.4.1.

use openmls::prelude::{Credential, SignaturePublicKey, VerifiableCiphersuite};
use tls_codec::{Deserialize, Serialize, Size, TlsDeserialize, TlsSerialize, TlsSize, VLByteVec};

use super::codec::{WireMessage, encode_fields};
use super::common::{IdentifierUri, Protocol};
use super::mls::MlsMessage;

/// Label of the hub's franking integrity signature (protocol-06 §5.4.1).
pub const FRANKING_INTEGRITY_LABEL: &str = "FrankingIntegrityTBS";

/// `SubmitMessageRequest`: a follower hands the hub an application message.
///
/// protocol-06 §5.4: `appMessage` MUST be a PrivateMessage with content type application;
/// decoding accepts any MLS message so the hub can answer `notAllowed` in protocol terms.
/// The draft names the field type `IdentifierURI`; it is `IdentifierUri`.
#[derive(Debug, Clone, PartialEq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct SubmitMessageRequest {
    /// Always `mls10`.
    pub protocol: Protocol,
    /// The PrivateMessage.
    pub app_message: MlsMessage,
    /// The sending user, an active participant.
    pub sending_uri: IdentifierUri,
}

impl WireMessage for SubmitMessageRequest {
    const NAME: &'static str = "SubmitMessageRequest";
}

/// `SubmitResponseCode` (the draft's select names case `success` for `accepted(0)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, TlsSize, TlsSerialize, TlsDeserialize)]
#[repr(u8)]
pub enum SubmitResponseCode {
    /// Accepted; the hub will distribute it.
    Accepted = 0,
    /// Refused (policy, not a participant, nonsensical input such as a future epoch).
    NotAllowed = 1,
    /// The message's epoch is too old.
    EpochTooOld = 2,
}

/// `Frank`: the hub's franking output for an application message.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct Frank {
    /// `HMAC_SHA256(hub_key, franking_tag || context)`.
    pub server_frank: [u8; 32],
    /// Ciphersuite whose signature algorithm made the integrity signature.
    pub franking_signature_ciphersuite: VerifiableCiphersuite,
    /// `SignWithLabel(franking_private_key, "FrankingIntegrityTBS", FrankingIntegrityTBS)`.
    pub franking_integrity_signature: VLByteVec,
}

/// The code-specific part of a [`SubmitMessageResponse`].
#[derive(Debug, Clone, PartialEq)]
pub enum SubmitOutcome {
    /// `accepted`.
    Accepted {
        /// Hub acceptance time (ms since the UNIX epoch).
        accepted_timestamp: u64,
        /// Present when the message carried a franking tag and the hub franked it.
        frank: Option<Frank>,
    },
    /// `notAllowed`.
    NotAllowed,
    /// `epochTooOld`, with the group's current epoch.
    EpochTooOld {
        /// The hub's current epoch.
        current_epoch: u64,
    },
}

impl SubmitOutcome {
    /// The status code on the wire.
    pub fn code(&self) -> SubmitResponseCode {
        match self {
            SubmitOutcome::Accepted { .. } => SubmitResponseCode::Accepted,
            SubmitOutcome::NotAllowed => SubmitResponseCode::NotAllowed,
            SubmitOutcome::EpochTooOld { .. } => SubmitResponseCode::EpochTooOld,
        }
    }
}

/// `SubmitMessageResponse`.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmitMessageResponse {
    /// Always `mls10`.
    pub protocol: Protocol,
    /// Code and code-specific fields.
    pub outcome: SubmitOutcome,
}

impl Size for SubmitMessageResponse {
    fn tls_serialized_len(&self) -> usize {
        2 + match &self.outcome {
            SubmitOutcome::Accepted { frank, .. } => 8 + frank.tls_serialized_len(),
            SubmitOutcome::NotAllowed => 0,
            SubmitOutcome::EpochTooOld { .. } => 8,
        }
    }
}

impl Serialize for SubmitMessageResponse {
    fn tls_serialize<W: std::io::Write>(&self, writer: &mut W) -> Result<usize, tls_codec::Error> {
        let mut n = self.protocol.tls_serialize(writer)?;
        n += self.outcome.code().tls_serialize(writer)?;
        n += match &self.outcome {
            SubmitOutcome::Accepted {
                accepted_timestamp,
                frank,
            } => accepted_timestamp.tls_serialize(writer)? + frank.tls_serialize(writer)?,
            SubmitOutcome::NotAllowed => 0,
            SubmitOutcome::EpochTooOld { current_epoch } => current_epoch.tls_serialize(writer)?,
        };
        Ok(n)
    }
}

impl Deserialize for SubmitMessageResponse {
    fn tls_deserialize<R: std::io::Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        let protocol = Protocol::tls_deserialize(bytes)?;
        let code = SubmitResponseCode::tls_deserialize(bytes)?;
        let outcome = match code {
            SubmitResponseCode::Accepted => {
                let accepted_timestamp = u64::tls_deserialize(bytes)?;
                let frank = Option::<Frank>::tls_deserialize(bytes)?;
                SubmitOutcome::Accepted {
                    accepted_timestamp,
                    frank,
                }
            }
            SubmitResponseCode::NotAllowed => SubmitOutcome::NotAllowed,
            SubmitResponseCode::EpochTooOld => {
                let current_epoch = u64::tls_deserialize(bytes)?;
                SubmitOutcome::EpochTooOld { current_epoch }
            }
        };
        Ok(SubmitMessageResponse { protocol, outcome })
    }
}

impl WireMessage for SubmitMessageResponse {
    const NAME: &'static str = "SubmitMessageResponse";
}

/// `FrankAAD`: the client's franking tag, a Safe AAD item (component `frank_aad`).
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct FrankAad {
    /// `HMAC_SHA256(salt, application_data)`.
    pub franking_tag: [u8; 32],
}

/// `FrankingAgentData`: the hub's franking key, a GroupContext component (`franking_agent`).
#[derive(Debug, Clone, PartialEq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct FrankingAgentData {
    /// Key that verifies franking integrity signatures.
    pub franking_signature_key: SignaturePublicKey,
    /// The franking agent's credential (its domain must be the hub's).
    pub credential: Credential,
}

/// `ServerFrankingContext`: what the hub binds into the server frank.
#[derive(Debug, Clone, PartialEq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct ServerFrankingContext {
    /// The sending user.
    pub sender_uri: IdentifierUri,
    /// The room.
    pub room_uri: IdentifierUri,
    /// Hub acceptance time (ms since the UNIX epoch).
    pub accepted_timestamp: u64,
}

impl ServerFrankingContext {
    /// `franking_tag || context`, the HMAC input of `server_frank` (protocol-06 §5.4.1;
    /// `||` read as concatenation with the TLS-encoded context).
    pub fn server_frank_input(&self, franking_tag: &[u8; 32]) -> Result<Vec<u8>, crate::Error> {
        encode_fields(&[franking_tag, self])
    }
}

/// `FrankingIntegrityTBS`: what the franking integrity signature covers.
#[derive(Debug, Clone, PartialEq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct FrankingIntegrityTbs {
    /// The server frank.
    pub server_frank: [u8; 32],
    /// Ciphersuite of the signature.
    pub franking_signature_ciphersuite: VerifiableCiphersuite,
    /// The franking context.
    pub context: ServerFrankingContext,
}
