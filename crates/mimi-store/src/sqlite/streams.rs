//! Per-client event streams with dense cursors.

use sqlx::Sqlite;
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteConnection};

use super::{count, db_err, get, time, unsigned};
use crate::error::{Result, StoreError};
use crate::model::{DeliveryRow, FollowerNotify};

// An event is stored once, with the number of deliveries that refer to it (decision 0156).
// Its deliveries, written right after it, refer to it as the highest event id, which it is:
// a new id is one more than the highest (an INTEGER PRIMARY KEY), and the writer is alone in
// its transaction.

/// Append an event to the streams of `to`, clients named by URI, sorted and without
/// duplicates (inside the caller's transaction).
pub(super) async fn append_to(
    c: &mut SqliteConnection,
    notify: &FollowerNotify,
    to: &[String],
) -> Result<()> {
    if to.is_empty() {
        return Ok(());
    }
    if to.iter().any(String::is_empty) {
        return Err(StoreError::Invalid(
            "a delivery to an empty client URI".into(),
        ));
    }
    sqlx::query(
        "INSERT INTO stream_events (room, kind, body, created_ms, refs) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&notify.room)
    .bind(&notify.kind)
    .bind(&notify.body)
    .bind(time(notify.created_ms))
    .bind(count(to.len()))
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    for client_uri in to {
        // The counter row is the per-client lock: cursors are dense and in commit order.
        sqlx::query(
            "INSERT INTO client_streams (client_uri, last_cursor) VALUES (?1, 1) \
             ON CONFLICT (client_uri) \
             DO UPDATE SET last_cursor = client_streams.last_cursor + 1; \
             INSERT INTO deliveries (client_uri, cursor, event) \
             SELECT ?1, last_cursor, (SELECT max(id) FROM stream_events) \
             FROM client_streams WHERE client_uri = ?1",
        )
        .bind(client_uri)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

// The event (if the room has local members), the counter rows (each member's cursor goes up
// by one, in commit order), one delivery per member at its new cursor. An upsert from a
// SELECT needs a WHERE clause (SQLite's parsing rule), which it has.
macro_rules! append_writes {
    () => {
        "INSERT INTO stream_events (room, kind, body, created_ms, refs) \
         SELECT ?, ?, ?, ?, count(*) FROM follower_members WHERE room = ? HAVING count(*) > 0; \
         INSERT INTO client_streams (client_uri, last_cursor) \
         SELECT client_uri, 1 FROM follower_members WHERE room = ? \
         ON CONFLICT (client_uri) DO UPDATE SET last_cursor = client_streams.last_cursor + 1; \
         INSERT INTO deliveries (client_uri, cursor, event) \
         SELECT m.client_uri, s.last_cursor, (SELECT max(id) FROM stream_events) \
         FROM follower_members m JOIN client_streams s ON s.client_uri = m.client_uri \
         WHERE m.room = ?"
    };
}

/// The statements of [`append_to_members`], with anonymous parameters (so that they can
/// follow other statements in one query): bind them with [`bind_append_to_members`]. They
/// end with a query of the members, sorted.
pub(super) const APPEND_TO_MEMBERS: &str = concat!(
    append_writes!(),
    "; SELECT client_uri FROM follower_members WHERE room = ? ORDER BY client_uri"
);

/// [`APPEND_TO_MEMBERS`] whose query of the members gives each row a tag first (to tell
/// apart the members of several events in one query): bind with
/// [`bind_append_to_members_tagged`].
pub(super) const APPEND_TO_MEMBERS_TAGGED: &str = concat!(
    append_writes!(),
    "; SELECT ?, client_uri FROM follower_members WHERE room = ? ORDER BY client_uri"
);

/// Bind the parameters of the statements that write an event to the members' streams.
fn bind_append_writes<'q>(
    query: Query<'q, Sqlite, SqliteArguments<'q>>,
    room: &'q str,
    kind: &'q str,
    body: &'q [u8],
    created_ms: u64,
) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    query
        .bind(room)
        .bind(kind)
        .bind(body)
        .bind(time(created_ms))
        .bind(room)
        .bind(room)
        .bind(room)
}

/// Bind the parameters of [`APPEND_TO_MEMBERS`], in order.
pub(super) fn bind_append_to_members<'q>(
    query: Query<'q, Sqlite, SqliteArguments<'q>>,
    room: &'q str,
    kind: &'q str,
    body: &'q [u8],
    created_ms: u64,
) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    bind_append_writes(query, room, kind, body, created_ms).bind(room)
}

/// Bind the parameters of [`APPEND_TO_MEMBERS_TAGGED`], in order.
pub(super) fn bind_append_to_members_tagged<'q>(
    query: Query<'q, Sqlite, SqliteArguments<'q>>,
    n: &'q FollowerNotify,
    tag: i64,
) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    bind_append_writes(query, &n.room, &n.kind, &n.body, n.created_ms)
        .bind(tag)
        .bind(&n.room)
}

/// Append an event to the stream of every local member of `room` (inside the caller's
/// transaction): the event stored once, each member's delivery referring to it; the members,
/// sorted.
pub(super) async fn append_to_members(
    c: &mut SqliteConnection,
    room: &str,
    kind: &str,
    body: &[u8],
    created_ms: u64,
) -> Result<Vec<String>> {
    bind_append_to_members(sqlx::query(APPEND_TO_MEMBERS), room, kind, body, created_ms)
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
        "SELECT d.cursor, d.client_uri, e.room, e.kind, e.body, e.created_ms \
         FROM deliveries d JOIN stream_events e ON e.id = d.event \
         WHERE d.client_uri = ? AND d.cursor > ? ORDER BY d.cursor LIMIT ?",
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

/// Drop a client's deliveries through `through` (inside the caller's transaction), and the
/// events no delivery refers to any more; how many deliveries went.
pub(super) async fn trim(c: &mut SqliteConnection, client_uri: &str, through: u64) -> Result<u64> {
    sqlx::query(
        "UPDATE stream_events SET refs = refs - t.n \
         FROM (SELECT event, count(*) AS n FROM deliveries \
               WHERE client_uri = ?1 AND cursor <= ?2 GROUP BY event) AS t \
         WHERE stream_events.id = t.event",
    )
    .bind(client_uri)
    .bind(time(through))
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    sqlx::query(
        "DELETE FROM stream_events WHERE refs = 0 AND id IN \
         (SELECT event FROM deliveries WHERE client_uri = ?1 AND cursor <= ?2)",
    )
    .bind(client_uri)
    .bind(time(through))
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
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
