//! Claims on originals being published by an upload whose rows are not committed yet, and the
//! lock under which the orphan sweep removes an original no row references.

use async_trait::async_trait;

use super::RepoResult;
use crate::domain::Millis;

/// Holds one original against new claims until released; the sweep deletes the blob meanwhile.
#[async_trait]
pub trait OrphanLock: Send {
    async fn release(self: Box<Self>) -> RepoResult<()>;
}

#[async_trait]
pub trait BlobClaimRepo: Send + Sync {
    /// Records that the upload `claim` is about to publish the original `key` (before the store
    /// is asked whether it already holds those bytes), and extends the upload's other claims to
    /// `expires_at`. Waits while the sweep holds `key`.
    async fn claim_blob(&self, claim: &str, key: &str, expires_at: Millis) -> RepoResult<()>;
    /// Drops every claim of `claim` (a refused or cut upload).
    async fn drop_claims(&self, claim: &str) -> RepoResult<()>;
    /// Of `keys`, those no attachment references (a cheap first pass of the sweep).
    async fn unreferenced(&self, keys: &[String]) -> RepoResult<Vec<String>>;
    /// Holds `key` against new claims, if no attachment references it and no claim live at `now`
    /// holds it; `None` otherwise. The caller deletes the blob, then releases.
    async fn lock_orphan(&self, key: &str, now: Millis) -> RepoResult<Option<Box<dyn OrphanLock>>>;
    /// Removes claims that expired by `now` (their uploads died); returns how many.
    async fn drop_expired_claims(&self, now: Millis) -> RepoResult<u64>;
}

/// `add_attachments` found a claim of the upload gone (it outlived `orphans.claim_ttl_secs`): the
/// blob may have been swept, so nothing is committed and the client is asked to send again.
pub const CLAIM_LOST: &str = "an upload claim expired before its rows were committed";

/// Every key of `keys` has a live claim (`live`: the claims dropped, `None` for expired ones).
pub(crate) fn check_settled(live: Vec<Option<String>>, keys: &[&str]) -> RepoResult<()> {
    let live: Vec<String> = live.into_iter().flatten().collect();
    if keys.iter().all(|k| live.iter().any(|l| l == k)) {
        Ok(())
    } else {
        Err(super::RepoError::Unavailable(CLAIM_LOST.into()))
    }
}
