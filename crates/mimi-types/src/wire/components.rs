//! Registered component IDs (draft-ietf-mls-extensions, protocol-06 §10, room-policy-03 IANA
//! section) and the room-policy capability registry.

use std::fmt;

use tls_codec::{TlsDeserialize, TlsSerialize, TlsSize};

/// A component ID (draft-ietf-mls-extensions: `uint16 ComponentID`).
pub type ComponentId = u16;

/// `app_components` (mls-extensions, suggested value).
pub const APP_COMPONENTS: ComponentId = 0x0001;
/// `safe_aad` (mls-extensions, suggested value).
pub const SAFE_AAD: ComponentId = 0x0002;
/// `content_media_types` (mls-extensions, suggested value).
pub const CONTENT_MEDIA_TYPES: ComponentId = 0x0003;
/// `last_resort_key_package` (mls-extensions, suggested value).
pub const LAST_RESORT_KEY_PACKAGE: ComponentId = 0x0004;
/// `app_ack` (mls-extensions, suggested value).
pub const APP_ACK: ComponentId = 0x0005;

/// `frank_aad`, a Safe AAD item (protocol-06 §10).
pub const FRANK_AAD: ComponentId = 0x0020;
/// `franking_signature_key` / `franking_agent`, a GroupContext component (protocol-06 §10).
pub const FRANKING_AGENT: ComponentId = 0x0021;
/// `participant_list` (protocol-06 §10).
pub const PARTICIPANT_LIST: ComponentId = 0x0022;
/// `room_metadata` (protocol-06 §10).
pub const ROOM_METADATA: ComponentId = 0x0023;

/// `mls_operational_policy` (room-policy-03, suggested value).
pub const MLS_OPERATIONAL_POLICY: ComponentId = 0x0024;
/// `roles_list` (room-policy-03, suggested value).
pub const ROLES_LIST: ComponentId = 0x0025;
/// `preauth_list` (room-policy-03, suggested value).
pub const PREAUTH_LIST: ComponentId = 0x0026;
/// `base_room_policy` (room-policy-03, suggested value).
pub const BASE_ROOM_POLICY: ComponentId = 0x0027;
/// `status_notification_policy` (room-policy-03, suggested value).
pub const STATUS_NOTIFICATION_POLICY: ComponentId = 0x0028;
/// `join_link_policy` (room-policy-03, suggested value).
pub const JOIN_LINK_POLICY: ComponentId = 0x0029;
/// `join_links` (room-policy-03, suggested value).
pub const JOIN_LINKS: ComponentId = 0x002A;
/// `link_preview_policy` (room-policy-03, suggested value).
pub const LINK_PREVIEW_POLICY: ComponentId = 0x002B;
/// `asset_policy` (room-policy-03, suggested value).
pub const ASSET_POLICY: ComponentId = 0x002C;
/// `logging_policy` (room-policy-03, suggested value).
pub const LOGGING_POLICY: ComponentId = 0x002D;
/// `chat_history_policy` (room-policy-03, suggested value).
pub const CHAT_HISTORY_POLICY: ComponentId = 0x002E;
/// `bot_policy` (room-policy-03, suggested value).
pub const BOT_POLICY: ComponentId = 0x002F;
/// `message_expiration_policy` (room-policy-03, suggested value).
pub const MESSAGE_EXPIRATION_POLICY: ComponentId = 0x0030;

/// A room-policy capability (room-policy-03 "MIMI Capability Types" registry, `uint16`).
///
/// Unknown values are kept, so a role list from a newer peer survives a round trip.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, TlsSize, TlsSerialize, TlsDeserialize,
)]
pub struct Capability(pub u16);

macro_rules! capabilities {
    ($($name:ident = $value:literal, $text:literal;)*) => {
        impl Capability {
            $(
                #[doc = concat!("`", $text, "`")]
                pub const $name: Capability = Capability($value);
            )*

            /// The registry name, if the value is registered.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some($text),)*
                    0xF000..=0xFFFF => Some("private use"),
                    _ => None,
                }
            }

            /// Look a capability up by its registry name.
            pub fn from_name(name: &str) -> Option<Capability> {
                match name {
                    $($text => Some(Capability($value)),)*
                    _ => None,
                }
            }
        }
    };
}

capabilities! {
    ADD_PARTICIPANT = 0x0000, "canAddParticipant";
    REMOVE_PARTICIPANT = 0x0001, "canRemoveParticipant";
    ADD_OWN_CLIENT = 0x0002, "canAddOwnClient";
    REMOVE_OWN_CLIENT = 0x0003, "canRemoveOwnClient";
    OPEN_JOIN = 0x0004, "canOpenJoin";
    JOIN_IF_PREAUTHORIZED = 0x0005, "canJoinIfPreauthorized";
    REMOVE_SELF = 0x0006, "canRemoveSelf";
    CREATE_JOIN_CODE = 0x0007, "canCreateJoinCode";
    DELETE_JOIN_CODE = 0x0008, "canDeleteJoinCode";
    USE_JOIN_CODE = 0x0009, "canUseJoinCode";
    BAN = 0x000a, "canBan";
    UNBAN = 0x000b, "canUnBan";
    KICK = 0x000c, "canKick";
    KNOCK = 0x000d, "canKnock";
    ACCEPT_KNOCK = 0x000e, "canAcceptKnock";
    CHANGE_USER_ROLE = 0x000f, "canChangeUserRole";
    CHANGE_OWN_ROLE = 0x0010, "canChangeOwnRole";
    CREATE_SUBGROUP = 0x0011, "canCreateSubgroup";
    SEND_MESSAGE = 0x0100, "canSendMessage";
    RECEIVE_MESSAGE = 0x0101, "canReceiveMessage";
    COPY_MESSAGE = 0x0102, "canCopyMessage";
    REPORT_ABUSE = 0x0103, "canReportAbuse";
    REPLY_TO_MESSAGE = 0x0104, "canReplyToMessage";
    REACT_TO_MESSAGE = 0x0105, "canReactToMessage";
    EDIT_REACTION = 0x0106, "canEditReaction";
    DELETE_OWN_REACTION = 0x0107, "canDeleteOwnReaction";
    DELETE_OTHER_REACTION = 0x0108, "canDeleteOtherReaction";
    EDIT_OWN_MESSAGE = 0x0109, "canEditOwnMessage";
    DELETE_OWN_MESSAGE = 0x010a, "canDeleteOwnMessage";
    DELETE_OTHER_MESSAGE = 0x010b, "canDeleteOtherMessage";
    START_TOPIC = 0x010c, "canStartTopic";
    REPLY_IN_TOPIC = 0x010d, "canReplyInTopic";
    EDIT_OWN_TOPIC = 0x010e, "canEditOwnTopic";
    EDIT_OTHER_TOPIC = 0x010f, "canEditOtherTopic";
    SEND_DIRECT_MESSAGE = 0x0110, "canSendDirectMessage";
    TARGET_MESSAGE = 0x0111, "canTargetMessage";
    UPLOAD_IMAGE = 0x0200, "canUploadImage";
    UPLOAD_AUDIO = 0x0201, "canUploadAudio";
    UPLOAD_VIDEO = 0x0202, "canUploadVideo";
    UPLOAD_ATTACHMENT = 0x0203, "canUploadAttachment";
    DOWNLOAD_IMAGE = 0x0204, "canDownloadImage";
    DOWNLOAD_AUDIO = 0x0205, "canDownloadAudio";
    DOWNLOAD_VIDEO = 0x0206, "canDownloadVideo";
    DOWNLOAD_ATTACHMENT = 0x0207, "canDownloadAttachment";
    SEND_LINK = 0x0208, "canSendLink";
    SEND_LINK_PREVIEW = 0x0209, "canSendLinkPreview";
    FOLLOW_LINK = 0x020a, "canFollowLink";
    COPY_LINK = 0x020b, "canCopyLink";
    CHANGE_ROOM_NAME = 0x0300, "canChangeRoomName";
    CHANGE_ROOM_DESCRIPTION = 0x0301, "canChangeRoomDescription";
    CHANGE_ROOM_AVATAR = 0x0302, "canChangeRoomAvatar";
    CHANGE_ROOM_SUBJECT = 0x0303, "canChangeRoomSubject";
    CHANGE_ROOM_MOOD = 0x0304, "canChangeRoomMood";
    CHANGE_OWN_NAME = 0x0380, "canChangeOwnName";
    CHANGE_OWN_PRESENCE = 0x0381, "canChangeOwnPresence";
    CHANGE_OWN_MOOD = 0x0382, "canChangeOwnMood";
    CHANGE_OWN_AVATAR = 0x0383, "canChangeOwnAvatar";
    START_CALL = 0x0400, "canStartCall";
    JOIN_CALL = 0x0401, "canJoinCall";
    SEND_AUDIO = 0x0402, "canSendAudio";
    RECEIVE_AUDIO = 0x0403, "canReceiveAudio";
    SEND_VIDEO = 0x0404, "canSendVideo";
    RECEIVE_VIDEO = 0x0405, "canReceiveVideo";
    SHARE_SCREEN = 0x0406, "canShareScreen";
    VIEW_SHARED_SCREEN = 0x0407, "canViewSharedScreen";
    CREATE_ROOM = 0x0500, "canCreateRoom";
    DESTROY_ROOM = 0x0501, "canDestroyRoom";
    CHANGE_ROOM_MEMBERSHIP_STYLE = 0x0502, "canChangeRoomMembershipStyle";
    CHANGE_ROLE_DEFINITIONS = 0x0503, "canChangeRoleDefinitions";
    CHANGE_PREAUTHORIZED_USER_LIST = 0x0504, "canChangePreauthorizedUserList";
    CHANGE_OTHER_POLICY_ATTRIBUTE = 0x0505, "canChangeOtherPolicyAttribute";
    CHANGE_MLS_OPERATIONAL_POLICIES = 0x0600, "canChangeMlsOperationalPolicies";
    SEND_MLS_REINIT_PROPOSAL = 0x0601, "canSendMLSReinitProposal";
    SEND_MLS_UPDATE_PROPOSAL = 0x0602, "canSendMLSUpdateProposal";
    SEND_MLS_PSK_PROPOSAL = 0x0603, "canSendMLSPSKProposal";
    SEND_MLS_EXTERNAL_PROPOSAL = 0x0604, "canSendMLSExternalProposal";
    SEND_MLS_EXTERNAL_COMMIT = 0x0605, "canSendMLSExternalCommit";
}

impl fmt::Debug for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name}(0x{:04x})", self.0),
            None => write!(f, "Capability(0x{:04x})", self.0),
        }
    }
}
