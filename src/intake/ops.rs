//! Liveness, readiness and Prometheus metrics.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::AppState;
use super::error::{AppError, ErrorBody};

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = r#"`{"status": "ok"}`"#, body = Value)))]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Ready when the database answers and the store takes a write.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, description = r#"`{"status": "ready"}`"#, body = Value), (status = 503, description = "Database or blob store unreachable; `Retry-After` says when to come back", body = ErrorBody)))]
pub async fn readyz(State(st): State<AppState>) -> Result<Json<Value>, AppError> {
    st.repo
        .ping()
        .await
        .map_err(|e| AppError::Unavailable(format!("database: {e}")))?;
    st.store
        .check_writable()
        .await
        .map_err(|e| AppError::Unavailable(format!("blob store: {e}")))?;
    Ok(Json(json!({ "status": "ready" })))
}

/// Prometheus text format: requests, queue depth, dossiers per state, transitions, review work.
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "Prometheus exposition format", content_type = "text/plain"), (status = 503, description = "Database or blob store unreachable; `Retry-After` says when to come back", body = ErrorBody)))]
pub async fn metrics(State(st): State<AppState>) -> Result<impl IntoResponse, AppError> {
    // Queue depth is read from the database at scrape time: it counts jobs of every process
    // sharing it, not just this one's.
    for (state, n) in st.repo.depth().await? {
        metrics::gauge!("motcua_queue_jobs", "state" => state.as_str()).set(n as f64);
    }
    let counts = st.repo.state_counts(None).await?;
    for state in crate::domain::workflow::ALL_STATES {
        let n = counts
            .iter()
            .find(|(s, _)| *s == state)
            .map_or(0, |(_, n)| *n);
        metrics::gauge!("motcua_dossiers", "state" => state.as_str()).set(n as f64);
    }
    let body = st.metrics.as_ref().map(|h| h.render()).unwrap_or_default();
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body))
}
