//! Upload claims on originals. Taking a claim, committing an upload's rows and holding an orphan
//! all take a transaction-scoped advisory lock on the key, so none of them interleave.

use async_trait::async_trait;
use sqlx::{Postgres, Transaction};

use super::PgRepo;
use crate::domain::Millis;
use crate::repo::{BlobClaimRepo, OrphanLock, RepoResult};

#[async_trait]
impl OrphanLock for Transaction<'static, Postgres> {
    async fn release(self: Box<Self>) -> RepoResult<()> {
        Ok((*self).commit().await?)
    }
}

/// Locks `keys` until `tx` ends, in one order so two transactions cannot deadlock.
pub(super) async fn lock_keys(
    tx: &mut Transaction<'static, Postgres>,
    keys: &[&str],
) -> RepoResult<()> {
    sqlx::query(
        "SELECT pg_advisory_xact_lock(h)
         FROM (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) k ORDER BY h) s",
    )
    .bind(keys)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl BlobClaimRepo for PgRepo {
    async fn claim_blob(&self, claim: &str, key: &str, expires_at: Millis) -> RepoResult<()> {
        let mut tx = self.tx().await?;
        lock_keys(&mut tx, &[key]).await?;
        sqlx::query(
            "INSERT INTO blob_claims (claim_id, blob_key, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (claim_id, blob_key) DO NOTHING",
        )
        .bind(claim)
        .bind(key)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE blob_claims SET expires_at = $1 WHERE claim_id = $2")
            .bind(expires_at)
            .bind(claim)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn drop_claims(&self, claim: &str) -> RepoResult<()> {
        sqlx::query("DELETE FROM blob_claims WHERE claim_id = $1")
            .bind(claim)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn unreferenced(&self, keys: &[String]) -> RepoResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT k FROM unnest($1::text[]) k
             WHERE NOT EXISTS (SELECT 1 FROM attachments a WHERE a.original_key = k)",
        )
        .bind(keys)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn lock_orphan(&self, key: &str, now: Millis) -> RepoResult<Option<Box<dyn OrphanLock>>> {
        let mut tx = self.tx().await?;
        lock_keys(&mut tx, &[key]).await?;
        let held: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM attachments WHERE original_key = $1)
                 OR EXISTS (SELECT 1 FROM blob_claims WHERE blob_key = $1 AND expires_at > $2)",
        )
        .bind(key)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        if held {
            tx.rollback().await?;
            return Ok(None);
        }
        Ok(Some(Box::new(tx)))
    }

    async fn drop_expired_claims(&self, now: Millis) -> RepoResult<u64> {
        Ok(
            sqlx::query("DELETE FROM blob_claims WHERE expires_at <= $1")
                .bind(now)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}

/// In `add_attachments`' transaction, after [`lock_keys`]: the upload's claims are dropped, and
/// every file's must still be live, or nothing is committed (its blob may have been swept).
pub(super) async fn settle_claims(
    tx: &mut Transaction<'static, Postgres>,
    claim: &str,
    keys: &[&str],
    now: Millis,
) -> RepoResult<()> {
    let live: Vec<Option<String>> = sqlx::query_scalar(
        "DELETE FROM blob_claims WHERE claim_id = $1 RETURNING
             CASE WHEN expires_at > $2 THEN blob_key END",
    )
    .bind(claim)
    .bind(now)
    .fetch_all(&mut **tx)
    .await?;
    crate::repo::claims::check_settled(live, keys)
}
