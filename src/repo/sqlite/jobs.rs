//! The job queue on SQLite. Claiming is one `UPDATE … RETURNING` inside a `BEGIN IMMEDIATE`
//! transaction, so two workers (threads or processes) can never claim the same job.

use async_trait::async_trait;

use super::{Audit, SqliteRepo};
use crate::domain::{Actor, AttachmentId, DossierId, JobId, JobInfo, JobState, Millis, UnitId};
use crate::repo::{
    ClaimLimits, ClaimedJob, FailOutcome, JobQueue, NEVER, Processed, RepoResult, Requeue,
    WORKER_LOST, set_aside_message,
};

use crate::repo::rows::JobRow;

/// Fair pick: among units with runnable jobs, the unit with the fewest running jobs, then the
/// unit served longest ago (never served first), then its oldest runnable job. A 2,000-page
/// batch of one commune therefore takes turns with another commune's single upload.
const CLAIM: &str = "
WITH ready AS (
    SELECT unit_id, MIN(id) AS job_id FROM jobs
    WHERE (state = 'queued' AND run_after <= ?1) OR (state = 'running' AND lease_until < ?1)
    GROUP BY unit_id
)
UPDATE jobs
SET state = 'running', attempts = attempts + 1, worker = ?2, lease_until = ?3, claimed_at = ?1,
    updated_at = ?1
WHERE id = (
    SELECT r.job_id FROM ready r
    ORDER BY
        (SELECT COUNT(*) FROM jobs x
         WHERE x.unit_id = r.unit_id AND x.state = 'running' AND x.lease_until >= ?1),
        COALESCE((SELECT MAX(y.claimed_at) FROM jobs y WHERE y.unit_id = r.unit_id), 0),
        r.job_id
    LIMIT 1
)
RETURNING id, kind, payload, attempts, attachment_id, unit_id, created_at, lost_leases";

#[async_trait]
impl JobQueue for SqliteRepo {
    async fn claim(
        &self,
        worker: &str,
        now: Millis,
        lease_until: Millis,
        limits: ClaimLimits,
    ) -> RepoResult<Option<ClaimedJob>> {
        let mut tx = self.write_tx().await?;
        // Jobs whose worker was lost: queued again with the attempt given back, after a backoff
        // that doubles with each loss (so that a process killed again and again does not meet
        // the same job first each time), or, once the job has crashed its worker
        // `max_crashes` times, set aside (tried once more later by itself, then left to an
        // operator) so that a file that crashes the worker does not take good files with it.
        let lost: Vec<(Option<i64>, String, i64, i64)> = sqlx::query_as(
            "UPDATE jobs SET
                lost_leases = lost_leases + 1,
                attempts = MAX(attempts - 1, 0),
                state = CASE WHEN crashes >= ?2 THEN 'dead' ELSE 'queued' END,
                run_after = CASE WHEN crashes < ?2 THEN ?1 + MIN(?5 * (1 << MIN(lost_leases, 20)), ?3)
                                 WHEN crashes = ?2 THEN ?1 + ?3
                                 ELSE ?4 END,
                worker = NULL, lease_until = NULL, updated_at = ?1,
                finished_at = CASE WHEN crashes >= ?2 THEN ?1 ELSE NULL END,
                last_error = 'the worker was lost (lease expired), ' || (lost_leases + 1)
                    || ' time(s), crashed ' || crashes || ' time(s)'
             WHERE state = 'running' AND lease_until < ?1
             RETURNING attachment_id, state, run_after, crashes",
        )
        .bind(now)
        .bind(i64::from(limits.max_crashes))
        .bind(limits.lost_retry_ms)
        .bind(NEVER)
        .bind(limits.lost_backoff_ms)
        .fetch_all(&mut *tx)
        .await?;
        for (attachment, state, run_after, crashes) in lost {
            let Some(a) = attachment.map(AttachmentId) else {
                continue;
            };
            if state == "dead" {
                let message = set_aside_message(crashes, run_after, now);
                fail_attachment(&mut tx, a, WORKER_LOST, &message, now).await?;
            } else {
                sqlx::query(
                    "UPDATE attachments SET status = 'queued', updated_at = ? WHERE id = ?",
                )
                .bind(now)
                .bind(a.0)
                .execute(&mut *tx)
                .await?;
            }
        }
        // Set aside once, and its time has come: tried again.
        let due: Vec<Option<i64>> = sqlx::query_scalar(
            "UPDATE jobs SET state = 'queued', finished_at = NULL, updated_at = ?1
             WHERE state = 'dead' AND crashes >= ?2 AND run_after <= ?1
             RETURNING attachment_id",
        )
        .bind(now)
        .bind(i64::from(limits.max_crashes))
        .fetch_all(&mut *tx)
        .await?;
        for a in due.into_iter().flatten() {
            requeue_attachment(&mut tx, AttachmentId(a), "system", now, false).await?;
        }
        let row: Option<(i64, String, String, i64, Option<i64>, i64, i64, i64)> =
            sqlx::query_as(CLAIM)
                .bind(now)
                .bind(worker)
                .bind(lease_until)
                .fetch_optional(&mut *tx)
                .await?;
        let job = row.map(
            |(id, kind, payload, attempts, attachment, unit, created_at, lost_leases)| ClaimedJob {
                id: JobId(id),
                kind,
                payload,
                attempts: attempts as u32,
                attachment_id: attachment.map(AttachmentId),
                unit_id: UnitId(unit),
                created_at,
                lost_leases: lost_leases as u32,
            },
        );
        if let Some(a) = job.as_ref().and_then(|j| j.attachment_id) {
            sqlx::query(
                "UPDATE attachments SET status = 'processing', updated_at = ? WHERE id = ?",
            )
            .bind(now)
            .bind(a.0)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(job)
    }

    async fn requeue(&self, target: Requeue, actor: &str) -> RepoResult<Vec<AttachmentId>> {
        let now = crate::domain::now_millis();
        let mut tx = self.write_tx().await?;
        let ids: Vec<i64> = match &target {
            Requeue::Attachment(a) => {
                sqlx::query_scalar("SELECT id FROM attachments WHERE id = ? AND status = 'failed'")
                    .bind(a.0)
                    .fetch_all(&mut *tx)
                    .await?
            }
            Requeue::Dossier(d) => sqlx::query_scalar(
                "SELECT id FROM attachments WHERE dossier_id = ? AND status = 'failed' ORDER BY id",
            )
            .bind(d.0)
            .fetch_all(&mut *tx)
            .await?,
            Requeue::Dead { code } => {
                sqlx::query_scalar(
                    "SELECT a.id FROM attachments a JOIN jobs j ON j.attachment_id = a.id
                     WHERE a.status = 'failed' AND j.state = 'dead'
                       AND (?1 IS NULL OR a.error_code = ?1) ORDER BY a.id",
                )
                .bind(code.as_deref())
                .fetch_all(&mut *tx)
                .await?
            }
        };
        let mut done = Vec::new();
        for id in ids {
            if requeue_attachment(&mut tx, AttachmentId(id), actor, now, true).await? {
                done.push(AttachmentId(id));
            }
        }
        tx.commit().await?;
        Ok(done)
    }

    async fn record_crashes(&self, jobs: &[JobId]) -> RepoResult<u64> {
        let mut tx = self.write_tx().await?;
        let mut found = 0;
        for j in jobs {
            found += sqlx::query("UPDATE jobs SET crashes = crashes + 1 WHERE id = ?")
                .bind(j.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(found)
    }

    async fn heartbeat(&self, job: JobId, worker: &str, lease_until: Millis) -> RepoResult<bool> {
        let r = sqlx::query(
            "UPDATE jobs SET lease_until = ?, updated_at = ?
             WHERE id = ? AND worker = ? AND state = 'running'",
        )
        .bind(lease_until)
        .bind(crate::domain::now_millis())
        .bind(job.0)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn complete_attachment(
        &self,
        job: JobId,
        worker: &str,
        attachment: AttachmentId,
        result: &Processed<'_>,
    ) -> RepoResult<bool> {
        let Processed {
            pages,
            pdf_key,
            fields,
        } = *result;
        let now = crate::domain::now_millis();
        let mut tx = self.write_tx().await?;
        let owned = sqlx::query(
            "UPDATE jobs SET state = 'done', lease_until = NULL, finished_at = ?1, updated_at = ?1
             WHERE id = ?2 AND worker = ?3 AND state = 'running'",
        )
        .bind(now)
        .bind(job.0)
        .bind(worker)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !owned {
            // Another worker took the job over after our lease ran out: its result counts.
            tx.rollback().await?;
            return Ok(false);
        }
        // Delete-then-insert: a retried job replaces the pages, never adds to them.
        sqlx::query("DELETE FROM pages WHERE attachment_id = ?")
            .bind(attachment.0)
            .execute(&mut *tx)
            .await?;
        for p in pages {
            sqlx::query(
                "INSERT INTO pages (attachment_id, idx, status, width, height, orientation, skew,
                    blank, dpi, mean_confidence, text, pdf_key)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(attachment.0)
            .bind(i64::from(p.index))
            .bind(&p.status)
            .bind(i64::from(p.width))
            .bind(i64::from(p.height))
            .bind(i64::from(p.orientation))
            .bind(f64::from(p.skew))
            .bind(p.blank)
            .bind(f64::from(p.dpi))
            .bind(p.mean_confidence.map(f64::from))
            .bind(&p.text)
            .bind(&p.pdf_key)
            .execute(&mut *tx)
            .await?;
        }
        let (dossier, unit): (i64, i64) = sqlx::query_as(
            "UPDATE attachments SET status = 'done', pdf_key = ?, page_count = ?,
                error_code = NULL, error_message = NULL, updated_at = ?
             WHERE id = ?
             RETURNING dossier_id, (SELECT unit_id FROM dossiers d WHERE d.id = dossier_id)",
        )
        .bind(pdf_key)
        .bind(pages.len() as i64)
        .bind(now)
        .bind(attachment.0)
        .fetch_one(&mut *tx)
        .await?;
        super::fields::write_ocr_fields(&mut tx, DossierId(dossier), attachment, fields).await?;
        Audit {
            actor: &Actor::Worker(worker.to_string()),
            action: "attachment.processed",
            unit: Some(UnitId(unit)),
            dossier: Some(DossierId(dossier)),
            attachment: Some(attachment),
            detail: Some(format!("{} pages", pages.len())),
        }
        .insert(&mut tx)
        .await?;
        crate::repo::review_sql::sqlite_settle(
            &mut tx,
            DossierId(dossier),
            &format!("worker:{worker}"),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn fail(&self, job: JobId, worker: &str, outcome: FailOutcome) -> RepoResult<bool> {
        let now = crate::domain::now_millis();
        let mut tx = self.write_tx().await?;
        let (state, run_after, error) = match &outcome {
            FailOutcome::Retry { at, error } | FailOutcome::Pass { at, error } => {
                ("queued", *at, error.clone())
            }
            FailOutcome::Abort { code, message } => ("failed", now, format!("{code}: {message}")),
            FailOutcome::Dead { error } => ("dead", now, error.clone()),
        };
        let attachment: Option<Option<i64>> = sqlx::query_scalar(
            "UPDATE jobs SET state = ?1, run_after = ?2, last_error = ?3, lease_until = NULL,
                attempts = CASE WHEN ?7 THEN MAX(attempts - 1, 0) ELSE attempts END,
                worker = CASE WHEN ?1 = 'queued' THEN NULL ELSE worker END,
                finished_at = CASE WHEN ?1 = 'queued' THEN NULL ELSE ?4 END, updated_at = ?4
             WHERE id = ?5 AND worker = ?6 AND state = 'running'
             RETURNING attachment_id",
        )
        .bind(state)
        .bind(run_after)
        .bind(&error)
        .bind(now)
        .bind(job.0)
        .bind(worker)
        .bind(matches!(outcome, FailOutcome::Pass { .. }))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(attachment) = attachment else {
            tx.rollback().await?;
            return Ok(false);
        };
        if let Some(a) = attachment.map(AttachmentId) {
            match &outcome {
                FailOutcome::Retry { .. } | FailOutcome::Pass { .. } => {
                    sqlx::query(
                        "UPDATE attachments SET status = 'queued', updated_at = ? WHERE id = ?",
                    )
                    .bind(now)
                    .bind(a.0)
                    .execute(&mut *tx)
                    .await?;
                }
                FailOutcome::Abort { code, message } => {
                    fail_attachment(&mut tx, a, code, message, now).await?;
                }
                FailOutcome::Dead { error } => {
                    fail_attachment(&mut tx, a, "processing_failed", error, now).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn release(&self, worker: &str) -> RepoResult<u64> {
        let now = crate::domain::now_millis();
        let mut tx = self.write_tx().await?;
        let released: Vec<Option<i64>> = sqlx::query_scalar(
            "UPDATE jobs SET state = 'queued', worker = NULL, lease_until = NULL,
                attempts = MAX(attempts - 1, 0), run_after = ?1, updated_at = ?1
             WHERE worker = ?2 AND state = 'running'
             RETURNING attachment_id",
        )
        .bind(now)
        .bind(worker)
        .fetch_all(&mut *tx)
        .await?;
        for a in released.iter().flatten() {
            sqlx::query("UPDATE attachments SET status = 'queued', updated_at = ? WHERE id = ?")
                .bind(now)
                .bind(a)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(released.len() as u64)
    }

    async fn depth(&self) -> RepoResult<Vec<(JobState, i64)>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM jobs GROUP BY state")
                .fetch_all(&self.pool)
                .await?;
        Ok(JobState::ALL
            .iter()
            .map(|s| {
                let n = rows
                    .iter()
                    .find(|(name, _)| name == s.as_str())
                    .map_or(0, |r| r.1);
                (*s, n)
            })
            .collect())
    }

    async fn jobs_of(&self, attachment: AttachmentId) -> RepoResult<Vec<JobInfo>> {
        let rows: Vec<JobRow> = sqlx::query_as(
            "SELECT id, attachment_id, state, attempts, lost_leases, last_error, run_after FROM jobs
             WHERE attachment_id = ? ORDER BY id DESC",
        )
        .bind(attachment.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(JobInfo::from).collect())
    }
}

async fn fail_attachment(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    a: AttachmentId,
    code: &str,
    message: &str,
    now: Millis,
) -> RepoResult<()> {
    let dossier: i64 = sqlx::query_scalar(
        "UPDATE attachments SET status = 'failed', error_code = ?, error_message = ?, updated_at = ?
         WHERE id = ? RETURNING dossier_id",
    )
    .bind(code)
    .bind(message)
    .bind(now)
    .bind(a.0)
    .fetch_one(&mut **tx)
    .await?;
    crate::repo::review_sql::sqlite_settle(tx, DossierId(dossier), "system", now).await?;
    Ok(())
}

/// Puts a failed or set-aside attachment back in the queue: the attachment queued with its error
/// cleared, the dossier processing again, audited; `fresh` (an operator's requeue) also queues
/// its job as new, attempts and lost workers counted from zero (the automatic retry of a job set
/// aside has queued the job itself and keeps its count: lost once more, it waits for an operator).
pub(in crate::repo) async fn requeue_attachment(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    a: AttachmentId,
    actor: &str,
    now: Millis,
    fresh: bool,
) -> RepoResult<bool> {
    let dossier: Option<i64> = sqlx::query_scalar(
        "UPDATE attachments SET status = 'queued', error_code = NULL, error_message = NULL,
            updated_at = ?1
         WHERE id = ?2 AND status = 'failed' RETURNING dossier_id",
    )
    .bind(now)
    .bind(a.0)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(dossier) = dossier else {
        return Ok(false);
    };
    if fresh {
        sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = 0, lost_leases = 0, crashes = 0,
            run_after = ?1,
            worker = NULL, lease_until = NULL, finished_at = NULL, updated_at = ?1
         WHERE attachment_id = ?2 AND state IN ('failed', 'dead', 'queued')",
        )
        .bind(now)
        .bind(a.0)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO audit (at, actor, action, unit_id, dossier_id, attachment_id, detail)
         VALUES (?1, ?2, 'attachment.requeued', (SELECT unit_id FROM dossiers WHERE id = ?3), ?3, ?4, '')",
    )
    .bind(now)
    .bind(actor)
    .bind(dossier)
    .bind(a.0)
    .execute(&mut **tx)
    .await?;
    crate::repo::review_sql::sqlite_files_added(tx, DossierId(dossier), actor, now).await?;
    Ok(true)
}
