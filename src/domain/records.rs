//! Records of the intake service: units (communes), stations, clerks, dossiers, attachments,
//! pages, jobs. Ids are newtypes so that an attachment id is never passed where a job id belongs.

use serde::{Deserialize, Serialize};

macro_rules! id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id!(
    /// A commune or ward office.
    UnitId
);
id!(StationId);
id!(ClerkId);
id!(DossierId);
id!(AttachmentId);
id!(JobId);

/// Milliseconds since the Unix epoch (UTC); what the database stores.
pub type Millis = i64;

pub fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Codes of units and dossiers appear in URLs: letters, digits, `-` and `_` only.
pub fn is_valid_code(code: &str) -> bool {
    (1..=64).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[derive(Debug, Clone, Serialize)]
pub struct Unit {
    pub id: UnitId,
    pub code: String,
    pub name: String,
    pub province: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Station {
    pub id: StationId,
    pub unit_id: UnitId,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClerkRole {
    Clerk,
    Admin,
}

impl ClerkRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ClerkRole::Clerk => "clerk",
            ClerkRole::Admin => "admin",
        }
    }

    /// The role as stored; anything but `admin` is a plain clerk (the column's CHECK allows only
    /// these two).
    pub fn from_db(s: &str) -> Self {
        if s == ClerkRole::Admin.as_str() {
            ClerkRole::Admin
        } else {
            ClerkRole::Clerk
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Clerk {
    pub id: ClerkId,
    pub unit_id: UnitId,
    pub username: String,
    pub role: ClerkRole,
}

/// Where a dossier came from: a commune station or the citizen portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DossierSource {
    Station,
    Portal,
}

impl DossierSource {
    pub fn as_str(self) -> &'static str {
        match self {
            DossierSource::Station => "station",
            DossierSource::Portal => "portal",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Dossier {
    pub id: DossierId,
    pub code: String,
    pub unit_id: UnitId,
    pub unit_code: String,
    pub procedure: String,
    pub status: String,
    pub source: String,
    pub created_at: Millis,
    /// When it entered its state (`status`).
    pub state_since: Millis,
}

/// Lifecycle of an attachment: `queued` → `processing` → `done` | `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentStatus {
    Queued,
    Processing,
    Done,
    Failed,
}

impl AttachmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentStatus::Queued => "queued",
            AttachmentStatus::Processing => "processing",
            AttachmentStatus::Done => "done",
            AttachmentStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => AttachmentStatus::Queued,
            "processing" => AttachmentStatus::Processing,
            "done" => AttachmentStatus::Done,
            "failed" => AttachmentStatus::Failed,
            _ => return None,
        })
    }
}

/// A file as received, before the database row exists.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    /// Client's file name, for display only: never used to build a path.
    pub filename: Option<String>,
    pub original_key: String,
    pub sha256: String,
    pub bytes: u64,
    pub media_type: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Attachment {
    pub id: AttachmentId,
    pub dossier_id: DossierId,
    pub kind: String,
    pub filename: Option<String>,
    #[serde(skip)]
    pub original_key: String,
    pub sha256: String,
    pub bytes: u64,
    pub media_type: String,
    pub status: AttachmentStatus,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    #[serde(skip)]
    pub pdf_key: Option<String>,
    pub page_count: Option<u32>,
    pub created_at: Millis,
}

/// What a job records about one page.
#[derive(Debug, Clone, Serialize)]
pub struct PageRecord {
    pub index: u32,
    pub status: String,
    pub width: u32,
    pub height: u32,
    pub orientation: u16,
    pub skew: f32,
    pub blank: bool,
    pub dpi: f32,
    pub mean_confidence: Option<f32>,
    pub text: String,
    /// The searchable PDF holding this page (all pages of an attachment share one).
    #[serde(skip)]
    pub pdf_key: String,
}

/// Job state on the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Done,
    /// Aborted: the input is bad; retrying cannot help.
    Failed,
    /// Dead-lettered after too many attempts.
    Dead,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "done" => JobState::Done,
            "failed" => JobState::Failed,
            "dead" => JobState::Dead,
            _ => return None,
        })
    }

    pub const ALL: [JobState; 5] = [
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Failed,
        JobState::Dead,
    ];
}

/// The job of an attachment as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct JobInfo {
    pub id: JobId,
    pub state: JobState,
    /// Attempts used up; trouble of the machine and lost workers give theirs back.
    pub attempts: u32,
    /// Times the worker on it was lost (the process died or hung past its lease).
    pub lost_leases: u32,
    pub last_error: Option<String>,
    pub run_after: Option<Millis>,
}

/// Who is acting: recorded in the audit log and used for scoping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Station {
        id: StationId,
        unit: UnitId,
    },
    /// A citizen holding the upload token of one dossier.
    Citizen {
        dossier: DossierId,
    },
    Clerk {
        id: ClerkId,
        unit: UnitId,
    },
    /// The portal without a token (creating a dossier).
    Anonymous,
    Worker(String),
    Admin,
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Actor::Station { id, .. } => format!("station:{id}"),
            Actor::Citizen { dossier } => format!("citizen:dossier:{dossier}"),
            Actor::Clerk { id, .. } => format!("clerk:{id}"),
            Actor::Anonymous => "portal".into(),
            Actor::Worker(w) => format!("worker:{w}"),
            Actor::Admin => "admin".into(),
        }
    }
}
