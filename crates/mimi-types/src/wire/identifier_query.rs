//! Identifier query: `POST /identifierQuery/{domain}` (protocol-06 §5.8).

use openmls::prelude::AppDataDictionary;
use tls_codec::{Deserialize, Serialize, Size, TlsDeserialize, TlsSerialize, TlsSize, VLByteVec};

use super::codec::WireMessage;
use super::common::{IdentifierUri, Utf8String};

/// `SearchIdentifierType` code on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, TlsSize, TlsSerialize, TlsDeserialize)]
#[repr(u8)]
pub enum SearchIdentifierType {
    /// Whole handle URI, exact (e.g. `im:alice.smith@a.example`).
    Handle = 1,
    /// User part of a handle, exact.
    Nick = 2,
    /// RFC 5322 addr-spec, exact.
    Email = 3,
    /// International `+` form, exact (e.g. `+12125551212`).
    Phone = 4,
    /// Case-insensitive substring of name fields.
    PartialName = 5,
    /// Substring of any searchable field.
    WholeProfile = 6,
    /// Exact match of a named OIDC standard claim.
    OidcStdClaim = 7,
    /// Exact match of a vCard property.
    VcardField = 8,
}

/// What a [`QueryElement`] searches, with the field name for OIDC and vCard searches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchKind {
    /// `handle`.
    Handle,
    /// `nick`.
    Nick,
    /// `email`.
    Email,
    /// `phone`.
    Phone,
    /// `partialName`.
    PartialName,
    /// `wholeProfile`.
    WholeProfile,
    /// `oidcStdClaim` with the claim name.
    OidcStdClaim {
        /// The claim name, e.g. `email`.
        claim_name: VLByteVec,
    },
    /// `vcardField` with the property name.
    VcardField {
        /// The vCard property name, e.g. `TEL`.
        property_name: VLByteVec,
    },
}

impl SearchKind {
    /// The code on the wire.
    pub fn code(&self) -> SearchIdentifierType {
        match self {
            SearchKind::Handle => SearchIdentifierType::Handle,
            SearchKind::Nick => SearchIdentifierType::Nick,
            SearchKind::Email => SearchIdentifierType::Email,
            SearchKind::Phone => SearchIdentifierType::Phone,
            SearchKind::PartialName => SearchIdentifierType::PartialName,
            SearchKind::WholeProfile => SearchIdentifierType::WholeProfile,
            SearchKind::OidcStdClaim { .. } => SearchIdentifierType::OidcStdClaim,
            SearchKind::VcardField { .. } => SearchIdentifierType::VcardField,
        }
    }
}

/// `QueryElement` (the draft's `select(type)` means `select(searchType)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryElement {
    /// What to search.
    pub kind: SearchKind,
    /// The value searched for (UTF-8).
    pub search_value: Utf8String,
}

impl Size for QueryElement {
    fn tls_serialized_len(&self) -> usize {
        1 + match &self.kind {
            SearchKind::OidcStdClaim { claim_name: name }
            | SearchKind::VcardField {
                property_name: name,
            } => name.tls_serialized_len(),
            _ => 0,
        } + self.search_value.tls_serialized_len()
    }
}

impl Serialize for QueryElement {
    fn tls_serialize<W: std::io::Write>(&self, writer: &mut W) -> Result<usize, tls_codec::Error> {
        let mut n = self.kind.code().tls_serialize(writer)?;
        if let SearchKind::OidcStdClaim { claim_name: name }
        | SearchKind::VcardField {
            property_name: name,
        } = &self.kind
        {
            n += name.tls_serialize(writer)?;
        }
        n += self.search_value.tls_serialize(writer)?;
        Ok(n)
    }
}

impl Deserialize for QueryElement {
    fn tls_deserialize<R: std::io::Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        let code = SearchIdentifierType::tls_deserialize(bytes)?;
        let kind = match code {
            SearchIdentifierType::Handle => SearchKind::Handle,
            SearchIdentifierType::Nick => SearchKind::Nick,
            SearchIdentifierType::Email => SearchKind::Email,
            SearchIdentifierType::Phone => SearchKind::Phone,
            SearchIdentifierType::PartialName => SearchKind::PartialName,
            SearchIdentifierType::WholeProfile => SearchKind::WholeProfile,
            SearchIdentifierType::OidcStdClaim => {
                let claim_name = VLByteVec::tls_deserialize(bytes)?;
                SearchKind::OidcStdClaim { claim_name }
            }
            SearchIdentifierType::VcardField => {
                let property_name = VLByteVec::tls_deserialize(bytes)?;
                SearchKind::VcardField { property_name }
            }
        };
        let search_value = Utf8String::tls_deserialize(bytes)?;
        Ok(QueryElement { kind, search_value })
    }
}

/// `IdentifierRequest`: every element must match (AND).
#[derive(Debug, Clone, PartialEq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct IdentifierRequest {
    /// Query elements, all of which must match.
    pub query_elements: Vec<QueryElement>,
    /// Extension point.
    pub id_request_extensions: AppDataDictionary,
}

impl WireMessage for IdentifierRequest {
    const NAME: &'static str = "IdentifierRequest";
}

/// `IdentifierQueryCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, TlsSize, TlsSerialize, TlsDeserialize)]
#[repr(u8)]
pub enum IdentifierQueryCode {
    /// At least one match.
    Success = 0,
    /// No match.
    NotFound = 1,
    /// Too many matches; an exact field is needed.
    Ambiguous = 2,
    /// Not permitted.
    Forbidden = 3,
    /// A field is not supported.
    UnsupportedField = 4,
}

/// `FieldSource` of a profile field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, TlsSize, TlsSerialize, TlsDeserialize)]
#[repr(u8)]
pub enum FieldSource {
    /// An OIDC standard claim.
    OidcStdClaim = 7,
    /// A vCard property.
    VcardField = 8,
}

/// `ProfileField`.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct ProfileField {
    /// Where the field name comes from.
    pub field_source: FieldSource,
    /// The claim or property name.
    pub field_name: Utf8String,
    /// The value.
    pub field_value: VLByteVec,
}

/// `UserProfile`: a found user.
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct UserProfile {
    /// The user's stable (administrative) URI.
    pub stable_uri: IdentifierUri,
    /// Profile fields the user's policy discloses.
    pub fields: Vec<ProfileField>,
}

/// `IdentifierResponse`.
#[derive(Debug, Clone, PartialEq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct IdentifierResponse {
    /// Outcome.
    pub response_code: IdentifierQueryCode,
    /// URIs of the matching users.
    pub uri: Vec<IdentifierUri>,
    /// Profiles of the matching users.
    pub found_profiles: Vec<UserProfile>,
    /// Extension point.
    pub id_response_extensions: AppDataDictionary,
}

impl WireMessage for IdentifierResponse {
    const NAME: &'static str = "IdentifierResponse";
}
