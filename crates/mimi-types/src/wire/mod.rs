//! Protocol wire types: every struct of draft-ietf-mimi-protocol-06 and
//! draft-ietf-mimi-room-policy-03, with TLS-presentation-language codecs.
//!
//! Bodies implement [`WireMessage`]: `decode` is bounded (size limit checked first, vectors
//! limited by the bytes present, every `select` checked) and total (an error, never a panic).
//! MLS structures inside bodies are kept byte-exact ([`mls`]). Where a draft struct is
//! defective, the reading chosen is documented on the type and in `docs/decisions/`.
//!
//! | endpoint (protocol-06) | request | response |
//! |---|---|---|
//! | `/.well-known/mimi-protocol-directory` §5.1 | – | [`Directory`] (JSON) |
//! | `/keyMaterial/{targetUser}` §5.2 | [`KeyMaterialRequest`] | [`KeyMaterialResponse`] |
//! | `/update/{roomId}` §5.3 | [`UpdateRequest`] | [`UpdateRoomResponse`] |
//! | `/submitMessage/{roomId}` §5.4 | [`SubmitMessageRequest`] | [`SubmitMessageResponse`] |
//! | `/notify/{roomId}` §5.5 | one or more [`FanoutMessage`] | 201, no body |
//! | `/groupInfo/{roomId}` §5.6 | [`GroupInfoRequest`] | [`GroupInfoResponse`] |
//! | `/requestConsent`, `/updateConsent` §5.7 | [`ConsentEntry`] | 201, no body |
//! | `/identifierQuery/{domain}` §5.8 | [`IdentifierRequest`] | [`IdentifierResponse`] |
//! | `/reportAbuse/{roomId}` §5.9 | [`AbuseReport`] | status only |

mod abuse;
mod codec;
mod common;
mod component_update;
pub mod components;
mod consent;
mod directory;
mod fanout;
mod group_info;
mod identifier_query;
mod key_material;
pub mod mls;
mod policy;
mod pseudonym;
mod ratchet_tree;
mod room_state;
mod safe_aad;
mod submit;
mod update;

pub use abuse::{AbuseReport, AbuseType, AbusiveMessage};
pub use codec::{DEFAULT_MAX_BODY, WireMessage, sign_content};
pub use common::{
    Bool, DomainName, IdentifierUri, MAX_GENERIC_URI_LEN, MAX_STRING_LEN, MediaType,
    OptionalIdentifierUri, Parameter, Protocol, Uri, Utf8String,
};
pub use component_update::{RoomComponentData, RoomComponentUpdate};
pub use components::{Capability, ComponentId};
pub use consent::{ConsentEntry, ConsentOperation, ConsentOperationCode, ConsentScope};
pub use directory::{DIRECTORY_PATH, Directory, Endpoint, MAX_DIRECTORY_LEN};
pub use fanout::{FanoutMessage, FanoutPayload, MAX_FANOUT_BATCH};
pub use group_info::{
    GROUP_INFO_ENCRYPTION_LABEL, GROUP_INFO_REQUEST_LABEL, GROUP_INFO_RESPONSE_LABEL,
    GroupInfoCode, GroupInfoOutcome, GroupInfoRatchetTreeTbe, GroupInfoRequest, GroupInfoResponse,
    GroupInfoSuccess, PendingProposal,
};
pub use identifier_query::{
    FieldSource, IdentifierQueryCode, IdentifierRequest, IdentifierResponse, ProfileField,
    QueryElement, SearchIdentifierType, SearchKind, UserProfile,
};
pub use key_material::{
    ClientKeyMaterial, ClientMaterial, KEY_MATERIAL_REQUEST_LABEL, KeyMaterialClientCode,
    KeyMaterialRequest, KeyMaterialResponse, KeyMaterialUserCode,
};
pub use mls::{GroupInfo, KeyPackage, MlsMessage, MlsMessageKind, RatchetTree, Welcome};
pub use policy::{
    AppMessagePolicy, AssetPolicy, AssetUploadLocation, BaseRoomPolicy, Bot, BotPolicy, Claim,
    ClaimId, DownloadPrivacy, DownloadPrivacyType, ExpirationDetails, ExtendedCapabilities, Gated,
    HistoryDetails, HistoryPolicy, JoinLink, JoinLinkPolicy, JoinLinksData, JoinLinksUpdate,
    LinkPreviewPolicy, LoggingDetails, LoggingPolicy, MessageExpiration, MinDefaultMaxTime,
    OperationalParameters, Optionality, PendingProposalPolicy, PreAuthData, PreAuthRoleEntry,
    ProviderAssetUploadDomains, Role, RoleData, SingleSourceRoleChangeTargets,
    StatusNotificationPolicy,
};
pub use pseudonym::{IdentityLinkTbe, PSEUDONYMOUS_CREDENTIAL_LABEL, PseudonymousCredential};
pub use ratchet_tree::{
    DomainList, HttpsTree, OutOfBandTree, PartialGroupInfo, RatchetTreeOption, RatchetTreePresence,
    RawExtension,
};
pub use room_state::{
    ParticipantListData, ParticipantListUpdate, RichDescription, RoomMetaData, UserIndexRolePair,
    UserRolePair,
};
pub use safe_aad::{SafeAad, SafeAadItem};
pub use submit::{
    FRANKING_INTEGRITY_LABEL, Frank, FrankAad, FrankingAgentData, FrankingIntegrityTbs,
    ServerFrankingContext, SubmitMessageRequest, SubmitMessageResponse, SubmitOutcome,
    SubmitResponseCode,
};
pub use update::{
    GroupInfoOption, HandshakeBundle, UpdateOutcome, UpdateRequest, UpdateResponseCode,
    UpdateRoomResponse,
};
