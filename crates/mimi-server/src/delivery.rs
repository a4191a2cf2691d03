//! Delivery workers: drain the transactional outbox, one worker per destination, strictly in
//! order. Consecutive rows of one room go out as one `/notify` (several concatenated
//! FanoutMessages, protocol-06 §5.5); a failure keeps the rows and retries with exponential
//! backoff and jitter, honouring `Retry-After`. The queue survives restarts, so nothing
//! acknowledged to a sender is lost: it is delivered at least once, and receivers dedupe.
//!
//! A *permanent* refusal ([`is_permanent`]: the peer will never take these messages) does not
//! block the queue: the rows of a refused batch are resent one by one, and a row refused on
//! its own goes to the dead letters (kept in storage for operators, counted in
//! `mimi_notify_dead_letters_total{peer}`, logged); the rows behind it go on
//! (docs/decisions/0067).

use std::collections::HashSet;
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

/// Run the delivery workers until `shutdown` fires: a supervisor starts one worker per
/// destination with queued rows, woken by new outbox rows or a periodic sweep.
pub async fn run<S: Store>(
    provider: Arc<Provider<S>>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let running: Arc<Mutex<HashSet<String>>> = Arc::new(Mutex::new(HashSet::new()));
    loop {
        match provider.store.outbox_backlog().await {
            Ok(backlog) => {
                for b in backlog {
                    let mut set = running.lock().await;
                    if set.insert(b.destination.clone()) {
                        let (provider, running, dest) =
                            (provider.clone(), running.clone(), b.destination.clone());
                        tokio::spawn(async move {
                            drain(&provider, &dest).await;
                            running.lock().await.remove(&dest);
                        });
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "reading the outbox backlog"),
        }
        tokio::select! {
            () = provider.outbox_ready.notified() => {}
            () = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Deliver a destination's due rows until its queue is empty or waiting for a retry.
async fn drain<S: Store>(provider: &Provider<S>, destination: &str) {
    let Ok(peer) = ProviderDomain::parse(destination) else {
        tracing::error!(%destination, "outbox row for an invalid domain");
        return;
    };
    // After a batch was refused for good: its rows go one per request, up to this id, so
    // only the rows the peer refuses on their own become dead letters.
    let mut one_by_one_through: Option<i64> = None;
    loop {
        let rows = match provider
            .store
            .outbox_due(destination, now_ms(), BATCH)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(%destination, error = %e, "reading the outbox");
                return;
            }
        };
        let Some(first) = rows.first() else { return };
        // One /notify carries consecutive rows of one room.
        let room = first.room.clone();
        let one_by_one = one_by_one_through.is_some_and(|last| first.id <= last);
        let batch: Vec<&OutboxRow> = if one_by_one {
            vec![first]
        } else {
            one_by_one_through = None;
            rows.iter().take_while(|r| r.room == room).collect()
        };
        let ids: Vec<i64> = batch.iter().map(|r| r.id).collect();
        let attempts = batch.iter().map(|r| r.attempts).max().unwrap_or(0);
        let body: Vec<u8> = batch.iter().flat_map(|r| r.body.iter().copied()).collect();
        let Ok(room_uri) = RoomUri::parse(&room) else {
            tracing::error!(%room, "outbox row for an invalid room");
            if !dead_letter(provider, destination, &room, &ids, "invalid room URI").await {
                return;
            }
            continue;
        };
        let started = std::time::Instant::now();
        let result = provider
            .client
            .post(&peer, Endpoint::Notify, &room_uri.to_url_path(), body)
            .await;
        match result {
            // §5.5 specifies 201; any 2xx means the peer took the message (decision 0068).
            Ok(r) if r.status.is_success() => {
                tracing::info!(peer = %destination, %room, messages = ids.len(), ms = started.elapsed().as_millis() as u64, "notified");
                provider
                    .metrics
                    .notify(destination, NotifyOutcome::Delivered, ids.len());
                if let Err(e) = provider.store.outbox_done(&ids).await {
                    tracing::error!(error = %e, "marking outbox rows done");
                    return;
                }
            }
            Ok(r) if is_permanent(r.status) => {
                let why = format!("HTTP {}: {}", r.status, String::from_utf8_lossy(&r.body));
                if ids.len() > 1 {
                    // One of them may be the culprit (or the batch too large): find out.
                    tracing::warn!(peer = %destination, %room, messages = ids.len(), error = %why, "notify refused for good; resending one by one");
                    one_by_one_through = ids.last().copied();
                    continue;
                }
                if !dead_letter(provider, destination, &room, &ids, &why).await {
                    return;
                }
            }
            other => {
                let (why, retry_after) = match other {
                    Ok(r) => (
                        format!("HTTP {}: {}", r.status, String::from_utf8_lossy(&r.body)),
                        r.retry_after,
                    ),
                    Err(e) => (e.to_string(), None),
                };
                let delay = backoff_ms(attempts, jitter(), retry_after);
                provider
                    .metrics
                    .notify(destination, NotifyOutcome::Retry, ids.len());
                tracing::warn!(peer = %destination, %room, error = %why, retry_in_ms = delay, "notify failed");
                if let Err(e) = provider
                    .store
                    .outbox_retry(&ids, now_ms() + delay, &why)
                    .await
                {
                    tracing::error!(error = %e, "recording an outbox retry");
                }
                return;
            }
        }
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
