//! The hub side of rooms: room state, the per-room sequence, one transaction per event.

use sqlx::PgPool;
use sqlx::postgres::{PgConnection, PgRow};

use super::order::Turn;
use super::streams::Deliveries;
use super::{PgStore, db_err, finish, follower, get, wakes};
use crate::error::{Result, StoreError};
use crate::model::{HubEvent, HubRoomSnapshot, HubSubmission, RoomVersion};
use crate::sqlite::{exact, time, unsigned};

/// Commit a (validated) hub event in one transaction, with the submission it accepted (and
/// the horizon to forget older submissions at); the event's local recipients, sorted,
/// without duplicates. `turn` is the event's turn in its room's queue in this process.
/// How far a hosted room's stored state is.
pub(super) async fn version(pool: &PgPool, room: &str) -> Result<Option<RoomVersion>> {
    sqlx::query("SELECT seq, state_seq FROM hub_rooms WHERE room = $1")
        .bind(room)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .map(|row| {
            Ok(RoomVersion {
                seq: unsigned(get(&row, 0)?, "seq")?,
                state_seq: unsigned(get(&row, 1)?, "state_seq")?,
            })
        })
        .transpose()
}

pub(super) async fn commit(
    store: &PgStore,
    turn: Turn,
    e: &HubEvent,
    submission: Option<(&HubSubmission, Option<u64>)>,
) -> Result<Vec<String>> {
    let mut turn = Some(turn);
    let mut tx = store.begin().await?;
    let r = write_event(&mut tx, &mut turn, e).await;
    let r = match (r, submission) {
        (Ok(recipients), Some((s, forget))) => record_submission(&mut tx, s, forget)
            .await
            .map(|()| recipients),
        (r, _) => r,
    };
    let r = finish(tx, r).await;
    // A new room's turn is handed on only now: before its commit, the room's next event
    // would not find the room.
    drop(turn);
    r
}

async fn write_event(
    c: &mut PgConnection,
    turn: &mut Option<Turn>,
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
        // A concurrent creation of the room (another process) is waited for: one wins.
        let created = sqlx::query(
            "INSERT INTO hub_rooms (room, seq, group_info, ratchet_tree, policy_preset, \
             updated_ms) VALUES ($1, 0, $2, $3, $4, $5) ON CONFLICT (room) DO NOTHING",
        )
        .bind(&e.room)
        .bind(&s.group_info)
        .bind(&s.ratchet_tree)
        .bind(&s.policy_preset)
        .bind(now)
        .execute(&mut *c)
        .await
        .map_err(db_err)?
        .rows_affected();
        if created == 0 {
            return Err(StoreError::Conflict(format!(
                "room {}: exists already (sequence 0 is taken)",
                e.room
            )));
        }
    } else {
        // Compare-and-set on the sequence number, under the room row's lock: a concurrent
        // writer of the room (another process, or the next event queued here) waits for
        // this transaction to end and then reads the sequence number it left.
        let current = sqlx::query("SELECT seq FROM hub_rooms WHERE room = $1 FOR NO KEY UPDATE")
            .bind(&e.room)
            .fetch_optional(&mut *c)
            .await
            .map_err(db_err)?;
        // From here the row lock keeps the room's order: the next event queued in this
        // process may start (and waits for the lock above).
        turn.take();
        let Some(current) = current else {
            return Err(StoreError::NotFound(format!("room {}", e.room)));
        };
        let current: i64 = get(&current, 0)?;
        if current != seq - 1 {
            return Err(StoreError::Conflict(format!(
                "room {}: event sequence {} is not the next one ({})",
                e.room,
                e.seq,
                current.saturating_add(1)
            )));
        }
        match &e.snapshot {
            Some(s) => sqlx::query(
                "UPDATE hub_rooms SET seq = $2, state_seq = $2, group_info = $3, \
                 ratchet_tree = $4, policy_preset = $5, updated_ms = $6 WHERE room = $1",
            )
            .bind(&e.room)
            .bind(seq)
            .bind(&s.group_info)
            .bind(&s.ratchet_tree)
            .bind(&s.policy_preset)
            .bind(now),
            None => sqlx::query("UPDATE hub_rooms SET seq = $2, updated_ms = $3 WHERE room = $1")
                .bind(&e.room)
                .bind(seq)
                .bind(now),
        }
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    }
    if let Some(s) = &e.snapshot {
        sqlx::query("DELETE FROM hub_pending_proposals WHERE room = $1")
            .bind(&e.room)
            .execute(&mut *c)
            .await
            .map_err(db_err)?;
        if !s.pending.is_empty() {
            let messages: Vec<&[u8]> = s.pending.iter().map(|(m, _)| &m[..]).collect();
            let accepted: Vec<i64> = s.pending.iter().map(|(_, at)| time(*at)).collect();
            sqlx::query(
                "INSERT INTO hub_pending_proposals (room, position, message, accepted_ms) \
                 SELECT $1, ord - 1, m, a \
                 FROM UNNEST($2::bytea[], $3::int8[]) WITH ORDINALITY AS t(m, a, ord)",
            )
            .bind(&e.room)
            .bind(&messages)
            .bind(&accepted)
            .execute(&mut *c)
            .await
            .map_err(db_err)?;
        }
    }
    // The event record and its outbox rows (ids in the event's order) in one statement.
    let destinations: Vec<&str> = e.outbox.iter().map(|o| &o.destination[..]).collect();
    let bodies: Vec<&[u8]> = e.outbox.iter().map(|o| &o.body[..]).collect();
    let created: Vec<i64> = e.outbox.iter().map(|o| time(o.created_ms)).collect();
    sqlx::query(
        "WITH event AS ( \
             INSERT INTO hub_events (room, seq, kind, created_ms) VALUES ($1, $2, $3, $4)) \
         INSERT INTO outbox (destination, room, seq, body, created_ms, attempts, \
                             next_attempt_ms) \
         SELECT d, $1, $2, b, c, 0, c \
         FROM UNNEST($5::text[], $6::bytea[], $7::int8[]) WITH ORDINALITY AS t(d, b, c, ord) \
         ORDER BY ord",
    )
    .bind(&e.room)
    .bind(seq)
    .bind(&e.kind)
    .bind(now)
    .bind(&destinations)
    .bind(&bodies)
    .bind(&created)
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    // For its own clients the hub is its own follower.
    let mut deliveries = Deliveries::default();
    let mut recipients = Vec::new();
    for n in &e.local {
        recipients.extend(
            follower::record_notify(c, n, &mut deliveries)
                .await?
                .unwrap_or_default(),
        );
    }
    deliveries.write(c).await?;
    recipients.sort();
    recipients.dedup();
    // Other instances sharing the database wake these streams and delivery workers once
    // this commits (docs/decisions/0160).
    let mut woken = destinations;
    woken.sort_unstable();
    woken.dedup();
    wakes::notify(c, &recipients, &woken).await?;
    Ok(recipients)
}

/// Remember an accepted submission; with `forget_before_ms`, also forget those accepted
/// before then.
async fn record_submission(
    c: &mut PgConnection,
    s: &HubSubmission,
    forget_before_ms: Option<u64>,
) -> Result<()> {
    if let Some(before) = forget_before_ms {
        // Rows another transaction is forgetting are left to it (no waiting, no deadlock).
        sqlx::query(
            "DELETE FROM hub_submissions WHERE (room, message_hash) IN ( \
                 SELECT room, message_hash FROM hub_submissions WHERE accepted_ms < $1 \
                 FOR UPDATE SKIP LOCKED)",
        )
        .bind(time(before))
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    }
    let inserted = sqlx::query(
        "INSERT INTO hub_submissions (room, message_hash, from_domain, sending_uri, seq, \
         response, accepted_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (room, message_hash) DO NOTHING",
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
    .map_err(db_err)?
    .rows_affected();
    if inserted == 0 {
        return Err(StoreError::Conflict(format!(
            "room {}: this message was accepted before",
            s.room
        )));
    }
    Ok(())
}

/// The room columns, then the pending proposals' messages and times as two arrays in
/// position order: a room is one row, read in one statement (one snapshot).
const ROOM_SELECT: &str = "SELECT r.room, r.group_info, r.ratchet_tree, r.seq, r.policy_preset, \
     ARRAY(SELECT p.message FROM hub_pending_proposals p WHERE p.room = r.room \
           ORDER BY p.position), \
     ARRAY(SELECT p.accepted_ms FROM hub_pending_proposals p WHERE p.room = r.room \
           ORDER BY p.position) \
     FROM hub_rooms r";

fn room_row(row: &PgRow) -> Result<HubRoomSnapshot> {
    let messages: Vec<Vec<u8>> = get(row, 5)?;
    let accepted: Vec<i64> = get(row, 6)?;
    if messages.len() != accepted.len() {
        return Err(StoreError::Corrupt(
            "pending proposals without their times".into(),
        ));
    }
    Ok(HubRoomSnapshot {
        room: get(row, 0)?,
        group_info: get(row, 1)?,
        ratchet_tree: get(row, 2)?,
        seq: unsigned(get(row, 3)?, "seq")?,
        policy_preset: get(row, 4)?,
        pending: messages
            .into_iter()
            .zip(accepted)
            .map(|(m, at)| Ok((m, unsigned(at, "accepted_ms")?)))
            .collect::<Result<_>>()?,
    })
}

pub(super) async fn hub_room(pool: &PgPool, room: &str) -> Result<Option<HubRoomSnapshot>> {
    sqlx::query(&format!("{ROOM_SELECT} WHERE r.room = $1"))
        .bind(room)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(room_row)
        .transpose()
}

pub(super) async fn load_hub_rooms(pool: &PgPool) -> Result<Vec<HubRoomSnapshot>> {
    sqlx::query(&format!("{ROOM_SELECT} ORDER BY r.room"))
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(room_row)
        .collect()
}

pub(super) async fn submission(
    pool: &PgPool,
    room: &str,
    message_hash: &[u8; 32],
) -> Result<Option<HubSubmission>> {
    let Some(row) = sqlx::query(
        "SELECT from_domain, sending_uri, seq, response, accepted_ms FROM hub_submissions \
         WHERE room = $1 AND message_hash = $2",
    )
    .bind(room)
    .bind(&message_hash[..])
    .fetch_optional(pool)
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
