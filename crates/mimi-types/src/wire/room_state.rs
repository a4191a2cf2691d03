//! Room state components of protocol-06 §7: the participant list and room metadata.

use tls_codec::{TlsDeserialize, TlsSerialize, TlsSize, VLByteVec};

use super::codec::WireMessage;
use super::common::{IdentifierUri, Uri, Utf8String};

/// `UserRolePair`: a participant and its role.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct UserRolePair {
    /// The user (`opaque user<V>`: a user or pseudonym URI).
    pub user: IdentifierUri,
    /// Index of the user's role in the room's role list.
    pub role_index: u32,
}

/// `ParticipantListData`: the `participant_list` component's data.
#[derive(Debug, Clone, PartialEq, Eq, Default, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct ParticipantListData {
    /// Participants, each user once.
    pub participants: Vec<UserRolePair>,
}

impl WireMessage for ParticipantListData {
    const NAME: &'static str = "ParticipantListData";
}

/// `UserindexRolePair`: a role change for the participant at `user_index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct UserIndexRolePair {
    /// Index into the current `participants` vector.
    pub user_index: u32,
    /// The new role.
    pub role_index: u32,
}

/// `ParticipantListUpdate`: applied as role changes, then removals, then additions
/// (protocol-06 §7.5). Indices refer to the list before the update.
#[derive(Debug, Clone, PartialEq, Eq, Default, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct ParticipantListUpdate {
    /// Role changes.
    pub changed_role_participants: Vec<UserIndexRolePair>,
    /// Indices of removed participants.
    pub removed_indices: Vec<u32>,
    /// New participants.
    pub added_participants: Vec<UserRolePair>,
}

impl WireMessage for ParticipantListUpdate {
    const NAME: &'static str = "ParticipantListUpdate";
}

/// `RichDescription`: a room description in one media type and language.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct RichDescription {
    /// Media type; empty means `text/plain;charset=utf-8`.
    pub media_type: VLByteVec,
    /// Language tag (RFC 5646), may be empty.
    pub language_tag: VLByteVec,
    /// The description.
    pub description_content: VLByteVec,
}

/// `RoomMetaData`: the `room_metadata` component's data, and also its update (`RoomMetaUpdate`
/// replaces the whole value).
#[derive(Debug, Clone, PartialEq, Eq, Default, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct RoomMetaData {
    /// The room URI.
    pub room_uri: Uri,
    /// Room name.
    pub room_name: Utf8String,
    /// Descriptions.
    pub room_descriptions: Vec<RichDescription>,
    /// An https URI of the avatar image (empty if none).
    pub room_avatar: Uri,
    /// Subject.
    pub room_subject: Utf8String,
    /// Mood.
    pub room_mood: Utf8String,
}

impl WireMessage for RoomMetaData {
    const NAME: &'static str = "RoomMetaData";
}
