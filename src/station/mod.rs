//! `motcua station`: the uploader of a commune's scanner PC. It watches the hot folder (change
//! events, and a scan every `poll_secs` for network shares, which send none), records every
//! ready file in a durable spool ([`spool`]), and sends it over tus ([`client`]), resuming
//! after a dropped link, a killed process or a reboot; failures are retried with exponential
//! backoff and jitter. A file leaves the folder only after the server has answered: acknowledged
//! (`sent/`) or refused (`failed/`, with a `.reason` holding the server's error code).
//! `motcua station status` lists the spool.

mod client;
mod folder;
mod spool;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::sync::CancellationToken;

use self::client::{Api, ApiError, Progress};
use self::folder::{FAILED_DIR, SENT_DIR, Stability};
use self::spool::{NewFile, Spool, SpoolFile};
use crate::config::{Config, StationConfig};
use crate::domain::{Millis, now_millis};

/// The spool file of this configuration.
pub fn spool_path(cfg: &Config) -> PathBuf {
    cfg.station
        .spool
        .clone()
        .unwrap_or_else(|| cfg.server.data_dir.join("station.sqlite"))
}

/// Runs until `stop`.
pub async fn run(cfg: &Config, stop: CancellationToken) -> anyhow::Result<()> {
    let sc = &cfg.station;
    let problems = sc.problems();
    anyhow::ensure!(problems.is_empty(), "{}", problems.join("; "));
    let token = std::fs::read_to_string(&sc.token_file)
        .with_context(|| format!("reading the token file {}", sc.token_file.display()))?
        .trim()
        .to_string();
    std::fs::create_dir_all(&sc.watch)?;
    let spool = Spool::open(&spool_path(cfg)).await?;
    let api = Api::new(sc, token)?;
    let wake = Arc::new(tokio::sync::Notify::new());
    let _watcher = watch(&sc.watch, wake.clone());
    let mut stability = Stability::default();
    tracing::info!(watch = %sc.watch.display(), server = %sc.server, "station started");
    while !stop.is_cancelled() {
        if let Err(e) = enqueue_ready(sc, &spool, &mut stability).await {
            tracing::warn!("scanning {}: {e}", sc.watch.display());
        }
        let now = now_millis();
        if let Some(f) = spool.next_due(now).await? {
            tokio::select! {
                _ = stop.cancelled() => break,
                r = send(sc, &spool, &api, &f) => r?,
            }
            continue;
        }
        // Nothing due: wait for a change, the next retry, a file to settle, or the poll.
        let mut wait = Duration::from_secs(sc.poll_secs);
        if let Some(at) = spool.next_due_at().await? {
            wait = wait.min(Duration::from_millis((at - now).max(0) as u64));
        }
        if stability.waiting() > 0 {
            wait = wait.min(Duration::from_secs(sc.stable_secs.max(1)));
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = wake.notified() => {
                // Let a burst of events (a scanner writing) settle before scanning.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            _ = tokio::time::sleep(wait) => {}
        }
    }
    tracing::info!("station stopped");
    Ok(())
}

/// Change events of the hot folder wake the loop; without them (network shares, inotify
/// limits) the poll still finds every file.
fn watch(dir: &Path, wake: Arc<tokio::sync::Notify>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let mut w = notify::recommended_watcher(move |_: notify::Result<notify::Event>| {
        wake.notify_one();
    })
    .map_err(|e| tracing::warn!("no change events, polling only: {e}"))
    .ok()?;
    match w.watch(dir, notify::RecursiveMode::Recursive) {
        Ok(()) => Some(w),
        Err(e) => {
            tracing::warn!("no change events for {}, polling only: {e}", dir.display());
            None
        }
    }
}

/// Records every ready file not already queued.
async fn enqueue_ready(
    sc: &StationConfig,
    spool: &Spool,
    stability: &mut Stability,
) -> anyhow::Result<()> {
    let root = sc.watch.clone();
    let stable = Duration::from_secs(sc.stable_secs);
    let ready = stability.ready(&root, stable)?;
    if ready.is_empty() {
        return Ok(());
    }
    let queued: std::collections::HashSet<String> =
        spool.queued_paths().await?.into_iter().collect();
    for f in ready.into_iter().filter(|f| !queued.contains(&f.rel)) {
        let sha = folder::sha256_file(root.join(&f.rel)).await?;
        spool
            .enqueue(NewFile {
                path: &f.rel,
                folder: f.folder.as_deref(),
                bytes: f.bytes,
                mtime_ms: f.mtime_ms,
                sha256: &sha,
            })
            .await?;
        tracing::info!(file = %f.rel, bytes = f.bytes, "queued");
    }
    Ok(())
}

/// One attempt at one file; a failure is recorded (retry later, or refused), never returned
/// unless the spool itself fails.
async fn send(sc: &StationConfig, spool: &Spool, api: &Api, f: &SpoolFile) -> anyhow::Result<()> {
    match attempt(sc, spool, api, f).await {
        Ok(Some(p)) => {
            let attachment = p.attachment.unwrap_or_default();
            folder::move_to(&sc.watch, &f.path, SENT_DIR)?;
            spool.mark_sent(f.id, attachment).await?;
            tracing::info!(file = %f.path, attachment, "sent");
        }
        Ok(None) => {}
        Err(ApiError::Refused { code, message, .. }) => {
            let to = folder::move_to(&sc.watch, &f.path, FAILED_DIR)?;
            let reason = format!("{code}\n{message}\n");
            std::fs::write(PathBuf::from(format!("{}.reason", to.display())), &reason)?;
            spool
                .mark_failed(f.id, &format!("{code}: {message}"))
                .await?;
            tracing::warn!(file = %f.path, code, "refused by the server");
        }
        Err(e) => {
            let at = now_millis() + backoff(sc, f.attempts);
            spool.retry_later(f.id, at, &e.to_string()).await?;
            tracing::warn!(file = %f.path, attempts = f.attempts + 1, "will retry: {e}");
        }
    }
    Ok(())
}

/// Exponential backoff with full jitter (half fixed, half random), capped.
fn backoff(sc: &StationConfig, attempts: i64) -> Millis {
    let exp = sc.retry_base_ms.saturating_mul(1 << attempts.clamp(0, 20));
    let cap = exp.min(sc.retry_max_secs * 1000);
    (cap / 2 + rand::random_range(0..=cap / 2)) as Millis
}

/// Sends the file from where the server has it; `Some` once it is an attachment, `None` when
/// the file is no longer there to send.
async fn attempt(
    sc: &StationConfig,
    spool: &Spool,
    api: &Api,
    f: &SpoolFile,
) -> Result<Option<Progress>, ApiError> {
    let path = sc.watch.join(&f.path);
    let Ok(meta) = std::fs::metadata(&path) else {
        spool.forget(f.id).await.map_err(retry)?;
        tracing::warn!(file = %f.path, "removed from the hot folder before it was sent");
        return Ok(None);
    };
    let mut f = f.clone();
    let mtime = meta.modified().map(folder::mtime_ms).unwrap_or(0);
    if meta.len() != f.bytes as u64 || mtime != f.mtime_ms {
        // Changed since it was queued: what the server has of it is stale.
        let sha = folder::sha256_file(path.clone()).await.map_err(retry)?;
        spool
            .restart(f.id, meta.len(), mtime, &sha)
            .await
            .map_err(retry)?;
        (f.bytes, f.mtime_ms, f.sha256, f.upload_url) = (meta.len() as i64, mtime, sha, None);
    }
    let dossier = match &f.dossier {
        Some(d) => d.clone(),
        None => {
            let d = dossier_for(sc, spool, api, f.folder.as_deref()).await?;
            spool.set_dossier(f.id, &d).await.map_err(retry)?;
            d
        }
    };
    let len = f.bytes as u64;
    let mut url = f.upload_url.clone();
    loop {
        let u = match url.take() {
            Some(u) => u,
            None => {
                let name = f.path.rsplit('/').next().unwrap_or(&f.path);
                let u = api.create_upload(&dossier, name, len).await?;
                spool.set_upload(f.id, Some(&u)).await.map_err(retry)?;
                u
            }
        };
        match upload_from_server_offset((spool, api, sc.chunk_bytes), &f, &path, &u, len).await {
            Err(ApiError::UploadGone) => {
                // Expired or removed on the server: a new upload, from the start.
                spool.set_upload(f.id, None).await.map_err(retry)?;
                continue;
            }
            Ok(p) if p.sha256.as_deref() != Some(f.sha256.as_str()) => {
                return Err(ApiError::Refused {
                    status: 0,
                    code: "sha256_mismatch".into(),
                    message: format!("the server has {:?}, the file is {}", p.sha256, f.sha256),
                });
            }
            r => return r.map(Some),
        }
    }
}

/// `chunk` bytes per PATCH: a dropped link costs at most the part of one not yet received.
async fn upload_from_server_offset(
    (spool, api, chunk): (&Spool, &Api, u64),
    f: &SpoolFile,
    path: &Path,
    url: &str,
    len: u64,
) -> Result<Progress, ApiError> {
    let mut p = api.progress(url).await?;
    let mut file = tokio::fs::File::open(path).await.map_err(retry)?;
    while p.attachment.is_none() {
        if p.offset >= len {
            return Err(ApiError::Retry(
                "the server has every byte but no attachment".into(),
            ));
        }
        file.seek(std::io::SeekFrom::Start(p.offset))
            .await
            .map_err(retry)?;
        let n = chunk.min(len - p.offset) as usize;
        let mut buf = vec![0u8; n];
        file.read_exact(&mut buf).await.map_err(retry)?;
        p = api.patch(url, p.offset, Bytes::from(buf)).await?;
        spool.set_offset(f.id, p.offset).await.map_err(retry)?;
    }
    Ok(p)
}

/// The dossier a folder's files go to: the folder's name when it is a dossier code of this
/// station's unit; else one made for the folder (remembered, so its files stay together), or
/// one per file at the top level.
async fn dossier_for(
    sc: &StationConfig,
    spool: &Spool,
    api: &Api,
    folder: Option<&str>,
) -> Result<String, ApiError> {
    let Some(name) = folder else {
        return api.create_dossier(&sc.procedure).await;
    };
    if let Some(code) = spool.folder_dossier(name).await.map_err(retry)? {
        return Ok(code);
    }
    let code = if api.dossier_exists(name).await? {
        name.to_string()
    } else {
        api.create_dossier(&sc.procedure).await?
    };
    spool.set_folder_dossier(name, &code).await.map_err(retry)?;
    Ok(code)
}

fn retry(e: impl std::fmt::Display) -> ApiError {
    ApiError::Retry(e.to_string())
}

/// `motcua station status`: the spool's most recent files.
pub async fn status(cfg: &Config, limit: i64) -> anyhow::Result<String> {
    let spool = Spool::open(&spool_path(cfg)).await?;
    let mut out = String::from(
        "state    bytes       sent        dossier       attachment  attempts  next_try  file\n",
    );
    let now = now_millis();
    for f in spool.list(limit).await? {
        let next = if f.state == spool::QUEUED && f.next_attempt_at > now {
            format!("{}s", (f.next_attempt_at - now + 999) / 1000)
        } else {
            "-".into()
        };
        out.push_str(&format!(
            "{:<8} {:<11} {:<11} {:<13} {:<11} {:<9} {:<9} {}{}\n",
            f.state,
            f.bytes,
            f.offset_bytes,
            f.dossier.as_deref().unwrap_or("-"),
            f.attachment_id.map_or("-".into(), |a| a.to_string()),
            f.attempts,
            next,
            f.path,
            f.last_error
                .as_deref()
                .map(|e| format!("  ({e})"))
                .unwrap_or_default()
        ));
    }
    Ok(out)
}
