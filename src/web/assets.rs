//! The stylesheet and script of the review screens, compiled into the binary: nothing is fetched
//! from a CDN and there is no build step at run time. Served with an `ETag` so a clerk's browser
//! asks once per release.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

pub const CSS_PATH: &str = "/review/assets/app.css";
pub const JS_PATH: &str = "/review/assets/review.js";

const CSS: &str = include_str!("assets/app.css");
const JS: &str = include_str!("assets/review.js");

fn serve(body: &'static str, content_type: &'static str, headers: &HeaderMap) -> Response {
    let etag = format!(
        "\"{}\"",
        &hex::encode(Sha256::digest(body.as_bytes()))[..16]
    );
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut r = (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

pub async fn css(headers: HeaderMap) -> Response {
    serve(CSS, "text/css; charset=utf-8", &headers)
}

pub async fn js(headers: HeaderMap) -> Response {
    serve(JS, "text/javascript; charset=utf-8", &headers)
}
