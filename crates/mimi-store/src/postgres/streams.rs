//! Per-client event streams with dense cursors.

use sqlx::PgPool;
use sqlx::postgres::PgConnection;

use super::{db_err, get};
use crate::error::Result;
use crate::model::{DeliveryRow, FollowerNotify};
use crate::sqlite::{count, time, unsigned};

/// The events a transaction appends to client streams, written together at its end
/// ([`Deliveries::write`]): each message once, and who gets it.
#[derive(Default)]
pub(super) struct Deliveries<'a> {
    rooms: Vec<&'a str>,
    kinds: Vec<&'a str>,
    bodies: Vec<&'a [u8]>,
    created_ms: Vec<i64>,
    /// Per message: how many deliveries refer to it.
    refs: Vec<i64>,
    /// Per delivery, in order: the client and its message's number (from 1).
    clients: Vec<String>,
    messages: Vec<i64>,
}

impl<'a> Deliveries<'a> {
    /// Deliver `notify` to `to`, after what was added before.
    pub(super) fn add(&mut self, notify: &'a FollowerNotify, to: &[String]) {
        if to.is_empty() {
            return;
        }
        self.rooms.push(&notify.room);
        self.kinds.push(&notify.kind);
        self.bodies.push(&notify.body);
        self.created_ms.push(time(notify.created_ms));
        self.refs.push(count(to.len()));
        let message = count(self.rooms.len());
        for client in to {
            self.clients.push(client.clone());
            self.messages.push(message);
        }
    }

    /// Append everything to the streams, in one statement (inside the caller's transaction).
    ///
    /// Each message is stored once (`stream_events`, with its number of deliveries), and
    /// the deliveries refer to it.
    /// Each client's counter row goes up by its number of deliveries, and the deliveries
    /// take the cursors in between, in the order they were added. The counter rows are
    /// locked (updated) in client order, one order for every transaction, so two
    /// transactions delivering to the same clients never deadlock; the locks last until the
    /// commit, so a client's cursors are given out in commit order, without gaps.
    pub(super) async fn write(self, c: &mut PgConnection) -> Result<()> {
        if self.clients.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "WITH m AS ( \
                 SELECT m.*, nextval(pg_get_serial_sequence('stream_events', 'id')) AS id \
                 FROM UNNEST($1::text[], $2::text[], $3::bytea[], $4::int8[], $7::int8[]) \
                 WITH ORDINALITY AS m(room, kind, body, created_ms, refs, message)), \
             events AS ( \
                 INSERT INTO stream_events (id, room, kind, body, created_ms, refs) \
                 SELECT id, room, kind, body, created_ms, refs FROM m), \
             d AS ( \
                 SELECT * FROM UNNEST($5::text[], $6::int8[]) \
                 WITH ORDINALITY AS d(client_uri, message, ord)), \
             n AS (SELECT client_uri, count(*) AS n FROM d GROUP BY client_uri), \
             bumped AS ( \
                 INSERT INTO client_streams AS s (client_uri, last_cursor) \
                 SELECT client_uri, n FROM n ORDER BY client_uri COLLATE \"C\" \
                 ON CONFLICT (client_uri) \
                 DO UPDATE SET last_cursor = s.last_cursor + EXCLUDED.last_cursor \
                 RETURNING client_uri, last_cursor) \
             INSERT INTO deliveries (client_uri, cursor, event) \
             SELECT d.client_uri, \
                    b.last_cursor - n.n \
                        + row_number() OVER (PARTITION BY d.client_uri ORDER BY d.ord), \
                    m.id \
             FROM d JOIN n ON n.client_uri = d.client_uri \
             JOIN bumped b ON b.client_uri = d.client_uri \
             JOIN m ON m.message = d.message",
        )
        .bind(&self.rooms)
        .bind(&self.kinds)
        .bind(&self.bodies)
        .bind(&self.created_ms)
        .bind(&self.clients)
        .bind(&self.messages)
        .bind(&self.refs)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
        Ok(())
    }
}

pub(super) async fn events_after(
    pool: &PgPool,
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
         WHERE d.client_uri = $1 AND d.cursor > $2 ORDER BY d.cursor LIMIT $3",
    )
    .bind(client_uri)
    .bind(time(cursor))
    .bind(count(limit))
    .fetch_all(pool)
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

pub(super) async fn latest_cursor(pool: &PgPool, client_uri: &str) -> Result<u64> {
    match sqlx::query("SELECT last_cursor FROM client_streams WHERE client_uri = $1")
        .bind(client_uri)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
    {
        Some(row) => unsigned(get(&row, 0)?, "cursor"),
        None => Ok(0),
    }
}

/// Drop a client's deliveries through `through` (inside the caller's transaction), and the
/// events no delivery refers to any more; how many deliveries went.
pub(super) async fn trim(c: &mut PgConnection, client_uri: &str, through: u64) -> Result<u64> {
    let mut gone: Vec<i64> = sqlx::query_scalar(
        "DELETE FROM deliveries WHERE client_uri = $1 AND cursor <= $2 RETURNING event",
    )
    .bind(client_uri)
    .bind(time(through))
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)?;
    let removed = gone.len();
    gone.sort_unstable();
    let mut events: Vec<i64> = Vec::new();
    let mut refs: Vec<i64> = Vec::new();
    for event in gone {
        match events.last() {
            Some(&last) if last == event => *refs.last_mut().expect("one per event") += 1,
            _ => {
                events.push(event);
                refs.push(1);
            }
        }
    }
    if !events.is_empty() {
        // Lock the events in id order (one order for every transaction: concurrent trims
        // sharing events never deadlock), count the references down, and remove the events
        // nobody refers to any more.
        sqlx::query("SELECT id FROM stream_events WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind(&events)
            .execute(&mut *c)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "UPDATE stream_events e SET refs = e.refs - t.n \
             FROM UNNEST($1::int8[], $2::int8[]) AS t(id, n) WHERE e.id = t.id",
        )
        .bind(&events)
        .bind(&refs)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
        sqlx::query("DELETE FROM stream_events WHERE id = ANY($1) AND refs = 0")
            .bind(&events)
            .execute(&mut *c)
            .await
            .map_err(db_err)?;
    }
    Ok(removed as u64)
}
