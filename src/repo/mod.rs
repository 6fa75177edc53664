//! Persistence behind role traits. The traits speak in domain types only; SQL lives in the
//! backends: `sqlite` (embedded, one host) and `postgres` (many processes and hosts; claims with
//! `FOR UPDATE SKIP LOCKED`, workers woken by LISTEN/NOTIFY).

mod activity;
mod claims;
mod claims_sql;
mod fields;
pub mod postgres;
mod review;
mod review_sql;
mod rows;
mod sessions;
pub mod sqlite;
#[cfg(test)]
pub(crate) mod tests;
mod tus;

pub use activity::{Activity, ActivityRepo};
pub use claims::{BlobClaimRepo, CLAIM_LOST, OrphanLock};
pub use fields::{FieldRecord, FieldRepo};
pub use review::*;
pub use sessions::{SessionInfo, SessionRepo};
pub use tus::{TusProgress, TusRepo, TusUpload};

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::domain::{
    Actor, Attachment, AttachmentId, Clerk, ClerkRole, Dossier, DossierId, DossierSource,
    ExtractedField, JobId, JobInfo, JobState, Millis, NewAttachment, PageRecord, Station, Unit,
    UnitId,
};

pub use self::postgres::PgRepo;
pub use self::sqlite::SqliteRepo;

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("database error: {0}")]
    Db(String),
    /// The database cannot be reached (down, restarting, no free connection in time): worth
    /// retrying later; the API answers 503 with `Retry-After`.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
}

impl From<sqlx::Error> for RepoError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                RepoError::Conflict(d.message().to_string())
            }
            // SQLSTATE class 08 (connection exception) and 57P01-03 (the server is shutting
            // down, restarting or starting up).
            sqlx::Error::Database(d)
                if d.code()
                    .is_some_and(|c| c.starts_with("08") || c.starts_with("57P0")) =>
            {
                RepoError::Unavailable(e.to_string())
            }
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => RepoError::Unavailable(e.to_string()),
            _ => RepoError::Db(e.to_string()),
        }
    }
}

pub type RepoResult<T> = Result<T, RepoError>;

#[async_trait]
pub trait UnitRepo: Send + Sync {
    async fn create_unit(&self, code: &str, name: &str, province: &str) -> RepoResult<Unit>;
    async fn unit_by_code(&self, code: &str) -> RepoResult<Option<Unit>>;
    async fn unit_by_id(&self, id: UnitId) -> RepoResult<Option<Unit>>;
}

#[async_trait]
pub trait StationRepo: Send + Sync {
    async fn create_station(
        &self,
        unit: UnitId,
        name: &str,
        token_sha256: &str,
    ) -> RepoResult<Station>;
    async fn station_by_token(&self, token_sha256: &str) -> RepoResult<Option<Station>>;
}

#[async_trait]
pub trait ClerkRepo: Send + Sync {
    async fn create_clerk(
        &self,
        unit: UnitId,
        username: &str,
        role: ClerkRole,
        password_hash: &str,
    ) -> RepoResult<Clerk>;
    /// The clerk and their password hash.
    async fn clerk_by_username(&self, username: &str) -> RepoResult<Option<(Clerk, String)>>;
}

#[derive(Clone, Copy)]
pub struct NewDossier<'a> {
    pub code: &'a str,
    pub unit: UnitId,
    pub procedure: &'a str,
    pub source: DossierSource,
    /// Hash of the citizen upload token scoped to this dossier, if one is issued.
    pub citizen_token_sha256: Option<&'a str>,
    /// Hash of the short lookup code printed on the receipt, if one is issued.
    pub lookup_sha256: Option<&'a str>,
}

/// A job to enqueue with an attachment; the payload is opaque JSON to the repository.
pub struct NewJob {
    pub kind: &'static str,
    pub payload: String,
}

/// One attachment of an upload as committed.
#[derive(Debug, Clone)]
pub struct Added {
    pub attachment: Attachment,
    /// False: the same bytes were already in this dossier; nothing new was queued.
    pub created: bool,
}

/// An attachment with what processing made of it.
#[derive(Debug, Clone)]
pub struct AttachmentView {
    pub attachment: Attachment,
    pub job: Option<JobInfo>,
    pub pages: Vec<PageRecord>,
}

#[async_trait]
pub trait DossierRepo: Send + Sync {
    /// Creates the dossier, its citizen token if any, and an audit row, in one transaction.
    async fn create_dossier(&self, d: NewDossier<'_>, actor: &Actor) -> RepoResult<Dossier>;
    async fn dossier_by_code(&self, code: &str) -> RepoResult<Option<Dossier>>;
    async fn dossier_by_citizen_token(&self, token_sha256: &str) -> RepoResult<Option<DossierId>>;
    /// The dossier with this code whose receipt's lookup code hashes to `lookup_sha256`.
    async fn dossier_by_lookup(
        &self,
        code: &str,
        lookup_sha256: &str,
    ) -> RepoResult<Option<DossierId>>;
    /// In ONE transaction: an attachment row and a job row per new file (`job` makes its
    /// payload), plus audit rows. A file whose bytes are already in the dossier returns the
    /// existing attachment. With `claim`, the upload's claims on its originals are dropped in
    /// the same transaction; one expired (the blob may be gone) fails it all with `Unavailable`.
    async fn add_attachments(
        &self,
        dossier: &Dossier,
        files: &[NewAttachment],
        claim: Option<&str>,
        job: &(dyn Fn(AttachmentId) -> NewJob + Sync),
        actor: &Actor,
    ) -> RepoResult<Vec<Added>>;
    async fn attachment(&self, id: AttachmentId) -> RepoResult<Option<Attachment>>;
    async fn attachment_views(&self, dossier: DossierId) -> RepoResult<Vec<AttachmentView>>;
}

/// A job handed to one worker until `lease_until`.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: JobId,
    pub kind: String,
    pub payload: String,
    /// Including this one.
    pub attempts: u32,
    pub attachment_id: Option<AttachmentId>,
    pub unit_id: UnitId,
    pub created_at: Millis,
    /// Times a worker was lost while on this job: a job with any is run alone in its process,
    /// so that if it crashes the process again, no other job is lost with it.
    pub lost_leases: u32,
}

/// What a claim enforces (from `[queue]`).
#[derive(Debug, Clone, Copy)]
pub struct ClaimLimits {
    pub max_attempts: u32,
    /// Crashes of its worker (see `queue::crash`) after which a job is set aside.
    pub max_crashes: u32,
    /// A job whose worker was lost waits this long, doubled with each loss, up to
    /// `lost_retry_ms`.
    pub lost_backoff_ms: Millis,
    pub lost_retry_ms: Millis,
}

impl ClaimLimits {
    /// `max_attempts` with the default handling of lost workers.
    pub fn new(max_attempts: u32) -> Self {
        let q = crate::config::QueueConfig::default();
        Self {
            max_attempts,
            max_crashes: q.max_crashes,
            lost_backoff_ms: (q.lost_backoff_secs * 1000) as Millis,
            lost_retry_ms: (q.lost_retry_after_secs * 1000) as Millis,
        }
    }

    pub fn from_config(q: &crate::config::QueueConfig) -> Self {
        Self {
            max_attempts: q.max_attempts,
            max_crashes: q.max_crashes,
            lost_backoff_ms: (q.lost_backoff_secs * 1000) as Millis,
            lost_retry_ms: (q.lost_retry_after_secs * 1000) as Millis,
        }
    }
}

/// Which failed attachments `JobQueue::requeue` puts back.
#[derive(Debug, Clone)]
pub enum Requeue {
    Attachment(AttachmentId),
    /// Every failed attachment of the dossier.
    Dossier(DossierId),
    /// Every attachment whose job is dead-lettered or set aside, of one error code or all.
    Dead {
        code: Option<String>,
    },
}

/// The attachment code of a job set aside because its workers were lost.
pub const WORKER_LOST: &str = "worker_lost";

/// The run time of a job set aside for good: only an operator requeues it.
pub const NEVER: Millis = Millis::MAX;

/// What the attachment of a job set aside by crashes of its worker says.
pub fn set_aside_message(crashes: i64, run_after: Millis, now: Millis) -> String {
    let when = if run_after == NEVER {
        "it waits for an operator (motcua admin requeue)".to_string()
    } else {
        format!(
            "it is tried again by itself after {} s, or at once with motcua admin requeue",
            (run_after - now).max(0) / 1000
        )
    };
    format!(
        "set aside: the worker processing it crashed {crashes} times (a file that crashes the worker?); {when}"
    )
}

/// How a failed attempt ends; the queue's retry policy decides which.
#[derive(Debug, Clone)]
pub enum FailOutcome {
    /// Try again at `at`.
    Retry { at: Millis, error: String },
    /// Try again at `at`, the attempt given back: the trouble was the machine's, not the file's.
    Pass { at: Millis, error: String },
    /// The input is bad: attachment failed with `code`, no retry.
    Abort { code: String, message: String },
    /// Too many attempts: dead-lettered, the last error kept.
    Dead { error: String },
}

#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Claims the next runnable job for `worker` until `lease_until`, fairly between units: the
    /// unit with the fewest running jobs first, then the one served longest ago, then the oldest
    /// job. A job whose lease expired (its worker was lost) is queued again with its attempt
    /// given back after a doubling backoff, or set aside (`worker_lost`) once it has crashed its
    /// worker `max_crashes` times; one set aside once is queued again after `lost_retry_ms`.
    async fn claim(
        &self,
        worker: &str,
        now: Millis,
        lease_until: Millis,
        limits: ClaimLimits,
    ) -> RepoResult<Option<ClaimedJob>>;
    /// Puts failed attachments back in the queue as new (attempts and lost workers counted from
    /// zero, the error cleared, the dossier processing again), each audited with `actor`.
    /// Returns those requeued; an attachment that is not failed is left as it is.
    async fn requeue(&self, target: Requeue, actor: &str) -> RepoResult<Vec<AttachmentId>>;
    /// Counts a crash of its worker against each job (evidence read at start-up, see
    /// `queue::crash`); returns how many jobs were found.
    async fn record_crashes(&self, jobs: &[JobId]) -> RepoResult<u64>;
    /// Extends the lease; false when the job is no longer this worker's.
    async fn heartbeat(&self, job: JobId, worker: &str, lease_until: Millis) -> RepoResult<bool>;
    /// In ONE transaction: replaces the attachment's pages and OCR fields (a clerk's
    /// corrections stay), marks attachment and job done. False (and nothing written) when the
    /// job is no longer this worker's: a worker that lost its lease cannot overwrite the result
    /// of the one that took over.
    async fn complete_attachment(
        &self,
        job: JobId,
        worker: &str,
        attachment: AttachmentId,
        result: &Processed<'_>,
    ) -> RepoResult<bool>;
    /// Records a failed attempt; false when the job is no longer this worker's.
    async fn fail(&self, job: JobId, worker: &str, outcome: FailOutcome) -> RepoResult<bool>;
    /// Gives back every claim `worker` holds (graceful shutdown); the attempt is not counted.
    async fn release(&self, worker: &str) -> RepoResult<u64>;
    /// Number of jobs in each state.
    async fn depth(&self) -> RepoResult<Vec<(JobState, i64)>>;
    /// Jobs of an attachment, newest first (tests and diagnostics).
    async fn jobs_of(&self, attachment: AttachmentId) -> RepoResult<Vec<JobInfo>>;
}

/// What processing an attachment produced.
#[derive(Debug, Clone, Copy)]
pub struct Processed<'a> {
    pub pages: &'a [PageRecord],
    pub pdf_key: &'a str,
    /// `(model, field)` pairs.
    pub fields: &'a [(String, ExtractedField)],
}

/// Everything the service needs from its database.
#[async_trait]
pub trait Repo:
    UnitRepo
    + StationRepo
    + ClerkRepo
    + DossierRepo
    + JobQueue
    + FieldRepo
    + ReviewRepo
    + SessionRepo
    + ActivityRepo
    + BlobClaimRepo
    + TusRepo
{
    /// For readiness checks.
    async fn ping(&self) -> RepoResult<()>;

    /// Starts a task that notifies `wake` whenever any process queues a job, until `stop`.
    /// `None` when the backend has no such signal (SQLite: workers poll, and uploads of the
    /// same process wake them directly).
    fn watch_jobs(
        &self,
        _wake: Arc<Notify>,
        _stop: CancellationToken,
    ) -> Option<tokio::task::JoinHandle<()>> {
        None
    }
}
