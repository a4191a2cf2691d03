//! Room operations of a client: create, add and remove users, leave, commit, send, join by
//! Welcome or external commit, and process what the hub fans out.

use mimi_content::{MessageId, MimiContent};
use mimi_room::app_data::{self, policy_components, policy_state};
use mimi_room::policy::PolicyState;
use mimi_room::profile;
use mimi_types::id::{GroupUri, MimiUri, RoomUri};
use mimi_types::wire::{
    FanoutMessage, FanoutPayload, Frank, FrankAad, FrankingAgentData, GroupInfo, GroupInfoOption,
    HandshakeBundle, MlsMessage, ParticipantListUpdate, Protocol, RatchetTree, RatchetTreeOption,
    RoomComponentUpdate, SafeAad, SafeAadItem, ServerFrankingContext, SubmitMessageRequest,
    UpdateRequest, UserIndexRolePair, UserRolePair, Welcome,
};
use openmls::group::StagedCommit;
use openmls::prelude::tls_codec::Serialize as _;
use openmls::prelude::{
    AppDataDictionaryExtension, AppDataUpdateProposal, Extension, Extensions, ExternalSender,
    GroupId, LeafNodeIndex, MlsGroup, MlsGroupCreateConfig, MlsGroupJoinConfig, MlsMessageOut,
    ProcessedMessageContent, Proposal, ProtocolMessage, StagedWelcome,
};

use crate::MimiClient;
use crate::error::{ClientError, mls};

/// Something the user should see or the app should know, from processing a fanout message.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// This client joined the room (by Welcome).
    Joined {
        /// The room.
        room: RoomUri,
    },
    /// A message was decrypted and its content decoded.
    Message {
        /// The room.
        room: RoomUri,
        /// The sender's user, from its MLS credential.
        sender: Option<MimiUri>,
        /// The content.
        content: Box<MimiContent>,
        /// The -08 message ID.
        message_id: MessageId,
        /// The hub acceptance time (ms since the UNIX epoch).
        timestamp: u64,
        /// The hub franked the message and its signature verified.
        franked: bool,
    },
    /// A commit moved the room to a new epoch.
    Committed {
        /// The room.
        room: RoomUri,
        /// The new epoch.
        epoch: u64,
    },
    /// Proposals were received and stored for the next commit.
    Proposed {
        /// The room.
        room: RoomUri,
        /// How many.
        count: usize,
    },
    /// This client was removed from the room.
    Removed {
        /// The room.
        room: RoomUri,
    },
}

/// What a joiner needs to join by external commit: the GroupInfo (without tree), the tree and
/// the hub's pending proposals of the epoch (protocol-06 §5.6).
#[derive(Debug, Clone)]
pub struct JoinInfo {
    /// The current GroupInfo.
    pub group_info: GroupInfo,
    /// The current ratchet tree.
    pub ratchet_tree: RatchetTree,
    /// Proposals the hub accepted in this epoch.
    pub pending_proposals: Vec<MlsMessage>,
}

fn join_config() -> MlsGroupJoinConfig {
    MlsGroupJoinConfig::builder()
        .wire_format_policy(profile::WIRE_FORMAT_POLICY)
        .use_ratchet_tree_extension(false)
        .build()
}

fn to_wire(m: &MlsMessageOut) -> Result<MlsMessage, ClientError> {
    Ok(MlsMessage::from_bytes(
        m.tls_serialize_detached().map_err(mls)?,
    )?)
}

fn protocol_message(m: &MlsMessage) -> Result<ProtocolMessage, ClientError> {
    m.parse()?.try_into_protocol_message().map_err(mls)
}

impl MimiClient {
    fn group(&self, room: &RoomUri) -> Result<&MlsGroup, ClientError> {
        self.rooms
            .get(room)
            .ok_or_else(|| ClientError::UnknownRoom(room.to_string()))
    }

    /// Drop a room this client holds (a creation or join the hub refused).
    pub fn forget_room(&mut self, room: &RoomUri) {
        self.rooms.remove(room);
    }

    /// The room's current policy state (participant list, roles, base policy) as this client
    /// sees it.
    pub fn room_state(&self, room: &RoomUri) -> Result<PolicyState, ClientError> {
        let group = self.group(room)?;
        let dict = group.extensions().app_data_dictionary().ok_or(
            mimi_room::RoomError::MissingComponent("app_data_dictionary"),
        )?;
        Ok(policy_state(dict.dictionary())?)
    }

    /// The room's MLS epoch.
    pub fn epoch(&self, room: &RoomUri) -> Result<u64, ClientError> {
        Ok(self.group(room)?.epoch().as_u64())
    }

    /// Number of clients in the room's MLS group.
    pub fn member_count(&self, room: &RoomUri) -> Result<usize, ClientError> {
        Ok(self.group(room)?.members().count())
    }

    /// The group's ratchet tree, for publishing to the hub after creating the room.
    pub fn ratchet_tree(&self, room: &RoomUri) -> Result<RatchetTree, ClientError> {
        let tree = self.group(room)?.export_ratchet_tree();
        Ok(RatchetTree::from_bytes(
            tree.tls_serialize_detached().map_err(mls)?,
        )?)
    }

    /// The group's current GroupInfo (without the ratchet tree), signed by this client.
    pub fn group_info(&self, room: &RoomUri) -> Result<GroupInfo, ClientError> {
        let group = self.group(room)?;
        let gi = group
            .export_group_info(
                openmls::prelude::OpenMlsProvider::crypto(&self.provider),
                &self.signer,
                false,
            )
            .map_err(mls)?;
        let bytes = gi.tls_serialize_detached().map_err(mls)?;
        // Strip the MLSMessage header (version, wire_format): the bare GroupInfo.
        Ok(GroupInfo::from_bytes(
            bytes.get(4..).unwrap_or_default().to_vec(),
        )?)
    }

    /// Create the MLS group of a room the hub established (protocol-06 §3 flow 1): group ID
    /// `group`, the hub as external sender, the room's initial policy components, and the
    /// hub as franking agent when the room franks messages (protocol-06 §5.4.1).
    pub fn create_room(
        &mut self,
        room: RoomUri,
        group: &GroupUri,
        hub: ExternalSender,
        franking_agent: Option<FrankingAgentData>,
        state: &PolicyState,
    ) -> Result<JoinInfo, ClientError> {
        let mut dict = policy_components(state)?;
        if let Some(agent) = franking_agent {
            let component = mimi_types::wire::RoomComponentData::FrankingAgent(agent);
            dict.insert(component.component_id(), component.encode()?);
        }
        let extensions = Extensions::from_vec(vec![
            profile::required_capabilities(),
            profile::external_senders(vec![hub]),
            Extension::AppDataDictionary(AppDataDictionaryExtension::new(dict)),
        ])
        .map_err(mls)?;
        let config = MlsGroupCreateConfig::builder()
            .ciphersuite(profile::CIPHERSUITE)
            .wire_format_policy(profile::WIRE_FORMAT_POLICY)
            .use_ratchet_tree_extension(false)
            .capabilities(profile::leaf_capabilities())
            .with_group_context_extensions(extensions)
            .build();
        let mls_group = MlsGroup::new_with_group_id(
            &self.provider,
            &self.signer,
            &config,
            GroupId::from_slice(group.as_str().as_bytes()),
            self.credential.clone(),
        )
        .map_err(mls)?;
        self.rooms.insert(room.clone(), mls_group);
        Ok(JoinInfo {
            group_info: self.group_info(&room)?,
            ratchet_tree: self.ratchet_tree(&room)?,
            pending_proposals: vec![],
        })
    }

    /// Add users to the room: one commit with the participant-list AppDataUpdate and an MLS
    /// Add for every KeyPackage (protocol-06 §5.3: the list change is committed no later than
    /// the Adds). Each entry is (user, role index, that user's clients' KeyPackages).
    pub fn add_users(
        &mut self,
        room: &RoomUri,
        additions: &[(MimiUri, u32, Vec<mimi_types::wire::KeyPackage>)],
    ) -> Result<UpdateRequest, ClientError> {
        let update = ParticipantListUpdate {
            changed_role_participants: vec![],
            removed_indices: vec![],
            added_participants: additions
                .iter()
                .map(|(user, role, _)| UserRolePair {
                    user: user.clone().into(),
                    role_index: *role,
                })
                .collect(),
        };
        let key_packages: Vec<_> = additions
            .iter()
            .flat_map(|(_, _, kps)| kps.iter().cloned())
            .collect();
        let proposal = RoomComponentUpdate::ParticipantList(update).to_proposal()?;
        self.commit(room, key_packages, vec![], vec![proposal])
    }

    /// Remove users and all their clients in one commit (protocol-06 §5.3).
    pub fn remove_users(
        &mut self,
        room: &RoomUri,
        users: &[MimiUri],
    ) -> Result<UpdateRequest, ClientError> {
        let state = self.room_state(room)?;
        let mut removed_indices = Vec::new();
        for user in users {
            let index = participant_index(&state, user)?;
            removed_indices.push(index);
        }
        let leaves = self.leaves_of(room, users)?;
        let update = ParticipantListUpdate {
            changed_role_participants: vec![],
            removed_indices,
            added_participants: vec![],
        };
        let proposal = RoomComponentUpdate::ParticipantList(update).to_proposal()?;
        self.commit(room, vec![], leaves, vec![proposal])
    }

    /// Change users' roles (room-policy-03 role changes) in one commit.
    pub fn change_roles(
        &mut self,
        room: &RoomUri,
        changes: &[(MimiUri, u32)],
    ) -> Result<UpdateRequest, ClientError> {
        let state = self.room_state(room)?;
        let mut changed = Vec::new();
        for (user, role) in changes {
            let index = participant_index(&state, user)?;
            changed.push(UserIndexRolePair {
                user_index: index,
                role_index: *role,
            });
        }
        let update = ParticipantListUpdate {
            changed_role_participants: changed,
            removed_indices: vec![],
            added_participants: vec![],
        };
        let proposal = RoomComponentUpdate::ParticipantList(update).to_proposal()?;
        self.commit(room, vec![], vec![], vec![proposal])
    }

    /// Leaf indices of every client of these users in the room's MLS group.
    pub fn leaves_of(
        &self,
        room: &RoomUri,
        users: &[MimiUri],
    ) -> Result<Vec<LeafNodeIndex>, ClientError> {
        let group = self.group(room)?;
        let mut leaves = Vec::new();
        for member in group.members() {
            if let Ok((_, user)) = mimi_credential::peek_identity(&member.credential) {
                let user: MimiUri = user.into();
                if users.contains(&user) {
                    leaves.push(member.index);
                }
            }
        }
        Ok(leaves)
    }

    /// Build a commit with Adds, Removes, extra AppDataUpdate proposals and the pending
    /// proposals of the epoch, computing the app data dictionary exactly as the hub will. The
    /// commit stays pending until [`MimiClient::commit_accepted`] or
    /// [`MimiClient::commit_rejected`]. The higher-level operations (`add_users`,
    /// `remove_users`, ...) keep the participant list and MLS membership consistent; this one
    /// does not check, so it also serves to test that a hub refuses inconsistent commits.
    pub fn commit(
        &mut self,
        room: &RoomUri,
        adds: Vec<mimi_types::wire::KeyPackage>,
        removes: Vec<LeafNodeIndex>,
        proposals: Vec<AppDataUpdateProposal>,
    ) -> Result<UpdateRequest, ClientError> {
        let mut verified = Vec::with_capacity(adds.len());
        for kp in adds {
            verified.push(
                kp.parse()?
                    .validate(
                        openmls::prelude::OpenMlsProvider::crypto(&self.provider),
                        openmls::prelude::ProtocolVersion::Mls10,
                    )
                    .map_err(mls)?,
            );
        }
        let adds = verified;
        self.commit_with(room, adds, removes, proposals, true)
    }

    fn commit_with(
        &mut self,
        room: &RoomUri,
        adds: Vec<openmls::prelude::KeyPackage>,
        removes: Vec<LeafNodeIndex>,
        proposals: Vec<AppDataUpdateProposal>,
        include_pending: bool,
    ) -> Result<UpdateRequest, ClientError> {
        let provider = &self.provider;
        let signer = &self.signer;
        let group = self
            .rooms
            .get_mut(room)
            .ok_or_else(|| ClientError::UnknownRoom(room.to_string()))?;
        let mut stage = group
            .commit_builder()
            .consume_proposal_store(include_pending)
            .propose_adds(adds)
            .propose_removals(removes)
            .add_proposals(
                proposals
                    .into_iter()
                    .map(|p| Proposal::AppDataUpdate(Box::new(p))),
            )
            .load_psks(openmls::prelude::OpenMlsProvider::storage(provider))
            .map_err(mls)?
            .use_ratchet_tree_extension(false)
            .create_group_info(true);
        if include_pending {
            let mut updater = stage.app_data_dictionary_updater();
            app_data::resolve_updates(&mut updater, stage.app_data_update_proposals())?;
            let changes = updater.changes();
            stage.with_app_data_dictionary_updates(changes);
        }
        let bundle = stage
            .build(
                openmls::prelude::OpenMlsProvider::rand(provider),
                openmls::prelude::OpenMlsProvider::crypto(provider),
                signer,
                |_| true,
            )
            .map_err(mls)?
            .stage_commit(provider)
            .map_err(mls)?;
        let (commit, welcome, group_info) = bundle.into_contents();
        let group_info =
            group_info.ok_or_else(|| ClientError::Mls("commit built without GroupInfo".into()))?;
        let tree = group
            .pending_commit()
            .ok_or_else(|| ClientError::Mls("commit not staged".into()))?
            .export_ratchet_tree(
                openmls::prelude::OpenMlsProvider::crypto(provider),
                group.export_ratchet_tree(),
            )
            .map_err(mls)?
            .ok_or_else(|| ClientError::Mls("staged commit has no tree".into()))?;
        let welcome = welcome
            .map(|w| -> Result<Welcome, ClientError> {
                Ok(Welcome::from_bytes(
                    w.tls_serialize_detached().map_err(mls)?,
                )?)
            })
            .transpose()?;
        Ok(UpdateRequest {
            bundle: HandshakeBundle::Commit {
                commit: to_wire(&commit)?,
                welcome,
                group_info: GroupInfoOption::Full(GroupInfo::from_bytes(
                    group_info.tls_serialize_detached().map_err(mls)?,
                )?),
                ratchet_tree: RatchetTreeOption::Full(RatchetTree::from_bytes(
                    tree.tls_serialize_detached().map_err(mls)?,
                )?),
            },
        })
    }

    /// Commit every pending proposal of the epoch (e.g. after someone asked to leave).
    pub fn commit_pending(&mut self, room: &RoomUri) -> Result<UpdateRequest, ClientError> {
        self.commit(room, vec![], vec![], vec![])
    }

    /// An empty commit that leaves out the epoch's pending proposals. Only useful to test that
    /// a hub enforces their inclusion (protocol-06 §3 flow 5); a well-behaved client never
    /// sends it.
    pub fn commit_ignoring_pending(
        &mut self,
        room: &RoomUri,
    ) -> Result<UpdateRequest, ClientError> {
        self.commit_with(room, vec![], vec![], vec![], false)
    }

    /// The hub accepted this client's commit: apply it.
    pub fn commit_accepted(&mut self, room: &RoomUri) -> Result<(), ClientError> {
        let provider = &self.provider;
        self.rooms
            .get_mut(room)
            .ok_or_else(|| ClientError::UnknownRoom(room.to_string()))?
            .merge_pending_commit(provider)
            .map_err(mls)
    }

    /// The hub refused this client's commit (another won the epoch, or policy): drop it.
    pub fn commit_rejected(&mut self, room: &RoomUri) -> Result<(), ClientError> {
        let provider = &self.provider;
        self.rooms
            .get_mut(room)
            .ok_or_else(|| ClientError::UnknownRoom(room.to_string()))?
            .clear_pending_commit(openmls::prelude::OpenMlsProvider::storage(provider))
            .map_err(mls)
    }

    /// Leave the room: Remove proposals for every client of this user and the
    /// participant-list AppDataUpdate removing the user, as proposals another member commits
    /// (protocol-06 §3 flow 5).
    pub fn leave(&mut self, room: &RoomUri) -> Result<UpdateRequest, ClientError> {
        let me = self.user();
        let state = self.room_state(room)?;
        let index = participant_index(&state, &me)?;
        let own_leaves = self.leaves_of(room, std::slice::from_ref(&me))?;
        let provider = &self.provider;
        let signer = &self.signer;
        let group = self
            .rooms
            .get_mut(room)
            .ok_or_else(|| ClientError::UnknownRoom(room.to_string()))?;
        let update = RoomComponentUpdate::ParticipantList(ParticipantListUpdate {
            changed_role_participants: vec![],
            removed_indices: vec![index],
            added_participants: vec![],
        })
        .to_proposal()?;
        let (first, _) = group
            .propose_app_data_update(
                provider,
                signer,
                update.component_id(),
                update.operation().clone(),
            )
            .map_err(mls)?;
        let mut more = Vec::new();
        for leaf in own_leaves {
            let (m, _) = group
                .propose_remove_member(provider, signer, leaf)
                .map_err(mls)?;
            more.push(to_wire(&m)?);
        }
        Ok(UpdateRequest {
            bundle: HandshakeBundle::Proposals {
                proposal: to_wire(&first)?,
                more_proposals: more,
            },
        })
    }

    /// Encrypt MIMI content for the room (a PrivateMessage application message).
    pub fn send(
        &mut self,
        room: &RoomUri,
        content: &MimiContent,
    ) -> Result<SubmitMessageRequest, ClientError> {
        let bytes = content.to_cbor();
        let provider = &self.provider;
        let signer = &self.signer;
        let sending_uri = MimiUri::from(self.user.clone());
        let group = self
            .rooms
            .get_mut(room)
            .ok_or_else(|| ClientError::UnknownRoom(room.to_string()))?;
        if franking_agent(group).is_some() {
            // protocol-06 §5.4.1: the franking tag travels in the Safe AAD.
            let tag = mimi_room::franking::franking_tag(&bytes)?;
            let item = FrankAad { franking_tag: tag }
                .tls_serialize_detached()
                .map_err(mls)?;
            let aad = SafeAad {
                aad_items: vec![SafeAadItem {
                    component_id: mimi_types::wire::components::FRANK_AAD,
                    aad_item_data: item.into(),
                }],
            };
            group.set_aad(aad.tls_serialize_detached().map_err(mls)?);
        }
        let message = to_wire(
            &group
                .create_message(provider, signer, &bytes)
                .map_err(mls)?,
        )?;
        self.sent.insert(message.as_bytes().to_vec());
        Ok(SubmitMessageRequest {
            protocol: Protocol::Mls10,
            app_message: message,
            sending_uri: sending_uri.into(),
        })
    }

    /// Send a plain-text message; `salt` must be 16 random bytes.
    pub fn send_text(
        &mut self,
        room: &RoomUri,
        salt: [u8; 16],
        text: &str,
        in_reply_to: Option<MessageId>,
    ) -> Result<SubmitMessageRequest, ClientError> {
        let content = MimiContent::text(salt, self.user.as_str(), room.as_str(), text, in_reply_to);
        self.send(room, &content)
    }

    /// Join a room by external commit with the hub's GroupInfo, tree and pending proposals
    /// (protocol-06 §3 flow 6). `add_self` adds this user to the participant list with that
    /// role (an open room); a new device of an existing participant passes `None`.
    pub fn join_by_external_commit(
        &mut self,
        room: RoomUri,
        info: JoinInfo,
        add_self: Option<u32>,
    ) -> Result<UpdateRequest, ClientError> {
        let group_info = info.group_info.parse()?;
        let tree = info.ratchet_tree.parse()?;
        let mut proposals = Vec::new();
        for p in &info.pending_proposals {
            match p.parse()?.extract() {
                openmls::prelude::MlsMessageBodyIn::PublicMessage(pm) => proposals.push(pm),
                _ => {
                    return Err(ClientError::Invalid(
                        "pending proposal is not a PublicMessage".into(),
                    ));
                }
            }
        }
        let mut builder = MlsGroup::external_commit_builder()
            .with_ratchet_tree(tree)
            .with_config(join_config())
            .with_proposals(proposals)
            .build_group(&self.provider, group_info, self.credential.clone())
            .map_err(mls)?;
        if let Some(role) = add_self {
            let update = RoomComponentUpdate::ParticipantList(ParticipantListUpdate {
                changed_role_participants: vec![],
                removed_indices: vec![],
                added_participants: vec![UserRolePair {
                    user: self.user().into(),
                    role_index: role,
                }],
            })
            .to_proposal()?;
            builder = builder.add_app_data_update_proposal(update);
        }
        let mut stage = builder
            .leaf_node_parameters(
                openmls::treesync::LeafNodeParameters::builder()
                    .with_capabilities(profile::leaf_capabilities())
                    .build(),
            )
            .load_psks(openmls::prelude::OpenMlsProvider::storage(&self.provider))
            .map_err(mls)?
            .create_group_info(true);
        let mut updater = stage.app_data_dictionary_updater();
        app_data::resolve_updates(&mut updater, stage.app_data_update_proposals())?;
        let changes = updater.changes();
        stage.with_app_data_dictionary_updates(changes);
        let (group, bundle) = stage
            .build(
                openmls::prelude::OpenMlsProvider::rand(&self.provider),
                openmls::prelude::OpenMlsProvider::crypto(&self.provider),
                &self.signer,
                |_| true,
            )
            .map_err(mls)?
            .finalize(&self.provider)
            .map_err(mls)?;
        let (commit, _welcome, group_info) = bundle.into_contents();
        let group_info = group_info
            .ok_or_else(|| ClientError::Mls("external commit without GroupInfo".into()))?;
        let tree = group.export_ratchet_tree();
        self.rooms.insert(room, group);
        Ok(UpdateRequest {
            bundle: HandshakeBundle::Commit {
                commit: to_wire(&commit)?,
                welcome: None,
                group_info: GroupInfoOption::Full(GroupInfo::from_bytes(
                    group_info.tls_serialize_detached().map_err(mls)?,
                )?),
                ratchet_tree: RatchetTreeOption::Full(RatchetTree::from_bytes(
                    tree.tls_serialize_detached().map_err(mls)?,
                )?),
            },
        })
    }

    /// Process one message the hub fanned out for `room`.
    pub fn process(
        &mut self,
        room: &RoomUri,
        fanout: &FanoutMessage,
    ) -> Result<Vec<ClientEvent>, ClientError> {
        match &fanout.payload {
            FanoutPayload::Welcome {
                message,
                ratchet_tree,
            } => self.process_welcome(room, message, ratchet_tree),
            FanoutPayload::Application { message, frank } => {
                self.process_application(room, message, frank.as_ref(), fanout.timestamp)
            }
            FanoutPayload::Proposal {
                message,
                more_proposals,
            } => {
                let mut count = 0;
                for m in std::iter::once(message).chain(more_proposals) {
                    count += self.process_proposal(room, m)?;
                }
                Ok(vec![ClientEvent::Proposed {
                    room: room.clone(),
                    count,
                }])
            }
            FanoutPayload::Commit {
                message,
                external_proposals,
            } => {
                let mut events = self.process_commit(room, message)?;
                if !external_proposals.is_empty() && self.rooms.contains_key(room) {
                    let mut count = 0;
                    for m in external_proposals {
                        count += self.process_proposal(room, m)?;
                    }
                    events.push(ClientEvent::Proposed {
                        room: room.clone(),
                        count,
                    });
                }
                Ok(events)
            }
        }
    }

    fn process_welcome(
        &mut self,
        room: &RoomUri,
        message: &MlsMessage,
        ratchet_tree: &RatchetTreeOption,
    ) -> Result<Vec<ClientEvent>, ClientError> {
        let welcome = match message.parse()?.extract() {
            openmls::prelude::MlsMessageBodyIn::Welcome(w) => w,
            _ => return Err(ClientError::Invalid("not a Welcome".into())),
        };
        let tree = match ratchet_tree {
            RatchetTreeOption::Full(t) => Some(t.parse()?),
            _ => None,
        };
        let staged = StagedWelcome::new_from_welcome(&self.provider, &join_config(), welcome, tree)
            .map_err(mls)?;
        let group = staged.into_group(&self.provider).map_err(mls)?;
        self.rooms.insert(room.clone(), group);
        Ok(vec![ClientEvent::Joined { room: room.clone() }])
    }

    fn process_application(
        &mut self,
        room: &RoomUri,
        message: &MlsMessage,
        frank: Option<&Frank>,
        timestamp: u64,
    ) -> Result<Vec<ClientEvent>, ClientError> {
        // Our own message, fanned out to our provider for its other clients.
        if self.sent.remove(message.as_bytes()) {
            return Ok(vec![]);
        }
        let provider = &self.provider;
        let group = self
            .rooms
            .get_mut(room)
            .ok_or_else(|| ClientError::UnknownRoom(room.to_string()))?;
        let processed = group
            .process_message(provider, protocol_message(message)?)
            .map_err(mls)?;
        let sender = mimi_credential::peek_identity(processed.credential())
            .ok()
            .map(|(_, u)| MimiUri::from(u));
        match processed.into_content() {
            ProcessedMessageContent::ApplicationMessage(app) => {
                let bytes = app.into_bytes();
                let content = mimi_content::decode(&bytes)?;
                let message_id = content.message_id_08(&bytes)?;
                // protocol-06 §5.4.1, receiver: verify the hub's frank against the context we
                // derive ourselves (sender from the credential, this room, the hub time).
                let franked = match (frank, franking_agent(group), &sender) {
                    (Some(frank), Some(agent), Some(sender)) if agent_is_hub(&agent, room) => {
                        let tag = mimi_room::franking::franking_tag(&bytes)?;
                        let context = ServerFrankingContext {
                            sender_uri: sender.clone().into(),
                            room_uri: MimiUri::from(room.clone()).into(),
                            accepted_timestamp: timestamp,
                        };
                        mimi_room::franking::verify_frank(
                            openmls::prelude::OpenMlsProvider::crypto(provider),
                            agent.franking_signature_key.as_slice(),
                            frank,
                            &tag,
                            context,
                        )?;
                        true
                    }
                    _ => false,
                };
                Ok(vec![ClientEvent::Message {
                    room: room.clone(),
                    sender,
                    content: Box::new(content),
                    message_id,
                    timestamp,
                    franked,
                }])
            }
            _ => Err(ClientError::Invalid(
                "expected an application message".into(),
            )),
        }
    }

    fn process_proposal(
        &mut self,
        room: &RoomUri,
        message: &MlsMessage,
    ) -> Result<usize, ClientError> {
        let provider = &self.provider;
        let group = self
            .rooms
            .get_mut(room)
            .ok_or_else(|| ClientError::UnknownRoom(room.to_string()))?;
        // Our own proposals come back from the hub; they are already in our store.
        if sent_by(message, group.own_leaf_index()) {
            return Ok(0);
        }
        let processed = group
            .process_message(provider, protocol_message(message)?)
            .map_err(mls)?;
        match processed.into_content() {
            ProcessedMessageContent::ProposalMessage(p)
            | ProcessedMessageContent::ExternalJoinProposalMessage(p) => {
                group
                    .store_pending_proposal(
                        openmls::prelude::OpenMlsProvider::storage(provider),
                        *p,
                    )
                    .map_err(mls)?;
                Ok(1)
            }
            _ => Err(ClientError::Invalid("expected a proposal".into())),
        }
    }

    fn process_commit(
        &mut self,
        room: &RoomUri,
        message: &MlsMessage,
    ) -> Result<Vec<ClientEvent>, ClientError> {
        let provider = &self.provider;
        let group = self
            .rooms
            .get_mut(room)
            .ok_or_else(|| ClientError::UnknownRoom(room.to_string()))?;
        // Our own commit, echoed back by the hub after acceptance.
        if group.pending_commit().is_some() {
            if sent_by(message, group.own_leaf_index())
                && message.kind_epoch() == Some(group.epoch().as_u64())
            {
                group.merge_pending_commit(provider).map_err(mls)?;
                let epoch = group.epoch().as_u64();
                return Ok(vec![ClientEvent::Committed {
                    room: room.clone(),
                    epoch,
                }]);
            }
            // Another commit won the epoch: drop ours.
            group
                .clear_pending_commit(openmls::prelude::OpenMlsProvider::storage(provider))
                .map_err(mls)?;
        }
        let processed = match group.process_message(provider, protocol_message(message)?) {
            Ok(p) => p,
            Err(openmls::prelude::ProcessMessageError::ValidationError(
                openmls::prelude::ValidationError::WrongEpoch,
            )) if message.kind_epoch() < Some(group.epoch().as_u64()) => {
                // Already applied (e.g. our own commit merged on acceptance).
                return Ok(vec![]);
            }
            Err(e) => return Err(mls(e)),
        };
        let staged: StagedCommit = match processed.into_content() {
            ProcessedMessageContent::StagedCommitMessage(s) => *s,
            ProcessedMessageContent::UnresolvedAppDataCommit(unresolved) => {
                let mut updater = group.app_data_dictionary_updater();
                app_data::resolve_updates(&mut updater, unresolved.app_data_update_proposals())?;
                let changes = updater.changes();
                group
                    .stage_app_data_commit(provider, *unresolved, changes)
                    .map_err(mls)?
            }
            _ => return Err(ClientError::Invalid("expected a commit".into())),
        };
        let removed = staged.self_removed();
        group.merge_staged_commit(provider, staged).map_err(mls)?;
        if removed {
            // Forget the group entirely, so a later Welcome to the same group can be joined.
            if let Some(mut group) = self.rooms.remove(room) {
                group
                    .delete(openmls::prelude::OpenMlsProvider::storage(&self.provider))
                    .map_err(mls)?;
            }
            return Ok(vec![ClientEvent::Removed { room: room.clone() }]);
        }
        let epoch = group.epoch().as_u64();
        Ok(vec![ClientEvent::Committed {
            room: room.clone(),
            epoch,
        }])
    }
}

/// Position of a user in the participant list (what ParticipantListUpdate indices mean).
fn participant_index(state: &PolicyState, user: &MimiUri) -> Result<u32, ClientError> {
    state
        .participants
        .participants
        .iter()
        .position(|p| p.user.uri() == user)
        .and_then(|i| u32::try_from(i).ok())
        .ok_or_else(|| ClientError::Invalid(format!("{user} is not a participant")))
}

/// The room's franking agent, if the room franks messages.
fn franking_agent(group: &MlsGroup) -> Option<FrankingAgentData> {
    let dict = group.extensions().app_data_dictionary()?;
    let bytes = dict
        .dictionary()
        .get(&mimi_types::wire::components::FRANKING_AGENT)?;
    match mimi_types::wire::RoomComponentData::decode(
        mimi_types::wire::components::FRANKING_AGENT,
        bytes,
    ) {
        Ok(Some(mimi_types::wire::RoomComponentData::FrankingAgent(a))) => Some(a),
        _ => None,
    }
}

/// protocol-06 §5.4.1 (receiver): a frank counts only if the room's franking agent is the
/// room's hub, whose credential names its domain (docs/decisions/0050). A frank from any other
/// agent could not be confirmed by the hub in an abuse report.
fn agent_is_hub(agent: &FrankingAgentData, room: &RoomUri) -> bool {
    agent.credential.credential_type() == openmls::prelude::CredentialType::Basic
        && agent.credential.serialized_content() == room.domain().as_str().as_bytes()
}

/// Whether a PublicMessage was sent by the member at leaf `own`.
fn sent_by(message: &MlsMessage, own: LeafNodeIndex) -> bool {
    let Ok(parsed) = message.parse() else {
        return false;
    };
    match parsed.extract() {
        openmls::prelude::MlsMessageBodyIn::PublicMessage(pm) => {
            matches!(pm.sender(), openmls::prelude::Sender::Member(leaf) if *leaf == own)
        }
        _ => false,
    }
}

/// Epoch of a framed message.
trait KindEpoch {
    fn kind_epoch(&self) -> Option<u64>;
}

impl KindEpoch for MlsMessage {
    fn kind_epoch(&self) -> Option<u64> {
        match self.kind() {
            mimi_types::wire::MlsMessageKind::Framed { epoch, .. } => Some(epoch),
            _ => None,
        }
    }
}

#[cfg(test)]
mod franking_agent_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use openmls::prelude::{BasicCredential, SignaturePublicKey};

    fn agent(identity: &str) -> FrankingAgentData {
        FrankingAgentData {
            franking_signature_key: SignaturePublicKey::from(vec![7u8; 32]),
            credential: BasicCredential::new(identity.as_bytes().to_vec()).into(),
        }
    }

    #[test]
    fn only_the_rooms_hub_is_a_franking_agent() {
        let room = RoomUri::parse("mimi://a.example/r/clubhouse").unwrap();
        assert!(agent_is_hub(&agent("a.example"), &room));
        assert!(!agent_is_hub(&agent("b.example"), &room));
        assert!(!agent_is_hub(&agent("a.example.evil"), &room));
        assert!(!agent_is_hub(&agent(""), &room));
    }
}
