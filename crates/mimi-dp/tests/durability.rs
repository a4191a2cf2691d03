//! The journal (docs/decisions/0130): acknowledged uploads survive a crash, replay rebuilds the
//! very store that was live, torn tails are dropped, damage before them is an error,
//! compaction keeps everything, and nothing on disk holds an SII.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::*;
use mimi_dp::{DpError, DpFiles, DpOptions, DpState, JOURNAL_FILE, OLD_JOURNAL_FILE, STORE_FILE};
use mimi_lookup::{MemoryStore, PublisherId, UploadStatus};

#[tokio::test]
async fn acknowledged_uploads_survive_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let state = open(dir.path());
    let token = default_token(&state);
    let empty = std::fs::read(dir.path().join(STORE_FILE)).unwrap();
    let siis = ["+1 202 555 0101", "+1 202 555 0102", "carol@c.example"];
    let secrets: Vec<_> = siis.iter().map(|s| secret(dir.path(), s)).collect();
    for (s, sii) in secrets.iter().zip(siis) {
        store(
            &state,
            &token,
            s,
            &sealed(s, &format!("assertion for {sii}")),
        )
        .await;
    }
    let live = state.snapshot().await;
    crash(state).await;
    // Only the journal holds them: the snapshot is still the empty one of the first start.
    assert_eq!(std::fs::read(dir.path().join(STORE_FILE)).unwrap(), empty);
    assert!(
        std::fs::metadata(dir.path().join(JOURNAL_FILE))
            .unwrap()
            .len()
            > 3 * 100
    );

    let reopened = open(dir.path());
    for (s, sii) in secrets.iter().zip(siis) {
        assert_eq!(
            look_up(&reopened, s).await,
            vec![format!("assertion for {sii}")]
        );
    }
    assert_eq!(reopened.snapshot().await, live);
    // Compacted at start: the new snapshot is the live store, the journal is empty again.
    assert_eq!(std::fs::read(dir.path().join(STORE_FILE)).unwrap(), live);
    assert_eq!(reopened.journal_len().await, 64);
}

#[tokio::test]
async fn replay_rebuilds_the_live_store_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let state = open(dir.path());
    let default = default_token(&state);
    let other = state.files().add_publisher("b.example").unwrap();
    let a = secret(dir.path(), "+1 202 555 0101");
    let b = secret(dir.path(), "bob@b.example");

    // Five from one publisher under one index: the fifth replaces the oldest.
    let mut mine = Vec::new();
    for n in 0..5 {
        let r = sealed(&a, &format!("record {n}"));
        let (status, resp) = upload(&state, &default, upload_body(&[(&a, &r)], &[])).await;
        assert_eq!(status, StatusCode::OK);
        let expected = if n < 4 {
            UploadStatus::Stored
        } else {
            UploadStatus::Replaced
        };
        assert_eq!(resp.unwrap().statuses, vec![expected]);
        mine.push(r);
    }
    // Another publisher's record beside them, then a duplicate (refreshing nothing: another
    // publisher's), a re-upload refreshing the expiry, a removal, and one refused.
    let theirs = sealed(&a, "theirs");
    store(&state, &other, &a, &theirs).await;
    let (_, resp) = upload(&state, &other, upload_body(&[(&a, &mine[1])], &[])).await;
    assert_eq!(resp.unwrap().statuses, vec![UploadStatus::Duplicate]);
    let (_, resp) = upload(&state, &default, upload_body(&[(&a, &mine[2])], &[])).await;
    assert_eq!(resp.unwrap().statuses, vec![UploadStatus::Duplicate]);
    let rb = sealed(&b, "bob");
    let (_, resp) = upload(&state, &other, upload_body(&[(&b, &rb)], &[(&a, &mine[3])])).await;
    let resp = resp.unwrap();
    assert_eq!(
        (resp.statuses, resp.removed),
        (vec![UploadStatus::Stored], vec![false])
    );
    let (_, resp) = upload(&state, &default, upload_body(&[], &[(&a, &mine[3])])).await;
    assert_eq!(resp.unwrap().removed, vec![true]);

    let live = state.snapshot().await;
    crash(state).await;
    let reopened = open(dir.path());
    assert_eq!(reopened.snapshot().await, live);
    assert_eq!(
        look_up(&reopened, &a).await,
        vec!["record 1", "record 2", "record 4", "theirs"]
    );
    assert_eq!(look_up(&reopened, &b).await, vec!["bob"]);
}

#[tokio::test]
async fn a_torn_last_record_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let state = open(dir.path());
    let token = default_token(&state);
    let a = secret(dir.path(), "+1 202 555 0101");
    let b = secret(dir.path(), "+1 202 555 0102");
    store(&state, &token, &a, &sealed(&a, "first")).await;
    let before_second = state.journal_len().await;
    store(&state, &token, &b, &sealed(&b, "second")).await;
    crash(state).await;

    // A crash in the middle of the second append: part of it reached the disk.
    let path = dir.path().join(JOURNAL_FILE);
    let full = std::fs::read(&path).unwrap();
    for cut in [before_second as usize + 3, full.len() - 1] {
        std::fs::write(&path, &full[..cut]).unwrap();
        let reopened = open(dir.path());
        assert_eq!(look_up(&reopened, &a).await, vec!["first"]);
        assert!(look_up(&reopened, &b).await.is_empty());
        assert_eq!(reopened.journal_len().await, 64);
        crash(reopened).await;
        // Put the uncompacted state back for the next cut.
        std::fs::write(dir.path().join(STORE_FILE), MemoryStore::new().snapshot()).unwrap();
    }
}

#[tokio::test]
async fn damage_before_the_last_record_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let state = open(dir.path());
    let token = default_token(&state);
    for sii in ["+1 202 555 0101", "+1 202 555 0102"] {
        let s = secret(dir.path(), sii);
        store(&state, &token, &s, &sealed(&s, sii)).await;
    }
    crash(state).await;
    let path = dir.path().join(JOURNAL_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[64 + 40] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let err = DpState::open(DpFiles::open(dir.path()).unwrap(), &DpOptions::default()).unwrap_err();
    assert!(matches!(err, DpError::Corrupt { .. }), "{err}");
    // The journal is left as it was, for the operator.
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[tokio::test]
async fn a_journal_that_does_not_continue_the_snapshot_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let state = open(dir.path());
    let token = default_token(&state);
    let a = secret(dir.path(), "+1 202 555 0101");
    store(&state, &token, &a, &sealed(&a, "first")).await;
    crash(state).await;
    // store.cbor replaced by another copy (a backup of another point, say).
    let mut other = MemoryStore::new();
    mimi_lookup::IndexStore::put(
        &mut other,
        &PublisherId::new(b"x".to_vec()).unwrap(),
        *a.index(),
        sealed(&a, "other"),
        now() + 60,
        now(),
    )
    .unwrap();
    std::fs::write(dir.path().join(STORE_FILE), other.snapshot()).unwrap();
    let err = DpState::open(DpFiles::open(dir.path()).unwrap(), &DpOptions::default()).unwrap_err();
    assert!(matches!(err, DpError::Corrupt { .. }), "{err}");
}

#[tokio::test]
async fn compaction_when_the_journal_grows_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let options = DpOptions {
        journal_max_bytes: 1,
        ..DpOptions::default()
    };
    let state = open_with(dir.path(), &options);
    let token = default_token(&state);
    let mut secrets = Vec::new();
    for n in 0..20 {
        let sii = format!("+1 202 555 01{n:02}");
        let s = secret(dir.path(), &sii);
        store(&state, &token, &s, &sealed(&s, &sii)).await;
        secrets.push((s, sii));
    }
    // Each upload started a compaction (or found one running); wait for the last.
    state.compact().await.unwrap();
    let live = state.snapshot().await;
    assert_eq!(std::fs::read(dir.path().join(STORE_FILE)).unwrap(), live);
    assert_eq!(state.journal_len().await, 64);
    assert!(!dir.path().join(OLD_JOURNAL_FILE).exists());
    crash(state).await;
    let reopened = open(dir.path());
    assert_eq!(reopened.snapshot().await, live);
    for (s, sii) in &secrets {
        assert_eq!(look_up(&reopened, s).await, vec![sii.clone()]);
    }
}

#[tokio::test]
async fn a_graceful_stop_compacts() {
    let dir = tempfile::tempdir().unwrap();
    let state = open(dir.path());
    let token = default_token(&state);
    let a = secret(dir.path(), "+1 202 555 0101");
    store(&state, &token, &a, &sealed(&a, "kept")).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(mimi_dp::serve(listener, state.clone(), async move {
        let _ = stopped.await;
    }));
    stop.send(()).unwrap();
    served.await.unwrap().unwrap();
    assert_eq!(
        std::fs::read(dir.path().join(STORE_FILE)).unwrap(),
        state.snapshot().await
    );
    assert_eq!(state.journal_len().await, 64);
}

#[tokio::test]
async fn one_point_per_directory() {
    let dir = tempfile::tempdir().unwrap();
    let _state = open(dir.path());
    let err = DpState::open(DpFiles::open(dir.path()).unwrap(), &DpOptions::default()).unwrap_err();
    assert!(matches!(err, DpError::InUse { .. }), "{err}");
}

#[tokio::test]
async fn a_directory_from_before_the_journal_keeps_its_records_and_their_owner() {
    let dir = tempfile::tempdir().unwrap();
    let files = DpFiles::open(dir.path()).unwrap();
    let token = files.publisher_token().unwrap();
    let a = secret(dir.path(), "+1 202 555 0101");
    let record = sealed(&a, "old");
    let mut legacy = MemoryStore::new();
    mimi_lookup::IndexStore::put(
        &mut legacy,
        &PublisherId::new(b"publisher".to_vec()).unwrap(),
        *a.index(),
        record.clone(),
        now() + 3600,
        now(),
    )
    .unwrap();
    files.save_store(&legacy.snapshot()).unwrap();

    let state = open(dir.path());
    assert_eq!(look_up(&state, &a).await, vec!["old"]);
    // The token of `publisher-token` is publisher `default` now, and owns the old record.
    let (_, resp) = upload(&state, &token, upload_body(&[], &[(&a, &record)])).await;
    assert_eq!(resp.unwrap().removed, vec![true]);
    assert!(look_up(&state, &a).await.is_empty());
}

#[tokio::test]
async fn no_file_of_the_point_holds_an_sii() {
    let dir = tempfile::tempdir().unwrap();
    let options = DpOptions {
        journal_max_bytes: 4096,
        ..DpOptions::default()
    };
    let state = open_with(dir.path(), &options);
    let token = default_token(&state);
    let other = state.files().add_publisher("authority-2").unwrap();
    let phone = "+1 202 555 0101";
    let email = "Bob@B.Example";
    for (sii, token) in [(phone, &token), (email, &other)] {
        let s = secret(dir.path(), sii);
        // What a real record seals: an assertion naming the SII.
        let normalized = mimi_types::id::ConnectionId::parse(sii)
            .unwrap()
            .to_string();
        store(
            &state,
            token,
            &s,
            &sealed(&s, &format!("{sii} {normalized}")),
        )
        .await;
    }
    let check = |when: &str| {
        let files = files_in(dir.path());
        assert!(files.iter().any(|p| p.ends_with(JOURNAL_FILE)), "{files:?}");
        assert!(files.iter().any(|p| p.ends_with(STORE_FILE)), "{files:?}");
        for f in files {
            let bytes = std::fs::read(&f).unwrap().to_ascii_lowercase();
            for needle in ["12025550101", "2025550101", "202 555 0101", "bob@b.example"] {
                assert!(
                    !contains(&bytes, needle.as_bytes()),
                    "{when}: {} holds {needle}",
                    f.display()
                );
            }
        }
    };
    check("journaled");
    crash(state).await;
    let reopened = open(dir.path());
    check("compacted");
    drop(reopened);
}
