//! The intake HTTP API (axum): dossiers, streamed multipart uploads, results, health and metrics.
//!
//! | route | |
//! | --- | --- |
//! | `POST /api/v1/dossiers` | `{procedure, unit}` → 201 dossier (+ citizen `upload_token` from the portal) |
//! | `GET /api/v1/dossiers/{code}` | dossier, attachments, job state, pages with text, fields |
//! | `GET /api/v1/review/queue` | clerk: the unit's dossiers oldest first, counts per state |
//! | `POST /api/v1/review/next` | clerk: claim the oldest dossier waiting for review |
//! | `POST`/`DELETE /api/v1/dossiers/{code}/claim` | clerk: take (renew) / give back |
//! | `PUT /api/v1/dossiers/{code}/fields/{id}` | clerk holding the claim: `{version, value?}` |
//! | `POST /api/v1/dossiers/{code}/decision` | `{action: approve\|return\|reject, reason, dismiss}` |
//! | `GET /api/v1/dossiers/{code}/history` | clerk: the audit trail |
//! | `GET /api/v1/review/stats?days=` | unit admins: review productivity ([`stats`]) |
//! | `POST /api/v1/dossiers/{code}/attachments` | multipart, one or more files → 202 receipt |
//! | `OPTIONS`/`POST /api/v1/uploads`, `HEAD`/`PATCH`/`DELETE /api/v1/uploads/{id}` | resumable uploads, tus 1.0 ([`tus`]) |
//! | `GET /api/v1/dossiers/{code}/attachments/{id}/original` | the file as uploaded |
//! | `GET /api/v1/dossiers/{code}/attachments/{id}/pdf` | the searchable PDF (409 until done) |
//! | `GET /healthz`, `/readyz`, `/metrics` | liveness, readiness (DB + store), Prometheus |
//! | `GET /api/v1/openapi.json` | the OpenAPI 3 document of all of the above ([`openapi`]) |
//! | `/review/…` | the clerks' web UI ([`crate::web`]); its session cookie also works here |

pub mod auth;
pub mod body_rate;
#[cfg(test)]
mod compression_tests;
mod dossiers;
pub mod error;
pub mod lookup;
pub mod openapi;
#[cfg(test)]
mod openapi_tests;
mod ops;
mod part_name;
mod review;
#[cfg(test)]
mod review_tests;
pub mod stats;
#[cfg(test)]
mod tests;
mod tus;
mod upload;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware;
use axum::response::Response;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::Notify;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Config;
use crate::repo::Repo;
use crate::store::BlobStore;

pub use error::AppError;

#[derive(Clone)]
pub struct AppState {
    pub repo: Arc<dyn Repo>,
    pub store: Arc<dyn BlobStore>,
    pub cfg: Arc<Config>,
    /// Wakes idle workers of this process when an upload is committed.
    pub wake: Arc<Notify>,
    /// `None`: no recorder installed (tests), `/metrics` is empty.
    pub metrics: Option<PrometheusHandle>,
    /// Document models: a clerk's correction is normalized like the field's OCR value.
    pub defs: crate::extract::Definitions,
}

/// The JSON API, each route from its handler's `#[utoipa::path]`, with the document it makes.
fn api_routes(body_limit: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .routes(routes!(openapi::serve))
        .routes(routes!(dossiers::create))
        .routes(routes!(dossiers::show))
        .routes(routes!(review::queue))
        .routes(routes!(review::take_next))
        .routes(routes!(stats::stats))
        .routes(routes!(review::claim, review::release))
        .routes(routes!(review::decide))
        .routes(routes!(review::history))
        .routes(routes!(review::edit_field))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(upload::upload))
                .layer(DefaultBodyLimit::max(body_limit)),
        )
        .merge(
            OpenApiRouter::new()
                .routes(routes!(tus::options, tus::create))
                .routes(routes!(tus::head, tus::patch, tus::terminate))
                .layer(middleware::map_response(tus::tus_resumable)),
        )
        .routes(routes!(dossiers::original))
        .routes(routes!(dossiers::pdf))
        .routes(routes!(dossiers::retry))
}

/// What a connection past the caps gets (`service::http`): liveness answered as usual, every
/// other request a 503 `too_many_connections`.
pub fn overflow_router(retry_after_secs: u64) -> Router {
    Router::new()
        .route("/healthz", axum::routing::get(ops::healthz))
        .fallback(move || async move {
            let mut r = axum::response::IntoResponse::into_response(AppError::TooManyConnections);
            r.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs));
            r
        })
}

pub fn router(state: AppState) -> Router {
    let body_limit = usize::try_from(state.cfg.server.max_request_bytes).unwrap_or(usize::MAX);
    let retry_after = HeaderValue::from(state.cfg.server.retry_after_secs);
    let (api, _doc) = api_routes(body_limit).split_for_parts();
    let floor = body_rate::Floor {
        bytes_per_sec: state.cfg.server.min_body_bytes_per_sec,
        window: std::time::Duration::from_secs(state.cfg.server.body_rate_window_secs),
    };
    api.merge(crate::web::routes())
        .fallback(|| async { AppError::NotFound("route") })
        .layer(middleware::map_response(error::json_errors))
        .layer(middleware::map_request(
            move |r| async move { floor.guard(r) },
        ))
        // Every 503 (database or store unreachable) tells clients when to come back.
        .layer(middleware::map_response(move |mut r: Response| {
            let retry_after = retry_after.clone();
            async move {
                if r.status() == StatusCode::SERVICE_UNAVAILABLE {
                    r.headers_mut().entry(RETRY_AFTER).or_insert(retry_after);
                }
                r
            }
        }))
        .layer(compression(state.cfg.server.compress))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Gzip for text (pages, JSON, scripts, styles, metrics); never for images (already
/// compressed), PDFs or other binary downloads, which would cost CPU for nothing.
fn compression(on: bool) -> CompressionLayer<impl Predicate> {
    let binary = DefaultPredicate::new()
        .and(NotForContentType::const_new("application/pdf"))
        .and(NotForContentType::const_new("application/octet-stream"));
    CompressionLayer::new()
        .no_br()
        .no_deflate()
        .no_zstd()
        .gzip(on)
        .compress_when(binary)
}
