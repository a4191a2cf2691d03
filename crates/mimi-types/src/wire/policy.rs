//! Room policy components (draft-ietf-mimi-room-policy-03, "Complete TLS Presentation
//! Language Syntax" appendix). Each struct is both the component's data and its update.
//!
//! Draft defects read deliberately (docs/decisions): selects on `mandatory` mean the
//! `required(1)` value of `Optionality`; `unit64` is `uint64`; `opaque join_link;` is a vector;
//! `Component policy_component_ids<V>` is a vector of `ComponentID`; `WireFormats x<V>` is a
//! vector of `WireFormat`; `optional<MediaType> permitted_media_types<V>` is an optional
//! vector.

use tls_codec::{Deserialize, Serialize, Size, TlsDeserialize, TlsSerialize, TlsSize, VLByteVec};

use super::codec::invalid;
use super::common::{Bool, DomainName, MediaType, Uri, Utf8String};
use super::components::{Capability, ComponentId};

/// `Optionality`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, TlsSize, TlsSerialize, TlsDeserialize)]
#[repr(u8)]
pub enum Optionality {
    /// Allowed, not required.
    Optional = 0,
    /// Required (the draft's selects call it `mandatory`).
    Required = 1,
    /// Not allowed.
    Forbidden = 2,
}

/// An `Optionality` whose details are present unless it is `forbidden`, the shape of
/// `select (x) { case mandatory: T; case optional: T; case forbidden: struct {}; }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gated<T> {
    /// `optional(0)` with details.
    Optional(T),
    /// `required(1)` with details.
    Required(T),
    /// `forbidden(2)`.
    Forbidden,
}

impl<T> Gated<T> {
    /// The optionality.
    pub fn optionality(&self) -> Optionality {
        match self {
            Gated::Optional(_) => Optionality::Optional,
            Gated::Required(_) => Optionality::Required,
            Gated::Forbidden => Optionality::Forbidden,
        }
    }

    /// The details, unless forbidden.
    pub fn details(&self) -> Option<&T> {
        match self {
            Gated::Optional(t) | Gated::Required(t) => Some(t),
            Gated::Forbidden => None,
        }
    }
}

impl<T: Size> Size for Gated<T> {
    fn tls_serialized_len(&self) -> usize {
        1 + self.details().map_or(0, Size::tls_serialized_len)
    }
}

impl<T: Serialize> Serialize for Gated<T> {
    fn tls_serialize<W: std::io::Write>(&self, writer: &mut W) -> Result<usize, tls_codec::Error> {
        let mut n = self.optionality().tls_serialize(writer)?;
        if let Some(t) = self.details() {
            n += t.tls_serialize(writer)?;
        }
        Ok(n)
    }
}

impl<T: Deserialize> Deserialize for Gated<T> {
    fn tls_deserialize<R: std::io::Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        let o = Optionality::tls_deserialize(bytes)?;
        match o {
            Optionality::Forbidden => Ok(Gated::Forbidden),
            Optionality::Optional => {
                let t = T::tls_deserialize(bytes)?;
                Ok(Gated::Optional(t))
            }
            Optionality::Required => {
                let t = T::tls_deserialize(bytes)?;
                Ok(Gated::Required(t))
            }
        }
    }
}

/// `SingleSourceRoleChangeTargets`: from one role, the roles a holder may move a user to.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct SingleSourceRoleChangeTargets {
    /// Source role (0 = not in the participant list).
    pub from_role_index: u32,
    /// Allowed target roles (0 = remove from the participant list).
    pub target_role_indexes: Vec<u32>,
}

/// `Role`.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct Role {
    /// Index (0 reserved for "not a participant"; 1 must be named "banned" when banning is
    /// used).
    pub role_index: u32,
    /// Name.
    pub role_name: Utf8String,
    /// Description.
    pub role_description: Utf8String,
    /// Capabilities of holders of this role.
    pub role_capabilities: Vec<Capability>,
    /// Minimum participants holding the role.
    pub minimum_participants_constraint: u32,
    /// Maximum participants holding the role (absent = unlimited).
    pub maximum_participants_constraint: Option<u32>,
    /// Minimum active participants holding the role.
    pub minimum_active_participants_constraint: u32,
    /// Maximum active participants (absent = unlimited; 0 = no clients allowed).
    pub maximum_active_participants_constraint: Option<u32>,
    /// Role changes holders may make.
    pub authorized_role_changes: Vec<SingleSourceRoleChangeTargets>,
}

/// `RoleData` / `RoleUpdate`: the `roles_list` component.
#[derive(Debug, Clone, PartialEq, Eq, Default, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct RoleData {
    /// The roles.
    pub roles: Vec<Role>,
}

/// `ClaimId`: which claim of a credential.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct ClaimId {
    /// MLS credential type of the claim.
    pub credential_type: u16,
    /// X.509 OID bytes, JWT claim name, or CWT claim key.
    pub id: VLByteVec,
}

/// `Claim`.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct Claim {
    /// Which claim.
    pub claim_id: ClaimId,
    /// Required value.
    pub claim_value: VLByteVec,
}

/// `PreAuthRoleEntry`: when every claim matches, the requester gets `target_role`.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct PreAuthRoleEntry {
    /// Claims that must all match.
    pub claimset: Vec<Claim>,
    /// Role granted.
    pub target_role: Role,
}

/// `PreAuthData` / `PreAuthUpdate`: the `preauth_list` component.
#[derive(Debug, Clone, PartialEq, Eq, Default, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct PreAuthData {
    /// Entries, evaluated in order; the first match wins.
    pub preauthorized_entries: Vec<PreAuthRoleEntry>,
}

/// `BaseRoomPolicy` (`BaseRoomData` / `BaseRoomUpdate`): the `base_room_policy` component.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct BaseRoomPolicy {
    /// Membership is fixed at creation.
    pub fixed_membership: Bool,
    /// Participants must be a subset of the parent room's (the draft spells it
    /// `parent_dependant`).
    pub parent_dependant: Bool,
    /// The parent room.
    pub parent_room: Vec<Uri>,
    /// Users may have several clients.
    pub multi_device: Bool,
    /// Most clients in the group.
    pub max_clients: Option<u32>,
    /// Most non-banned users in the participant list.
    pub max_users: Option<u32>,
    /// Pseudonymous participants allowed.
    pub pseudonyms_allowed: Bool,
    /// The room persists when empty.
    pub persistent_room: Bool,
    /// The room is discoverable.
    pub discoverable: Bool,
    /// Other policy components in use.
    pub policy_component_ids: Vec<ComponentId>,
}

/// `StatusNotificationPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct StatusNotificationPolicy {
    /// Delivery notifications.
    pub delivery_notifications: Optionality,
    /// Read receipts.
    pub read_receipts: Optionality,
}

/// `JoinLinkPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct JoinLinkPolicy {
    /// Links are created on request.
    pub on_request: Bool,
    /// The join link.
    pub join_link: Uri,
    /// A link admits several users.
    pub multiuser: Bool,
    /// Lifetime in seconds.
    pub expiration: u32,
}

/// `JoinLink` (the draft's `opaque join_link;` lacks `<V>`).
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct JoinLink {
    /// The link.
    pub join_link: VLByteVec,
}

/// `JoinLinksData`: the `join_links` component.
#[derive(Debug, Clone, PartialEq, Eq, Default, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct JoinLinksData {
    /// Current links.
    pub links: Vec<JoinLink>,
}

/// `JoinLinksUpdate`.
#[derive(Debug, Clone, PartialEq, Eq, Default, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct JoinLinksUpdate {
    /// Indices of removed links.
    pub removed_indices: Vec<u32>,
    /// New links.
    pub added_links: Vec<JoinLink>,
}

/// `LinkPreviewPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct LinkPreviewPolicy {
    /// Hyperlink detection in text.
    pub autodetect_hyperlinks_in_text: Optionality,
    /// Sending link previews.
    pub send_link_previews: Optionality,
    /// Automatic previews.
    pub automatic_link_previews: Optionality,
    /// Use of a preview proxy, with the allowed proxies.
    pub link_preview_proxy_use: Gated<Vec<Uri>>,
}

/// `AssetUploadLocation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, TlsSize, TlsSerialize, TlsDeserialize)]
#[repr(u8)]
pub enum AssetUploadLocation {
    /// Unspecified.
    Unspecified = 0,
    /// The uploader's provider.
    LocalProvider = 1,
    /// The hub.
    Hub = 2,
}

/// `ProviderAssetUploadDomains`.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct ProviderAssetUploadDomains {
    /// The provider.
    pub provider: DomainName,
    /// Its asset domains (what `proxyDownload` may fetch from).
    pub asset_upload_destinations: Vec<DomainName>,
}

/// `DownloadPrivacyType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, TlsSize, TlsSerialize, TlsDeserialize)]
#[repr(u8)]
pub enum DownloadPrivacyType {
    /// Clients download directly.
    Direct = 0,
    /// Through the hub's `proxyDownload`.
    HubProxy = 1,
    /// Through OHTTP.
    Ohttp = 2,
}

/// `DownloadPrivacy`.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct DownloadPrivacy {
    /// Allowed types.
    pub allowed_download_types: Vec<DownloadPrivacyType>,
    /// Forbidden types.
    pub forbidden_download_types: Vec<DownloadPrivacyType>,
    /// Default type.
    pub default_download_type: DownloadPrivacyType,
}

/// `AssetPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct AssetPolicy {
    /// Where assets are uploaded.
    pub asset_upload_location: AssetUploadLocation,
    /// Per-provider asset domains.
    pub upload_domains: Vec<ProviderAssetUploadDomains>,
    /// Download privacy.
    pub download_privacy: DownloadPrivacy,
    /// Largest image, bytes.
    pub max_image: u64,
    /// Largest audio, bytes.
    pub max_audio: u64,
    /// Largest video, bytes.
    pub max_video: u64,
    /// Largest attachment, bytes.
    pub max_attachment: u64,
    /// Forbidden media types.
    pub forbidden_media_types: Vec<MediaType>,
    /// Permitted media types (absent = all not forbidden).
    pub permitted_media_types: Option<Vec<MediaType>>,
}

/// Details of a [`LoggingPolicy`] that is not forbidden.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct LoggingDetails {
    /// Clients that log.
    pub logging_clients: Vec<Uri>,
    /// Machine-readable policy.
    pub machine_readable_policy: Uri,
    /// Human-readable policy.
    pub human_readable_policy: Uri,
}

/// `LoggingPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct LoggingPolicy {
    /// Logging, with details unless forbidden.
    pub logging: Gated<LoggingDetails>,
}

/// Details of a [`HistoryPolicy`] that is not forbidden.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct HistoryDetails {
    /// Roles that may share history.
    pub roles_that_can_share: Vec<u32>,
    /// Share automatically.
    pub automatically_share: Bool,
    /// Longest period shared, seconds.
    pub max_time_period: u32,
}

/// `HistoryPolicy`: the `chat_history_policy` component.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct HistoryPolicy {
    /// History sharing, with details unless forbidden.
    pub history_sharing: Gated<HistoryDetails>,
}

/// `Bot`.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct Bot {
    /// Name.
    pub name: Utf8String,
    /// Description.
    pub description: Utf8String,
    /// Homepage.
    pub homepage: Uri,
    /// Runs as a local client.
    pub local_client_bot: Bool,
    /// The bot's role.
    pub bot_role_index: u32,
    /// May target messages to some members.
    pub can_target_message_in_group: Bool,
    /// Produces per-user content.
    pub per_user_content: Bool,
}

/// `BotPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, Default, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct BotPolicy {
    /// Allowed bots.
    pub allowed_bots: Vec<Bot>,
}

/// Details of a [`MessageExpiration`] that is not forbidden.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct ExpirationDetails {
    /// Shortest expiry, seconds.
    pub min_expiration_duration: u32,
    /// Longest expiry, seconds.
    pub max_expiration_duration: u32,
    /// Default expiry, seconds.
    pub default_expiration_duration: Option<u32>,
}

/// `MessageExpiration`: the `message_expiration_policy` component.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct MessageExpiration {
    /// Expiring messages, with details unless forbidden.
    pub expiring_messages: Gated<ExpirationDetails>,
}

/// `ExtendedCapabilities`: MLS and MIMI capabilities as lists of code points.
#[derive(Debug, Clone, PartialEq, Eq, Default, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct ExtendedCapabilities {
    /// Protocol versions.
    pub versions: Vec<u16>,
    /// Ciphersuites.
    pub cipher_suites: Vec<u16>,
    /// Extension types.
    pub extensions: Vec<u16>,
    /// Proposal types.
    pub proposals: Vec<u16>,
    /// Credential types.
    pub credentials: Vec<u16>,
    /// Wire formats.
    pub wire_formats: Vec<u16>,
    /// Component IDs.
    pub component_ids: Vec<ComponentId>,
    /// Safe AAD component IDs.
    pub safe_aad_types: Vec<ComponentId>,
    /// Media types.
    pub media_types: Vec<MediaType>,
    /// Content types.
    pub content_types: Vec<u8>,
}

/// `PendingProposalPolicy`: how members commit pending proposals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingProposalPolicy {
    /// `unspecified(0)`.
    Unspecified,
    /// `immediate_commit(1)`.
    ImmediateCommit,
    /// `random_delay(2)` between the bounds, in ms.
    RandomDelay {
        /// Lower bound, ms.
        minimum_delay_ms: u64,
        /// Upper bound, ms.
        maximum_delay_ms: u64,
    },
}

impl Size for PendingProposalPolicy {
    fn tls_serialized_len(&self) -> usize {
        match self {
            PendingProposalPolicy::RandomDelay { .. } => 17,
            _ => 1,
        }
    }
}

impl Serialize for PendingProposalPolicy {
    fn tls_serialize<W: std::io::Write>(&self, writer: &mut W) -> Result<usize, tls_codec::Error> {
        match self {
            PendingProposalPolicy::Unspecified => 0u8.tls_serialize(writer),
            PendingProposalPolicy::ImmediateCommit => 1u8.tls_serialize(writer),
            PendingProposalPolicy::RandomDelay {
                minimum_delay_ms,
                maximum_delay_ms,
            } => Ok(2u8.tls_serialize(writer)?
                + minimum_delay_ms.tls_serialize(writer)?
                + maximum_delay_ms.tls_serialize(writer)?),
        }
    }
}

impl Deserialize for PendingProposalPolicy {
    fn tls_deserialize<R: std::io::Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        let code = u8::tls_deserialize(bytes)?;
        match code {
            0 => Ok(PendingProposalPolicy::Unspecified),
            1 => Ok(PendingProposalPolicy::ImmediateCommit),
            2 => {
                let minimum_delay_ms = u64::tls_deserialize(bytes)?;
                let maximum_delay_ms = u64::tls_deserialize(bytes)?;
                Ok(PendingProposalPolicy::RandomDelay {
                    minimum_delay_ms,
                    maximum_delay_ms,
                })
            }
            // room-policy-03 selects on an `extension` case that its enum does not define.
            other => Err(invalid(format!(
                "unknown pending proposal strategy {other}"
            ))),
        }
    }
}

/// `MinDefaultMaxTime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct MinDefaultMaxTime {
    /// Minimum.
    pub minimum_time: u64,
    /// Default.
    pub default_time: u64,
    /// Maximum.
    pub maximum_time: u64,
}

/// `AppMessagePolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct AppMessagePolicy {
    /// Epochs an application message may lag.
    pub epoch_tolerance: u8,
    /// Padding target size.
    pub pad_to_size: u16,
    /// Largest generation skip-ahead.
    pub max_generations_skipahead: u32,
}

/// `OperationalParameters`: the `mls_operational_policy` component.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct OperationalParameters {
    /// Capabilities every member must have.
    pub mandatory_capabilities: ExtendedCapabilities,
    /// Default capabilities.
    pub default_capabilities: ExtendedCapabilities,
    /// Forbidden capabilities.
    pub forbidden_capabilities: ExtendedCapabilities,
    /// Wire formats allowed for handshakes.
    pub handshake_formats: Vec<u16>,
    /// External proposals allowed.
    pub external_proposal_allowed: Bool,
    /// External commits allowed.
    pub external_commit_allowed: Bool,
    /// Pending proposal strategy.
    pub pending_proposal_policy: PendingProposalPolicy,
    /// LeafNode update times.
    pub leaf_node_update_time: MinDefaultMaxTime,
    /// Application message policy.
    pub app_message_policy: AppMessagePolicy,
    /// Longest KeyPackage lifetime (the draft writes `unit64`).
    pub max_kp_lifetime: u64,
    /// Longest credential lifetime.
    pub max_credential_lifetime: u64,
    /// Resumption PSK lifetime.
    pub resumption_psk_lifetime: u64,
    /// Sender nonce key pair lifetime.
    pub sender_nonce_keypair_lifetime: MinDefaultMaxTime,
    /// Most key pairs.
    pub max_keypairs: u32,
    /// How long incoming messages are buffered.
    pub buffer_incoming_message_time: MinDefaultMaxTime,
    /// Most buffered messages.
    pub max_buffered_messages: u32,
}
