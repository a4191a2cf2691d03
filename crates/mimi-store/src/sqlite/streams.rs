//! Per-client event streams with dense cursors.

use sqlx::sqlite::SqliteConnection;

use super::{count, db_err, get, time, unsigned};
use crate::error::{Result, StoreError};
use crate::model::{DeliveryRow, NewDelivery};

/// Append an event to a client's stream (inside the caller's transaction); its cursor.
pub(super) async fn append(c: &mut SqliteConnection, d: &NewDelivery) -> Result<u64> {
    if d.client_uri.is_empty() {
        return Err(StoreError::Invalid(
            "a delivery to an empty client URI".into(),
        ));
    }
    // The counter row is the per-client lock: cursors are dense and in commit order.
    let row = sqlx::query(
        "INSERT INTO client_streams (client_uri, last_cursor) VALUES (?, 1) \
         ON CONFLICT (client_uri) DO UPDATE SET last_cursor = client_streams.last_cursor + 1 \
         RETURNING last_cursor",
    )
    .bind(&d.client_uri)
    .fetch_one(&mut *c)
    .await
    .map_err(db_err)?;
    let cursor: i64 = get(&row, 0)?;
    sqlx::query(
        "INSERT INTO deliveries (client_uri, cursor, room, kind, body, created_ms) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&d.client_uri)
    .bind(cursor)
    .bind(&d.room)
    .bind(&d.kind)
    .bind(&d.body)
    .bind(time(d.created_ms))
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    unsigned(cursor, "cursor")
}

/// Append an event to the stream of every local member of `room` (inside the caller's
/// transaction), all in one round trip to the database; the members, sorted.
pub(super) async fn append_to_members(
    c: &mut SqliteConnection,
    room: &str,
    kind: &str,
    body: &[u8],
    created_ms: u64,
) -> Result<Vec<String>> {
    // The counter rows first (each member's cursor goes up by one, in commit order), then one
    // delivery per member at its new cursor, then who they were. An upsert from a SELECT
    // needs a WHERE clause (SQLite's parsing rule), which it has.
    sqlx::query(
        "INSERT INTO client_streams (client_uri, last_cursor) \
         SELECT client_uri, 1 FROM follower_members WHERE room = ?1 \
         ON CONFLICT (client_uri) DO UPDATE SET last_cursor = client_streams.last_cursor + 1; \
         INSERT INTO deliveries (client_uri, cursor, room, kind, body, created_ms) \
         SELECT m.client_uri, s.last_cursor, ?1, ?2, ?3, ?4 FROM follower_members m \
         JOIN client_streams s ON s.client_uri = m.client_uri WHERE m.room = ?1; \
         SELECT client_uri FROM follower_members WHERE room = ?1 ORDER BY client_uri",
    )
    .bind(room)
    .bind(kind)
    .bind(body)
    .bind(time(created_ms))
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| get(row, 0))
    .collect()
}

pub(super) async fn events_after(
    c: &mut SqliteConnection,
    client_uri: &str,
    cursor: u64,
    limit: usize,
) -> Result<Vec<DeliveryRow>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    sqlx::query(
        "SELECT cursor, client_uri, room, kind, body, created_ms FROM deliveries \
         WHERE client_uri = ? AND cursor > ? ORDER BY cursor LIMIT ?",
    )
    .bind(client_uri)
    .bind(time(cursor))
    .bind(count(limit))
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| {
        Ok(DeliveryRow {
            cursor: unsigned(get(row, 0)?, "cursor")?,
            client_uri: get(row, 1)?,
            room: get(row, 2)?,
            kind: get(row, 3)?,
            body: get(row, 4)?,
            created_ms: unsigned(get(row, 5)?, "created_ms")?,
        })
    })
    .collect()
}

pub(super) async fn latest_cursor(c: &mut SqliteConnection, client_uri: &str) -> Result<u64> {
    match sqlx::query("SELECT last_cursor FROM client_streams WHERE client_uri = ?")
        .bind(client_uri)
        .fetch_optional(&mut *c)
        .await
        .map_err(db_err)?
    {
        Some(row) => unsigned(get(&row, 0)?, "cursor"),
        None => Ok(0),
    }
}

pub(super) async fn trim(c: &mut SqliteConnection, client_uri: &str, through: u64) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM deliveries WHERE client_uri = ? AND cursor <= ?")
            .bind(client_uri)
            .bind(time(through))
            .execute(&mut *c)
            .await
            .map_err(db_err)?
            .rows_affected(),
    )
}
