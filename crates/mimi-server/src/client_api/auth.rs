//! Accounts and sessions: argon2id password hashes (PHC strings, default parameters), random
//! bearer tokens stored only as their SHA-256, and the extractor that authenticates a
//! request (docs/decisions/0073).

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::{HeaderMap, header, request::Parts};
use mimi_store::Store;
use mimi_types::client_api::b64_encode;
use mimi_types::id::UserUri;
use sha2::{Digest, Sha256};

use super::Api;
use super::error::ApiError;
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

/// Authenticate a request by its bearer token.
pub(crate) async fn authenticate<S: Store>(
    api: &Api<S>,
    headers: &HeaderMap,
) -> Result<Authed, ApiError> {
    let token_hash = token_hash(bearer(headers)?);
    let record = api
        .p
        .store
        .user_by_token(&token_hash, now_ms())
        .await?
        .ok_or_else(|| ApiError::unauthorized("invalid or expired token"))?;
    let user = UserUri::parse(&record.user_uri)
        .map_err(|e| ApiError::internal(format!("stored user {}: {e}", record.user_uri)))?;
    Ok(Authed { user, token_hash })
}

impl<S: Store> FromRequestParts<Api<S>> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &Api<S>) -> Result<Self, ApiError> {
        authenticate(api, &parts.headers).await
    }
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
