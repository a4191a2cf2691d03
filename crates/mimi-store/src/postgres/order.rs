//! The order of a room's hub writes in this process: first polled, first applied
//! ([`Store::commit_hub_submission`](crate::Store::commit_hub_submission), decision 0154).
//!
//! Each room with writes in flight has a FIFO lock (tokio's `Mutex` queues its waiters
//! fairly, and a waiter takes its place when its future is first polled). A write holds its
//! room's turn until its transaction has locked the room's row (then the database keeps the
//! order: the next write waits for that row lock, which is released at the commit), or, for
//! a room being created, until the commit. Rooms leave the map when no write holds or waits
//! for their lock, so it does not grow with the number of rooms ever written.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as SyncMutex, PoisonError};

use tokio::sync::{Mutex, OwnedMutexGuard};

/// The write queues of rooms with writes in flight; clones share them.
#[derive(Clone, Default)]
pub(super) struct RoomQueues {
    rooms: Arc<SyncMutex<HashMap<String, Queue>>>,
}

/// One room's lock and the number of writes holding or waiting for it.
struct Queue {
    lock: Arc<Mutex<()>>,
    users: usize,
}

/// A write's turn in its room: the next write in the room goes when it is dropped.
pub(super) struct Turn {
    // Fields drop in declaration order: the lock is handed on before the place is given up,
    // so a room never leaves the map while its lock is held.
    _guard: OwnedMutexGuard<()>,
    _place: Place,
}

/// A write's membership in its room's queue (counted in [`Queue::users`]).
struct Place {
    queues: RoomQueues,
    room: String,
}

impl RoomQueues {
    /// Wait for this write's turn in `room`. The place in the queue is taken on the first
    /// poll.
    pub(super) async fn turn(&self, room: &str) -> Turn {
        let (place, lock) = self.join(room);
        let guard = lock.lock_owned().await;
        Turn {
            _guard: guard,
            _place: place,
        }
    }

    fn join(&self, room: &str) -> (Place, Arc<Mutex<()>>) {
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        let queue = rooms.entry(room.to_string()).or_insert_with(|| Queue {
            lock: Arc::default(),
            users: 0,
        });
        queue.users += 1;
        let lock = queue.lock.clone();
        let place = Place {
            queues: self.clone(),
            room: room.to_string(),
        };
        (place, lock)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut rooms = self
            .queues
            .rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(queue) = rooms.get_mut(&self.room) {
            queue.users -= 1;
            if queue.users == 0 {
                rooms.remove(&self.room);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::{Future, poll_fn};
    use std::pin::{Pin, pin};
    use std::task::Poll;

    use super::*;

    /// Poll once: the output, if it finished.
    async fn poll_once<F: Future>(mut fut: Pin<&mut F>) -> Option<F::Output> {
        match poll_fn(move |cx| Poll::Ready(fut.as_mut().poll(cx))).await {
            Poll::Ready(output) => Some(output),
            Poll::Pending => None,
        }
    }

    #[tokio::test]
    async fn turns_in_polling_order_and_rooms_leave_the_map() {
        let queues = RoomQueues::default();
        let first = queues.turn("r").await;
        let mut second = pin!(queues.turn("r"));
        let mut third = pin!(queues.turn("r"));
        // Polled out of creation order: the third takes its place first.
        assert!(poll_once(third.as_mut()).await.is_none());
        assert!(poll_once(second.as_mut()).await.is_none());
        let other = queues.turn("other").await;
        assert_eq!(queues.len(), 2);
        drop(other);
        assert_eq!(queues.len(), 1);
        drop(first);
        let third = poll_once(third.as_mut()).await;
        assert!(third.is_some(), "the third was queued first");
        assert!(poll_once(second.as_mut()).await.is_none());
        drop(third);
        let second = poll_once(second.as_mut()).await;
        assert!(second.is_some());
        assert_eq!(queues.len(), 1);
        drop(second);
        assert_eq!(queues.len(), 0);
    }

    #[tokio::test]
    async fn cancelled_waiters_leave_no_trace() {
        let queues = RoomQueues::default();
        let held = queues.turn("r").await;
        {
            let mut waiting = pin!(queues.turn("r"));
            assert!(poll_once(waiting.as_mut()).await.is_none());
        }
        drop(held);
        assert_eq!(queues.len(), 0);
        let _again = queues.turn("r").await;
        assert_eq!(queues.len(), 1);
    }
}
