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
    let code = e.code().unwrap_or_default();
    let text = format!("S3 {op} {key}: {}", DisplayErrorContext(&e));
    match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => StoreError::Unavailable(text),
        // A response that could not be read: the connection broke mid-way.
        SdkError::ResponseError(_) => StoreError::Unavailable(text),
        _ => match classify(code, status) {
            Class::NotFound => StoreError::NotFound(key.to_string()),
            Class::Transient => StoreError::Unavailable(text),
            Class::Config => StoreError::Backend(text),
        },
    }
}

#[derive(Debug, PartialEq)]
enum Class {
    NotFound,
    Transient,
    Config,
}

/// What an S3 error answer means for us, by its code and HTTP status.
fn classify(code: &str, status: Option<u16>) -> Class {
    match code {
        // A missing bucket is a configuration error, not a missing object.
        "NoSuchBucket" => Class::Config,
        "NoSuchKey" => Class::NotFound,
        "SlowDown" | "RequestTimeout" | "ServiceUnavailable" | "InternalError" => Class::Transient,
        // The body arrived short or altered (the checksums disagree): the bytes were damaged
        // or cut on the way, and sending them again is the cure.
        "BadDigest" | "XAmzContentSHA256Mismatch" | "IncompleteBody" | "InvalidDigest" => {
            Class::Transient
        }
        _ => match status {
            Some(404) => Class::NotFound,
            Some(s) if s >= 500 || s == 429 => Class::Transient,
            _ => Class::Config,
        },
    }
}

/// A body stream that broke off: the connection, which may pass.
pub(super) fn body(op: &str, key: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("S3 {op} {key}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_sorted_into_missing_passing_and_configuration() {
        for (code, status, class) in [
            ("NoSuchKey", Some(404), Class::NotFound),
            ("", Some(404), Class::NotFound),
            ("NoSuchBucket", Some(404), Class::Config),
            ("InternalError", Some(500), Class::Transient),
            ("SlowDown", Some(503), Class::Transient),
            ("", Some(502), Class::Transient),
            ("", Some(429), Class::Transient),
            ("BadDigest", Some(400), Class::Transient),
            ("XAmzContentSHA256Mismatch", Some(400), Class::Transient),
            ("IncompleteBody", Some(400), Class::Transient),
            ("AccessDenied", Some(403), Class::Config),
            ("InvalidAccessKeyId", Some(403), Class::Config),
            ("InvalidBucketName", Some(400), Class::Config),
            ("", None, Class::Config),
        ] {
            assert_eq!(classify(code, status), class, "{code} {status:?}");
        }
    }
}
