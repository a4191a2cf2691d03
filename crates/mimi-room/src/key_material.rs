//! A provider's KeyPackages for its own clients, and `/keyMaterial` claims against them
//! (protocol-06 §5.2): every KeyPackage is handed out once (last-resort ones excepted), never
//! when expired, only when compatible with the requester's ciphersuites and capabilities.

use std::collections::{BTreeMap, VecDeque};

use mimi_types::id::{ClientUri, MimiUri};
use mimi_types::wire::{
    ClientKeyMaterial, ClientMaterial, KEY_MATERIAL_REQUEST_LABEL, KeyMaterialRequest,
    KeyMaterialResponse, KeyMaterialUserCode, KeyPackage, Protocol, sign_content,
};
use openmls::prelude::{KeyPackage as VerifiedKeyPackage, OpenMlsCrypto, ProtocolVersion};

use crate::RoomError;
use crate::profile::CIPHERSUITE;

#[derive(Debug, Default)]
struct ClientKeys {
    one_time: VecDeque<(KeyPackage, VerifiedKeyPackage)>,
    last_resort: Option<(KeyPackage, VerifiedKeyPackage)>,
}

/// What a claim handed out, for the caller to persist and to route the Welcome later.
#[derive(Debug)]
pub struct Claimed {
    /// The response body.
    pub response: KeyMaterialResponse,
    /// (KeyPackageRef, client) of every KeyPackage handed out.
    pub handed_out: Vec<(Vec<u8>, ClientUri)>,
}

/// A provider's KeyPackage store.
#[derive(Debug, Default)]
pub struct KeyPackageStore {
    users: BTreeMap<MimiUri, BTreeMap<ClientUri, ClientKeys>>,
}

impl KeyPackageStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Publish a client's KeyPackages (checked: signature, ciphersuite, and the credential's
    /// key is the leaf's). A last-resort KeyPackage replaces the previous one.
    pub fn publish(
        &mut self,
        crypto: &impl OpenMlsCrypto,
        user: MimiUri,
        client: ClientUri,
        key_packages: Vec<KeyPackage>,
    ) -> Result<(), RoomError> {
        let keys = self
            .users
            .entry(user)
            .or_default()
            .entry(client)
            .or_default();
        for kp in key_packages {
            let verified = kp
                .parse()?
                .validate(crypto, ProtocolVersion::Mls10)
                .map_err(|e| RoomError::Invalid(format!("KeyPackage: {e:?}")))?;
            if verified.last_resort() {
                keys.last_resort = Some((kp, verified));
            } else {
                keys.one_time.push_back((kp, verified));
            }
        }
        Ok(())
    }

    /// Number of unclaimed one-time KeyPackages of a client.
    pub fn remaining(&self, user: &MimiUri, client: &ClientUri) -> usize {
        self.users
            .get(user)
            .and_then(|c| c.get(client))
            .map_or(0, |k| k.one_time.len())
    }

    /// Answer a `/keyMaterial` request for `target` (a user of this provider). `consent`
    /// says whether the target accepts the requester (for this room); the caller decides it.
    /// The requester's signature is checked first (protocol-06 §5.2).
    pub fn claim(
        &mut self,
        crypto: &impl OpenMlsCrypto,
        request: &KeyMaterialRequest,
        consent: bool,
        now_secs: u64,
    ) -> Result<Claimed, RoomError> {
        verify_request(crypto, request)?;
        let target = request.target_user.uri().clone();
        let respond = |user_status, clients| Claimed {
            response: KeyMaterialResponse {
                protocol: Protocol::Mls10,
                user_status,
                user_uri: request.target_user.clone(),
                clients,
            },
            handed_out: vec![],
        };
        let Some(clients) = self.users.get_mut(&target) else {
            return Ok(respond(KeyMaterialUserCode::UserUnknown, vec![]));
        };
        if !consent {
            return Ok(respond(KeyMaterialUserCode::NoConsent, vec![]));
        }
        let compatible = |kp: &VerifiedKeyPackage| is_compatible(request, kp);
        let mut out = Vec::new();
        let mut handed_out = Vec::new();
        for (client, keys) in clients.iter_mut() {
            // protocol-06 §5.2: never hand out expired material.
            keys.one_time
                .retain(|(_, kp)| kp.life_time().not_after() >= now_secs);
            let position = keys.one_time.iter().position(|(_, kp)| compatible(kp));
            let chosen = match position {
                Some(i) => keys.one_time.remove(i),
                None => keys
                    .last_resort
                    .as_ref()
                    .filter(|(_, kp)| compatible(kp) && kp.life_time().not_after() >= now_secs)
                    .cloned(),
            };
            let material = match chosen {
                Some((bytes, verified)) => {
                    let kp_ref = verified
                        .hash_ref(crypto)
                        .map_err(|e| RoomError::Internal(format!("KeyPackageRef: {e:?}")))?;
                    handed_out.push((kp_ref.as_slice().to_vec(), client.clone()));
                    ClientMaterial::Success(bytes)
                }
                None if keys.one_time.is_empty() && keys.last_resort.is_none() => {
                    ClientMaterial::KeyMaterialExhausted
                }
                // Capabilities are omitted for privacy (protocol-06 §5.2 makes them optional).
                None => ClientMaterial::NothingCompatible(None),
            };
            out.push(ClientKeyMaterial {
                client_uri: MimiUri::from(client.clone()).into(),
                material,
            });
        }
        let status = user_status(&out);
        Ok(Claimed {
            response: KeyMaterialResponse {
                protocol: Protocol::Mls10,
                user_status: status,
                user_uri: request.target_user.clone(),
                clients: out,
            },
            handed_out,
        })
    }
}

/// Check the requester's signature over `KeyMaterialRequestTBS` (protocol-06 §5.2).
pub fn verify_request(
    crypto: &impl OpenMlsCrypto,
    request: &KeyMaterialRequest,
) -> Result<(), RoomError> {
    let signed = sign_content(KEY_MATERIAL_REQUEST_LABEL, &request.tbs_bytes()?)?;
    crypto
        .verify_signature(
            CIPHERSUITE.signature_algorithm(),
            &signed,
            request.requester_signature_key.as_slice(),
            request.key_material_request_signature.as_slice(),
        )
        .map_err(|_| RoomError::Invalid("the KeyMaterialRequest signature does not verify".into()))
}

/// Whether a KeyPackage suits the request: an acceptable ciphersuite and every required
/// extension, proposal and credential type in the leaf's capabilities.
pub fn is_compatible(request: &KeyMaterialRequest, kp: &VerifiedKeyPackage) -> bool {
    let caps = kp.leaf_node().capabilities();
    let required = &request.required_capabilities;
    request
        .acceptable_ciphersuites
        .iter()
        .any(|c| c.value() == u16::from(kp.ciphersuite()))
        && required
            .extension_types()
            .iter()
            .all(|e| caps.extensions().contains(e))
        && required
            .proposal_types()
            .iter()
            .all(|p| caps.proposals().contains(p))
        && required
            .credential_types()
            .iter()
            .all(|c| caps.credentials().contains(c))
}

/// The user code for a set of per-client outcomes (protocol-06 §5.2).
pub fn user_status(clients: &[ClientKeyMaterial]) -> KeyMaterialUserCode {
    let successes = clients
        .iter()
        .filter(|c| matches!(c.material, ClientMaterial::Success(_)))
        .count();
    if successes == clients.len() && successes > 0 {
        KeyMaterialUserCode::Success
    } else if successes > 0 {
        KeyMaterialUserCode::PartialSuccess
    } else {
        // Exhausted or incompatible everywhere; protocol-06 §5.2 lets this code list the
        // clients.
        KeyMaterialUserCode::NoCompatibleMaterial
    }
}
