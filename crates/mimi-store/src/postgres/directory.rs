//! Consent records and user search.

use std::collections::{BTreeSet, HashSet};

use sqlx::PgPool;
use sqlx::postgres::PgConnection;

use super::{db_err, get};
use crate::error::{Result, StoreError};
use crate::model::{ConsentRecord, ConsentState};
use crate::sqlite::{count, fold, time, unsigned};

/// The stored room of a consent: '' for the general one.
fn room_key(room: Option<&str>) -> Result<&str> {
    match room {
        Some("") => Err(StoreError::Invalid("empty room in a consent".into())),
        Some(room) => Ok(room),
        None => Ok(""),
    }
}

pub(super) async fn put_consent(pool: &PgPool, consent: &ConsentRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO consents (requester_uri, target_uri, room, state, updated_ms) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (requester_uri, target_uri, room) \
         DO UPDATE SET state = EXCLUDED.state, updated_ms = EXCLUDED.updated_ms",
    )
    .bind(&consent.requester_uri)
    .bind(&consent.target_uri)
    .bind(room_key(consent.room.as_deref())?)
    .bind(consent.state.as_str())
    .bind(time(consent.updated_ms))
    .execute(pool)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(super) async fn consent(
    pool: &PgPool,
    requester_uri: &str,
    target_uri: &str,
    room: Option<&str>,
) -> Result<Option<ConsentRecord>> {
    let Some(row) = sqlx::query(
        "SELECT state, updated_ms FROM consents \
         WHERE requester_uri = $1 AND target_uri = $2 AND room = $3",
    )
    .bind(requester_uri)
    .bind(target_uri)
    .bind(room_key(room)?)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?
    else {
        return Ok(None);
    };
    let state: String = get(&row, 0)?;
    Ok(Some(ConsentRecord {
        requester_uri: requester_uri.to_string(),
        target_uri: target_uri.to_string(),
        room: room.map(str::to_string),
        state: ConsentState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("consent state {state:?}")))?,
        updated_ms: unsigned(get(&row, 1)?, "updated_ms")?,
    }))
}

pub(super) async fn request_consent(pool: &PgPool, consent: &ConsentRecord) -> Result<bool> {
    let written = sqlx::query(
        "INSERT INTO consents AS c (requester_uri, target_uri, room, state, updated_ms) \
         VALUES ($1, $2, $3, 'requested', $4) \
         ON CONFLICT (requester_uri, target_uri, room) \
         DO UPDATE SET updated_ms = EXCLUDED.updated_ms WHERE c.state = 'requested'",
    )
    .bind(&consent.requester_uri)
    .bind(&consent.target_uri)
    .bind(room_key(consent.room.as_deref())?)
    .bind(time(consent.updated_ms))
    .execute(pool)
    .await
    .map_err(db_err)?
    .rows_affected();
    Ok(written > 0)
}

pub(super) async fn cancel_consent_request(
    pool: &PgPool,
    requester_uri: &str,
    target_uri: &str,
    room: Option<&str>,
) -> Result<bool> {
    let removed = sqlx::query(
        "DELETE FROM consents \
         WHERE requester_uri = $1 AND target_uri = $2 AND room = $3 AND state = 'requested'",
    )
    .bind(requester_uri)
    .bind(target_uri)
    .bind(room_key(room)?)
    .execute(pool)
    .await
    .map_err(db_err)?
    .rows_affected();
    Ok(removed > 0)
}

pub(super) async fn put_identifiers(
    c: &mut PgConnection,
    user_uri: &str,
    identifiers: &[(String, String)],
    searchable: bool,
) -> Result<()> {
    // The user's row lock (held to the commit) makes replacements of one user's identifiers
    // run one after the other.
    let updated = sqlx::query("UPDATE users SET searchable = $2 WHERE user_uri = $1")
        .bind(user_uri)
        .bind(searchable)
        .execute(&mut *c)
        .await
        .map_err(db_err)?
        .rows_affected();
    if updated == 0 {
        return Err(StoreError::NotFound(format!("user {user_uri}")));
    }
    sqlx::query("DELETE FROM user_identifiers WHERE user_uri = $1")
        .bind(user_uri)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    let unique: BTreeSet<(&str, &str)> = identifiers
        .iter()
        .map(|(kind, value)| (kind.as_str(), value.as_str()))
        .collect();
    if unique
        .iter()
        .any(|(kind, value)| kind.is_empty() || value.is_empty())
    {
        return Err(StoreError::Invalid(
            "an empty identifier kind or value".into(),
        ));
    }
    if unique.is_empty() {
        return Ok(());
    }
    let kinds: Vec<&str> = unique.iter().map(|(kind, _)| *kind).collect();
    let values: Vec<&str> = unique.iter().map(|(_, value)| *value).collect();
    let folded: Vec<String> = values.iter().map(|value| fold(value)).collect();
    // A handle of another user (also one a concurrent transaction is storing, which the
    // insert waits for) is skipped here and reported below: the transaction is rolled back.
    let stored: HashSet<(String, String)> = sqlx::query(
        "INSERT INTO user_identifiers (user_uri, kind, value, folded) \
         SELECT $1, k, v, f FROM UNNEST($2::text[], $3::text[], $4::text[]) AS t(k, v, f) \
         ON CONFLICT DO NOTHING RETURNING kind, value",
    )
    .bind(user_uri)
    .bind(&kinds)
    .bind(&values)
    .bind(&folded)
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| Ok((get(row, 0)?, get(row, 1)?)))
    .collect::<Result<_>>()?;
    match unique
        .iter()
        .find(|(kind, value)| !stored.contains(&(kind.to_string(), value.to_string())))
    {
        Some((kind, value)) => Err(StoreError::Conflict(format!("{kind} {value} is taken"))),
        None => Ok(()),
    }
}

pub(super) async fn find_users(pool: &PgPool, kind: &str, value: &str) -> Result<Vec<String>> {
    sqlx::query(
        "SELECT DISTINCT i.user_uri FROM user_identifiers i \
         JOIN users u ON u.user_uri = i.user_uri \
         WHERE i.kind = $1 AND i.value = $2 AND u.searchable ORDER BY i.user_uri",
    )
    .bind(kind)
    .bind(value)
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| get(row, 0))
    .collect()
}

pub(super) async fn find_users_by_name(
    pool: &PgPool,
    fragment: &str,
    limit: usize,
) -> Result<Vec<String>> {
    if fragment.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    // strpos, not LIKE: the fragment is matched literally ('%' and '_' are not wildcards).
    sqlx::query(
        "SELECT u.user_uri FROM users u WHERE u.searchable \
         AND (strpos(u.display_name_folded, $1) > 0 \
              OR EXISTS (SELECT 1 FROM user_identifiers i WHERE i.user_uri = u.user_uri \
                         AND i.kind = 'nick' AND strpos(i.folded, $1) > 0)) \
         ORDER BY u.user_uri LIMIT $2",
    )
    .bind(fold(fragment))
    .bind(count(limit))
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| get(row, 0))
    .collect()
}
