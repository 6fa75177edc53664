//! Jobs on the database queue: payloads, the retry policy and the worker loop. A job's handler
//! returns [`JobError::Unavailable`] or [`JobError::Passing`] for trouble of the machine (store or
//! database unreachable, out of descriptors or space), retried without using up an attempt;
//! [`JobError::Retry`] for other trouble that may pass (an OCR engine that does not start),
//! dead-lettered after `max_attempts`; [`JobError::Abort`] for a bad input, which no retry can fix.

mod attachment;
pub mod crash;
pub mod worker;

use serde::{Deserialize, Serialize};

use crate::config::QueueConfig;
use crate::domain::{AttachmentId, Millis};
use crate::repo::{FailOutcome, NewJob};

pub use worker::{WorkerPool, WorkerSettings};

/// Version of the processing that derived files are keyed by: a retry of the same version
/// overwrites its output, a new version writes beside it.
pub const PIPELINE_VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"));

/// What a job asks for, stored as JSON in the job row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobPayload {
    /// Decode, normalize, OCR and render one attachment; record its pages.
    ProcessAttachment { attachment_id: AttachmentId },
}

impl JobPayload {
    pub fn kind(&self) -> &'static str {
        match self {
            JobPayload::ProcessAttachment { .. } => "process_attachment",
        }
    }

    pub fn to_new_job(&self) -> NewJob {
        NewJob {
            kind: self.kind(),
            payload: serde_json::to_string(self).expect("payload serializes"),
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum JobError {
    /// May succeed later: retried with backoff, dead-lettered after `max_attempts`.
    #[error("{0}")]
    Retry(String),
    /// The input is bad: the attachment fails with `code`, no retry.
    #[error("{code}: {message}")]
    Abort { code: String, message: String },
    /// The blob store cannot be reached: retried like `Retry`, and the worker waits until the
    /// store answers before it claims another job (an outage must not use up every job's
    /// attempts).
    #[error("{0}")]
    Unavailable(String),
    /// Trouble of the machine, not of the file (the database unreachable, out of descriptors,
    /// space or memory): retried after the backoff without using up an attempt.
    #[error("{0}")]
    Passing(String),
}

impl JobError {
    pub fn retry(e: impl std::fmt::Display) -> Self {
        JobError::Retry(e.to_string())
    }

    /// A blob store error: `Unavailable` when it may pass, `Retry` otherwise.
    pub fn store(e: crate::store::StoreError) -> Self {
        if e.is_unavailable() {
            JobError::Unavailable(e.to_string())
        } else {
            JobError::Retry(e.to_string())
        }
    }

    /// A database error: passing when the database cannot be reached.
    pub fn repo(e: crate::repo::RepoError) -> Self {
        match e {
            crate::repo::RepoError::Unavailable(_) => JobError::Passing(e.to_string()),
            e => JobError::Retry(e.to_string()),
        }
    }

    pub fn code(&self) -> &str {
        match self {
            JobError::Retry(_) => "retry",
            JobError::Abort { code, .. } => code,
            JobError::Unavailable(_) => "store_unavailable",
            JobError::Passing(_) => "passing",
        }
    }
}

/// Exponential backoff with a cap, and a limit on attempts.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_ms: u64,
    pub max_ms: u64,
}

impl RetryPolicy {
    pub fn from_config(q: &QueueConfig) -> Self {
        Self {
            max_attempts: q.max_attempts,
            base_ms: q.backoff_base_ms,
            max_ms: q.backoff_max_ms,
        }
    }

    /// Delay before the attempt after `attempt` (1-based): base, 2×base, 4×base, … capped.
    pub fn backoff_ms(&self, attempt: u32) -> u64 {
        let shift = attempt.saturating_sub(1).min(32);
        self.base_ms.saturating_mul(1u64 << shift).min(self.max_ms)
    }

    /// How the `attempts`-th attempt that failed with `err` ends.
    pub fn outcome(&self, attempts: u32, err: &JobError, now: Millis) -> FailOutcome {
        match err {
            JobError::Abort { code, message } => FailOutcome::Abort {
                code: code.clone(),
                message: message.clone(),
            },
            // The attempt is given back: an outage or a full disk must not fail good files.
            JobError::Unavailable(e) | JobError::Passing(e) => FailOutcome::Pass {
                at: now + self.backoff_ms(attempts) as i64,
                error: format!("passing trouble, attempt not counted: {e}"),
            },
            JobError::Retry(e) if attempts >= self.max_attempts => FailOutcome::Dead {
                error: format!("attempt {attempts}/{}: {e}", self.max_attempts),
            },
            JobError::Retry(e) => FailOutcome::Retry {
                at: now + self.backoff_ms(attempts) as i64,
                error: format!("attempt {attempts}/{}: {e}", self.max_attempts),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_tagged_json() {
        let p = JobPayload::ProcessAttachment {
            attachment_id: AttachmentId(7),
        };
        let j = p.to_new_job();
        assert_eq!(j.kind, "process_attachment");
        assert_eq!(
            j.payload,
            r#"{"type":"process_attachment","attachment_id":7}"#
        );
        assert_eq!(serde_json::from_str::<JobPayload>(&j.payload).unwrap(), p);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_then_dead_letters() {
        let p = RetryPolicy {
            max_attempts: 4,
            base_ms: 1000,
            max_ms: 3000,
        };
        assert_eq!(
            [1, 2, 3, 60].map(|a| p.backoff_ms(a)),
            [1000, 2000, 3000, 3000]
        );
        let e = JobError::Retry("db busy".into());
        assert!(matches!(
            p.outcome(1, &e, 10),
            FailOutcome::Retry { at: 1010, .. }
        ));
        assert!(matches!(p.outcome(4, &e, 10), FailOutcome::Dead { .. }));
        // Trouble of the machine: retried after the backoff, at any attempt, never dead.
        let down = JobError::store(crate::store::StoreError::Unavailable("refused".into()));
        assert_eq!(down.code(), "store_unavailable");
        assert!(matches!(
            p.outcome(4, &down, 10),
            FailOutcome::Pass { at: 3010, .. }
        ));
        for errno in [libc::EMFILE, libc::ENFILE, libc::ENOSPC] {
            let io = crate::store::StoreError::Io(std::io::Error::from_raw_os_error(errno));
            assert!(matches!(JobError::store(io), JobError::Unavailable(_)));
        }
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert!(matches!(
            JobError::store(crate::store::StoreError::Io(missing)),
            JobError::Retry(_)
        ));
        let db = crate::repo::RepoError::Unavailable("refused".into());
        assert!(matches!(JobError::repo(db), JobError::Passing(_)));
        let bad = JobError::Abort {
            code: "corrupt_file".into(),
            message: "cut".into(),
        };
        assert!(matches!(
            p.outcome(1, &bad, 10),
            FailOutcome::Abort { code, .. } if code == "corrupt_file"
        ));
    }
}
