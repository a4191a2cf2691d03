//! The store suite against SQLite, in memory and on disk, plus what only a file can show:
//! durability across a reopen, a full disk, a read-only database, a damaged file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod suite;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use mimi_store::{SqliteOptions, SqliteStore, Store, StoreError};

async fn memory() -> SqliteStore {
    SqliteStore::open_in_memory().await.unwrap()
}

/// A temporary directory handing out fresh database files.
struct Disk {
    dir: tempfile::TempDir,
    next: AtomicUsize,
}

impl Disk {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            next: AtomicUsize::new(0),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    async fn fresh(&self) -> SqliteStore {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        SqliteStore::open(&self.path(&format!("store-{n}.db")))
            .await
            .unwrap()
    }
}

/// One test per suite function per backend.
macro_rules! suite {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::suite::$module::$name(&crate::memory).await;
                }
            )*
        }
        mod disk {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let disk = crate::Disk::new();
                    crate::suite::$module::$name(&async || disk.fresh().await).await;
                }
            )*
        }
    };
}

suite::every_test!(suite);

// ---- SQLite only ------------------------------------------------------------------------

#[tokio::test]
async fn durable_settings() {
    let disk = Disk::new();
    let s = disk.fresh().await;
    let settings = s.settings().await.unwrap();
    assert_eq!(settings.journal_mode, "wal");
    assert!(settings.synchronous_full);
    assert!(settings.foreign_keys);
    assert_eq!(settings.busy_timeout_ms, 5_000);
    s.ping().await.unwrap();

    let m = memory().await;
    let settings = m.settings().await.unwrap();
    assert!(settings.foreign_keys);
    assert_eq!(settings.journal_mode, "memory");
}

#[tokio::test]
async fn reopen_keeps_everything() {
    let disk = Disk::new();
    let path = disk.path("durable.db");
    let s = SqliteStore::open(&path).await.unwrap();
    suite::durability::populate(&s).await;
    s.close().await;
    assert!(matches!(s.ping().await, Err(StoreError::Closed)));

    // Opening runs the migrations again: a no-op on a current schema.
    let s = SqliteStore::open(&path).await.unwrap();
    suite::durability::verify_then_use(&s).await;
    s.close().await;
    let s = SqliteStore::open(&path).await.unwrap();
    assert_eq!(
        s.hub_room(&suite::room("clubhouse"))
            .await
            .unwrap()
            .unwrap()
            .seq,
        3
    );
}

#[tokio::test]
async fn reopen_without_close_keeps_committed_writes() {
    // Dropping every handle without `close` (a crash of the process, short of the power)
    // loses nothing committed: the WAL is replayed on the next open.
    let disk = Disk::new();
    let path = disk.path("crash.db");
    {
        let s = SqliteStore::open(&path).await.unwrap();
        suite::durability::populate(&s).await;
    }
    let s = SqliteStore::open(&path).await.unwrap();
    suite::durability::verify(&s).await;
}

/// The submission of [`big_event`] as an accepted message.
fn big_submission(seq: u64) -> mimi_store::HubSubmission {
    mimi_store::HubSubmission {
        room: suite::room("clubhouse"),
        message_hash: [0xCD; 32],
        from_domain: "b.example".into(),
        sending_uri: "mimi://b.example/u/bob".into(),
        seq,
        response: b"accepted".to_vec(),
        accepted_ms: 1_000,
    }
}

/// A hub event too big for the remaining space.
fn big_event(seq: u64) -> mimi_store::HubEvent {
    let r = suite::room("clubhouse");
    let mut e = suite::event(&r, seq, &["b.example"], &[&suite::client_uri("alice", 1)]);
    e.outbox[0].body = vec![0xAB; 2 << 20];
    e
}

#[tokio::test]
async fn full_disk_fails_cleanly() {
    let disk = Disk::new();
    let path = disk.path("full.db");
    let s = SqliteStore::open(&path).await.unwrap();
    suite::durability::populate(&s).await;
    let pages = s.settings().await.unwrap().page_count;
    s.close().await;

    // The same database, capped at its current size: as if the disk were full.
    let capped = SqliteOptions {
        max_page_count: Some(pages),
        ..SqliteOptions::default()
    };
    let s = SqliteStore::open_with(&path, &capped).await.unwrap();
    assert_eq!(s.settings().await.unwrap().max_page_count, pages);
    let err = s.commit_hub_event(&big_event(2)).await.unwrap_err();
    assert!(matches!(err, StoreError::Full(_)), "{err:?}");
    assert!(err.is_retryable());
    // The failed event left nothing; the handle still reads (its connections are clean).
    suite::durability::verify(&s).await;
    for _ in 0..3 {
        let err = s.commit_hub_event(&big_event(2)).await.unwrap_err();
        assert!(matches!(err, StoreError::Full(_)), "{err:?}");
    }
    // A message with its submission (one query, decision 0158) fails the same way, and
    // leaves no submission behind.
    for _ in 0..3 {
        let err = s
            .commit_hub_submission(&big_event(2), &big_submission(2), 0)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Full(_)), "{err:?}");
        let r = suite::room("clubhouse");
        assert_eq!(s.hub_submission(&r, &[0xCD; 32]).await.unwrap(), None);
    }
    suite::durability::verify(&s).await;
    s.close().await;

    // Space again: the same event goes through, and everything before it is intact.
    let s = SqliteStore::open(&path).await.unwrap();
    suite::durability::verify(&s).await;
    s.commit_hub_event(&big_event(2)).await.unwrap();
    assert_eq!(
        s.outbox_due("b.example", u64::MAX, 10).await.unwrap().len(),
        2
    );
}

#[tokio::test]
async fn read_only_database_fails_cleanly() {
    let disk = Disk::new();
    let path = disk.path("ro.db");
    let s = SqliteStore::open(&path).await.unwrap();
    suite::durability::populate(&s).await;
    s.close().await;

    let read_only = SqliteOptions {
        read_only: true,
        ..SqliteOptions::default()
    };
    let s = SqliteStore::open_with(&path, &read_only).await.unwrap();
    suite::durability::verify(&s).await;
    let err = s.commit_hub_event(&big_event(2)).await.unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly(_)), "{err:?}");
    let err = s
        .commit_hub_submission(&big_event(2), &big_submission(2), 0)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly(_)), "{err:?}");
    let err = s.create_user(&suite::new_user("zed")).await.unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly(_)), "{err:?}");
    suite::durability::verify(&s).await;
    s.close().await;

    let s = SqliteStore::open(&path).await.unwrap();
    suite::durability::verify_then_use(&s).await;
}

#[tokio::test]
async fn read_only_needs_a_current_schema() {
    let disk = Disk::new();
    let path = disk.path("empty.db");
    // An existing SQLite database without our schema.
    let plain = SqliteOptions {
        read_only: true,
        ..SqliteOptions::default()
    };
    {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool};
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let pool = SqlitePool::connect_with(options).await.unwrap();
        sqlx::query("CREATE TABLE other (x INTEGER)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let err = SqliteStore::open_with(&path, &plain).await.unwrap_err();
    assert!(matches!(err, StoreError::Migration(_)), "{err:?}");
}

#[tokio::test]
async fn damaged_file_is_corrupt() {
    let disk = Disk::new();
    let path = disk.path("garbage.db");
    std::fs::write(&path, "this is not a database, just text. ".repeat(200)).unwrap();
    let err = SqliteStore::open(&path).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn missing_directory_is_an_io_error() {
    let err = SqliteStore::open(Path::new("/nonexistent-dir-mimi-store/x/store.db"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Io(_)), "{err:?}");
}

#[tokio::test]
async fn futures_are_send() {
    fn send<T: Send>(_: &T) {}
    let s = memory().await;
    let accept = |_: &[u8]| true;
    send(&s.claim_key_packages("u", 0, &accept));
    send(&s.commit_hub_event(&suite::event("r", 0, &[], &[])));
    send(&s.record_notify(&suite::notify("r", 0, "", &[])));
    send(&s.outbox_due("d", 0, 1));
}

/// Group commit (docs/decisions/0150): many concurrent writes share transactions, yet each
/// one stands or falls on its own — a refused write undoes only itself — and every write
/// that was acknowledged is there after a reopen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_commit_in_groups_each_on_its_own() {
    let disk = Disk::new();
    let path = disk.path("group.db");
    let s = SqliteStore::open(&path).await.unwrap();
    s.create_user(&suite::new_user("taken")).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            // Every fourth write conflicts with the stored user and must change nothing.
            let name = if i % 4 == 0 {
                "taken".to_string()
            } else {
                format!("user{i}")
            };
            (i, s.create_user(&suite::new_user(&name)).await)
        }));
    }
    let mut acknowledged = Vec::new();
    for t in tasks {
        let (i, r) = t.await.unwrap();
        if i % 4 == 0 {
            assert!(matches!(r, Err(StoreError::Conflict(_))), "{i}: {r:?}");
        } else {
            r.unwrap();
            acknowledged.push(i);
        }
    }
    assert_eq!(acknowledged.len(), 150);
    s.close().await;
    let s = SqliteStore::open(&path).await.unwrap();
    for i in acknowledged {
        assert!(
            s.user_by_name(&format!("user{i}")).await.unwrap().is_some(),
            "user{i} was acknowledged but is gone"
        );
    }
    assert_eq!(s.counts().await.unwrap().users, 151);
}

/// Writes whose futures are dropped midway (a client that went away) never leave the group's
/// transaction open: later writes go through, another process can take the write lock, and
/// every write that returned Ok survives a reopen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_writes_leave_no_open_transaction() {
    let disk = Disk::new();
    let path = disk.path("cancel.db");
    let s = SqliteStore::open(&path).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..300u64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let name = format!("user{i}");
            // Some give up after a few microseconds, at whatever point they reached.
            let budget = std::time::Duration::from_micros(20 * (i % 10));
            let r = if i % 3 == 0 {
                tokio::time::timeout(budget, s.create_user(&suite::new_user(&name)))
                    .await
                    .ok()
            } else {
                Some(s.create_user(&suite::new_user(&name)).await)
            };
            (name, r)
        }));
    }
    let mut acknowledged = Vec::new();
    for t in tasks {
        let (name, r) = t.await.unwrap();
        if let Some(r) = r {
            r.unwrap();
            acknowledged.push(name);
        }
    }
    assert!(acknowledged.len() >= 200);
    // A write after the storm goes through at once.
    s.create_user(&suite::new_user("after")).await.unwrap();
    // Another connection (as another process would) gets the write lock: nothing holds it.
    let other = SqliteStore::open_with(
        &path,
        &SqliteOptions {
            busy_timeout: std::time::Duration::from_secs(2),
            ..SqliteOptions::default()
        },
    )
    .await
    .unwrap();
    other
        .create_user(&suite::new_user("other-process"))
        .await
        .unwrap();
    other.close().await;
    s.close().await;
    let s = SqliteStore::open(&path).await.unwrap();
    for name in acknowledged {
        assert!(
            s.user_by_name(&name).await.unwrap().is_some(),
            "{name} is gone"
        );
    }
    assert!(s.user_by_name("after").await.unwrap().is_some());
}
