//! The follower side of rooms: dedupe of fanout messages, local membership.

use sqlx::sqlite::SqliteConnection;

use super::{db_err, get, keys, streams, unsigned};
use crate::error::{Result, StoreError};
use crate::model::FollowerNotify;

pub(super) async fn record_notify(
    c: &mut SqliteConnection,
    notify: &FollowerNotify,
) -> Result<Option<Vec<String>>> {
    let inserted = sqlx::query(
        "INSERT INTO follower_seen (room, message_hash, hub) VALUES (?, ?, ?) \
         ON CONFLICT (room, message_hash) DO NOTHING",
    )
    .bind(&notify.room)
    .bind(&notify.message_hash[..])
    .bind(&notify.hub)
    .execute(&mut *c)
    .await
    .map_err(db_err)?
    .rows_affected();
    if inserted == 0 {
        // Seen before: acknowledged, not delivered again; counted.
        sqlx::query(
            "INSERT INTO follower_duplicates (hub, count) VALUES (?, 1) \
             ON CONFLICT (hub) DO UPDATE SET count = count + 1",
        )
        .bind(&notify.hub)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
        return Ok(None);
    }
    if notify.welcome_refs.is_empty() {
        // To the room's local members, in one round trip.
        return streams::append_to_members(
            c,
            &notify.room,
            &notify.kind,
            &notify.body,
            notify.created_ms,
        )
        .await
        .map(Some);
    }
    let mut recipients = {
        // docs/decisions/0051: a Welcome goes where its KeyPackages were handed out.
        let mut to = Vec::new();
        for kp_ref in &notify.welcome_refs {
            if let Some(client) = keys::take_welcome_route(c, kp_ref).await? {
                set_member(c, &notify.room, &client, true).await?;
                to.push(client);
            }
        }
        to
    };
    recipients.sort();
    recipients.dedup();
    streams::append_to(c, notify, &recipients).await?;
    Ok(Some(recipients))
}

/// Most fanout messages written by one query of [`record_notifies_at_once`].
const NOTIFIES_PER_QUERY: usize = 8;

/// Whether [`record_notifies_at_once`] covers these messages: none is a Welcome.
pub(super) fn fit_one_query(notifies: &[FollowerNotify]) -> bool {
    notifies.iter().all(|n| n.welcome_refs.is_empty())
}

/// Fanout messages that [`fit_one_query`], recorded as [`record_notify`] records each,
/// several per round trip to the database (inside the caller's savepoint).
///
/// A query's text depends on how many messages it writes, and each text's prepared
/// statements stay cached on every pooled connection that ran it (memory: with up to 16
/// messages per query and a text per count, a follower held about 12 MB more after a load
/// run): the messages go in queries of 8, 4, 2 or 1 (13 = 8 + 4 + 1), four texts.
///
/// A message seen before is an error here (the dedupe row is a plain insert): the caller
/// then undoes what this did and records the messages one by one, which counts the duplicate.
pub(super) async fn record_notifies_at_once(
    c: &mut SqliteConnection,
    notifies: &[FollowerNotify],
) -> Result<Vec<Option<Vec<String>>>> {
    let mut results = vec![Vec::new(); notifies.len()];
    let mut first = 0;
    while first < notifies.len() {
        let left = (notifies.len() - first).min(NOTIFIES_PER_QUERY);
        // The largest power of two not above `left` (at least 1).
        let size = 1 << left.ilog2();
        let chunk = &notifies[first..first + size];
        let mut sql = String::new();
        for _ in chunk {
            if !sql.is_empty() {
                sql.push_str("; ");
            }
            sql.push_str("INSERT INTO follower_seen (room, message_hash, hub) VALUES (?, ?, ?); ");
            sql.push_str(streams::APPEND_TO_MEMBERS_TAGGED);
        }
        let mut query = sqlx::query(&sql);
        for (i, n) in chunk.iter().enumerate() {
            query = query.bind(&n.room).bind(&n.message_hash[..]).bind(&n.hub);
            // `first + i` < notifies.len(), a slice length: it fits.
            query = streams::bind_append_to_members_tagged(query, n, (first + i) as i64);
        }
        for row in &query.fetch_all(&mut *c).await.map_err(db_err)? {
            let tag: i64 = get(row, 0)?;
            let client: String = get(row, 1)?;
            usize::try_from(tag)
                .ok()
                .and_then(|t| results.get_mut(t))
                .ok_or_else(|| StoreError::Corrupt(format!("member row tagged {tag}")))?
                .push(client);
        }
        first += size;
    }
    Ok(results.into_iter().map(Some).collect())
}

pub(super) async fn user_room_count(c: &mut SqliteConnection, user_uri: &str) -> Result<usize> {
    let row = sqlx::query(
        "SELECT COUNT(DISTINCT m.room) FROM follower_members m \
         JOIN clients c ON c.client_uri = m.client_uri WHERE c.user_uri = ?",
    )
    .bind(user_uri)
    .fetch_one(&mut *c)
    .await
    .map_err(db_err)?;
    let n: i64 = get(&row, 0)?;
    usize::try_from(n).map_err(|_| StoreError::Corrupt(format!("room count {n}")))
}

pub(super) async fn members(c: &mut SqliteConnection, room: &str) -> Result<Vec<String>> {
    sqlx::query("SELECT client_uri FROM follower_members WHERE room = ? ORDER BY client_uri")
        .bind(room)
        .fetch_all(&mut *c)
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| get(row, 0))
        .collect()
}

pub(super) async fn set_member(
    c: &mut SqliteConnection,
    room: &str,
    client_uri: &str,
    present: bool,
) -> Result<()> {
    let statement = if present {
        "INSERT INTO follower_members (room, client_uri) VALUES (?, ?) \
         ON CONFLICT (room, client_uri) DO NOTHING"
    } else {
        "DELETE FROM follower_members WHERE room = ? AND client_uri = ?"
    };
    sqlx::query(statement)
        .bind(room)
        .bind(client_uri)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(super) async fn duplicates(c: &mut SqliteConnection) -> Result<Vec<(String, u64)>> {
    sqlx::query("SELECT hub, count FROM follower_duplicates ORDER BY hub")
        .fetch_all(&mut *c)
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| Ok((get(row, 0)?, unsigned(get(row, 1)?, "count")?)))
        .collect()
}
