//! Consent: `POST /requestConsent/{targetDomain}` and `POST /updateConsent/{requesterDomain}`
//! (protocol-06 §5.7).

use openmls::prelude::AppDataDictionary;
use tls_codec::{Deserialize, Serialize, Size, TlsDeserialize, TlsSerialize, TlsSize};

use super::codec::WireMessage;
use super::common::IdentifierUri;
use super::mls::KeyPackage;

/// `ConsentOperation` code on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, TlsSize, TlsSerialize, TlsDeserialize)]
#[repr(u8)]
pub enum ConsentOperationCode {
    /// Withdraw an earlier request (same scope).
    Cancel = 0,
    /// Ask the target for consent.
    Request = 1,
    /// Grant consent.
    Grant = 2,
    /// Revoke (or pre-emptively deny) consent.
    Revoke = 3,
}

/// The operation of a [`ConsentEntry`], with the KeyPackages a grant carries.
#[derive(Debug, Clone, PartialEq)]
pub enum ConsentOperation {
    /// `cancel`: sent with `requestConsent`.
    Cancel,
    /// `request`: sent with `requestConsent`.
    Request,
    /// `grant`: sent with `updateConsent`, with KeyPackages of the target's clients (may be
    /// empty).
    Grant {
        /// The target's clients' KeyPackages.
        client_key_packages: Vec<KeyPackage>,
    },
    /// `revoke`: sent with `updateConsent`.
    Revoke,
}

impl ConsentOperation {
    /// The code on the wire.
    pub fn code(&self) -> ConsentOperationCode {
        match self {
            ConsentOperation::Cancel => ConsentOperationCode::Cancel,
            ConsentOperation::Request => ConsentOperationCode::Request,
            ConsentOperation::Grant { .. } => ConsentOperationCode::Grant,
            ConsentOperation::Revoke => ConsentOperationCode::Revoke,
        }
    }
}

/// `ConsentEntry`.
///
/// `RoomId` is not defined by the draft; it is read as an `IdentifierUri` (docs/decisions).
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentEntry {
    /// The operation.
    pub operation: ConsentOperation,
    /// The user asking for consent.
    pub requester_uri: IdentifierUri,
    /// The user whose consent is asked.
    pub target_uri: IdentifierUri,
    /// The room the consent is limited to, if any.
    pub room_id: Option<IdentifierUri>,
    /// Extension point (protocol-06 §5.7).
    pub consent_extensions: AppDataDictionary,
}

impl ConsentEntry {
    /// The scope of this entry.
    pub fn scope(&self) -> ConsentScope {
        ConsentScope {
            requester_uri: self.requester_uri.clone(),
            target_uri: self.target_uri.clone(),
            room_id: self.room_id.clone(),
        }
    }
}

impl Size for ConsentEntry {
    fn tls_serialized_len(&self) -> usize {
        1 + self.requester_uri.tls_serialized_len()
            + self.target_uri.tls_serialized_len()
            + self.room_id.tls_serialized_len()
            + match &self.operation {
                ConsentOperation::Grant {
                    client_key_packages,
                } => client_key_packages.tls_serialized_len(),
                _ => 0,
            }
            + self.consent_extensions.tls_serialized_len()
    }
}

impl Serialize for ConsentEntry {
    fn tls_serialize<W: std::io::Write>(&self, writer: &mut W) -> Result<usize, tls_codec::Error> {
        let mut n = self.operation.code().tls_serialize(writer)?;
        n += self.requester_uri.tls_serialize(writer)?;
        n += self.target_uri.tls_serialize(writer)?;
        n += self.room_id.tls_serialize(writer)?;
        if let ConsentOperation::Grant {
            client_key_packages,
        } = &self.operation
        {
            n += client_key_packages.tls_serialize(writer)?;
        }
        n += self.consent_extensions.tls_serialize(writer)?;
        Ok(n)
    }
}

impl Deserialize for ConsentEntry {
    fn tls_deserialize<R: std::io::Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        let code = ConsentOperationCode::tls_deserialize(bytes)?;
        let requester_uri = IdentifierUri::tls_deserialize(bytes)?;
        let target_uri = IdentifierUri::tls_deserialize(bytes)?;
        let room_id = Option::<IdentifierUri>::tls_deserialize(bytes)?;
        let operation = match code {
            ConsentOperationCode::Cancel => ConsentOperation::Cancel,
            ConsentOperationCode::Request => ConsentOperation::Request,
            ConsentOperationCode::Revoke => ConsentOperation::Revoke,
            ConsentOperationCode::Grant => {
                let client_key_packages = Vec::<KeyPackage>::tls_deserialize(bytes)?;
                ConsentOperation::Grant {
                    client_key_packages,
                }
            }
        };
        let consent_extensions = AppDataDictionary::tls_deserialize(bytes)?;
        Ok(ConsentEntry {
            operation,
            requester_uri,
            target_uri,
            room_id,
            consent_extensions,
        })
    }
}

impl WireMessage for ConsentEntry {
    const NAME: &'static str = "ConsentEntry";
}

/// `ConsentScope`: who asks whom, optionally for which room.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct ConsentScope {
    /// The requester.
    pub requester_uri: IdentifierUri,
    /// The target.
    pub target_uri: IdentifierUri,
    /// The room, if the consent is per room.
    pub room_id: Option<IdentifierUri>,
}
