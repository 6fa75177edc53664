//! The productivity numbers read back from the audit trail, on every backend.

use super::fields::field;
use super::queue::{dossier, upload};
use super::review::process_all;
use super::{Backend, on_every_backend};
use crate::domain::productivity::summarize;
use crate::domain::workflow::Event;
use crate::domain::{ClerkRole, Millis, now_millis};
use crate::repo::{ClerkRef, FieldChange};

on_every_backend!(a_units_review_work_adds_up_from_its_audit_trail);

const MIN: Millis = 60_000;

async fn a_units_review_work_adds_up_from_its_audit_trail(b: Backend) {
    let repo = b.fresh().await;
    let d = dossier(&*repo, "A").await;
    let elsewhere = dossier(&*repo, "B").await;
    upload(&*repo, &d, 0..1).await;
    process_all(&*repo, &[field("pid", "001"), field("name", "AN")]).await;
    let c = repo
        .create_clerk(d.unit_id, "ba", ClerkRole::Admin, "x")
        .await
        .unwrap();
    let ba = ClerkRef {
        id: c.id,
        unit: c.unit_id,
    };
    let t = now_millis() + MIN;
    repo.claim_dossier(&d, ba, t, t + 15 * MIN).await.unwrap();
    let fields = repo.dossier_fields(d.id).await.unwrap();
    let by_name = |n: &str| fields.iter().find(|f| f.field.name == n).unwrap();
    repo.edit_field(&d, by_name("pid").id, 1, FieldChange::Confirm, ba, t + MIN)
        .await
        .unwrap()
        .unwrap();
    repo.edit_field(
        &d,
        by_name("name").id,
        1,
        FieldChange::Correct("BÌNH"),
        ba,
        t + 2 * MIN,
    )
    .await
    .unwrap()
    .unwrap();
    repo.decide(&d, ba, Event::Approve, None, t + 5 * MIN)
        .await
        .unwrap()
        .unwrap();

    let since = t - 60 * MIN;
    let a = repo.activity(d.unit_id, since).await.unwrap();
    assert_eq!(a.clerks.len(), 1);
    assert_eq!((a.clerks[0].0, a.clerks[0].2), (ba.id, ClerkRole::Admin));
    assert_eq!((a.approved.total, a.approved.corrected), (2, 1));
    let p = summarize(&a.rows, a.approved, since, t + 60 * MIN);
    assert_eq!(p.decided.approved, 1);
    assert_eq!(p.review_secs.as_ref().unwrap().median, 300.0);
    assert_eq!(p.wait_secs.as_ref().unwrap().count, 1);
    assert_eq!((p.fields_confirmed, p.fields_corrected), (1, 1));
    assert_eq!(p.untouched_share, Some(0.5));
    assert_eq!(p.clerks.len(), 1);
    assert_eq!(p.clerks[0].clerk, ba.id);

    // Another unit sees none of it; a window after the work holds none of it.
    let other = repo.activity(elsewhere.unit_id, since).await.unwrap();
    assert!(other.rows.is_empty() && other.clerks.is_empty());
    assert_eq!(other.approved.total, 0);
    let later = repo.activity(d.unit_id, t + 10 * MIN).await.unwrap();
    assert!(later.rows.is_empty());
    assert_eq!(later.approved.total, 0);
}
