//! The transactional outbox: deliveries to other providers, in order per destination.

use sqlx::sqlite::{SqliteConnection, SqliteRow};

use super::{count, db_err, get, time, unsigned};
use crate::error::{Result, StoreError};
use crate::model::{DeadLetter, OutboxBacklog, OutboxRow};

fn outbox_row(row: &SqliteRow) -> Result<OutboxRow> {
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
    c: &mut SqliteConnection,
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
         last_error FROM outbox WHERE destination = ?1 \
         AND (SELECT h.next_attempt_ms FROM outbox h WHERE h.destination = ?1 \
              ORDER BY h.id LIMIT 1) <= ?2 \
         ORDER BY id LIMIT ?3",
    )
    .bind(destination)
    .bind(time(now_ms))
    .bind(count(limit))
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)?
    .iter()
    .map(outbox_row)
    .collect()
}

pub(super) async fn done(c: &mut SqliteConnection, ids: &[i64]) -> Result<()> {
    // One statement for the whole delivered batch: the ids as a JSON array.
    sqlx::query("DELETE FROM outbox WHERE id IN (SELECT value FROM json_each(?))")
        .bind(json_ids(ids))
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Row ids as a JSON array, for `json_each`.
fn json_ids(ids: &[i64]) -> String {
    let mut out = String::with_capacity(ids.len() * 8 + 2);
    out.push('[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&id.to_string());
    }
    out.push(']');
    out
}

pub(super) async fn retry(
    c: &mut SqliteConnection,
    ids: &[i64],
    next_attempt_ms: u64,
    error: &str,
) -> Result<()> {
    for id in ids {
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?, last_error = ? \
             WHERE id = ?",
        )
        .bind(time(next_attempt_ms))
        .bind(error)
        .bind(id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

pub(super) async fn wake(c: &mut SqliteConnection, destination: &str, now_ms: u64) -> Result<u64> {
    let now = time(now_ms);
    Ok(sqlx::query(
        "UPDATE outbox SET next_attempt_ms = ? WHERE destination = ? AND next_attempt_ms > ?",
    )
    .bind(now)
    .bind(destination)
    .bind(now)
    .execute(&mut *c)
    .await
    .map_err(db_err)?
    .rows_affected())
}

pub(super) async fn backlog(c: &mut SqliteConnection) -> Result<Vec<OutboxBacklog>> {
    sqlx::query(
        "SELECT o.destination, COUNT(*), MIN(o.created_ms), \
         (SELECT h.next_attempt_ms FROM outbox h WHERE h.destination = o.destination \
          ORDER BY h.id LIMIT 1) \
         FROM outbox o GROUP BY o.destination ORDER BY o.destination",
    )
    .fetch_all(&mut *c)
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
    c: &mut SqliteConnection,
    ids: &[i64],
    reason: &str,
    now_ms: u64,
) -> Result<()> {
    for id in ids {
        sqlx::query(
            "INSERT INTO outbox_dead_letters (id, destination, room, seq, body, created_ms, \
             attempts, reason, dead_ms) SELECT id, destination, room, seq, body, created_ms, \
             attempts + 1, ?, ? FROM outbox WHERE id = ?",
        )
        .bind(reason)
        .bind(time(now_ms))
        .bind(id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
        sqlx::query("DELETE FROM outbox WHERE id = ?")
            .bind(id)
            .execute(&mut *c)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

pub(super) async fn dead_letters(
    c: &mut SqliteConnection,
    destination: &str,
    limit: usize,
) -> Result<Vec<DeadLetter>> {
    sqlx::query(
        "SELECT id, destination, room, seq, body, created_ms, attempts, reason, dead_ms \
         FROM outbox_dead_letters WHERE destination = ? ORDER BY id LIMIT ?",
    )
    .bind(destination)
    .bind(count(limit))
    .fetch_all(&mut *c)
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
