//! Fields and review flags (SQLite).

use async_trait::async_trait;
use sqlx::SqliteConnection;

use super::SqliteRepo;
use crate::domain::{AttachmentId, DossierId, ExtractedField, now_millis};
use crate::extract::crosscheck::ReviewFlag;
use crate::repo::rows::{FIELD_COLS, FieldRow};
use crate::repo::{FieldRecord, FieldRepo, RepoResult};

#[async_trait]
impl FieldRepo for SqliteRepo {
    async fn replace_ocr_fields(
        &self,
        dossier: DossierId,
        attachment: AttachmentId,
        fields: &[(String, ExtractedField)],
    ) -> RepoResult<()> {
        let mut tx = self.write_tx().await?;
        write_ocr_fields(&mut tx, dossier, attachment, fields).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn dossier_fields(&self, dossier: DossierId) -> RepoResult<Vec<FieldRecord>> {
        let rows: Vec<FieldRow> = sqlx::query_as(&format!(
            "SELECT {FIELD_COLS} FROM fields WHERE dossier_id = ? ORDER BY attachment_id, page_idx, id"
        ))
        .bind(dossier.0)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(FieldRecord::try_from).collect()
    }

    async fn replace_flags(&self, dossier: DossierId, flags: &[ReviewFlag]) -> RepoResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM review_flags WHERE dossier_id = ?")
            .bind(dossier.0)
            .execute(&mut *tx)
            .await?;
        let now = now_millis();
        for f in flags {
            sqlx::query(
                "INSERT INTO review_flags (dossier_id, code, check_name, message, created_at, fields)
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(dossier.0)
            .bind(&f.code)
            .bind(&f.check)
            .bind(&f.message)
            .bind(now)
            .bind(serde_json::to_string(&f.fields).unwrap_or_else(|_| "[]".into()))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn dossier_flags(&self, dossier: DossierId) -> RepoResult<Vec<ReviewFlag>> {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT code, check_name, message, fields FROM review_flags WHERE dossier_id = ?
             ORDER BY id",
        )
        .bind(dossier.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(code, check, message, fields)| {
                crate::repo::rows::flag(code, check, message, &fields)
            })
            .collect())
    }

    async fn dossier_procedure(&self, dossier: DossierId) -> RepoResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT procedure FROM dossiers WHERE id = ?")
                .bind(dossier.0)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}

/// Replaces the OCR fields of an attachment inside the caller's transaction; a clerk's
/// correction of the same field stays.
pub(super) async fn write_ocr_fields(
    conn: &mut SqliteConnection,
    dossier: DossierId,
    attachment: AttachmentId,
    fields: &[(String, ExtractedField)],
) -> RepoResult<()> {
    sqlx::query("DELETE FROM fields WHERE attachment_id = ? AND source = 'ocr'")
        .bind(attachment.0)
        .execute(&mut *conn)
        .await?;
    let now = now_millis();
    for (model, f) in fields {
        let bbox = f
            .bbox
            .map(|b| serde_json::to_string(&b).unwrap_or_default());
        let notes = serde_json::to_string(&f.validation.notes).unwrap_or_else(|_| "[]".into());
        // A clerk's correction of the same field stays.
        sqlx::query(
            "INSERT INTO fields (dossier_id, attachment_id, page_idx, model, name, value, raw,
                 confidence, box, source, validation, notes, repair, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'ocr', ?, ?, ?, ?, ?)
             ON CONFLICT (attachment_id, page_idx, name) DO NOTHING",
        )
        .bind(dossier.0)
        .bind(attachment.0)
        .bind(f.page as i64)
        .bind(model)
        .bind(&f.name)
        .bind(&f.value)
        .bind(&f.raw)
        .bind(f64::from(f.confidence))
        .bind(bbox)
        .bind(f.validation.status.as_str())
        .bind(notes)
        .bind(&f.validation.repair)
        .bind(now)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
