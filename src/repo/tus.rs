//! Resumable (tus) uploads: the row that says how far an upload has come (see
//! `intake::tus`). Its SQL is the same on both backends, written once in [`tus_backend!`].

use async_trait::async_trait;
use sqlx::FromRow;

use super::RepoResult;
use crate::domain::{AttachmentId, DossierId, Millis};

#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct TusUpload {
    pub id: String,
    pub dossier_id: i64,
    /// Joined from `dossiers` (not a column of `tus_uploads`).
    pub dossier_code: String,
    /// `Actor::label()` of its creator: only it may continue, read or end the upload.
    pub owner: String,
    pub filename: Option<String>,
    pub metadata: String,
    pub upload_length: i64,
    pub upload_offset: i64,
    pub store_state: String,
    pub hash_state: String,
    pub head: String,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub attachment_id: Option<i64>,
}

impl TusUpload {
    pub fn dossier(&self) -> DossierId {
        DossierId(self.dossier_id)
    }

    pub fn attachment(&self) -> Option<AttachmentId> {
        self.attachment_id.map(AttachmentId)
    }
}

/// What one request moved an upload to.
#[derive(Debug, Clone, Copy)]
pub struct TusProgress<'a> {
    pub offset: i64,
    pub store_state: &'a str,
    pub hash_state: &'a str,
    pub head: &'a str,
    pub expires_at: Millis,
}

#[async_trait]
pub trait TusRepo: Send + Sync {
    /// Inserts `u` unless its owner already has `max_open` unfinished uploads (false).
    async fn create_tus_upload(&self, u: &TusUpload, max_open: i64) -> RepoResult<bool>;
    async fn tus_upload(&self, id: &str) -> RepoResult<Option<TusUpload>>;
    /// Records `p` if the upload is still at `from` (compare-and-set); false when another
    /// request moved it meanwhile or it is gone.
    async fn record_tus_progress(
        &self,
        id: &str,
        from: i64,
        p: TusProgress<'_>,
    ) -> RepoResult<bool>;
    /// The finished upload became `attachment`; the row is kept until `expires_at`.
    async fn finish_tus_upload(
        &self,
        id: &str,
        attachment: AttachmentId,
        expires_at: Millis,
    ) -> RepoResult<()>;
    async fn delete_tus_upload(&self, id: &str) -> RepoResult<()>;
    /// Up to `limit` uploads whose time ran out before `now`.
    async fn expired_tus_uploads(&self, now: Millis, limit: i64) -> RepoResult<Vec<TusUpload>>;
}

macro_rules! tus_select {
    () => {
        "SELECT t.*, d.code AS dossier_code FROM tus_uploads t JOIN dossiers d ON d.id = t.dossier_id"
    };
}

/// `tus_backend!(Repo, begin)`: `impl TusRepo` over the backend's pool and write transaction.
macro_rules! tus_backend {
    ($repo:ty, $begin:ident) => {
        #[async_trait]
        impl TusRepo for $repo {
            async fn create_tus_upload(&self, u: &TusUpload, max_open: i64) -> RepoResult<bool> {
                let mut tx = self.$begin().await?;
                let open: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM tus_uploads WHERE owner = $1 AND attachment_id IS NULL",
                )
                .bind(&u.owner)
                .fetch_one(&mut *tx)
                .await?;
                if open >= max_open {
                    tx.rollback().await?;
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO tus_uploads (id, dossier_id, owner, filename, metadata,
                         upload_length, upload_offset, store_state, hash_state, head, created_at,
                         expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(&u.id)
                .bind(u.dossier_id)
                .bind(&u.owner)
                .bind(&u.filename)
                .bind(&u.metadata)
                .bind(u.upload_length)
                .bind(u.upload_offset)
                .bind(&u.store_state)
                .bind(&u.hash_state)
                .bind(&u.head)
                .bind(u.created_at)
                .bind(u.expires_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn tus_upload(&self, id: &str) -> RepoResult<Option<TusUpload>> {
                Ok(sqlx::query_as(concat!(tus_select!(), " WHERE t.id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn record_tus_progress(
                &self,
                id: &str,
                from: i64,
                p: TusProgress<'_>,
            ) -> RepoResult<bool> {
                let mut tx = self.$begin().await?;
                let n = sqlx::query(
                    "UPDATE tus_uploads SET upload_offset = $1, store_state = $2,
                         hash_state = $3, head = $4, expires_at = $5
                     WHERE id = $6 AND upload_offset = $7 AND attachment_id IS NULL",
                )
                .bind(p.offset)
                .bind(p.store_state)
                .bind(p.hash_state)
                .bind(p.head)
                .bind(p.expires_at)
                .bind(id)
                .bind(from)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(n == 1)
            }

            async fn finish_tus_upload(
                &self,
                id: &str,
                attachment: AttachmentId,
                expires_at: Millis,
            ) -> RepoResult<()> {
                let mut tx = self.$begin().await?;
                sqlx::query(
                    "UPDATE tus_uploads SET attachment_id = $1, expires_at = $2 WHERE id = $3",
                )
                .bind(attachment.0)
                .bind(expires_at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn delete_tus_upload(&self, id: &str) -> RepoResult<()> {
                let mut tx = self.$begin().await?;
                sqlx::query("DELETE FROM tus_uploads WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn expired_tus_uploads(
                &self,
                now: Millis,
                limit: i64,
            ) -> RepoResult<Vec<TusUpload>> {
                Ok(sqlx::query_as(
                    concat!(
                        tus_select!(),
                        " WHERE t.expires_at < $1 ORDER BY t.expires_at LIMIT $2"
                    ),
                )
                .bind(now)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }
        }
    };
}

tus_backend!(super::SqliteRepo, write_tx);
tus_backend!(super::PgRepo, tx);
