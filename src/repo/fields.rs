//! Extracted fields and review flags of a dossier.

use async_trait::async_trait;

use super::RepoResult;
use crate::domain::{AttachmentId, ClerkId, DossierId, ExtractedField, Millis};
use crate::extract::crosscheck::ReviewFlag;

/// A stored field.
#[derive(Debug, Clone)]
pub struct FieldRecord {
    pub id: i64,
    pub attachment: AttachmentId,
    pub model: String,
    pub field: ExtractedField,
    pub updated_at: Millis,
    /// Raised by every clerk's edit: a write names the version it saw.
    pub version: i64,
    /// The clerk who confirmed (or corrected, which confirms) the value.
    pub confirmed_by: Option<ClerkId>,
}

#[async_trait]
pub trait FieldRepo: Send + Sync {
    /// Replaces the OCR fields of an attachment (a retried job overwrites); fields a clerk
    /// corrected are kept. `fields` are `(model, field)`.
    async fn replace_ocr_fields(
        &self,
        dossier: DossierId,
        attachment: AttachmentId,
        fields: &[(String, ExtractedField)],
    ) -> RepoResult<()>;
    async fn dossier_fields(&self, dossier: DossierId) -> RepoResult<Vec<FieldRecord>>;
    /// Replaces the dossier's review flags with the latest cross-document checks.
    async fn replace_flags(&self, dossier: DossierId, flags: &[ReviewFlag]) -> RepoResult<()>;
    async fn dossier_flags(&self, dossier: DossierId) -> RepoResult<Vec<ReviewFlag>>;
    /// The dossier's procedure code, which selects its pipeline.
    async fn dossier_procedure(&self, dossier: DossierId) -> RepoResult<Option<String>>;
}
