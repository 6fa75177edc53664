//! The dossier workflow: every state a dossier can be in and every move between them, decided
//! here and nowhere else. The repositories ask [`next`] before they write a state, so a rule
//! changes in one place for both database backends and the API.
//!
//! ```text
//! receiving ──files──▶ processing ──all done or failed──▶ needs_review ──claim──▶ in_review
//!                          ▲                                   ▲    ◀──release/expiry──┘ │
//!                          └──────── files (supplement) ───────┴── returned ◀──return────┤
//!                                                     approved ◀──approve─┤ rejected ◀──reject
//! ```

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DossierState {
    /// Created; no file yet.
    Receiving,
    /// At least one attachment is queued or being processed.
    Processing,
    /// Every attachment is done or failed: waiting in the unit's queue for a clerk.
    NeedsReview,
    /// Claimed by one clerk (a lease).
    InReview,
    Approved,
    /// Sent back to the citizen for more papers ("yêu cầu bổ sung").
    Returned,
    Rejected,
}

pub const ALL_STATES: [DossierState; 7] = [
    DossierState::Receiving,
    DossierState::Processing,
    DossierState::NeedsReview,
    DossierState::InReview,
    DossierState::Approved,
    DossierState::Returned,
    DossierState::Rejected,
];

impl DossierState {
    pub fn as_str(self) -> &'static str {
        match self {
            DossierState::Receiving => "receiving",
            DossierState::Processing => "processing",
            DossierState::NeedsReview => "needs_review",
            DossierState::InReview => "in_review",
            DossierState::Approved => "approved",
            DossierState::Returned => "returned",
            DossierState::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        ALL_STATES.into_iter().find(|st| st.as_str() == s)
    }

    /// No move leaves these.
    pub fn is_final(self) -> bool {
        matches!(self, DossierState::Approved | DossierState::Rejected)
    }
}

/// What happens to a dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// New files were committed (an upload, or a citizen's supplement to a returned dossier).
    FilesAdded,
    /// The last queued attachment finished (done or failed).
    ProcessingSettled,
    Claim,
    /// The clerk gave the dossier back, or the claim's lease ran out.
    Release,
    Approve,
    Return,
    Reject,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::FilesAdded => "files_added",
            Event::ProcessingSettled => "processing_settled",
            Event::Claim => "claim",
            Event::Release => "release",
            Event::Approve => "approve",
            Event::Return => "return",
            Event::Reject => "reject",
        }
    }

    /// A clerk's decision must say why (shown to the citizen for `return`).
    pub fn needs_reason(self) -> bool {
        matches!(self, Event::Return | Event::Reject)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a dossier that is {} cannot {}", from.as_str(), event.as_str())]
pub struct NotAllowed {
    pub from: DossierState,
    pub event: Event,
}

/// The state `event` moves a dossier in `from` to, or why it may not.
pub fn next(from: DossierState, event: Event) -> Result<DossierState, NotAllowed> {
    use DossierState::*;
    use Event::*;
    let to = match (from, event) {
        // Files may arrive until a clerk has decided; a claimed dossier goes back to processing
        // (and loses its claim), so nobody approves what they have not seen.
        (Receiving | Processing | NeedsReview | InReview | Returned, FilesAdded) => Processing,
        (Processing, ProcessingSettled) => NeedsReview,
        (NeedsReview, Claim) => InReview,
        (InReview, Release) => NeedsReview,
        (InReview, Approve) => Approved,
        (InReview, Return) => Returned,
        (InReview, Reject) => Rejected,
        _ => return Err(NotAllowed { from, event }),
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::DossierState::*;
    use super::*;

    const EVENTS: [Event; 7] = [
        Event::FilesAdded,
        Event::ProcessingSettled,
        Event::Claim,
        Event::Release,
        Event::Approve,
        Event::Return,
        Event::Reject,
    ];

    #[test]
    fn the_happy_path_and_a_supplement() {
        let mut s = Receiving;
        for (e, want) in [
            (Event::FilesAdded, Processing),
            (Event::ProcessingSettled, NeedsReview),
            (Event::Claim, InReview),
            (Event::Return, Returned),
            (Event::FilesAdded, Processing),
            (Event::ProcessingSettled, NeedsReview),
            (Event::Claim, InReview),
            (Event::Release, NeedsReview),
            (Event::Claim, InReview),
            (Event::Approve, Approved),
        ] {
            s = next(s, e).unwrap();
            assert_eq!(s, want, "after {e:?}");
        }
    }

    #[test]
    fn final_states_accept_nothing() {
        for s in ALL_STATES.into_iter().filter(|s| s.is_final()) {
            for e in EVENTS {
                assert_eq!(next(s, e), Err(NotAllowed { from: s, event: e }));
            }
        }
    }

    #[test]
    fn decisions_only_from_a_claim() {
        for s in ALL_STATES.into_iter().filter(|s| *s != InReview) {
            for e in [Event::Approve, Event::Return, Event::Reject, Event::Release] {
                assert!(next(s, e).is_err(), "{s:?} {e:?}");
            }
        }
        assert!(
            next(InReview, Event::Claim).is_err(),
            "a claim is not taken twice"
        );
        let msg = next(Approved, Event::Claim).unwrap_err().to_string();
        assert_eq!(msg, "a dossier that is approved cannot claim");
    }

    #[test]
    fn states_round_trip_as_text() {
        for s in ALL_STATES {
            assert_eq!(DossierState::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(DossierState::parse("open"), None);
    }
}
