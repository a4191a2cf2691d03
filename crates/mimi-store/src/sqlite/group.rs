//! Group commit: concurrent write operations share one transaction and one fsync.
//!
//! Every write operation takes the writer lock (FIFO), runs inside a `SAVEPOINT` of the
//! group's open transaction (begun with `BEGIN IMMEDIATE` by the first operation of the
//! group) and releases its savepoint, or rolls back to it on error, undoing only its own
//! statements. Then:
//!
//! - if no other writer is queued for the lock (or the group is full), it commits the group
//!   at once: its own work and that of every operation deferred to this group;
//! - else it *defers*: it lets the queued writers run their operations into the same
//!   transaction and queues for the lock again; when it gets it back, the group is either
//!   still open (it commits it) or already finished by another writer (it takes that
//!   outcome).
//!
//! So each operation's future resolves only after the `COMMIT` that made it durable (or
//! with the error that undid it): the [`Store`](crate::Store) contract holds (nothing is
//! acknowledged before it is durable), and under load many operations share one fsync. A
//! failed `COMMIT` fails every operation of the group, none of which was acknowledged.
//! Operations of one group run one after the other on one connection, so each sees the
//! effects of those before it, exactly as if they had committed one by one.
//!
//! The group's transaction is never left open while no writer holds or waits for the lock:
//! it would hold SQLite's write lock and block other processes on the file. A future
//! dropped midway is finished by a spawned task: its savepoint is rolled back and the group
//! committed (or, if it had deferred, the group committed if still open).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::sqlite::SqliteConnection;
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::{Tx, db_err};
use crate::error::{Result, StoreError};

/// Most operations in one group: bounds the latency of the first one.
const MAX_GROUP: usize = 256;
/// Failed groups remembered for the writers that deferred to them.
const FAILED_REMEMBERED: usize = 64;

/// The writer lock and the open group; clones share them.
#[derive(Clone, Default)]
pub(super) struct Writer {
    group: Arc<Mutex<Group>>,
    /// Writers queued for the lock.
    queued: Arc<AtomicUsize>,
}

/// The state behind the writer lock.
#[derive(Default)]
pub(super) struct Group {
    /// The open transaction, if a group is open.
    tx: Option<Tx>,
    /// The number of the open (or next) group.
    number: u64,
    /// Operations that completed in the open group (they wait for its commit).
    done: usize,
    /// Recent groups whose commit failed, with the error.
    failed: VecDeque<(u64, StoreError)>,
}

impl Group {
    /// Finish the open group: `COMMIT` (or, if `Err`, roll back) and remember a failure for
    /// the writers that deferred to it. The group's outcome.
    async fn finish(&mut self, rollback_with: Option<StoreError>) -> Result<()> {
        self.finish_with(rollback_with, "COMMIT").await
    }

    /// [`Group::finish`], committing with `commit` (`COMMIT`, or statements ending with it,
    /// in one round trip).
    async fn finish_with(
        &mut self,
        rollback_with: Option<StoreError>,
        commit: &'static str,
    ) -> Result<()> {
        let number = self.number;
        self.number += 1;
        self.done = 0;
        let Some(tx) = self.tx.take() else {
            return match rollback_with {
                Some(e) => Err(e),
                None => Ok(()),
            };
        };
        let outcome = match rollback_with {
            None => tx.finish_with(Ok(()), commit).await,
            Some(e) => tx.finish(Err(e)).await,
        };
        if let Err(e) = &outcome {
            if self.failed.len() == FAILED_REMEMBERED {
                self.failed.pop_front();
            }
            self.failed.push_back((number, e.clone()));
        }
        outcome
    }

    /// The outcome of a finished group.
    fn outcome_of(&self, number: u64) -> Result<()> {
        match self.failed.iter().find(|(n, _)| *n == number) {
            Some((_, e)) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

impl Writer {
    /// Take the writer lock (FIFO), counting this writer as queued meanwhile.
    async fn lock(&self) -> OwnedMutexGuard<Group> {
        self.queued.fetch_add(1, Ordering::AcqRel);
        let guard = self.group.clone().lock_owned().await;
        self.queued.fetch_sub(1, Ordering::AcqRel);
        guard
    }

    fn others_queued(&self) -> bool {
        self.queued.load(Ordering::Acquire) > 0
    }

    /// Start a write operation: the lock, the group's transaction (begun on `conn` if none
    /// is open), and the operation's savepoint (opened in the same round trip as the
    /// transaction, when this operation begins it).
    pub(super) async fn begin<F, Fut>(&self, conn: F) -> Result<WriteOp>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<sqlx::pool::PoolConnection<sqlx::Sqlite>>>,
    {
        self.start(conn, true).await
    }

    /// Start a write operation without its savepoint: the caller opens it (`SAVEPOINT op`)
    /// as the first statement of its own round trip and says so with
    /// [`WriteOp::savepoint_opened`].
    pub(super) async fn begin_bare<F, Fut>(&self, conn: F) -> Result<WriteOp>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<sqlx::pool::PoolConnection<sqlx::Sqlite>>>,
    {
        self.start(conn, false).await
    }

    async fn start<F, Fut>(&self, conn: F, with_savepoint: bool) -> Result<WriteOp>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<sqlx::pool::PoolConnection<sqlx::Sqlite>>>,
    {
        let mut guard = self.lock().await;
        let mut savepoint = false;
        if guard.tx.is_none() {
            let begin = if with_savepoint {
                "BEGIN IMMEDIATE; SAVEPOINT op"
            } else {
                "BEGIN IMMEDIATE"
            };
            guard.tx = Some(Tx::begin(conn().await?, begin).await?);
            savepoint = with_savepoint;
        }
        let mut op = WriteOp {
            writer: self.clone(),
            guard: Some(guard),
            savepoint,
            deferred_to: None,
        };
        if with_savepoint && !savepoint {
            op.open_savepoint().await?;
        }
        Ok(op)
    }

    /// The lock with no group open: for work outside the group commit (migrations).
    pub(super) async fn exclusive(&self) -> Result<OwnedMutexGuard<Group>> {
        let mut guard = self.lock().await;
        if guard.tx.is_some() {
            guard.finish(None).await?;
        }
        Ok(guard)
    }
}

/// One write operation in a group. [`WriteOp::finish`] makes its result durable.
pub(super) struct WriteOp {
    writer: Writer,
    /// The lock, while this operation runs or commits.
    guard: Option<OwnedMutexGuard<Group>>,
    /// Whether this operation's savepoint is open.
    savepoint: bool,
    /// The group this operation deferred its commit to.
    deferred_to: Option<u64>,
}

impl WriteOp {
    /// The group transaction's connection.
    pub(super) fn conn(&mut self) -> Result<&mut SqliteConnection> {
        self.guard
            .as_mut()
            .and_then(|g| g.tx.as_mut())
            .ok_or_else(|| StoreError::Database("write operation already finished".into()))?
            .conn()
    }

    /// Open this operation's savepoint. If that fails, the group's transaction is in an
    /// unknown state: the group ends with the error.
    async fn open_savepoint(&mut self) -> Result<()> {
        match sqlx::query("SAVEPOINT op").execute(self.conn()?).await {
            Ok(_) => {
                self.savepoint = true;
                Ok(())
            }
            Err(e) => Err(self.end_group(db_err(e)).await),
        }
    }

    /// Undo this operation's statements so far, its savepoint staying open, for a caller that
    /// goes on another way after its round trip failed. If that fails, the group's
    /// transaction is in an unknown state: the group ends with the error.
    pub(super) async fn rewind(&mut self) -> Result<()> {
        match sqlx::query("ROLLBACK TO op").execute(self.conn()?).await {
            Ok(_) => {
                self.savepoint = true;
                Ok(())
            }
            Err(e) => {
                self.savepoint = false;
                Err(self.end_group(db_err(e)).await)
            }
        }
    }

    /// End the group, rolled back, with `e` (the transaction is in an unknown state; no
    /// operation of the group was acknowledged yet): `e`, for the caller to return.
    async fn end_group(&mut self, e: StoreError) -> StoreError {
        if let Some(mut guard) = self.guard.take() {
            let _ = guard.finish(Some(e.clone())).await;
        }
        e
    }

    /// Record that the caller's own statements opened (`true`) or released (`false`) this
    /// operation's savepoint.
    pub(super) fn savepoint_opened(&mut self, open: bool) {
        self.savepoint = open;
    }

    /// Keep this operation's effects if `result` is `Ok`, undo them if `Err`; resolve once
    /// they are durable (or undone). A failed commit is this operation's error too. An
    /// operation whose savepoint is no longer open (the caller released it) has nothing to
    /// end; with `Err` it must have undone its statements itself.
    pub(super) async fn finish<T>(mut self, result: Result<T>) -> Result<T> {
        if result.is_ok() {
            let guard = self
                .guard
                .as_mut()
                .ok_or_else(|| StoreError::Database("write operation already finished".into()))?;
            if !self.writer.others_queued() || guard.done + 1 >= MAX_GROUP {
                // Commit at once, this operation's release and the group's commit in one
                // round trip.
                let commit = if self.savepoint {
                    "RELEASE op; COMMIT"
                } else {
                    "COMMIT"
                };
                self.savepoint = false;
                let mut guard = self.guard.take().ok_or_else(|| {
                    StoreError::Database("write operation already finished".into())
                })?;
                return guard.finish_with(None, commit).await.and(result);
            }
        }
        let ended = match (self.savepoint, &result) {
            (false, _) => Ok(()),
            (true, Ok(_)) => sqlx::query("RELEASE op")
                .execute(self.conn()?)
                .await
                .map(|_| ())
                .map_err(db_err),
            (true, Err(_)) => sqlx::query("ROLLBACK TO op; RELEASE op")
                .execute(self.conn()?)
                .await
                .map(|_| ())
                .map_err(db_err),
        };
        self.savepoint = false;
        let mut guard = self
            .guard
            .take()
            .ok_or_else(|| StoreError::Database("write operation already finished".into()))?;
        if let Err(e) = ended {
            // The transaction's state is unclear (SQLite rolls the whole transaction back by
            // itself after some errors, e.g. SQLITE_FULL): end the group, rolled back, with
            // the operation's own error if it had one. No operation of the group was
            // acknowledged yet; those that deferred to it get the error.
            let e = match result {
                Err(own) => own,
                Ok(_) => e,
            };
            let _ = guard.finish(Some(e.clone())).await;
            return Err(e);
        }
        let value = match result {
            Ok(v) => v,
            Err(e) => {
                if guard.done == 0 || !self.writer.others_queued() {
                    // Nothing of others waits in this group, or nobody comes to commit it.
                    guard.finish(None).await?;
                }
                return Err(e);
            }
        };
        guard.done += 1;
        if !self.writer.others_queued() || guard.done >= MAX_GROUP {
            return guard.finish(None).await.map(|()| value);
        }
        // Let the queued writers join this group; commit it when the lock comes back, unless
        // one of them did.
        let number = guard.number;
        self.deferred_to = Some(number);
        drop(guard);
        let mut guard = self.writer.lock().await;
        self.deferred_to = None;
        if guard.number == number {
            guard.finish(None).await.map(|()| value)
        } else {
            guard.outcome_of(number).map(|()| value)
        }
    }
}

impl Drop for WriteOp {
    fn drop(&mut self) {
        let guard = self.guard.take();
        let deferred_to = self.deferred_to.take();
        let savepoint = self.savepoint;
        if guard.is_none() && deferred_to.is_none() {
            return;
        }
        let writer = self.writer.clone();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime: dropping the group's transaction closes its connection, which rolls
            // back; nothing of the group was acknowledged.
            if let Some(mut guard) = guard {
                guard.tx.take();
            }
            return;
        };
        runtime.spawn(async move {
            let mut guard = match guard {
                Some(g) => g,
                None => writer.lock().await,
            };
            if let Some(number) = deferred_to
                && guard.number != number
            {
                return; // another writer finished that group
            }
            let mut failure = None;
            if savepoint && let Some(tx) = guard.tx.as_mut() {
                let undone = match tx.conn() {
                    Ok(c) => match sqlx::query("ROLLBACK TO op").execute(&mut *c).await {
                        Ok(_) => sqlx::query("RELEASE op")
                            .execute(&mut *c)
                            .await
                            .map(|_| ())
                            .map_err(db_err),
                        Err(e) => Err(db_err(e)),
                    },
                    Err(e) => Err(e),
                };
                failure = undone.err();
            }
            // Commit what others of the group did (or end it with the error): a writer that
            // deferred to it may be gone too, and an open group must not outlive the lock.
            let _ = guard.finish(failure).await;
        });
    }
}
