//! The station's side of the API: dossiers, and tus uploads with an optional speed cap. Every
//! failure is either worth retrying (link down, server busy, 5xx) or a refusal carrying the
//! server's stable error code, which goes into the `failed/` file's `.reason`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::config::StationConfig;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// May pass: the link, the server's load or an outage.
    #[error("{0}")]
    Retry(String),
    /// The server refused the file for good.
    #[error("{code}: {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// The upload is no longer on the server (expired, removed): start a new one.
    #[error("the upload is gone from the server")]
    UploadGone,
}

impl From<reqwest::Error> for ApiError {
    fn from(e: reqwest::Error) -> Self {
        ApiError::Retry(format!("{e}"))
    }
}

/// Where an upload stands on the server.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub offset: u64,
    pub attachment: Option<i64>,
    pub sha256: Option<String>,
}

pub struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
    rate: u64,
}

impl Api {
    pub fn new(cfg: &StationConfig, token: String) -> anyhow::Result<Api> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(cfg.request_timeout_secs))
            .build()?;
        Ok(Api {
            http,
            base: cfg.server.trim_end_matches('/').to_string(),
            token,
            rate: cfg.bandwidth_bytes_per_sec,
        })
    }

    fn req(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, url)
            .bearer_auth(&self.token)
            .header("Tus-Resumable", "1.0.0")
    }

    /// Whether dossier `code` exists (and is this station's).
    pub async fn dossier_exists(&self, code: &str) -> Result<bool, ApiError> {
        let url = format!("{}/api/v1/dossiers/{code}", self.base);
        let r = self.req(reqwest::Method::GET, &url).send().await?;
        match r.status() {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(refusal(r).await),
        }
    }

    pub async fn create_dossier(&self, procedure: &str) -> Result<String, ApiError> {
        let url = format!("{}/api/v1/dossiers", self.base);
        let body = serde_json::json!({ "procedure": procedure });
        let r = self
            .req(reqwest::Method::POST, &url)
            .json(&body)
            .send()
            .await?;
        if r.status() != StatusCode::CREATED {
            return Err(refusal(r).await);
        }
        let v: Value = r.json().await?;
        v["code"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ApiError::Retry("no dossier code in the answer".into()))
    }

    /// Creates an upload of `len` bytes into `dossier`; returns its URL.
    pub async fn create_upload(
        &self,
        dossier: &str,
        filename: &str,
        len: u64,
    ) -> Result<String, ApiError> {
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let url = format!("{}/api/v1/uploads", self.base);
        let r = self
            .req(reqwest::Method::POST, &url)
            .header("Upload-Length", len)
            .header(
                "Upload-Metadata",
                format!("dossier {},filename {}", b64(dossier), b64(filename)),
            )
            .send()
            .await?;
        if r.status() != StatusCode::CREATED {
            return Err(refusal(r).await);
        }
        let location = header(&r, "location")
            .ok_or_else(|| ApiError::Retry("no Location in the answer".into()))?;
        Ok(if location.starts_with("http") {
            location
        } else {
            format!("{}{location}", self.base)
        })
    }

    pub async fn progress(&self, url: &str) -> Result<Progress, ApiError> {
        let r = self.req(reqwest::Method::HEAD, url).send().await?;
        match r.status() {
            StatusCode::OK => progress(&r),
            StatusCode::NOT_FOUND | StatusCode::GONE => Err(ApiError::UploadGone),
            _ => Err(refusal(r).await),
        }
    }

    /// Sends `chunk` at `offset`, paced to the speed cap.
    pub async fn patch(&self, url: &str, offset: u64, chunk: Bytes) -> Result<Progress, ApiError> {
        let r = self
            .req(reqwest::Method::PATCH, url)
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", offset)
            .header("Content-Length", chunk.len())
            .body(reqwest::Body::wrap_stream(paced(chunk, self.rate)))
            .send()
            .await?;
        match r.status() {
            StatusCode::NO_CONTENT => progress(&r),
            StatusCode::NOT_FOUND | StatusCode::GONE => Err(ApiError::UploadGone),
            _ => Err(refusal(r).await),
        }
    }
}

fn header(r: &Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn progress(r: &Response) -> Result<Progress, ApiError> {
    let offset = header(r, "upload-offset")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| ApiError::Retry("no Upload-Offset in the answer".into()))?;
    Ok(Progress {
        offset,
        attachment: header(r, "motcua-attachment-id").and_then(|v| v.parse().ok()),
        sha256: header(r, "motcua-attachment-sha256"),
    })
}

/// What a non-success answer means: the server's own errors that pass by themselves (5xx,
/// 408, 409 offset, 423 lock, 429, 460 checksum) are retried; other 4xx are refusals.
async fn refusal(r: Response) -> ApiError {
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let code = body["error"]["code"].as_str().unwrap_or("").to_string();
    let message = body["error"]["message"].as_str().unwrap_or("").to_string();
    let passes = status.is_server_error()
        || (matches!(status.as_u16(), 408 | 409 | 423 | 429 | 460) && code != "dossier_closed");
    if passes {
        ApiError::Retry(format!("{status} {code} {message}"))
    } else {
        ApiError::Refused {
            status: status.as_u16(),
            code: if code.is_empty() {
                format!("http_{}", status.as_u16())
            } else {
                code
            },
            message,
        }
    }
}

/// `chunk` as a stream of 16 KiB pieces, sent no faster than `rate` bytes a second (0: at once).
fn paced(
    chunk: Bytes,
    rate: u64,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    const PIECE: usize = 16 * 1024;
    let start = Instant::now();
    futures::stream::unfold((chunk, 0usize), move |(chunk, at)| async move {
        if at >= chunk.len() {
            return None;
        }
        if rate > 0 {
            let due = Duration::from_secs_f64(at as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
        let end = (at + PIECE).min(chunk.len());
        Some((Ok(chunk.slice(at..end)), (chunk, end)))
    })
}
