//! Identifiers, search and consent for this provider's own users (docs/decisions/0084): set
//! the identifiers others find the user by, search any provider (protocol-06 §5.8
//! `identifierQuery`), and ask for, withdraw, grant and revoke consent (§5.7).
//!
//! ```text
//!   PUT  identifiers ─► normalize (mimi_types::id) ─► store.put_identifiers
//!   POST search ─► normalize ─► ours? answer_identifier_query : identifierQuery ─► peer
//!   POST consent/request|cancel ─► requestConsent ─► target's provider ─► then record here
//!   POST consent/grant|revoke ─► record here (the gate reads it) ─► updateConsent ─► requester's
//! ```
//!
//! Every check runs before anything is stored or sent.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mimi_store::{ConsentState, Store};
use mimi_types::client_api::{
    ConsentAnswer, ConsentAsk, ConsentResponse, ConsentStatus, FoundUser, IdentifiersRequest,
    IdentifiersResponse, ProfileFieldJson, SearchCode, SearchElement, SearchRequest,
    SearchResponse, SearchType,
};
use mimi_types::id::{
    ConnectionId, EmailAddress, Handle, MimiUri, PhoneNumber, ProviderDomain, RoomUri, UserUri,
};
use mimi_types::wire::{
    ConsentEntry, ConsentOperation, FieldSource, IdentifierQueryCode, IdentifierRequest,
    IdentifierResponse, IdentifierUri, QueryElement, SearchKind, Utf8String,
};
use openmls::prelude::AppDataDictionary;

use super::Api;
use super::auth::Authed;
use super::error::ApiError;
use super::extract::ApiJson;
use crate::directory_ops::PeerOpError;
use crate::federation::consent::CheckedScope;
use crate::federation::search::{MAX_QUERY_ELEMENTS, MAX_SEARCH_VALUE_LEN, identifier_rows};
use crate::provider::now_ms;

impl From<PeerOpError> for ApiError {
    fn from(e: PeerOpError) -> Self {
        match e {
            e @ (PeerOpError::Refused { .. } | PeerOpError::BadAnswer { .. }) => {
                Self::new(StatusCode::BAD_GATEWAY, e.to_string())
            }
            PeerOpError::Failed(e) => e.into(),
        }
    }
}

/// A handle or nick of this provider: unscoped, or scoped to `ours`.
fn own_handle(field: &str, value: &str, ours: &ProviderDomain) -> Result<Handle, ApiError> {
    let handle =
        Handle::parse(value).map_err(|e| ApiError::bad_request(format!("{field}: {e}")))?;
    match handle.domain() {
        Some(d) if d != ours => Err(ApiError::bad_request(format!(
            "{field}: {value:?} names {d}; a {field} here is @nick or @nick@{ours}"
        ))),
        _ => Ok(handle.with_domain(ours.clone())),
    }
}

/// `PUT /client/v1/identifiers`.
pub(crate) async fn put_identifiers<S: Store>(
    State(api): State<Api<S>>,
    authed: Authed,
    ApiJson(req): ApiJson<IdentifiersRequest>,
) -> Result<Json<IdentifiersResponse>, ApiError> {
    let ours = api.p.domain();
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut answer = IdentifiersResponse {
        searchable: req.searchable,
        ..IdentifiersResponse::default()
    };
    if let Some(value) = &req.handle {
        let handle = own_handle("handle", value, ours)?;
        answer.handle = handle.to_im_uri();
        rows.extend(identifier_rows(&ConnectionId::Handle(handle), ours));
    }
    if let Some(value) = &req.nick {
        let nick = own_handle("nick", value, ours)?;
        rows.push(("nick".into(), nick.nick().to_string()));
    }
    if let Some(value) = &req.email {
        let email =
            EmailAddress::parse(value).map_err(|e| ApiError::bad_request(format!("email: {e}")))?;
        rows.extend(identifier_rows(&ConnectionId::Email(email), ours));
    }
    if let Some(value) = &req.phone {
        let phone =
            PhoneNumber::parse(value).map_err(|e| ApiError::bad_request(format!("phone: {e}")))?;
        rows.extend(identifier_rows(&ConnectionId::Phone(phone), ours));
    }
    rows.sort();
    rows.dedup();
    for (kind, value) in &rows {
        match kind.as_str() {
            "nick" => answer.nicks.push(value.clone()),
            "email" => answer.email = Some(value.clone()),
            "phone" => answer.phone = Some(value.clone()),
            _ => {}
        }
    }
    // A handle taken by another user is a conflict (409); nothing is changed then.
    api.p
        .store
        .put_identifiers(authed.user.as_str(), &rows, req.searchable)
        .await?;
    tracing::info!(user = %authed.user, identifiers = rows.len(), searchable = req.searchable,
        "searchable identifiers set");
    Ok(Json(answer))
}

/// One client query element as a protocol-06 `QueryElement`, normalized like the stored
/// identifiers (docs/decisions/0082) when its kind has a canonical form.
fn query_element(e: &SearchElement, domain: &ProviderDomain) -> Result<QueryElement, ApiError> {
    let value = e.value.trim();
    let kind_name = serde_json::to_string(&e.kind).unwrap_or_default();
    let kind_name = kind_name.trim_matches('"');
    let bad = |why: String| ApiError::bad_request(format!("{kind_name} {value:?}: {why}"));
    if value.is_empty() {
        return Err(bad("an empty search value".into()));
    }
    if value.len() > MAX_SEARCH_VALUE_LEN {
        return Err(bad(format!("longer than {MAX_SEARCH_VALUE_LEN} bytes")));
    }
    let named = matches!(e.kind, SearchType::OidcStdClaim | SearchType::VcardField);
    let name = match (&e.name, named) {
        (Some(n), true) if !n.trim().is_empty() => n.trim().as_bytes().to_vec(),
        (_, true) => return Err(bad("needs the claim or property name in \"name\"".into())),
        (Some(_), false) => {
            return Err(bad(
                "\"name\" is only for oidcStdClaim and vcardField".into()
            ));
        }
        (None, false) => Vec::new(),
    };
    let (kind, value) = match e.kind {
        SearchType::Handle => {
            let h = Handle::parse(value).map_err(|e| bad(e.to_string()))?;
            let scoped = match h.domain() {
                Some(_) => h,
                None => h.with_domain(domain.clone()),
            };
            let uri = scoped
                .to_im_uri()
                .ok_or_else(|| bad("not a scoped handle".into()))?;
            (SearchKind::Handle, uri)
        }
        SearchType::Nick => {
            let h = Handle::parse(value).map_err(|e| bad(e.to_string()))?;
            if let Some(d) = h.domain().filter(|d| *d != domain) {
                return Err(bad(format!("a nick of {d}, but {domain} is searched")));
            }
            (SearchKind::Nick, h.nick().to_string())
        }
        SearchType::Email => {
            let email = EmailAddress::parse(value).map_err(|e| bad(e.to_string()))?;
            (SearchKind::Email, email.as_str().to_string())
        }
        SearchType::Phone => {
            let phone = PhoneNumber::parse(value).map_err(|e| bad(e.to_string()))?;
            (SearchKind::Phone, phone.as_str().to_string())
        }
        SearchType::PartialName => (SearchKind::PartialName, value.to_string()),
        SearchType::WholeProfile => (SearchKind::WholeProfile, value.to_string()),
        SearchType::OidcStdClaim => (
            SearchKind::OidcStdClaim {
                claim_name: name.into(),
            },
            value.to_string(),
        ),
        SearchType::VcardField => (
            SearchKind::VcardField {
                property_name: name.into(),
            },
            value.to_string(),
        ),
    };
    Ok(QueryElement {
        kind,
        search_value: Utf8String::new(value).map_err(|e| bad(e.to_string()))?,
    })
}

fn search_code(code: IdentifierQueryCode) -> SearchCode {
    match code {
        IdentifierQueryCode::Success => SearchCode::Success,
        IdentifierQueryCode::NotFound => SearchCode::NotFound,
        IdentifierQueryCode::Ambiguous => SearchCode::Ambiguous,
        IdentifierQueryCode::Forbidden => SearchCode::Forbidden,
        IdentifierQueryCode::UnsupportedField => SearchCode::UnsupportedField,
    }
}

/// The found users of an answer (already checked to be users of the provider asked).
fn found_users(answer: &IdentifierResponse) -> Result<Vec<FoundUser>, ApiError> {
    let mut users = Vec::with_capacity(answer.uri.len());
    for uri in &answer.uri {
        let user_uri = UserUri::try_from(uri.uri().clone())
            .map_err(|e| ApiError::internal(format!("found user {}: {e}", uri.uri())))?;
        let mut display_name = None;
        let mut fields = Vec::new();
        for profile in answer
            .found_profiles
            .iter()
            .filter(|p| p.stable_uri.uri() == uri.uri())
        {
            for f in &profile.fields {
                let source = match f.field_source {
                    FieldSource::OidcStdClaim => "oidcStdClaim",
                    FieldSource::VcardField => "vcardField",
                };
                if f.field_source == FieldSource::VcardField
                    && f.field_name.as_str().eq_ignore_ascii_case("FN")
                    && display_name.is_none()
                {
                    display_name = std::str::from_utf8(f.field_value.as_slice())
                        .ok()
                        .map(str::to_string);
                }
                fields.push(ProfileFieldJson {
                    source: source.to_string(),
                    name: f.field_name.as_str().to_string(),
                    value: f.field_value.as_slice().into(),
                });
            }
        }
        users.push(FoundUser {
            user_uri,
            display_name,
            fields,
        });
    }
    Ok(users)
}

/// `POST /client/v1/search`.
pub(crate) async fn search<S: Store>(
    State(api): State<Api<S>>,
    authed: Authed,
    ApiJson(req): ApiJson<SearchRequest>,
) -> Result<Json<SearchResponse>, ApiError> {
    let n = req.query.len();
    if n == 0 || n > MAX_QUERY_ELEMENTS {
        return Err(ApiError::bad_request(format!(
            "a search has 1 to {MAX_QUERY_ELEMENTS} query elements, not {n}"
        )));
    }
    let query_elements = req
        .query
        .iter()
        .map(|e| query_element(e, &req.domain))
        .collect::<Result<Vec<_>, _>>()?;
    let request = IdentifierRequest {
        query_elements,
        id_request_extensions: AppDataDictionary::default(),
    };
    let answer = api.p.query_identifiers(&req.domain, &request).await?;
    let users = match answer.response_code {
        IdentifierQueryCode::Success => found_users(&answer)?,
        _ => Vec::new(),
    };
    tracing::debug!(user = %authed.user, domain = %req.domain, code = ?answer.response_code,
        found = users.len(), "search");
    Ok(Json(SearchResponse {
        code: search_code(answer.response_code),
        users,
    }))
}

fn status(state: ConsentState) -> ConsentStatus {
    match state {
        ConsentState::Requested => ConsentStatus::Requested,
        ConsentState::Granted => ConsentStatus::Granted,
        ConsentState::Revoked => ConsentStatus::Revoked,
    }
}

fn entry(operation: ConsentOperation, scope: &CheckedScope) -> ConsentEntry {
    let id = |uri: MimiUri| IdentifierUri::from(uri);
    ConsentEntry {
        operation,
        requester_uri: id(scope.requester.clone().into()),
        target_uri: id(scope.target.clone().into()),
        room_id: scope.room.clone().map(|r| id(r.into())),
        consent_extensions: AppDataDictionary::default(),
    }
}

/// The scope of a consent operation between two different users; a user of this provider on
/// the other side must exist (404).
async fn scope<S: Store>(
    api: &Api<S>,
    requester: UserUri,
    target: UserUri,
    room: Option<RoomUri>,
    other: &UserUri,
) -> Result<CheckedScope, ApiError> {
    if requester == target {
        return Err(ApiError::bad_request(
            "consent is between two different users",
        ));
    }
    if other.domain() == api.p.domain() && api.p.store.user_by_uri(other.as_str()).await?.is_none()
    {
        return Err(ApiError::not_found(format!("no user {other} here")));
    }
    Ok(CheckedScope {
        requester,
        target,
        room,
    })
}

async fn answer<S: Store>(
    api: &Api<S>,
    scope: CheckedScope,
    delivery_error: Option<String>,
) -> Result<Json<ConsentResponse>, ApiError> {
    let state = api
        .p
        .store
        .consent(
            scope.requester.as_str(),
            scope.target.as_str(),
            scope.room.as_ref().map(RoomUri::as_str),
        )
        .await?
        .map(|r| status(r.state));
    Ok(Json(ConsentResponse {
        requester: scope.requester,
        target: scope.target,
        room: scope.room,
        state,
        delivered: delivery_error.is_none(),
        delivery_error,
    }))
}

/// `request` or `cancel` of the token's user: the target's provider must accept it first
/// (else 502 and nothing is recorded); then the same record the target's provider keeps is
/// kept here (docs/decisions/0080).
async fn ask<S: Store>(
    api: &Api<S>,
    authed: Authed,
    req: ConsentAsk,
    cancel: bool,
) -> Result<Json<ConsentResponse>, ApiError> {
    let scope = scope(api, authed.user, req.target.clone(), req.room, &req.target).await?;
    if scope.target.domain() != api.p.domain() {
        let operation = if cancel {
            ConsentOperation::Cancel
        } else {
            ConsentOperation::Request
        };
        api.p.send_consent(&entry(operation, &scope)).await?;
    }
    let room = scope.room.as_ref().map(RoomUri::as_str);
    if cancel {
        api.p
            .store
            .cancel_consent_request(scope.requester.as_str(), scope.target.as_str(), room)
            .await?;
    } else {
        api.p
            .store
            .request_consent(&scope.record(ConsentState::Requested, now_ms()))
            .await?;
    }
    tracing::info!(requester = %scope.requester, target = %scope.target, cancel,
        "consent request sent");
    answer(api, scope, None).await
}

/// `grant` or `revoke` of the token's user: recorded here first (the key-material gate reads
/// this record, docs/decisions/0081), then sent to the requester's provider; if that fails
/// the answer says so and a repeat retries.
async fn reply<S: Store>(
    api: &Api<S>,
    authed: Authed,
    req: ConsentAnswer,
    grant: bool,
) -> Result<Json<ConsentResponse>, ApiError> {
    let scope = scope(
        api,
        req.requester.clone(),
        authed.user,
        req.room,
        &req.requester,
    )
    .await?;
    let (state, operation) = if grant {
        (
            ConsentState::Granted,
            ConsentOperation::Grant {
                client_key_packages: Vec::new(),
            },
        )
    } else {
        (ConsentState::Revoked, ConsentOperation::Revoke)
    };
    api.p
        .store
        .put_consent(&scope.record(state, now_ms()))
        .await?;
    let mut delivery_error = None;
    if scope.requester.domain() != api.p.domain()
        && let Err(e) = api.p.send_consent(&entry(operation, &scope)).await
    {
        tracing::warn!(requester = %scope.requester, target = %scope.target, error = %e,
            "consent answer recorded but not delivered");
        delivery_error = Some(e.to_string());
    }
    tracing::info!(requester = %scope.requester, target = %scope.target,
        state = state.as_str(), "consent answered");
    answer(api, scope, delivery_error).await
}

/// `POST /client/v1/consent/request`.
pub(crate) async fn request<S: Store>(
    State(api): State<Api<S>>,
    authed: Authed,
    ApiJson(req): ApiJson<ConsentAsk>,
) -> Result<Json<ConsentResponse>, ApiError> {
    ask(&api, authed, req, false).await
}

/// `POST /client/v1/consent/cancel`.
pub(crate) async fn cancel<S: Store>(
    State(api): State<Api<S>>,
    authed: Authed,
    ApiJson(req): ApiJson<ConsentAsk>,
) -> Result<Json<ConsentResponse>, ApiError> {
    ask(&api, authed, req, true).await
}

/// `POST /client/v1/consent/grant`.
pub(crate) async fn grant<S: Store>(
    State(api): State<Api<S>>,
    authed: Authed,
    ApiJson(req): ApiJson<ConsentAnswer>,
) -> Result<Json<ConsentResponse>, ApiError> {
    reply(&api, authed, req, true).await
}

/// `POST /client/v1/consent/revoke`.
pub(crate) async fn revoke<S: Store>(
    State(api): State<Api<S>>,
    authed: Authed,
    ApiJson(req): ApiJson<ConsentAnswer>,
) -> Result<Json<ConsentResponse>, ApiError> {
    reply(&api, authed, req, false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn element(kind: SearchType, name: Option<&str>, value: &str) -> SearchElement {
        SearchElement {
            kind,
            name: name.map(str::to_string),
            value: value.to_string(),
        }
    }

    #[test]
    fn query_elements_are_normalized_or_refused() {
        let b = ProviderDomain::parse("b.example").expect("domain");
        let value = |e: SearchElement| {
            query_element(&e, &b)
                .expect("element")
                .search_value
                .as_str()
                .to_string()
        };
        assert_eq!(
            value(element(SearchType::Handle, None, "@Bob")),
            "im:bob@b.example"
        );
        assert_eq!(
            value(element(SearchType::Nick, None, "@bob@b.example")),
            "bob"
        );
        assert_eq!(
            value(element(SearchType::Phone, None, "+1 (212) 555-1212")),
            "+12125551212"
        );
        assert_eq!(
            value(element(SearchType::Email, None, "mailto:bob@b.example")),
            "bob@b.example"
        );
        for bad in [
            element(SearchType::Phone, None, "not a number"),
            element(SearchType::Email, None, "nobody"),
            element(SearchType::Handle, None, "bad nick!"),
            element(SearchType::Nick, None, "bob@c.example"),
            element(SearchType::PartialName, None, "  "),
            element(SearchType::VcardField, None, "x"),
            element(SearchType::Nick, Some("FN"), "bob"),
            element(SearchType::PartialName, None, &"x".repeat(300)),
        ] {
            let e = query_element(&bad, &b).expect_err("refused");
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{bad:?}");
        }
        assert!(matches!(
            query_element(&element(SearchType::VcardField, Some("TEL"), "1"), &b)
                .expect("vcard")
                .kind,
            SearchKind::VcardField { .. }
        ));
    }
}
