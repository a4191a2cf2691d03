//! `POST /update/{roomId}` at the hub (protocol-06 §5.3): commits and proposals.

use std::collections::{BTreeSet, HashMap};

use mimi_types::id::ProviderDomain;
use mimi_types::wire::{
    FanoutMessage, FanoutPayload, GroupInfo, GroupInfoOption, HandshakeBundle, MlsMessage,
    RatchetTreeOption, RatchetTreePresence, RoomComponentUpdate, UpdateOutcome, UpdateRequest,
    UpdateRoomResponse, Utf8String, Welcome,
};
use openmls::ciphersuite::hash_ref::ProposalRef;
use openmls::group::StagedCommit;
use openmls::messages::group_info::VerifiableGroupInfo;
use openmls::prelude::tls_codec::{Deserialize as _, Serialize as _};
use openmls::prelude::{
    Extensions, LeafNodeIndex, MlsMessageBodyIn, OpenMlsProvider, OpenMlsSignaturePublicKey,
    ProcessedMessageContent, Proposal, ProposalOrRefType, ProtocolMessage, PublicMessageIn, Sender,
    Signature, Verifiable,
};

use super::fanout::{Accepted, Fanout};
use super::{AcceptedProposal, HubContext, HubRoom};
use crate::RoomError;
use crate::app_data::{policy_state, resolve_updates};
use crate::identity::{LeafIdentity, membership};
use crate::mls_util::{
    external_sender_parts, external_sender_position, lists_signature_key, sender_index,
};
use crate::policy::{Actor, Change, ChangeKind, apply_commit, check_proposal_with_pending};
use crate::profile::CIPHERSUITE;

/// The hub's answer to an `/update`: the protocol response, and what to deliver if accepted.
#[derive(Debug)]
pub struct UpdateReply {
    /// The `UpdateRoomResponse` body.
    pub response: UpdateRoomResponse,
    /// Set when the update was accepted.
    pub accepted: Option<Accepted>,
}

/// Why an update is refused, in protocol terms.
enum Refusal {
    WrongEpoch(u64),
    NotAllowed(String),
    InvalidProposal(Vec<ProposalRef>, String),
}

impl Refusal {
    fn into_reply(self) -> UpdateReply {
        let (outcome, text) = match self {
            Refusal::WrongEpoch(current_epoch) => (
                UpdateOutcome::WrongEpoch { current_epoch },
                "wrong epoch".to_string(),
            ),
            Refusal::NotAllowed(why) => (UpdateOutcome::NotAllowed, why),
            Refusal::InvalidProposal(invalid_proposals, why) => {
                (UpdateOutcome::InvalidProposal { invalid_proposals }, why)
            }
        };
        UpdateReply {
            response: UpdateRoomResponse {
                error_description: description(&text),
                outcome,
            },
            accepted: None,
        }
    }
}

/// A one-line description within the protocol's string limits.
fn description(text: &str) -> Utf8String {
    let short: String = text.chars().filter(|c| *c != '\0').take(300).collect();
    Utf8String::new(short).unwrap_or_default()
}

impl From<RoomError> for Refusal {
    fn from(e: RoomError) -> Self {
        Refusal::NotAllowed(e.to_string())
    }
}

type Checked<T> = Result<T, Refusal>;

/// A commit's PublicMessage, parsed.
fn public_message(message: &MlsMessage) -> Checked<PublicMessageIn> {
    match message
        .parse()
        .map_err(|e| Refusal::NotAllowed(e.to_string()))?
        .extract()
    {
        MlsMessageBodyIn::PublicMessage(pm) => Ok(pm),
        _ => Err(Refusal::NotAllowed(
            "handshakes must be PublicMessages (protocol-06 §5.3)".into(),
        )),
    }
}

impl HubRoom {
    /// Handle an `/update` from provider `from`. `Err` only for internal failures; every
    /// refusal is an `UpdateRoomResponse` and leaves the room unchanged.
    pub fn handle_update(
        &mut self,
        ctx: &HubContext<'_>,
        from: &ProviderDomain,
        request: &UpdateRequest,
    ) -> Result<UpdateReply, RoomError> {
        use openmls::prelude::tls_codec::Size as _;
        let size = request.tls_serialized_len();
        if size > ctx.limits.max_update_bytes {
            return Ok(Refusal::NotAllowed(format!(
                "update of {size} bytes is over the room's limit of {}",
                ctx.limits.max_update_bytes
            ))
            .into_reply());
        }
        if let HandshakeBundle::Proposals { more_proposals, .. } = &request.bundle
            && more_proposals.len() + 1 > ctx.limits.max_proposals
        {
            return Ok(Refusal::NotAllowed(format!(
                "more than {} proposals",
                ctx.limits.max_proposals
            ))
            .into_reply());
        }
        let result = match &request.bundle {
            HandshakeBundle::Commit {
                commit,
                welcome,
                group_info,
                ..
            } => self.handle_commit(ctx, from, commit, welcome.as_ref(), group_info),
            HandshakeBundle::Proposals {
                proposal,
                more_proposals,
            } => self.handle_proposals(ctx, from, proposal, more_proposals),
        };
        match result {
            Ok(accepted) => Ok(UpdateReply {
                response: UpdateRoomResponse {
                    error_description: Utf8String::default(),
                    outcome: UpdateOutcome::Success {
                        accepted_timestamp: ctx.now_ms,
                    },
                },
                accepted: Some(accepted),
            }),
            Err(Refusal::NotAllowed(why)) if why.starts_with(INTERNAL) => {
                Err(RoomError::Internal(why))
            }
            Err(refusal) => Ok(refusal.into_reply()),
        }
    }

    /// Check the framing every handshake shares: this room's group, the current epoch.
    fn check_framing(&self, pm: &PublicMessageIn) -> Checked<()> {
        if pm.group_id() != self.group.group_id() {
            return Err(Refusal::NotAllowed(
                "message is for another MLS group".into(),
            ));
        }
        if pm.epoch() != self.group.group_context().epoch() {
            // protocol-06 §5.3: wrongEpoch carries the hub's current epoch; the first valid
            // commit of an epoch wins, later ones for that epoch land here.
            return Err(Refusal::WrongEpoch(self.epoch()));
        }
        Ok(())
    }

    /// Who sent a proposal or commit, as a policy actor; `from` must be the sender's provider
    /// (a follower acts only for its own users).
    fn actor_of(
        &self,
        sender: &Sender,
        from: &ProviderDomain,
        ctx: &HubContext<'_>,
    ) -> Checked<Actor> {
        match sender {
            Sender::Member(leaf) => {
                let id = self.leaf(*leaf).ok_or_else(|| {
                    Refusal::NotAllowed(format!("no member at leaf {}", leaf.u32()))
                })?;
                if &id.domain != from {
                    return Err(Refusal::NotAllowed(format!(
                        "{from} submitted a handshake of a {} client",
                        id.domain
                    )));
                }
                Ok(Actor::Member(id.user.clone()))
            }
            Sender::External(index) => {
                let senders = self
                    .group
                    .group_context()
                    .extensions()
                    .external_senders()
                    .ok_or_else(|| {
                        Refusal::NotAllowed("no external senders in this group".into())
                    })?;
                let (key, credential) = sender_index(index)
                    .and_then(|i| senders.get(i))
                    .and_then(external_sender_parts)
                    .ok_or_else(|| Refusal::NotAllowed("unknown external sender".into()))?;
                if key.as_slice() == ctx.hub.signer.public() {
                    Ok(Actor::Hub)
                } else {
                    // A follower's external sender entry is its provider credential; it may
                    // only be used by that provider.
                    let domain = self.external_sender_domain(&credential)?;
                    if &domain != from {
                        return Err(Refusal::NotAllowed(
                            "external sender of another provider".into(),
                        ));
                    }
                    Ok(Actor::Follower(domain))
                }
            }
            Sender::NewMemberProposal => Err(Refusal::NotAllowed(
                "external join proposals are not supported".into(),
            )),
            Sender::NewMemberCommit => {
                Err(Refusal::NotAllowed("unexpected external committer".into()))
            }
        }
    }

    fn external_sender_domain(
        &self,
        credential: &openmls::prelude::Credential,
    ) -> Checked<ProviderDomain> {
        let text = std::str::from_utf8(credential.serialized_content()).map_err(|_| {
            Refusal::NotAllowed("external sender credential is not a domain".into())
        })?;
        let text = text.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
        ProviderDomain::parse(text)
            .map_err(|e| Refusal::NotAllowed(format!("external sender: {e}")))
    }

    /// Standalone proposals (protocol-06 §3 flow 5): validate each, cache it for the next
    /// committer, fan the bundle out.
    fn handle_proposals(
        &mut self,
        ctx: &HubContext<'_>,
        from: &ProviderDomain,
        proposal: &MlsMessage,
        more: &[MlsMessage],
    ) -> Checked<Accepted> {
        let messages: Vec<&MlsMessage> = std::iter::once(proposal).chain(more).collect();
        self.accept_proposals(ctx, Some(from), &messages, ctx.now_ms)?;
        let seq = self.next_seq();
        let message = FanoutMessage {
            timestamp: ctx.now_ms,
            payload: FanoutPayload::Proposal {
                message: proposal.clone(),
                more_proposals: more.to_vec(),
            },
        };
        let fanout = self
            .provider_domains()
            .into_iter()
            .map(|destination| Fanout {
                destination,
                message: message.clone(),
            })
            .collect();
        Ok(Accepted { seq, fanout })
    }

    /// Validate proposals and cache them for the next commit (no sequence number, no
    /// fanout). `from` is the submitting provider; `None` when re-adding proposals the hub
    /// accepted before a restart.
    fn accept_proposals(
        &mut self,
        ctx: &HubContext<'_>,
        from: Option<&ProviderDomain>,
        messages: &[&MlsMessage],
        accepted_ms: u64,
    ) -> Checked<()> {
        let membership = membership(self.leaves.values());
        let mut queued = Vec::new();
        let mut seen_refs = BTreeSet::new();
        let mut accepted_changes: Vec<Change> = self
            .pending
            .iter()
            .filter_map(|p| p.change.clone())
            .collect();
        let mut new_state = None;
        for &message in messages {
            let pm = public_message(message)?;
            self.check_framing(&pm)?;
            let processed = self
                .group
                .process_message(self.provider.crypto(), ProtocolMessage::from(pm))
                .map_err(|e| Refusal::NotAllowed(format!("invalid proposal: {e}")))?;
            let sender_domain = match from {
                Some(d) => d.clone(),
                None => self.sender_domain(processed.sender(), &ctx.hub.domain),
            };
            let actor = self.actor_of(processed.sender(), &sender_domain, ctx)?;
            let queued_proposal = match processed.into_content() {
                ProcessedMessageContent::ProposalMessage(q) => *q,
                _ => return Err(Refusal::NotAllowed("not a proposal".into())),
            };
            let reference = queued_proposal.proposal_reference_ref().clone();
            if !seen_refs.insert(reference.as_slice().to_vec())
                || self.pending.iter().any(|p| p.reference == reference)
            {
                return Err(Refusal::InvalidProposal(
                    vec![reference],
                    "duplicate proposal".into(),
                ));
            }
            // protocol-06 §5.3: removed or banned users may only propose their removal.
            self.check_not_blocked(&actor, queued_proposal.proposal())?;
            let change = self.change_of(
                ctx,
                &actor,
                queued_proposal.sender(),
                queued_proposal.proposal(),
                &mut HashMap::new(),
            )?;
            if let Some(change) = &change {
                // Valid alone and together with what the hub already accepted this epoch.
                let outcome = check_proposal_with_pending(
                    &self.policy,
                    &membership,
                    &accepted_changes,
                    change,
                )
                .map_err(|e| Refusal::InvalidProposal(vec![reference.clone()], e.to_string()))?;
                accepted_changes.push(change.clone());
                new_state = Some(outcome.state);
            }
            queued.push((message.clone(), queued_proposal, change));
        }
        // Everything is valid: cache the proposals (the next commit must include them).
        for (message, q, change) in queued {
            let reference = q.proposal_reference_ref().clone();
            self.group
                .add_proposal(self.provider.storage(), q)
                .map_err(|e| Refusal::NotAllowed(format!("{INTERNAL}storing a proposal: {e:?}")))?;
            self.pending.push(AcceptedProposal {
                message,
                change,
                reference,
                accepted_ms,
            });
        }
        if new_state.is_some() {
            self.pending_state = new_state;
        }
        Ok(())
    }

    /// Re-add a proposal accepted in the current epoch before a restart (from storage).
    pub fn readd_pending(
        &mut self,
        ctx: &HubContext<'_>,
        message: MlsMessage,
        accepted_ms: u64,
    ) -> Result<(), RoomError> {
        match self.accept_proposals(ctx, None, &[&message], accepted_ms) {
            Ok(()) => Ok(()),
            Err(Refusal::NotAllowed(why) | Refusal::InvalidProposal(_, why)) => Err(
                RoomError::Invalid(format!("stored proposal no longer valid: {why}")),
            ),
            Err(Refusal::WrongEpoch(_)) => Err(RoomError::Invalid(
                "stored proposal of another epoch".into(),
            )),
        }
    }

    /// A removed or banned user may send nothing but Remove/SelfRemove proposals.
    fn check_not_blocked(&self, actor: &Actor, proposal: &Proposal) -> Checked<()> {
        if let Actor::Member(user) = actor {
            let policy = self.effective_policy();
            let blocked = !policy.is_participant(user) || policy.is_banned(user);
            let removal = matches!(proposal, Proposal::Remove(_) | Proposal::SelfRemove);
            if blocked && !removal {
                return Err(Refusal::NotAllowed(format!(
                    "{user} was removed or banned from the room"
                )));
            }
        }
        Ok(())
    }

    /// Translate one MLS proposal into a policy change. `added` collects the verified
    /// identities of added clients (by KeyPackageRef) for Welcome routing.
    fn change_of(
        &mut self,
        ctx: &HubContext<'_>,
        actor: &Actor,
        sender: &Sender,
        proposal: &Proposal,
        added: &mut HashMap<Vec<u8>, LeafIdentity>,
    ) -> Checked<Option<Change>> {
        let kind = match proposal {
            Proposal::Add(add) => {
                let kp = add.key_package();
                let leaf = kp.leaf_node();
                let id = self.verify_leaf(ctx, leaf, "added client")?;
                let kp_ref = kp
                    .hash_ref(self.provider.crypto())
                    .map_err(|e| Refusal::NotAllowed(format!("{INTERNAL}KeyPackageRef: {e:?}")))?;
                added.insert(kp_ref.as_slice().to_vec(), id.clone());
                ChangeKind::AddClient {
                    user: id.user,
                    client: id.client,
                }
            }
            Proposal::Remove(remove) => {
                let id = self
                    .leaf(remove.removed())
                    .ok_or_else(|| Refusal::NotAllowed("Remove of an empty leaf".into()))?;
                ChangeKind::RemoveClient {
                    user: id.user.clone(),
                    client: id.client.clone(),
                }
            }
            Proposal::SelfRemove => {
                let Sender::Member(leaf) = sender else {
                    return Err(Refusal::NotAllowed("SelfRemove from a non-member".into()));
                };
                let id = self
                    .leaf(*leaf)
                    .ok_or_else(|| Refusal::NotAllowed("SelfRemove of an empty leaf".into()))?;
                ChangeKind::RemoveClient {
                    user: id.user.clone(),
                    client: id.client.clone(),
                }
            }
            Proposal::Update(update) => {
                let Sender::Member(leaf) = sender else {
                    return Err(Refusal::NotAllowed("Update from a non-member".into()));
                };
                self.check_same_identity(ctx, *leaf, update.leaf_node())?;
                return Ok(None);
            }
            Proposal::AppDataUpdate(p) => match p.operation() {
                openmls::prelude::AppDataUpdateOperation::Update(bytes) => {
                    match RoomComponentUpdate::decode(p.component_id(), bytes.as_slice())
                        .map_err(RoomError::from)?
                    {
                        Some(RoomComponentUpdate::ParticipantList(u)) => {
                            ChangeKind::ParticipantList(u)
                        }
                        Some(RoomComponentUpdate::Roles(r)) => ChangeKind::Roles(r),
                        Some(RoomComponentUpdate::PreAuth(p)) => ChangeKind::PreAuth(p),
                        Some(RoomComponentUpdate::BaseRoom(b)) => ChangeKind::BaseRoom(b),
                        Some(RoomComponentUpdate::RoomMetadata(m)) => ChangeKind::Metadata(m),
                        Some(other) => ChangeKind::OtherPolicy(other.component_id()),
                        None => {
                            return Err(Refusal::NotAllowed(format!(
                                "unknown room component 0x{:04x}",
                                p.component_id()
                            )));
                        }
                    }
                }
                openmls::prelude::AppDataUpdateOperation::Remove => {
                    ChangeKind::OtherPolicy(p.component_id())
                }
            },
            Proposal::ExternalInit(_) => return Ok(None),
            other => {
                return Err(Refusal::NotAllowed(format!(
                    "{:?} proposals are not allowed in MIMI rooms",
                    other.proposal_type()
                )));
            }
        };
        Ok(Some(Change {
            actor: actor.clone(),
            kind,
        }))
    }

    /// Verify the credential of a leaf node (cached by signature key); `what` names the leaf
    /// in the refusal.
    fn verify_leaf(
        &mut self,
        ctx: &HubContext<'_>,
        node: &openmls::prelude::LeafNode,
        what: &str,
    ) -> Checked<LeafIdentity> {
        self.identities
            .verify(
                node.credential(),
                node.signature_key().as_slice(),
                ctx.trust,
                ctx.now_secs(),
            )
            .map_err(|e| Refusal::NotAllowed(format!("{what}: {e}")))
    }

    /// An Update or UpdatePath may change keys, not who the client is (RFC 9420 §13.6 leaves
    /// identity continuity to the application: here, same client and user URIs).
    fn check_same_identity(
        &mut self,
        ctx: &HubContext<'_>,
        leaf: LeafNodeIndex,
        node: &openmls::prelude::LeafNode,
    ) -> Checked<()> {
        let old = self
            .leaf(leaf)
            .cloned()
            .ok_or_else(|| Refusal::NotAllowed("update of an empty leaf".into()))?;
        let new = self.verify_leaf(ctx, node, "updated leaf")?;
        if new.client != old.client || new.user != old.user {
            return Err(Refusal::NotAllowed(
                "a leaf update must keep the client's identity".into(),
            ));
        }
        Ok(())
    }

    /// A commit (protocol-06 §3 flows 2, 3, 5, 6).
    fn handle_commit(
        &mut self,
        ctx: &HubContext<'_>,
        from: &ProviderDomain,
        commit: &MlsMessage,
        welcome: Option<&Welcome>,
        group_info: &GroupInfoOption,
    ) -> Checked<Accepted> {
        let pm = public_message(commit)?;
        self.check_framing(&pm)?;
        let confirmation_tag = pm
            .confirmation_tag()
            .cloned()
            .ok_or_else(|| Refusal::NotAllowed("commit without confirmation tag".into()))?;
        let processed = self
            .group
            .process_message(self.provider.crypto(), ProtocolMessage::from(pm))
            .map_err(|e| Refusal::NotAllowed(format!("invalid commit: {e}")))?;
        let sender = processed.sender().clone();
        let external = matches!(sender, Sender::NewMemberCommit);
        let committer_actor = if external {
            None
        } else {
            Some(self.actor_of(&sender, from, ctx)?)
        };
        if let Some(Actor::Member(user)) = &committer_actor {
            // protocol-06 §5.3: removed or banned users may not commit.
            let policy = self.effective_policy();
            if !policy.is_participant(user) || policy.is_banned(user) {
                return Err(Refusal::NotAllowed(format!(
                    "{user} was removed or banned from the room"
                )));
            }
        }
        let staged: StagedCommit = match processed.into_content() {
            ProcessedMessageContent::StagedCommitMessage(s) => *s,
            ProcessedMessageContent::UnresolvedAppDataCommit(unresolved) => {
                let mut updater = self.group.app_data_dictionary_updater();
                resolve_updates(&mut updater, unresolved.app_data_update_proposals())
                    .map_err(|e| Refusal::InvalidProposal(vec![], e.to_string()))?;
                let changes = updater.changes();
                self.group
                    .stage_app_data_commit(self.provider.crypto(), *unresolved, changes)
                    .map_err(|e| Refusal::NotAllowed(format!("invalid commit: {e}")))?
            }
            _ => return Err(Refusal::NotAllowed("not a commit".into())),
        };

        // protocol-06 §3 flow 5: the committer must include every proposal the hub accepted
        // in this epoch.
        let included: BTreeSet<Vec<u8>> = staged
            .queued_proposals()
            .filter(|q| q.proposal_or_ref_type() == ProposalOrRefType::Reference)
            .map(|q| q.proposal_reference_ref().as_slice().to_vec())
            .collect();
        let missing: Vec<ProposalRef> = self
            .pending
            .iter()
            .filter(|p| !included.contains(p.reference.as_slice()))
            .map(|p| p.reference.clone())
            .collect();
        if !missing.is_empty() {
            return Err(Refusal::InvalidProposal(
                missing,
                "the commit must include the proposals the hub accepted in this epoch".into(),
            ));
        }

        // Who commits, and the leaf whose key signs the new GroupInfo.
        let mut joiner: Option<LeafIdentity> = None;
        let (committer_leaf, committer_key, committer_actor) = if external {
            let leaf = staged
                .update_path_leaf_node()
                .ok_or_else(|| Refusal::NotAllowed("external commit without a path".into()))?;
            let id = self.verify_leaf(ctx, leaf, "joining client")?;
            if &id.domain != from {
                return Err(Refusal::NotAllowed(format!(
                    "{from} submitted an external commit of a {} client",
                    id.domain
                )));
            }
            let index = self
                .group
                .ext_commit_sender_index(&staged)
                .map_err(|e| Refusal::NotAllowed(format!("{INTERNAL}joiner index: {e:?}")))?;
            let actor = Actor::NewMember {
                user: id.user.clone(),
                claims: id.claims(),
            };
            joiner = Some(id);
            (index, leaf.signature_key().clone(), actor)
        } else {
            let Sender::Member(leaf) = sender else {
                return Err(Refusal::NotAllowed(
                    "commits come from members or external joiners".into(),
                ));
            };
            if let Some(path_leaf) = staged.update_path_leaf_node() {
                self.check_same_identity(ctx, leaf, path_leaf)?;
            }
            let key = match staged.update_path_leaf_node() {
                Some(n) => n.signature_key().clone(),
                None => self
                    .group
                    .leaf(leaf)
                    .map(|n| n.signature_key().clone())
                    .ok_or_else(|| Refusal::NotAllowed("committer leaf is empty".into()))?,
            };
            (leaf, key, committer_actor.unwrap_or(Actor::Hub))
        };

        // The policy view of every proposal, in order.
        let mut changes = Vec::new();
        let mut added = HashMap::new();
        if let Some(id) = joiner {
            changes.push(Change {
                actor: committer_actor.clone(),
                kind: ChangeKind::AddClient {
                    user: id.user,
                    client: id.client,
                },
            });
        }
        let queued: Vec<(Sender, Proposal, ProposalOrRefType)> = staged
            .queued_proposals()
            .map(|q| {
                (
                    q.sender().clone(),
                    q.proposal().clone(),
                    q.proposal_or_ref_type(),
                )
            })
            .collect();
        for (sender, proposal, kind) in &queued {
            let actor = match (kind, sender) {
                (ProposalOrRefType::Proposal, _) => committer_actor.clone(),
                (ProposalOrRefType::Reference, s) => {
                    self.actor_of(s, &self.sender_domain(s, from), ctx)?
                }
            };
            if let Some(change) = self.change_of(ctx, &actor, sender, proposal, &mut added)? {
                changes.push(change);
            }
        }
        let before = membership(self.leaves.values());
        let outcome = apply_commit(&self.policy, &before, &changes)
            .map_err(|e| Refusal::NotAllowed(e.to_string()))?;

        // The GroupContext after the commit carries the room state the clients computed.
        let new_context = staged.group_context().clone();
        let dict = new_context
            .extensions()
            .app_data_dictionary()
            .ok_or(RoomError::MissingComponent("app_data_dictionary"))?;
        let new_policy = policy_state(dict.dictionary())?;
        if new_policy != outcome.state {
            return Err(Refusal::NotAllowed(format!(
                "{INTERNAL}room state computed two ways differs"
            )));
        }
        // protocol-06 §7.2: the hub must stay an external sender.
        if !lists_signature_key(
            new_context.extensions().external_senders(),
            ctx.hub.signer.public(),
        ) {
            return Err(Refusal::NotAllowed(
                "the commit removes the hub from external_senders".into(),
            ));
        }

        // The new epoch's GroupInfo must be exactly what this commit produces, signed by the
        // committer (it is what the hub hands to joiners).
        let new_group_info = self.check_group_info(
            group_info,
            &new_context,
            confirmation_tag,
            committer_leaf,
            committer_key,
        )?;

        // Welcome routing: every KeyPackageRef in the Welcome must be one of this commit's
        // Adds; the Welcome goes to the providers of those clients (protocol-06 §5.5).
        let mut welcome_to: BTreeSet<ProviderDomain> = BTreeSet::new();
        if let Some(w) = welcome {
            let parsed = w.parse().map_err(|e| Refusal::NotAllowed(e.to_string()))?;
            for secret in parsed.secrets() {
                let id = added.get(secret.new_member().as_slice()).ok_or_else(|| {
                    Refusal::NotAllowed(
                        "the Welcome names a KeyPackage the commit does not add".into(),
                    )
                })?;
                welcome_to.insert(id.domain.clone());
            }
        } else if !added.is_empty() {
            return Err(Refusal::NotAllowed(
                "a commit adding clients must carry their Welcome".into(),
            ));
        }

        // Apply.
        let domains_before = self.provider_domains();
        self.group
            .merge_commit(self.provider.storage(), staged)
            .map_err(|e| Refusal::NotAllowed(format!("{INTERNAL}merge: {e:?}")))?;
        self.refresh_leaves(ctx)
            .map_err(|e| Refusal::NotAllowed(format!("{INTERNAL}{e}")))?;
        self.policy = outcome.state;
        self.pending.clear();
        self.pending_state = None;
        self.group_info = new_group_info;
        let seq = self.next_seq();

        // Fanout: the commit to every provider with clients before or after it (removed
        // clients should see their removal), the Welcome with the tree to the joiners'
        // providers.
        let mut fanout = Vec::new();
        let commit_message = FanoutMessage {
            timestamp: ctx.now_ms,
            payload: FanoutPayload::Commit {
                message: commit.clone(),
                external_proposals: vec![],
            },
        };
        let mut destinations = domains_before;
        destinations.extend(self.provider_domains());
        for destination in destinations {
            fanout.push(Fanout {
                destination,
                message: commit_message.clone(),
            });
        }
        if let Some(w) = welcome {
            let tree = self
                .ratchet_tree()
                .map_err(|e| Refusal::NotAllowed(format!("{INTERNAL}{e}")))?;
            let welcome_message = welcome_mls_message(w)
                .map_err(|e| Refusal::NotAllowed(format!("{INTERNAL}{e}")))?;
            for destination in welcome_to {
                fanout.push(Fanout {
                    destination,
                    message: FanoutMessage {
                        timestamp: ctx.now_ms,
                        payload: FanoutPayload::Welcome {
                            message: welcome_message.clone(),
                            ratchet_tree: RatchetTreeOption::Full(tree.clone()),
                        },
                    },
                });
            }
        }
        Ok(Accepted { seq, fanout })
    }

    /// The provider responsible for a by-reference proposal's sender (it was checked when
    /// the hub accepted the proposal).
    fn sender_domain(&self, sender: &Sender, fallback: &ProviderDomain) -> ProviderDomain {
        match sender {
            Sender::Member(leaf) => self
                .leaf(*leaf)
                .map(|l| l.domain.clone())
                .unwrap_or_else(|| fallback.clone()),
            _ => fallback.clone(),
        }
    }

    /// Validate the committer's GroupInfo for the new epoch and return it in full form.
    fn check_group_info(
        &self,
        option: &GroupInfoOption,
        context: &openmls::prelude::GroupContext,
        confirmation_tag: openmls::prelude::ConfirmationTag,
        signer: LeafNodeIndex,
        signer_key: openmls::prelude::SignaturePublicKey,
    ) -> Checked<GroupInfo> {
        let (extensions, signature) = match option {
            GroupInfoOption::Full(gi) => {
                let received = gi.parse().map_err(|e| Refusal::NotAllowed(e.to_string()))?;
                (received.extensions().clone(), received.signature().clone())
            }
            GroupInfoOption::Partial(partial) => {
                // ratchet-tree-options-03 §5: only GroupInfos signed without a ratchet_tree
                // extension can be rebuilt here (docs/decisions/0009).
                if !matches!(
                    partial.ratchet_tree_presence,
                    RatchetTreePresence::NoRatchetTree | RatchetTreePresence::Removed
                ) {
                    return Err(Refusal::NotAllowed(
                        "partial GroupInfo with a ratchet_tree is not supported".into(),
                    ));
                }
                let encoded = partial
                    .group_info_extensions
                    .tls_serialize_detached()
                    .map_err(|e| Refusal::NotAllowed(format!("{INTERNAL}{e:?}")))?;
                let extensions = Extensions::tls_deserialize_exact(encoded).map_err(|e| {
                    Refusal::NotAllowed(format!("partial GroupInfo extensions: {e:?}"))
                })?;
                (
                    extensions,
                    Signature::from(partial.signature.as_slice().to_vec()),
                )
            }
        };
        let expected = VerifiableGroupInfo::new(
            context.clone(),
            extensions,
            confirmation_tag,
            signer,
            signature,
        );
        let bytes = expected
            .tls_serialize_detached()
            .map_err(|e| Refusal::NotAllowed(format!("{INTERNAL}{e:?}")))?;
        if let GroupInfoOption::Full(gi) = option
            && gi.as_bytes() != bytes.as_slice()
        {
            return Err(Refusal::NotAllowed(
                "the GroupInfo does not match the commit's new epoch".into(),
            ));
        }
        let key = OpenMlsSignaturePublicKey::from_signature_key(
            signer_key,
            CIPHERSUITE.signature_algorithm(),
        );
        expected
            .verify_no_out(self.provider.crypto(), &key)
            .map_err(|_| Refusal::NotAllowed("the GroupInfo signature does not verify".into()))?;
        GroupInfo::from_bytes(bytes).map_err(|e| Refusal::NotAllowed(e.to_string()))
    }
}

/// Prefix marking a refusal that is really an internal failure.
const INTERNAL: &str = "internal: ";

/// Frame a bare Welcome as an `MLSMessage` for fanout.
fn welcome_mls_message(w: &Welcome) -> Result<MlsMessage, RoomError> {
    let mut bytes = Vec::with_capacity(w.as_bytes().len() + 4);
    bytes.extend_from_slice(&[0, 1, 0, 3]); // version mls10, wire_format mls_welcome
    bytes.extend_from_slice(w.as_bytes());
    Ok(MlsMessage::from_bytes(bytes)?)
}

impl HubRoom {
    /// Propose, as the room's MLS external sender, the removal of every client of `user`
    /// (protocol-06 §7.2: e.g. the user's provider stopped federating, or the user was banned
    /// and its clients must go). The proposals are cached like any accepted proposal, so the
    /// next commit must include them, and fanned out.
    pub fn propose_remove_user(
        &mut self,
        ctx: &HubContext<'_>,
        user: &mimi_types::id::MimiUri,
    ) -> Result<Accepted, RoomError> {
        let index = external_sender_position(
            self.group.group_context().extensions().external_senders(),
            ctx.hub.signer.public(),
        )
        .ok_or_else(|| {
            RoomError::Invalid("the hub is not an external sender of this room".into())
        })?;
        let index = u32::try_from(index)
            .map_err(|_| RoomError::Internal("external sender index".into()))?;
        let leaves: Vec<u32> = self
            .leaves
            .iter()
            .filter(|(_, id)| &id.user == user)
            .map(|(leaf, _)| *leaf)
            .collect();
        if leaves.is_empty() {
            return Err(RoomError::Invalid(format!(
                "{user} has no client in the room"
            )));
        }
        let mut messages = Vec::new();
        for leaf in leaves {
            let out = openmls::prelude::ExternalProposal::new_remove::<
                openmls_rust_crypto::OpenMlsRustCrypto,
            >(
                LeafNodeIndex::new(leaf),
                self.group.group_id().clone(),
                self.group.group_context().epoch(),
                &ctx.hub.signer,
                openmls::prelude::SenderExtensionIndex::new(index),
            )
            .map_err(|e| RoomError::Internal(format!("external proposal: {e:?}")))?;
            messages.push(MlsMessage::from_bytes(
                out.tls_serialize_detached()
                    .map_err(|e| RoomError::Internal(format!("encoding: {e:?}")))?,
            )?);
        }
        let (first, more) = messages
            .split_first()
            .ok_or_else(|| RoomError::Internal("no proposal".into()))?;
        let hub_domain = ctx.hub.domain.clone();
        match self.handle_proposals(ctx, &hub_domain, first, more) {
            Ok(accepted) => Ok(accepted),
            Err(Refusal::NotAllowed(why) | Refusal::InvalidProposal(_, why)) => {
                Err(RoomError::Invalid(why))
            }
            Err(Refusal::WrongEpoch(_)) => {
                Err(RoomError::Internal("hub proposal for a wrong epoch".into()))
            }
        }
    }
}
