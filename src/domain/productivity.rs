//! The review station's productivity numbers for a unit over a time window, computed from the
//! audit trail (state moves, field confirmations and corrections) and from the fields of the
//! dossiers approved in it. Pure: the repository reads the rows, this adds them up.
//!
//! - **Decided**: dossiers approved, returned or rejected in the window.
//! - **Review time**: for each decision, the time the dossier spent `in_review` (claimed) before
//!   it, summed over claims given back and taken again; **waiting time**: `needs_review` until
//!   a clerk first takes it.
//! - **Fields confirmed vs corrected**: clerks' actions on fields.
//! - **Accepted untouched**: of the fields of approved dossiers, the share whose value is still
//!   the one extraction read, the number that tells whether extraction is improving.

use std::collections::HashMap;

use serde::Serialize;

use super::workflow::DossierState;
use super::{ClerkId, DossierId, Millis};

/// One audit row: a state move (`dossier.state`, detail `{from, to}`) or a clerk's field action
/// (`field.confirm`, `field.correct`).
#[derive(Debug, Clone)]
pub struct ActivityRow {
    pub at: Millis,
    /// The clerk who acted, when a clerk did.
    pub clerk: Option<ClerkId>,
    pub action: String,
    pub dossier: DossierId,
    pub from: Option<DossierState>,
    pub to: Option<DossierState>,
}

/// The fields of the dossiers approved in the window.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApprovedFields {
    pub total: u64,
    /// Of those, the ones a clerk corrected (their value is not extraction's).
    pub corrected: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Seconds {
    pub count: usize,
    pub median: f64,
    pub p90: f64,
    pub mean: f64,
}

impl Seconds {
    fn of(mut v: Vec<f64>) -> Option<Self> {
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        Some(Seconds {
            count: v.len(),
            median: at(0.5),
            p90: at(0.9),
            mean: v.iter().sum::<f64>() / v.len() as f64,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Decided {
    pub approved: u64,
    pub returned: u64,
    pub rejected: u64,
}

impl Decided {
    pub fn total(&self) -> u64 {
        self.approved + self.returned + self.rejected
    }

    fn add(&mut self, to: DossierState) {
        match to {
            DossierState::Approved => self.approved += 1,
            DossierState::Returned => self.returned += 1,
            DossierState::Rejected => self.rejected += 1,
            _ => {}
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClerkLine {
    pub clerk: ClerkId,
    pub decided: Decided,
    pub review_secs: Option<Seconds>,
    pub fields_confirmed: u64,
    pub fields_corrected: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Productivity {
    pub since: Millis,
    pub until: Millis,
    pub decided: Decided,
    pub review_secs: Option<Seconds>,
    pub wait_secs: Option<Seconds>,
    pub fields_confirmed: u64,
    pub fields_corrected: u64,
    /// Fields of the dossiers approved in the window, and how many kept extraction's value.
    pub approved_fields: u64,
    pub approved_fields_untouched: u64,
    pub untouched_share: Option<f64>,
    /// One line per clerk who acted in the window, most decisions first.
    pub clerks: Vec<ClerkLine>,
}

fn is_decision(s: DossierState) -> bool {
    matches!(
        s,
        DossierState::Approved | DossierState::Returned | DossierState::Rejected
    )
}

/// Adds up `rows` (any order) for the window `[since, until)`, with the approved dossiers' fields.
pub fn summarize(
    rows: &[ActivityRow],
    fields: ApprovedFields,
    since: Millis,
    until: Millis,
) -> Productivity {
    let mut rows: Vec<&ActivityRow> = rows
        .iter()
        .filter(|r| r.at >= since && r.at < until)
        .collect();
    rows.sort_by_key(|r| (r.dossier.0, r.at));
    let mut out = Productivity {
        since,
        until,
        ..Default::default()
    };
    let mut clerks: HashMap<i64, (ClerkLine, Vec<f64>)> = HashMap::new();
    let (mut review, mut wait) = (Vec::new(), Vec::new());
    // Per dossier, in time order: when it entered review or the queue, and review time so far.
    let mut current: Option<DossierId> = None;
    let (mut claimed_at, mut queued_at, mut spent) = (None::<Millis>, None::<Millis>, 0i64);
    for r in rows {
        if current != Some(r.dossier) {
            current = Some(r.dossier);
            (claimed_at, queued_at, spent) = (None, None, 0);
        }
        match r.action.as_str() {
            "field.confirm" | "field.correct" => {
                let corrected = r.action == "field.correct";
                if corrected {
                    out.fields_corrected += 1;
                } else {
                    out.fields_confirmed += 1;
                }
                if let Some(c) = r.clerk {
                    let (l, _) = clerk_entry(&mut clerks, c);
                    if corrected {
                        l.fields_corrected += 1;
                    } else {
                        l.fields_confirmed += 1;
                    }
                }
            }
            "dossier.state" => {
                let (Some(from), Some(to)) = (r.from, r.to) else {
                    continue;
                };
                if from == DossierState::InReview
                    && let Some(t) = claimed_at.take()
                {
                    spent += r.at - t;
                }
                // A claim given back is not more waiting: the clerk's time counted already.
                if to == DossierState::NeedsReview && from != DossierState::InReview {
                    queued_at = Some(r.at);
                }
                if to == DossierState::InReview {
                    claimed_at = Some(r.at);
                    if let Some(q) = queued_at.take() {
                        wait.push((r.at - q) as f64 / 1000.0);
                    }
                }
                if is_decision(to) {
                    out.decided.add(to);
                    // Only a decision whose claim started inside the window has a known time.
                    let secs = (from == DossierState::InReview && spent > 0)
                        .then_some(spent as f64 / 1000.0);
                    if let Some(s) = secs {
                        review.push(s);
                    }
                    if let Some(c) = r.clerk {
                        let (l, times) = clerk_entry(&mut clerks, c);
                        l.decided.add(to);
                        times.extend(secs);
                    }
                    spent = 0;
                }
            }
            _ => {}
        }
    }
    out.review_secs = Seconds::of(review);
    out.wait_secs = Seconds::of(wait);
    out.approved_fields = fields.total;
    out.approved_fields_untouched = fields.total.saturating_sub(fields.corrected);
    out.untouched_share =
        (fields.total > 0).then(|| out.approved_fields_untouched as f64 / fields.total as f64);
    let mut lines: Vec<ClerkLine> = clerks
        .into_values()
        .map(|(mut l, times)| {
            l.review_secs = Seconds::of(times);
            l
        })
        .collect();
    lines.sort_by_key(|l| (std::cmp::Reverse(l.decided.total()), l.clerk.0));
    out.clerks = lines;
    out
}

fn clerk_entry(
    clerks: &mut HashMap<i64, (ClerkLine, Vec<f64>)>,
    c: ClerkId,
) -> &mut (ClerkLine, Vec<f64>) {
    clerks.entry(c.0).or_insert_with(|| {
        (
            ClerkLine {
                clerk: c,
                decided: Decided::default(),
                review_secs: None,
                fields_confirmed: 0,
                fields_corrected: 0,
            },
            Vec::new(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use DossierState::*;

    fn mv(
        at: Millis,
        d: i64,
        clerk: Option<i64>,
        from: DossierState,
        to: DossierState,
    ) -> ActivityRow {
        ActivityRow {
            at,
            clerk: clerk.map(ClerkId),
            action: "dossier.state".into(),
            dossier: DossierId(d),
            from: Some(from),
            to: Some(to),
        }
    }

    fn field(at: Millis, d: i64, clerk: i64, corrected: bool) -> ActivityRow {
        ActivityRow {
            at,
            clerk: Some(ClerkId(clerk)),
            action: if corrected {
                "field.correct"
            } else {
                "field.confirm"
            }
            .into(),
            dossier: DossierId(d),
            from: None,
            to: None,
        }
    }

    #[test]
    fn review_time_sums_claims_and_waiting_ends_at_the_first_claim() {
        let s = 1000;
        let rows = vec![
            // Dossier 1: queued at 1 s, taken at 11 s, given back at 41 s, taken by clerk 8 at
            // 101 s, approved at 161 s: 90 s of review, 10 s of waiting.
            mv(s + 1_000, 1, None, Processing, NeedsReview),
            mv(s + 11_000, 1, Some(7), NeedsReview, InReview),
            mv(s + 41_000, 1, Some(7), InReview, NeedsReview),
            mv(s + 101_000, 1, Some(8), NeedsReview, InReview),
            field(s + 120_000, 1, 8, false),
            field(s + 130_000, 1, 8, true),
            mv(s + 161_000, 1, Some(8), InReview, Approved),
            // Dossier 2, rows out of order: returned by clerk 7 after 30 s.
            mv(s + 50_000, 2, Some(7), InReview, Returned),
            mv(s + 20_000, 2, Some(7), NeedsReview, InReview),
            mv(s + 5_000, 2, None, Processing, NeedsReview),
            field(s + 30_000, 2, 7, false),
            // Outside the window: not counted.
            mv(s + 900_000, 3, Some(7), InReview, Rejected),
        ];
        let p = summarize(
            &rows,
            ApprovedFields {
                total: 10,
                corrected: 1,
            },
            s,
            s + 800_000,
        );
        assert_eq!(
            p.decided,
            Decided {
                approved: 1,
                returned: 1,
                rejected: 0
            }
        );
        let r = p.review_secs.unwrap();
        assert_eq!((r.count, r.mean), (2, 60.0));
        assert_eq!((r.median, r.p90), (90.0, 90.0));
        let w = p.wait_secs.unwrap();
        assert_eq!((w.count, w.mean), (2, 12.5));
        assert_eq!((p.fields_confirmed, p.fields_corrected), (2, 1));
        assert_eq!(p.untouched_share, Some(0.9));
        assert_eq!(p.clerks.len(), 2);
        let c8 = p.clerks.iter().find(|l| l.clerk == ClerkId(8)).unwrap();
        assert_eq!(c8.decided.approved, 1);
        assert_eq!(c8.review_secs.as_ref().unwrap().median, 90.0);
        assert_eq!((c8.fields_confirmed, c8.fields_corrected), (1, 1));
        let c7 = p.clerks.iter().find(|l| l.clerk == ClerkId(7)).unwrap();
        assert_eq!((c7.decided.returned, c7.fields_confirmed), (1, 1));
        assert_eq!(c7.review_secs.as_ref().unwrap().median, 30.0);
    }

    #[test]
    fn nothing_decided_reports_no_times_and_no_share() {
        let p = summarize(&[], ApprovedFields::default(), 0, 10);
        assert_eq!(p.decided.total(), 0);
        assert!(p.review_secs.is_none() && p.wait_secs.is_none() && p.untouched_share.is_none());
    }
}
