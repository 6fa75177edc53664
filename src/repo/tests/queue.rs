//! The job queue: fair claims, leases, retries, dead letters, releases, idempotent uploads; on
//! PostgreSQL also many pools claiming at once.

use std::collections::HashSet;

use super::{Backend, on_every_backend};
use crate::domain::{
    Actor, AttachmentId, AttachmentStatus, Dossier, DossierSource, JobState, NewAttachment,
    PageRecord,
};
use crate::repo::{FailOutcome, JobQueue, NewDossier, NewJob, PgRepo, Processed, Repo};

on_every_backend!(
    a_single_upload_of_another_unit_is_claimed_before_a_big_backlog,
    an_expired_lease_is_claimed_again_and_the_old_worker_cannot_finish,
    completing_twice_replaces_pages,
    retries_back_off_then_dead_letter_and_aborts_fail_the_attachment,
    released_claims_are_queued_again_without_counting_the_attempt,
    passing_trouble_never_uses_up_a_good_files_attempts,
    a_job_whose_worker_keeps_dying_is_set_aside_then_retried_once,
    same_bytes_in_the_same_dossier_are_one_attachment,
);

/// A result with `pages` and no fields.
pub(crate) fn done(pages: &[PageRecord]) -> Processed<'_> {
    Processed {
        pages,
        pdf_key: "k",
        fields: &[],
    }
}

pub(crate) async fn dossier(repo: &dyn Repo, unit: &str) -> Dossier {
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
            lookup_sha256: None,
        },
        &Actor::Admin,
    )
    .await
    .unwrap()
}

pub(super) fn file(n: usize) -> NewAttachment {
    let sha = format!("{n:064x}");
    NewAttachment {
        filename: Some(format!("scan-{n}.jpg")),
        original_key: format!("originals/{}/{sha}", &sha[..2]),
        sha256: sha,
        bytes: 100,
        media_type: "image/jpeg".into(),
    }
}

pub(super) fn job(a: AttachmentId) -> NewJob {
    NewJob {
        kind: "process_attachment",
        payload: format!("{{\"attachment_id\":{a}}}"),
    }
}

pub(crate) async fn upload(
    repo: &dyn Repo,
    d: &Dossier,
    range: std::ops::Range<usize>,
) -> Vec<AttachmentId> {
    let files: Vec<_> = range.map(file).collect();
    repo.add_attachments(d, &files, None, &job, &Actor::Admin)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.attachment.id)
        .collect()
}

pub(super) fn page(i: u32) -> PageRecord {
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

async fn a_single_upload_of_another_unit_is_claimed_before_a_big_backlog(backend: Backend) {
    let repo = backend.fresh().await;
    let a = dossier(&*repo, "A").await;
    let b = dossier(&*repo, "B").await;
    upload(&*repo, &a, 0..200).await;
    let t = crate::domain::now_millis() + 1000;
    let lease = t + 60_000;
    // Two workers busy with unit A's batch…
    let first = repo
        .claim("w1", t, lease, crate::repo::ClaimLimits::new(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.unit_id, a.unit_id);
    // …then unit B uploads one file, after 198 of A's are waiting.
    let single = upload(&*repo, &b, 1000..1001).await[0];
    let next = repo
        .claim("w2", t + 1, lease, crate::repo::ClaimLimits::new(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.attachment_id, Some(single), "B's upload goes next");

    // With one worker (nothing running), the unit served longest ago still goes first.
    let repo = backend.fresh().await;
    let a = dossier(&*repo, "A").await;
    let b = dossier(&*repo, "B").await;
    upload(&*repo, &a, 0..50).await;
    let j = repo
        .claim("w1", t, lease, crate::repo::ClaimLimits::new(5))
        .await
        .unwrap()
        .unwrap();
    repo.complete_attachment(j.id, "w1", j.attachment_id.unwrap(), &done(&[page(0)]))
        .await
        .unwrap();
    let single = upload(&*repo, &b, 1000..1001).await[0];
    let next = repo
        .claim("w1", t + 10, lease, crate::repo::ClaimLimits::new(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.attachment_id, Some(single));
    // And afterwards A's backlog continues in order.
    let after = repo
        .claim("w1", t + 20, lease, crate::repo::ClaimLimits::new(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.unit_id, a.unit_id);
}

async fn an_expired_lease_is_claimed_again_and_the_old_worker_cannot_finish(backend: Backend) {
    let repo = backend.fresh().await;
    let d = dossier(&*repo, "A").await;
    let att = upload(&*repo, &d, 0..1).await[0];
    let t = crate::domain::now_millis() + 1000;
    let j = repo
        .claim("dead", t, t + 1000, crate::repo::ClaimLimits::new(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(j.attempts, 1);
    assert!(
        repo.claim("w2", t + 500, t + 1500, crate::repo::ClaimLimits::new(5))
            .await
            .unwrap()
            .is_none(),
        "leased"
    );
    assert!(repo.heartbeat(j.id, "dead", t + 2000).await.unwrap());
    assert!(
        repo.claim("w2", t + 1500, t + 2500, crate::repo::ClaimLimits::new(5))
            .await
            .unwrap()
            .is_none()
    );
    // The worker dies: no more heartbeats; after the lease and the lost-worker backoff the job
    // goes to another worker.
    let limits = crate::repo::ClaimLimits::new(5);
    assert!(
        repo.claim("w2", t + 2001, t + 2002, limits)
            .await
            .unwrap()
            .is_none()
    );
    let t = t + 2001 + limits.lost_backoff_ms;
    let again = repo
        .claim("w2", t, t + 7000, limits)
        .await
        .unwrap()
        .unwrap();
    // A lost worker does not use up the file's attempts; the job says it was lost.
    assert_eq!((again.id, again.attempts, again.lost_leases), (j.id, 1, 1));
    assert!(!repo.heartbeat(j.id, "dead", t + 9999).await.unwrap());
    assert!(
        !repo
            .complete_attachment(j.id, "dead", att, &done(&[page(0)]))
            .await
            .unwrap()
    );
    // A retry writing results twice still leaves one set of pages.
    assert!(
        repo.complete_attachment(j.id, "w2", att, &done(&[page(0), page(1)]))
            .await
            .unwrap()
    );
    let v = repo.attachment_views(d.id).await.unwrap();
    assert_eq!(v[0].pages.len(), 2);
    assert_eq!(v[0].attachment.status, AttachmentStatus::Done);
    let job = v[0].job.clone().unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Done, 1));
}

async fn completing_twice_replaces_pages(backend: Backend) {
    let repo = backend.fresh().await;
    let d = dossier(&*repo, "A").await;
    let att = upload(&*repo, &d, 0..1).await[0];
    let t = crate::domain::now_millis() + 1000;
    let j = repo
        .claim("w", t, t + 1000, crate::repo::ClaimLimits::new(5))
        .await
        .unwrap()
        .unwrap();
    assert!(
        repo.complete_attachment(j.id, "w", att, &done(&[page(0), page(1), page(2)]))
            .await
            .unwrap()
    );
    // Same job delivered again (e.g. re-queued by an operator): still three pages.
    repo.exec(&format!(
        "UPDATE jobs SET state = 'running', worker = 'w' WHERE id = {}",
        j.id
    ))
    .await;
    assert!(
        repo.complete_attachment(j.id, "w", att, &done(&[page(0), page(1), page(2)]))
            .await
            .unwrap()
    );
    assert_eq!(repo.count("SELECT COUNT(*) FROM pages").await, 3);
}

async fn retries_back_off_then_dead_letter_and_aborts_fail_the_attachment(backend: Backend) {
    let repo = backend.fresh().await;
    let d = dossier(&*repo, "A").await;
    let ids = upload(&*repo, &d, 0..2).await;
    let t = crate::domain::now_millis() + 1000;
    let j = repo
        .claim("w", t, t + 1000, crate::repo::ClaimLimits::new(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(j.attachment_id, Some(ids[0]));
    let retry = FailOutcome::Retry {
        at: t + 5000,
        error: "store unavailable".into(),
    };
    assert!(repo.fail(j.id, "w", retry).await.unwrap());
    // Not before its time: the other attachment goes first.
    let other = repo
        .claim("w", t + 10, t + 1000, crate::repo::ClaimLimits::new(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other.attachment_id, Some(ids[1]));
    let abort = FailOutcome::Abort {
        code: "corrupt_file".into(),
        message: "truncated JPEG".into(),
    };
    assert!(repo.fail(other.id, "w", abort).await.unwrap());
    assert!(
        repo.claim("w", t + 20, t + 1000, crate::repo::ClaimLimits::new(2))
            .await
            .unwrap()
            .is_none()
    );
    let j2 = repo
        .claim("w", t + 5000, t + 6000, crate::repo::ClaimLimits::new(2))
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

async fn released_claims_are_queued_again_without_counting_the_attempt(backend: Backend) {
    let repo = backend.fresh().await;
    let d = dossier(&*repo, "A").await;
    upload(&*repo, &d, 0..1).await;
    let t = crate::domain::now_millis() + 1000;
    let j = repo
        .claim("w", t, t + 60_000, crate::repo::ClaimLimits::new(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(repo.release("w").await.unwrap(), 1);
    let again = repo
        .claim("w2", t + 1, t + 60_000, crate::repo::ClaimLimits::new(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.id, again.attempts), (j.id, 1));
}

/// The outside test's finding: five `Too many open files` in a row dead-lettered good pages.
/// Passing trouble gives its attempt back, however often it comes.
async fn passing_trouble_never_uses_up_a_good_files_attempts(backend: Backend) {
    let repo = backend.fresh().await;
    let d = dossier(&*repo, "A").await;
    let ids = upload(&*repo, &d, 0..1).await;
    let policy = crate::queue::RetryPolicy {
        max_attempts: 2,
        base_ms: 10,
        max_ms: 10,
    };
    let mut t = crate::domain::now_millis() + 1000;
    for _ in 0..6 {
        let j = repo
            .claim("w", t, t + 1000, crate::repo::ClaimLimits::new(2))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((j.attachment_id, j.attempts), (Some(ids[0]), 1));
        let emfile = crate::store::StoreError::Io(std::io::Error::from_raw_os_error(libc::EMFILE));
        let outcome = policy.outcome(j.attempts, &crate::queue::JobError::store(emfile), t);
        assert!(matches!(outcome, FailOutcome::Pass { .. }), "{outcome:?}");
        assert!(repo.fail(j.id, "w", outcome).await.unwrap());
        t += 100;
    }
    let v = repo.attachment_views(d.id).await.unwrap();
    assert_eq!(v[0].attachment.status, AttachmentStatus::Queued);
    let job = v[0].job.clone().unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Queued, 0));
}

/// The outside test's finding: a file whose worker was lost 5 times (the server killed while on
/// it) ended `processing_failed`. Lost workers use no attempts and never fail a job: it waits a
/// doubling backoff and runs again. Only a job that crashed its worker `max_crashes` times is set
/// aside as `worker_lost`, tried once more by itself after the delay, and set aside for an
/// operator if it crashes once more.
async fn a_job_whose_worker_keeps_dying_is_set_aside_then_retried_once(backend: Backend) {
    let repo = backend.fresh().await;
    let d = dossier(&*repo, "A").await;
    upload(&*repo, &d, 0..1).await;
    let limits = crate::repo::ClaimLimits {
        max_attempts: 2,
        max_crashes: 3,
        lost_backoff_ms: 1_000,
        lost_retry_ms: 60_000,
    };
    let mut t = crate::domain::now_millis() + 1000;
    // Killed eight times (no crash recorded): each claim finds the last one's lease expired, and
    // the job waits 1, 2, 4, … s (at most the retry delay) before it runs again.
    let mut job = repo.claim("w", t, t + 10, limits).await.unwrap().unwrap();
    for n in 1..=8u32 {
        t += 11;
        assert!(
            repo.claim("w", t, t + 10, limits).await.unwrap().is_none(),
            "loss {n}"
        );
        let wait = (1_000i64 << (n - 1)).min(60_000);
        assert!(
            repo.claim("w", t + wait - 2, t + wait, limits)
                .await
                .unwrap()
                .is_none()
        );
        t += wait;
        job = repo.claim("w", t, t + 10, limits).await.unwrap().unwrap();
        assert_eq!((job.attempts, job.lost_leases), (1, n));
    }
    let v = repo.attachment_views(d.id).await.unwrap();
    assert_eq!(v[0].attachment.status, AttachmentStatus::Processing);
    // It crashed its worker three times: set aside on the next loss.
    for _ in 0..3 {
        assert_eq!(repo.record_crashes(&[job.id]).await.unwrap(), 1);
    }
    t += 11;
    assert!(repo.claim("w", t, t + 10, limits).await.unwrap().is_none());
    let v = repo.attachment_views(d.id).await.unwrap();
    assert_eq!(v[0].job.as_ref().unwrap().state, JobState::Dead);
    assert_eq!(v[0].attachment.status, AttachmentStatus::Failed);
    assert_eq!(v[0].attachment.error_code.as_deref(), Some("worker_lost"));
    let msg = v[0].attachment.error_message.clone().unwrap_or_default();
    assert!(
        msg.contains("crashed 3 times") && msg.contains("tried again"),
        "{msg}"
    );
    // After the delay it is queued again by itself, the dossier processing again.
    let retried = repo
        .claim("w", t + 60_000, t + 60_010, limits)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((retried.attempts, retried.lost_leases), (1, 9));
    let v = repo.attachment_views(d.id).await.unwrap();
    assert_eq!(v[0].attachment.status, AttachmentStatus::Processing);
    assert_eq!(v[0].attachment.error_code, None);
    // It crashes once more: now it waits for an operator.
    repo.record_crashes(&[retried.id]).await.unwrap();
    let t = t + 60_011;
    assert!(repo.claim("w", t, t + 10, limits).await.unwrap().is_none());
    let far = t + 100 * 86_400_000;
    assert!(
        repo.claim("w", far, far + 10, limits)
            .await
            .unwrap()
            .is_none()
    );
    let v = repo.attachment_views(d.id).await.unwrap();
    assert_eq!(v[0].attachment.error_code.as_deref(), Some("worker_lost"));
    let msg = v[0].attachment.error_message.clone().unwrap_or_default();
    assert!(msg.contains("operator"), "{msg}");
    // The operator requeues it (by its code; a code it does not have finds nothing): as new.
    let other = crate::repo::Requeue::Dead {
        code: Some("processing_failed".into()),
    };
    assert!(repo.requeue(other, "admin").await.unwrap().is_empty());
    let lost = crate::repo::Requeue::Dead {
        code: Some("worker_lost".into()),
    };
    let requeued = repo.requeue(lost, "admin").await.unwrap();
    assert_eq!(requeued.len(), 1);
    let j = repo
        .claim("w", far, far + 10, limits)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (j.attachment_id, j.attempts, j.lost_leases),
        (Some(requeued[0]), 1, 0)
    );
    let again = crate::repo::Requeue::Attachment(requeued[0]);
    assert!(
        repo.requeue(again, "admin").await.unwrap().is_empty(),
        "not failed now"
    );
}

async fn same_bytes_in_the_same_dossier_are_one_attachment(backend: Backend) {
    let repo = backend.fresh().await;
    let d = dossier(&*repo, "A").await;
    let first = upload(&*repo, &d, 0..2).await;
    let again = repo
        .add_attachments(&d, &[file(1), file(2)], None, &job, &Actor::Admin)
        .await
        .unwrap();
    assert_eq!(again[0].attachment.id, first[1]);
    assert!(!again[0].created);
    assert!(again[1].created);
    assert_eq!(
        repo.count("SELECT COUNT(*) FROM jobs").await,
        3,
        "no second job for the same bytes"
    );
    // Another dossier may hold the same bytes.
    let other = dossier(&*repo, "A").await;
    assert!(upload(&*repo, &other, 1..2).await.len() == 1);
}

/// Eight pools (as eight worker processes) claim from 200 queued jobs of three units at once:
/// every job is handed out exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_from_many_pools_never_hand_out_a_job_twice() {
    let Some(backend) = Backend::postgres(concat!(
        module_path!(),
        "::concurrent_claims_from_many_pools_never_hand_out_a_job_twice"
    )) else {
        return;
    };
    let repo = backend.fresh().await;
    for (unit, files) in [("A", 0..150), ("B", 1000..1040), ("C", 2000..2010)] {
        let d = dossier(&*repo, unit).await;
        upload(&*repo, &d, files).await;
    }
    let url = repo.pg_url().unwrap().to_string();
    let t = crate::domain::now_millis() + 1000;
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..8 {
        let url = url.clone();
        tasks.spawn(async move {
            let pool = PgRepo::open(&super::pg_config(&url)).await.unwrap();
            let worker = format!("w{w}");
            let mut got = Vec::new();
            while let Some(j) = pool
                .claim(&worker, t, t + 60_000, crate::repo::ClaimLimits::new(5))
                .await
                .unwrap()
            {
                got.push(j.id);
            }
            got
        });
    }
    let mut all = Vec::new();
    while let Some(r) = tasks.join_next().await {
        all.extend(r.unwrap());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "a job was claimed twice");
    assert_eq!(all.len(), 200, "every job claimed");
    let depth = repo.depth().await.unwrap();
    assert!(depth.contains(&(JobState::Running, 200)), "{depth:?}");
    assert!(depth.contains(&(JobState::Queued, 0)), "{depth:?}");
}

/// An upload committed by another process (pool) wakes this process's idle workers at once
/// through LISTEN/NOTIFY, without waiting for their next poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_elsewhere_wakes_listening_workers() {
    let Some(backend) = Backend::postgres(concat!(
        module_path!(),
        "::an_upload_elsewhere_wakes_listening_workers"
    )) else {
        return;
    };
    let repo = backend.fresh().await;
    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    let stop = tokio_util::sync::CancellationToken::new();
    let watcher = repo.watch_jobs(wake.clone(), stop.clone()).unwrap();
    // Let the listener connect (it wakes once on connecting, before anyone waits).
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    let other = PgRepo::open(&super::pg_config(repo.pg_url().unwrap()))
        .await
        .unwrap();
    let d = dossier(&other, "A").await;
    let woken = wake.notified();
    tokio::pin!(woken);
    woken.as_mut().enable();
    upload(&other, &d, 0..1).await;
    tokio::time::timeout(std::time::Duration::from_secs(5), woken)
        .await
        .expect("no wake-up after an upload");

    // Nothing queued (a duplicate): no wake-up.
    let woken = wake.notified();
    tokio::pin!(woken);
    woken.as_mut().enable();
    upload(&other, &d, 0..1).await;
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(500), woken)
            .await
            .is_err(),
        "woken for a duplicate"
    );
    stop.cancel();
    watcher.await.unwrap();
}
