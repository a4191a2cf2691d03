//! A client's whole state as plain data, to keep on disk between runs and restore: the
//! OpenMLS key-value storage (groups, key packages, the signature key), the credential, the
//! rooms joined and the messages sent but not yet seen back in fanout.

use mimi_room::profile;
use mimi_types::id::{ClientUri, RoomUri, UserUri};
use openmls::prelude::{Credential, GroupId, MlsGroup, OpenMlsProvider};
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;
use tls_codec::{Deserialize as _, Serialize as _};

use crate::MimiClient;
use crate::error::{ClientError, mls};

/// Everything a [`MimiClient`] holds, as bytes and identifiers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientState {
    /// The client (device) URI.
    pub client: Option<ClientUri>,
    /// The user.
    pub user: Option<UserUri>,
    /// The MLS signature public key (the private half is in `storage`).
    pub signature_public_key: Vec<u8>,
    /// The TLS-encoded MLS credential the provider issued.
    pub credential: Vec<u8>,
    /// Joined rooms and their MLS group IDs.
    pub rooms: Vec<(RoomUri, Vec<u8>)>,
    /// Application messages sent and not yet seen back in fanout.
    pub sent: Vec<Vec<u8>>,
    /// OpenMLS storage: every key and value, sorted by key.
    pub storage: Vec<(Vec<u8>, Vec<u8>)>,
}

impl MimiClient {
    /// A copy of the whole client state.
    pub fn state(&self) -> Result<ClientState, ClientError> {
        let values = self
            .provider
            .storage()
            .values
            .read()
            .map_err(|_| ClientError::Invalid("client storage lock poisoned".into()))?;
        let mut storage: Vec<(Vec<u8>, Vec<u8>)> =
            values.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        storage.sort();
        let mut rooms: Vec<(RoomUri, Vec<u8>)> = self
            .rooms
            .iter()
            .map(|(room, group)| (room.clone(), group.group_id().as_slice().to_vec()))
            .collect();
        rooms.sort();
        let mut sent: Vec<Vec<u8>> = self.sent.iter().cloned().collect();
        sent.sort();
        Ok(ClientState {
            client: Some(self.client.clone()),
            user: Some(self.user.clone()),
            signature_public_key: self.signer.public().to_vec(),
            credential: self
                .credential
                .credential
                .tls_serialize_detached()
                .map_err(mls)?,
            rooms,
            sent,
            storage,
        })
    }

    /// A client restored from [`MimiClient::state`].
    pub fn restore(state: ClientState) -> Result<MimiClient, ClientError> {
        let missing = |what: &str| ClientError::Invalid(format!("client state: no {what}"));
        let client = state.client.ok_or_else(|| missing("client URI"))?;
        let user = state.user.ok_or_else(|| missing("user URI"))?;
        let provider = OpenMlsRustCrypto::default();
        provider
            .storage()
            .values
            .write()
            .map_err(|_| ClientError::Invalid("client storage lock poisoned".into()))?
            .extend(state.storage);
        let signer = SignatureKeyPair::read(
            provider.storage(),
            &state.signature_public_key,
            profile::CIPHERSUITE.signature_algorithm(),
        )
        .ok_or_else(|| missing("signature key"))?;
        let credential = Credential::tls_deserialize_exact(state.credential).map_err(mls)?;
        let mut rooms = std::collections::HashMap::new();
        for (room, group_id) in state.rooms {
            let group = MlsGroup::load(provider.storage(), &GroupId::from_slice(&group_id))
                .map_err(mls)?
                .ok_or_else(|| missing(&format!("MLS group for {room}")))?;
            rooms.insert(room, group);
        }
        let credential = openmls::prelude::CredentialWithKey {
            credential,
            signature_key: signer.public().into(),
        };
        Ok(MimiClient {
            provider,
            signer,
            credential,
            client,
            user,
            rooms,
            sent: state.sent.into_iter().collect(),
        })
    }
}
