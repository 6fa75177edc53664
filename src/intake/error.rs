//! Every error the API returns: HTTP status and stable `code` are defined here and nowhere else.
//! Body: `{"error": {"code": "...", "message": "..."}}` (plus `details` where useful).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::repo::RepoError;
use crate::store::StoreError;

/// The body of every error response.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable and machine-readable, e.g. `not_found`, `stale_version`, `claimed_by_other`.
    #[schema(value_type = String, example = "not_found")]
    code: &'static str,
    /// For people; may change between versions.
    message: String,
    /// Where the code has more to say: the refused files, the claim holder, the current field,
    /// what approval still waits for.
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<serde_json::Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("missing or unknown credentials")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(&'static str),
    /// A state-changing request with the session cookie but without its CSRF token.
    #[error("the request does not carry the session's CSRF token (X-CSRF-Token)")]
    CsrfFailed,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    BadRequest(String),
    /// A value the field's type refuses (a clerk's correction).
    #[error("invalid value: {0}")]
    InvalidValue(String),
    #[error("malformed multipart body: {0}")]
    Multipart(String),
    #[error("the request body exceeds {limit} bytes")]
    RequestTooLarge { limit: u64 },
    #[error("a file exceeds {limit} bytes")]
    FileTooLarge { limit: u64 },
    #[error("more than {limit} files in one request")]
    TooManyFiles { limit: usize },
    #[error("the request has no file")]
    NoFiles,
    #[error("no file of the request is a supported type (JPEG, PNG, TIFF, WebP, image-only PDF)")]
    UnsupportedMediaType { rejected: Vec<serde_json::Value> },
    #[error("{0} is not ready")]
    NotReady(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// The workflow does not allow this move from the dossier's state.
    #[error("{0}")]
    InvalidTransition(String),
    /// Another clerk holds the dossier; `details` says who and until when.
    #[error("the dossier is claimed by {}", .0.username)]
    ClaimedByOther(crate::repo::ClaimInfo),
    /// A clerk's write on a dossier they do not hold (never taken, or the lease ran out).
    #[error("take the dossier before changing it")]
    NotClaimed,
    /// The field changed since the clerk saw it; `details` has the current field.
    #[error("the field was changed meanwhile (now version {version})")]
    StaleVersion {
        version: i64,
        current: serde_json::Value,
    },
    /// The dossier was approved or rejected: it takes no more files.
    #[error("the dossier is {0} and takes no more files")]
    DossierClosed(String),
    /// Approval refused: what still needs the clerk.
    #[error("the dossier cannot be approved yet")]
    NotReviewed { pending: Vec<serde_json::Value> },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A connection past `server.max_connections` or the per-client cap.
    #[error("too many connections; try again later")]
    TooManyConnections,
    /// The request body fell below `server.min_body_bytes_per_sec`.
    #[error("{0}")]
    BodyTooSlow(String),

    /// tus: a request without `Tus-Resumable: 1.0.0`.
    #[error("unsupported tus version {0:?}; this server speaks 1.0.0")]
    TusVersion(String),
    /// tus: `Upload-Offset` is not where the upload stands (a `HEAD` tells where).
    #[error("the upload is at offset {at}, not {sent}")]
    OffsetMismatch { at: u64, sent: u64 },
    /// tus: the body does not hash to its `Upload-Checksum`; nothing of it was kept.
    #[error("the body does not match Upload-Checksum; nothing of it was kept")]
    ChecksumMismatch,
    #[error("the upload expired and was removed")]
    UploadExpired,
    /// tus: an earlier request still holds the upload and did not let go in time.
    #[error("the upload is busy with another request; try again")]
    UploadLocked,
    #[error("{limit} unfinished uploads already; finish or end one first")]
    TooManyUploads { limit: u32 },
    #[error("the file is empty")]
    EmptyFile,

    #[error("internal error")]
    Internal(String),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) | AppError::CsrfFailed => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) | AppError::Multipart(_) | AppError::NoFiles => {
                StatusCode::BAD_REQUEST
            }
            AppError::RequestTooLarge { .. }
            | AppError::FileTooLarge { .. }
            | AppError::TooManyFiles { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::NotReady(_)
            | AppError::Conflict(_)
            | AppError::InvalidTransition(_)
            | AppError::ClaimedByOther(_)
            | AppError::NotClaimed
            | AppError::StaleVersion { .. }
            | AppError::NotReviewed { .. }
            | AppError::DossierClosed(_) => StatusCode::CONFLICT,
            AppError::Unavailable(_) | AppError::TooManyConnections => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::BodyTooSlow(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::TusVersion(_) => StatusCode::PRECONDITION_FAILED,
            AppError::OffsetMismatch { .. } => StatusCode::CONFLICT,
            // The tus checksum extension's own status.
            AppError::ChecksumMismatch => StatusCode::from_u16(460).expect("valid status"),
            AppError::UploadExpired => StatusCode::GONE,
            AppError::UploadLocked => StatusCode::LOCKED,
            AppError::TooManyUploads { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::EmptyFile => StatusCode::BAD_REQUEST,
            AppError::InvalidValue(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable, machine-readable: part of the API, never renamed.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::CsrfFailed => "csrf_failed",
            AppError::NotFound(_) => "not_found",
            AppError::BadRequest(_) => "bad_request",
            AppError::InvalidValue(_) => "invalid_value",
            AppError::Multipart(_) => "malformed_multipart",
            AppError::RequestTooLarge { .. } => "request_too_large",
            AppError::FileTooLarge { .. } => "file_too_large",
            AppError::TooManyFiles { .. } => "too_many_files",
            AppError::NoFiles => "no_files",
            AppError::UnsupportedMediaType { .. } => "unsupported_media_type",
            AppError::NotReady(_) => "not_ready",
            AppError::Conflict(_) => "conflict",
            AppError::InvalidTransition(_) => "invalid_transition",
            AppError::ClaimedByOther(_) => "claimed_by_other",
            AppError::NotClaimed => "not_claimed",
            AppError::StaleVersion { .. } => "stale_version",
            AppError::NotReviewed { .. } => "not_reviewed",
            AppError::DossierClosed(_) => "dossier_closed",
            AppError::Unavailable(_) => "unavailable",
            AppError::TooManyConnections => "too_many_connections",
            AppError::BodyTooSlow(_) => "body_too_slow",
            AppError::TusVersion(_) => "tus_version_unsupported",
            AppError::OffsetMismatch { .. } => "offset_mismatch",
            AppError::ChecksumMismatch => "checksum_mismatch",
            AppError::UploadExpired => "upload_expired",
            AppError::UploadLocked => "upload_locked",
            AppError::TooManyUploads { .. } => "too_many_uploads",
            AppError::EmptyFile => Self::FILE_EMPTY,
            AppError::Internal(_) => "internal",
        }
    }

    /// Code of a file refused inside an otherwise accepted batch.
    pub const FILE_UNSUPPORTED: &'static str = "unsupported_media_type";
    pub const FILE_EMPTY: &'static str = "empty_file";
    /// A part with neither a file name nor file content (a form field).
    pub const PART_NOT_A_FILE: &'static str = "not_a_file";

    /// A multipart read error: the body limit shows up here as 413.
    pub fn from_multipart(e: axum::extract::multipart::MultipartError, limit: u64) -> Self {
        if let Some(slow) = super::body_rate::too_slow(&e) {
            AppError::BodyTooSlow(slow.to_string())
        } else if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::RequestTooLarge { limit }
        } else {
            AppError::Multipart(e.body_text())
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let AppError::Internal(detail) = &self {
            // Details stay in the log; the client gets the code only.
            tracing::error!(code = self.code(), "{detail}");
        }

        metrics::counter!("motcua_http_errors_total", "code" => self.code()).increment(1);
        let details = match &self {
            AppError::UnsupportedMediaType { rejected } => Some(json!(rejected)),
            AppError::ClaimedByOther(c) => Some(json!(c)),
            AppError::StaleVersion { current, .. } => Some(current.clone()),
            AppError::NotReviewed { pending } => Some(json!(pending)),
            _ => None,
        };
        let error = ErrorDetail {
            code: self.code(),
            message: self.to_string(),
            details,
        };
        (status, Json(ErrorBody { error })).into_response()
    }
}

/// Axum's own bound on JSON bodies (`DefaultBodyLimit`, not raised for the JSON routes).
pub const JSON_BODY_LIMIT: u64 = 2 * 1024 * 1024;

impl From<axum::extract::rejection::JsonRejection> for AppError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        if let Some(slow) = super::body_rate::too_slow(&e) {
            AppError::BodyTooSlow(slow.to_string())
        } else if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::RequestTooLarge {
                limit: JSON_BODY_LIMIT,
            }
        } else {
            AppError::BadRequest(e.body_text())
        }
    }
}

impl From<RepoError> for AppError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::Conflict(what) => AppError::Conflict(format!("{what} already exists")),
            RepoError::NotFound(_) => AppError::NotFound("record"),
            RepoError::Unavailable(e) => {
                // The cause (addresses, driver text) stays in the log.
                tracing::warn!("database unavailable: {e}");
                AppError::Unavailable("the database cannot be reached; try again later".into())
            }
            RepoError::Db(e) => AppError::Internal(e),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => AppError::NotFound("blob"),
            // 503 + Retry-After: the client sends again later; nothing was committed.
            StoreError::Unavailable(m) => {
                tracing::warn!("blob store unavailable: {m}");
                AppError::Unavailable("the blob store cannot be reached; try again later".into())
            }
            e => AppError::Internal(e.to_string()),
        }
    }
}

impl From<crate::orphans::SweepError> for AppError {
    fn from(e: crate::orphans::SweepError) -> Self {
        match e {
            crate::orphans::SweepError::Repo(e) => e.into(),
            crate::orphans::SweepError::Store(e) => e.into(),
        }
    }
}

/// The one JSON error shape for what the framework answers itself: path or query parameters that
/// do not parse, bodies it refuses (too large, not JSON), methods a route does not have. Its text
/// becomes the message; the code follows the status. Our own errors are JSON already, and the
/// review UI's pages are HTML.
pub async fn json_errors(r: Response) -> Response {
    let status = r.status();
    let typed = r
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || typed {
        return r;
    }
    let (parts, body) = r.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "request_too_large",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_value",
        StatusCode::REQUEST_TIMEOUT => "body_too_slow",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_client_error() => "bad_request",
        _ => "internal",
    };
    metrics::counter!("motcua_http_errors_total", "code" => code).increment(1);
    let error = ErrorDetail {
        code,
        message,
        details: None,
    };
    let mut out = (status, Json(ErrorBody { error })).into_response();
    // What the framework said beside the body stays (`Allow` of a 405).
    for (k, v) in parts.headers.iter() {
        if k != axum::http::header::CONTENT_TYPE && k != axum::http::header::CONTENT_LENGTH {
            out.headers_mut().entry(k).or_insert(v.clone());
        }
    }
    out
}
