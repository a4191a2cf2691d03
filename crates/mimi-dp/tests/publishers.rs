//! Several publishers (docs/discovery.md §10.1): each has its own token and its own publisher
//! id, so the store's per-publisher rules keep them apart; only token hashes are kept.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::{StatusCode, header};
use common::*;
use mimi_dp::{DEFAULT_PUBLISHER, DpError, DpFiles, PUBLISHERS_FILE};
use mimi_lookup::UploadStatus;

#[tokio::test]
async fn two_publishers_under_one_index_are_both_returned_and_kept_apart() {
    let dir = tempfile::tempdir().unwrap();
    let state = open(dir.path());
    let a_token = state.files().add_publisher("a.example").unwrap();
    let b_token = state.files().add_publisher("b.example").unwrap();
    let s = secret(dir.path(), "+1 202 555 0101");
    let a_record = sealed(&s, "from a");
    let b_record = sealed(&s, "from b");
    store(&state, &a_token, &s, &a_record).await;
    store(&state, &b_token, &s, &b_record).await;
    assert_eq!(look_up(&state, &s).await, vec!["from a", "from b"]);

    // B cannot remove A's record; A can.
    let (status, resp) = upload(&state, &b_token, upload_body(&[], &[(&s, &a_record)])).await;
    assert_eq!(
        (status, resp.unwrap().removed),
        (StatusCode::OK, vec![false])
    );
    assert_eq!(look_up(&state, &s).await, vec!["from a", "from b"]);

    // A's per-publisher bound is its own: four more from A replace A's records only.
    for n in 0..4 {
        let (_, resp) = upload(
            &state,
            &a_token,
            upload_body(&[(&s, &sealed(&s, &format!("a{n}")))], &[]),
        )
        .await;
        let expected = if n < 3 {
            UploadStatus::Stored
        } else {
            UploadStatus::Replaced
        };
        assert_eq!(resp.unwrap().statuses, vec![expected]);
    }
    assert_eq!(
        look_up(&state, &s).await,
        vec!["from b", "a0", "a1", "a2", "a3"]
    );
    let (_, resp) = upload(&state, &a_token, upload_body(&[], &[(&s, &b_record)])).await;
    assert_eq!(resp.unwrap().removed, vec![false]);

    // Survives a crash under the same publishers.
    crash(state).await;
    let reopened = open(dir.path());
    let (_, resp) = upload(&reopened, &b_token, upload_body(&[], &[(&s, &b_record)])).await;
    assert_eq!(resp.unwrap().removed, vec![true]);
    assert_eq!(look_up(&reopened, &s).await, vec!["a0", "a1", "a2", "a3"]);
}

#[tokio::test]
async fn a_wrong_token_is_401_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = open(dir.path());
    let good = state.files().add_publisher("a.example").unwrap();
    let s = secret(dir.path(), "+1 202 555 0101");
    let body = upload_body(&[(&s, &sealed(&s, "x"))], &[]);
    let journal = state.journal_len().await;
    let mut wrong = good.clone().into_bytes();
    wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
    let wrong = String::from_utf8(wrong).unwrap();
    // The stored hash is not a token either.
    let file = std::fs::read_to_string(dir.path().join(PUBLISHERS_FILE)).unwrap();
    let hash = file
        .lines()
        .find_map(|l| l.strip_prefix("a.example "))
        .unwrap();
    for token in [wrong.as_str(), "", &good[..63], hash] {
        let auth = format!("Bearer {token}");
        let (status, h, _) = call(
            &state,
            "POST",
            "/discovery/v1/upload",
            &[CT, ("authorization", &auth)],
            body.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(h[header::WWW_AUTHENTICATE], "Bearer");
    }
    let (status, _, _) = call(&state, "POST", "/discovery/v1/upload", &[CT], body.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(state.record_count().await, 0);
    assert_eq!(state.journal_len().await, journal);
    assert!(look_up(&state, &s).await.is_empty());
    let (status, _) = upload(&state, &good, body).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_publisher_added_while_the_point_runs_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let state = open(dir.path());
    let s = secret(dir.path(), "+1 202 555 0101");
    // Another process (`mimi discovery publisher add`) adds it.
    let token = DpFiles::open(dir.path())
        .unwrap()
        .add_publisher("late.example")
        .unwrap();
    store(&state, &token, &s, &sealed(&s, "late")).await;
    assert_eq!(look_up(&state, &s).await, vec!["late"]);
}

#[test]
fn publishers_are_kept_as_names_and_token_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let files = DpFiles::open(dir.path()).unwrap();
    assert!(files.publishers().unwrap().is_empty());
    let default = files.publisher_token().unwrap();
    let a = files.add_publisher("a.example").unwrap();
    let b = files.add_publisher("b-2").unwrap();
    assert_eq!(a.len(), 64);
    assert_ne!(a, b);
    for name in ["a.example", DEFAULT_PUBLISHER] {
        assert!(
            matches!(
                files.add_publisher(name),
                Err(DpError::DuplicatePublisher(_))
            ),
            "{name}"
        );
    }
    let long = "x".repeat(65);
    for name in ["", "A.example", "a_b", "a b", "é", long.as_str()] {
        assert!(
            matches!(
                files.add_publisher(name),
                Err(DpError::InvalidPublisherName(_))
            ),
            "{name:?}"
        );
    }
    assert!(files.add_publisher(&"x".repeat(64)).is_ok());

    let listed = files.publishers().unwrap();
    let names: Vec<_> = listed.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names[..3], [DEFAULT_PUBLISHER, "a.example", "b-2"]);
    let sha = |t: &str| -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(t.as_bytes()).into()
    };
    assert_eq!(listed[0].token_sha256, sha(&default));
    assert_eq!(listed[1].token_sha256, sha(&a));
    let text = std::fs::read_to_string(dir.path().join(PUBLISHERS_FILE)).unwrap();
    assert!(!text.contains(&a) && !text.contains(&b), "{text}");
    assert!(text.contains(&hex::encode(sha(&a))));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(PUBLISHERS_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
