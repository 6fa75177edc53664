//! `POST /api/v1/dossiers/{code}/attachments`: multipart, read field by field; each file goes
//! to the blob store as it arrives (hashed while written, type sniffed from its first bytes),
//! never held whole in memory. The 202 is sent only after every blob is durable and the
//! attachment and job rows are committed in one transaction; a request that ends otherwise
//! leaves no blob behind (see `crate::orphans`).

use std::time::Duration;

use axum::Json;
use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header::CONTENT_LENGTH};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::AppState;
use super::auth::{Auth, check_dossier_access};
use super::error::{AppError, ErrorBody};
use super::part_name;
use crate::decode::Format;
use crate::domain::{Actor, Attachment, Dossier, NewAttachment};
use crate::orphans::UploadClaims;
use crate::queue::JobPayload;
use crate::repo::Added;
use crate::store::{BlobKey, BlobWriter};

/// Enough leading bytes to tell every supported type apart (WebP needs 12).
pub(super) const SNIFF_BYTES: usize = 16;

#[derive(Serialize, ToSchema)]
pub struct Receipt {
    dossier: String,
    attachments: Vec<ReceiptItem>,
    /// Files of the request that were refused, each with a stable code.
    #[schema(value_type = Vec<Object>)]
    rejected: Vec<serde_json::Value>,
}

/// The multipart body: any number of file parts (any field name) up to the limits.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body for the OpenAPI document only
struct UploadForm {
    #[schema(value_type = Vec<String>, format = Binary)]
    file: Vec<Vec<u8>>,
}

#[derive(Serialize, ToSchema)]
struct ReceiptItem {
    #[schema(value_type = i64)]
    id: crate::domain::AttachmentId,
    filename: Option<String>,
    sha256: String,
    bytes: u64,
    media_type: String,
    #[schema(value_type = String, example = "queued")]
    status: crate::domain::AttachmentStatus,
    /// The same bytes were already in this dossier: this is that attachment.
    duplicate: bool,
}

pub(super) fn media_type(f: Format) -> Option<&'static str> {
    match f {
        Format::Jpeg => Some("image/jpeg"),
        Format::Png => Some("image/png"),
        Format::Tiff => Some("image/tiff"),
        Format::Webp => Some("image/webp"),
        Format::Pdf => Some("application/pdf"),
    }
}

/// The client's name is for display only; it never reaches a path or key.
pub(super) fn display_name(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(255).collect()
}

enum Received {
    Stored(NewAttachment),
    Rejected { code: &'static str, message: String },
}

/// Uploads files into a dossier. Answered once every file is durable and its processing job
/// committed; processing (OCR) runs after. The same bytes twice in one dossier are one attachment.
#[utoipa::path(post, path = "/api/v1/dossiers/{code}/attachments", tag = "dossiers",
    params(("code" = String, Path, description = "The dossier code")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 202, description = "Receipt: the attachments taken (queued) and the files refused", body = Receipt),
        (status = 400, description = "`malformed_multipart`, `no_files`", body = ErrorBody), (status = 401, description = "No or unknown credentials", body = ErrorBody),
        (status = 403, description = "A token of another unit or dossier", body = ErrorBody),
        (status = 404, description = "No such dossier", body = ErrorBody),
        (status = 409, description = "`dossier_closed`: approved or rejected", body = ErrorBody),
        (status = 413, description = "`request_too_large`, `file_too_large`, `too_many_files`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: no file of a supported type (details: each refusal)", body = ErrorBody),
        (status = 503, description = "Database or blob store unreachable; `Retry-After` says when to come back", body = ErrorBody)),
    security(("bearer" = []), ("basic" = []), ("session" = [], "csrf" = [])))]
pub async fn upload(
    State(st): State<AppState>,
    Path(code): Path<String>,
    auth: Result<Auth, AppError>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Receipt>), AppError> {
    let limit = st.cfg.server.max_request_bytes;
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        // Answered before a byte of the body is read (clients sending `Expect: 100-continue`
        // never send it).
        return Err(AppError::RequestTooLarge { limit });
    }
    let mut multipart = multipart.map_err(|e| AppError::Multipart(e.body_text()))?;
    let result = accept(&st, &code, auth, &mut multipart).await;
    if let Err(e) = &result
        && !matches!(e, AppError::RequestTooLarge { .. } | AppError::Multipart(_))
    {
        // Read the rest (within the request limit) so that the client, still sending, gets
        // this answer instead of a reset connection.
        while let Ok(Some(mut f)) = multipart.next_field().await {
            while let Ok(Some(_)) = f.chunk().await {}
        }
    }
    result
}

async fn accept(
    st: &AppState,
    code: &str,
    auth: Result<Auth, AppError>,
    multipart: &mut Multipart,
) -> Result<(StatusCode, Json<Receipt>), AppError> {
    let Auth(actor) = auth?;
    let dossier = st
        .repo
        .dossier_by_code(code)
        .await?
        .ok_or(AppError::NotFound("dossier"))?;
    check_dossier_access(&actor, &dossier)?;
    check_open(&dossier)?;
    let limit = st.cfg.server.max_request_bytes;
    // Dropped before the rows commit (refused, failed, client gone), it removes what was stored.
    let mut claims = UploadClaims::new(
        st.repo.clone(),
        st.store.clone(),
        Duration::from_secs(st.cfg.orphans.claim_ttl_secs),
    );

    let mut files = Vec::new();
    let mut rejected = Vec::new();
    let mut count = 0usize;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| AppError::from_multipart(e, limit))?
    {
        // Every part is stored or listed in `rejected`: a name in any form (`filename*`, a legacy
        // code page), and a nameless part whose content is a file we take, are files too.
        let filename = part_name::file_name(field.headers())
            .or_else(|| field.file_name().map(str::to_string))
            .map(|n| display_name(&n));
        let field_name = field.name().map(str::to_string);
        count += 1;
        if count > st.cfg.server.max_files_per_request {
            return Err(AppError::TooManyFiles {
                limit: st.cfg.server.max_files_per_request,
            });
        }
        match (receive(st, field, limit, &mut claims).await?, filename) {
            (Received::Stored(mut f), name) => {
                let name = name
                    .unwrap_or_else(|| part_name::by_type(field_name.as_deref(), &f.media_type));
                f.filename = Some(name);
                files.push(f);
            }
            (Received::Rejected { code, message }, Some(filename)) => {
                metrics::counter!("motcua_uploads_total", "result" => "rejected").increment(1);
                rejected.push(json!({ "filename": filename, "code": code, "message": message }));
            }
            (Received::Rejected { .. }, None) => {
                // A form field (a note): not a file, and said so.
                rejected.push(json!({
                    "filename": null,
                    "field": field_name,
                    "code": AppError::PART_NOT_A_FILE,
                    "message": "a form field without a file name whose content is not a file",
                }));
            }
        }
    }
    if files.is_empty() {
        let only_fields = rejected
            .iter()
            .all(|r| r["code"] == AppError::PART_NOT_A_FILE);
        return Err(if only_fields {
            AppError::NoFiles
        } else {
            AppError::UnsupportedMediaType { rejected }
        });
    }

    let attachments = commit(st, &dossier, &files, claims, &actor)
        .await?
        .into_iter()
        .zip(&files)
        .map(|(a, f)| {
            let Attachment {
                id,
                sha256,
                bytes,
                media_type,
                status,
                ..
            } = a.attachment;
            ReceiptItem {
                id,
                filename: f.filename.clone(),
                sha256,
                bytes,
                media_type,
                status,
                duplicate: !a.created,
            }
        })
        .collect();
    Ok((
        StatusCode::ACCEPTED,
        Json(Receipt {
            dossier: dossier.code,
            attachments,
            rejected,
        }),
    ))
}

/// A decided dossier takes no more papers: they would be stored and never looked at.
pub(super) fn check_open(d: &Dossier) -> Result<(), AppError> {
    let state = crate::domain::workflow::DossierState::parse(&d.status);
    if state.is_some_and(|s| s.is_final()) {
        return Err(AppError::DossierClosed(d.status.clone()));
    }
    Ok(())
}

/// Commits stored files as attachments of `dossier`, each with its processing job, in one
/// transaction that also drops the upload's `claims`; wakes the workers and counts them. A
/// multipart request and a finished resumable upload both end here.
pub(super) async fn commit(
    st: &AppState,
    dossier: &Dossier,
    files: &[NewAttachment],
    claims: UploadClaims,
    actor: &Actor,
) -> Result<Vec<Added>, AppError> {
    let make_job = |id| JobPayload::ProcessAttachment { attachment_id: id }.to_new_job();
    let added = st
        .repo
        .add_attachments(dossier, files, Some(claims.id()), &make_job, actor)
        .await?;
    claims.settle();
    st.wake.notify_waiters();
    for (a, f) in added.iter().zip(files) {
        let result = if a.created { "accepted" } else { "duplicate" };
        metrics::counter!("motcua_uploads_total", "result" => result).increment(1);
        if a.created {
            metrics::counter!("motcua_upload_bytes_total").increment(f.bytes);
        }
    }
    Ok(added)
}

/// Why a file's content is refused, by multipart and resumable uploads alike.
pub(super) const NOT_A_SUPPORTED_TYPE: &str =
    "not a JPEG, PNG, TIFF or WebP image nor a PDF (judged by content)";

/// Streams one file into the store. Limits end the whole request (413); a wrong type refuses
/// only this file (its bytes are read and dropped so the next file can follow).
async fn receive(
    st: &AppState,
    mut field: Field<'_>,
    limit: u64,
    claims: &mut UploadClaims,
) -> Result<Received, AppError> {
    let max_file = st.cfg.limits.max_file_bytes;
    let mut head: Vec<u8> = Vec::with_capacity(SNIFF_BYTES);
    let mut writer: Option<Box<dyn BlobWriter>> = None;
    let mut refused: Option<(&'static str, String)> = None;
    let mut mime = "application/octet-stream";
    let mut size = 0u64;
    loop {
        let chunk = field
            .chunk()
            .await
            .map_err(|e| AppError::from_multipart(e, limit))?;
        let end = chunk.is_none();
        if let Some(c) = &chunk {
            size += c.len() as u64;
            if size > max_file {
                // Dropping the writer removes its temp file.
                return Err(AppError::FileTooLarge { limit: max_file });
            }
        }
        if let Some(w) = writer.as_mut() {
            if let Some(c) = &chunk {
                w.write(c).await?;
            }
        } else if refused.is_none() {
            if let Some(c) = &chunk {
                head.extend_from_slice(c);
            }
            if head.len() >= SNIFF_BYTES || end {
                match Format::sniff(&head).and_then(media_type) {
                    _ if head.is_empty() => {
                        refused = Some((AppError::FILE_EMPTY, "the file is empty".into()))
                    }
                    Some(m) => {
                        mime = m;
                        let mut w = st.store.writer().await?;
                        w.write(&head).await?;
                        writer = Some(w);
                    }
                    None => {
                        refused = Some((AppError::FILE_UNSUPPORTED, NOT_A_SUPPORTED_TYPE.into()))
                    }
                }
                head = Vec::new();
            }
        }
        if end {
            break;
        }
    }
    if let Some((code, message)) = refused {
        return Ok(Received::Rejected { code, message });
    }
    let w = writer.expect("a file either has a writer or was refused");
    // Claimed before the store is asked whether it holds these bytes: the sweep cannot delete
    // them from under us from then on.
    claims.claim(&BlobKey::original(&w.sha256())?).await?;
    let blob = w.finish().await?;
    Ok(Received::Stored(NewAttachment {
        filename: None,
        original_key: blob.key.to_string(),
        sha256: blob.sha256,
        bytes: blob.bytes,
        media_type: mime.to_string(),
    }))
}
