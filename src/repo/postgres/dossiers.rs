//! Dossiers, attachments and what processing made of them (PostgreSQL).

use async_trait::async_trait;

use super::{Audit, PgRepo, conflict, notify_jobs};
use crate::domain::{
    Actor, Attachment, AttachmentId, Dossier, DossierId, NewAttachment, now_millis,
};
use crate::repo::rows::{
    self, ATTACHMENT_COLS, AttachmentRow, DOSSIER_COLS, DossierRow, JobRow, PageRow,
};
use crate::repo::{Added, AttachmentView, DossierRepo, NewDossier, NewJob, RepoResult};

#[async_trait]
impl DossierRepo for PgRepo {
    async fn create_dossier(&self, d: NewDossier<'_>, actor: &Actor) -> RepoResult<Dossier> {
        let mut tx = self.tx().await?;
        let now = now_millis();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO dossiers (code, unit_id, procedure, status, source, created_at, state_since,
                                  lookup_sha256)
             VALUES ($1, $2, $3, 'receiving', $4, $5, $5, $6) RETURNING id",
        )
        .bind(d.code)
        .bind(d.unit.0)
        .bind(d.procedure)
        .bind(d.source.as_str())
        .bind(now)
        .bind(d.lookup_sha256)
        .fetch_one(&mut *tx)
        .await
        .map_err(conflict(format!("dossier {}", d.code)))?;
        if let Some(token) = d.citizen_token_sha256 {
            sqlx::query(
                "INSERT INTO dossier_tokens (dossier_id, token_sha256, created_at)
                 VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(token)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        Audit {
            actor,
            action: "dossier.create",
            unit: Some(d.unit),
            dossier: Some(DossierId(id)),
            attachment: None,
            detail: Some(d.procedure.to_string()),
        }
        .insert_pg(&mut tx)
        .await?;
        let row: DossierRow = sqlx::query_as(&format!("SELECT {DOSSIER_COLS} WHERE d.id = $1"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row.into())
    }

    async fn dossier_by_code(&self, code: &str) -> RepoResult<Option<Dossier>> {
        let row: Option<DossierRow> =
            sqlx::query_as(&format!("SELECT {DOSSIER_COLS} WHERE d.code = $1"))
                .bind(code)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(Into::into))
    }

    async fn dossier_by_lookup(
        &self,
        code: &str,
        lookup_sha256: &str,
    ) -> RepoResult<Option<DossierId>> {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM dossiers WHERE code = $1 AND lookup_sha256 = $2")
                .bind(code)
                .bind(lookup_sha256)
                .fetch_optional(&self.pool)
                .await?;
        Ok(id.map(DossierId))
    }

    async fn dossier_by_citizen_token(&self, token_sha256: &str) -> RepoResult<Option<DossierId>> {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT dossier_id FROM dossier_tokens WHERE token_sha256 = $1")
                .bind(token_sha256)
                .fetch_optional(&self.pool)
                .await?;
        Ok(id.map(DossierId))
    }

    async fn add_attachments(
        &self,
        dossier: &Dossier,
        files: &[NewAttachment],
        claim: Option<&str>,
        job: &(dyn Fn(AttachmentId) -> NewJob + Sync),
        actor: &Actor,
    ) -> RepoResult<Vec<Added>> {
        let mut tx = self.tx().await?;
        let keys: Vec<&str> = files.iter().map(|f| f.original_key.as_str()).collect();
        crate::repo::claims_sql::pg_claims::lock_keys(&mut tx, &keys).await?;
        // Read after the lock: a sweep that saw the claim expired has finished with the key.
        let now = now_millis();
        if let Some(claim) = claim {
            crate::repo::claims_sql::pg_claims::settle_claims(&mut tx, claim, &keys, now).await?;
        }
        let mut out = Vec::with_capacity(files.len());
        for f in files {
            // A concurrent upload of the same bytes waits for ours on the unique index, then
            // finds our row.
            let new_id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO attachments (dossier_id, filename, original_key, sha256, bytes,
                    media_type, status, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $7)
                 ON CONFLICT (dossier_id, sha256) DO NOTHING
                 RETURNING id",
            )
            .bind(dossier.id.0)
            .bind(&f.filename)
            .bind(&f.original_key)
            .bind(&f.sha256)
            .bind(f.bytes as i64)
            .bind(&f.media_type)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = new_id {
                let j = job(AttachmentId(id));
                sqlx::query(
                    "INSERT INTO jobs (kind, payload, unit_id, attachment_id, state, attempts,
                        run_after, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, 'queued', 0, $5, $5, $5)",
                )
                .bind(j.kind)
                .bind(&j.payload)
                .bind(dossier.unit_id.0)
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                Audit {
                    actor,
                    action: "attachment.upload",
                    unit: Some(dossier.unit_id),
                    dossier: Some(dossier.id),
                    attachment: Some(AttachmentId(id)),
                    detail: Some(format!("{} {} bytes", f.sha256, f.bytes)),
                }
                .insert_pg(&mut tx)
                .await?;
            }
            let row: AttachmentRow = sqlx::query_as(&format!(
                "SELECT {ATTACHMENT_COLS} FROM attachments WHERE dossier_id = $1 AND sha256 = $2"
            ))
            .bind(dossier.id.0)
            .bind(&f.sha256)
            .fetch_one(&mut *tx)
            .await?;
            out.push(Added {
                attachment: row.into(),
                created: new_id.is_some(),
            });
        }
        if out.iter().any(|a| a.created) {
            notify_jobs(&mut tx, dossier.unit_id).await?;
        }
        if out.iter().any(|a| a.created) {
            crate::repo::review_sql::pg_files_added(&mut tx, dossier.id, &actor.label(), now)
                .await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn attachment(&self, id: AttachmentId) -> RepoResult<Option<Attachment>> {
        let row: Option<AttachmentRow> = sqlx::query_as(&format!(
            "SELECT {ATTACHMENT_COLS} FROM attachments WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Into::into))
    }

    async fn attachment_views(&self, dossier: DossierId) -> RepoResult<Vec<AttachmentView>> {
        // Three reads from one snapshot: a job cannot be done while its pages are missing.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let atts: Vec<AttachmentRow> = sqlx::query_as(&format!(
            "SELECT {ATTACHMENT_COLS} FROM attachments WHERE dossier_id = $1 ORDER BY id"
        ))
        .bind(dossier.0)
        .fetch_all(&mut *tx)
        .await?;
        let jobs: Vec<JobRow> = sqlx::query_as(
            "SELECT j.id, j.attachment_id, j.state, j.attempts, j.lost_leases, j.last_error,
                j.run_after
             FROM jobs j JOIN attachments a ON a.id = j.attachment_id
             WHERE a.dossier_id = $1 ORDER BY j.id",
        )
        .bind(dossier.0)
        .fetch_all(&mut *tx)
        .await?;
        let pages: Vec<PageRow> = sqlx::query_as(
            "SELECT p.attachment_id, p.idx, p.status, p.width, p.height, p.orientation, p.skew,
                    p.blank, p.dpi, p.mean_confidence, p.text, p.pdf_key
             FROM pages p JOIN attachments a ON a.id = p.attachment_id
             WHERE a.dossier_id = $1 ORDER BY p.attachment_id, p.idx",
        )
        .bind(dossier.0)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows::attachment_views(atts, jobs, pages))
    }
}
