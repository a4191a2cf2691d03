//! MIMI client library: what a client does with OpenMLS in a MIMI room.
//!
//! A [`MimiClient`] holds one client's MLS state (OpenMLS groups, key packages, signature
//! key) and turns user intentions into protocol structs its provider forwards to the hub
//! (`UpdateRequest`, `SubmitMessageRequest`), and `FanoutMessage`s from the hub into
//! [`ClientEvent`]s. Room state changes always travel with their MLS changes: adding a user
//! commits the participant-list AppDataUpdate together with the MLS Adds (protocol-06 §5.3).
//!
//! ```text
//!  user action ──► MimiClient ──► UpdateRequest / SubmitMessageRequest ──► provider ──► hub
//!  hub ──► provider ──► FanoutMessage ──► MimiClient::process ──► ClientEvent (decrypted content)
//! ```
#![deny(missing_docs)]

pub mod discovery;
mod error;
pub mod ohttp;
pub mod remote;
mod requests;
mod room;
mod state;

pub use discovery::{DiscoveryClient, Found, Publication};
pub use error::ClientError;
pub use ohttp::Relay;
pub use openmls_basic_credential::SignatureKeyPair;
pub use remote::{EventStream, HubKeys, RemoteApi};
pub use requests::GroupInfoKey;
pub use room::{ClientEvent, JoinInfo};
pub use state::ClientState;

use std::collections::HashMap;

use mimi_room::profile;
use mimi_types::id::{ClientUri, MimiUri, RoomUri, UserUri};
use mimi_types::wire::KeyPackage;
use openmls::prelude::{Credential, CredentialWithKey, KeyPackage as OpenMlsKeyPackage, MlsGroup};
use openmls_rust_crypto::OpenMlsRustCrypto;
use tls_codec::Serialize as _;

use crate::error::mls;

/// One MIMI client (device) of one user.
pub struct MimiClient {
    provider: OpenMlsRustCrypto,
    signer: SignatureKeyPair,
    credential: CredentialWithKey,
    client: ClientUri,
    user: UserUri,
    rooms: HashMap<RoomUri, MlsGroup>,
    /// Application messages this client sent and may see again in fanout.
    sent: std::collections::HashSet<Vec<u8>>,
}

impl MimiClient {
    /// A client with a fresh Ed25519 signature key, certified by `certify`, which receives the
    /// raw public key and returns the credential its provider issued (e.g. an X.509 credential
    /// from the provider's client CA).
    pub fn new(
        client: ClientUri,
        user: UserUri,
        certify: impl FnOnce(&[u8]) -> Result<Credential, ClientError>,
    ) -> Result<Self, ClientError> {
        let signer = Self::new_signer()?;
        let credential = certify(signer.public())?;
        Self::from_parts(client, user, signer, credential)
    }

    /// A fresh Ed25519 MLS signature key pair (for a client whose provider certifies it
    /// asynchronously; then [`MimiClient::from_parts`]).
    pub fn new_signer() -> Result<SignatureKeyPair, ClientError> {
        SignatureKeyPair::new(profile::CIPHERSUITE.signature_algorithm()).map_err(mls)
    }

    /// A client from its signature key and the credential its provider issued for that key.
    pub fn from_parts(
        client: ClientUri,
        user: UserUri,
        signer: SignatureKeyPair,
        credential: Credential,
    ) -> Result<Self, ClientError> {
        let provider = OpenMlsRustCrypto::default();
        signer
            .store(openmls::prelude::OpenMlsProvider::storage(&provider))
            .map_err(mls)?;
        let credential = CredentialWithKey {
            credential,
            signature_key: signer.public().into(),
        };
        Ok(Self {
            provider,
            signer,
            credential,
            client,
            user,
            rooms: HashMap::new(),
            sent: std::collections::HashSet::new(),
        })
    }

    /// This client's URI.
    pub fn client_uri(&self) -> &ClientUri {
        &self.client
    }

    /// The user this client belongs to.
    pub fn user_uri(&self) -> &UserUri {
        &self.user
    }

    /// The user as a generic MIMI URI (participant lists hold users or pseudonyms).
    pub fn user(&self) -> MimiUri {
        self.user.clone().into()
    }

    /// The client's MLS credential and signature key.
    pub fn credential(&self) -> &CredentialWithKey {
        &self.credential
    }

    /// Fresh one-time KeyPackages for the provider to hand out through `/keyMaterial`
    /// (`last_resort` marks them reusable when all others are exhausted).
    pub fn key_packages(
        &self,
        count: usize,
        last_resort: bool,
    ) -> Result<Vec<KeyPackage>, ClientError> {
        (0..count)
            .map(|_| {
                let mut builder = OpenMlsKeyPackage::builder()
                    .leaf_node_capabilities(profile::leaf_capabilities());
                if last_resort {
                    builder = builder.mark_as_last_resort();
                }
                let bundle = builder
                    .build(
                        profile::CIPHERSUITE,
                        &self.provider,
                        &self.signer,
                        self.credential.clone(),
                    )
                    .map_err(mls)?;
                let bytes = bundle.key_package().tls_serialize_detached().map_err(mls)?;
                Ok(KeyPackage::from_bytes(bytes)?)
            })
            .collect()
    }

    /// The rooms this client is in.
    pub fn rooms(&self) -> impl Iterator<Item = &RoomUri> {
        self.rooms.keys()
    }
}
