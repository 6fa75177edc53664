//! The clerks' review API: the unit's queue, claims, field confirmation and correction, flag
//! dismissal, decisions and the history. Only clerks call it, on their own unit's dossiers (a
//! dossier of another unit is not found). The review screen uses exactly these routes.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::Auth;
use super::dossiers::{field_json, visible_dossier};
use super::error::{AppError, ErrorBody};
use crate::domain::workflow::{ALL_STATES, DossierState, Event};
use crate::domain::{Actor, Dossier, ValidationStatus, now_millis};
use crate::extract::crosscheck::ReviewFlag;
use crate::repo::{ClaimOutcome, ClerkRef, FieldChange, FieldRecord, QueueFilter, Refusal};

/// Longest reason or note a clerk may write.
const MAX_NOTE_CHARS: usize = 2000;

fn clerk_of(actor: &Actor) -> Result<ClerkRef, AppError> {
    match actor {
        Actor::Clerk { id, unit } => Ok(ClerkRef {
            id: *id,
            unit: *unit,
        }),
        Actor::Anonymous => Err(AppError::Unauthorized),
        _ => Err(AppError::Forbidden("only clerks review dossiers")),
    }
}

/// The clerk's unit's dossier; another unit's is "not found", not "forbidden", so codes of other
/// communes cannot be probed.
async fn own_dossier(
    st: &AppState,
    actor: &Actor,
    code: &str,
) -> Result<(ClerkRef, Dossier), AppError> {
    let clerk = clerk_of(actor)?;
    let d = visible_dossier(st, actor, code)
        .await
        .map_err(|e| match e {
            AppError::Forbidden(_) => AppError::NotFound("dossier"),
            e => e,
        })?;
    Ok((clerk, d))
}

fn refusal(r: Refusal) -> AppError {
    match r {
        Refusal::NotFound => AppError::NotFound("field"),
        Refusal::NotClaimed(Some(holder)) => AppError::ClaimedByOther(holder),
        Refusal::NotClaimed(None) => AppError::NotClaimed,
        Refusal::Stale(current) => AppError::StaleVersion {
            version: current.version,
            current: field_json(&current),
        },
        Refusal::NotAllowed(e) => AppError::InvalidTransition(e.to_string()),
    }
}

fn note(text: Option<&str>, what: &'static str) -> Result<Option<String>, AppError> {
    let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if t.chars().count() > MAX_NOTE_CHARS {
        return Err(AppError::BadRequest(format!(
            "{what} must be at most {MAX_NOTE_CHARS} characters"
        )));
    }
    Ok(Some(crate::text::nfc(t)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    procedure: Option<String>,
    state: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/v1/review/queue`: the unit's dossiers oldest first, with counts per state.
#[utoipa::path(get, path = "/api/v1/review/queue", tag = "review", params(QueueQuery),
    responses((status = 200, description = "`{now, counts: {state: n}, dossiers: [{code, procedure, state, waiting_since, claim, …}]}`", body = Value),
        (status = 400, description = "Unknown state", body = ErrorBody), (status = 401, description = "No or unknown credentials", body = ErrorBody), (status = 403, description = "Not a clerk (or, with the session cookie, no CSRF token)", body = ErrorBody), (status = 503, description = "Database unreachable; `Retry-After` says when to come back", body = ErrorBody)),
    security(("basic" = []), ("session" = [])))]
pub async fn queue(
    State(st): State<AppState>,
    Auth(actor): Auth,
    Query(q): Query<QueueQuery>,
) -> Result<Json<Value>, AppError> {
    let clerk = clerk_of(&actor)?;
    let state = match q.state.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(
            DossierState::parse(s)
                .ok_or_else(|| AppError::BadRequest(format!("unknown state {s:?}")))?,
        ),
        None => None,
    };
    let filter = QueueFilter {
        procedure: q.procedure.filter(|p| !p.is_empty()),
        state,
        limit: q.limit.unwrap_or(200).clamp(1, 1000),
    };
    let now = now_millis();
    let entries = st.repo.queue(clerk.unit, &filter, now).await?;
    let counts = st.repo.state_counts(Some(clerk.unit)).await?;
    let counts: serde_json::Map<String, Value> = ALL_STATES
        .iter()
        .map(|s| {
            let n = counts.iter().find(|(c, _)| c == s).map_or(0, |(_, n)| *n);
            (s.as_str().to_string(), json!(n))
        })
        .collect();
    Ok(Json(
        json!({ "now": now, "counts": counts, "dossiers": entries }),
    ))
}

/// `POST /api/v1/review/next`: claims the unit's oldest dossier waiting for review.
#[utoipa::path(post, path = "/api/v1/review/next", tag = "review",
    responses((status = 200, description = "`{code, claim_until}` (ms since the epoch)", body = Value),
        (status = 401, description = "No or unknown credentials", body = ErrorBody), (status = 403, description = "Not a clerk (or, with the session cookie, no CSRF token)", body = ErrorBody), (status = 404, description = "Nothing waits for review", body = ErrorBody), (status = 503, description = "Database unreachable; `Retry-After` says when to come back", body = ErrorBody)),
    security(("basic" = []), ("session" = [], "csrf" = [])))]
pub async fn take_next(
    State(st): State<AppState>,
    Auth(actor): Auth,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let clerk = clerk_of(&actor)?;
    let now = now_millis();
    let until = st.cfg.review.claim_until(now);
    match st.repo.claim_next(clerk, now, until).await? {
        Some(d) => Ok((
            StatusCode::OK,
            Json(json!({"code": d.code, "claim_until": until})),
        )),
        None => Err(AppError::NotFound("dossier waiting for review")),
    }
}

/// `POST /api/v1/dossiers/{code}/claim`: takes the dossier, or renews the clerk's own claim.
#[utoipa::path(post, path = "/api/v1/dossiers/{code}/claim", tag = "review", params(("code" = String, Path, description = "The dossier code")),
    responses((status = 200, description = "`{code, claim_until}`", body = Value),
        (status = 401, description = "No or unknown credentials", body = ErrorBody), (status = 403, description = "Not a clerk (or, with the session cookie, no CSRF token)", body = ErrorBody), (status = 404, description = "No such dossier in the clerk's unit", body = ErrorBody), (status = 409, description = "`not_claimed`, `claimed_by_other` (details: holder), `invalid_transition`", body = ErrorBody), (status = 503, description = "Database unreachable; `Retry-After` says when to come back", body = ErrorBody)),
    security(("basic" = []), ("session" = [], "csrf" = [])))]
pub async fn claim(
    State(st): State<AppState>,
    Path(code): Path<String>,
    Auth(actor): Auth,
) -> Result<Json<Value>, AppError> {
    let (clerk, d) = own_dossier(&st, &actor, &code).await?;
    let now = now_millis();
    match st
        .repo
        .claim_dossier(&d, clerk, now, st.cfg.review.claim_until(now))
        .await?
    {
        ClaimOutcome::Claimed(until) => Ok(Json(json!({"code": d.code, "claim_until": until}))),
        ClaimOutcome::HeldBy(holder) => Err(AppError::ClaimedByOther(holder)),
        ClaimOutcome::NotAllowed(e) => Err(AppError::InvalidTransition(e.to_string())),
    }
}

/// `DELETE /api/v1/dossiers/{code}/claim`: gives the dossier back to the queue.
#[utoipa::path(delete, path = "/api/v1/dossiers/{code}/claim", tag = "review", params(("code" = String, Path, description = "The dossier code")),
    responses((status = 200, description = "`{code, state}`", body = Value),
        (status = 401, description = "No or unknown credentials", body = ErrorBody), (status = 403, description = "Not a clerk (or, with the session cookie, no CSRF token)", body = ErrorBody), (status = 404, description = "No such dossier in the clerk's unit", body = ErrorBody), (status = 409, description = "`not_claimed`, `claimed_by_other` (details: holder), `invalid_transition`", body = ErrorBody), (status = 503, description = "Database unreachable; `Retry-After` says when to come back", body = ErrorBody)),
    security(("basic" = []), ("session" = [], "csrf" = [])))]
pub async fn release(
    State(st): State<AppState>,
    Path(code): Path<String>,
    Auth(actor): Auth,
) -> Result<Json<Value>, AppError> {
    let (clerk, d) = own_dossier(&st, &actor, &code).await?;
    let state = st
        .repo
        .decide(&d, clerk, Event::Release, None, now_millis())
        .await?
        .map_err(refusal)?;
    Ok(Json(json!({"code": d.code, "state": state})))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// `approve`, `return` or `reject`.
    action: String,
    reason: Option<String>,
    /// Dismissals of open review flags, each with the clerk's note.
    #[serde(default)]
    dismiss: Vec<Dismiss>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Dismiss {
    code: String,
    check: String,
    message: String,
    note: String,
}

/// `POST /api/v1/dossiers/{code}/decision`: approve, return to the citizen (with the reason
/// they will read) or reject; open review flags may be dismissed with a note in the same call.
#[utoipa::path(post, path = "/api/v1/dossiers/{code}/decision", tag = "review", params(("code" = String, Path, description = "The dossier code")),
    request_body = DecisionBody,
    responses((status = 200, description = "`{code, state}`", body = Value),
        (status = 400, description = "Unknown action, missing reason or note", body = ErrorBody),
        (status = 401, description = "No or unknown credentials", body = ErrorBody), (status = 403, description = "Not a clerk (or, with the session cookie, no CSRF token)", body = ErrorBody), (status = 404, description = "No such dossier in the clerk's unit, or no such open flag", body = ErrorBody),
        (status = 409, description = "`not_reviewed` (details: fields and flags still pending), `not_claimed`, `invalid_transition`", body = ErrorBody), (status = 503, description = "Database unreachable; `Retry-After` says when to come back", body = ErrorBody)),
    security(("basic" = []), ("session" = [], "csrf" = [])))]
pub async fn decide(
    State(st): State<AppState>,
    Path(code): Path<String>,
    Auth(actor): Auth,
    body: Result<Json<DecisionBody>, JsonRejection>,
) -> Result<Json<Value>, AppError> {
    // Who may ask comes before what they ask.
    let (clerk, d) = own_dossier(&st, &actor, &code).await?;
    let Json(req) = body.map_err(AppError::from)?;
    let event = match req.action.as_str() {
        "approve" => Event::Approve,
        "return" => Event::Return,
        "reject" => Event::Reject,
        other => {
            return Err(AppError::BadRequest(format!(
                "action must be approve, return or reject, not {other:?}"
            )));
        }
    };
    let reason = note(req.reason.as_deref(), "reason")?;
    if event.needs_reason() && reason.is_none() {
        return Err(AppError::BadRequest(format!(
            "{} needs a reason for the citizen",
            req.action
        )));
    }
    let now = now_millis();
    for x in &req.dismiss {
        let text = note(Some(&x.note), "note")?
            .ok_or_else(|| AppError::BadRequest("a dismissed flag needs a note".into()))?;
        let flag = ReviewFlag {
            code: x.code.clone(),
            check: x.check.clone(),
            message: x.message.clone(),
            fields: Vec::new(),
        };
        st.repo
            .dismiss_flag(&d, &flag, &text, clerk, now)
            .await?
            .map_err(|r| match r {
                Refusal::NotFound => AppError::NotFound("review flag"),
                r => refusal(r),
            })?;
    }
    // Read once: approval checks them, and the metrics count the untouched ones. The clerk
    // holds the claim, so they cannot change in between.
    let fields = if event == Event::Approve {
        st.repo.dossier_fields(d.id).await?
    } else {
        Vec::new()
    };
    if event == Event::Approve {
        let pending = pending_for_approval(&st, &d, &fields).await?;
        if !pending.is_empty() {
            return Err(AppError::NotReviewed { pending });
        }
    }
    let state = st
        .repo
        .decide(&d, clerk, event, reason.as_deref(), now)
        .await?
        .map_err(refusal)?;
    // The dossier as read before the decision: in review since the clerk took it.
    let claimed_for = (d.status == DossierState::InReview.as_str())
        .then(|| (now - d.state_since) as f64 / 1000.0);
    super::stats::count_decision(&req.action, claimed_for, &fields);
    Ok(Json(json!({"code": d.code, "state": state})))
}

/// What stands between the dossier and approval: required fields neither valid nor confirmed,
/// and review flags nobody dismissed.
async fn pending_for_approval(
    st: &AppState,
    d: &Dossier,
    fields: &[FieldRecord],
) -> Result<Vec<Value>, AppError> {
    let models = st.defs.extractor.models();
    let mut pending = Vec::new();
    for r in fields {
        let required = models
            .iter()
            .find(|m| m.id == r.model)
            .and_then(|m| m.fields.iter().find(|f| f.name == r.field.name))
            .is_some_and(|f| f.required);
        let settled = r.field.value.is_some()
            && (r.field.validation.status == ValidationStatus::Valid || r.confirmed_by.is_some());
        if required && !settled {
            pending.push(json!({"kind": "field", "id": r.id, "name": r.field.name}));
        }
    }
    for f in st.repo.flag_views(d.id).await? {
        if f.dismissed.is_none() {
            pending.push(json!({"kind": "flag", "flag": f.flag}));
        }
    }
    Ok(pending)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(ToSchema)]
pub struct FieldEdit {
    /// The field's version the clerk saw.
    version: i64,
    /// Absent: confirm the value as it is.
    value: Option<String>,
}

#[utoipa::path(put, path = "/api/v1/dossiers/{code}/fields/{id}", tag = "review",
    params(("code" = String, Path, description = "The dossier code"), ("id" = i64, Path, description = "Field id")),
    request_body = FieldEdit,
    responses((status = 200, description = "The field as stored now (new `version`, `confirmed_by`)", body = Value),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "No or unknown credentials", body = ErrorBody), (status = 403, description = "Not a clerk (or, with the session cookie, no CSRF token)", body = ErrorBody), (status = 404, description = "No such dossier in the clerk's unit, or no such field", body = ErrorBody),
        (status = 409, description = "`stale_version` (details: the field now), `not_claimed`", body = ErrorBody),
        (status = 422, description = "`invalid_value`: the field's validator refuses the value; the message says why", body = ErrorBody), (status = 503, description = "Database unreachable; `Retry-After` says when to come back", body = ErrorBody)),
    security(("basic" = []), ("session" = [], "csrf" = [])))]
/// `PUT /api/v1/dossiers/{code}/fields/{id}`: `{version, value}` corrects the field,
/// `{version}` confirms it. The value is normalized and validated like an OCR value (422 with
/// the validator's message when refused); a stale version is 409 with the current field.
pub async fn edit_field(
    State(st): State<AppState>,
    Path((code, id)): Path<(String, i64)>,
    Auth(actor): Auth,
    body: Result<Json<FieldEdit>, JsonRejection>,
) -> Result<Json<Value>, AppError> {
    // Who may ask comes before what they ask.
    let (clerk, d) = own_dossier(&st, &actor, &code).await?;
    let Json(req) = body.map_err(AppError::from)?;
    let value = match req.value.as_deref() {
        None => None,
        Some(v) => Some(corrected_value(&st, &d, id, v).await?),
    };
    let change = match &value {
        None => FieldChange::Confirm,
        Some(v) => FieldChange::Correct(v),
    };
    let r = st
        .repo
        .edit_field(&d, id, req.version, change, clerk, now_millis())
        .await?
        .map_err(refusal)?;
    super::stats::count_field_change(value.is_some());
    if value.is_some() {
        // The correction may settle (or raise) a cross-document disagreement.
        crate::extract::crosscheck::refresh_flags(st.repo.as_ref(), &st.defs.procedures, d.id)
            .await?;
    }
    Ok(Json(field_json(&r)))
}

/// The clerk's value as the field's type normalizes it.
async fn corrected_value(
    st: &AppState,
    d: &Dossier,
    id: i64,
    raw: &str,
) -> Result<String, AppError> {
    let value = crate::text::nfc(raw.trim());
    if value.is_empty() || value.chars().count() > 500 {
        return Err(AppError::BadRequest(
            "value must be 1 to 500 characters".into(),
        ));
    }
    let current = st
        .repo
        .dossier_fields(d.id)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(AppError::NotFound("field"))?;
    let spec = st
        .defs
        .extractor
        .models()
        .iter()
        .find(|m| m.id == current.model)
        .and_then(|m| m.fields.iter().find(|f| f.name == current.field.name));
    Ok(match spec {
        Some(spec) => {
            crate::extract::fields::normalize(spec.kind, &value)
                .map_err(AppError::InvalidValue)?
                .value
        }
        None => value,
    })
}

/// `GET /api/v1/dossiers/{code}/history`: the audit trail, oldest first.
#[utoipa::path(get, path = "/api/v1/dossiers/{code}/history", tag = "review",
    params(("code" = String, Path, description = "The dossier code")),
    responses((status = 200, description = "`{code, history: [{at, actor, event, from, to, reason, old, new}]}`", body = Value),
        (status = 401, description = "No or unknown credentials", body = ErrorBody), (status = 403, description = "Not a clerk", body = ErrorBody),
        (status = 404, description = "No such dossier in the clerk's unit", body = ErrorBody), (status = 503, description = "Database or blob store unreachable; `Retry-After` says when to come back", body = ErrorBody)),
    security(("basic" = []), ("session" = [])))]
pub async fn history(
    State(st): State<AppState>,
    Path(code): Path<String>,
    Auth(actor): Auth,
) -> Result<Json<Value>, AppError> {
    let (_, d) = own_dossier(&st, &actor, &code).await?;
    Ok(Json(
        json!({"code": d.code, "history": st.repo.history(d.id).await?}),
    ))
}
