//! The job queue on PostgreSQL. A claim is one READ COMMITTED transaction:
//!
//! 1. queue again the jobs whose lease expired (their worker was lost), the attempt given back,
//!    after a backoff, or set them aside after `max_crashes` crashes (rows others hold are skipped);
//! 2. rank the units with runnable jobs — fewest running jobs, then served longest ago, then
//!    oldest job — from a plain read that locks nothing;
//! 3. in that order, take the unit's oldest runnable job with `FOR UPDATE SKIP LOCKED`: a job
//!    another claimer holds is passed over, never waited for, and a job it has just claimed
//!    no longer matches when the row is re-checked under the lock.
//!
//! Only job rows (then their attachment) are locked, always in that order, so claimers neither
//! serialize on a unit nor deadlock. The ranking is a snapshot: two claimers at the same instant
//! may both favour one unit, and the second then takes that unit's next job.

use async_trait::async_trait;
use sqlx::{Postgres, Transaction};

use super::{Audit, PgRepo, notify_jobs};
use crate::domain::{
    Actor, AttachmentId, DossierId, JobId, JobInfo, JobState, Millis, UnitId, now_millis,
};
use crate::repo::rows::JobRow;
use crate::repo::{
    ClaimLimits, ClaimedJob, FailOutcome, JobQueue, NEVER, Processed, RepoResult, Requeue,
    WORKER_LOST, set_aside_message,
};

/// Runnable at `$1`: queued and due (a job whose lease expired is queued again first).
const RUNNABLE: &str = "(state = 'queued' AND run_after <= $1)";

type ClaimRow = (i64, String, String, i64, Option<i64>, i64, i64, i64);

#[async_trait]
impl JobQueue for PgRepo {
    async fn claim(
        &self,
        worker: &str,
        now: Millis,
        lease_until: Millis,
        limits: ClaimLimits,
    ) -> RepoResult<Option<ClaimedJob>> {
        let mut tx = self.tx().await?;
        // Jobs whose worker was lost: queued again with the attempt given back, after a backoff
        // that doubles with each loss (so that a process killed again and again does not meet
        // the same job first each time), or, once the job has crashed its worker
        // `max_crashes` times, set aside (tried once more later by itself, then left to an
        // operator) so that a file that crashes the worker does not take good files with it.
        let lost: Vec<(Option<i64>, String, i64, i64)> = sqlx::query_as(
            "UPDATE jobs SET
                lost_leases = lost_leases + 1,
                attempts = GREATEST(attempts - 1, 0),
                state = CASE WHEN crashes >= $2 THEN 'dead' ELSE 'queued' END,
                run_after = CASE
                    WHEN crashes < $2 THEN $1 + LEAST($5 * (1::bigint << LEAST(lost_leases, 20)::int), $3)
                    WHEN crashes = $2 THEN $1 + $3
                    ELSE $4 END,
                worker = NULL, lease_until = NULL, updated_at = $1,
                finished_at = CASE WHEN crashes >= $2 THEN $1 ELSE NULL END,
                last_error = 'the worker was lost (lease expired), ' || (lost_leases + 1)
                    || ' time(s), crashed ' || crashes || ' time(s)'
             WHERE id IN (
                SELECT id FROM jobs WHERE state = 'running' AND lease_until < $1
                FOR UPDATE SKIP LOCKED)
             RETURNING attachment_id, state, run_after, crashes::BIGINT",
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
                    "UPDATE attachments SET status = 'queued', updated_at = $1 WHERE id = $2",
                )
                .bind(now)
                .bind(a.0)
                .execute(&mut *tx)
                .await?;
            }
        }
        // Set aside once, and its time has come: tried again.
        let due: Vec<Option<i64>> = sqlx::query_scalar(
            "UPDATE jobs SET state = 'queued', finished_at = NULL, updated_at = $1
             WHERE id IN (
                SELECT id FROM jobs
                WHERE state = 'dead' AND crashes >= $2 AND run_after <= $1
                FOR UPDATE SKIP LOCKED)
             RETURNING attachment_id",
        )
        .bind(now)
        .bind(i64::from(limits.max_crashes))
        .fetch_all(&mut *tx)
        .await?;
        for a in due.into_iter().flatten() {
            requeue_attachment(&mut tx, AttachmentId(a), "system", now, false).await?;
        }
        let units: Vec<i64> = sqlx::query_scalar(&format!(
            "SELECT r.unit_id FROM (
                SELECT unit_id, MIN(id) AS first_job FROM jobs WHERE {RUNNABLE} GROUP BY unit_id
             ) r
             ORDER BY
                (SELECT COUNT(*) FROM jobs x
                 WHERE x.unit_id = r.unit_id AND x.state = 'running' AND x.lease_until >= $1),
                COALESCE((SELECT MAX(y.claimed_at) FROM jobs y WHERE y.unit_id = r.unit_id), 0),
                r.first_job"
        ))
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let mut picked: Option<i64> = None;
        for unit in units {
            picked = sqlx::query_scalar(&format!(
                "SELECT id FROM jobs WHERE unit_id = $2 AND {RUNNABLE}
                 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
            ))
            .bind(now)
            .bind(unit)
            .fetch_optional(&mut *tx)
            .await?;
            if picked.is_some() {
                break;
            }
        }
        let Some(id) = picked else {
            tx.commit().await?;
            return Ok(None);
        };
        let (id, kind, payload, attempts, attachment, unit, created_at, lost_leases): ClaimRow =
            sqlx::query_as(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, worker = $2,
                    lease_until = $3, claimed_at = $1, updated_at = $1
                 WHERE id = $4
                 RETURNING id, kind, payload, attempts, attachment_id, unit_id, created_at,
                    lost_leases::BIGINT",
            )
            .bind(now)
            .bind(worker)
            .bind(lease_until)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        if let Some(a) = attachment {
            sqlx::query(
                "UPDATE attachments SET status = 'processing', updated_at = $1 WHERE id = $2",
            )
            .bind(now)
            .bind(a)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Some(ClaimedJob {
            id: JobId(id),
            kind,
            payload,
            attempts: attempts as u32,
            attachment_id: attachment.map(AttachmentId),
            unit_id: UnitId(unit),
            created_at,
            lost_leases: lost_leases as u32,
        }))
    }

    async fn requeue(&self, target: Requeue, actor: &str) -> RepoResult<Vec<AttachmentId>> {
        let now = now_millis();
        let mut tx = self.tx().await?;
        let ids: Vec<i64> = match &target {
            Requeue::Attachment(a) => {
                sqlx::query_scalar("SELECT id FROM attachments WHERE id = $1 AND status = 'failed'")
                    .bind(a.0)
                    .fetch_all(&mut *tx)
                    .await?
            }
            Requeue::Dossier(d) => {
                sqlx::query_scalar("SELECT id FROM attachments WHERE dossier_id = $1 AND status = 'failed' ORDER BY id")
                    .bind(d.0)
                    .fetch_all(&mut *tx)
                    .await?
            }
            Requeue::Dead { code } => {
                sqlx::query_scalar(
                    "SELECT a.id FROM attachments a JOIN jobs j ON j.attachment_id = a.id
                     WHERE a.status = 'failed' AND j.state = 'dead'
                       AND ($1::TEXT IS NULL OR a.error_code = $1) ORDER BY a.id",
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
        let ids: Vec<i64> = jobs.iter().map(|j| j.0).collect();
        Ok(
            sqlx::query("UPDATE jobs SET crashes = crashes + 1 WHERE id = ANY($1)")
                .bind(&ids)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    async fn heartbeat(&self, job: JobId, worker: &str, lease_until: Millis) -> RepoResult<bool> {
        let r = sqlx::query(
            "UPDATE jobs SET lease_until = $1, updated_at = $2
             WHERE id = $3 AND worker = $4 AND state = 'running'",
        )
        .bind(lease_until)
        .bind(now_millis())
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
        let now = now_millis();
        let mut tx = self.tx().await?;
        let owned = sqlx::query(
            "UPDATE jobs SET state = 'done', lease_until = NULL, finished_at = $1, updated_at = $1
             WHERE id = $2 AND worker = $3 AND state = 'running'",
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
        sqlx::query("DELETE FROM pages WHERE attachment_id = $1")
            .bind(attachment.0)
            .execute(&mut *tx)
            .await?;
        for p in pages {
            sqlx::query(
                "INSERT INTO pages (attachment_id, idx, status, width, height, orientation, skew,
                    blank, dpi, mean_confidence, text, pdf_key)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
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
            "UPDATE attachments a SET status = 'done', pdf_key = $1, page_count = $2,
                error_code = NULL, error_message = NULL, updated_at = $3
             FROM dossiers d
             WHERE a.id = $4 AND d.id = a.dossier_id
             RETURNING a.dossier_id, d.unit_id",
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
        .insert_pg(&mut tx)
        .await?;
        crate::repo::review_sql::pg_settle(
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
        let now = now_millis();
        let mut tx = self.tx().await?;
        let (state, run_after, error) = match &outcome {
            FailOutcome::Retry { at, error } | FailOutcome::Pass { at, error } => {
                ("queued", *at, error.clone())
            }
            FailOutcome::Abort { code, message } => ("failed", now, format!("{code}: {message}")),
            FailOutcome::Dead { error } => ("dead", now, error.clone()),
        };
        let row: Option<(Option<i64>, i64)> = sqlx::query_as(
            "UPDATE jobs SET state = $1, run_after = $2, last_error = $3, lease_until = NULL,
                attempts = CASE WHEN $7 THEN GREATEST(attempts - 1, 0) ELSE attempts END,
                worker = CASE WHEN $1 = 'queued' THEN NULL ELSE worker END,
                finished_at = CASE WHEN $1 = 'queued' THEN NULL ELSE $4 END, updated_at = $4
             WHERE id = $5 AND worker = $6 AND state = 'running'
             RETURNING attachment_id, unit_id",
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
        let Some((attachment, unit)) = row else {
            tx.rollback().await?;
            return Ok(false);
        };
        if let Some(a) = attachment.map(AttachmentId) {
            match &outcome {
                FailOutcome::Retry { .. } | FailOutcome::Pass { .. } => {
                    sqlx::query(
                        "UPDATE attachments SET status = 'queued', updated_at = $1 WHERE id = $2",
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
        // A retry due now is news for idle workers; a later one is found by their polling.
        if matches!(outcome, FailOutcome::Retry { at, .. } | FailOutcome::Pass { at, .. } if at <= now)
        {
            notify_jobs(&mut tx, UnitId(unit)).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn release(&self, worker: &str) -> RepoResult<u64> {
        let now = now_millis();
        let mut tx = self.tx().await?;
        let released: Vec<(Option<i64>, i64)> = sqlx::query_as(
            "UPDATE jobs SET state = 'queued', worker = NULL, lease_until = NULL,
                attempts = GREATEST(attempts - 1, 0), run_after = $1, updated_at = $1
             WHERE worker = $2 AND state = 'running'
             RETURNING attachment_id, unit_id",
        )
        .bind(now)
        .bind(worker)
        .fetch_all(&mut *tx)
        .await?;
        for a in released.iter().filter_map(|r| r.0) {
            sqlx::query("UPDATE attachments SET status = 'queued', updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(a)
                .execute(&mut *tx)
                .await?;
        }
        if let Some((_, unit)) = released.first() {
            notify_jobs(&mut tx, UnitId(*unit)).await?;
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
             WHERE attachment_id = $1 ORDER BY id DESC",
        )
        .bind(attachment.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(JobInfo::from).collect())
    }
}

async fn fail_attachment(
    tx: &mut Transaction<'static, Postgres>,
    a: AttachmentId,
    code: &str,
    message: &str,
    now: Millis,
) -> RepoResult<()> {
    let dossier: i64 = sqlx::query_scalar(
        "UPDATE attachments SET status = 'failed', error_code = $1, error_message = $2,
            updated_at = $3
         WHERE id = $4 RETURNING dossier_id",
    )
    .bind(code)
    .bind(message)
    .bind(now)
    .bind(a.0)
    .fetch_one(&mut **tx)
    .await?;
    crate::repo::review_sql::pg_settle(tx, DossierId(dossier), "system", now).await?;
    Ok(())
}

/// Puts a failed or set-aside attachment back in the queue: the attachment queued with its error
/// cleared, the dossier processing again, audited; `fresh` (an operator's requeue) also queues
/// its job as new, attempts and lost workers counted from zero (the automatic retry of a job set
/// aside has queued the job itself and keeps its count: lost once more, it waits for an operator).
pub(in crate::repo) async fn requeue_attachment(
    tx: &mut Transaction<'static, Postgres>,
    a: AttachmentId,
    actor: &str,
    now: Millis,
    fresh: bool,
) -> RepoResult<bool> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "UPDATE attachments SET status = 'queued', error_code = NULL, error_message = NULL,
            updated_at = $1
         WHERE id = $2 AND status = 'failed'
         RETURNING dossier_id, (SELECT unit_id FROM dossiers WHERE id = dossier_id)",
    )
    .bind(now)
    .bind(a.0)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((dossier, unit)) = row else {
        return Ok(false);
    };
    if fresh {
        sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = 0, lost_leases = 0, crashes = 0, run_after = $1,
            worker = NULL, lease_until = NULL, finished_at = NULL, updated_at = $1
         WHERE attachment_id = $2 AND state IN ('failed', 'dead', 'queued')",
        )
        .bind(now)
        .bind(a.0)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO audit (at, actor, action, unit_id, dossier_id, attachment_id, detail)
         VALUES ($1, $2, 'attachment.requeued', $3, $4, $5, '')",
    )
    .bind(now)
    .bind(actor)
    .bind(unit)
    .bind(dossier)
    .bind(a.0)
    .execute(&mut **tx)
    .await?;
    crate::repo::review_sql::pg_files_added(tx, DossierId(dossier), actor, now).await?;
    notify_jobs(tx, UnitId(unit)).await?;
    Ok(true)
}
