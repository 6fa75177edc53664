//! In-process workers: tokio tasks that claim jobs and wait on I/O, one shared rayon pool for
//! the CPU work. Each claim is renewed by a heartbeat while the job runs; a worker that loses
//! its lease drops its result, because the job now belongs to someone else.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::attachment::{self, Done};
use super::{JobError, JobPayload, RetryPolicy};
use crate::config::QueueConfig;
use crate::domain::{JobId, now_millis};
use crate::pipeline::Processor;
use crate::procedure::Procedure;
use crate::repo::{ClaimedJob, Repo};
use crate::store::BlobStore;

pub struct WorkerSettings {
    pub queue: QueueConfig,
    /// Prefix of this process's worker ids (host and pid make it unique).
    pub name: String,
}

/// What every job handler reaches.
pub(super) struct Ctx {
    pub repo: Arc<dyn Repo>,
    pub store: Arc<dyn BlobStore>,
    pub processor: Arc<Processor>,
    /// Procedure pipelines, for the cross-document checks of a dossier.
    pub procedures: Arc<Vec<Procedure>>,
    pub pages: Arc<rayon::ThreadPool>,
    cfg: QueueConfig,
    policy: RetryPolicy,
    claim_limits: crate::repo::ClaimLimits,
    /// Jobs run shared; a job whose worker was lost before runs alone (write), so that if it
    /// takes the process down again no other job is lost with it.
    turns: tokio::sync::RwLock<()>,
}

/// Running workers; [`WorkerPool::shutdown`] stops them.
pub struct WorkerPool {
    tasks: JoinSet<()>,
    ids: Vec<String>,
    ctx: Arc<Ctx>,
    stop: CancellationToken,
}

impl WorkerPool {
    /// Starts `queue.workers` workers. `wake` is notified by uploads in this process, so idle
    /// workers start at once instead of at their next poll.
    pub fn start(
        settings: WorkerSettings,
        repo: Arc<dyn Repo>,
        store: Arc<dyn BlobStore>,
        processor: Arc<Processor>,
        procedures: Arc<Vec<Procedure>>,
        wake: Arc<Notify>,
    ) -> std::io::Result<Self> {
        let q = settings.queue;
        let threads = match q.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let pages = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("page-{i}"))
            .build()
            .map_err(std::io::Error::other)?;
        let ctx = Arc::new(Ctx {
            repo,
            store,
            processor,
            procedures,
            pages: Arc::new(pages),
            policy: RetryPolicy::from_config(&q),
            claim_limits: crate::repo::ClaimLimits::from_config(&q),
            turns: tokio::sync::RwLock::new(()),
            cfg: q.clone(),
        });
        let stop = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let mut ids = Vec::new();
        for n in 0..q.workers {
            let id = format!("{}/{n}", settings.name);
            ids.push(id.clone());
            tasks.spawn(run(ctx.clone(), id, stop.clone(), wake.clone()));
        }
        tracing::info!(
            workers = q.workers,
            page_threads = threads,
            "workers started"
        );
        Ok(Self {
            tasks,
            ids,
            ctx,
            stop,
        })
    }

    /// Stops claiming, lets running jobs finish within `grace`, then gives back the claims of
    /// any still running so another worker takes them without waiting for the lease.
    pub async fn shutdown(mut self, grace: Duration) {
        self.stop.cancel();
        let finished = tokio::time::timeout(grace, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await
        .is_ok();
        if finished {
            // Every page thread is idle now: free the Tesseract engines cleanly (broadcast
            // blocks until each thread ran it, so not on an async thread).
            let pages = self.ctx.pages.clone();
            let _ = tokio::task::spawn_blocking(move || {
                pages.broadcast(|_| crate::ocr::release_engine());
            })
            .await;
            tracing::info!("workers stopped");
            return;
        }
        self.tasks.abort_all();
        for id in &self.ids {
            match self.ctx.repo.release(id).await {
                Ok(n) if n > 0 => {
                    tracing::warn!(worker = %id, jobs = n, "released claims at shutdown")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(worker = %id, "could not release claims: {e}"),
            }
        }
    }
}

async fn run(ctx: Arc<Ctx>, worker: String, stop: CancellationToken, wake: Arc<Notify>) {
    let poll = Duration::from_millis(ctx.cfg.poll_ms);
    let max_backoff = Duration::from_millis(ctx.cfg.outage_backoff_max_ms);
    let lease_ms = (ctx.cfg.lease_secs * 1000) as i64;
    // Consecutive failed claims: the wait doubles so that a database outage is not hammered,
    // and is logged once rather than at every try.
    let mut failures = 0u32;
    while !stop.is_cancelled() {
        let now = now_millis();
        let claimed = ctx
            .repo
            .claim(&worker, now, now + lease_ms, ctx.claim_limits)
            .await;
        if claimed.is_ok() && failures > 0 {
            tracing::info!(worker = %worker, failures, "claiming again after database trouble");
            failures = 0;
        }
        match claimed {
            Ok(Some(job)) => {
                if run_job(&ctx, &worker, job).await {
                    wait_for_store(&ctx, &worker, &stop).await;
                }
            }
            Ok(None) => {
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    _ = wake.notified() => {}
                    _ = stop.cancelled() => {}
                }
            }
            Err(e) => {
                failures += 1;
                let wait = outage_backoff(poll, max_backoff, failures);
                if failures == 1 {
                    tracing::warn!(worker = %worker, "claim failed, backing off: {e}");
                } else {
                    tracing::debug!(worker = %worker, failures, ?wait, "claim failed: {e}");
                }
                metrics::counter!("motcua_claim_failures_total").increment(1);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.cancelled() => {}
                }
            }
        }
    }
}

/// The blob store is down: probe it with growing pauses (the queue's backoff) before claiming
/// again, so that an outage costs each job at most one attempt per worker.
async fn wait_for_store(ctx: &Ctx, worker: &str, stop: &CancellationToken) {
    let mut attempt = 1;
    loop {
        let pause = Duration::from_millis(ctx.policy.backoff_ms(attempt));
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.cancelled() => return,
        }
        match ctx.store.check_writable().await {
            Ok(()) => {
                tracing::info!(worker, "blob store answers again; claiming jobs");
                return;
            }
            Err(e) => tracing::warn!(worker, "blob store still unavailable: {e}"),
        }
        attempt += 1;
    }
}

/// `poll`, doubled for each further consecutive failure, capped at `max`.
fn outage_backoff(poll: Duration, max: Duration, failures: u32) -> Duration {
    let factor = 1u32 << failures.saturating_sub(1).min(16);
    poll.saturating_mul(factor).min(max)
}

/// Renews the lease; cancels `lost` when the job is no longer this worker's, unless the job is
/// `committing`: then the job itself was just committed (or the commit will find it lost).
async fn heartbeat(
    repo: Arc<dyn Repo>,
    (every, lease): (Duration, Duration),
    worker: String,
    job: JobId,
    lost: CancellationToken,
    committing: Arc<AtomicBool>,
) {
    loop {
        tokio::time::sleep(every).await;
        match repo
            .heartbeat(job, &worker, now_millis() + lease.as_millis() as i64)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                if !committing.load(Ordering::SeqCst) {
                    lost.cancel();
                }
                return;
            }
            // Transient: the lease still has time; try again at the next beat.
            Err(e) => tracing::warn!(%job, "heartbeat failed: {e}"),
        }
    }
}

/// Runs one job; true when it failed because the blob store is unavailable.
async fn run_job(ctx: &Arc<Ctx>, worker: &str, job: ClaimedJob) -> bool {
    let started = Instant::now();
    metrics::histogram!("motcua_job_wait_seconds")
        .record((now_millis() - job.created_at).max(0) as f64 / 1e3);
    let span = tracing::info_span!("job", id = %job.id, kind = %job.kind, attempt = job.attempts);
    tracing::info!(parent: &span, "job started");

    let lost = CancellationToken::new();
    let committing = Arc::new(AtomicBool::new(false));
    let beat = tokio::spawn(heartbeat(
        ctx.repo.clone(),
        (
            Duration::from_secs(ctx.cfg.heartbeat_secs),
            Duration::from_secs(ctx.cfg.lease_secs),
        ),
        worker.to_string(),
        job.id,
        lost.clone(),
        committing.clone(),
    ));
    let work = async {
        // Under the lease (the heartbeat runs): waiting for a turn must not lose the job.
        let (_shared, _alone) = if job.lost_leases > 0 {
            tracing::info!(parent: &span, lost = job.lost_leases, "its worker was lost before: run alone");
            (None, Some(ctx.turns.write().await))
        } else {
            (Some(ctx.turns.read().await), None)
        };
        // Named by the crash handler if the process dies of a fatal signal meanwhile.
        let _running = super::crash::running(job.id.0);
        match serde_json::from_str::<JobPayload>(&job.payload) {
            Ok(JobPayload::ProcessAttachment { attachment_id }) => {
                attachment::process(ctx, worker, &job, attachment_id, &committing).await
            }
            Err(e) => Err(JobError::Abort {
                code: "invalid_job".into(),
                message: e.to_string(),
            }),
        }
    };
    let result = tokio::select! {
        r = work => Some(r),
        _ = lost.cancelled() => None,
    };
    beat.abort();
    let secs = started.elapsed().as_secs_f64();
    match result {
        Some(Ok(Done::Completed { pages, dossier })) => {
            // The job is done either way; a failed check is logged and runs again with the next
            // attachment of the dossier.
            if let Err(e) = attachment::crosscheck_when_complete(ctx, dossier).await {
                tracing::warn!(parent: &span, %dossier, "cross-document checks failed: {e}");
            }
            metrics::histogram!("motcua_job_seconds").record(secs);
            metrics::counter!("motcua_jobs_completed_total").increment(1);
            tracing::info!(parent: &span, pages, seconds = format!("{secs:.2}"), "job done");
            false
        }
        Some(Ok(Done::LostLease)) | None => {
            metrics::counter!("motcua_job_failures_total", "code" => "lease_lost", "outcome" => "dropped")
                .increment(1);
            tracing::warn!(parent: &span, "lease lost; another worker owns the job, result dropped");
            false
        }
        Some(Err(e)) => {
            let outcome = ctx.policy.outcome(job.attempts, &e, now_millis());
            let kind = match &outcome {
                crate::repo::FailOutcome::Retry { .. } => "retry",
                crate::repo::FailOutcome::Pass { .. } => "pass",
                crate::repo::FailOutcome::Abort { .. } => "abort",
                crate::repo::FailOutcome::Dead { .. } => "dead",
            };
            metrics::counter!("motcua_job_failures_total", "code" => e.code().to_string(), "outcome" => kind)
                .increment(1);
            tracing::warn!(parent: &span, code = e.code(), outcome = kind, "job failed: {e}");
            if let Err(db) = ctx.repo.fail(job.id, worker, outcome).await {
                // The lease will run out and the job will be tried again.
                tracing::error!(parent: &span, "could not record the failure: {db}");
            }
            matches!(e, JobError::Unavailable(_))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::tests::Backend;
    use crate::repo::tests::queue::{done, dossier, upload};

    /// A heartbeat that finds its job done cancels the job, unless the job is committing: then
    /// the done state is the job's own commit, and cutting it off would report a committed job
    /// as lost (the scale-out test caught that race).
    #[tokio::test]
    async fn a_heartbeat_does_not_cut_off_the_commit_it_races() {
        let repo = Backend::Sqlite.fresh().await;
        let d = dossier(&*repo, "A").await;
        let att = upload(&*repo, &d, 0..1).await[0];
        let t = now_millis();
        let j = repo
            .claim("w", t, t + 60_000, crate::repo::ClaimLimits::new(5))
            .await
            .unwrap()
            .unwrap();
        assert!(
            repo.complete_attachment(j.id, "w", att, &done(&[]))
                .await
                .unwrap()
        );
        for committing in [true, false] {
            let lost = CancellationToken::new();
            let times = (Duration::from_millis(10), Duration::from_secs(60));
            let flag = Arc::new(AtomicBool::new(committing));
            heartbeat(repo.shared(), times, "w".into(), j.id, lost.clone(), flag).await;
            assert_eq!(lost.is_cancelled(), !committing, "committing: {committing}");
        }
    }

    #[test]
    fn claims_back_off_while_the_database_is_down() {
        let ms = Duration::from_millis;
        let waits: Vec<_> = [1, 2, 3, 5, 40]
            .map(|n| outage_backoff(ms(500), ms(10_000), n))
            .into();
        assert_eq!(waits, [ms(500), ms(1000), ms(2000), ms(8000), ms(10_000)]);
    }
}
