//! The follower side (protocol-06 §5.5): accept fanout for a room only from its hub, process
//! each message once, keep the hub's order, and route Welcomes to the local clients whose
//! KeyPackages they consume.

use std::collections::{BTreeSet, HashMap, HashSet};

use mimi_types::id::{ClientUri, ProviderDomain, RoomUri};
use mimi_types::wire::{FanoutMessage, FanoutPayload};
use openmls::prelude::MlsMessageBodyIn;
use openmls::prelude::tls_codec::Serialize as _;
use sha2::{Digest, Sha256};

use crate::RoomError;

/// Fanout for a room is accepted only from the room's hub: the provider in its URI
/// (protocol-06 §5.5), and never from this provider itself.
pub fn check_hub(
    room: &RoomUri,
    from: &ProviderDomain,
    ours: &ProviderDomain,
) -> Result<(), RoomError> {
    if room.domain() != from {
        return Err(RoomError::Invalid(format!(
            "{from} is not the hub of {room}"
        )));
    }
    if room.domain() == ours {
        return Err(RoomError::Invalid(
            "a provider does not notify itself".into(),
        ));
    }
    Ok(())
}

/// The identity of a fanout message for deduplication: SHA-256 of its encoding.
pub fn message_digest(message: &FanoutMessage) -> Result<[u8; 32], RoomError> {
    let bytes = message
        .tls_serialize_detached()
        .map_err(|e| RoomError::Internal(format!("encoding a fanout message: {e:?}")))?;
    Ok(Sha256::digest(&bytes).into())
}

/// The KeyPackageRefs a Welcome is for (empty for other messages).
pub fn welcome_key_package_refs(message: &FanoutMessage) -> Result<Vec<Vec<u8>>, RoomError> {
    let FanoutPayload::Welcome {
        message: welcome, ..
    } = &message.payload
    else {
        return Ok(vec![]);
    };
    Ok(match welcome.parse()?.extract() {
        MlsMessageBodyIn::Welcome(w) => w
            .secrets()
            .iter()
            .map(|s| s.new_member().as_slice().to_vec())
            .collect(),
        _ => vec![],
    })
}

/// KeyPackageRef → local client, recorded when this provider hands out KeyPackages.
#[derive(Debug, Default)]
pub struct WelcomeRoutes {
    routes: HashMap<Vec<u8>, ClientUri>,
}

impl WelcomeRoutes {
    /// Remember that the KeyPackage with this reference belongs to `client`.
    pub fn record(&mut self, key_package_ref: &[u8], client: ClientUri) {
        self.routes.insert(key_package_ref.to_vec(), client);
    }

    /// The local client a KeyPackageRef belongs to (the route is used once).
    fn take(&mut self, key_package_ref: &[u8]) -> Option<ClientUri> {
        self.routes.remove(key_package_ref)
    }
}

/// A message to hand to local clients, in room order.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The room.
    pub room: RoomUri,
    /// This provider's sequence number for the room (strictly increasing).
    pub seq: u64,
    /// The local clients that get it.
    pub to: Vec<ClientUri>,
    /// The message.
    pub message: FanoutMessage,
}

/// One room as seen by a follower provider.
#[derive(Debug)]
struct FollowerRoom {
    seen: HashSet<[u8; 32]>,
    seq: u64,
    members: BTreeSet<ClientUri>,
}

/// A follower provider's view of all rooms its users are in.
#[derive(Debug)]
pub struct Follower {
    domain: ProviderDomain,
    rooms: HashMap<RoomUri, FollowerRoom>,
    /// Welcome routing table.
    pub routes: WelcomeRoutes,
}

impl Follower {
    /// A follower for provider `domain`.
    pub fn new(domain: ProviderDomain) -> Self {
        Self {
            domain,
            rooms: HashMap::new(),
            routes: WelcomeRoutes::default(),
        }
    }

    /// The local clients in a room.
    pub fn members(&self, room: &RoomUri) -> Vec<ClientUri> {
        self.rooms
            .get(room)
            .map(|r| r.members.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// A local client joined the room by external commit (its provider saw the hub accept it).
    pub fn add_member(&mut self, room: &RoomUri, client: ClientUri) {
        self.room_mut(room).members.insert(client);
    }

    /// A local client left or was removed (it processed its removal).
    pub fn remove_member(&mut self, room: &RoomUri, client: &ClientUri) {
        if let Some(r) = self.rooms.get_mut(room) {
            r.members.remove(client);
        }
    }

    fn room_mut(&mut self, room: &RoomUri) -> &mut FollowerRoom {
        self.rooms
            .entry(room.clone())
            .or_insert_with(|| FollowerRoom {
                seen: HashSet::new(),
                seq: 0,
                members: BTreeSet::new(),
            })
    }

    /// Handle a decoded `/notify/{roomId}` from provider `from`: the deliveries for messages
    /// not seen before. A duplicate (byte-identical, protocol-06 §5.5) yields nothing but is
    /// still a success (201) for the caller.
    pub fn handle_notify(
        &mut self,
        from: &ProviderDomain,
        room: &RoomUri,
        messages: Vec<FanoutMessage>,
    ) -> Result<Vec<Delivery>, RoomError> {
        check_hub(room, from, &self.domain)?;
        let mut deliveries = Vec::new();
        for message in messages {
            let digest = message_digest(&message)?;
            if self.room_mut(room).seen.contains(&digest) {
                continue;
            }
            let refs = welcome_key_package_refs(&message)?;
            let to = if matches!(message.payload, FanoutPayload::Welcome { .. }) {
                let to: Vec<ClientUri> = refs.iter().filter_map(|r| self.routes.take(r)).collect();
                self.room_mut(room).members.extend(to.iter().cloned());
                to
            } else {
                self.members(room)
            };
            let r = self.room_mut(room);
            r.seen.insert(digest);
            r.seq += 1;
            deliveries.push(Delivery {
                room: room.clone(),
                seq: r.seq,
                to,
                message,
            });
        }
        Ok(deliveries)
    }
}
