//! The hub side of a room (protocol-06 §3, §5.3-5.6, §7): the arbiter of room state.
//!
//! A [`HubRoom`] holds the room's MLS public group (OpenMLS `PublicGroup`: tree, GroupContext,
//! transcript), the decoded policy state, who every leaf is, the proposals accepted in the
//! current epoch and the latest GroupInfo. Each input (`/update`, `/submitMessage`,
//! `/groupInfo`) is validated completely before anything changes; an accepted input yields the
//! protocol response and the [`Fanout`] effects that deliver it, with the room's next sequence
//! number. A refused input changes nothing.

mod fanout;
mod join;
mod submit;
mod update;

pub use fanout::{Accepted, Fanout};
pub use submit::SubmitReply;
pub use update::UpdateReply;

use std::collections::BTreeMap;

use mimi_credential::TrustStore;
use mimi_types::id::{ProviderDomain, RoomUri};
use mimi_types::wire::{GroupInfo, MlsMessage, RatchetTree};
use openmls::group::{ProposalStore, PublicGroup};
use openmls::prelude::tls_codec::Serialize as _;
use openmls::prelude::{
    Credential, ExternalSender, LeafNodeIndex, OpenMlsProvider, SignaturePublicKey,
};
use openmls_rust_crypto::OpenMlsRustCrypto;
use openmls_traits::signatures::{Signer, SignerError};
use openmls_traits::types::SignatureScheme;

use crate::RoomError;
use crate::app_data::policy_state;
use crate::franking::Franker;
use crate::identity::{IdentityCache, LeafIdentity, membership};
use crate::mls_util::lists_signature_key;
use crate::policy::{Membership, PolicyState};
use mimi_types::wire::FrankingAgentData;

/// The hub provider's own identity in its rooms: its domain and its MLS external-sender key.
pub struct HubIdentity {
    /// The hub's domain.
    pub domain: ProviderDomain,
    /// The hub's signature key pair (signs external proposals, GroupInfo responses and
    /// franks).
    pub signer: HubSigner,
    /// The hub's credential, as listed in every room's `external_senders`.
    pub credential: Credential,
    /// The hub's secret franking key (`hub_key`, protocol-06 §5.4.1).
    pub franking_key: [u8; 32],
}

/// The hub's signature key, an Ed25519 key (the profile's signature scheme) expanded once.
/// (openmls_basic_credential's `SignatureKeyPair::sign` derives the public key again for
/// every signature, as much work as the signature itself; the hub signs the frank of every
/// message it accepts.)
pub struct HubSigner {
    expanded: ed25519_dalek::SigningKey,
    public: [u8; 32],
}

impl HubSigner {
    /// The signer of this 32-byte Ed25519 private key.
    pub fn from_private(private: &[u8]) -> Result<Self, RoomError> {
        let expanded = ed25519_dalek::SigningKey::try_from(private)
            .map_err(|_| RoomError::Invalid("an Ed25519 private key has 32 bytes".into()))?;
        let public = expanded.verifying_key().to_bytes();
        Ok(Self { expanded, public })
    }

    /// The public key.
    pub fn public(&self) -> &[u8] {
        &self.public
    }
}

impl Signer for HubSigner {
    fn sign(&self, payload: &[u8]) -> Result<Vec<u8>, SignerError> {
        use ed25519_dalek::Signer as _;
        Ok(self.expanded.sign(payload).to_bytes().to_vec())
    }

    fn signature_scheme(&self) -> SignatureScheme {
        SignatureScheme::ED25519
    }
}

impl HubIdentity {
    /// The room component naming the hub as franking agent (protocol-06 §5.4.1): its
    /// signature key verifies server franks.
    pub fn franking_agent(&self) -> FrankingAgentData {
        FrankingAgentData {
            franking_signature_key: SignaturePublicKey::from(self.signer.public()),
            credential: self.credential.clone(),
        }
    }

    pub(crate) fn franker(&self) -> Franker<'_> {
        Franker {
            hub_key: &self.franking_key,
            signer: &self.signer,
        }
    }

    /// The `ExternalSender` entry every room of this hub must list (protocol-06 §7.2).
    pub fn external_sender(&self) -> ExternalSender {
        ExternalSender::new(
            SignaturePublicKey::from(self.signer.public()),
            self.credential.clone(),
        )
    }
}

/// Size limits the hub enforces on handshakes (room-level; the server also bounds bodies).
#[derive(Debug, Clone, Copy)]
pub struct HubLimits {
    /// Largest `UpdateRequest`, in bytes (the commit, Welcome, GroupInfo and tree together).
    pub max_update_bytes: usize,
    /// Most proposals in one proposal bundle.
    pub max_proposals: usize,
}

impl Default for HubLimits {
    fn default() -> Self {
        Self {
            max_update_bytes: 16 << 20,
            max_proposals: 256,
        }
    }
}

/// What the hub needs besides the room for each input: trust anchors, limits and the time.
pub struct HubContext<'a> {
    /// The hub itself.
    pub hub: &'a HubIdentity,
    /// Client CAs of the providers the hub federates with (its own included).
    pub trust: &'a TrustStore,
    /// Now, in milliseconds since the UNIX epoch.
    pub now_ms: u64,
    /// Limits.
    pub limits: HubLimits,
}

impl HubContext<'_> {
    /// Now, in seconds (for certificate validity).
    pub(crate) fn now_secs(&self) -> i64 {
        i64::try_from(self.now_ms / 1000).unwrap_or(i64::MAX)
    }
}

/// A proposal the hub accepted in the current epoch.
#[derive(Debug, Clone)]
pub(crate) struct AcceptedProposal {
    pub(crate) message: MlsMessage,
    /// Its policy meaning (None for proposals without one, e.g. Update).
    pub(crate) change: Option<crate::policy::Change>,
    pub(crate) reference: openmls::ciphersuite::hash_ref::ProposalRef,
    pub(crate) accepted_ms: u64,
}

/// One room at its hub.
pub struct HubRoom {
    room: RoomUri,
    provider: OpenMlsRustCrypto,
    group: PublicGroup,
    policy: PolicyState,
    leaves: BTreeMap<u32, LeafIdentity>,
    identities: IdentityCache,
    pending: Vec<AcceptedProposal>,
    /// The room as it stands with the pending proposals applied (protocol-06 §7.1: an
    /// accepted proposal takes effect for the hub's decisions at once).
    pending_state: Option<PolicyState>,
    group_info: GroupInfo,
    seq: u64,
    franking: bool,
}

impl HubRoom {
    /// Start hosting a room whose creator's client made the MLS group (protocol-06 §3 flow 1):
    /// check the GroupInfo and tree (OpenMLS `PublicGroup::from_external`), that the room's
    /// policy components are exactly `expected` (what the hub established), that the hub is
    /// an external sender, and that the only member is a client of the creator, certified by
    /// its provider.
    pub fn create(
        ctx: &HubContext<'_>,
        room: RoomUri,
        expected: &PolicyState,
        group_info: GroupInfo,
        ratchet_tree: RatchetTree,
    ) -> Result<HubRoom, RoomError> {
        let mut room = Self::restore(ctx, room, group_info, ratchet_tree, 0)?;
        // The creator's client is new: its credential must be valid now, not only when it
        // was issued (restore accepts members whose certificates expired since they joined).
        for member in room.group.members() {
            room.identities
                .verify(
                    &member.credential,
                    &member.signature_key,
                    ctx.trust,
                    ctx.now_secs(),
                )
                .map_err(RoomError::Credential)?;
        }
        if &room.policy != expected {
            return Err(RoomError::Invalid(
                "the group's room components differ from the room's policy".into(),
            ));
        }
        let members: Vec<&LeafIdentity> = room.leaves.values().collect();
        let creator_ok = members.len() == 1
            && members.first().is_some_and(|m| {
                room.policy
                    .participants
                    .participants
                    .iter()
                    .any(|p| p.user.uri() == &m.user)
            });
        if !creator_ok {
            return Err(RoomError::Invalid(
                "a new room must have exactly one client, of a participant".into(),
            ));
        }
        Ok(room)
    }

    /// Rebuild a room from its latest GroupInfo and ratchet tree (e.g. after a restart, from
    /// storage) at sequence number `seq`, with every check of [`HubRoom::create`] except the
    /// single-creator one. Proposals cached in the epoch are not part of this state.
    pub fn restore(
        ctx: &HubContext<'_>,
        room: RoomUri,
        group_info: GroupInfo,
        ratchet_tree: RatchetTree,
        seq: u64,
    ) -> Result<HubRoom, RoomError> {
        let provider = OpenMlsRustCrypto::default();
        let (group, _) = PublicGroup::from_external(
            provider.crypto(),
            provider.storage(),
            ratchet_tree.parse()?,
            group_info.parse()?,
            ProposalStore::new(),
        )
        .map_err(|e| RoomError::Invalid(format!("group state: {e:?}")))?;
        let dict = group
            .group_context()
            .extensions()
            .app_data_dictionary()
            .ok_or(RoomError::MissingComponent("app_data_dictionary"))?;
        let policy = policy_state(dict.dictionary())?;
        if !lists_signature_key(
            group.group_context().extensions().external_senders(),
            ctx.hub.signer.public(),
        ) {
            // protocol-06 §7.2: external_senders MUST contain the hub.
            return Err(RoomError::Invalid(
                "the hub is not an external sender of the group".into(),
            ));
        }
        // A room may name the hub as franking agent; then it must be exactly this hub.
        let franking = match dict
            .dictionary()
            .get(&mimi_types::wire::components::FRANKING_AGENT)
        {
            None => false,
            Some(bytes) => {
                let agent = mimi_types::wire::RoomComponentData::decode(
                    mimi_types::wire::components::FRANKING_AGENT,
                    bytes,
                )?;
                if agent
                    != Some(mimi_types::wire::RoomComponentData::FrankingAgent(
                        ctx.hub.franking_agent(),
                    ))
                {
                    return Err(RoomError::Invalid(
                        "the room's franking agent is not this hub".into(),
                    ));
                }
                true
            }
        };
        let mut room = HubRoom {
            room,
            provider,
            group,
            policy,
            leaves: BTreeMap::new(),
            identities: IdentityCache::default(),
            pending: Vec::new(),
            pending_state: None,
            group_info,
            seq,
            franking,
        };
        room.refresh_leaves(ctx)?;
        Ok(room)
    }

    /// The room's URI.
    pub fn room(&self) -> &RoomUri {
        &self.room
    }

    /// The current MLS epoch.
    pub fn epoch(&self) -> u64 {
        self.group.group_context().epoch().as_u64()
    }

    /// The room's committed policy state (participant list, roles, base policy, metadata).
    pub fn policy(&self) -> &PolicyState {
        &self.policy
    }

    /// The room as the hub treats it now: the committed state with the epoch's accepted
    /// proposals applied.
    pub fn effective_policy(&self) -> &PolicyState {
        self.pending_state.as_ref().unwrap_or(&self.policy)
    }

    /// Users and their clients in the MLS group.
    pub fn membership(&self) -> Membership {
        membership(self.leaves.values())
    }

    /// Number of clients in the group.
    pub fn member_count(&self) -> usize {
        self.leaves.len()
    }

    /// Sequence number of the last accepted event.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Catch up with application messages another instance of this hub accepted, up to
    /// sequence number `seq` (shared storage, docs/decisions/0160): they change nothing but
    /// the sequence number (docs/decisions/0152). A lower `seq` changes nothing.
    pub fn advance_seq(&mut self, seq: u64) {
        self.seq = self.seq.max(seq);
    }

    /// The application message accepted as `seq` (the last event) was not stored: take its
    /// sequence number back, as if it had not been accepted (a message changes nothing
    /// else, docs/decisions/0152). Changes nothing if `seq` is not the last event's.
    pub fn forget_message(&mut self, seq: u64) {
        if self.seq == seq && seq > 0 {
            self.seq = seq - 1;
        }
    }

    /// The tree hash of the current epoch (clients and hub agree on it when in sync).
    pub fn tree_hash(&self) -> Vec<u8> {
        self.group.group_context().tree_hash().to_vec()
    }

    /// The latest GroupInfo, for joiners.
    pub fn group_info(&self) -> &GroupInfo {
        &self.group_info
    }

    /// The current ratchet tree.
    pub fn ratchet_tree(&self) -> Result<RatchetTree, RoomError> {
        let bytes = self
            .group
            .export_ratchet_tree()
            .tls_serialize_detached()
            .map_err(|e| RoomError::Internal(format!("encoding the tree: {e:?}")))?;
        Ok(RatchetTree::from_bytes(bytes)?)
    }

    /// Proposals accepted in the current epoch, with their acceptance times.
    pub fn pending_proposals(&self) -> impl Iterator<Item = (&MlsMessage, u64)> {
        self.pending.iter().map(|p| (&p.message, p.accepted_ms))
    }

    /// Providers with at least one client in the group.
    pub fn provider_domains(&self) -> std::collections::BTreeSet<ProviderDomain> {
        self.leaves.values().map(|l| l.domain.clone()).collect()
    }

    /// Rebuild the leaf → identity map from the tree, verifying leaves not seen before.
    fn refresh_leaves(&mut self, ctx: &HubContext<'_>) -> Result<(), RoomError> {
        let mut leaves = BTreeMap::new();
        for member in self.group.members() {
            let id = self
                .identities
                .verify_member(
                    &member.credential,
                    &member.signature_key,
                    ctx.trust,
                    ctx.now_secs(),
                )
                .map_err(RoomError::Credential)?;
            leaves.insert(member.index.u32(), id);
        }
        let keys: std::collections::HashSet<Vec<u8>> =
            self.group.members().map(|m| m.signature_key).collect();
        self.identities.retain(|k| keys.contains(k));
        self.leaves = leaves;
        Ok(())
    }

    /// The identity of the client at a leaf.
    fn leaf(&self, index: LeafNodeIndex) -> Option<&LeafIdentity> {
        self.leaves.get(&index.u32())
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }
}

#[cfg(test)]
mod signer_tests {
    use super::*;
    use openmls_basic_credential::SignatureKeyPair;

    /// The expanded signer signs exactly as OpenMLS's key pair of the same key does (Ed25519
    /// is deterministic), and refuses keys of the wrong size.
    #[test]
    fn hub_signer_signs_as_the_key_pair() {
        let signer = HubSigner::from_private(&[5; 32]).unwrap();
        let pair = SignatureKeyPair::from_raw(
            SignatureScheme::ED25519,
            vec![5; 32],
            signer.public().to_vec(),
        );
        let payload = b"FrankingIntegrityTBS";
        assert_eq!(signer.sign(payload).unwrap(), pair.sign(payload).unwrap());
        assert_eq!(signer.signature_scheme(), pair.signature_scheme());
        assert_ne!(
            signer.public(),
            HubSigner::from_private(&[6; 32]).unwrap().public()
        );
        assert!(HubSigner::from_private(&[5; 31]).is_err());
    }
}
