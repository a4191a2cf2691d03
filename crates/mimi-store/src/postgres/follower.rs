//! The follower side of rooms: dedupe of fanout messages, local membership.

use sqlx::PgPool;
use sqlx::postgres::PgConnection;

use super::streams::Deliveries;
use super::{db_err, get, keys, size, wakes};
use crate::error::{Result, StoreError};
use crate::model::FollowerNotify;
use crate::sqlite::unsigned;

/// Record fanout messages in order and deliver them (inside the caller's transaction).
pub(super) async fn record_notifies(
    c: &mut PgConnection,
    notifies: &[FollowerNotify],
) -> Result<Vec<Option<Vec<String>>>> {
    let mut deliveries = Deliveries::default();
    let mut results = Vec::with_capacity(notifies.len());
    for n in notifies {
        results.push(record_notify(c, n, &mut deliveries).await?);
    }
    deliveries.write(c).await?;
    // Other instances sharing the database wake these streams once this commits.
    let mut recipients: Vec<String> = results.iter().flatten().flatten().cloned().collect();
    recipients.sort_unstable();
    recipients.dedup();
    wakes::notify(c, &recipients, &[]).await?;
    Ok(results)
}

/// Record one fanout message: its recipients, sorted, added to `deliveries`; `None` for a
/// redelivery.
pub(super) async fn record_notify<'a>(
    c: &mut PgConnection,
    notify: &'a FollowerNotify,
    deliveries: &mut Deliveries<'a>,
) -> Result<Option<Vec<String>>> {
    let welcome = !notify.welcome_refs.is_empty();
    // Seen before (also by a concurrent transaction, which the insert waits for)? Then only
    // counted. Else, unless it is a Welcome, the room's members, in the same round trip.
    let row = sqlx::query(
        "WITH seen AS ( \
             INSERT INTO follower_seen (room, message_hash, hub) VALUES ($1, $2, $3) \
             ON CONFLICT (room, message_hash) DO NOTHING RETURNING 1), \
         duplicate AS ( \
             INSERT INTO follower_duplicates AS d (hub, count) \
             SELECT $3, 1 WHERE NOT EXISTS (SELECT 1 FROM seen) \
             ON CONFLICT (hub) DO UPDATE SET count = d.count + 1) \
         SELECT EXISTS (SELECT 1 FROM seen), \
                ARRAY(SELECT client_uri FROM follower_members \
                      WHERE room = $1 AND NOT $4 AND EXISTS (SELECT 1 FROM seen) \
                      ORDER BY client_uri)",
    )
    .bind(&notify.room)
    .bind(&notify.message_hash[..])
    .bind(&notify.hub)
    .bind(welcome)
    .fetch_one(&mut *c)
    .await
    .map_err(db_err)?;
    if !get::<bool>(&row, 0)? {
        return Ok(None);
    }
    if !welcome {
        let members: Vec<String> = get(&row, 1)?;
        deliveries.add(notify, &members);
        return Ok(Some(members));
    }
    // docs/decisions/0051: a Welcome goes where its KeyPackages were handed out.
    let mut to = keys::take_welcome_routes(c, &notify.welcome_refs).await?;
    to.sort();
    to.dedup();
    if to.iter().any(String::is_empty) {
        return Err(StoreError::Invalid(
            "a delivery to an empty client URI".into(),
        ));
    }
    if !to.is_empty() {
        sqlx::query(
            "INSERT INTO follower_members (room, client_uri) \
             SELECT $1, unnest($2::text[]) ON CONFLICT (room, client_uri) DO NOTHING",
        )
        .bind(&notify.room)
        .bind(&to)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    }
    deliveries.add(notify, &to);
    Ok(Some(to))
}

pub(super) async fn user_room_count(pool: &PgPool, user_uri: &str) -> Result<usize> {
    let row = sqlx::query(
        "SELECT count(DISTINCT m.room) FROM follower_members m \
         JOIN clients c ON c.client_uri = m.client_uri WHERE c.user_uri = $1",
    )
    .bind(user_uri)
    .fetch_one(pool)
    .await
    .map_err(db_err)?;
    size(get(&row, 0)?, "room count")
}

pub(super) async fn members(pool: &PgPool, room: &str) -> Result<Vec<String>> {
    sqlx::query("SELECT client_uri FROM follower_members WHERE room = $1 ORDER BY client_uri")
        .bind(room)
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| get(row, 0))
        .collect()
}

pub(super) async fn set_member(
    pool: &PgPool,
    room: &str,
    client_uri: &str,
    present: bool,
) -> Result<()> {
    let statement = if present {
        "INSERT INTO follower_members (room, client_uri) VALUES ($1, $2) \
         ON CONFLICT (room, client_uri) DO NOTHING"
    } else {
        "DELETE FROM follower_members WHERE room = $1 AND client_uri = $2"
    };
    sqlx::query(statement)
        .bind(room)
        .bind(client_uri)
        .execute(pool)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(super) async fn duplicates(pool: &PgPool) -> Result<Vec<(String, u64)>> {
    sqlx::query("SELECT hub, count FROM follower_duplicates ORDER BY hub")
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| Ok((get(row, 0)?, unsigned(get(row, 1)?, "count")?)))
        .collect()
}
