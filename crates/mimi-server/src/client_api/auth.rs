//! Accounts and sessions: argon2id password hashes (PHC strings, default parameters), random
//! bearer tokens stored only as their SHA-256, and the extractor that authenticates a
//! request (docs/decisions/0073).

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderMap, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mimi_store::Store;
use mimi_types::client_api::b64_encode;
use mimi_types::id::UserUri;
use sha2::{Digest, Sha256};

use super::Api;
use super::error::ApiError;
use crate::limits::Limiters;
use crate::listener::RemoteAddr;
use crate::provider::now_ms;

/// How long a token is valid.
pub(crate) const TOKEN_LIFETIME_MS: u64 = 30 * 86_400 * 1000;

/// Length of a token as sent: base64url of 32 random bytes, without padding.
const TOKEN_CHARS: usize = 43;

/// Longest password accepted, in bytes (hashing cost is bounded by it).
pub(crate) const MAX_PASSWORD_BYTES: usize = 1024;

/// Shortest password accepted, in characters.
pub(crate) const MIN_PASSWORD_CHARS: usize = 8;

/// Longest username, in bytes.
const MAX_USERNAME: usize = 64;

/// Check and normalize a login name: 1 to 64 of `a-z 0-9 . _ -`, starting with a letter or
/// digit; ASCII capitals are lowercased (docs/decisions/0073).
pub(crate) fn normalize_username(input: &str) -> Result<String, ApiError> {
    let name = input.to_ascii_lowercase();
    let valid_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
    if name.is_empty() || name.len() > MAX_USERNAME {
        return Err(ApiError::bad_request(format!(
            "a username has 1 to {MAX_USERNAME} characters"
        )));
    }
    if !name.chars().all(valid_char) {
        return Err(ApiError::bad_request(
            "a username consists of a-z, 0-9, '.', '_' and '-'",
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(ApiError::bad_request(
            "a username starts with a letter or a digit",
        ));
    }
    Ok(name)
}

/// Check a new password's length.
pub(crate) fn check_password(password: &str) -> Result<(), ApiError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::bad_request(format!(
            "a password has at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::bad_request(format!(
            "a password has at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

/// Hash a password (argon2id, default parameters, random 16-byte salt) off the async
/// runtime, at most a few at a time.
pub(crate) async fn hash_password<S: Store>(
    api: &Api<S>,
    password: String,
) -> Result<String, ApiError> {
    let _permit = api
        .hashing
        .acquire()
        .await
        .map_err(|e| ApiError::internal(format!("hashing semaphore: {e}")))?;
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(ApiError::internal)?
}

fn hash_blocking(password: &str) -> Result<String, ApiError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| ApiError::internal(format!("randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(ApiError::internal)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

/// Whether `password` matches the stored PHC hash. With no stored hash (unknown user) a
/// dummy hash is checked, so both refusals take the same time.
pub(crate) async fn verify_password<S: Store>(
    api: &Api<S>,
    stored: Option<String>,
    password: String,
) -> Result<bool, ApiError> {
    let _permit = api
        .hashing
        .acquire()
        .await
        .map_err(|e| ApiError::internal(format!("hashing semaphore: {e}")))?;
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let hash = match stored {
            Some(h) => h,
            None => dummy_hash()?.to_string(),
        };
        // A malformed stored hash (e.g. an account created without a password) never
        // matches.
        let matches = PasswordHash::new(&hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        });
        Ok(known && matches)
    })
    .await
    .map_err(ApiError::internal)?
}

fn dummy_hash() -> Result<&'static str, ApiError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h);
    }
    let mut secret = [0u8; 16];
    getrandom::fill(&mut secret).map_err(|e| ApiError::internal(format!("randomness: {e}")))?;
    let hash = hash_blocking(&b64_encode(&secret))?;
    Ok(DUMMY.get_or_init(|| hash))
}

/// A fresh bearer token and the hash it is stored under.
pub(crate) fn new_token() -> Result<(String, [u8; 32]), ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::internal(format!("randomness: {e}")))?;
    let token = b64_encode(&bytes);
    let hash = token_hash(&token);
    Ok((token, hash))
}

/// What a token is stored under: SHA-256 of the token as sent.
pub(crate) fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The token of `Authorization: Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing bearer token"))?
        .to_str()
        .map_err(|_| ApiError::unauthorized("invalid or expired token"))?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| ApiError::unauthorized("expected Authorization: Bearer <token>"))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::unauthorized(
            "expected Authorization: Bearer <token>",
        ));
    }
    let token = token.trim();
    let well_formed = token.len() == TOKEN_CHARS
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if well_formed {
        Ok(token)
    } else {
        Err(ApiError::unauthorized("invalid or expired token"))
    }
}

/// The authenticated user of a request.
pub(crate) struct Authed {
    /// The user.
    pub(crate) user: UserUri,
    /// The hash of the token used (logout deletes it; streams re-check it).
    pub(crate) token_hash: [u8; 32],
}

/// Authenticate a request by its bearer token, from `remote` (the connection's address,
/// when known), and charge it: to the user's bucket with a valid token, to the address's
/// bucket with an `Authorization` header that authenticates nobody (docs/decisions/0091;
/// requests without the header are charged by [`anonymous_requests`]). Over a bucket:
/// `429` with `Retry-After`.
pub(crate) async fn authenticate<S: Store>(
    api: &Api<S>,
    headers: &HeaderMap,
    remote: Option<IpAddr>,
) -> Result<Authed, ApiError> {
    let refused = |e: ApiError| -> ApiError {
        if headers.contains_key(header::AUTHORIZATION)
            && let Some(ip) = remote
            && let Err(t) = api.limits.anonymous_request(ip)
        {
            return ApiError::throttled(t, "too many requests without a valid token");
        }
        e
    };
    let token_hash = token_hash(bearer(headers).map_err(refused)?);
    let record = api
        .p
        .store
        .user_by_token(&token_hash, now_ms())
        .await?
        .ok_or_else(|| refused(ApiError::unauthorized("invalid or expired token")))?;
    let user = UserUri::parse(&record.user_uri)
        .map_err(|e| ApiError::internal(format!("stored user {}: {e}", record.user_uri)))?;
    api.limits
        .user_request(user.as_str())
        .map_err(|t| ApiError::throttled(t, format!("too many requests of {user}")))?;
    Ok(Authed { user, token_hash })
}

/// The address of the connection a request came on, when the listener recorded it.
pub(crate) fn remote_ip(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions.get::<RemoteAddr>().map(|r| r.0.ip())
}

impl<S: Store> FromRequestParts<Api<S>> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &Api<S>) -> Result<Self, ApiError> {
        authenticate(api, &parts.headers, remote_ip(&parts.extensions)).await
    }
}

/// Paths whose endpoints authenticate the caller (and so charge the user's bucket); every
/// other request — registration, login, the hub's keys, health, the OpenAPI document, paths
/// that do not exist — is anonymous, whatever its headers.
const AUTHENTICATED: &[&str] = &[
    "/client/v1/logout",
    "/client/v1/devices",
    "/client/v1/rooms",
    "/client/v1/key-material",
    "/client/v1/identifiers",
    "/client/v1/search",
    "/client/v1/consent/",
];

fn authenticates(path: &str) -> bool {
    AUTHENTICATED.iter().any(|p| path.starts_with(p))
}

/// Middleware: an anonymous request — one without `Authorization`, or to an endpoint that
/// does not authenticate — is charged to its address's bucket (`rates.anonymous_*`); over
/// it, `429` with `Retry-After` before anything is done. (With a token, [`authenticate`]
/// charges the user, or the address if the token is bad.)
pub(crate) async fn anonymous_requests(
    State(limiters): State<Arc<Limiters>>,
    req: Request,
    next: Next,
) -> Response {
    let anonymous =
        !req.headers().contains_key(header::AUTHORIZATION) || !authenticates(req.uri().path());
    if anonymous
        && let Some(ip) = remote_ip(req.extensions())
        && let Err(t) = limiters.anonymous_request(ip)
    {
        return ApiError::throttled(t, "too many requests from this address").into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(normalize_username("Alice").unwrap(), "alice");
        assert_eq!(normalize_username("a.b_c-9").unwrap(), "a.b_c-9");
        for bad in ["", ".alice", "-x", "a b", "a/b", "é", &"a".repeat(65)] {
            assert!(normalize_username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_blocking("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        let parsed = PasswordHash::new(&h).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"wrong", &parsed)
                .is_err()
        );
        assert!(check_password("short").is_err());
        assert!(check_password(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
        assert!(check_password("long enough").is_ok());
    }

    #[test]
    fn authenticated_paths_match_the_routes() {
        for (_, path) in super::super::ROUTES {
            let expected = !matches!(
                *path,
                "/healthz"
                    | super::super::OPENAPI_PATH
                    | "/client/v1/register"
                    | "/client/v1/login"
                    | "/client/v1/hub"
            );
            assert_eq!(authenticates(path), expected, "{path}");
        }
    }

    #[test]
    fn bearer_tokens() {
        let (token, hash) = new_token().unwrap();
        assert_eq!(token.len(), TOKEN_CHARS);
        assert_eq!(token_hash(&token), hash);
        let mut headers = HeaderMap::new();
        assert!(bearer(&headers).is_err());
        headers.insert(
            header::AUTHORIZATION,
            format!("bearer {token}").parse().unwrap(),
        );
        assert_eq!(bearer(&headers).unwrap(), token);
        headers.insert(header::AUTHORIZATION, "Bearer short".parse().unwrap());
        assert!(bearer(&headers).is_err());
        headers.insert(
            header::AUTHORIZATION,
            format!("Basic {token}").parse().unwrap(),
        );
        assert!(bearer(&headers).is_err());
    }
}
