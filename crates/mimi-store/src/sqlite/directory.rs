//! Consent records and user search.

use std::collections::BTreeSet;

use sqlx::sqlite::SqliteConnection;

use super::{conflict_as, count, db_err, fold, get, time, unsigned};
use crate::error::{Result, StoreError};
use crate::model::{ConsentRecord, ConsentState};

/// The stored room of a consent: '' for the general one.
fn room_key(room: Option<&str>) -> Result<&str> {
    match room {
        Some("") => Err(StoreError::Invalid("empty room in a consent".into())),
        Some(room) => Ok(room),
        None => Ok(""),
    }
}

pub(super) async fn put_consent(c: &mut SqliteConnection, consent: &ConsentRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO consents (requester_uri, target_uri, room, state, updated_ms) \
         VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (requester_uri, target_uri, room) \
         DO UPDATE SET state = excluded.state, updated_ms = excluded.updated_ms",
    )
    .bind(&consent.requester_uri)
    .bind(&consent.target_uri)
    .bind(room_key(consent.room.as_deref())?)
    .bind(consent.state.as_str())
    .bind(time(consent.updated_ms))
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(super) async fn consent(
    c: &mut SqliteConnection,
    requester_uri: &str,
    target_uri: &str,
    room: Option<&str>,
) -> Result<Option<ConsentRecord>> {
    let Some(row) = sqlx::query(
        "SELECT state, updated_ms FROM consents \
         WHERE requester_uri = ? AND target_uri = ? AND room = ?",
    )
    .bind(requester_uri)
    .bind(target_uri)
    .bind(room_key(room)?)
    .fetch_optional(&mut *c)
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

pub(super) async fn request_consent(
    c: &mut SqliteConnection,
    consent: &ConsentRecord,
) -> Result<bool> {
    let written = sqlx::query(
        "INSERT INTO consents (requester_uri, target_uri, room, state, updated_ms) \
         VALUES (?, ?, ?, 'requested', ?) \
         ON CONFLICT (requester_uri, target_uri, room) \
         DO UPDATE SET updated_ms = excluded.updated_ms WHERE consents.state = 'requested'",
    )
    .bind(&consent.requester_uri)
    .bind(&consent.target_uri)
    .bind(room_key(consent.room.as_deref())?)
    .bind(time(consent.updated_ms))
    .execute(&mut *c)
    .await
    .map_err(db_err)?
    .rows_affected();
    Ok(written > 0)
}

pub(super) async fn cancel_consent_request(
    c: &mut SqliteConnection,
    requester_uri: &str,
    target_uri: &str,
    room: Option<&str>,
) -> Result<bool> {
    let removed = sqlx::query(
        "DELETE FROM consents \
         WHERE requester_uri = ? AND target_uri = ? AND room = ? AND state = 'requested'",
    )
    .bind(requester_uri)
    .bind(target_uri)
    .bind(room_key(room)?)
    .execute(&mut *c)
    .await
    .map_err(db_err)?
    .rows_affected();
    Ok(removed > 0)
}

pub(super) async fn put_identifiers(
    c: &mut SqliteConnection,
    user_uri: &str,
    identifiers: &[(String, String)],
    searchable: bool,
) -> Result<()> {
    let updated = sqlx::query("UPDATE users SET searchable = ? WHERE user_uri = ?")
        .bind(i64::from(searchable))
        .bind(user_uri)
        .execute(&mut *c)
        .await
        .map_err(db_err)?
        .rows_affected();
    if updated == 0 {
        return Err(StoreError::NotFound(format!("user {user_uri}")));
    }
    sqlx::query("DELETE FROM user_identifiers WHERE user_uri = ?")
        .bind(user_uri)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    let unique: BTreeSet<(&str, &str)> = identifiers
        .iter()
        .map(|(kind, value)| (kind.as_str(), value.as_str()))
        .collect();
    for (kind, value) in unique {
        if kind.is_empty() || value.is_empty() {
            return Err(StoreError::Invalid(
                "an empty identifier kind or value".into(),
            ));
        }
        sqlx::query(
            "INSERT INTO user_identifiers (user_uri, kind, value, folded) VALUES (?, ?, ?, ?)",
        )
        .bind(user_uri)
        .bind(kind)
        .bind(value)
        .bind(fold(value))
        .execute(&mut *c)
        .await
        .map_err(|e| match conflict_as(e, &[]) {
            StoreError::Conflict(_) => StoreError::Conflict(format!("{kind} {value} is taken")),
            other => other,
        })?;
    }
    Ok(())
}

pub(super) async fn find_users(
    c: &mut SqliteConnection,
    kind: &str,
    value: &str,
) -> Result<Vec<String>> {
    sqlx::query(
        "SELECT DISTINCT i.user_uri FROM user_identifiers i \
         JOIN users u ON u.user_uri = i.user_uri \
         WHERE i.kind = ? AND i.value = ? AND u.searchable = 1 ORDER BY i.user_uri",
    )
    .bind(kind)
    .bind(value)
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| get(row, 0))
    .collect()
}

pub(super) async fn find_users_by_name(
    c: &mut SqliteConnection,
    fragment: &str,
    limit: usize,
) -> Result<Vec<String>> {
    if fragment.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    // instr, not LIKE: the fragment is matched literally ('%' and '_' are not wildcards).
    sqlx::query(
        "SELECT u.user_uri FROM users u WHERE u.searchable = 1 \
         AND (instr(u.display_name_folded, ?1) > 0 \
              OR EXISTS (SELECT 1 FROM user_identifiers i WHERE i.user_uri = u.user_uri \
                         AND i.kind = 'nick' AND instr(i.folded, ?1) > 0)) \
         ORDER BY u.user_uri LIMIT ?2",
    )
    .bind(fold(fragment))
    .bind(count(limit))
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| get(row, 0))
    .collect()
}
