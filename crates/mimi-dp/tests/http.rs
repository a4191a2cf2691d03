//! The HTTP binding, in process: status codes, rate limiting, upload and durability.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use axum::http::{StatusCode, header};
use common::{CT, call};
use mimi_dp::{DpFiles, DpOptions, DpState, STORE_FILE};
use mimi_lookup::decode_key_info;
use mimi_lookup::rand_core::OsRng;
use mimi_lookup::{
    Evaluation, LookupRequest, LookupResponse, RatePolicy, UploadEntry, UploadRequest,
    UploadResponse, blind, finalize,
};
use mimi_types::id::ConnectionId;

fn open(dir: &std::path::Path, rate: RatePolicy) -> Arc<DpState> {
    let options = DpOptions {
        rate,
        ..DpOptions::default()
    };
    Arc::new(DpState::open(DpFiles::open(dir).unwrap(), &options).unwrap())
}

#[tokio::test]
async fn evaluate_upload_lookup_and_reload() {
    let dir = tempfile::tempdir().unwrap();
    let state = open(dir.path(), RatePolicy::client_default());
    let (status, h, body) = call(&state, "GET", "/discovery/v1/key", &[], vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "application/cbor");
    let (_, public) = decode_key_info(&body).unwrap();

    let sii = ConnectionId::parse("+1 202 555 0101").unwrap();
    let (st, query) = blind(&public, &sii, &mut OsRng).unwrap();
    let (status, _, body) = call(
        &state,
        "POST",
        "/discovery/v1/evaluate",
        &[CT],
        query.encode(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let secret = finalize(st, &Evaluation::decode(&body).unwrap(), &public).unwrap();
    let record = secret.seal(b"an assertion", &mut OsRng).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let upload = UploadRequest::new(
        vec![UploadEntry {
            index: *secret.index(),
            expires_at: now + 3600,
            record,
        }],
        vec![],
    )
    .unwrap()
    .encode();

    let (status, h, _) = call(
        &state,
        "POST",
        "/discovery/v1/upload",
        &[CT],
        upload.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(h.contains_key(header::WWW_AUTHENTICATE));
    let token = state.files().publisher_token().unwrap();
    let auth = format!("Bearer {token}");
    let (status, _, body) = call(
        &state,
        "POST",
        "/discovery/v1/upload",
        &[CT, ("authorization", &auth)],
        upload,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(UploadResponse::decode(&body).unwrap().statuses[0].is_stored());
    assert!(dir.path().join(STORE_FILE).exists());

    let lookup = LookupRequest {
        index: *secret.index(),
    }
    .encode();
    // One point per directory: the first lets go of it.
    drop(state);
    let reopened = open(dir.path(), RatePolicy::client_default());
    let (status, _, body) = call(&reopened, "POST", "/discovery/v1/lookup", &[CT], lookup).await;
    assert_eq!(status, StatusCode::OK);
    let (opened, failed) = secret.open_all(&LookupResponse::decode(&body).unwrap());
    assert_eq!((opened, failed), (vec![b"an assertion".to_vec()], 0));
}

#[tokio::test]
async fn refusals_are_precise() {
    let dir = tempfile::tempdir().unwrap();
    let state = open(dir.path(), RatePolicy::new(1, 60_000));
    let (_, _, body) = call(&state, "GET", "/discovery/v1/key", &[], vec![]).await;
    let (_, public) = decode_key_info(&body).unwrap();
    let sii = ConnectionId::parse("bob@b.example").unwrap();
    let (_, query) = blind(&public, &sii, &mut OsRng).unwrap();

    let (status, _, _) = call(
        &state,
        "POST",
        "/discovery/v1/evaluate",
        &[],
        query.encode(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _, _) = call(
        &state,
        "POST",
        "/discovery/v1/evaluate",
        &[CT],
        vec![0xff, 0],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = call(&state, "POST", "/discovery/v1/lookup", &[CT], vec![]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let big = vec![0u8; (1 << 20) + 1];
    let (status, _, _) = call(&state, "POST", "/discovery/v1/lookup", &[CT], big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    let (status, _, _) = call(
        &state,
        "POST",
        "/discovery/v1/evaluate",
        &[CT],
        query.encode(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, h, _) = call(
        &state,
        "POST",
        "/discovery/v1/evaluate",
        &[CT],
        query.encode(),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let secs: u64 = h[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&secs));

    // Another DP's key id.
    let other = mimi_lookup::DpKey::generate(&mut OsRng).unwrap();
    let (_, query) = blind(other.public(), &sii, &mut OsRng).unwrap();
    let (status, _, _) = call(
        &state,
        "POST",
        "/discovery/v1/evaluate",
        &[CT],
        query.encode(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[test]
fn secrets_are_private_and_stable() {
    let dir = tempfile::tempdir().unwrap();
    let files = DpFiles::open(dir.path()).unwrap();
    let k1 = files.key().unwrap();
    let k2 = files.key().unwrap();
    assert_eq!(k1.public().id(), k2.public().id());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in [mimi_dp::KEY_FILE, mimi_dp::TOKEN_FILE] {
            let _ = files.publisher_token().unwrap();
            let mode = std::fs::metadata(dir.path().join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
    }
}
