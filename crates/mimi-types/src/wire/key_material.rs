//! Fetch key material: `POST /keyMaterial/{targetUser}` (protocol-06 §5.2).

use openmls::prelude::{
    Capabilities, Credential, RequiredCapabilitiesExtension, SignaturePublicKey,
    VerifiableCiphersuite,
};
use tls_codec::{Deserialize, Serialize, Size, TlsDeserialize, TlsSerialize, TlsSize, VLByteVec};

use super::codec::{WireMessage, encode_fields, invalid};
use super::common::{IdentifierUri, OptionalIdentifierUri, Protocol};
use super::mls::KeyPackage;

/// Label for the requester's signature (protocol-06 §5.2).
pub const KEY_MATERIAL_REQUEST_LABEL: &str = "KeyMaterialRequestTBS";

/// `KeyMaterialRequest`: claim one KeyPackage per client of `target_user`, for one room.
#[derive(Debug, Clone, PartialEq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct KeyMaterialRequest {
    /// Always `mls10`.
    pub protocol: Protocol,
    /// The user asking (at the requesting provider).
    pub requesting_user: IdentifierUri,
    /// The user whose clients' KeyPackages are claimed.
    pub target_user: IdentifierUri,
    /// The room the KeyPackages are for; protocol-06 §5.2: MUST be present when adding to a
    /// room. A zero-length URI (no room) is accepted and kept as `None`.
    pub room_id: OptionalIdentifierUri,
    /// Non-empty list of ciphersuites the requester accepts.
    pub acceptable_ciphersuites: Vec<VerifiableCiphersuite>,
    /// Capabilities every returned KeyPackage must have.
    pub required_capabilities: RequiredCapabilitiesExtension,
    /// The requester's signature key.
    pub requester_signature_key: SignaturePublicKey,
    /// The requester's credential.
    pub requester_credential: Credential,
    /// `SignWithLabel(requesterSignatureKey, "KeyMaterialRequestTBS", KeyMaterialRequestTBS)`.
    pub key_material_request_signature: VLByteVec,
}

impl KeyMaterialRequest {
    /// The encoded `KeyMaterialRequestTBS`: every field but the signature, in order.
    pub fn tbs_bytes(&self) -> Result<Vec<u8>, crate::Error> {
        encode_fields(&[
            &self.protocol,
            &self.requesting_user,
            &self.target_user,
            &self.room_id,
            &self.acceptable_ciphersuites,
            &self.required_capabilities,
            &self.requester_signature_key,
            &self.requester_credential,
        ])
    }
}

impl WireMessage for KeyMaterialRequest {
    const NAME: &'static str = "KeyMaterialRequest";
}

/// `KeyMaterialUserCode`: the outcome for the target user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, TlsSize, TlsSerialize, TlsDeserialize)]
#[repr(u8)]
pub enum KeyMaterialUserCode {
    /// Material for every client.
    Success = 0,
    /// Material for at least one client.
    PartialSuccess = 1,
    /// The provider or all clients do not support the protocol.
    IncompatibleProtocol = 2,
    /// No client has material compatible with the required capabilities.
    NoCompatibleMaterial = 3,
    /// No such user.
    UserUnknown = 4,
    /// The user has not consented (also usable instead of `userUnknown`, for privacy).
    NoConsent = 5,
    /// The user has not consented for this room.
    NoConsentForThisRoom = 6,
    /// The user was deleted.
    UserDeleted = 7,
}

/// `KeyMaterialClientCode`: the outcome for one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, TlsSize, TlsSerialize, TlsDeserialize)]
#[repr(u8)]
pub enum KeyMaterialClientCode {
    /// A KeyPackage is included.
    Success = 0,
    /// The client has no KeyPackage left.
    KeyMaterialExhausted = 1,
    /// The client has nothing compatible.
    NothingCompatible = 2,
}

/// What a [`ClientKeyMaterial`] carries, by client status.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMaterial {
    /// `success`: the claimed KeyPackage.
    Success(KeyPackage),
    /// `keyMaterialExhausted`.
    KeyMaterialExhausted,
    /// `nothingCompatible`, optionally with the client's capabilities (omitted for privacy).
    NothingCompatible(Option<Capabilities>),
}

impl ClientMaterial {
    /// The status code on the wire.
    pub fn code(&self) -> KeyMaterialClientCode {
        match self {
            ClientMaterial::Success(_) => KeyMaterialClientCode::Success,
            ClientMaterial::KeyMaterialExhausted => KeyMaterialClientCode::KeyMaterialExhausted,
            ClientMaterial::NothingCompatible(_) => KeyMaterialClientCode::NothingCompatible,
        }
    }
}

/// `ClientKeyMaterial`: one client's status and material.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientKeyMaterial {
    /// The client.
    pub client_uri: IdentifierUri,
    /// Status and material.
    pub material: ClientMaterial,
}

impl Size for ClientKeyMaterial {
    fn tls_serialized_len(&self) -> usize {
        1 + self.client_uri.tls_serialized_len()
            + match &self.material {
                ClientMaterial::Success(kp) => kp.tls_serialized_len(),
                ClientMaterial::KeyMaterialExhausted => 0,
                ClientMaterial::NothingCompatible(caps) => caps.tls_serialized_len(),
            }
    }
}

impl Serialize for ClientKeyMaterial {
    fn tls_serialize<W: std::io::Write>(&self, writer: &mut W) -> Result<usize, tls_codec::Error> {
        let mut n = self.material.code().tls_serialize(writer)?;
        n += self.client_uri.tls_serialize(writer)?;
        n += match &self.material {
            ClientMaterial::Success(kp) => kp.tls_serialize(writer)?,
            ClientMaterial::KeyMaterialExhausted => 0,
            ClientMaterial::NothingCompatible(caps) => caps.tls_serialize(writer)?,
        };
        Ok(n)
    }
}

impl Deserialize for ClientKeyMaterial {
    fn tls_deserialize<R: std::io::Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        let code = KeyMaterialClientCode::tls_deserialize(bytes)?;
        let client_uri = IdentifierUri::tls_deserialize(bytes)?;
        let material = match code {
            KeyMaterialClientCode::Success => {
                let kp = KeyPackage::tls_deserialize(bytes)?;
                ClientMaterial::Success(kp)
            }
            KeyMaterialClientCode::KeyMaterialExhausted => ClientMaterial::KeyMaterialExhausted,
            KeyMaterialClientCode::NothingCompatible => {
                let caps = Option::<Capabilities>::tls_deserialize(bytes)?;
                ClientMaterial::NothingCompatible(caps)
            }
        };
        Ok(ClientKeyMaterial {
            client_uri,
            material,
        })
    }
}

/// `KeyMaterialResponse`.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyMaterialResponse {
    /// Always `mls10`.
    pub protocol: Protocol,
    /// Outcome for the user.
    pub user_status: KeyMaterialUserCode,
    /// The target user.
    pub user_uri: IdentifierUri,
    /// Per-client outcomes.
    pub clients: Vec<ClientKeyMaterial>,
}

impl KeyMaterialResponse {
    /// The KeyPackages of the clients whose material was found, in order.
    pub fn key_packages(&self) -> Vec<KeyPackage> {
        self.clients
            .iter()
            .filter_map(|c| match &c.material {
                ClientMaterial::Success(kp) => Some(kp.clone()),
                _ => None,
            })
            .collect()
    }

    /// Check the response rules of protocol-06 §5.2 that a receiver can check alone.
    fn check(&self) -> Result<(), String> {
        use KeyMaterialUserCode as U;
        match self.user_status {
            // protocol-06 §5.2: "If the user code is success or partialSuccess, each client
            // is enumerated"; success means material for every client.
            U::Success => {
                if self
                    .clients
                    .iter()
                    .any(|c| !matches!(c.material, ClientMaterial::Success(_)))
                {
                    return Err("userStatus success but a client has no KeyPackage".into());
                }
            }
            U::PartialSuccess => {
                if !self
                    .clients
                    .iter()
                    .any(|c| matches!(c.material, ClientMaterial::Success(_)))
                {
                    return Err("userStatus partialSuccess but no client has a KeyPackage".into());
                }
            }
            // protocol-06 §5.2: noCompatibleMaterial MAY populate clients.
            U::NoCompatibleMaterial => {}
            // protocol-06 §5.2: "for any other user code, the provider MUST NOT populate
            // clients".
            _ => {
                if !self.clients.is_empty() {
                    return Err(format!(
                        "userStatus {:?} must not list clients",
                        self.user_status
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Size for KeyMaterialResponse {
    fn tls_serialized_len(&self) -> usize {
        self.protocol.tls_serialized_len()
            + self.user_status.tls_serialized_len()
            + self.user_uri.tls_serialized_len()
            + self.clients.tls_serialized_len()
    }
}

impl Serialize for KeyMaterialResponse {
    fn tls_serialize<W: std::io::Write>(&self, writer: &mut W) -> Result<usize, tls_codec::Error> {
        Ok(self.protocol.tls_serialize(writer)?
            + self.user_status.tls_serialize(writer)?
            + self.user_uri.tls_serialize(writer)?
            + self.clients.tls_serialize(writer)?)
    }
}

impl Deserialize for KeyMaterialResponse {
    fn tls_deserialize<R: std::io::Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        let protocol = Protocol::tls_deserialize(bytes)?;
        let user_status = KeyMaterialUserCode::tls_deserialize(bytes)?;
        let user_uri = IdentifierUri::tls_deserialize(bytes)?;
        let clients = Vec::<ClientKeyMaterial>::tls_deserialize(bytes)?;
        let response = KeyMaterialResponse {
            protocol,
            user_status,
            user_uri,
            clients,
        };
        response.check().map_err(invalid)?;
        Ok(response)
    }
}

impl WireMessage for KeyMaterialResponse {
    const NAME: &'static str = "KeyMaterialResponse";
}
