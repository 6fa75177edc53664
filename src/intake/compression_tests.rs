//! Responses over slow links: text is gzipped for clients that accept it; images and other
//! files go as they are; `server.compress = false` turns it off.

use std::io::Read;

use axum::body::Body;
use axum::http::header::{ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING};
use axum::http::{Request, StatusCode};
use axum::response::Response;
use tower::ServiceExt;

use super::router;
use super::tests::{Fixture, fixture, streamed_upload};
use crate::config::Config;

async fn get(f: &Fixture, path: &str, gzip: bool) -> Response {
    let mut req = Request::get(path).header(AUTHORIZATION, format!("Bearer {}", f.token));
    if gzip {
        req = req.header(ACCEPT_ENCODING, "gzip");
    }
    router(f.state.clone())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

async fn bytes(r: Response) -> Vec<u8> {
    axum::body::to_bytes(r.into_body(), 1 << 24)
        .await
        .unwrap()
        .to_vec()
}

fn encoding(r: &Response) -> Option<&str> {
    r.headers()
        .get(CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn text_is_gzipped_for_clients_that_accept_it_and_files_are_not() {
    let f = fixture(Config::default()).await;
    let r = router(f.state.clone())
        .oneshot(streamed_upload(&f, 50_000))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let receipt: serde_json::Value = serde_json::from_slice(&bytes(r).await).unwrap();
    let id = &receipt["attachments"][0]["id"];

    let dossier = format!("/api/v1/dossiers/{}", f.code);
    let r = get(&f, &dossier, true).await;
    assert_eq!((r.status(), encoding(&r)), (StatusCode::OK, Some("gzip")));
    let mut json = String::new();
    flate2::read::GzDecoder::new(&bytes(r).await[..])
        .read_to_string(&mut json)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["code"], f.code.as_str());
    let r = get(&f, &dossier, false).await;
    assert_eq!(encoding(&r), None, "only for clients that ask");

    // The original JPEG is sent as it was uploaded.
    let r = get(&f, &format!("{dossier}/attachments/{id}/original"), true).await;
    assert_eq!((r.status(), encoding(&r)), (StatusCode::OK, None));
    let original = bytes(r).await;
    assert_eq!(original.len(), 50_000 / 10_000 * 10_000 + 4);
    assert!(original.starts_with(b"\xFF\xD8\xFF\xE0"));

    let r = get(&f, "/review/login", true).await;
    assert_eq!(encoding(&r), Some("gzip"), "the UI's pages");

    let mut cfg = Config::default();
    cfg.server.compress = false;
    let f = fixture(cfg).await;
    let r = get(&f, &format!("/api/v1/dossiers/{}", f.code), true).await;
    assert_eq!((r.status(), encoding(&r)), (StatusCode::OK, None));
}
