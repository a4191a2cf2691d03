//! One signed-in device of one user: its MLS state ([`MimiClient`]), its provider's client
//! API ([`RemoteApi`]) and how far it has read its event stream. Every user action is built
//! by the client library, saved, then handed to the provider; every event from the stream is
//! processed in cursor order and saved with the cursor.

use mimi_client::remote::fanout;
use mimi_client::{ClientError, ClientEvent, HubKeys, MimiClient, RemoteApi};
use mimi_content::MessageId;
use mimi_discovery::Sii;
use mimi_room::policy::{PolicyState, Preset};
use mimi_types::client_api::{SearchCode, SearchElement, SearchType, StreamEvent};
use mimi_types::id::{ConnectionId, GroupUri, MimiUri, RoomUri, UserUri};
use mimi_types::wire::{
    KeyPackage, SubmitMessageRequest, SubmitOutcome, UpdateOutcome, UpdateRequest,
};

use super::profile::Profile;
use crate::discovery_cmd::DpArgs;
use crate::error::CliError;

/// KeyPackages published when a device is registered, and the level it is topped up to.
const KEY_PACKAGES: u64 = 20;

/// Top up when fewer than this many KeyPackages remain.
const KEY_PACKAGES_LOW: u64 = 5;

/// One device of one user, talking to its provider only through the client API.
pub struct Session {
    /// The provider's client API, signed in.
    pub api: RemoteApi,
    /// The device's MLS state.
    pub mimi: MimiClient,
    /// The device id (`laptop`).
    pub device: String,
    /// The user's name at its provider.
    pub username: String,
    /// Last event cursor processed.
    pub cursor: u64,
    /// Where the session is kept, if anywhere.
    pub profile: Option<Profile>,
}

/// What happened when a stream event was processed.
#[derive(Debug)]
pub enum Seen {
    /// The client library's event.
    Event(ClientEvent),
    /// The event could not be processed (shown, then skipped: the stream moves on).
    Failed {
        /// The room.
        room: RoomUri,
        /// Why.
        error: String,
    },
}

fn random_salt() -> Result<[u8; 16], CliError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| CliError::Usage(format!("randomness: {e}")))?;
    Ok(salt)
}

impl Session {
    /// Register `username` at the provider behind `api`, sign in, certify `device` and publish
    /// its KeyPackages.
    pub async fn register(
        api: RemoteApi,
        username: &str,
        password: &str,
        display_name: &str,
        device: &str,
    ) -> Result<Session, CliError> {
        api.register(username, password, display_name).await?;
        Self::login(api, username, password, device).await
    }

    /// Sign in as `username` and certify a new device `device` with a fresh signature key.
    pub async fn login(
        mut api: RemoteApi,
        username: &str,
        password: &str,
        device: &str,
    ) -> Result<Session, CliError> {
        let login = api.login(username, password).await?;
        let signer = MimiClient::new_signer()?;
        let (client_uri, credential) = api.register_device(device, signer.public()).await?;
        let user = login.user_uri;
        let mimi = MimiClient::from_parts(client_uri, user, signer, credential)?;
        let session = Session {
            api,
            mimi,
            device: device.to_string(),
            username: username.to_string(),
            cursor: 0,
            profile: None,
        };
        session.publish_key_packages(KEY_PACKAGES).await?;
        Ok(session)
    }

    /// Write the session to its profile, if it has one.
    pub async fn save(&self) -> Result<(), CliError> {
        match &self.profile {
            Some(profile) => profile.save(self).await,
            None => Ok(()),
        }
    }

    /// This user.
    pub fn user(&self) -> MimiUri {
        self.mimi.user()
    }

    async fn publish_key_packages(&self, count: u64) -> Result<u64, CliError> {
        let count = usize::try_from(count).map_err(|e| CliError::Usage(e.to_string()))?;
        let kps = self.mimi.key_packages(count, false)?;
        let r = self.api.publish_key_packages(&self.device, &kps).await?;
        Ok(r.remaining)
    }

    /// Process every event the provider holds for this device, saving after each; top up
    /// KeyPackages others used to add this device. Returns what was seen.
    pub async fn sync(&mut self) -> Result<Vec<Seen>, CliError> {
        let mut seen = Vec::new();
        loop {
            let batch = self
                .api
                .events(&self.device, self.cursor, Some(100), None)
                .await?;
            if batch.events.is_empty() {
                break;
            }
            for event in batch.events {
                seen.extend(self.handle(&event).await?);
            }
        }
        if seen
            .iter()
            .any(|s| matches!(s, Seen::Event(ClientEvent::Joined { .. })))
        {
            self.top_up_key_packages().await?;
        }
        Ok(seen)
    }

    /// Publish KeyPackages if few remain (each add of this device claimed one).
    async fn top_up_key_packages(&self) -> Result<(), CliError> {
        // Publishing zero reports how many remain.
        let remaining = self
            .api
            .publish_key_packages(&self.device, &[])
            .await?
            .remaining;
        if remaining < KEY_PACKAGES_LOW {
            self.publish_key_packages(KEY_PACKAGES - remaining).await?;
        }
        Ok(())
    }

    /// Process one stream event (the next cursor) and save.
    pub async fn handle(&mut self, event: &StreamEvent) -> Result<Vec<Seen>, CliError> {
        if event.cursor <= self.cursor {
            return Ok(vec![]); // already processed (a replayed event)
        }
        let seen = match fanout(event).and_then(|m| self.mimi.process(&event.room, &m)) {
            Ok(events) => events.into_iter().map(Seen::Event).collect(),
            Err(e) => vec![Seen::Failed {
                room: event.room.clone(),
                error: e.to_string(),
            }],
        };
        self.cursor = event.cursor;
        self.save().await?;
        for s in &seen {
            if let Seen::Event(ClientEvent::Removed { room }) = s {
                // The provider stops fanning the room out to this device.
                self.api.left(room, &self.device).await?;
            }
        }
        Ok(seen)
    }

    /// Create a room hosted by this user's provider (its hub), with `preset` as the room's
    /// policy.
    pub async fn create_room(&mut self, id: &str, preset: Preset) -> Result<RoomUri, CliError> {
        let hub = self.api.hub().await?;
        self.create_room_with(&hub, id, preset).await
    }

    /// [`Session::create_room`] with the hub's keys already fetched.
    pub async fn create_room_with(
        &mut self,
        hub: &HubKeys,
        id: &str,
        preset: Preset,
    ) -> Result<RoomUri, CliError> {
        let room = RoomUri::parse(&format!("mimi://{}/r/{id}", hub.domain))?;
        let group = GroupUri::parse(&format!("mimi://{}/g/{id}", hub.domain))?;
        let policy = PolicyState::new_room(preset, self.user())
            .map_err(|e| CliError::Client(e.to_string()))?;
        let info = self.mimi.create_room(
            room.clone(),
            &group,
            hub.external_sender.clone(),
            Some(hub.franking_agent.clone()),
            &policy,
        )?;
        self.save().await?;
        let created = self
            .api
            .create_room(
                id,
                preset.name(),
                &self.device,
                &info.group_info,
                &info.ratchet_tree,
            )
            .await;
        match created {
            Ok(room) => Ok(room),
            Err(e) => {
                self.mimi.forget_room(&room);
                self.save().await?;
                Err(e.into())
            }
        }
    }

    /// Add users to a room: claim their KeyPackages (through the hub for other providers'
    /// users) and commit them with the participant-list change.
    pub async fn add(&mut self, room: &RoomUri, users: &[UserUri]) -> Result<(), CliError> {
        let additions = self.additions(room, users).await?;
        let commit = self.mimi.add_users(room, &additions)?;
        self.commit(room, commit).await
    }

    /// What adding `users` to `room` commits: each user with the ordinary-member role of the
    /// room's preset and the KeyPackages claimed for its clients (through the hub for other
    /// providers' users).
    pub async fn additions(
        &self,
        room: &RoomUri,
        users: &[UserUri],
    ) -> Result<Vec<(MimiUri, u32, Vec<KeyPackage>)>, CliError> {
        let state = self.mimi.room_state(room)?;
        let preset_role = Preset::ALL
            .into_iter()
            .find(|p| p.roles() == state.roles)
            .map(Preset::member_role)
            .ok_or_else(|| {
                CliError::Usage(format!(
                    "{room}: its roles match no preset; cannot pick a role"
                ))
            })?;
        let mut additions = Vec::with_capacity(users.len());
        for user in users {
            let request = self.mimi.key_material_request(user, room)?;
            let response = self.api.key_material(room, &request).await?;
            let kps: Vec<KeyPackage> = response.key_packages();
            if kps.is_empty() {
                return Err(CliError::Usage(format!(
                    "{user}: no KeyPackage available ({:?})",
                    response.user_status
                )));
            }
            additions.push((MimiUri::from(user.clone()), preset_role, kps));
        }
        Ok(additions)
    }

    /// A user named by its URI (`mimi://b.example/u/bob`); by a handle scoped to its
    /// provider (`@bob@b.example`, `im:bob@b.example`), which that provider resolves
    /// (protocol-06 §5.8 `identifierQuery`, asked through this user's provider); or by a phone
    /// number or email address (`tel:+12025550101`, `+1 202 555 0101`, `bob@mail.example`),
    /// which identifier discovery resolves at the distribution point `dp` to the most
    /// preferred verified user (docs/discovery.md §6.3).
    pub async fn resolve_user(&self, name: &str, dp: &DpArgs) -> Result<UserUri, CliError> {
        if name.starts_with("mimi:") {
            return Ok(UserUri::parse(name)?);
        }
        let handle = match ConnectionId::parse(name)? {
            ConnectionId::Handle(handle) => handle,
            ConnectionId::Phone(_) | ConnectionId::Email(_) => {
                return self.discover(name, dp).await;
            }
        };
        let domain = handle.domain().cloned().ok_or_else(|| {
            CliError::Usage(format!(
                "{name}: give the handle's provider (@nick@b.example) or the user's mimi:// URI"
            ))
        })?;
        let element = SearchElement {
            kind: SearchType::Handle,
            name: None,
            value: handle.to_string(),
        };
        let found = self.api.search(&domain, &[element]).await?;
        match (found.code, found.users.as_slice()) {
            (SearchCode::Success, [one]) => Ok(one.user_uri.clone()),
            (code, users) => Err(CliError::Usage(format!(
                "{domain} found no single user with handle {handle} ({code:?}, {} matches)",
                users.len()
            ))),
        }
    }

    /// The most preferred verified user a phone number or email address maps to.
    async fn discover(&self, name: &str, dp: &DpArgs) -> Result<UserUri, CliError> {
        let sii = Sii::parse(name).map_err(crate::discovery_cmd::err)?;
        let found = dp.lookup(&sii).await?;
        found.best().cloned().ok_or_else(|| {
            CliError::Usage(format!(
                "{name}: no verified mapping for {} at the distribution point",
                sii.as_str()
            ))
        })
    }

    /// Resolve several users (see [`Session::resolve_user`]).
    pub async fn resolve_users(
        &self,
        names: &[String],
        dp: &DpArgs,
    ) -> Result<Vec<UserUri>, CliError> {
        let mut users = Vec::with_capacity(names.len());
        for name in names {
            users.push(self.resolve_user(name, dp).await?);
        }
        Ok(users)
    }

    /// Remove users (all their devices) from a room.
    pub async fn remove(&mut self, room: &RoomUri, users: &[UserUri]) -> Result<(), CliError> {
        let users: Vec<MimiUri> = users.iter().cloned().map(MimiUri::from).collect();
        let commit = self.mimi.remove_users(room, &users)?;
        self.commit(room, commit).await
    }

    /// Leave a room: propose this device's removal (the next committer includes it).
    pub async fn leave(&mut self, room: &RoomUri) -> Result<(), CliError> {
        let request = self.mimi.leave(room)?;
        self.save().await?;
        match self.api.update(room, &self.device, &request).await?.outcome {
            UpdateOutcome::Success { .. } => Ok(()),
            other => Err(CliError::Usage(format!("the hub refused: {other:?}"))),
        }
    }

    /// Commit pending proposals (e.g. another member's leave).
    pub async fn commit_pending(&mut self, room: &RoomUri) -> Result<(), CliError> {
        let commit = self.mimi.commit_pending(room)?;
        self.commit(room, commit).await
    }

    /// Hand a commit to the hub; on refusal, drop it so the next one starts clean.
    async fn commit(&mut self, room: &RoomUri, commit: UpdateRequest) -> Result<(), CliError> {
        self.save().await?;
        let answer = self.api.update(room, &self.device, &commit).await;
        let refused = match answer {
            Ok(r) => match r.outcome {
                // The commit is merged when it comes back through the event stream.
                UpdateOutcome::Success { .. } => return Ok(()),
                other => CliError::Usage(format!("the hub refused the commit: {other:?}")),
            },
            Err(e) => CliError::from(e),
        };
        self.mimi.commit_rejected(room)?;
        self.save().await?;
        Err(refused)
    }

    /// Send a text message (Markdown is not interpreted), optionally replying to a message.
    pub async fn send_text(
        &mut self,
        room: &RoomUri,
        text: &str,
        reply_to: Option<MessageId>,
    ) -> Result<u64, CliError> {
        let request = self.mimi.send_text(room, random_salt()?, text, reply_to)?;
        self.submit(room, request).await
    }

    /// React to a message.
    pub async fn react(
        &mut self,
        room: &RoomUri,
        target: MessageId,
        reaction: &str,
    ) -> Result<u64, CliError> {
        let content = mimi_content::MimiContent::reaction(
            random_salt()?,
            self.mimi.user_uri().as_str(),
            room.as_str(),
            target,
            reaction,
        );
        let request = self.mimi.send(room, &content)?;
        self.submit(room, request).await
    }

    /// Save (the message used a new ratchet generation), then hand it to the hub. The hub's
    /// acceptance time.
    async fn submit(
        &mut self,
        room: &RoomUri,
        request: SubmitMessageRequest,
    ) -> Result<u64, CliError> {
        self.save().await?;
        match self.api.submit(room, &self.device, &request).await?.outcome {
            SubmitOutcome::Accepted {
                accepted_timestamp, ..
            } => Ok(accepted_timestamp),
            other => Err(CliError::Usage(format!("the hub refused: {other:?}"))),
        }
    }

    /// Join a room this user is a participant of with this device, by external commit
    /// (protocol-06 §3 flow 6).
    pub async fn join(&mut self, room: &RoomUri) -> Result<(), CliError> {
        let (request, key) = self.mimi.group_info_request(room)?;
        let response = self.api.group_info(room, &self.device, &request).await?;
        let info = self.mimi.open_group_info(&response, &key)?;
        let commit = self
            .mimi
            .join_by_external_commit(room.clone(), info, None)?;
        self.save().await?;
        match self.api.update(room, &self.device, &commit).await?.outcome {
            UpdateOutcome::Success { .. } => {
                self.api.joined(room, &self.device).await?;
                Ok(())
            }
            other => {
                self.mimi.forget_room(room);
                self.save().await?;
                Err(CliError::Usage(format!(
                    "the hub refused the join: {other:?}"
                )))
            }
        }
    }
}

impl From<ClientError> for CliError {
    fn from(e: ClientError) -> Self {
        CliError::Client(e.to_string())
    }
}
