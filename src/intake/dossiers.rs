//! Creating dossiers and reading them back with what processing made of their attachments.

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::AppState;
use super::auth::{self, Auth, check_dossier_access};
use super::error::{AppError, ErrorBody};
use crate::domain::{Actor, Attachment, AttachmentId, Dossier, DossierSource, is_valid_code};
use crate::repo::{AttachmentView, FieldRecord, NewDossier, RepoError};
use crate::store::BlobKey;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDossier {
    /// Administrative procedure code, e.g. `khai-sinh` (birth registration).
    procedure: String,
    /// Unit (commune) code; optional for stations, which are bound to theirs.
    unit: Option<String>,
}

/// Human-friendly and unguessable enough to read out at a counter: `<UNIT>-<10 chars>`.
fn new_dossier_code(unit: &str) -> String {
    format!("{unit}-{}", super::lookup::random_chars(10))
}

/// Creates a dossier: a station or clerk for its own unit, or (when the portal allows it) anyone,
/// who then gets the dossier's citizen upload token, shown once.
#[utoipa::path(post, path = "/api/v1/dossiers", tag = "dossiers",
    request_body = CreateDossier,
    responses(
        (status = 201, description = "The dossier (`code`, `unit`, `procedure`, `state`, …), its receipt's `lookup_code` (for the citizen's status page) and, from the portal, its `upload_token`: both shown only here", body = Value),
        (status = 400, description = "Malformed body or codes", body = ErrorBody),
        (status = 401, description = "No or unknown credentials", body = ErrorBody), (status = 403, description = "Credentials that may not do this (or, with the session cookie, no CSRF token)", body = ErrorBody),
        (status = 404, description = "No such unit", body = ErrorBody), (status = 503, description = "Database or blob store unreachable; `Retry-After` says when to come back", body = ErrorBody)),
    security((), ("bearer" = []), ("basic" = []), ("session" = [], "csrf" = [])))]
pub async fn create(
    State(st): State<AppState>,
    Auth(actor): Auth,
    body: Result<Json<CreateDossier>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let Json(req) = body.map_err(AppError::from)?;
    let procedure = req.procedure.trim();
    if procedure.is_empty() || procedure.len() > 200 {
        return Err(AppError::BadRequest(
            "procedure must be 1 to 200 characters".into(),
        ));
    }
    let unit_code = req.unit.as_deref().map(str::trim);
    if unit_code.is_some_and(|c| !is_valid_code(c)) {
        return Err(AppError::BadRequest("invalid unit code".into()));
    }
    let lookup = |code: Option<&str>| {
        let repo = st.repo.clone();
        let code = code.map(str::to_string);
        async move {
            match code {
                Some(c) => repo.unit_by_code(&c).await.map_err(AppError::from),
                None => Ok(None),
            }
        }
    };
    let (unit, source, citizen_token) = match &actor {
        Actor::Station { unit, .. } | Actor::Clerk { unit, .. } => {
            if let Some(u) = lookup(unit_code).await? {
                if u.id != *unit {
                    return Err(AppError::Forbidden(
                        "a station creates dossiers only for its own unit",
                    ));
                }
            } else if unit_code.is_some() {
                return Err(AppError::NotFound("unit"));
            }
            (*unit, DossierSource::Station, None)
        }
        Actor::Anonymous if st.cfg.server.allow_anonymous_dossiers => {
            let code = unit_code
                .ok_or_else(|| AppError::BadRequest("unit is required from the portal".into()))?;
            let u = lookup(Some(code))
                .await?
                .ok_or(AppError::NotFound("unit"))?;
            (
                u.id,
                DossierSource::Portal,
                Some(auth::new_token(auth::CITIZEN_PREFIX)),
            )
        }
        Actor::Anonymous => return Err(AppError::Unauthorized),
        _ => {
            return Err(AppError::Forbidden("this token cannot create dossiers"));
        }
    };
    let lookup = super::lookup::new_code();
    let token_hash = citizen_token.as_deref().map(auth::token_hash);
    let lookup_hash = super::lookup::hash(&lookup);
    let new = NewDossier {
        code: "",
        unit,
        procedure,
        source,
        citizen_token_sha256: token_hash.as_deref(),
        lookup_sha256: lookup_hash.as_deref(),
    };
    let dossier = insert_dossier(&st, new, &actor).await?;
    let mut out = dossier_json(&dossier);
    // Printed on the receipt; shown once, only its hash is kept.
    out["lookup_code"] = json!(lookup);
    if let Some(t) = citizen_token {
        // Shown once; only its hash is kept.
        out["upload_token"] = json!(t);
    }
    Ok((StatusCode::CREATED, Json(out)))
}

/// Creates `new` under a fresh dossier code of its unit (its `code` is ignored).
async fn insert_dossier(
    st: &AppState,
    new: NewDossier<'_>,
    actor: &Actor,
) -> Result<Dossier, AppError> {
    let unit_code = st
        .repo
        .unit_by_id(new.unit)
        .await?
        .ok_or(AppError::NotFound("unit"))?
        .code;
    // A random code can collide; try a few.
    for _ in 0..4 {
        let code = new_dossier_code(&unit_code);
        let r = st
            .repo
            .create_dossier(NewDossier { code: &code, ..new }, actor)
            .await;
        match r {
            Err(RepoError::Conflict(_)) => continue,
            r => return Ok(r?),
        }
    }
    Err(AppError::Internal(
        "could not find a free dossier code".into(),
    ))
}

fn dossier_json(d: &Dossier) -> Value {
    json!({
        "code": d.code,
        "unit": d.unit_code,
        "procedure": d.procedure,
        "status": d.status,
        "state": d.status,
        "source": d.source,
        "created_at": d.created_at,
    })
}

pub(super) fn field_json(r: &FieldRecord) -> Value {
    let f = &r.field;
    json!({
        "id": r.id,
        "attachment": r.attachment,
        "model": r.model,
        "name": f.name,
        "value": f.value,
        "raw": f.raw,
        "confidence": f.confidence,
        "page": f.page,
        "box": f.bbox,
        "source": f.source,
        "validation": f.validation,
        "version": r.version,
        "confirmed_by": r.confirmed_by,
        "updated_at": r.updated_at,
    })
}

fn attachment_json(d: &Dossier, v: &AttachmentView, fields: &[FieldRecord]) -> Value {
    let a = &v.attachment;
    let base = format!("/api/v1/dossiers/{}/attachments/{}", d.code, a.id);
    json!({
        "id": a.id,
        "kind": a.kind,
        "filename": a.filename,
        "sha256": a.sha256,
        "bytes": a.bytes,
        "media_type": a.media_type,
        "status": a.status,
        "error": a.error_code.as_ref().map(|c| json!({"code": c, "message": a.error_message})),
        "page_count": a.page_count,
        "job": v.job,
        "pages": v.pages,
        "fields": fields
            .iter()
            .filter(|f| f.attachment == a.id)
            .map(field_json)
            .collect::<Vec<_>>(),
        "links": {
            "original": format!("{base}/original"),
            "pdf": a.pdf_key.as_ref().map(|_| format!("{base}/pdf")),
        },
        "created_at": a.created_at,
    })
}

pub(super) async fn visible_dossier(
    st: &AppState,
    actor: &Actor,
    code: &str,
) -> Result<Dossier, AppError> {
    let d = st
        .repo
        .dossier_by_code(code)
        .await?
        .ok_or(AppError::NotFound("dossier"))?;
    check_dossier_access(actor, &d)?;
    Ok(d)
}

/// The dossier with its attachments, their processing, the text of every page, the fields
/// read, the review flags and (for clerks) who holds the claim.
#[utoipa::path(get, path = "/api/v1/dossiers/{code}", tag = "dossiers", params(("code" = String, Path, description = "The dossier code, e.g. `XA-7K2M9Q4T1B`")),
    responses((status = 200, description = "The dossier", body = Value), (status = 401, description = "No or unknown credentials", body = ErrorBody), (status = 403, description = "Credentials that may not do this (or, with the session cookie, no CSRF token)", body = ErrorBody), (status = 404, description = "No such dossier, or not one the caller may see", body = ErrorBody), (status = 503, description = "Database or blob store unreachable; `Retry-After` says when to come back", body = ErrorBody)),
    security(("bearer" = []), ("basic" = []), ("session" = [])))]
pub async fn show(
    State(st): State<AppState>,
    Path(code): Path<String>,
    Auth(actor): Auth,
) -> Result<Json<Value>, AppError> {
    let d = visible_dossier(&st, &actor, &code).await?;
    let views = st.repo.attachment_views(d.id).await?;
    let fields = st.repo.dossier_fields(d.id).await?;
    let flags = st.repo.flag_views(d.id).await?;
    let mut out = dossier_json(&d);
    if matches!(actor, Actor::Clerk { .. }) {
        out["claim"] = json!(st.repo.claim_of(d.id, crate::domain::now_millis()).await?);
    }
    out["attachments"] = views
        .iter()
        .map(|v| attachment_json(&d, v, &fields))
        .collect();
    out["review_flags"] = json!(flags);
    Ok(Json(out))
}

async fn blob_response(st: &AppState, key: &str, content_type: &str) -> Result<Response, AppError> {
    let key = BlobKey::parse(key).map_err(|e| AppError::Internal(e.to_string()))?;
    let stream = st.store.get(&key).await?;
    Ok((
        [(header::CONTENT_TYPE, content_type.to_string())],
        Body::from_stream(stream),
    )
        .into_response())
}

/// An attachment of a dossier the caller may see; another dossier's attachment is not found.
async fn visible_attachment(
    st: &AppState,
    actor: &Actor,
    code: &str,
    id: i64,
) -> Result<Attachment, AppError> {
    let d = visible_dossier(st, actor, code).await?;
    st.repo
        .attachment(AttachmentId(id))
        .await?
        .filter(|a| a.dossier_id == d.id)
        .ok_or(AppError::NotFound("attachment"))
}

/// The file exactly as uploaded.
#[utoipa::path(get, path = "/api/v1/dossiers/{code}/attachments/{id}/original", tag = "dossiers",
    params(("code" = String, Path, description = "The dossier code, e.g. `XA-7K2M9Q4T1B`"), ("id" = i64, Path, description = "Attachment id")),
    responses((status = 200, description = "The original bytes, with their sniffed media type", content_type = "application/octet-stream"),
        (status = 401, description = "No or unknown credentials", body = ErrorBody), (status = 403, description = "Credentials that may not do this (or, with the session cookie, no CSRF token)", body = ErrorBody), (status = 404, description = "No such dossier or attachment", body = ErrorBody), (status = 503, description = "Database or blob store unreachable; `Retry-After` says when to come back", body = ErrorBody)),
    security(("bearer" = []), ("basic" = []), ("session" = [])))]
pub async fn original(
    State(st): State<AppState>,
    Path((code, id)): Path<(String, i64)>,
    Auth(actor): Auth,
) -> Result<Response, AppError> {
    let a = visible_attachment(&st, &actor, &code, id).await?;
    blob_response(&st, &a.original_key, &a.media_type).await
}

/// The searchable PDF made from the attachment.
#[utoipa::path(get, path = "/api/v1/dossiers/{code}/attachments/{id}/pdf", tag = "dossiers",
    params(("code" = String, Path, description = "The dossier code, e.g. `XA-7K2M9Q4T1B`"), ("id" = i64, Path, description = "Attachment id")),
    responses((status = 200, description = "The searchable PDF", content_type = "application/pdf"),
        (status = 401, description = "No or unknown credentials", body = ErrorBody), (status = 403, description = "Credentials that may not do this (or, with the session cookie, no CSRF token)", body = ErrorBody), (status = 404, description = "No such dossier or attachment", body = ErrorBody),
        (status = 409, description = "`not_ready`: not processed (yet)", body = ErrorBody), (status = 503, description = "Database or blob store unreachable; `Retry-After` says when to come back", body = ErrorBody)),
    security(("bearer" = []), ("basic" = []), ("session" = [])))]
pub async fn pdf(
    State(st): State<AppState>,
    Path((code, id)): Path<(String, i64)>,
    Auth(actor): Auth,
) -> Result<Response, AppError> {
    let a = visible_attachment(&st, &actor, &code, id).await?;
    let key = a.pdf_key.ok_or(AppError::NotReady("the searchable PDF"))?;
    blob_response(&st, &key, "application/pdf").await
}

/// Processes a failed attachment again, as new: for a file that failed on trouble since fixed
/// (a dead-lettered job, one set aside as `worker_lost`, a decoder improved since). Clerks of the
/// dossier's unit; audited.
#[utoipa::path(post, path = "/api/v1/dossiers/{code}/attachments/{id}/retry", tag = "dossiers",
    params(("code" = String, Path, description = "The dossier code, e.g. `XA-7K2M9Q4T1B`"), ("id" = i64, Path, description = "Attachment id")),
    responses((status = 202, description = "Queued again: `{attachment, status}`", body = Value),
        (status = 401, description = "No or unknown credentials", body = ErrorBody), (status = 403, description = "Not a clerk (or, with the session cookie, no CSRF token)", body = ErrorBody), (status = 404, description = "No such dossier or attachment", body = ErrorBody),
        (status = 409, description = "`conflict`: the attachment has not failed", body = ErrorBody), (status = 503, description = "Database or blob store unreachable; `Retry-After` says when to come back", body = ErrorBody)),
    security(("basic" = []), ("session" = [])))]
pub async fn retry(
    State(st): State<AppState>,
    Path((code, id)): Path<(String, i64)>,
    Auth(actor): Auth,
) -> Result<(StatusCode, Json<Value>), AppError> {
    match actor {
        Actor::Clerk { .. } => {}
        Actor::Anonymous => return Err(AppError::Unauthorized),
        _ => return Err(AppError::Forbidden("only clerks of the unit requeue files")),
    }
    let a = visible_attachment(&st, &actor, &code, id).await?;
    let done = st
        .repo
        .requeue(crate::repo::Requeue::Attachment(a.id), &actor.label())
        .await?;
    if done.is_empty() {
        return Err(AppError::Conflict(format!(
            "attachment {id} is {}, not failed",
            a.status.as_str()
        )));
    }
    st.wake.notify_waiters();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "attachment": a.id, "status": "queued" })),
    ))
}
