//! Row types and their conversion to domain types, shared by the SQLite and PostgreSQL
//! backends (the column names and SQL types decode the same on both).

use std::collections::HashMap;

use sqlx::FromRow;

use super::{AttachmentView, FieldRecord, RepoError};
use crate::domain::{
    Actor, Attachment, AttachmentId, AttachmentStatus, ClerkId, Dossier, DossierId, ExtractedField,
    FieldSource, JobId, JobInfo, JobState, PageRecord, UnitId, Validation, ValidationStatus,
};

/// Audit row inside a caller's transaction.
pub(crate) struct Audit<'a> {
    pub actor: &'a Actor,
    pub action: &'a str,
    pub unit: Option<UnitId>,
    pub dossier: Option<DossierId>,
    pub attachment: Option<AttachmentId>,
    pub detail: Option<String>,
}

#[derive(FromRow)]
pub(super) struct DossierRow {
    id: i64,
    code: String,
    unit_id: i64,
    unit_code: String,
    procedure: String,
    status: String,
    source: String,
    created_at: i64,
    state_since: i64,
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
            state_since: r.state_since,
        }
    }
}

pub(super) const DOSSIER_COLS: &str =
    "d.id, d.code, d.unit_id, u.code AS unit_code, d.procedure, d.status,
    d.source, d.created_at, d.state_since FROM dossiers d JOIN units u ON u.id = d.unit_id";

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
pub(super) struct PageRow {
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
    pub lost_leases: i64,
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
            lost_leases: r.lost_leases as u32,
            last_error: r.last_error.clone(),
            // A job set aside for an operator has no time of its own.
            run_after: (state == JobState::Queued
                || (state == JobState::Dead && r.lost_leases > 0))
                .then_some(r.run_after)
                .filter(|&t| t != crate::repo::NEVER),
        }
    }
}

#[derive(FromRow)]
pub(super) struct FieldRow {
    id: i64,
    attachment_id: i64,
    page_idx: i64,
    model: String,
    name: String,
    value: Option<String>,
    raw: String,
    confidence: f64,
    #[sqlx(rename = "box")]
    bbox: Option<String>,
    source: String,
    validation: String,
    notes: String,
    repair: Option<String>,
    updated_at: i64,
    version: i64,
    confirmed_by: Option<i64>,
}

impl TryFrom<FieldRow> for FieldRecord {
    type Error = RepoError;
    fn try_from(r: FieldRow) -> Result<Self, RepoError> {
        let bad = |what: &str| RepoError::Db(format!("field {}: bad {what}", r.id));
        Ok(FieldRecord {
            id: r.id,
            attachment: AttachmentId(r.attachment_id),
            model: r.model,
            updated_at: r.updated_at,
            version: r.version,
            confirmed_by: r.confirmed_by.map(ClerkId),
            field: ExtractedField {
                name: r.name,
                value: r.value,
                raw: r.raw,
                confidence: r.confidence as f32,
                page: r.page_idx as usize,
                bbox: match &r.bbox {
                    Some(b) => Some(serde_json::from_str(b).map_err(|_| bad("box"))?),
                    None => None,
                },
                source: match r.source.as_str() {
                    "clerk" => FieldSource::Clerk,
                    _ => FieldSource::Ocr,
                },
                validation: Validation {
                    status: ValidationStatus::parse(&r.validation)
                        .ok_or_else(|| bad("validation"))?,
                    notes: serde_json::from_str(&r.notes).map_err(|_| bad("notes"))?,
                    repair: r.repair,
                },
            },
        })
    }
}

pub(super) const FIELD_COLS: &str =
    "id, attachment_id, page_idx, model, name, value, raw, confidence, box,
    source, validation, notes, repair, updated_at, version, confirmed_by";

/// One view per attachment, in attachment order, with its newest job and its pages.
pub(super) fn attachment_views(
    atts: Vec<AttachmentRow>,
    jobs: Vec<JobRow>,
    pages: Vec<PageRow>,
) -> Vec<AttachmentView> {
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
    atts.into_iter()
        .map(|a| AttachmentView {
            job: job_of.get(&a.id).cloned(),
            pages: pages_of.remove(&a.id).unwrap_or_default(),
            attachment: a.into(),
        })
        .collect()
}

/// A review flag as stored; `fields` is JSON (rows older than the column hold `[]`).
pub(super) fn flag(
    code: String,
    check: String,
    message: String,
    fields: &str,
) -> crate::extract::crosscheck::ReviewFlag {
    crate::extract::crosscheck::ReviewFlag {
        code,
        check,
        message,
        fields: serde_json::from_str(fields).unwrap_or_default(),
    }
}
