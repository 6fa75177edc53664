//! The job queue on SQLite. Claiming is one `UPDATE … RETURNING` inside a `BEGIN IMMEDIATE`
//! transaction, so two workers (threads or processes) can never claim the same job.

use async_trait::async_trait;

use super::{Audit, SqliteRepo};
use crate::domain::{Actor, AttachmentId, JobId, JobInfo, JobState, Millis, PageRecord, UnitId};
use crate::repo::{ClaimedJob, FailOutcome, JobQueue, RepoResult};

use super::dossiers::JobRow;

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
RETURNING id, kind, payload, attempts, attachment_id, unit_id, created_at";

#[async_trait]
impl JobQueue for SqliteRepo {
    async fn claim(
        &self,
        worker: &str,
        now: Millis,
        lease_until: Millis,
        max_attempts: u32,
    ) -> RepoResult<Option<ClaimedJob>> {
        let mut tx = self.write_tx().await?;
        // A job whose worker died at its last allowed attempt (a file that crashes the
        // process, say) is dead-lettered rather than handed out forever.
        let dead: Vec<(i64, Option<i64>, i64)> = sqlx::query_as(
            "UPDATE jobs SET state = 'dead', lease_until = NULL, finished_at = ?1, updated_at = ?1,
                last_error = COALESCE(last_error || '; ', '') || 'worker lost the job (lease expired) on attempt ' || attempts
             WHERE state = 'running' AND lease_until < ?1 AND attempts >= ?2
             RETURNING id, attachment_id, unit_id",
        )
        .bind(now)
        .bind(i64::from(max_attempts))
        .fetch_all(&mut *tx)
        .await?;
        for (_, attachment, _) in &dead {
            if let Some(a) = attachment {
                fail_attachment(
                    &mut tx,
                    AttachmentId(*a),
                    "processing_failed",
                    "dead-lettered: the worker processing it was lost on every attempt",
                    now,
                )
                .await?;
            }
        }
        let row: Option<(i64, String, String, i64, Option<i64>, i64, i64)> = sqlx::query_as(CLAIM)
            .bind(now)
            .bind(worker)
            .bind(lease_until)
            .fetch_optional(&mut *tx)
            .await?;
        let job = row.map(
            |(id, kind, payload, attempts, attachment, unit, created_at)| ClaimedJob {
                id: JobId(id),
                kind,
                payload,
                attempts: attempts as u32,
                attachment_id: attachment.map(AttachmentId),
                unit_id: UnitId(unit),
                created_at,
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
        pages: &[PageRecord],
        pdf_key: &str,
    ) -> RepoResult<bool> {
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
        Audit {
            actor: &Actor::Worker(worker.to_string()),
            action: "attachment.processed",
            unit: Some(UnitId(unit)),
            dossier: Some(crate::domain::DossierId(dossier)),
            attachment: Some(attachment),
            detail: Some(format!("{} pages", pages.len())),
        }
        .insert(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn fail(&self, job: JobId, worker: &str, outcome: FailOutcome) -> RepoResult<bool> {
        let now = crate::domain::now_millis();
        let mut tx = self.write_tx().await?;
        let (state, run_after, error) = match &outcome {
            FailOutcome::Retry { at, error } => ("queued", *at, error.clone()),
            FailOutcome::Abort { code, message } => ("failed", now, format!("{code}: {message}")),
            FailOutcome::Dead { error } => ("dead", now, error.clone()),
        };
        let attachment: Option<Option<i64>> = sqlx::query_scalar(
            "UPDATE jobs SET state = ?1, run_after = ?2, last_error = ?3, lease_until = NULL,
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
        .fetch_optional(&mut *tx)
        .await?;
        let Some(attachment) = attachment else {
            tx.rollback().await?;
            return Ok(false);
        };
        if let Some(a) = attachment.map(AttachmentId) {
            match &outcome {
                FailOutcome::Retry { .. } => {
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
            "SELECT id, attachment_id, state, attempts, last_error, run_after FROM jobs
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
    sqlx::query(
        "UPDATE attachments SET status = 'failed', error_code = ?, error_message = ?, updated_at = ?
         WHERE id = ?",
    )
    .bind(code)
    .bind(message)
    .bind(now)
    .bind(a.0)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AttachmentStatus, Dossier, DossierSource, NewAttachment};
    use crate::repo::{DossierRepo, NewDossier, NewJob, UnitRepo};

    async fn dossier(repo: &SqliteRepo, unit: &str) -> Dossier {
        let u = match repo.unit_by_code(unit).await.unwrap() {
            Some(u) => u,
            None => repo.create_unit(unit, unit, "").await.unwrap(),
        };
        let code = format!("{unit}-{}", uuid::Uuid::new_v4().simple());
        repo.create_dossier(
            NewDossier {
                code: &code,
                unit: u.id,
                procedure: "khai-sinh",
                source: DossierSource::Station,
                citizen_token_sha256: None,
            },
            &Actor::Admin,
        )
        .await
        .unwrap()
    }

    fn file(n: usize) -> NewAttachment {
        let sha = format!("{n:064x}");
        NewAttachment {
            filename: Some(format!("scan-{n}.jpg")),
            original_key: format!("originals/{}/{sha}", &sha[..2]),
            sha256: sha,
            bytes: 100,
            media_type: "image/jpeg".into(),
        }
    }

    fn job(a: AttachmentId) -> NewJob {
        NewJob {
            kind: "process_attachment",
            payload: format!("{{\"attachment_id\":{a}}}"),
        }
    }

    async fn upload(
        repo: &SqliteRepo,
        d: &Dossier,
        range: std::ops::Range<usize>,
    ) -> Vec<AttachmentId> {
        let files: Vec<_> = range.map(file).collect();
        repo.add_attachments(d, &files, &job, &Actor::Admin)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.attachment.id)
            .collect()
    }

    fn page(i: u32) -> PageRecord {
        PageRecord {
            index: i,
            status: "done".into(),
            width: 10,
            height: 10,
            orientation: 0,
            skew: 0.0,
            blank: false,
            dpi: 300.0,
            mean_confidence: Some(90.0),
            text: format!("page {i}"),
            pdf_key: "derived/x.pdf".into(),
        }
    }

    #[tokio::test]
    async fn a_single_upload_of_another_unit_is_claimed_before_a_big_backlog() {
        let repo = SqliteRepo::in_memory().await.unwrap();
        let a = dossier(&repo, "A").await;
        let b = dossier(&repo, "B").await;
        upload(&repo, &a, 0..200).await;
        let t = crate::domain::now_millis() + 1000;
        let lease = t + 60_000;
        // Two workers busy with unit A's batch…
        let first = repo.claim("w1", t, lease, 5).await.unwrap().unwrap();
        assert_eq!(first.unit_id, a.unit_id);
        // …then unit B uploads one file, after 198 of A's are waiting.
        let single = upload(&repo, &b, 1000..1001).await[0];
        let next = repo.claim("w2", t + 1, lease, 5).await.unwrap().unwrap();
        assert_eq!(next.attachment_id, Some(single), "B's upload goes next");

        // With one worker (nothing running), the unit served longest ago still goes first.
        let repo = SqliteRepo::in_memory().await.unwrap();
        let a = dossier(&repo, "A").await;
        let b = dossier(&repo, "B").await;
        upload(&repo, &a, 0..50).await;
        let j = repo.claim("w1", t, lease, 5).await.unwrap().unwrap();
        repo.complete_attachment(j.id, "w1", j.attachment_id.unwrap(), &[page(0)], "k")
            .await
            .unwrap();
        let single = upload(&repo, &b, 1000..1001).await[0];
        let next = repo.claim("w1", t + 10, lease, 5).await.unwrap().unwrap();
        assert_eq!(next.attachment_id, Some(single));
        // And afterwards A's backlog continues in order.
        let after = repo.claim("w1", t + 20, lease, 5).await.unwrap().unwrap();
        assert_eq!(after.unit_id, a.unit_id);
    }

    #[tokio::test]
    async fn an_expired_lease_is_claimed_again_and_the_old_worker_cannot_finish() {
        let repo = SqliteRepo::in_memory().await.unwrap();
        let d = dossier(&repo, "A").await;
        let att = upload(&repo, &d, 0..1).await[0];
        let t = crate::domain::now_millis() + 1000;
        let j = repo.claim("dead", t, t + 1000, 5).await.unwrap().unwrap();
        assert_eq!(j.attempts, 1);
        assert!(
            repo.claim("w2", t + 500, t + 1500, 5)
                .await
                .unwrap()
                .is_none(),
            "leased"
        );
        assert!(repo.heartbeat(j.id, "dead", t + 2000).await.unwrap());
        assert!(
            repo.claim("w2", t + 1500, t + 2500, 5)
                .await
                .unwrap()
                .is_none()
        );
        // The worker dies: no more heartbeats; after the lease the job goes to another worker.
        let again = repo
            .claim("w2", t + 2001, t + 9000, 5)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((again.id, again.attempts), (j.id, 2));
        assert!(!repo.heartbeat(j.id, "dead", t + 9999).await.unwrap());
        assert!(
            !repo
                .complete_attachment(j.id, "dead", att, &[page(0)], "k")
                .await
                .unwrap()
        );
        // A retry writing results twice still leaves one set of pages.
        assert!(
            repo.complete_attachment(j.id, "w2", att, &[page(0), page(1)], "k")
                .await
                .unwrap()
        );
        let v = repo.attachment_views(d.id).await.unwrap();
        assert_eq!(v[0].pages.len(), 2);
        assert_eq!(v[0].attachment.status, AttachmentStatus::Done);
        let job = v[0].job.clone().unwrap();
        assert_eq!((job.state, job.attempts), (JobState::Done, 2));
    }

    #[tokio::test]
    async fn completing_twice_replaces_pages() {
        let repo = SqliteRepo::in_memory().await.unwrap();
        let d = dossier(&repo, "A").await;
        let att = upload(&repo, &d, 0..1).await[0];
        let t = crate::domain::now_millis() + 1000;
        let j = repo.claim("w", t, t + 1000, 5).await.unwrap().unwrap();
        assert!(
            repo.complete_attachment(j.id, "w", att, &[page(0), page(1), page(2)], "k")
                .await
                .unwrap()
        );
        // Same job delivered again (e.g. re-queued by an operator): still three pages.
        sqlx::query("UPDATE jobs SET state = 'running', worker = 'w' WHERE id = ?")
            .bind(j.id.0)
            .execute(&repo.pool)
            .await
            .unwrap();
        assert!(
            repo.complete_attachment(j.id, "w", att, &[page(0), page(1), page(2)], "k")
                .await
                .unwrap()
        );
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pages")
            .fetch_one(&repo.pool)
            .await
            .unwrap();
        assert_eq!(n, 3);
    }

    #[tokio::test]
    async fn retries_back_off_then_dead_letter_and_aborts_fail_the_attachment() {
        let repo = SqliteRepo::in_memory().await.unwrap();
        let d = dossier(&repo, "A").await;
        let ids = upload(&repo, &d, 0..2).await;
        let t = crate::domain::now_millis() + 1000;
        let j = repo.claim("w", t, t + 1000, 2).await.unwrap().unwrap();
        assert_eq!(j.attachment_id, Some(ids[0]));
        let retry = FailOutcome::Retry {
            at: t + 5000,
            error: "store unavailable".into(),
        };
        assert!(repo.fail(j.id, "w", retry).await.unwrap());
        // Not before its time: the other attachment goes first.
        let other = repo.claim("w", t + 10, t + 1000, 2).await.unwrap().unwrap();
        assert_eq!(other.attachment_id, Some(ids[1]));
        let abort = FailOutcome::Abort {
            code: "corrupt_file".into(),
            message: "truncated JPEG".into(),
        };
        assert!(repo.fail(other.id, "w", abort).await.unwrap());
        assert!(
            repo.claim("w", t + 20, t + 1000, 2)
                .await
                .unwrap()
                .is_none()
        );
        let j2 = repo
            .claim("w", t + 5000, t + 6000, 2)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((j2.id, j2.attempts), (j.id, 2));
        let dead = FailOutcome::Dead {
            error: "store unavailable".into(),
        };
        assert!(repo.fail(j2.id, "w", dead).await.unwrap());
        let v = repo.attachment_views(d.id).await.unwrap();
        assert_eq!(v[0].attachment.status, AttachmentStatus::Failed);
        assert_eq!(
            v[0].attachment.error_code.as_deref(),
            Some("processing_failed")
        );
        let job = v[0].job.clone().unwrap();
        assert_eq!(job.state, JobState::Dead);
        assert_eq!(job.last_error.as_deref(), Some("store unavailable"));
        assert_eq!(v[1].attachment.error_code.as_deref(), Some("corrupt_file"));
        assert_eq!(v[1].job.clone().unwrap().state, JobState::Failed);
        let depth = repo.depth().await.unwrap();
        assert!(depth.contains(&(JobState::Dead, 1)) && depth.contains(&(JobState::Failed, 1)));
    }

    #[tokio::test]
    async fn released_claims_are_queued_again_without_counting_the_attempt() {
        let repo = SqliteRepo::in_memory().await.unwrap();
        let d = dossier(&repo, "A").await;
        upload(&repo, &d, 0..1).await;
        let t = crate::domain::now_millis() + 1000;
        let j = repo.claim("w", t, t + 60_000, 5).await.unwrap().unwrap();
        assert_eq!(repo.release("w").await.unwrap(), 1);
        let again = repo
            .claim("w2", t + 1, t + 60_000, 5)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((again.id, again.attempts), (j.id, 1));
    }

    #[tokio::test]
    async fn a_job_whose_worker_keeps_dying_is_dead_lettered() {
        let repo = SqliteRepo::in_memory().await.unwrap();
        let d = dossier(&repo, "A").await;
        upload(&repo, &d, 0..1).await;
        let t = crate::domain::now_millis() + 1000;
        repo.claim("w1", t, t + 10, 2).await.unwrap().unwrap();
        repo.claim("w2", t + 11, t + 20, 2).await.unwrap().unwrap();
        assert!(repo.claim("w3", t + 21, t + 30, 2).await.unwrap().is_none());
        let v = repo.attachment_views(d.id).await.unwrap();
        assert_eq!(v[0].job.as_ref().unwrap().state, JobState::Dead);
        assert_eq!(v[0].attachment.status, AttachmentStatus::Failed);
    }

    #[tokio::test]
    async fn same_bytes_in_the_same_dossier_are_one_attachment() {
        let repo = SqliteRepo::in_memory().await.unwrap();
        let d = dossier(&repo, "A").await;
        let first = upload(&repo, &d, 0..2).await;
        let again = repo
            .add_attachments(&d, &[file(1), file(2)], &job, &Actor::Admin)
            .await
            .unwrap();
        assert_eq!(again[0].attachment.id, first[1]);
        assert!(!again[0].created);
        assert!(again[1].created);
        let jobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs")
            .fetch_one(&repo.pool)
            .await
            .unwrap();
        assert_eq!(jobs, 3, "no second job for the same bytes");
        // Another dossier may hold the same bytes.
        let other = dossier(&repo, "A").await;
        assert!(upload(&repo, &other, 1..2).await.len() == 1);
    }
}
