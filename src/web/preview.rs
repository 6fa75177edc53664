//! Page previews for the review screen: a page of the attachment's searchable PDF (the image the
//! field boxes were measured on), scaled down to the width asked for and sent as JPEG. The
//! derived PDF never changes under its key, so the preview is cached by the browser with an
//! `ETag` and asked again only when the width changes (a thumbnail, the page, the zoom).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::session::ClerkSession;
use crate::domain::AttachmentId;
use crate::intake::{AppError, AppState};
use crate::store::BlobKey;

const MIN_WIDTH: u32 = 100;
const MAX_WIDTH: u32 = 4000;

#[derive(Deserialize)]
pub struct Size {
    w: Option<u32>,
}

pub async fn page_preview(
    State(st): State<AppState>,
    session: ClerkSession,
    Path((code, att, idx)): Path<(String, i64, usize)>,
    Query(size): Query<Size>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let width = size.w.unwrap_or(1200).clamp(MIN_WIDTH, MAX_WIDTH);
    let d = session.own_dossier(&st, &code).await?;
    let a = st
        .repo
        .attachment(AttachmentId(att))
        .await?
        .filter(|a| a.dossier_id == d.id)
        .ok_or(AppError::NotFound("attachment"))?;
    let key = a.pdf_key.ok_or(AppError::NotReady("the page"))?;
    let etag = format!(
        "\"{}\"",
        &hex::encode(Sha256::digest(format!("{key}/{idx}/{width}")))[..20]
    );
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    let blob = BlobKey::parse(&key).map_err(|e| AppError::Internal(e.to_string()))?;
    let pdf: Arc<[u8]> = st.store.get_bytes(&blob).await?.into();
    let limits = st.cfg.limits.clone();
    let jpeg = tokio::task::spawn_blocking(move || render(pdf, idx, width, &limits))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
    let mut r = (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=86400"),
            ),
        ],
        jpeg,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    Ok(r)
}

fn render(
    pdf: Arc<[u8]>,
    idx: usize,
    width: u32,
    limits: &crate::config::Limits,
) -> Result<Vec<u8>, AppError> {
    let mut doc =
        crate::decode::open(pdf, limits).map_err(|e| AppError::Internal(e.to_string()))?;
    let page = doc
        .nth(idx)
        .ok_or(AppError::NotFound("page"))?
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let mut img = page.image;
    img.apply_orientation(page.orientation);
    // Never enlarged: the full-resolution request gets the page as it is.
    let img = if img.width() > width {
        let h = (u64::from(img.height()) * u64::from(width) / u64::from(img.width())).max(1);
        img.resize_exact(width, h as u32, image::imageops::FilterType::Triangle)
    } else {
        img
    };
    let mut out = Vec::new();
    let rgb = img.to_rgb8();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82)
        .encode_image(&rgb)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(out)
}
