//! The hub side of rooms: room state, the per-room sequence, one transaction per event.

use std::collections::BTreeMap;

use sqlx::Sqlite;
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteConnection, SqliteRow};

use super::{db_err, exact, follower, get, streams, time, unsigned};
use crate::error::{Result, StoreError};
use crate::model::{HubEvent, HubRoomSnapshot, HubSubmission, NewOutbox};

/// The event's local recipients, sorted, without duplicates.
pub(super) async fn commit_hub_event(
    c: &mut SqliteConnection,
    e: &HubEvent,
) -> Result<Vec<String>> {
    let seq = exact(e.seq, "seq")?;
    let now = time(e.created_ms);
    if e.seq == 0 {
        let Some(s) = &e.snapshot else {
            return Err(StoreError::Invalid(
                "creating a room needs its state".into(),
            ));
        };
        sqlx::query(
            "INSERT INTO hub_rooms (room, seq, group_info, ratchet_tree, policy_preset, \
             updated_ms) VALUES (?, 0, ?, ?, ?, ?)",
        )
        .bind(&e.room)
        .bind(&s.group_info)
        .bind(&s.ratchet_tree)
        .bind(&s.policy_preset)
        .bind(now)
        .execute(&mut *c)
        .await
        .map_err(|err| match db_err(err) {
            StoreError::Conflict(_) => StoreError::Conflict(format!(
                "room {}: exists already (sequence 0 is taken)",
                e.room
            )),
            other => other,
        })?;
    } else {
        // Compare-and-set on the sequence number: the room's order is the store's to keep.
        let updated = match &e.snapshot {
            Some(s) => sqlx::query(
                "UPDATE hub_rooms SET seq = ?, group_info = ?, ratchet_tree = ?, \
                 policy_preset = ?, updated_ms = ? WHERE room = ? AND seq = ?",
            )
            .bind(seq)
            .bind(&s.group_info)
            .bind(&s.ratchet_tree)
            .bind(&s.policy_preset)
            .bind(now)
            .bind(&e.room)
            .bind(seq - 1),
            None => sqlx::query(
                "UPDATE hub_rooms SET seq = ?, updated_ms = ? WHERE room = ? AND seq = ?",
            )
            .bind(seq)
            .bind(now)
            .bind(&e.room)
            .bind(seq - 1),
        }
        .execute(&mut *c)
        .await
        .map_err(db_err)?
        .rows_affected();
        if updated == 0 {
            let current = sqlx::query("SELECT seq FROM hub_rooms WHERE room = ?")
                .bind(&e.room)
                .fetch_optional(&mut *c)
                .await
                .map_err(db_err)?;
            return Err(match current {
                None => StoreError::NotFound(format!("room {}", e.room)),
                Some(row) => {
                    let current: i64 = get(&row, 0)?;
                    StoreError::Conflict(format!(
                        "room {}: event sequence {} is not the next one ({})",
                        e.room,
                        e.seq,
                        current.saturating_add(1)
                    ))
                }
            });
        }
    }
    if let Some(s) = &e.snapshot {
        sqlx::query("DELETE FROM hub_pending_proposals WHERE room = ?")
            .bind(&e.room)
            .execute(&mut *c)
            .await
            .map_err(db_err)?;
        for (position, (message, accepted_ms)) in s.pending.iter().enumerate() {
            sqlx::query(
                "INSERT INTO hub_pending_proposals (room, position, message, accepted_ms) \
                 VALUES (?, ?, ?, ?)",
            )
            .bind(&e.room)
            .bind(super::count(position))
            .bind(message)
            .bind(time(*accepted_ms))
            .execute(&mut *c)
            .await
            .map_err(db_err)?;
        }
    }
    // The event record and its outbox rows in one round trip to the database.
    let mut sql =
        String::from("INSERT INTO hub_events (room, seq, kind, created_ms) VALUES (?, ?, ?, ?)");
    push_outbox_insert(&mut sql, e.outbox.len());
    let query = sqlx::query(&sql)
        .bind(&e.room)
        .bind(seq)
        .bind(&e.kind)
        .bind(now);
    bind_outbox(query, &e.outbox, seq)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    let mut recipients = Vec::new();
    for n in &e.local {
        recipients.extend(follower::record_notify(c, n).await?.unwrap_or_default());
    }
    recipients.sort();
    recipients.dedup();
    Ok(recipients)
}

/// An event with its submission, step by step: [`commit_hub_event`], then
/// [`record_submission`].
pub(super) async fn commit_with_submission(
    c: &mut SqliteConnection,
    e: &HubEvent,
    s: &HubSubmission,
    forget_before_ms: Option<u64>,
) -> Result<Vec<String>> {
    let recipients = commit_hub_event(c, e).await?;
    record_submission(c, s, forget_before_ms).await?;
    Ok(recipients)
}

/// Whether [`commit_message_at_once`] covers this event: an application message (no new
/// room state, no Welcome, not the room's creation).
pub(super) fn fits_one_query(e: &HubEvent) -> bool {
    e.seq > 0 && e.snapshot.is_none() && e.local.iter().all(|n| n.welcome_refs.is_empty())
}

/// An application message's event with its submission, in one round trip to the database
/// (savepoint included), for an operation begun bare: `SAVEPOINT op`, the sequence number's
/// compare-and-set, the event with its outbox rows, each local fanout as
/// [`follower::record_notify`] records it, the submission (and the forgetting of old ones with
/// `forget_before_ms`), `RELEASE op`. The local recipients, sorted, without duplicates.
///
/// For an event that [`fits_one_query`]. Every case that the step-by-step path ([`commit_hub_event`],
/// [`record_submission`]) answers differently from "done" is an error here: a sequence number
/// that is not the next (the event's kind, NOT NULL, is then NULL), a message seen before
/// (`follower_seen`'s key), a submission accepted before (`hub_submissions`' key). So the
/// statements either all took effect and the savepoint is released, or the call failed with
/// the savepoint still open: the caller undoes it and takes the step-by-step path, which
/// gives the precise answer.
pub(super) async fn commit_message_at_once(
    c: &mut SqliteConnection,
    e: &HubEvent,
    s: &HubSubmission,
    forget_before_ms: Option<u64>,
) -> Result<Vec<String>> {
    let seq = exact(e.seq, "seq")?;
    let submission_seq = exact(s.seq, "seq")?;
    // Anonymous parameters only, bound in the order they appear: sqlx binds a numbered
    // parameter of a later statement only if that statement uses every lower number too.
    let mut sql = String::from(
        "SAVEPOINT op; \
         UPDATE hub_rooms SET seq = ?, updated_ms = ? WHERE room = ? AND seq = ?; \
         INSERT INTO hub_events (room, seq, kind, created_ms) \
         VALUES (?, ?, CASE WHEN changes() = 1 THEN ? END, ?)",
    );
    push_outbox_insert(&mut sql, e.outbox.len());
    for _ in &e.local {
        sql.push_str("; INSERT INTO follower_seen (room, message_hash, hub) VALUES (?, ?, ?); ");
        sql.push_str(streams::APPEND_TO_MEMBERS);
    }
    if forget_before_ms.is_some() {
        sql.push_str("; DELETE FROM hub_submissions WHERE accepted_ms < ?");
    }
    sql.push_str(
        "; INSERT INTO hub_submissions (room, message_hash, from_domain, sending_uri, seq, \
         response, accepted_ms) VALUES (?, ?, ?, ?, ?, ?, ?); RELEASE op",
    );
    let now = time(e.created_ms);
    let query = sqlx::query(&sql)
        .bind(seq)
        .bind(now)
        .bind(&e.room)
        .bind(seq - 1)
        .bind(&e.room)
        .bind(seq)
        .bind(&e.kind)
        .bind(now);
    let mut query = bind_outbox(query, &e.outbox, seq);
    for n in &e.local {
        query = query.bind(&n.room).bind(&n.message_hash[..]).bind(&n.hub);
        query = streams::bind_append_to_members(query, &n.room, &n.kind, &n.body, n.created_ms);
    }
    if let Some(before) = forget_before_ms {
        query = query.bind(time(before));
    }
    query = query
        .bind(&s.room)
        .bind(&s.message_hash[..])
        .bind(&s.from_domain)
        .bind(&s.sending_uri)
        .bind(submission_seq)
        .bind(&s.response)
        .bind(time(s.accepted_ms));
    let mut recipients = query
        .fetch_all(&mut *c)
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| get(row, 0))
        .collect::<Result<Vec<String>>>()?;
    recipients.sort();
    recipients.dedup();
    Ok(recipients)
}

/// Append the statement that queues an event's `rows` outbox rows (none for 0), to follow
/// other statements in one query; bind it with [`bind_outbox`].
fn push_outbox_insert(sql: &mut String, rows: usize) {
    if rows == 0 {
        return;
    }
    sql.push_str(
        "; INSERT INTO outbox (destination, room, seq, body, created_ms, attempts, \
         next_attempt_ms) VALUES ",
    );
    for i in 0..rows {
        sql.push_str(if i == 0 {
            "(?, ?, ?, ?, ?, 0, ?)"
        } else {
            ", (?, ?, ?, ?, ?, 0, ?)"
        });
    }
}

/// Bind the parameters of [`push_outbox_insert`]'s statement, in order.
fn bind_outbox<'q>(
    mut query: Query<'q, Sqlite, SqliteArguments<'q>>,
    outbox: &'q [NewOutbox],
    seq: i64,
) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    for o in outbox {
        query = query
            .bind(&o.destination)
            .bind(&o.room)
            .bind(seq)
            .bind(&o.body)
            .bind(time(o.created_ms))
            .bind(time(o.created_ms));
    }
    query
}

const ROOM_COLUMNS: &str = "room, group_info, ratchet_tree, seq, policy_preset";

fn room_row(row: &SqliteRow) -> Result<HubRoomSnapshot> {
    Ok(HubRoomSnapshot {
        room: get(row, 0)?,
        group_info: get(row, 1)?,
        ratchet_tree: get(row, 2)?,
        seq: unsigned(get(row, 3)?, "seq")?,
        policy_preset: get(row, 4)?,
        pending: Vec::new(),
    })
}

fn pending_row(row: &SqliteRow) -> Result<(Vec<u8>, u64)> {
    Ok((get(row, 0)?, unsigned(get(row, 1)?, "accepted_ms")?))
}

pub(super) async fn hub_room(
    c: &mut SqliteConnection,
    room: &str,
) -> Result<Option<HubRoomSnapshot>> {
    let sql = format!("SELECT {ROOM_COLUMNS} FROM hub_rooms WHERE room = ?");
    let Some(row) = sqlx::query(&sql)
        .bind(room)
        .fetch_optional(&mut *c)
        .await
        .map_err(db_err)?
    else {
        return Ok(None);
    };
    let mut snapshot = room_row(&row)?;
    snapshot.pending = sqlx::query(
        "SELECT message, accepted_ms FROM hub_pending_proposals WHERE room = ? \
         ORDER BY position",
    )
    .bind(room)
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)?
    .iter()
    .map(pending_row)
    .collect::<Result<_>>()?;
    Ok(Some(snapshot))
}

pub(super) async fn load_hub_rooms(c: &mut SqliteConnection) -> Result<Vec<HubRoomSnapshot>> {
    let sql = format!("SELECT {ROOM_COLUMNS} FROM hub_rooms ORDER BY room");
    let mut rooms: BTreeMap<String, HubRoomSnapshot> = BTreeMap::new();
    for row in sqlx::query(&sql).fetch_all(&mut *c).await.map_err(db_err)? {
        let snapshot = room_row(&row)?;
        rooms.insert(snapshot.room.clone(), snapshot);
    }
    let pending = sqlx::query(
        "SELECT room, message, accepted_ms FROM hub_pending_proposals ORDER BY room, position",
    )
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)?;
    for row in &pending {
        let room: String = get(row, 0)?;
        let proposal = (get(row, 1)?, unsigned(get(row, 2)?, "accepted_ms")?);
        match rooms.get_mut(&room) {
            Some(snapshot) => snapshot.pending.push(proposal),
            None => {
                return Err(StoreError::Corrupt(format!(
                    "pending proposal of unknown room {room}"
                )));
            }
        }
    }
    Ok(rooms.into_values().collect())
}

/// Remember an accepted submission; with `forget_before_ms`, also forget those accepted
/// before then.
pub(super) async fn record_submission(
    c: &mut SqliteConnection,
    s: &HubSubmission,
    forget_before_ms: Option<u64>,
) -> Result<()> {
    if let Some(before) = forget_before_ms {
        sqlx::query("DELETE FROM hub_submissions WHERE accepted_ms < ?")
            .bind(time(before))
            .execute(&mut *c)
            .await
            .map_err(db_err)?;
    }
    sqlx::query(
        "INSERT INTO hub_submissions (room, message_hash, from_domain, sending_uri, seq, \
         response, accepted_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&s.room)
    .bind(&s.message_hash[..])
    .bind(&s.from_domain)
    .bind(&s.sending_uri)
    .bind(exact(s.seq, "seq")?)
    .bind(&s.response)
    .bind(time(s.accepted_ms))
    .execute(&mut *c)
    .await
    .map_err(|err| match db_err(err) {
        StoreError::Conflict(_) => {
            StoreError::Conflict(format!("room {}: this message was accepted before", s.room))
        }
        other => other,
    })?;
    Ok(())
}

pub(super) async fn submission(
    c: &mut SqliteConnection,
    room: &str,
    message_hash: &[u8; 32],
) -> Result<Option<HubSubmission>> {
    let Some(row) = sqlx::query(
        "SELECT from_domain, sending_uri, seq, response, accepted_ms FROM hub_submissions \
         WHERE room = ? AND message_hash = ?",
    )
    .bind(room)
    .bind(&message_hash[..])
    .fetch_optional(&mut *c)
    .await
    .map_err(db_err)?
    else {
        return Ok(None);
    };
    Ok(Some(HubSubmission {
        room: room.to_string(),
        message_hash: *message_hash,
        from_domain: get(&row, 0)?,
        sending_uri: get(&row, 1)?,
        seq: unsigned(get(&row, 2)?, "seq")?,
        response: get(&row, 3)?,
        accepted_ms: unsigned(get(&row, 4)?, "accepted_ms")?,
    }))
}
