//! Delivery workers: drain the transactional outbox, one worker per destination, each room
//! strictly in order. The due rows of a destination are cut into one batch per room, and
//! each batch goes out as one `/notify` (several concatenated FanoutMessages, protocol-06
//! §5.5), the rooms' batches concurrently over the peer's HTTP/2 connection; a failure
//! keeps the rows and retries with exponential backoff and jitter, honouring `Retry-After`. The queue survives restarts, so nothing
//! acknowledged to a sender is lost: it is delivered at least once, and receivers dedupe.
//!
//! A *permanent* refusal ([`is_permanent`]: the peer will never take these messages) does not
//! block the queue: the rows of a refused batch are resent one by one, and a row refused on
//! its own goes to the dead letters (kept in storage for operators, counted in
//! `mimi_notify_dead_letters_total{peer}`, logged); the rows behind it go on
//! (docs/decisions/0067).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use hyper::StatusCode;
use mimi_store::{OutboxRow, Store};
use mimi_types::id::{ProviderDomain, RoomUri};
use mimi_types::wire::Endpoint;
use tokio::sync::Mutex;

use crate::metrics::NotifyOutcome;
use crate::provider::{Provider, now_ms};

/// Most rows sent in one `/notify`.
pub const BATCH: usize = 64;
/// First retry delay.
const BASE_BACKOFF_MS: u64 = 500;
/// Longest retry delay.
const MAX_BACKOFF_MS: u64 = 60_000;

/// Backoff before attempt `attempts + 1`: exponential, capped, with up to 25% jitter from
/// `jitter` (a random number the caller supplies), at least the peer's `Retry-After`.
pub fn backoff_ms(attempts: u32, jitter: u64, retry_after_s: Option<u64>) -> u64 {
    let exp = BASE_BACKOFF_MS
        .saturating_mul(1u64 << attempts.min(16))
        .min(MAX_BACKOFF_MS);
    let with_jitter = exp + jitter % (exp / 4 + 1);
    with_jitter.max(retry_after_s.unwrap_or(0).saturating_mul(1000))
}

/// Whether a peer's answer to `/notify` refuses the messages for good, so that sending them
/// again can only be refused again (docs/decisions/0067): 400 (malformed), 403 (e.g. we are
/// not the room's hub), 404, 409, 410, 413 (too large: only for a single message, a batch is
/// split first), 415 and 422. Every other status is transient and retried with backoff:
/// 408, 421, 425, 429, every 5xx, and anything unexpected (401 and other statuses that a
/// configuration change on either side can cure).
pub fn is_permanent(status: StatusCode) -> bool {
    matches!(
        status.as_u16(),
        400 | 403 | 404 | 409 | 410 | 413 | 415 | 422
    )
}

fn jitter() -> u64 {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    u64::from_le_bytes(b)
}

/// How the providers' writers tell the delivery supervisor that rows were queued: the
/// destinations, and a wake-up that is never lost (a stored permit if the supervisor is busy).
#[derive(Debug, Default)]
pub struct Wakeups {
    destinations: std::sync::Mutex<HashSet<String>>,
    notify: tokio::sync::Notify,
}

impl Wakeups {
    /// Rows for these destinations were committed.
    pub fn wake<'a>(&self, destinations: impl IntoIterator<Item = &'a str>) {
        let mut set = self.destinations.lock().unwrap_or_else(|p| p.into_inner());
        let before = set.len();
        for d in destinations {
            if !set.contains(d) {
                set.insert(d.to_string());
            }
        }
        if set.len() > before {
            self.notify.notify_one();
        }
    }

    fn take(&self) -> HashSet<String> {
        std::mem::take(&mut *self.destinations.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// The destinations with a worker, and whether new rows came for it since it last found its
/// queue empty (so it looks again before it stops: no row waits for the sweep).
type Running = Arc<Mutex<HashMap<String, bool>>>;

/// How often the whole outbox is scanned for destinations whose retry came due.
const SWEEP: Duration = Duration::from_millis(250);

/// Run the delivery workers until `shutdown` fires: a supervisor starts one worker per
/// destination with queued rows, woken with the destinations of newly committed rows, and
/// by a periodic sweep of the whole outbox (retries coming due, rows queued before a
/// restart).
pub async fn run<S: Store>(
    provider: Arc<Provider<S>>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let running: Running = Arc::new(Mutex::new(HashMap::new()));
    let mut next_sweep = tokio::time::Instant::now();
    loop {
        let mut due = provider.outbox_ready.take();
        if tokio::time::Instant::now() >= next_sweep {
            next_sweep = tokio::time::Instant::now() + SWEEP;
            match provider.store.outbox_backlog().await {
                Ok(backlog) => due.extend(backlog.into_iter().map(|b| b.destination)),
                Err(e) => tracing::error!(error = %e, "reading the outbox backlog"),
            }
        }
        for dest in due {
            let mut set = running.lock().await;
            match set.get_mut(&dest) {
                Some(more) => *more = true,
                None => {
                    set.insert(dest.clone(), false);
                    let (provider, running) = (provider.clone(), running.clone());
                    tokio::spawn(async move {
                        loop {
                            drain(&provider, &dest).await;
                            let mut set = running.lock().await;
                            match set.get_mut(&dest) {
                                Some(more) if *more => *more = false,
                                _ => {
                                    set.remove(&dest);
                                    return;
                                }
                            }
                        }
                    });
                }
            }
        }
        tokio::select! {
            () = provider.outbox_ready.notify.notified() => {}
            () = tokio::time::sleep_until(next_sweep) => {}
            _ = shutdown.changed() => {
                // A stopping instance gives up the queues it sends at once, so that another
                // instance sharing the store takes them over without waiting for the
                // leases to expire.
                let destinations: Vec<String> = running.lock().await.keys().cloned().collect();
                for destination in destinations {
                    release_lease(&provider, &destination).await;
                }
                return;
            }
        }
    }
}

/// Rows read from a destination's queue at once; they go out as concurrent `/notify`
/// requests, one per room with at most [`BATCH`] rows each.
const FETCH: usize = 1024;

/// What became of one room's batch.
enum Sent {
    /// The peer took these rows.
    Delivered(Vec<i64>),
    /// Try these rows again later.
    Retry {
        ids: Vec<i64>,
        attempts: u32,
        why: String,
        retry_after: Option<u64>,
    },
    /// The peer refused these rows for good.
    Refused { ids: Vec<i64>, why: String },
}

/// Deliver a destination's due rows until its queue is empty or waiting for a retry.
///
/// The due rows are cut into one batch per room (consecutive rows of that room, in order,
/// at most [`BATCH`]) and the batches go out concurrently over the peer's connection: rooms
/// are independent, and each room's order is kept because its next rows are read only
/// after this batch was answered.
async fn drain<S: Store>(provider: &Provider<S>, destination: &str) {
    let Ok(peer) = ProviderDomain::parse(destination) else {
        tracing::error!(%destination, "outbox row for an invalid domain");
        return;
    };
    // After a batch was refused for good: its rows go one per request, up to this id, so
    // only the rows the peer refuses on their own become dead letters.
    let mut one_by_one_through: Option<i64> = None;
    loop {
        if !hold_lease(provider, destination).await {
            return;
        }
        let rows = match provider
            .store
            .outbox_due(destination, now_ms(), FETCH)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(%destination, error = %e, "reading the outbox");
                return;
            }
        };
        let Some(first) = rows.first() else {
            release_lease(provider, destination).await;
            return;
        };
        let one_by_one = one_by_one_through.is_some_and(|last| first.id <= last);
        if !one_by_one {
            one_by_one_through = None;
        }
        let batches = if one_by_one {
            vec![vec![first]]
        } else {
            per_room(&rows)
        };
        let sent = futures_util::future::join_all(
            batches
                .iter()
                .map(|batch| send_batch(provider, &peer, destination, batch)),
        )
        .await;
        let mut delivered = Vec::new();
        let mut retries = Vec::new();
        let mut dead = Vec::new();
        for (batch, outcome) in batches.iter().zip(sent) {
            match outcome {
                Sent::Delivered(ids) => delivered.extend(ids),
                Sent::Retry { .. } => retries.push(outcome),
                Sent::Refused { ids, why } if ids.len() > 1 => {
                    // One of them may be the culprit (or the batch too large): find out.
                    tracing::warn!(peer = %destination, room = %batch[0].room, messages = ids.len(), error = %why, "notify refused for good; resending one by one");
                    let last = ids.iter().copied().max();
                    one_by_one_through = one_by_one_through.max(last);
                }
                Sent::Refused { ids, why } => dead.push((batch[0].room.clone(), ids, why)),
            }
        }
        if !delivered.is_empty()
            && let Err(e) = provider.store.outbox_done(&delivered).await
        {
            tracing::error!(error = %e, "marking outbox rows done");
            return;
        }
        for (room, ids, why) in dead {
            if !dead_letter(provider, destination, &room, &ids, &why).await {
                return;
            }
        }
        if retries.is_empty() {
            continue;
        }
        for r in retries {
            let Sent::Retry {
                ids,
                attempts,
                why,
                retry_after,
            } = r
            else {
                continue;
            };
            let delay = backoff_ms(attempts, jitter(), retry_after);
            provider
                .metrics
                .notify(destination, NotifyOutcome::Retry, ids.len());
            tracing::warn!(peer = %destination, error = %why, retry_in_ms = delay, "notify failed");
            if let Err(e) = provider
                .store
                .outbox_retry(&ids, now_ms() + delay, &why)
                .await
            {
                tracing::error!(error = %e, "recording an outbox retry");
            }
        }
        return;
    }
}

/// How long an instance holds a destination's queue without renewing its lease (shared
/// storage, docs/decisions/0160): after its instance died, the queue waits at most this long
/// for another instance. Renewed before every read of the queue; a `/notify` that takes
/// longer may be sent again by the next holder (receivers dedupe).
const LEASE_MS: u64 = 15_000;

/// Whether this instance may send `destination`'s queue now: always with a store only this
/// process writes; with shared storage, if it took or renewed the destination's lease, so
/// that one instance at a time sends a queue, in order.
async fn hold_lease<S: Store>(provider: &Provider<S>, destination: &str) -> bool {
    if !provider.store.shared() {
        return true;
    }
    let now = now_ms();
    match provider
        .store
        .outbox_lease(destination, &provider.instance, now, now + LEASE_MS)
        .await
    {
        Ok(held) => held,
        Err(e) => {
            tracing::error!(%destination, error = %e, "taking the outbox lease");
            false
        }
    }
}

/// The queue is empty: give up its lease, so that the instance that queues the next row
/// sends it at once.
async fn release_lease<S: Store>(provider: &Provider<S>, destination: &str) {
    if provider.store.shared() {
        let now = now_ms();
        if let Err(e) = provider
            .store
            .outbox_lease(destination, &provider.instance, now, now)
            .await
        {
            tracing::warn!(%destination, error = %e, "giving up the outbox lease");
        }
    }
}

/// The rows cut into one batch per room: each room's rows in queue order, at most [`BATCH`]
/// of them, and none after a row of that room left out (a room's rows are never reordered).
fn per_room(rows: &[OutboxRow]) -> Vec<Vec<&OutboxRow>> {
    let mut batches: Vec<Vec<&OutboxRow>> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut full: HashSet<&str> = HashSet::new();
    for row in rows {
        let room = row.room.as_str();
        if full.contains(room) {
            continue;
        }
        let i = *index.entry(room).or_insert_with(|| {
            batches.push(Vec::new());
            batches.len() - 1
        });
        batches[i].push(row);
        if batches[i].len() == BATCH {
            full.insert(room);
        }
    }
    batches
}

/// POST one room's batch as one `/notify` (several concatenated FanoutMessages,
/// protocol-06 §5.5).
async fn send_batch<S: Store>(
    provider: &Provider<S>,
    peer: &ProviderDomain,
    destination: &str,
    batch: &[&OutboxRow],
) -> Sent {
    let ids: Vec<i64> = batch.iter().map(|r| r.id).collect();
    let attempts = batch.iter().map(|r| r.attempts).max().unwrap_or(0);
    let room = &batch[0].room;
    let Ok(room_uri) = RoomUri::parse(room) else {
        tracing::error!(%room, "outbox row for an invalid room");
        return Sent::Refused {
            ids,
            why: "invalid room URI".into(),
        };
    };
    let body: Vec<u8> = batch.iter().flat_map(|r| r.body.iter().copied()).collect();
    let started = std::time::Instant::now();
    let result = provider
        .client
        .post(peer, Endpoint::Notify, &room_uri.to_url_path(), body)
        .await;
    match result {
        // §5.5 specifies 201; any 2xx means the peer took the message (decision 0068).
        Ok(r) if r.status.is_success() => {
            tracing::debug!(peer = %destination, %room, messages = ids.len(), ms = started.elapsed().as_millis() as u64, "notified");
            provider
                .metrics
                .notify(destination, NotifyOutcome::Delivered, ids.len());
            Sent::Delivered(ids)
        }
        Ok(r) if is_permanent(r.status) => Sent::Refused {
            ids,
            why: format!("HTTP {}: {}", r.status, String::from_utf8_lossy(&r.body)),
        },
        Ok(r) => Sent::Retry {
            ids,
            attempts,
            why: format!("HTTP {}: {}", r.status, String::from_utf8_lossy(&r.body)),
            retry_after: r.retry_after,
        },
        Err(e) => Sent::Retry {
            ids,
            attempts,
            why: e.to_string(),
            retry_after: None,
        },
    }
}

/// Move rows the peer refused for good to the dead letters, count and log them. False if
/// the store failed (the worker stops; the rows stay queued and are retried later).
async fn dead_letter<S: Store>(
    provider: &Provider<S>,
    destination: &str,
    room: &str,
    ids: &[i64],
    why: &str,
) -> bool {
    match provider.store.outbox_dead_letter(ids, why, now_ms()).await {
        Ok(()) => {
            provider.metrics.notify_dead_letter(destination, ids.len());
            tracing::error!(peer = %destination, %room, rows = ?ids, error = %why, "notify refused for good: moved to the dead letters");
            true
        }
        Err(e) => {
            tracing::error!(peer = %destination, error = %e, "moving outbox rows to the dead letters");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{StatusCode, backoff_ms, is_permanent};

    #[test]
    fn permanent_and_transient_statuses() {
        for s in [400, 403, 404, 409, 410, 413, 415, 422] {
            assert!(
                is_permanent(StatusCode::from_u16(s).expect("status")),
                "{s}"
            );
        }
        for s in [
            200, 301, 401, 405, 408, 421, 425, 429, 500, 502, 503, 504, 599,
        ] {
            assert!(
                !is_permanent(StatusCode::from_u16(s).expect("status")),
                "{s}"
            );
        }
    }

    #[test]
    fn backoff_grows_caps_and_honours_retry_after() {
        assert!((500..=625).contains(&backoff_ms(0, 7, None)));
        assert!((1000..=1250).contains(&backoff_ms(1, 7, None)));
        assert!(backoff_ms(30, 0, None) <= 60_000 + 15_000);
        assert_eq!(backoff_ms(0, 0, Some(120)), 120_000);
    }
}
