//! The router in-process over an in-memory database and a temp-dir store: cases a socket makes
//! awkward (a body cut off by the limit mid-stream).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use bytes::Bytes;
use tower::ServiceExt;

use super::{AppState, auth, router};
use crate::config::Config;
use crate::domain::{Actor, DossierSource};
use crate::repo::{DossierRepo, NewDossier, SqliteRepo, StationRepo, UnitRepo};
use crate::store::FsStore;

struct Fixture {
    state: AppState,
    token: String,
    code: String,
    _dir: tempfile::TempDir,
}

async fn fixture(cfg: Config) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let repo = Arc::new(SqliteRepo::in_memory().await.unwrap());
    let unit = repo.create_unit("XA", "Xã A", "").await.unwrap();
    let token = auth::new_token(auth::STATION_PREFIX);
    repo.create_station(unit.id, "s", &auth::token_hash(&token))
        .await
        .unwrap();
    let d = repo
        .create_dossier(
            NewDossier {
                code: "XA-1",
                unit: unit.id,
                procedure: "p",
                source: DossierSource::Station,
                citizen_token_sha256: None,
            },
            &Actor::Admin,
        )
        .await
        .unwrap();
    let store = Arc::new(FsStore::open(dir.path()).await.unwrap());
    Fixture {
        state: AppState {
            repo,
            store,
            cfg: Arc::new(cfg),
            wake: Default::default(),
            metrics: None,
        },
        token,
        code: d.code,
        _dir: dir,
    }
}

/// A multipart body streamed in chunks, with no Content-Length.
fn streamed_upload(f: &Fixture, file_bytes: usize) -> Request<Body> {
    let head = Bytes::from(
        "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\n",
    );
    let mut chunks = vec![head, Bytes::from_static(b"\xFF\xD8\xFF\xE0")];
    for _ in 0..file_bytes / 10_000 {
        chunks.push(Bytes::from(vec![7u8; 10_000]));
    }
    chunks.push(Bytes::from_static(b"\r\n--b--\r\n"));
    let stream = futures::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
    Request::post(format!("/api/v1/dossiers/{}/attachments", f.code))
        .header("Authorization", format!("Bearer {}", f.token))
        .header("Content-Type", "multipart/form-data; boundary=b")
        .body(Body::from_stream(stream))
        .unwrap()
}

async fn error_code(r: axum::response::Response) -> (StatusCode, String) {
    let status = r.status();
    let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    (
        status,
        v["error"]["code"].as_str().unwrap_or("").to_string(),
    )
}

#[tokio::test]
async fn a_streamed_body_over_the_request_limit_is_413_and_leaves_no_temp_file() {
    let mut cfg = Config::default();
    cfg.server.max_request_bytes = 100_000;
    let f = fixture(cfg).await;
    let r = router(f.state.clone())
        .oneshot(streamed_upload(&f, 300_000))
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::PAYLOAD_TOO_LARGE, "request_too_large".into())
    );
    let tmp = f._dir.path().join("tmp");
    assert_eq!(std::fs::read_dir(tmp).unwrap().count(), 0);

    // Under the limit the same stream is accepted.
    let r = router(f.state.clone())
        .oneshot(streamed_upload(&f, 50_000))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn a_streamed_file_over_the_file_limit_is_413() {
    let mut cfg = Config::default();
    cfg.limits.max_file_bytes = 20_000;
    let f = fixture(cfg).await;
    let r = router(f.state.clone())
        .oneshot(streamed_upload(&f, 100_000))
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::PAYLOAD_TOO_LARGE, "file_too_large".into())
    );
}
