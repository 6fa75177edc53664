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

pub(super) struct Fixture {
    pub state: AppState,
    pub token: String,
    pub code: String,
    pub _dir: tempfile::TempDir,
}

pub(super) async fn fixture(cfg: Config) -> Fixture {
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
                lookup_sha256: None,
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
            defs: crate::extract::Definitions::load(
                &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models"),
                &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines"),
            )
            .unwrap(),
        },
        token,
        code: d.code,
        _dir: dir,
    }
}

/// A multipart body streamed in chunks, with no Content-Length.
pub(super) fn streamed_upload(f: &Fixture, file_bytes: usize) -> Request<Body> {
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

pub(super) async fn error_code(r: axum::response::Response) -> (StatusCode, String) {
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

/// A JSON body over axum's 2 MiB bound is 413 `request_too_large` in the one error shape (it was
/// a 400); over a socket the client may see the connection closed instead, so this is checked
/// on the router.
#[tokio::test]
async fn a_json_body_over_its_bound_is_413() {
    let f = fixture(Config::default()).await;
    let req = axum::http::Request::post("/api/v1/dossiers")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(vec![b' '; 3 << 20]))
        .unwrap();
    let r = router(f.state.clone()).oneshot(req).await.unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::PAYLOAD_TOO_LARGE, "request_too_large".into())
    );
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

#[tokio::test]
async fn dossier_shows_fields_and_flags_and_a_clerk_corrects_a_field() {
    use crate::domain::{
        AttachmentId, ClerkRole, ExtractedField, FieldSource, Validation, ValidationStatus,
    };
    use crate::extract::crosscheck::ReviewFlag;
    use base64::Engine;

    let f = fixture(Config::default()).await;
    let r = router(f.state.clone())
        .oneshot(streamed_upload(&f, 20_000))
        .await
        .unwrap();
    let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let att = AttachmentId(v["attachments"][0]["id"].as_i64().unwrap());
    let repo = f.state.repo.clone();
    let d = repo.dossier_by_code(&f.code).await.unwrap().unwrap();
    let field = |name: &str, value: &str| ExtractedField {
        name: name.into(),
        value: Some(value.into()),
        raw: value.into(),
        confidence: 0.9,
        page: 0,
        bbox: None,
        source: FieldSource::Ocr,
        validation: Validation {
            status: ValidationStatus::Unchecked,
            notes: vec!["no check can prove this value".into()],
            repair: None,
        },
    };
    let fields = [
        ("cccd".to_string(), field("name", "ĐINH MINH OANH")),
        ("cccd".to_string(), field("pid", "072172124924")),
    ];
    let t = crate::domain::now_millis();
    let job = repo
        .claim("w", t, t + 60_000, crate::repo::ClaimLimits::new(5))
        .await
        .unwrap()
        .unwrap();
    let pages = [];
    let done = crate::repo::Processed {
        pages: &pages,
        pdf_key: "k",
        fields: &fields,
    };
    assert!(
        repo.complete_attachment(job.id, "w", att, &done)
            .await
            .unwrap()
    );
    // A retried job replaces, never duplicates.
    repo.replace_ocr_fields(d.id, att, &fields).await.unwrap();
    let flag = ReviewFlag {
        code: "mismatch".into(),
        check: "mother_id_card".into(),
        message: "m".into(),
        fields: vec![],
    };
    repo.replace_flags(d.id, std::slice::from_ref(&flag))
        .await
        .unwrap();

    let get = |auth: String| {
        Request::get(format!("/api/v1/dossiers/{}", f.code))
            .header("Authorization", auth)
            .body(Body::empty())
            .unwrap()
    };
    let bearer = format!("Bearer {}", f.token);
    let r = router(f.state.clone())
        .oneshot(get(bearer.clone()))
        .await
        .unwrap();
    let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let got = v["attachments"][0]["fields"].as_array().unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["name"], "name");
    assert_eq!(got[0]["value"], "ĐINH MINH OANH");
    assert_eq!(got[0]["validation"]["status"], "unchecked");
    assert_eq!(v["review_flags"][0]["code"], "mismatch");
    let id = got[0]["id"].as_i64().unwrap();

    let put = |auth: &str, body: &str| {
        Request::put(format!("/api/v1/dossiers/{}/fields/{id}", f.code))
            .header("Authorization", auth)
            .header("Content-Type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let r = router(f.state.clone())
        .oneshot(put(&bearer, r#"{"value": "X"}"#))
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::FORBIDDEN, "forbidden".into())
    );

    repo.create_clerk(
        d.unit_id,
        "lan",
        ClerkRole::Clerk,
        &auth::hash_password("pw").unwrap(),
    )
    .await
    .unwrap();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("lan:pw")
    );
    let edit = r#"{"value": " Đinh Minh Oanh ", "version": 1}"#;
    let r = router(f.state.clone())
        .oneshot(put(&basic, edit))
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::CONFLICT, "not_claimed".into())
    );
    let claim = Request::post(format!("/api/v1/dossiers/{}/claim", f.code))
        .header("Authorization", &basic)
        .body(Body::empty())
        .unwrap();
    let r = router(f.state.clone()).oneshot(claim).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = router(f.state.clone())
        .oneshot(put(&basic, edit))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The same edit from a page that still shows version 1.
    let r = router(f.state.clone())
        .oneshot(put(&basic, edit))
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::CONFLICT, "stale_version".into())
    );
    let r = router(f.state.clone())
        .oneshot(put(&basic, r#"{"value": "", "version": 2}"#))
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::BAD_REQUEST, "bad_request".into())
    );

    // The correction survives the OCR fields being written again.
    repo.replace_ocr_fields(d.id, att, &fields).await.unwrap();
    let stored = repo.dossier_fields(d.id).await.unwrap();
    let corrected = stored.iter().find(|r| r.id == id).unwrap();
    assert_eq!(corrected.field.source, FieldSource::Clerk);
    assert_eq!(corrected.field.value.as_deref(), Some("ĐINH MINH OANH"));
    assert_eq!(stored.len(), 2);
}

#[tokio::test]
async fn an_unreachable_store_is_503_with_retry_after_and_commits_nothing() {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, SharedCredentialsProvider};

    let mut cfg = Config::default();
    cfg.server.retry_after_secs = 9;
    let mut f = fixture(cfg).await;
    // An S3 store on a port where nothing listens: connection refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "k", "s", None, None, "test",
        )))
        .build();
    let s3 = crate::config::S3StoreConfig {
        bucket: "motcua".into(),
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        max_attempts: 1,
        sweep_tmp_after_secs: 0,
        ..Default::default()
    };
    f.state.store = Arc::new(
        crate::store::S3Store::with_sdk_config(&sdk, &s3)
            .await
            .unwrap(),
    );

    let r = router(f.state.clone())
        .oneshot(streamed_upload(&f, 20_000))
        .await
        .unwrap();
    assert_eq!(r.headers()["retry-after"], "9");
    assert_eq!(
        error_code(r).await,
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable".into())
    );
    let r = router(f.state.clone())
        .oneshot(
            Request::get(format!("/api/v1/dossiers/{}", f.code))
                .header("Authorization", format!("Bearer {}", f.token))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["attachments"], serde_json::json!([]), "nothing committed");
    let r = router(f.state.clone())
        .oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "9");
}
