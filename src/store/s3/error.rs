//! S3 SDK errors → [`StoreError`]: what may pass (no connection, timeouts, throttling, 5xx) is
//! `Unavailable`, so the API answers 503 and workers retry later; a missing object is `NotFound`;
//! the rest (credentials refused, missing bucket, bad request) is `Backend`: a configuration
//! error that waiting will not fix.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::store::StoreError;

/// Maps the error of operation `op` on `key`.
pub(super) fn map<E>(op: &str, key: &str, e: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e.code().unwrap_or_default().to_string();
    let text = format!("S3 {op} {key}: {}", DisplayErrorContext(&e));
    let transient_code = matches!(
        code.as_str(),
        "SlowDown" | "RequestTimeout" | "ServiceUnavailable" | "InternalError"
    );
    match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => StoreError::Unavailable(text),
        _ if code == "NoSuchBucket" => StoreError::Backend(text),
        _ if status == Some(404) || code == "NoSuchKey" => StoreError::NotFound(key.to_string()),
        _ if transient_code || status.is_some_and(|s| s >= 500 || s == 429) => {
            StoreError::Unavailable(text)
        }
        // A response that could not be read: the connection broke mid-way.
        SdkError::ResponseError(_) => StoreError::Unavailable(text),
        _ => StoreError::Backend(text),
    }
}

/// A body stream that broke off: the connection, which may pass.
pub(super) fn body(op: &str, key: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("S3 {op} {key}: {e}"))
}
