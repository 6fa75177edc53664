//! The review workflow in the database: the unit's queue, claims (leases), clerks' decisions,
//! field confirmation and correction with optimistic versions, flag dismissals and the history.
//! Which state follows which is decided by [`crate::domain::workflow::next`]; this module only
//! writes it, compare-and-set on the state it read, with an audit row in the same transaction.
//!
//! The SQL is the same on both backends (`$N` parameters work on SQLite too), so it is written
//! once, in [`review_backend!`], and expanded for each; PostgreSQL adds `SKIP LOCKED` so two
//! clerks taking the next dossier at once get different ones instead of waiting on each other.

use async_trait::async_trait;
use serde::Serialize;

use super::{FieldRecord, RepoResult};
use crate::domain::workflow::{DossierState, Event, NotAllowed};
use crate::domain::{AttachmentId, ClerkId, Dossier, DossierId, Millis, UnitId};
use crate::extract::crosscheck::ReviewFlag;

/// A dossier in the unit's list.
#[derive(Debug, Clone, Serialize)]
pub struct QueueEntry {
    #[serde(flatten)]
    pub dossier: DossierSummary,
    pub claim: Option<ClaimInfo>,
    pub attachments: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DossierSummary {
    pub id: DossierId,
    pub code: String,
    pub procedure: String,
    pub state: DossierState,
    pub created_at: Millis,
    /// When the dossier entered its state: how long it has waited.
    pub state_since: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimInfo {
    pub clerk: ClerkId,
    pub username: String,
    pub until: Millis,
}

/// Which dossiers of a unit to list.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub procedure: Option<String>,
    /// `None`: the ones a clerk works on (`needs_review` and `in_review`).
    pub state: Option<DossierState>,
    pub limit: i64,
}

/// A clerk acting on their unit's dossiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClerkRef {
    pub id: ClerkId,
    pub unit: UnitId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// Claimed (or renewed) until then.
    Claimed(Millis),
    /// Another clerk holds an unexpired claim.
    HeldBy(ClaimInfo),
    NotAllowed(NotAllowed),
}

/// Why a clerk's write was not made.
#[derive(Debug, Clone)]
pub enum Refusal {
    NotFound,
    /// The clerk does not hold the dossier's claim (never took it, or it ran out); who does.
    NotClaimed(Option<ClaimInfo>),
    /// The field changed since the clerk saw it; the current one.
    Stale(Box<FieldRecord>),
    NotAllowed(NotAllowed),
}

pub type Refused<T> = Result<T, Refusal>;

/// What a clerk does to a field.
#[derive(Debug, Clone, Copy)]
pub enum FieldChange<'a> {
    /// The value is right as it is.
    Confirm,
    /// A corrected value, already normalized and validated by the field's type.
    Correct(&'a str),
}

/// One line of a dossier's history.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    pub at: Millis,
    pub actor: String,
    pub action: String,
    pub attachment: Option<AttachmentId>,
    pub detail: Option<serde_json::Value>,
}

/// A review flag and, when a clerk dismissed it, who and why.
#[derive(Debug, Clone, Serialize)]
pub struct FlagView {
    #[serde(flatten)]
    pub flag: ReviewFlag,
    pub dismissed: Option<Dismissal>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dismissal {
    pub clerk: ClerkId,
    pub note: String,
    pub at: Millis,
}

#[async_trait]
pub trait ReviewRepo: Send + Sync {
    /// The unit's dossiers, oldest first, after returning expired claims to the queue.
    async fn queue(
        &self,
        unit: UnitId,
        filter: &QueueFilter,
        now: Millis,
    ) -> RepoResult<Vec<QueueEntry>>;
    /// Dossiers in each state, of one unit or of all.
    async fn state_counts(&self, unit: Option<UnitId>) -> RepoResult<Vec<(DossierState, i64)>>;
    async fn claim_of(&self, dossier: DossierId, now: Millis) -> RepoResult<Option<ClaimInfo>>;
    /// Claims the unit's oldest dossier waiting for review (or one whose claim ran out).
    async fn claim_next(
        &self,
        clerk: ClerkRef,
        now: Millis,
        until: Millis,
    ) -> RepoResult<Option<Dossier>>;
    /// Claims this dossier, or renews the clerk's own claim.
    async fn claim_dossier(
        &self,
        dossier: &Dossier,
        clerk: ClerkRef,
        now: Millis,
        until: Millis,
    ) -> RepoResult<ClaimOutcome>;
    /// A decision or a release by the clerk holding the claim; `reason` goes into the audit.
    async fn decide(
        &self,
        dossier: &Dossier,
        clerk: ClerkRef,
        event: Event,
        reason: Option<&str>,
        now: Millis,
    ) -> RepoResult<Refused<DossierState>>;
    /// Confirms or corrects a field of a dossier the clerk holds, if it is still at `version`.
    async fn edit_field(
        &self,
        dossier: &Dossier,
        field: i64,
        version: i64,
        change: FieldChange<'_>,
        clerk: ClerkRef,
        now: Millis,
    ) -> RepoResult<Refused<FieldRecord>>;
    /// Every flag of the dossier with its dismissal, if any.
    async fn flag_views(&self, dossier: DossierId) -> RepoResult<Vec<FlagView>>;
    /// Dismisses one of the dossier's current flags (by its position in `flag_views`).
    async fn dismiss_flag(
        &self,
        dossier: &Dossier,
        flag: &ReviewFlag,
        note: &str,
        clerk: ClerkRef,
        now: Millis,
    ) -> RepoResult<Refused<()>>;
    /// The dossier's audit trail, oldest first.
    async fn history(&self, dossier: DossierId) -> RepoResult<Vec<HistoryEntry>>;
    /// Returns every claim that ran out before `now` to the queue; how many.
    async fn expire_claims(&self, now: Millis) -> RepoResult<u64>;
}

/// The queue states a clerk works on, for the default list.
pub(super) const WORK_STATES: [DossierState; 2] =
    [DossierState::NeedsReview, DossierState::InReview];

/// Audit `detail` of a state move.
pub(super) fn state_detail(from: DossierState, to: DossierState, reason: Option<&str>) -> String {
    serde_json::json!({"from": from.as_str(), "to": to.as_str(), "reason": reason}).to_string()
}
