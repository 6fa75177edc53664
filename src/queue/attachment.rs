//! The `process_attachment` job: original from the store → pipeline on the page threads →
//! searchable PDF to the store → pages and status in one transaction.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;

use super::worker::Ctx;
use super::{JobError, PIPELINE_VERSION};
use crate::domain::{AttachmentId, AttachmentStatus, DossierId, ExtractedField, PageRecord};
use crate::extract::crosscheck;
use crate::pipeline::FileError;
use crate::repo::{ClaimedJob, Processed};
use crate::store::BlobKey;

/// What the handler reports when it is done.
pub(super) enum Done {
    /// Committed. The dossier's cross-document checks are still to run: the worker runs them
    /// after it stops renewing the lease (the job is done, a renewal would find it gone).
    Completed { pages: usize, dossier: DossierId },
    /// Our lease ran out and another worker took the job; its result counts.
    LostLease,
}

/// Bad input aborts; only a missing OCR engine (an installation problem) is worth retrying.
fn classify(e: FileError) -> JobError {
    match &e {
        FileError::Ocr(o) if o.code() == "ocr_unavailable" => JobError::retry(&e),
        FileError::Read(io) | FileError::Write { source: io, .. }
            if crate::store::io_may_pass(io) =>
        {
            JobError::Passing(e.to_string())
        }
        FileError::Read(_) | FileError::Write { .. } => JobError::retry(&e),
        _ => JobError::Abort {
            code: e.code().to_string(),
            message: e.to_string(),
        },
    }
}

pub(super) async fn process(
    ctx: &Ctx,
    worker: &str,
    job: &ClaimedJob,
    id: AttachmentId,
    committing: &AtomicBool,
) -> Result<Done, JobError> {
    let att = ctx
        .repo
        .attachment(id)
        .await
        .map_err(JobError::repo)?
        .ok_or_else(|| JobError::Abort {
            code: "attachment_missing".into(),
            message: format!("attachment {id} does not exist"),
        })?;
    let key = BlobKey::parse(&att.original_key).map_err(|e| JobError::Abort {
        code: "invalid_blob_key".into(),
        message: e.to_string(),
    })?;
    // Any store error is retried, a missing blob too: a store that is briefly unreachable or
    // lagging (S3 later) must not fail the file; dead-lettering ends it if it stays missing.
    let data: Arc<[u8]> = ctx
        .store
        .get_bytes(&key)
        .await
        .map_err(JobError::store)?
        .into();

    // CPU work on the page threads (pages of one file spread over all of them); the async
    // worker just waits for the answer.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let processor = ctx.processor.clone();
    ctx.pages.spawn(move || {
        let _ = tx.send(processor.process_bytes(data, &()));
    });
    let doc = rx
        .await
        .map_err(|_| JobError::Retry("page thread lost the document".into()))?
        .map_err(classify)?;

    for p in &doc.pages {
        let t = &p.timings;
        for (stage, ms) in [
            ("decode", t.decode_ms),
            ("normalize", t.normalize_ms),
            ("ocr", t.ocr_ms),
            ("render", t.render_ms),
            ("extract", t.extract_ms),
        ] {
            metrics::histogram!("motcua_job_stage_seconds", "stage" => stage).record(ms / 1e3);
        }
    }
    metrics::histogram!("motcua_job_stage_seconds", "stage" => "pdf")
        .record(doc.timings.pdf_assembly_ms / 1e3);

    let pdf_key =
        BlobKey::derived(&att.sha256, PIPELINE_VERSION, "pdf").map_err(|e| JobError::Abort {
            code: "invalid_blob_key".into(),
            message: e.to_string(),
        })?;
    ctx.store
        .put_bytes(&pdf_key, Bytes::from(doc.pdf))
        .await
        .map_err(JobError::store)?;
    let pages: Vec<PageRecord> = doc
        .pages
        .iter()
        .map(|p| PageRecord {
            index: p.index as u32,
            // A page with ink and nothing read is not "done": the dossier shows it for a clerk.
            status: if p.blank {
                "blank"
            } else if p.warnings.iter().any(|w| w.code == "no_text") {
                "no_text"
            } else {
                "done"
            }
            .into(),
            width: p.width,
            height: p.height,
            orientation: p.orientation,
            skew: p.skew,
            blank: p.blank,
            dpi: p.dpi,
            mean_confidence: p.mean_confidence,
            text: crate::text::page_text(&p.words, &p.lines),
            pdf_key: pdf_key.to_string(),
        })
        .collect();
    let fields: Vec<(String, ExtractedField)> = doc
        .pages
        .iter()
        .filter_map(|p| p.doc_type.as_ref().map(|d| (d, p)))
        .flat_map(|(d, p)| p.fields.iter().map(|f| (d.model.clone(), f.clone())))
        .collect();
    let result = Processed {
        pages: &pages,
        pdf_key: pdf_key.as_str(),
        fields: &fields,
    };
    // From here the commit decides who owns the job (it writes nothing if we lost it); a
    // heartbeat that finds the job already done must not cut the commit's answer off.
    committing.store(true, Ordering::SeqCst);
    let owned = ctx
        .repo
        .complete_attachment(job.id, worker, id, &result)
        .await
        .map_err(JobError::repo)?;
    Ok(if owned {
        Done::Completed {
            pages: pages.len(),
            dossier: att.dossier_id,
        }
    } else {
        Done::LostLease
    })
}

/// Runs the dossier's pipeline checks once none of its attachments is waiting or in work; the
/// last attachment to finish sees them all.
pub(super) async fn crosscheck_when_complete(
    ctx: &Ctx,
    dossier: DossierId,
) -> crate::repo::RepoResult<()> {
    let views = ctx.repo.attachment_views(dossier).await?;
    if views.iter().any(|v| {
        matches!(
            v.attachment.status,
            AttachmentStatus::Queued | AttachmentStatus::Processing
        )
    }) {
        return Ok(());
    }
    crosscheck::refresh_flags(ctx.repo.as_ref(), &ctx.procedures, dossier).await
}
