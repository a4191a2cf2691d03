//! The transactional outbox: deliveries to other providers, in order per destination.
//!
//! Row ids are taken when a row is inserted and become visible at its commit, so rows of
//! two rooms committed at once may appear out of id order; a room's rows never do (its
//! events commit one after the other, each after its room's row lock).

use sqlx::PgPool;
use sqlx::postgres::PgRow;

use super::{db_err, get};
use crate::error::{Result, StoreError};
use crate::model::{DeadLetter, OutboxBacklog, OutboxRow};
use crate::sqlite::{count, time, unsigned};

fn outbox_row(row: &PgRow) -> Result<OutboxRow> {
    let attempts: i64 = get(row, 6)?;
    Ok(OutboxRow {
        id: get(row, 0)?,
        destination: get(row, 1)?,
        room: get(row, 2)?,
        seq: unsigned(get(row, 3)?, "seq")?,
        body: get(row, 4)?,
        created_ms: unsigned(get(row, 5)?, "created_ms")?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt_ms: unsigned(get(row, 7)?, "next_attempt_ms")?,
        last_error: get(row, 8)?,
    })
}

pub(super) async fn due(
    pool: &PgPool,
    destination: &str,
    now_ms: u64,
    limit: usize,
) -> Result<Vec<OutboxRow>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    // One statement, so one snapshot: the queue from its head, if the head is due.
    sqlx::query(
        "SELECT id, destination, room, seq, body, created_ms, attempts, next_attempt_ms, \
         last_error FROM outbox WHERE destination = $1 \
         AND (SELECT h.next_attempt_ms FROM outbox h WHERE h.destination = $1 \
              ORDER BY h.id LIMIT 1) <= $2 \
         ORDER BY id LIMIT $3",
    )
    .bind(destination)
    .bind(time(now_ms))
    .bind(count(limit))
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(outbox_row)
    .collect()
}

pub(super) async fn done(pool: &PgPool, ids: &[i64]) -> Result<()> {
    sqlx::query("DELETE FROM outbox WHERE id = ANY($1)")
        .bind(ids)
        .execute(pool)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(super) async fn retry(
    pool: &PgPool,
    ids: &[i64],
    next_attempt_ms: u64,
    error: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = $2, last_error = $3 \
         WHERE id = ANY($1)",
    )
    .bind(ids)
    .bind(time(next_attempt_ms))
    .bind(error)
    .execute(pool)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(super) async fn wake(pool: &PgPool, destination: &str, now_ms: u64) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE outbox SET next_attempt_ms = $2 WHERE destination = $1 AND next_attempt_ms > $2",
    )
    .bind(destination)
    .bind(time(now_ms))
    .execute(pool)
    .await
    .map_err(db_err)?
    .rows_affected())
}

pub(super) async fn backlog(pool: &PgPool) -> Result<Vec<OutboxBacklog>> {
    sqlx::query(
        "SELECT o.destination, count(*), min(o.created_ms), \
         (SELECT h.next_attempt_ms FROM outbox h WHERE h.destination = o.destination \
          ORDER BY h.id LIMIT 1) \
         FROM outbox o GROUP BY o.destination ORDER BY o.destination",
    )
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| {
        Ok(OutboxBacklog {
            destination: get(row, 0)?,
            rows: unsigned(get(row, 1)?, "count")?,
            oldest_created_ms: unsigned(get(row, 2)?, "created_ms")?,
            next_attempt_ms: get::<Option<i64>>(row, 3)?
                .map(|v| unsigned(v, "next_attempt_ms"))
                .transpose()?
                .ok_or_else(|| StoreError::Corrupt("outbox head vanished".into()))?,
        })
    })
    .collect()
}

pub(super) async fn dead_letter(
    pool: &PgPool,
    ids: &[i64],
    reason: &str,
    now_ms: u64,
) -> Result<()> {
    sqlx::query(
        "WITH dead AS (DELETE FROM outbox WHERE id = ANY($1) \
             RETURNING id, destination, room, seq, body, created_ms, attempts) \
         INSERT INTO outbox_dead_letters (id, destination, room, seq, body, created_ms, \
         attempts, reason, dead_ms) SELECT id, destination, room, seq, body, created_ms, \
         attempts + 1, $2, $3 FROM dead",
    )
    .bind(ids)
    .bind(reason)
    .bind(time(now_ms))
    .execute(pool)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(super) async fn dead_letters(
    pool: &PgPool,
    destination: &str,
    limit: usize,
) -> Result<Vec<DeadLetter>> {
    sqlx::query(
        "SELECT id, destination, room, seq, body, created_ms, attempts, reason, dead_ms \
         FROM outbox_dead_letters WHERE destination = $1 ORDER BY id LIMIT $2",
    )
    .bind(destination)
    .bind(count(limit))
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| {
        let attempts: i64 = get(row, 6)?;
        Ok(DeadLetter {
            id: get(row, 0)?,
            destination: get(row, 1)?,
            room: get(row, 2)?,
            seq: unsigned(get(row, 3)?, "seq")?,
            body: get(row, 4)?,
            created_ms: unsigned(get(row, 5)?, "created_ms")?,
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            reason: get(row, 7)?,
            dead_ms: unsigned(get(row, 8)?, "dead_ms")?,
        })
    })
    .collect()
}

/// Take, renew or give up `destination`'s lease (docs/decisions/0160): true if `holder`
/// holds it until `until_ms` now. One statement: the row is created if missing, taken over
/// if its lease expired by `now_ms`, renewed if it is `holder`'s; a lease another holder
/// keeps is left alone (no row returned).
pub(super) async fn lease(
    pool: &PgPool,
    destination: &str,
    holder: &str,
    now_ms: u64,
    until_ms: u64,
) -> Result<bool> {
    let taken = sqlx::query(
        "INSERT INTO outbox_leases AS l (destination, holder, until_ms) VALUES ($1, $2, $4) \
         ON CONFLICT (destination) DO UPDATE SET holder = EXCLUDED.holder, \
             until_ms = EXCLUDED.until_ms \
         WHERE l.holder = EXCLUDED.holder OR l.until_ms <= $3 \
         RETURNING 1",
    )
    .bind(destination)
    .bind(holder)
    .bind(time(now_ms))
    .bind(time(until_ms))
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    Ok(taken.is_some())
}
