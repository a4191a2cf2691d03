//! Typed views of the room's AppDataDictionary components and of their AppDataUpdate
//! proposals (draft-ietf-mls-extensions "Application Data"; protocol-06 §7; room-policy-03).
//!
//! In the group, each component's data is opaque bytes under its component ID, and a change is
//! an `AppDataUpdate{component_id, op=update, update=bytes}` proposal. These enums decode those
//! bytes into the struct the ID names, and build the proposal from a typed value.

use openmls::prelude::AppDataUpdateProposal;

use super::codec::{decode_exact, encode_fields};
use super::components::{self as c, ComponentId};
use super::policy::{
    AssetPolicy, BaseRoomPolicy, BotPolicy, HistoryPolicy, JoinLinkPolicy, JoinLinksData,
    JoinLinksUpdate, LinkPreviewPolicy, LoggingPolicy, MessageExpiration, OperationalParameters,
    PreAuthData, RoleData, StatusNotificationPolicy,
};
use super::room_state::{ParticipantListData, ParticipantListUpdate, RoomMetaData};
use super::submit::FrankingAgentData;
use crate::Error;

/// Define the two enums over the room components from one table: each row names the
/// component, the type of its data and the type of its update.
macro_rules! room_components {
    ($($variant:ident($data:ty, $update:ty) = $id:path,)*) => {
        component_enum! {
            /// The data of a room component, as held in the GroupContext `app_data_dictionary`.
            RoomComponentData { $($variant($data) = $id,)* }
        }
        component_enum! {
            /// The `update` payload of an AppDataUpdate proposal for a room component. For most
            /// components the update is the complete new value; the participant list and join
            /// links have incremental updates.
            RoomComponentUpdate { $($variant($update) = $id,)* }
        }
    };
}

/// Define an enum over the room components with decode-by-ID and encode.
macro_rules! component_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident($ty:ty) = $id:path,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq)]
        pub enum $name {
            $(
                #[doc = concat!("Component `", stringify!($id), "` as [`", stringify!($ty), "`].")]
                $variant($ty),
            )*
        }

        impl $name {
            /// The component ID.
            pub fn component_id(&self) -> ComponentId {
                match self {
                    $($name::$variant(_) => $id,)*
                }
            }

            /// Decode the bytes of component `id`; `Ok(None)` if this is not a room component
            /// known here.
            pub fn decode(id: ComponentId, bytes: &[u8]) -> Result<Option<Self>, Error> {
                Ok(Some(match id {
                    $($id => $name::$variant(decode_exact(stringify!($ty), bytes)?),)*
                    _ => return Ok(None),
                }))
            }

            /// Encode the value.
            pub fn encode(&self) -> Result<Vec<u8>, Error> {
                match self {
                    $($name::$variant(v) => encode_fields(&[v]),)*
                }
            }
        }
    };
}

room_components! {
    FrankingAgent(FrankingAgentData, FrankingAgentData) = c::FRANKING_AGENT,
    ParticipantList(ParticipantListData, ParticipantListUpdate) = c::PARTICIPANT_LIST,
    RoomMetadata(RoomMetaData, RoomMetaData) = c::ROOM_METADATA,
    OperationalPolicy(Box<OperationalParameters>, Box<OperationalParameters>) = c::MLS_OPERATIONAL_POLICY,
    Roles(RoleData, RoleData) = c::ROLES_LIST,
    PreAuth(PreAuthData, PreAuthData) = c::PREAUTH_LIST,
    BaseRoom(BaseRoomPolicy, BaseRoomPolicy) = c::BASE_ROOM_POLICY,
    StatusNotification(StatusNotificationPolicy, StatusNotificationPolicy) = c::STATUS_NOTIFICATION_POLICY,
    JoinLinkPolicy(JoinLinkPolicy, JoinLinkPolicy) = c::JOIN_LINK_POLICY,
    JoinLinks(JoinLinksData, JoinLinksUpdate) = c::JOIN_LINKS,
    LinkPreview(LinkPreviewPolicy, LinkPreviewPolicy) = c::LINK_PREVIEW_POLICY,
    Assets(AssetPolicy, AssetPolicy) = c::ASSET_POLICY,
    Logging(LoggingPolicy, LoggingPolicy) = c::LOGGING_POLICY,
    History(HistoryPolicy, HistoryPolicy) = c::CHAT_HISTORY_POLICY,
    Bots(BotPolicy, BotPolicy) = c::BOT_POLICY,
    MessageExpiration(MessageExpiration, MessageExpiration) = c::MESSAGE_EXPIRATION_POLICY,
}

impl RoomComponentUpdate {
    /// The AppDataUpdate proposal (op `update`) carrying this update.
    pub fn to_proposal(&self) -> Result<AppDataUpdateProposal, Error> {
        Ok(AppDataUpdateProposal::update(
            self.component_id(),
            self.encode()?,
        ))
    }

    /// Read an AppDataUpdate proposal: `Ok(None)` for an op `remove` or a component not
    /// known here.
    pub fn from_proposal(proposal: &AppDataUpdateProposal) -> Result<Option<Self>, Error> {
        match proposal.operation() {
            openmls::prelude::AppDataUpdateOperation::Update(bytes) => {
                Self::decode(proposal.component_id(), bytes.as_slice())
            }
            openmls::prelude::AppDataUpdateOperation::Remove => Ok(None),
        }
    }
}
