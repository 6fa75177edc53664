//! Upload claims on originals. Taking a claim and holding an orphan both need SQLite's one write
//! lock (`BEGIN IMMEDIATE`), so the two never interleave.

use async_trait::async_trait;
use sqlx::{Sqlite, Transaction};

use super::SqliteRepo;
use crate::domain::Millis;
use crate::repo::{BlobClaimRepo, OrphanLock, RepoResult};

#[async_trait]
impl OrphanLock for Transaction<'static, Sqlite> {
    async fn release(self: Box<Self>) -> RepoResult<()> {
        Ok((*self).commit().await?)
    }
}

#[async_trait]
impl BlobClaimRepo for SqliteRepo {
    async fn claim_blob(&self, claim: &str, key: &str, expires_at: Millis) -> RepoResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO blob_claims (claim_id, blob_key, expires_at) VALUES (?, ?, ?)
             ON CONFLICT (claim_id, blob_key) DO NOTHING",
        )
        .bind(claim)
        .bind(key)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE blob_claims SET expires_at = ? WHERE claim_id = ?")
            .bind(expires_at)
            .bind(claim)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn drop_claims(&self, claim: &str) -> RepoResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM blob_claims WHERE claim_id = ?")
            .bind(claim)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn unreferenced(&self, keys: &[String]) -> RepoResult<Vec<String>> {
        let json = serde_json::to_string(keys).expect("strings serialize");
        Ok(sqlx::query_scalar(
            "SELECT j.value FROM json_each(?) j
             WHERE NOT EXISTS (SELECT 1 FROM attachments a WHERE a.original_key = j.value)",
        )
        .bind(json)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn lock_orphan(&self, key: &str, now: Millis) -> RepoResult<Option<Box<dyn OrphanLock>>> {
        let mut tx = self.write_tx().await?;
        let held: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM attachments WHERE original_key = ?)
                 OR EXISTS (SELECT 1 FROM blob_claims WHERE blob_key = ? AND expires_at > ?)",
        )
        .bind(key)
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
        let mut tx = self.write_tx().await?;
        let n = sqlx::query("DELETE FROM blob_claims WHERE expires_at <= ?")
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n)
    }
}

/// In `add_attachments`' transaction: the upload's claims are dropped, and every file's must
/// still be live, or nothing is committed (its blob may have been swept).
pub(super) async fn settle_claims(
    tx: &mut Transaction<'static, Sqlite>,
    claim: &str,
    keys: &[&str],
    now: Millis,
) -> RepoResult<()> {
    let live: Vec<Option<String>> = sqlx::query_scalar(
        "DELETE FROM blob_claims WHERE claim_id = ? RETURNING
             CASE WHEN expires_at > ? THEN blob_key END",
    )
    .bind(claim)
    .bind(now)
    .fetch_all(&mut **tx)
    .await?;
    crate::repo::claims::check_settled(live, keys)
}
