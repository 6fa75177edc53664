//! Resumable uploads: a tus 1.0.0 server at `/api/v1/uploads` (core protocol and the
//! creation, creation-with-upload, termination, checksum and expiration extensions), for
//! scanner stations on links that drop. `Upload-Metadata` names the `dossier` (its code) and
//! the `filename`; credentials are those of multipart uploads, and only the upload's creator
//! may continue it.
//!
//! The bytes received so far live in the blob store ([`crate::store::PartialWriter`]); the
//! `tus_uploads` row records how many count, with the store's state and the running SHA-256
//! ([`hash`]), so an upload survives a restart and never needs its bytes read twice. The last
//! byte makes it an attachment exactly as a multipart file ([`receive`]): the final `PATCH` is
//! answered after the attachment and its job are committed, and says which attachment it is
//! (`Motcua-Attachment-Id`), as a later `HEAD` does.

mod hash;
mod headers;
mod locks;
mod receive;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use self::headers::*;
use super::AppState;
use super::auth::{Auth, check_dossier_access};
use super::error::{AppError, ErrorBody};
use crate::domain::{Actor, Millis, now_millis};
use crate::repo::TusUpload;
use crate::store::PartialId;

pub use self::hash::ResumableSha256;

/// The protocol's answer to `OPTIONS`: version, extensions, limits.
#[utoipa::path(options, path = "/api/v1/uploads", tag = "uploads", operation_id = "tus_options",
    responses((status = 204, description = "`Tus-Version`, `Tus-Extension`, `Tus-Max-Size`, `Tus-Checksum-Algorithm`")))]
pub async fn options(State(st): State<AppState>) -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    let h = r.headers_mut();
    h.insert(&TUS_VERSION, HeaderValue::from_static(VERSION));
    h.insert(&TUS_EXTENSION, HeaderValue::from_static(EXTENSIONS));
    h.insert(
        &TUS_MAX_SIZE,
        HeaderValue::from(st.cfg.limits.max_file_bytes),
    );
    h.insert(
        &TUS_CHECKSUM_ALGORITHM,
        HeaderValue::from_static(CHECKSUM_ALGORITHMS),
    );
    r
}

/// Creates an upload (`Upload-Length`, `Upload-Metadata: dossier …,filename …`); with a body
/// (`Content-Type: application/offset+octet-stream`), its first bytes too.
#[utoipa::path(post, path = "/api/v1/uploads", tag = "uploads", operation_id = "tus_create",
    responses((status = 201, description = "Created: `Location`, `Upload-Expires`, `Upload-Offset` when a body came along"),
        (status = 400, description = "`bad_request` (headers), `empty_file`", body = ErrorBody),
        (status = 401, description = "No or unknown credentials", body = ErrorBody),
        (status = 403, description = "A token of another unit or dossier", body = ErrorBody),
        (status = 404, description = "No such dossier", body = ErrorBody),
        (status = 409, description = "`dossier_closed`", body = ErrorBody),
        (status = 412, description = "`tus_version_unsupported`", body = ErrorBody),
        (status = 413, description = "`file_too_large`: over `Tus-Max-Size`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: the first bytes are no file we take", body = ErrorBody),
        (status = 429, description = "`too_many_uploads`: the caller's unfinished uploads", body = ErrorBody),
        (status = 503, description = "Database or blob store unreachable", body = ErrorBody)),
    security(("bearer" = []), ("basic" = []), ("session" = [], "csrf" = [])))]
pub async fn create(
    State(st): State<AppState>,
    auth: Result<Auth, AppError>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let actor = caller(auth)?;
    check_version(&headers)?;
    if headers.contains_key(&UPLOAD_DEFER_LENGTH) {
        return Err(AppError::BadRequest(
            "Upload-Defer-Length is not supported: send Upload-Length".into(),
        ));
    }
    let length = number(&headers, &UPLOAD_LENGTH)?
        .ok_or_else(|| AppError::BadRequest("Upload-Length is required".into()))?;
    let max = st.cfg.limits.max_file_bytes;
    if length > max {
        return Err(AppError::FileTooLarge { limit: max });
    }
    if length == 0 {
        return Err(AppError::EmptyFile);
    }
    let meta = metadata(&headers)?;
    let value = |k: &str| {
        meta.iter()
            .find(|(key, _)| key == k)
            .and_then(|(_, v)| v.clone())
    };
    let code = value("dossier")
        .ok_or_else(|| AppError::BadRequest("Upload-Metadata must name the dossier".into()))?;
    let dossier = st
        .repo
        .dossier_by_code(&code)
        .await?
        .ok_or(AppError::NotFound("dossier"))?;
    check_dossier_access(&actor, &dossier)?;
    super::upload::check_open(&dossier)?;
    let now = now_millis();
    let up = TusUpload {
        id: PartialId::random().to_string(),
        dossier_id: dossier.id.0,
        dossier_code: dossier.code.clone(),
        owner: actor.label(),
        filename: value("filename").map(|n| super::upload::display_name(&n)),
        metadata: headers
            .get(&UPLOAD_METADATA)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string(),
        upload_length: length as i64,
        upload_offset: 0,
        store_state: String::new(),
        hash_state: serde_json::to_string(&ResumableSha256::default()).expect("serializes"),
        head: String::new(),
        created_at: now,
        expires_at: expiry(&st, now),
        attachment_id: None,
    };
    let limit = st.cfg.tus.max_open_per_owner;
    if !st.repo.create_tus_upload(&up, i64::from(limit)).await? {
        return Err(AppError::TooManyUploads { limit });
    }
    metrics::counter!("motcua_tus_uploads_total", "event" => "created").increment(1);
    let location = format!("/api/v1/uploads/{}", up.id);
    let mut r = if is_offset_body(&headers) {
        // creation-with-upload: the body is the first PATCH.
        let checksum = Checksum::parse(&headers)?;
        let done = receive::patch(&st, &actor, &up.id, 0, checksum, body).await?;
        let mut r = StatusCode::CREATED.into_response();
        progress_headers(r.headers_mut(), &done);
        r
    } else {
        let mut r = StatusCode::CREATED.into_response();
        r.headers_mut()
            .insert(&UPLOAD_EXPIRES, http_date(up.expires_at));
        r
    };
    r.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&location).expect("hex id"),
    );
    Ok(r)
}

/// Where the upload stands; a finished upload names its attachment.
#[utoipa::path(head, path = "/api/v1/uploads/{id}", tag = "uploads", operation_id = "tus_head",
    params(("id" = String, Path, description = "The upload, from `Location`")),
    responses((status = 200, description = "`Upload-Offset`, `Upload-Length`, `Upload-Metadata`, `Upload-Expires`; `Motcua-Attachment-Id` once finished"),
        (status = 401, description = "No or unknown credentials", body = ErrorBody),
        (status = 403, description = "Another caller's upload", body = ErrorBody),
        (status = 404, description = "No such upload", body = ErrorBody),
        (status = 410, description = "`upload_expired`", body = ErrorBody)),
    security(("bearer" = []), ("basic" = []), ("session" = [], "csrf" = [])))]
pub async fn head(
    State(st): State<AppState>,
    Path(id): Path<String>,
    auth: Result<Auth, AppError>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let actor = caller(auth)?;
    check_version(&headers)?;
    let up = receive::head(&st, &actor, &id).await?;
    let mut r = StatusCode::OK.into_response();
    let h = r.headers_mut();
    progress_headers(h, &up);
    h.insert(UPLOAD_LENGTH.clone(), HeaderValue::from(up.upload_length));
    if !up.metadata.is_empty()
        && let Ok(v) = HeaderValue::from_str(&up.metadata)
    {
        h.insert(&UPLOAD_METADATA, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// Appends the body at `Upload-Offset`, optionally checked against `Upload-Checksum`.
#[utoipa::path(patch, path = "/api/v1/uploads/{id}", tag = "uploads", operation_id = "tus_patch",
    params(("id" = String, Path, description = "The upload, from `Location`")),
    responses((status = 204, description = "Stored: `Upload-Offset`, `Upload-Expires`; after the last byte, `Motcua-Attachment-Id` of the committed attachment"),
        (status = 400, description = "`bad_request` (headers, bytes past Upload-Length)", body = ErrorBody),
        (status = 401, description = "No or unknown credentials", body = ErrorBody),
        (status = 403, description = "Another caller's upload", body = ErrorBody),
        (status = 404, description = "No such upload", body = ErrorBody),
        (status = 409, description = "`offset_mismatch` (a HEAD tells the offset), `dossier_closed`", body = ErrorBody),
        (status = 410, description = "`upload_expired`", body = ErrorBody),
        (status = 412, description = "`tus_version_unsupported`", body = ErrorBody),
        (status = 415, description = "Not `application/offset+octet-stream`, or the file is of no type we take", body = ErrorBody),
        (status = 423, description = "`upload_locked`: an earlier request did not let go", body = ErrorBody),
        (status = 460, description = "`checksum_mismatch`: nothing of the body was kept", body = ErrorBody),
        (status = 503, description = "Database or blob store unreachable", body = ErrorBody)),
    security(("bearer" = []), ("basic" = []), ("session" = [], "csrf" = [])))]
pub async fn patch(
    State(st): State<AppState>,
    Path(id): Path<String>,
    auth: Result<Auth, AppError>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let actor = caller(auth)?;
    check_version(&headers)?;
    if !is_offset_body(&headers) {
        return Err(AppError::UnsupportedMediaType {
            rejected: vec![serde_json::json!({
                "code": "unsupported_media_type",
                "message": format!("a PATCH body is {OFFSET_CONTENT_TYPE}"),
            })],
        });
    }
    let offset = number(&headers, &UPLOAD_OFFSET)?
        .ok_or_else(|| AppError::BadRequest("Upload-Offset is required".into()))?;
    let checksum = Checksum::parse(&headers)?;
    let done = receive::patch(&st, &actor, &id, offset, checksum, body).await?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    progress_headers(r.headers_mut(), &done);
    Ok(r)
}

/// Ends an upload and removes what it stored (termination).
#[utoipa::path(delete, path = "/api/v1/uploads/{id}", tag = "uploads", operation_id = "tus_terminate",
    params(("id" = String, Path, description = "The upload, from `Location`")),
    responses((status = 204, description = "Removed"),
        (status = 401, description = "No or unknown credentials", body = ErrorBody),
        (status = 403, description = "Another caller's upload", body = ErrorBody),
        (status = 404, description = "No such upload", body = ErrorBody),
        (status = 423, description = "`upload_locked`", body = ErrorBody)),
    security(("bearer" = []), ("basic" = []), ("session" = [], "csrf" = [])))]
pub async fn terminate(
    State(st): State<AppState>,
    Path(id): Path<String>,
    auth: Result<Auth, AppError>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let actor = caller(auth)?;
    check_version(&headers)?;
    receive::terminate(&st, &actor, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn is_offset_body(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().map(str::trim) == Some(OFFSET_CONTENT_TYPE))
}

fn expiry(st: &AppState, now: Millis) -> Millis {
    now + st.cfg.tus.expiry_secs as Millis * 1000
}

fn progress_headers(h: &mut HeaderMap, up: &TusUpload) {
    h.insert(UPLOAD_OFFSET.clone(), HeaderValue::from(up.upload_offset));
    h.insert(UPLOAD_EXPIRES.clone(), http_date(up.expires_at));
    h.insert(
        DOSSIER.clone(),
        HeaderValue::from_str(&up.dossier_code).unwrap_or(HeaderValue::from_static("")),
    );
    if let Some(a) = up.attachment_id {
        h.insert(ATTACHMENT_ID.clone(), HeaderValue::from(a));
        if let Ok(hash) = serde_json::from_str::<ResumableSha256>(&up.hash_state)
            && let Ok(v) = HeaderValue::from_str(&hash.hex())
        {
            h.insert(ATTACHMENT_SHA256.clone(), v);
        }
    }
}

/// Every tus response says which protocol it speaks, errors included.
pub async fn tus_resumable(mut r: Response) -> Response {
    r.headers_mut()
        .insert(&TUS_RESUMABLE, HeaderValue::from_static(VERSION));
    r
}

/// Uploads need credentials: the anonymous portal only creates dossiers.
fn caller(auth: Result<Auth, AppError>) -> Result<Actor, AppError> {
    match auth? {
        Auth(Actor::Anonymous) => Err(AppError::Unauthorized),
        Auth(actor) => Ok(actor),
    }
}

/// The actor may touch this upload only if it created it.
fn check_owner(actor: &Actor, up: &TusUpload) -> Result<(), AppError> {
    if actor.label() == up.owner {
        Ok(())
    } else {
        Err(AppError::Forbidden("the upload belongs to another caller"))
    }
}
