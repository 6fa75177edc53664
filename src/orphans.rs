//! No orphan originals. An upload claims each original's key before the store is asked whether
//! it already holds those bytes, and drops its claims in the transaction that commits its rows;
//! a refused or cut upload removes what it stored at once ([`UploadClaims`] on drop), and a
//! sweep removes what crashes leave. The sweep deletes a blob only while it holds the key
//! against new claims ([`crate::repo::BlobClaimRepo::lock_orphan`]) and no row or live claim
//! references it, so an upload can never deduplicate onto a blob being deleted.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::config::OrphansConfig;
use crate::domain::{Millis, now_millis};
use crate::repo::{Repo, RepoError};
use crate::store::{BlobKey, BlobStore, StoreError};

/// Keys checked against the attachments per query.
const BATCH: usize = 500;

/// The claims of one upload request. Dropped without [`UploadClaims::settle`] (refused, failed,
/// or the client went away mid-body), it drops them and removes the originals no one else
/// references, in a spawned task.
pub struct UploadClaims {
    repo: Arc<dyn Repo>,
    store: Arc<dyn BlobStore>,
    id: String,
    keys: Vec<BlobKey>,
    ttl_ms: Millis,
    settled: bool,
}

impl UploadClaims {
    pub fn new(repo: Arc<dyn Repo>, store: Arc<dyn BlobStore>, ttl: Duration) -> Self {
        Self {
            repo,
            store,
            id: uuid::Uuid::new_v4().simple().to_string(),
            keys: Vec::new(),
            ttl_ms: ttl.as_millis() as Millis,
            settled: false,
        }
    }

    /// What `add_attachments` is given to settle these claims with the rows.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Claims `key`, to be called before the blob is published.
    pub async fn claim(&mut self, key: &BlobKey) -> Result<(), RepoError> {
        if !self.keys.contains(key) {
            self.keys.push(key.clone());
        }
        self.repo
            .claim_blob(&self.id, key.as_str(), now_millis() + self.ttl_ms)
            .await
    }

    /// The rows are committed (and the claims with them): nothing to undo.
    pub fn settle(mut self) {
        self.settled = true;
    }
}

impl Drop for UploadClaims {
    fn drop(&mut self) {
        if self.settled || self.keys.is_empty() {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return; // the claims expire and the sweep removes the blobs
        };
        let (repo, store) = (self.repo.clone(), self.store.clone());
        let (id, keys) = (std::mem::take(&mut self.id), std::mem::take(&mut self.keys));
        rt.spawn(async move {
            match release(&*repo, &*store, &id, &keys).await {
                Ok(n) if n > 0 => tracing::info!(removed = n, "originals of a refused upload"),
                Ok(_) => {}
                Err(e) => tracing::warn!("originals of a refused upload not removed yet: {e}"),
            }
        });
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Drops the claims of upload `claim` and removes those of `keys` no one references.
pub async fn release(
    repo: &dyn Repo,
    store: &dyn BlobStore,
    claim: &str,
    keys: &[BlobKey],
) -> Result<usize, SweepError> {
    repo.drop_claims(claim).await?;
    let mut removed = 0;
    for key in keys {
        removed += remove_if_orphan(repo, store, key, now_millis()).await? as usize;
    }
    Ok(removed)
}

/// Deletes `key` from the store if, under the lock, nothing references it.
async fn remove_if_orphan(
    repo: &dyn Repo,
    store: &dyn BlobStore,
    key: &BlobKey,
    now: Millis,
) -> Result<bool, SweepError> {
    let Some(lock) = repo.lock_orphan(key.as_str(), now).await? else {
        return Ok(false);
    };
    let deleted = store.delete(key).await;
    lock.release().await?;
    deleted?;
    Ok(true)
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// Originals looked at (old enough to be considered).
    pub considered: usize,
    pub removed: usize,
    pub expired_claims: u64,
    /// Temp files of dead writers.
    pub leftovers: usize,
    /// Resumable uploads past their `Upload-Expires` (unfinished) or kept time (finished).
    pub expired_uploads: usize,
}

/// One pass: expired claims, then every original older than `grace` that no row references and
/// no live claim holds, then the store's temp leftovers.
pub async fn sweep(
    repo: &dyn Repo,
    store: &dyn BlobStore,
    grace: Duration,
) -> Result<SweepReport, SweepError> {
    let mut report = SweepReport {
        expired_claims: repo.drop_expired_claims(now_millis()).await?,
        ..Default::default()
    };
    let cutoff = SystemTime::now() - grace;
    let mut listed = store.list("originals/");
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let next = listed.next().await.transpose()?;
        let end = next.is_none();
        if let Some(b) = next
            && b.modified.is_some_and(|m| m <= cutoff)
        {
            batch.push(b.key);
        }
        if batch.len() >= BATCH || end {
            report.considered += batch.len();
            report.removed += remove_unreferenced(repo, store, &batch).await?;
            batch.clear();
        }
        if end {
            break;
        }
    }
    report.leftovers = store.sweep_leftovers().await?;
    report.expired_uploads = expire_uploads(repo, store, now_millis()).await?;
    Ok(report)
}

/// Removes resumable uploads whose time ran out before `now`, with what they stored; a
/// finished one's attachment stays. Returns how many.
pub async fn expire_uploads(
    repo: &dyn Repo,
    store: &dyn BlobStore,
    now: crate::domain::Millis,
) -> Result<usize, SweepError> {
    let mut removed = 0;
    loop {
        let batch = repo.expired_tus_uploads(now, BATCH as i64).await?;
        if batch.is_empty() {
            return Ok(removed);
        }
        for up in batch {
            remove_upload(repo, store, &up).await?;
            removed += 1;
        }
    }
}

/// Removes a resumable upload: what it stored, then its row (terminated or expired).
pub async fn remove_upload(
    repo: &dyn Repo,
    store: &dyn BlobStore,
    up: &crate::repo::TusUpload,
) -> Result<(), SweepError> {
    if let Some(id) = crate::store::PartialId::parse(&up.id) {
        store.delete_partial(&id, &up.store_state).await?;
    }
    repo.delete_tus_upload(&up.id).await?;
    Ok(())
}

/// Removes those of `keys` that, checked under the lock, nothing references.
async fn remove_unreferenced(
    repo: &dyn Repo,
    store: &dyn BlobStore,
    keys: &[BlobKey],
) -> Result<usize, SweepError> {
    if keys.is_empty() {
        return Ok(0);
    }
    let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    let mut removed = 0;
    for k in repo.unreferenced(&keys).await? {
        let key = BlobKey::parse(&k)?;
        removed += remove_if_orphan(repo, store, &key, now_millis()).await? as usize;
    }
    Ok(removed)
}

/// Sweeps at start-up and every `sweep_interval_secs` until `stop` (none when it is 0).
pub fn spawn_sweeper(
    repo: Arc<dyn Repo>,
    store: Arc<dyn BlobStore>,
    cfg: &OrphansConfig,
    stop: CancellationToken,
) -> Option<tokio::task::JoinHandle<()>> {
    if cfg.sweep_interval_secs == 0 {
        return None;
    }
    let every = Duration::from_secs(cfg.sweep_interval_secs);
    let grace = Duration::from_secs(cfg.grace_secs);
    Some(tokio::spawn(async move {
        loop {
            match sweep(&*repo, &*store, grace).await {
                Ok(r) if r.removed + r.leftovers > 0 || r.expired_claims > 0 => tracing::info!(
                    removed = r.removed,
                    considered = r.considered,
                    expired_claims = r.expired_claims,
                    leftovers = r.leftovers,
                    "orphan sweep"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!("orphan sweep failed (tried again later): {e}"),
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }))
}

/// Removes expired resumable uploads every `every` until `stop` (none when it is zero).
pub fn spawn_upload_expiry(
    repo: Arc<dyn Repo>,
    store: Arc<dyn BlobStore>,
    every: Duration,
    stop: CancellationToken,
) -> Option<tokio::task::JoinHandle<()>> {
    if every.is_zero() {
        return None;
    }
    Some(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
            match expire_uploads(&*repo, &*store, now_millis()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "expired resumable uploads"),
                Err(e) => tracing::warn!("upload expiry failed (tried again later): {e}"),
            }
        }
    }))
}

#[cfg(test)]
#[path = "orphans_tests.rs"]
mod tests;
