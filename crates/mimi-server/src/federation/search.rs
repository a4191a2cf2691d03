//! `POST /identifierQuery/{domain}` (protocol-06 §5.8): find the internal URI of a user of
//! this provider from a handle, nick, email address, phone number or part of a name
//! (docs/decisions/0082).
//!
//! ```text
//!   IdentifierRequest ─► bounds (400) ─► plan each element (pure)
//!     any wholeProfile / oidcStdClaim / vcardField ─► unsupportedField
//!     handle/nick/email/phone ─► store.find_users(kind, canonical value)     (exact)
//!     partialName (≥ 3 characters) ─► store.find_users_by_name(fragment)     (substring)
//!   AND: intersect ─► notFound | ambiguous (too many) | success + profiles
//! ```
//!
//! Only users whose search policy makes them searchable are ever found (the store filters).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use mimi_store::Store;
use mimi_types::id::{ConnectionId, EmailAddress, Handle, MimiUri, PhoneNumber, ProviderDomain};
use mimi_types::wire::{
    Endpoint, FieldSource, IdentifierQueryCode, IdentifierRequest, IdentifierResponse,
    IdentifierUri, ProfileField, QueryElement, SearchKind, UserProfile, Utf8String, WireMessage,
};
use openmls::prelude::AppDataDictionary;

use super::auth::{Peer, reject};
use super::consent::check_path_domain;
use super::routes::{decode, internal, tls_body};
use crate::error::ServerError;
use crate::provider::{Provider, store_err};

/// Most query elements in one request.
pub const MAX_QUERY_ELEMENTS: usize = 8;
/// Longest search value, in bytes.
pub const MAX_SEARCH_VALUE_LEN: usize = 256;
/// Shortest `partialName` fragment, in characters; a shorter one makes the query
/// `ambiguous`.
pub const MIN_PARTIAL_NAME_CHARS: usize = 3;
/// Most users in a `success` answer; a query matching more is `ambiguous`.
pub const MAX_RESULTS: usize = 20;
/// Most users one `partialName` element may match before the query is `ambiguous`.
pub const MAX_NAME_MATCHES: usize = 100;

/// The stored search rows of a connection identifier of one of our users, in the canonical
/// forms queries are normalized to: a handle gives `("handle", "im:nick@domain")` (an
/// unscoped handle is scoped to `ours`) and `("nick", nick)`; an email address
/// `("email", addr-spec)`; a phone number `("phone", E.164)`.
pub fn identifier_rows(id: &ConnectionId, ours: &ProviderDomain) -> Vec<(String, String)> {
    match id {
        ConnectionId::Handle(h) => {
            let scoped = match h.domain() {
                Some(_) => h.clone(),
                None => h.with_domain(ours.clone()),
            };
            let mut rows = vec![("nick".to_string(), h.nick().to_string())];
            if let Some(uri) = scoped.to_im_uri() {
                rows.push(("handle".to_string(), uri));
            }
            rows
        }
        ConnectionId::Email(e) => vec![("email".to_string(), e.as_str().to_string())],
        ConnectionId::Phone(p) => vec![("phone".to_string(), p.as_str().to_string())],
    }
}

/// How one query element is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    /// Users with exactly this stored identifier.
    Exact(&'static str, String),
    /// Users whose name contains this fragment.
    Name(String),
    /// The value cannot be such an identifier: nobody matches.
    Nobody,
    /// Too vague to answer.
    Ambiguous,
    /// A field this provider does not search.
    Unsupported,
}

fn plan(element: &QueryElement, ours: &ProviderDomain) -> Plan {
    let value = element.search_value.as_str().trim();
    match &element.kind {
        // protocol-06 §5.8: "the entire handle URI matches exactly".
        SearchKind::Handle => match Handle::parse(value) {
            Ok(h) => {
                let scoped = match h.domain() {
                    Some(_) => h,
                    None => h.with_domain(ours.clone()),
                };
                scoped
                    .to_im_uri()
                    .map_or(Plan::Nobody, |uri| Plan::Exact("handle", uri))
            }
            Err(_) => Plan::Nobody,
        },
        // "the nickname or handle user part matches exactly".
        SearchKind::Nick => match Handle::parse(value) {
            Ok(h) if h.domain().is_none_or(|d| d == ours) => {
                Plan::Exact("nick", h.nick().to_string())
            }
            _ => Plan::Nobody,
        },
        SearchKind::Email => EmailAddress::parse(value).map_or(Plan::Nobody, |e| {
            Plan::Exact("email", e.as_str().to_string())
        }),
        SearchKind::Phone => PhoneNumber::parse(value).map_or(Plan::Nobody, |p| {
            Plan::Exact("phone", p.as_str().to_string())
        }),
        // "a case-insensitive substring of any field which contains the name".
        SearchKind::PartialName if value.chars().count() < MIN_PARTIAL_NAME_CHARS => {
            Plan::Ambiguous
        }
        SearchKind::PartialName => Plan::Name(value.to_string()),
        SearchKind::WholeProfile
        | SearchKind::OidcStdClaim { .. }
        | SearchKind::VcardField { .. } => Plan::Unsupported,
    }
}

/// Bounds on a request, beyond the decoder's size limit.
fn check_bounds(request: &IdentifierRequest) -> Result<(), String> {
    let n = request.query_elements.len();
    if n == 0 {
        return Err("an identifier query needs at least one query element".into());
    }
    if n > MAX_QUERY_ELEMENTS {
        return Err(format!(
            "{n} query elements; at most {MAX_QUERY_ELEMENTS} are accepted"
        ));
    }
    if let Some(e) = request
        .query_elements
        .iter()
        .find(|e| e.search_value.as_str().len() > MAX_SEARCH_VALUE_LEN)
    {
        return Err(format!(
            "a {:?} search value is longer than {MAX_SEARCH_VALUE_LEN} bytes",
            e.kind.code()
        ));
    }
    Ok(())
}

/// An answer without matches.
fn answer(code: IdentifierQueryCode) -> IdentifierResponse {
    IdentifierResponse {
        response_code: code,
        uri: vec![],
        found_profiles: vec![],
        id_response_extensions: AppDataDictionary::default(),
    }
}

impl<S: Store> Provider<S> {
    /// Answer an identifier query about this provider's users (protocol-06 §5.8), for a
    /// peer or for one of our own users. Out-of-bounds requests are
    /// [`ServerError::Invalid`]; every other outcome is an [`IdentifierResponse`] code.
    pub async fn answer_identifier_query(
        &self,
        request: &IdentifierRequest,
    ) -> Result<IdentifierResponse, ServerError> {
        check_bounds(request).map_err(ServerError::Invalid)?;
        let plans: Vec<Plan> = request
            .query_elements
            .iter()
            .map(|e| plan(e, self.domain()))
            .collect();
        if plans.contains(&Plan::Unsupported) {
            return Ok(answer(IdentifierQueryCode::UnsupportedField));
        }
        // AND semantics: every element must match (§5.8).
        let mut found: Option<BTreeSet<String>> = None;
        let mut ambiguous = false;
        for plan in plans {
            let users: BTreeSet<String> = match plan {
                Plan::Exact(kind, value) => self
                    .store
                    .find_users(kind, &value)
                    .await
                    .map_err(store_err)?
                    .into_iter()
                    .collect(),
                Plan::Name(fragment) => {
                    let users = self
                        .store
                        .find_users_by_name(&fragment, MAX_NAME_MATCHES + 1)
                        .await
                        .map_err(store_err)?;
                    if users.len() > MAX_NAME_MATCHES {
                        ambiguous = true;
                        continue;
                    }
                    users.into_iter().collect()
                }
                Plan::Ambiguous => {
                    ambiguous = true;
                    continue;
                }
                Plan::Nobody | Plan::Unsupported => BTreeSet::new(),
            };
            let narrowed = match found {
                None => users,
                Some(before) => before.intersection(&users).cloned().collect(),
            };
            if narrowed.is_empty() {
                return Ok(answer(IdentifierQueryCode::NotFound));
            }
            found = Some(narrowed);
        }
        let found = match found {
            Some(users) if !ambiguous && users.len() <= MAX_RESULTS => users,
            _ => return Ok(answer(IdentifierQueryCode::Ambiguous)),
        };
        let mut uris = Vec::with_capacity(found.len());
        let mut profiles = Vec::with_capacity(found.len());
        for user in found {
            let uri = IdentifierUri::from(
                MimiUri::parse(&user)
                    .map_err(|e| ServerError::Store(format!("stored user {user}: {e}")))?,
            );
            let mut fields = Vec::new();
            if let Some(record) = self.store.user_by_uri(&user).await.map_err(store_err)?
                && !record.display_name.is_empty()
            {
                // The display name, as the vCard formatted name.
                fields.push(ProfileField {
                    field_source: FieldSource::VcardField,
                    field_name: Utf8String::new("FN")?,
                    field_value: record.display_name.into_bytes().into(),
                });
            }
            profiles.push(UserProfile {
                stable_uri: uri.clone(),
                fields,
            });
            uris.push(uri);
        }
        Ok(IdentifierResponse {
            response_code: IdentifierQueryCode::Success,
            uri: uris,
            found_profiles: profiles,
            id_response_extensions: AppDataDictionary::default(),
        })
    }
}

/// The handler.
pub async fn identifier_query<S: Store>(
    State(p): State<Arc<Provider<S>>>,
    Extension(Peer(peer)): Extension<Peer>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let request = match check_path_domain(&uri, Endpoint::IdentifierQuery, p.domain())
        .and_then(|()| decode::<IdentifierRequest>(&body, p.config.file.limits.max_body_bytes))
    {
        Ok(r) => r,
        Err((status, reason)) => return reject(status, reason),
    };
    match p.answer_identifier_query(&request).await {
        Ok(response) => {
            tracing::debug!(%peer, code = ?response.response_code, "identifier query answered");
            match response.encode() {
                Ok(bytes) => tls_body(StatusCode::OK, bytes),
                Err(e) => internal(e),
            }
        }
        Err(ServerError::Invalid(reason)) => reject(StatusCode::BAD_REQUEST, reason),
        Err(e) => internal(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn element(kind: SearchKind, value: &str) -> QueryElement {
        QueryElement {
            kind,
            search_value: Utf8String::new(value).expect("value"),
        }
    }

    #[test]
    fn queries_are_normalized_like_stored_rows() {
        let ours = ProviderDomain::parse("a.example").expect("domain");
        let rows = |s: &str| identifier_rows(&ConnectionId::parse(s).expect("id"), &ours);
        let exact = |p: Plan| match p {
            Plan::Exact(k, v) => (k.to_string(), v),
            other => panic!("{other:?}"),
        };
        // A handle as the user set it and as a peer searches it, in any case.
        let stored = rows("@Alice.Smith");
        for (kind, value) in [
            (SearchKind::Handle, "im:alice.smith@a.example"),
            (SearchKind::Handle, "@ALICE.smith"),
            (SearchKind::Nick, "alice.smith"),
            (SearchKind::Nick, "@alice.smith@a.example"),
        ] {
            let key = exact(plan(&element(kind.clone(), value), &ours));
            assert!(stored.contains(&key), "{kind:?} {value}: {key:?}");
        }
        assert_eq!(
            plan(&element(SearchKind::Nick, "alice@b.example"), &ours),
            Plan::Nobody
        );
        let email = rows("asmith@a.example");
        assert!(email.contains(&exact(plan(
            &element(SearchKind::Email, "mailto:asmith@a.example"),
            &ours
        ))));
        let phone = rows("+1 (212) 555-1212");
        assert!(phone.contains(&exact(plan(
            &element(SearchKind::Phone, "+12125551212"),
            &ours
        ))));
        assert_eq!(
            plan(&element(SearchKind::Phone, "not a number"), &ours),
            Plan::Nobody
        );
        assert_eq!(
            plan(&element(SearchKind::PartialName, "al"), &ours),
            Plan::Ambiguous
        );
        assert_eq!(
            plan(&element(SearchKind::WholeProfile, "alice"), &ours),
            Plan::Unsupported
        );
    }

    #[test]
    fn bounds() {
        let request = |n: usize, value: &str| IdentifierRequest {
            query_elements: vec![element(SearchKind::Nick, value); n],
            id_request_extensions: AppDataDictionary::default(),
        };
        assert!(check_bounds(&request(1, "alice")).is_ok());
        assert!(check_bounds(&request(0, "alice")).is_err());
        assert!(check_bounds(&request(MAX_QUERY_ELEMENTS + 1, "alice")).is_err());
        assert!(check_bounds(&request(1, &"a".repeat(MAX_SEARCH_VALUE_LEN + 1))).is_err());
    }
}
