//! Dossiers, attachments and what processing made of them.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::FromRow;

use super::{Audit, SqliteRepo};
use crate::domain::{
    Actor, Attachment, AttachmentId, AttachmentStatus, Dossier, DossierId, JobId, JobInfo,
    JobState, NewAttachment, PageRecord, UnitId, now_millis,
};
use crate::repo::{Added, AttachmentView, DossierRepo, NewDossier, NewJob, RepoError, RepoResult};

#[derive(FromRow)]
struct DossierRow {
    id: i64,
    code: String,
    unit_id: i64,
    unit_code: String,
    procedure: String,
    status: String,
    source: String,
    created_at: i64,
}

impl From<DossierRow> for Dossier {
    fn from(r: DossierRow) -> Self {
        Dossier {
            id: DossierId(r.id),
            code: r.code,
            unit_id: UnitId(r.unit_id),
            unit_code: r.unit_code,
            procedure: r.procedure,
            status: r.status,
            source: r.source,
            created_at: r.created_at,
        }
    }
}

const DOSSIER_COLS: &str = "d.id, d.code, d.unit_id, u.code AS unit_code, d.procedure, d.status,
    d.source, d.created_at FROM dossiers d JOIN units u ON u.id = d.unit_id";

#[derive(FromRow)]
pub(super) struct AttachmentRow {
    id: i64,
    dossier_id: i64,
    kind: String,
    filename: Option<String>,
    original_key: String,
    sha256: String,
    bytes: i64,
    media_type: String,
    status: String,
    error_code: Option<String>,
    error_message: Option<String>,
    pdf_key: Option<String>,
    page_count: Option<i64>,
    created_at: i64,
}

pub(super) const ATTACHMENT_COLS: &str = "id, dossier_id, kind, filename, original_key, sha256,
    bytes, media_type, status, error_code, error_message, pdf_key, page_count, created_at";

impl From<AttachmentRow> for Attachment {
    fn from(r: AttachmentRow) -> Self {
        Attachment {
            id: AttachmentId(r.id),
            dossier_id: DossierId(r.dossier_id),
            kind: r.kind,
            filename: r.filename,
            original_key: r.original_key,
            sha256: r.sha256,
            bytes: r.bytes as u64,
            media_type: r.media_type,
            status: AttachmentStatus::parse(&r.status).unwrap_or(AttachmentStatus::Failed),
            error_code: r.error_code,
            error_message: r.error_message,
            pdf_key: r.pdf_key,
            page_count: r.page_count.map(|n| n as u32),
            created_at: r.created_at,
        }
    }
}

#[derive(FromRow)]
struct PageRow {
    attachment_id: i64,
    idx: i64,
    status: String,
    width: i64,
    height: i64,
    orientation: i64,
    skew: f64,
    blank: bool,
    dpi: f64,
    mean_confidence: Option<f64>,
    text: String,
    pdf_key: String,
}

#[derive(FromRow)]
pub(super) struct JobRow {
    pub id: i64,
    pub attachment_id: Option<i64>,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub run_after: i64,
}

impl From<&JobRow> for JobInfo {
    fn from(r: &JobRow) -> Self {
        let state = JobState::parse(&r.state).unwrap_or(JobState::Failed);
        JobInfo {
            id: JobId(r.id),
            state,
            attempts: r.attempts as u32,
            last_error: r.last_error.clone(),
            run_after: (state == JobState::Queued).then_some(r.run_after),
        }
    }
}

#[async_trait]
impl DossierRepo for SqliteRepo {
    async fn create_dossier(&self, d: NewDossier<'_>, actor: &Actor) -> RepoResult<Dossier> {
        let mut tx = self.write_tx().await?;
        let now = now_millis();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO dossiers (code, unit_id, procedure, status, source, created_at)
             VALUES (?, ?, ?, 'open', ?, ?) RETURNING id",
        )
        .bind(d.code)
        .bind(d.unit.0)
        .bind(d.procedure)
        .bind(d.source.as_str())
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match RepoError::from(e) {
            RepoError::Conflict(_) => RepoError::Conflict(format!("dossier {}", d.code)),
            e => e,
        })?;
        if let Some(token) = d.citizen_token_sha256 {
            sqlx::query(
                "INSERT INTO dossier_tokens (dossier_id, token_sha256, created_at) VALUES (?, ?, ?)",
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
        .insert(&mut tx)
        .await?;
        let row: DossierRow = sqlx::query_as(&format!("SELECT {DOSSIER_COLS} WHERE d.id = ?"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row.into())
    }

    async fn dossier_by_code(&self, code: &str) -> RepoResult<Option<Dossier>> {
        let row: Option<DossierRow> =
            sqlx::query_as(&format!("SELECT {DOSSIER_COLS} WHERE d.code = ?"))
                .bind(code)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(Into::into))
    }

    async fn dossier_by_citizen_token(&self, token_sha256: &str) -> RepoResult<Option<DossierId>> {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT dossier_id FROM dossier_tokens WHERE token_sha256 = ?")
                .bind(token_sha256)
                .fetch_optional(&self.pool)
                .await?;
        Ok(id.map(DossierId))
    }

    async fn add_attachments(
        &self,
        dossier: &Dossier,
        files: &[NewAttachment],
        job: &(dyn Fn(AttachmentId) -> NewJob + Sync),
        actor: &Actor,
    ) -> RepoResult<Vec<Added>> {
        let mut tx = self.write_tx().await?;
        let now = now_millis();
        let mut out = Vec::with_capacity(files.len());
        for f in files {
            let new_id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO attachments (dossier_id, filename, original_key, sha256, bytes,
                    media_type, status, created_at, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)
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
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = new_id {
                let j = job(AttachmentId(id));
                sqlx::query(
                    "INSERT INTO jobs (kind, payload, unit_id, attachment_id, state, attempts,
                        run_after, created_at, updated_at)
                     VALUES (?, ?, ?, ?, 'queued', 0, ?, ?, ?)",
                )
                .bind(j.kind)
                .bind(&j.payload)
                .bind(dossier.unit_id.0)
                .bind(id)
                .bind(now)
                .bind(now)
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
                .insert(&mut tx)
                .await?;
            }
            let row: AttachmentRow = sqlx::query_as(&format!(
                "SELECT {ATTACHMENT_COLS} FROM attachments WHERE dossier_id = ? AND sha256 = ?"
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
        tx.commit().await?;
        Ok(out)
    }

    async fn attachment(&self, id: AttachmentId) -> RepoResult<Option<Attachment>> {
        let row: Option<AttachmentRow> = sqlx::query_as(&format!(
            "SELECT {ATTACHMENT_COLS} FROM attachments WHERE id = ?"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Into::into))
    }

    async fn attachment_views(&self, dossier: DossierId) -> RepoResult<Vec<AttachmentView>> {
        // Three reads in one read transaction: a consistent snapshot under WAL.
        let mut tx = self.pool.begin().await?;
        let atts: Vec<AttachmentRow> = sqlx::query_as(&format!(
            "SELECT {ATTACHMENT_COLS} FROM attachments WHERE dossier_id = ? ORDER BY id"
        ))
        .bind(dossier.0)
        .fetch_all(&mut *tx)
        .await?;
        let jobs: Vec<JobRow> = sqlx::query_as(
            "SELECT j.id, j.attachment_id, j.state, j.attempts, j.last_error, j.run_after
             FROM jobs j JOIN attachments a ON a.id = j.attachment_id
             WHERE a.dossier_id = ? ORDER BY j.id",
        )
        .bind(dossier.0)
        .fetch_all(&mut *tx)
        .await?;
        let pages: Vec<PageRow> = sqlx::query_as(
            "SELECT p.attachment_id, p.idx, p.status, p.width, p.height, p.orientation, p.skew,
                    p.blank, p.dpi, p.mean_confidence, p.text, p.pdf_key
             FROM pages p JOIN attachments a ON a.id = p.attachment_id
             WHERE a.dossier_id = ? ORDER BY p.attachment_id, p.idx",
        )
        .bind(dossier.0)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        // The newest job of an attachment is the one that counts.
        let job_of: HashMap<i64, JobInfo> = jobs
            .iter()
            .filter_map(|j| j.attachment_id.map(|a| (a, JobInfo::from(j))))
            .collect();
        let mut pages_of: HashMap<i64, Vec<PageRecord>> = HashMap::new();
        for p in pages {
            pages_of
                .entry(p.attachment_id)
                .or_default()
                .push(PageRecord {
                    index: p.idx as u32,
                    status: p.status,
                    width: p.width as u32,
                    height: p.height as u32,
                    orientation: p.orientation as u16,
                    skew: p.skew as f32,
                    blank: p.blank,
                    dpi: p.dpi as f32,
                    mean_confidence: p.mean_confidence.map(|c| c as f32),
                    text: p.text,
                    pdf_key: p.pdf_key,
                });
        }
        Ok(atts
            .into_iter()
            .map(|a| AttachmentView {
                job: job_of.get(&a.id).cloned(),
                pages: pages_of.remove(&a.id).unwrap_or_default(),
                attachment: a.into(),
            })
            .collect())
    }
}
