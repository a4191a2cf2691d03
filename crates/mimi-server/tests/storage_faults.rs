//! The hub's database refuses a write (issue 7): locked by another writer past the busy
//! timeout, or the disk full. The submitting follower gets a clear retryable refusal (503),
//! nothing is stored anywhere (no event, no outbox row, no partial state), and the same
//! submission, retried once the database can be written again, is accepted and delivered
//! exactly once.

mod support;

use std::path::PathBuf;

use mimi_server::config::Config;
use mimi_server::hub_ops::HubOpError;
use mimi_store::Store;
use mimi_types::id::RoomUri;
use mimi_types::wire::{SubmitMessageRequest, SubmitOutcome};
use sqlx::Connection;
use support::{Net, three_party};

fn hub_database(net: &Net) -> PathBuf {
    Config::load(&net.nodes["a.example"].config_path)
        .expect("config")
        .database_path()
}

async fn hub_seq(net: &Net, room: &RoomUri) -> u64 {
    net.provider("a.example")
        .store
        .hub_room(room.as_str())
        .await
        .expect("store")
        .expect("hosted")
        .seq
}

/// Submit through c.example (cathy's provider) to the hub; `Ok` only for an acceptance.
async fn submit(net: &Net, room: &RoomUri, request: &SubmitMessageRequest) -> Result<(), String> {
    let c = net.provider("c.example").clone();
    match c.client_submit(room, request).await {
        Ok(r) if matches!(r.outcome, SubmitOutcome::Accepted { .. }) => Ok(()),
        Ok(r) => Err(format!("refused: {:?}", r.outcome)),
        Err(HubOpError::Refused { status, reason }) => Err(format!("{status} {reason}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Nothing of a refused submission is anywhere: the hub's sequence, its outbox and every
/// client's stream are as before.
async fn assert_nothing_stored(net: &Net, room: &RoomUri, seq: u64, events: &[(String, usize)]) {
    assert_eq!(hub_seq(net, room).await, seq, "the hub stored an event");
    assert!(
        net.provider("a.example")
            .store
            .outbox_backlog()
            .await
            .expect("backlog")
            .is_empty(),
        "the hub queued a delivery"
    );
    for (name, before) in events {
        let p = net.provider_of(name);
        let uri = net.clients[name].mimi.client_uri().clone();
        let now = p.events(&uri, 0, 10_000).await.expect("events").len();
        assert_eq!(now, *before, "{name}'s stream changed");
    }
}

async fn stream_lengths(net: &Net) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for name in ["alice", "bob", "cathy"] {
        let p = net.provider_of(name);
        let uri = net.clients[name].mimi.client_uri().clone();
        out.push((
            name.to_string(),
            p.events(&uri, 0, 10_000).await.expect("events").len(),
        ));
    }
    out
}

fn count(net: &Net, name: &str, text: &str) -> usize {
    net.texts(name).iter().filter(|t| *t == text).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_database_refuses_cleanly_and_the_retry_is_delivered_once() {
    let (mut net, room) = three_party().await;
    let request = net
        .client("cathy")
        .send_text(&room, [41; 16], "written once", None)
        .expect("send");
    let seq = hub_seq(&net, &room).await;
    let streams = stream_lengths(&net).await;

    // Another writer holds the hub database's write lock for longer than the busy timeout.
    let url = format!("sqlite://{}", hub_database(&net).display());
    let mut holder = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("connect");
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .expect("take the write lock");
    let refused = submit(&net, &room, &request).await;
    let why = refused.expect_err("a locked database cannot accept");
    assert!(why.starts_with("503"), "a retryable refusal: {why}");
    sqlx::query("ROLLBACK")
        .execute(&mut holder)
        .await
        .expect("release");
    holder.close().await.expect("close");
    assert_nothing_stored(&net, &room, seq, &streams).await;

    // The client retries the very same submission: accepted once, delivered once.
    submit(&net, &room, &request).await.expect("accepted");
    assert_eq!(hub_seq(&net, &room).await, seq + 1);
    net.pump(&room).await;
    assert_eq!(count(&net, "alice", "written once"), 1);
    assert_eq!(count(&net, "bob", "written once"), 1);
}

/// Mount a tmpfs of `bytes` over `dir`, keeping its files. `None` without the privilege to
/// mount (then the scenario cannot run here, and says so).
fn tmpfs_over(dir: &std::path::Path, bytes: u64) -> Option<Tmpfs> {
    let saved = dir.with_extension("saved");
    std::fs::rename(dir, &saved).ok()?;
    std::fs::create_dir(dir).ok()?;
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        std::fs::remove_dir(dir).ok()?;
        std::fs::rename(&saved, dir).ok()?;
        return None;
    }
    for entry in std::fs::read_dir(&saved).ok()?.flatten() {
        std::fs::copy(entry.path(), dir.join(entry.file_name())).ok()?;
    }
    Some(Tmpfs(dir.to_path_buf()))
}

/// A mounted tmpfs, unmounted on drop.
struct Tmpfs(PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Fill the file system of `dir` until a write fails; the filler file.
fn fill(dir: &std::path::Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).expect("filler");
    let chunk = vec![0u8; 4096];
    while f.write_all(&chunk).and_then(|()| f.sync_all()).is_ok() {}
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_cleanly_and_the_retry_is_delivered_once() {
    let (mut net, room) = three_party().await;
    // The hub's data directory on a small file system of its own.
    net.stop_node("a.example").await;
    let data = hub_database(&net).parent().expect("data dir").to_path_buf();
    let Some(_mount) = tmpfs_over(&data, 64 << 20) else {
        eprintln!("skipped: mounting a tmpfs needs root (CI runs as root)");
        return;
    };
    net.start_node("a.example").await;
    let request = net
        .client("cathy")
        .send_text(&room, [42; 16], "after the disk filled", None)
        .expect("send");
    let seq = hub_seq(&net, &room).await;
    let streams = stream_lengths(&net).await;

    let filler = fill(&data);
    let why = submit(&net, &room, &request)
        .await
        .expect_err("a full disk cannot accept");
    assert!(why.starts_with("503"), "a retryable refusal: {why}");
    std::fs::remove_file(&filler).expect("free the space");
    assert_nothing_stored(&net, &room, seq, &streams).await;

    submit(&net, &room, &request).await.expect("accepted");
    assert_eq!(hub_seq(&net, &room).await, seq + 1);
    net.pump(&room).await;
    assert_eq!(count(&net, "alice", "after the disk filled"), 1);
    assert_eq!(count(&net, "bob", "after the disk filled"), 1);
    net.stop_node("a.example").await;
}
