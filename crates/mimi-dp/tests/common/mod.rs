//! Calling the DP's router in process, and building uploads as the key holder.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use mimi_dp::{DpFiles, DpOptions, DpState, router};
use mimi_lookup::rand_core::OsRng;
use mimi_lookup::{
    LookupRequest, LookupResponse, LookupSecret, Removal, SealedRecord, UploadEntry, UploadRequest,
    UploadResponse, UploadStatus,
};
use mimi_types::id::ConnectionId;
use tower::ServiceExt;

pub const CT: (&str, &str) = ("content-type", "application/cbor");

/// One request through the router, from 192.0.2.1.
pub async fn call(
    state: &Arc<DpState>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Body::from(body)).unwrap();
    let peer: SocketAddr = "192.0.2.1:4000".parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

pub fn open_with(dir: &Path, options: &DpOptions) -> Arc<DpState> {
    Arc::new(DpState::open(DpFiles::open(dir).unwrap(), options).unwrap())
}

pub fn open(dir: &Path) -> Arc<DpState> {
    open_with(dir, &DpOptions::default())
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The lookup secret of `sii` at the DP of `dir`, computed with its key (as only the key
/// holder can).
pub fn secret(dir: &Path, sii: &str) -> LookupSecret {
    let key = DpFiles::open(dir).unwrap().key().unwrap();
    key.direct_secret(&ConnectionId::parse(sii).unwrap())
        .unwrap()
}

/// `plaintext` sealed for `secret`.
pub fn sealed(secret: &LookupSecret, plaintext: &str) -> SealedRecord {
    secret.seal(plaintext.as_bytes(), &mut OsRng).unwrap()
}

/// An upload of these records (under their secret's index) and removals.
pub fn upload_body(
    records: &[(&LookupSecret, &SealedRecord)],
    removals: &[(&LookupSecret, &SealedRecord)],
) -> Vec<u8> {
    UploadRequest::new(
        records
            .iter()
            .map(|(s, r)| UploadEntry {
                index: *s.index(),
                expires_at: now() + 3600,
                record: (*r).clone(),
            })
            .collect(),
        removals
            .iter()
            .map(|(s, r)| Removal {
                index: *s.index(),
                record_id: r.id(),
            })
            .collect(),
    )
    .unwrap()
    .encode()
}

/// Upload with `token`; the HTTP status and the decoded answer (if 200).
pub async fn upload(
    state: &Arc<DpState>,
    token: &str,
    body: Vec<u8>,
) -> (StatusCode, Option<UploadResponse>) {
    let auth = format!("Bearer {token}");
    let (status, _, out) = call(
        state,
        "POST",
        "/discovery/v1/upload",
        &[CT, ("authorization", &auth)],
        body,
    )
    .await;
    let resp = (status == StatusCode::OK).then(|| UploadResponse::decode(&out).unwrap());
    (status, resp)
}

/// Store one record, expecting `Stored`.
pub async fn store(
    state: &Arc<DpState>,
    token: &str,
    secret: &LookupSecret,
    record: &SealedRecord,
) {
    let (status, resp) = upload(state, token, upload_body(&[(secret, record)], &[])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(resp.unwrap().statuses, vec![UploadStatus::Stored]);
}

/// The opened records under `secret`'s index.
pub async fn look_up(state: &Arc<DpState>, secret: &LookupSecret) -> Vec<String> {
    let (status, _, body) = call(
        state,
        "POST",
        "/discovery/v1/lookup",
        &[CT],
        LookupRequest {
            index: *secret.index(),
        }
        .encode(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (opened, failed) = secret.open_all(&LookupResponse::decode(&body).unwrap());
    assert_eq!(failed, 0);
    opened
        .into_iter()
        .map(|b| String::from_utf8(b).unwrap())
        .collect()
}

/// The default publisher's token.
pub fn default_token(state: &DpState) -> String {
    state.files().publisher_token().unwrap()
}

/// Every file under `dir`, recursively.
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_in(&p));
        } else {
            out.push(p);
        }
    }
    out
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Wait until no compaction task holds a reference to `state`, then drop it (without a
/// compaction: as a crash would leave the directory).
pub async fn crash(state: Arc<DpState>) {
    for _ in 0..500 {
        if Arc::strong_count(&state) == 1 {
            drop(state);
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the state is still in use");
}
