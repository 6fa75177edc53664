//! What a `PATCH` does: append the body to the partial upload, record how far it came, and
//! after the last byte make it an attachment. The body is read in a task of its own, so that
//! when the client goes away mid-body (and the server drops the handler) what arrived is
//! still saved and recorded.

use std::time::Duration;

use axum::body::Body;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::locks::LOCKS;
use super::{Checksum, ResumableSha256, check_owner, expiry};
use crate::decode::Format;
use crate::domain::{Actor, NewAttachment, now_millis};
use crate::intake::upload::{
    NOT_A_SUPPORTED_TYPE, SNIFF_BYTES, check_open, commit, display_name, media_type,
};
use crate::intake::{AppError, AppState, part_name};
use crate::orphans::UploadClaims;
use crate::repo::{TusProgress, TusUpload};
use crate::store::{BlobKey, PartialId, PartialWriter};

/// The caller's upload `id`; an unfinished one past its time is gone (410).
pub(super) async fn load(st: &AppState, actor: &Actor, id: &str) -> Result<TusUpload, AppError> {
    if PartialId::parse(id).is_none() {
        return Err(AppError::NotFound("upload"));
    }
    let up = st
        .repo
        .tus_upload(id)
        .await?
        .ok_or(AppError::NotFound("upload"))?;
    check_owner(actor, &up)?;
    if up.attachment_id.is_none() && up.expires_at < now_millis() {
        return Err(AppError::UploadExpired);
    }
    Ok(up)
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string())
}

async fn lock(st: &AppState, id: &str) -> Result<super::locks::Held, AppError> {
    let wait = Duration::from_millis(st.cfg.tus.takeover_wait_ms);
    LOCKS.acquire(id, wait).await.ok_or(AppError::UploadLocked)
}

/// Appends `body` at `offset`; returns the upload as recorded after it.
pub(super) async fn patch(
    st: &AppState,
    actor: &Actor,
    id: &str,
    offset: u64,
    checksum: Option<Checksum>,
    body: Body,
) -> Result<TusUpload, AppError> {
    load(st, actor, id).await?;
    let held = lock(st, id).await?;
    // Under the lock: the request it took over from may have moved the upload.
    let up = load(st, actor, id).await?;
    let (at, length) = (up.upload_offset as u64, up.upload_length as u64);
    if up.attachment_id.is_some() && offset == length {
        return Ok(up); // the final PATCH again (its answer was lost): the same answer
    }
    if offset != at || up.attachment_id.is_some() {
        return Err(AppError::OffsetMismatch { at, sent: offset });
    }
    let (st, actor) = (st.clone(), actor.clone());
    tokio::spawn(async move {
        let up = append(&st, up, checksum, body, &held.stop).await?;
        let done = if up.upload_offset == up.upload_length {
            finish(&st, &actor, up).await?
        } else {
            up
        };
        drop(held);
        Ok(done)
    })
    .await
    .map_err(internal)?
}

/// Where the upload stands. Like tusd, a `HEAD` takes the upload over from a request still
/// hanging on a dead connection, so the offset it tells includes what that one received.
/// Every byte arrived but no attachment (a crash between the two): it finishes now, or the
/// client would take the upload for done.
pub(super) async fn head(st: &AppState, actor: &Actor, id: &str) -> Result<TusUpload, AppError> {
    load(st, actor, id).await?;
    let _held = lock(st, id).await?;
    let up = load(st, actor, id).await?;
    if up.attachment_id.is_some() || up.upload_offset != up.upload_length {
        return Ok(up);
    }
    finish(st, actor, up).await
}

/// Termination: the upload and what it stored are removed (a finished one's attachment stays).
pub(super) async fn terminate(st: &AppState, actor: &Actor, id: &str) -> Result<(), AppError> {
    match load(st, actor, id).await {
        Ok(_) | Err(AppError::UploadExpired) => {}
        Err(e) => return Err(e),
    }
    let _held = lock(st, id).await?;
    let Some(up) = st.repo.tus_upload(id).await? else {
        return Err(AppError::NotFound("upload"));
    };
    remove(st, &up).await?;
    metrics::counter!("motcua_tus_uploads_total", "event" => "terminated").increment(1);
    Ok(())
}

async fn remove(st: &AppState, up: &TusUpload) -> Result<(), AppError> {
    Ok(crate::orphans::remove_upload(st.repo.as_ref(), st.store.as_ref(), up).await?)
}

/// How the body's reading ended.
enum End {
    Complete,
    /// The client went away or another request took over: keep what came.
    Cut,
    Refused(AppError),
}

async fn append(
    st: &AppState,
    mut up: TusUpload,
    mut checksum: Option<Checksum>,
    body: Body,
    stop: &CancellationToken,
) -> Result<TusUpload, AppError> {
    let pid = PartialId::parse(&up.id).ok_or(AppError::NotFound("upload"))?;
    let (from, length) = (up.upload_offset as u64, up.upload_length as u64);
    let mut hash: ResumableSha256 = serde_json::from_str(&up.hash_state).map_err(internal)?;
    let mut head = hex::decode(&up.head).map_err(internal)?;
    let sniffed = head.len() >= SNIFF_BYTES;
    let mut w = st.store.resume_partial(&pid, from, &up.store_state).await?;
    let mut stream = body.into_data_stream();
    let mut received = 0u64;
    let end = loop {
        let next = tokio::select! {
            _ = stop.cancelled() => break End::Cut,
            n = stream.next() => n,
        };
        let chunk = match next {
            None => break End::Complete,
            Some(Err(_)) => break End::Cut,
            Some(Ok(c)) => c,
        };
        if from + received + chunk.len() as u64 > length {
            break End::Refused(AppError::BadRequest(
                "the body runs past Upload-Length".into(),
            ));
        }
        if let Err(e) = w.write(&chunk).await {
            discard(w).await;
            return Err(e.into());
        }
        hash.update(&chunk);
        if let Some(c) = checksum.as_mut() {
            c.update(&chunk);
        }
        received += chunk.len() as u64;
        let want = SNIFF_BYTES.saturating_sub(head.len()).min(chunk.len());
        head.extend_from_slice(&chunk[..want]);
        let head_done = head.len() >= SNIFF_BYTES || from + received == length;
        if !sniffed && head_done && Format::sniff(&head).and_then(media_type).is_none() {
            break End::Refused(unsupported());
        }
    };
    match end {
        End::Refused(e) => {
            discard(w).await;
            if matches!(e, AppError::UnsupportedMediaType { .. }) {
                // Nothing more of this file is worth receiving.
                remove(st, &up).await?;
            }
            return Err(e);
        }
        // A cut body cannot be checked against its checksum: none of it counts.
        End::Cut if checksum.is_some() => {
            discard(w).await;
            return Err(AppError::ChecksumMismatch);
        }
        End::Complete if checksum.is_some_and(|c| !c.matches()) => {
            discard(w).await;
            metrics::counter!("motcua_tus_uploads_total", "event" => "checksum_mismatch")
                .increment(1);
            return Err(AppError::ChecksumMismatch);
        }
        _ if received == 0 => {
            discard(w).await;
            return Ok(up);
        }
        _ => {}
    }
    let state = w.commit().await?;
    let progress = TusProgress {
        offset: (from + received) as i64,
        store_state: &state,
        hash_state: &serde_json::to_string(&hash).map_err(internal)?,
        head: &hex::encode(&head),
        expires_at: expiry(st, now_millis()),
    };
    if !st
        .repo
        .record_tus_progress(&up.id, from as i64, progress)
        .await?
    {
        // Another process moved it meanwhile (PostgreSQL, several API servers).
        let at = st
            .repo
            .tus_upload(&up.id)
            .await?
            .map_or(0, |u| u.upload_offset) as u64;
        return Err(AppError::OffsetMismatch { at, sent: from });
    }
    metrics::counter!("motcua_tus_bytes_total").increment(received);
    if let Err(e) = st.store.settle_partial(&pid, &up.store_state, &state).await {
        tracing::warn!(upload = %up.id, "previous partial state not removed: {e}");
    }
    up.upload_offset = progress.offset;
    up.store_state = state.clone();
    up.hash_state = progress.hash_state.to_string();
    up.head = progress.head.to_string();
    up.expires_at = progress.expires_at;
    Ok(up)
}

async fn discard(w: Box<dyn PartialWriter>) {
    if let Err(e) = w.discard().await {
        tracing::warn!("refused bytes of a partial upload not discarded: {e}");
    }
}

fn unsupported() -> AppError {
    AppError::UnsupportedMediaType {
        rejected: vec![serde_json::json!({
            "code": AppError::FILE_UNSUPPORTED,
            "message": NOT_A_SUPPORTED_TYPE,
        })],
    }
}

/// The last byte arrived: the upload becomes an attachment and a job, committed together, as
/// a multipart file does; then the partial is removed.
async fn finish(st: &AppState, actor: &Actor, mut up: TusUpload) -> Result<TusUpload, AppError> {
    let pid = PartialId::parse(&up.id).ok_or(AppError::NotFound("upload"))?;
    let dossier = st
        .repo
        .dossier_by_code(&up.dossier_code)
        .await?
        .ok_or(AppError::NotFound("dossier"))?;
    if let Err(e) = check_open(&dossier) {
        remove(st, &up).await?;
        return Err(e);
    }
    let head = hex::decode(&up.head).map_err(internal)?;
    let Some(mime) = Format::sniff(&head).and_then(media_type) else {
        remove(st, &up).await?;
        return Err(unsupported());
    };
    let hash: ResumableSha256 = serde_json::from_str(&up.hash_state).map_err(internal)?;
    let sha256 = hash.hex();
    let mut claims = UploadClaims::new(
        st.repo.clone(),
        st.store.clone(),
        Duration::from_secs(st.cfg.orphans.claim_ttl_secs),
    );
    claims.claim(&BlobKey::original(&sha256)?).await?;
    let length = up.upload_length as u64;
    let blob = st
        .store
        .finish_partial(&pid, &up.store_state, length, &sha256)
        .await?;
    let file = NewAttachment {
        filename: Some(
            up.filename
                .as_deref()
                .map(display_name)
                .unwrap_or_else(|| part_name::by_type(None, mime)),
        ),
        original_key: blob.key.to_string(),
        sha256: blob.sha256,
        bytes: blob.bytes,
        media_type: mime.to_string(),
    };
    let added = commit(st, &dossier, &[file], claims, actor)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| internal("no attachment added"))?;
    metrics::counter!("motcua_tus_uploads_total", "event" => "finished").increment(1);
    let keep = now_millis() + st.cfg.tus.finished_keep_secs as i64 * 1000;
    st.repo
        .finish_tus_upload(&up.id, added.attachment.id, keep)
        .await?;
    if let Err(e) = st.store.delete_partial(&pid, &up.store_state).await {
        tracing::warn!(upload = %up.id, "finished partial not removed (the expiry sweep will): {e}");
    }
    up.attachment_id = Some(added.attachment.id.0);
    up.expires_at = keep;
    Ok(up)
}
