//! The JSON bodies of the client API (`/client/v1/...`): what a provider's own users' clients
//! send to it and get back. The API is provider-internal, so ours to define
//! (docs/client-api.md; docs/decisions/0071..0079); the server (`mimi-server`) and the typed
//! client (`mimi-client::remote`) share these types.
//!
//! Binary protocol values (MLS structs, TLS-encoded protocol-06 bodies) travel as
//! [`Base64Url`] strings: base64url without padding (RFC 4648 §5). Identifiers travel as
//! `mimi://` URI strings and are parsed on the way in, so a body with a malformed URI does not
//! deserialize.
//!
//! ```text
//!  client ── JSON {.., request: B64(TLS UpdateRequest)} ──► provider ── TLS body ──► hub
//!  client ◄── JSON {response: B64(TLS UpdateRoomResponse)} ── provider ◄── TLS body ── hub
//! ```

use std::fmt;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::{Deserialize, Serialize};

use crate::id::{ClientUri, ProviderDomain, RoomUri, UserUri};

/// Path prefix of every client API endpoint.
pub const CLIENT_API_PREFIX: &str = "/client/v1";

/// Writes base64url without padding; reads it with or without padding (docs/decisions/0071).
const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Encode bytes as base64url without padding.
pub fn b64_encode(bytes: &[u8]) -> String {
    ENGINE.encode(bytes)
}

/// Decode base64url (padding optional; the standard alphabet's `+` and `/` are refused).
pub fn b64_decode(text: &str) -> Result<Vec<u8>, crate::Error> {
    ENGINE.decode(text).map_err(|e| crate::Error::Decode {
        what: "base64url",
        reason: e.to_string(),
    })
}

/// Bytes that travel in JSON as a base64url string without padding.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Base64Url(pub Vec<u8>);

impl Base64Url {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, by value.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

impl From<Vec<u8>> for Base64Url {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl From<&[u8]> for Base64Url {
    fn from(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }
}

impl fmt::Debug for Base64Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Base64Url({} bytes)", self.0.len())
    }
}

impl Serialize for Base64Url {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&b64_encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Base64Url {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as Deserialize<'de>>::deserialize(deserializer)?;
        b64_decode(&s).map(Self).map_err(serde::de::Error::custom)
    }
}

/// Every error response: `{"error": "one line"}` with a 4xx or 5xx status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, one line.
    pub error: String,
}

/// `POST /client/v1/register`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterRequest {
    /// Login name: 1 to 64 of `a-z 0-9 . _ -`, starting with a letter or digit (ASCII
    /// capitals are lowercased). It becomes the user URI's id.
    pub username: String,
    /// At least 8 characters, at most 1024 bytes.
    pub password: String,
    /// Free text shown to people (docs/decisions/0028 rules).
    pub display_name: String,
}

/// Answer to [`RegisterRequest`] (201).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterResponse {
    /// `mimi://<domain>/u/<username>`.
    pub user_uri: UserUri,
}

/// `POST /client/v1/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    /// Login name (ASCII capitals are lowercased).
    pub username: String,
    /// Password.
    pub password: String,
}

/// Answer to [`LoginRequest`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    /// Bearer token for `Authorization: Bearer <token>` (valid 30 days or until logout).
    pub token: String,
    /// The user logged in.
    pub user_uri: UserUri,
    /// When the token expires, ms since the UNIX epoch.
    pub expires_ms: u64,
}

impl fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginResponse")
            .field("token", &"<redacted>")
            .field("user_uri", &self.user_uri)
            .field("expires_ms", &self.expires_ms)
            .finish()
    }
}

/// `GET /client/v1/hub`: what a client needs to create a group this provider hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubInfo {
    /// The provider's domain (the domain of the rooms it hosts).
    pub domain: String,
    /// The hub's TLS-encoded MLS `ExternalSender` (for the `external_senders` extension).
    pub external_sender: Base64Url,
    /// The hub's TLS-encoded `FrankingAgentData` (protocol-06 §5.4.1).
    pub franking_agent: Base64Url,
}

/// `POST /client/v1/devices`: certify a new client (device) of the token's user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDeviceRequest {
    /// Device id, unique per user; the client URI is `mimi://<domain>/d/<user>/<device>`.
    pub device: String,
    /// The client's raw Ed25519 MLS signature public key (32 bytes).
    pub signature_key: Base64Url,
}

/// Answer to [`NewDeviceRequest`] (201).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDeviceResponse {
    /// The new client's URI.
    pub client_uri: ClientUri,
    /// The TLS-encoded MLS `Credential` the provider's client CA issued (X.509).
    pub credential: Base64Url,
}

/// `POST /client/v1/devices/{device}/key-packages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishKeyPackagesRequest {
    /// TLS-encoded `KeyPackage`s of this device (one-time, or one last-resort).
    pub key_packages: Vec<Base64Url>,
}

/// Answer to [`PublishKeyPackagesRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishKeyPackagesResponse {
    /// How many were newly stored (re-uploads and already-claimed ones are not).
    pub stored: u64,
    /// How many one-time KeyPackages the device has now.
    pub remaining: u64,
}

/// `POST /client/v1/rooms`: host a room the client created the group of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateRoomRequest {
    /// The room's local id: the room URI is `mimi://<domain>/r/<room>`.
    pub room: String,
    /// Policy preset name (`cooperatively-administered`, `strictly-administered`,
    /// `moderated`, `multi-organization`, `open`, `direct-message`); the server derives the
    /// initial policy from it with the token's user as creator and checks the group has it.
    pub preset: String,
    /// The creating device (it becomes the room's first member).
    pub device: String,
    /// TLS-encoded GroupInfo of the new group (epoch 0).
    pub group_info: Base64Url,
    /// TLS-encoded ratchet tree of the new group.
    pub ratchet_tree: Base64Url,
}

/// Answer to [`CreateRoomRequest`] (201).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateRoomResponse {
    /// The room's URI.
    pub room_uri: RoomUri,
}

/// `POST /client/v1/key-material`: claim KeyPackages of a user to add to a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyMaterialApiRequest {
    /// The room the KeyPackages are for (its hub relays when needed).
    pub room: RoomUri,
    /// TLS-encoded, signed protocol-06 `KeyMaterialRequest`; its requesting user must be the
    /// token's user.
    pub request: Base64Url,
}

/// A protocol-06 request of one device for a room's hub (`update`, `messages`,
/// `group-info`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceWireRequest {
    /// The device sending it (one of the token's user's).
    pub device: String,
    /// The TLS-encoded protocol-06 request body.
    pub request: Base64Url,
}

/// A TLS-encoded protocol-06 response (`KeyMaterialResponse`, `UpdateRoomResponse`,
/// `SubmitMessageResponse`, `GroupInfoResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireResponse {
    /// The response body.
    pub response: Base64Url,
}

/// A request naming only a device (`joined`, `left`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRequest {
    /// The device.
    pub device: String,
}

/// One event of a device's stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamEvent {
    /// Its position in the device's stream: 1, 2, 3, ... without gaps. Resume after it.
    pub cursor: u64,
    /// The room it belongs to.
    pub room: RoomUri,
    /// What it is: `fanout` (the body is a TLS-encoded protocol-06 `FanoutMessage`).
    pub kind: String,
    /// The payload.
    pub body: Base64Url,
}

/// Answer of `GET /client/v1/devices/{device}/events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsResponse {
    /// Events after the requested cursor, oldest first.
    pub events: Vec<StreamEvent>,
    /// The device's latest cursor (0 if it never had an event).
    pub latest: u64,
}

/// `PUT /client/v1/identifiers`: the token's user's searchable identifiers (protocol-06
/// §5.8, docs/decisions/0082, 0084). Replaces what was set before; an absent field is unset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentifiersRequest {
    /// A handle of this provider: `@nick`, `@nick@<domain>` or `im:nick@<domain>`. It also
    /// makes its nick searchable. A handle names one user (409 if taken).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    /// A nick (`alice.smith`), searchable with `nick` queries (may be shared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick: Option<String>,
    /// An email address (`alice@example.com`, `mailto:` accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// An international phone number (`+1 212 555 1212`, `tel:` accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Whether the user may be found at all (by these identifiers and by name).
    pub searchable: bool,
}

/// Answer to [`IdentifiersRequest`]: what is stored, in the canonical forms queries match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentifiersResponse {
    /// `im:nick@<domain>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    /// The nicks (of the handle and the `nick` field), lowercase.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nicks: Vec<String>,
    /// The email address (addr-spec).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The phone number (E.164).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Whether the user may be found.
    pub searchable: bool,
}

/// A protocol-06 §5.8 `SearchIdentifierType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SearchType {
    /// A whole handle (`@bob`, `@bob@b.example`, `im:bob@b.example`); an unscoped handle is
    /// scoped to the provider searched.
    Handle,
    /// The user part of a handle.
    Nick,
    /// An email address.
    Email,
    /// An international phone number.
    Phone,
    /// Part of a name (case-insensitive).
    PartialName,
    /// Part of any searchable field.
    WholeProfile,
    /// An OIDC standard claim, named by `name`.
    OidcStdClaim,
    /// A vCard property, named by `name`.
    VcardField,
}

/// One element of a search; all must match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchElement {
    /// What to search.
    pub kind: SearchType,
    /// The claim or property name (`oidcStdClaim`, `vcardField` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The value searched for.
    pub value: String,
}

/// `POST /client/v1/search`: ask a provider which of its users match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchRequest {
    /// The provider asked (this provider's own domain is answered locally).
    pub domain: ProviderDomain,
    /// The query elements (1 to 8).
    pub query: Vec<SearchElement>,
}

/// A protocol-06 §5.8 `IdentifierQueryCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SearchCode {
    /// At least one match (`users` lists them).
    Success,
    /// No match.
    NotFound,
    /// Too many matches or too vague; ask with an exact field.
    Ambiguous,
    /// The provider does not allow this search.
    Forbidden,
    /// The provider does not search one of the fields.
    UnsupportedField,
}

/// A profile field of a found user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileFieldJson {
    /// `oidcStdClaim` or `vcardField`.
    pub source: String,
    /// The claim or property name (`FN`).
    pub name: String,
    /// The value as sent.
    pub value: Base64Url,
}

/// A user a search found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundUser {
    /// The user's URI (to ask consent of, or claim key material for).
    pub user_uri: UserUri,
    /// The display name (the vCard `FN` of the profile), if the provider sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Every profile field the provider sent.
    #[serde(default)]
    pub fields: Vec<ProfileFieldJson>,
}

/// Answer to [`SearchRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResponse {
    /// The provider's answer.
    pub code: SearchCode,
    /// The users found (empty unless `success`).
    pub users: Vec<FoundUser>,
}

/// `POST /client/v1/consent/request` and `/cancel`: the token's user asks `target` for
/// consent (protocol-06 §5.7), or withdraws the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentAsk {
    /// The user asked.
    pub target: UserUri,
    /// The room the consent is for; none for any room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<RoomUri>,
}

/// `POST /client/v1/consent/grant` and `/revoke`: the token's user answers `requester`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentAnswer {
    /// The user who asks (or may ask).
    pub requester: UserUri,
    /// The room the answer is for; none for any room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<RoomUri>,
}

/// The state of a consent record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsentStatus {
    /// Asked, not answered.
    Requested,
    /// The target accepts the requester.
    Granted,
    /// The target refused or withdrew.
    Revoked,
}

/// Answer of the consent endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentResponse {
    /// Who asks.
    pub requester: UserUri,
    /// Who is asked.
    pub target: UserUri,
    /// The room, if the consent is for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<RoomUri>,
    /// What this provider now records for the scope (none: no record).
    pub state: Option<ConsentStatus>,
    /// Whether the other user's provider accepted the operation (always true when both
    /// users are of this provider). `request` and `cancel` are refused (502) rather than
    /// recorded when it did not; `grant` and `revoke` take effect here anyway.
    pub delivered: bool,
    /// Why the other provider was not told, when `delivered` is false; repeat the request to
    /// retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trip_and_liberal_padding() {
        let b = Base64Url(vec![0xfb, 0xff, 0x01]);
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(json, "\"-_8B\"");
        assert_eq!(serde_json::from_str::<Base64Url>(&json).unwrap(), b);
        let one = Base64Url(vec![0xfb]);
        assert_eq!(serde_json::to_string(&one).unwrap(), "\"-w\"");
        assert_eq!(serde_json::from_str::<Base64Url>("\"-w==\"").unwrap(), one);
        assert_eq!(serde_json::from_str::<Base64Url>("\"-w\"").unwrap(), one);
        // The standard alphabet is refused.
        assert!(serde_json::from_str::<Base64Url>("\"+/8B\"").is_err());
        assert!(serde_json::from_str::<Base64Url>("\"a\"").is_err());
        assert!(serde_json::from_str::<Base64Url>("7").is_err());
    }

    #[test]
    fn bodies_parse_uris_and_ignore_unknown_fields() {
        let r: KeyMaterialApiRequest =
            serde_json::from_str(r#"{"room":"mimi://a.example/r/x","request":""}"#).unwrap();
        assert_eq!(r.room.as_str(), "mimi://a.example/r/x");
        assert!(
            serde_json::from_str::<KeyMaterialApiRequest>(
                r#"{"room":"mimi://a.example/u/x","request":""}"#
            )
            .is_err()
        );
        // Unknown fields are ignored (later v1 revisions may add optional ones).
        assert!(serde_json::from_str::<DeviceRequest>(r#"{"device":"1","extra":true}"#).is_ok());
        assert!(serde_json::from_str::<DeviceRequest>(r#"{"extra":true}"#).is_err());
        let login = LoginResponse {
            token: "secret".into(),
            user_uri: UserUri::parse("mimi://a.example/u/alice").unwrap(),
            expires_ms: 1,
        };
        assert!(!format!("{login:?}").contains("secret"));
    }
    #[test]
    fn directory_bodies() {
        let q: SearchRequest = serde_json::from_str(
            r#"{"domain":"B.example","query":[{"kind":"partialName","value":"bo"},{"kind":"vcardField","name":"TEL","value":"1"}]}"#,
        )
        .unwrap();
        assert_eq!(q.domain.as_str(), "b.example");
        assert_eq!(q.query[0].kind, SearchType::PartialName);
        assert_eq!(q.query[1].name.as_deref(), Some("TEL"));
        assert!(
            serde_json::from_str::<SearchRequest>(
                r#"{"domain":"b.example","query":[{"kind":"shoeSize","value":"9"}]}"#
            )
            .is_err()
        );
        let i: IdentifiersRequest = serde_json::from_str(r#"{"searchable":true}"#).unwrap();
        assert_eq!(i.handle, None);
        assert_eq!(
            serde_json::to_string(&SearchCode::UnsupportedField).unwrap(),
            "\"unsupportedField\""
        );
        assert_eq!(
            serde_json::to_string(&ConsentStatus::Granted).unwrap(),
            "\"granted\""
        );
        let a: ConsentAnswer =
            serde_json::from_str(r#"{"requester":"mimi://a.example/u/alice"}"#).unwrap();
        assert_eq!(a.room, None);
        assert!(
            serde_json::from_str::<ConsentAsk>(r#"{"target":"mimi://a.example/r/x"}"#).is_err()
        );
    }
}
