//! OpenMLS devices that reach their provider only through the client API, and what a
//! client does when it cannot know whether the hub accepted a message: submit again until
//! answered.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mimi_client::remote::fanout;
use mimi_client::{ClientEvent, MimiClient, RemoteApi};
use mimi_room::policy::{PolicyState, Preset};
use mimi_types::id::{GroupUri, RoomUri};
use mimi_types::wire::{
    FanoutPayload, KeyPackage, SubmitMessageRequest, SubmitMessageResponse, SubmitOutcome,
    UpdateOutcome,
};

/// The password of every test user.
pub const PASSWORD: &str = "a long enough password";
/// Bound on every wait.
pub const BOUND: Duration = Duration::from_secs(60);

/// One device, over the client API, with what it received.
pub struct Dev {
    pub api: RemoteApi,
    pub mimi: MimiClient,
    pub device: String,
    pub cursor: u64,
    /// Application messages seen on the stream (MLS message bytes).
    pub seen: HashSet<Vec<u8>>,
    /// Application messages that came a second time.
    pub duplicates: usize,
    pub texts: Vec<String>,
    pub failures: Vec<String>,
    pub joined: bool,
}

impl Dev {
    /// Register `name` at the provider at `url`, log in, certify `device`, publish
    /// KeyPackages.
    pub async fn register(url: &str, name: &str, device: &str) -> Dev {
        let mut api = RemoteApi::new(url).expect("api");
        api.register(name, PASSWORD, name).await.expect("register");
        let login = api.login(name, PASSWORD).await.expect("login");
        let signer = MimiClient::new_signer().expect("signer");
        let (client_uri, credential) = api
            .register_device(device, signer.public())
            .await
            .expect("device");
        let mimi =
            MimiClient::from_parts(client_uri, login.user_uri, signer, credential).expect("client");
        let kps = mimi.key_packages(5, false).expect("key packages");
        api.publish_key_packages(device, &kps)
            .await
            .expect("publish");
        Dev {
            api,
            mimi,
            device: device.to_string(),
            cursor: 0,
            seen: HashSet::new(),
            duplicates: 0,
            texts: Vec::new(),
            failures: Vec::new(),
            joined: false,
        }
    }

    /// Process every event the provider holds for this device.
    pub async fn sync(&mut self) {
        loop {
            let batch = self
                .api
                .events(&self.device, self.cursor, Some(500), None)
                .await
                .expect("events");
            if batch.events.is_empty() {
                return;
            }
            for e in batch.events {
                assert_eq!(e.cursor, self.cursor + 1, "a gap in the stream");
                self.cursor = e.cursor;
                let message = fanout(&e).expect("fanout");
                if let FanoutPayload::Application { message: m, .. } = &message.payload
                    && !self.seen.insert(m.as_bytes().to_vec())
                {
                    self.duplicates += 1;
                }
                match self.mimi.process(&e.room, &message) {
                    Ok(events) => {
                        for ev in events {
                            match ev {
                                ClientEvent::Message { content, .. } => {
                                    self.texts.push(mimi_content::render_text(&content));
                                }
                                ClientEvent::Joined { .. } => self.joined = true,
                                _ => {}
                            }
                        }
                    }
                    Err(err) => self.failures.push(err.to_string()),
                }
            }
        }
    }
}

pub fn kps(r: &mimi_types::wire::KeyMaterialResponse) -> Vec<KeyPackage> {
    r.key_packages()
}

/// Poll until `done` (bounded).
pub async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + BOUND;
    while !done().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What became of one submission.
pub struct Submitted {
    pub index: usize,
    /// The first attempt got a 2xx.
    pub first_ok: bool,
    pub attempts: u32,
    pub answer: SubmitMessageResponse,
}

/// Submit `request` until the provider answers 2xx (bounded): what a client does when it
/// cannot know whether the hub accepted a message. Each attempt goes to the next of `apis`
/// (instances of one provider), starting with the first.
pub async fn submit_until_answered(
    apis: Vec<RemoteApi>,
    room: RoomUri,
    device: String,
    index: usize,
    request: SubmitMessageRequest,
    acknowledged: Arc<AtomicUsize>,
) -> Submitted {
    let deadline = Instant::now() + BOUND;
    let mut attempts = 0usize;
    loop {
        let api = &apis[attempts % apis.len()];
        attempts += 1;
        match api.submit(&room, &device, &request).await {
            Ok(answer) => {
                if matches!(answer.outcome, SubmitOutcome::Accepted { .. }) {
                    acknowledged.fetch_add(1, Ordering::SeqCst);
                }
                return Submitted {
                    index,
                    first_ok: attempts == 1,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                    answer,
                };
            }
            Err(e) => {
                assert!(Instant::now() < deadline, "message {index}: no answer: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// `owner` creates room `id` at its provider (cooperatively administered) and adds the
/// users of `others`; returns once every device of `others` joined.
pub async fn create_room(owner: &mut Dev, id: &str, others: &mut [&mut Dev]) -> RoomUri {
    let preset = Preset::CooperativelyAdministered;
    let hub = owner.api.hub().await.expect("hub");
    let domain = owner.mimi.user_uri().domain().as_str().to_string();
    let room = RoomUri::parse(&format!("mimi://{domain}/r/{id}")).expect("room");
    let group = GroupUri::parse(&format!("mimi://{domain}/g/{id}")).expect("group");
    let policy = PolicyState::new_room(preset, owner.mimi.user()).expect("policy");
    let info = owner
        .mimi
        .create_room(
            room.clone(),
            &group,
            hub.external_sender,
            Some(hub.franking_agent),
            &policy,
        )
        .expect("group");
    owner
        .api
        .create_room(
            id,
            preset.name(),
            &owner.device,
            &info.group_info,
            &info.ratchet_tree,
        )
        .await
        .expect("create room");
    let mut additions = Vec::new();
    for dev in others.iter() {
        let request = owner
            .mimi
            .key_material_request(dev.mimi.user_uri(), &room)
            .expect("request");
        let response = owner
            .api
            .key_material(&room, &request)
            .await
            .expect("key material");
        additions.push((dev.mimi.user(), preset.member_role(), kps(&response)));
    }
    let commit = owner.mimi.add_users(&room, &additions).expect("commit");
    let outcome = owner
        .api
        .update(&room, &owner.device, &commit)
        .await
        .expect("update");
    assert!(
        matches!(outcome.outcome, UpdateOutcome::Success { .. }),
        "{outcome:?}"
    );
    until("everyone joined", async || {
        owner.sync().await;
        for d in others.iter_mut() {
            d.sync().await;
        }
        others.iter().all(|d| d.joined)
    })
    .await;
    room
}
