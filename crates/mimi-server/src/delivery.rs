//! Delivery workers: drain the transactional outbox, one worker per destination, strictly in
//! order. Consecutive rows of one room go out as one `/notify` (several concatenated
//! FanoutMessages, protocol-06 §5.5); a failure keeps the rows and retries with exponential
//! backoff and jitter, honouring `Retry-After`. The queue survives restarts, so nothing
//! acknowledged to a sender is lost: it is delivered at least once, and receivers dedupe.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

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
        let batch: Vec<&OutboxRow> = rows.iter().take_while(|r| r.room == room).collect();
        let ids: Vec<i64> = batch.iter().map(|r| r.id).collect();
        let attempts = batch.iter().map(|r| r.attempts).max().unwrap_or(0);
        let body: Vec<u8> = batch.iter().flat_map(|r| r.body.iter().copied()).collect();
        let Ok(room_uri) = RoomUri::parse(&room) else {
            tracing::error!(%room, "outbox row for an invalid room");
            let _ = provider.store.outbox_done(&ids).await;
            continue;
        };
        let started = std::time::Instant::now();
        let result = provider
            .client
            .post(&peer, Endpoint::Notify, &room_uri.to_url_path(), body)
            .await;
        match result {
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

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn backoff_grows_caps_and_honours_retry_after() {
        assert!((500..=625).contains(&backoff_ms(0, 7, None)));
        assert!((1000..=1250).contains(&backoff_ms(1, 7, None)));
        assert!(backoff_ms(30, 0, None) <= 60_000 + 15_000);
        assert_eq!(backoff_ms(0, 0, Some(120)), 120_000);
    }
}
