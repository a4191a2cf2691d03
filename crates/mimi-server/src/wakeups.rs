//! Wake-ups of waiting event streams: when deliveries to local clients are committed, the
//! streams (SSE and long polls) of exactly those clients read the store at once, instead of
//! polling it on a timer. An idle stream costs nothing; a delivered event reaches its stream
//! without a polling delay.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::Notify;

/// Entries kept before dead ones (no stream waiting any more) are pruned.
const PRUNE_AT: usize = 1024;

/// One wake-up per client with a waiting stream.
#[derive(Debug, Default)]
pub struct StreamWakeups {
    clients: Mutex<HashMap<String, Weak<Notify>>>,
}

impl StreamWakeups {
    /// The wake-up of `client`'s streams, shared by all of them; kept while one holds it.
    pub fn subscribe(&self, client: &str) -> Arc<Notify> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = clients.get(client).and_then(Weak::upgrade) {
            return n;
        }
        if clients.len() >= PRUNE_AT && clients.len().is_power_of_two() {
            clients.retain(|_, n| n.strong_count() > 0);
        }
        let n = Arc::new(Notify::new());
        clients.insert(client.to_string(), Arc::downgrade(&n));
        n
    }

    /// Anything may have been committed (another instance's notifications were missed):
    /// wake every waiting stream.
    pub fn wake_all(&self) {
        let clients_map = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        for n in clients_map.values().filter_map(Weak::upgrade) {
            n.notify_waiters();
        }
    }

    /// Deliveries to these clients were committed: wake their waiting streams.
    pub fn wake<'a>(&self, clients: impl IntoIterator<Item = &'a str>) {
        let clients_map = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        for c in clients {
            if let Some(n) = clients_map.get(c).and_then(Weak::upgrade) {
                n.notify_waiters();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::StreamWakeups;

    #[tokio::test]
    async fn a_wake_reaches_the_streams_of_that_client_only() {
        let w = StreamWakeups::default();
        let alice = w.subscribe("mimi://a.example/d/alice/1");
        let bob = w.subscribe("mimi://a.example/d/bob/1");
        {
            let alice_waits = alice.notified();
            let bob_waits = bob.notified();
            tokio::pin!(alice_waits, bob_waits);
            alice_waits.as_mut().enable();
            bob_waits.as_mut().enable();
            w.wake(["mimi://a.example/d/alice/1"]);
            tokio::time::timeout(std::time::Duration::from_secs(1), alice_waits)
                .await
                .expect("alice's stream woken");
            assert!(
                tokio::time::timeout(std::time::Duration::from_millis(50), bob_waits)
                    .await
                    .is_err(),
                "bob's stream must not wake"
            );
        }
        // Subscribers of one client share one wake-up; a dropped one is forgotten.
        assert!(std::sync::Arc::ptr_eq(
            &alice,
            &w.subscribe("mimi://a.example/d/alice/1")
        ));
        drop(bob);
        w.wake(["mimi://a.example/d/bob/1"]);
        let again = w.subscribe("mimi://a.example/d/bob/1");
        assert_eq!(std::sync::Arc::strong_count(&again), 1);
    }
}
