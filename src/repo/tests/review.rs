//! The review workflow on every backend: states follow the attachments, claims are leases that
//! one clerk holds, racing clerks never share a dossier, edits name the version they saw, and
//! every move is audited.

use std::collections::HashSet;

use super::fields::field;
use super::queue::{dossier, page, upload};
use super::{Backend, on_every_backend};
use crate::domain::workflow::{DossierState, Event};
use crate::domain::{ClerkRole, Dossier, FieldSource, Millis, now_millis};
use crate::extract::crosscheck::ReviewFlag;
use crate::repo::{
    ClaimOutcome, ClerkRef, FailOutcome, FieldChange, Processed, QueueFilter, Refusal, Repo,
};

on_every_backend!(
    the_state_follows_the_attachments,
    a_claim_is_held_by_one_clerk_until_it_runs_out,
    clerks_racing_for_the_queue_never_share_a_dossier,
    edits_need_the_claim_and_the_version_seen,
    decisions_end_the_review_and_dismissals_survive_new_checks,
);

const MIN: Millis = 60_000;

pub(super) async fn clerk(repo: &dyn Repo, d: &Dossier, name: &str) -> ClerkRef {
    let c = repo
        .create_clerk(d.unit_id, name, ClerkRole::Clerk, "x")
        .await
        .unwrap();
    ClerkRef {
        id: c.id,
        unit: c.unit_id,
    }
}

async fn state(repo: &dyn Repo, d: &Dossier) -> DossierState {
    let d = repo.dossier_by_code(&d.code).await.unwrap().unwrap();
    DossierState::parse(&d.status).unwrap()
}

/// Processes every queued job of the repository.
pub(super) async fn process_all(
    repo: &dyn Repo,
    fields: &[(String, crate::domain::ExtractedField)],
) {
    let pages = [page(0)];
    let t = now_millis();
    while let Some(j) = repo
        .claim("w", t, t + MIN, crate::repo::ClaimLimits::new(5))
        .await
        .unwrap()
    {
        let r = Processed {
            pages: &pages,
            pdf_key: "k",
            fields,
        };
        assert!(
            repo.complete_attachment(j.id, "w", j.attachment_id.unwrap(), &r)
                .await
                .unwrap()
        );
    }
}

async fn the_state_follows_the_attachments(b: Backend) {
    let repo = b.fresh().await;
    let d = dossier(&*repo, "A").await;
    assert_eq!(state(&*repo, &d).await, DossierState::Receiving);
    upload(&*repo, &d, 0..2).await;
    assert_eq!(state(&*repo, &d).await, DossierState::Processing);
    let t = now_millis();
    let first = repo
        .claim("w", t, t + MIN, crate::repo::ClaimLimits::new(5))
        .await
        .unwrap()
        .unwrap();
    let pages = [page(0)];
    let done = Processed {
        pages: &pages,
        pdf_key: "k",
        fields: &[],
    };
    repo.complete_attachment(first.id, "w", first.attachment_id.unwrap(), &done)
        .await
        .unwrap();
    // One attachment is still queued.
    assert_eq!(state(&*repo, &d).await, DossierState::Processing);
    let second = repo
        .claim("w", t, t + MIN, crate::repo::ClaimLimits::new(5))
        .await
        .unwrap()
        .unwrap();
    let abort = FailOutcome::Abort {
        code: "corrupt_file".into(),
        message: "m".into(),
    };
    assert!(repo.fail(second.id, "w", abort).await.unwrap());
    // Done or failed, every attachment is settled: a clerk must look at it.
    assert_eq!(state(&*repo, &d).await, DossierState::NeedsReview);
    // The same bytes again add nothing and change nothing.
    upload(&*repo, &d, 0..1).await;
    assert_eq!(state(&*repo, &d).await, DossierState::NeedsReview);
    upload(&*repo, &d, 5..6).await;
    assert_eq!(state(&*repo, &d).await, DossierState::Processing);
    let moves: Vec<(String, Option<String>)> = repo
        .history(d.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|h| h.action == "dossier.state")
        .map(|h| {
            let d = h.detail.unwrap();
            (
                format!(
                    "{}→{}",
                    d["from"].as_str().unwrap(),
                    d["to"].as_str().unwrap()
                ),
                d["reason"].as_str().map(str::to_string),
            )
        })
        .collect();
    assert_eq!(
        moves,
        [
            ("receiving→processing".to_string(), None),
            ("processing→needs_review".to_string(), None),
            ("needs_review→processing".to_string(), None),
        ]
    );
}

async fn a_claim_is_held_by_one_clerk_until_it_runs_out(b: Backend) {
    let repo = b.fresh().await;
    let d = dossier(&*repo, "A").await;
    upload(&*repo, &d, 0..1).await;
    process_all(&*repo, &[]).await;
    let (an, binh) = (
        clerk(&*repo, &d, "an").await,
        clerk(&*repo, &d, "binh").await,
    );
    let t = now_millis();
    let got = repo.claim_next(an, t, t + 15 * MIN).await.unwrap().unwrap();
    assert_eq!(got.id, d.id);
    assert_eq!(state(&*repo, &d).await, DossierState::InReview);
    // Bình sees who holds it and cannot take it, nor find it as the next one.
    match repo
        .claim_dossier(&d, binh, t + MIN, t + 16 * MIN)
        .await
        .unwrap()
    {
        ClaimOutcome::HeldBy(h) => assert_eq!((h.username.as_str(), h.until), ("an", t + 15 * MIN)),
        other => panic!("{other:?}"),
    }
    assert!(
        repo.claim_next(binh, t + MIN, t + 16 * MIN)
            .await
            .unwrap()
            .is_none()
    );
    let q = repo
        .queue(d.unit_id, &QueueFilter::default(), t + MIN)
        .await
        .unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].claim.as_ref().unwrap().username, "an");
    // An renews while working.
    assert_eq!(
        repo.claim_dossier(&d, an, t + 10 * MIN, t + 25 * MIN)
            .await
            .unwrap(),
        ClaimOutcome::Claimed(t + 25 * MIN)
    );
    // An walks away; after the lease the dossier is back in the queue and Bình takes it.
    let later = t + 26 * MIN;
    let q = repo
        .queue(d.unit_id, &QueueFilter::default(), later)
        .await
        .unwrap();
    assert_eq!(q[0].dossier.state, DossierState::NeedsReview);
    assert!(q[0].claim.is_none());
    assert_eq!(
        repo.claim_dossier(&d, binh, later, later + 15 * MIN)
            .await
            .unwrap(),
        ClaimOutcome::Claimed(later + 15 * MIN)
    );
    let refused = repo
        .decide(&d, an, Event::Approve, None, later + MIN)
        .await
        .unwrap();
    assert!(matches!(refused, Err(Refusal::NotClaimed(Some(h))) if h.username == "binh"));
    let expired = repo
        .history(d.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|h| h.action == "dossier.state" && h.actor == "system")
        .count();
    assert_eq!(expired, 1, "the expiry is audited");
    // A clerk of another unit never holds it.
    let other = dossier(&*repo, "B").await;
    let stranger = clerk(&*repo, &other, "chi").await;
    assert!(matches!(
        repo.decide(&d, stranger, Event::Release, None, later)
            .await
            .unwrap(),
        Err(Refusal::NotFound)
    ));
}

async fn clerks_racing_for_the_queue_never_share_a_dossier(b: Backend) {
    let repo = b.fresh().await;
    let mut ds = Vec::new();
    for i in 0..6 {
        let d = dossier(&*repo, "A").await;
        upload(&*repo, &d, i * 10..i * 10 + 1).await;
        ds.push(d);
    }
    process_all(&*repo, &[]).await;
    let mut clerks = Vec::new();
    for i in 0..4 {
        clerks.push(clerk(&*repo, &ds[0], &format!("c{i}")).await);
    }
    let t = now_millis();
    // Four clerks press "take next" at once, twice each: six dossiers, eight presses.
    let shared = repo.shared();
    let tasks: Vec<_> = clerks
        .iter()
        .flat_map(|c| [*c, *c])
        .map(|c| {
            let r = shared.clone();
            tokio::spawn(async move { r.claim_next(c, t, t + 15 * MIN).await.unwrap() })
        })
        .collect();
    let mut got = Vec::new();
    for t in tasks {
        if let Some(d) = t.await.unwrap() {
            got.push(d.id);
        }
    }
    let distinct: HashSet<_> = got.iter().collect();
    assert_eq!(got.len(), 6, "every dossier is taken once");
    assert_eq!(distinct.len(), 6, "no dossier is taken twice: {got:?}");
    // And two clerks racing for the same dossier: exactly one wins.
    let d = dossier(&*repo, "A").await;
    upload(&*repo, &d, 99..100).await;
    process_all(&*repo, &[]).await;
    let racers: Vec<_> = clerks
        .iter()
        .map(|c| {
            let (r, d, c) = (shared.clone(), d.clone(), *c);
            tokio::spawn(async move { r.claim_dossier(&d, c, t, t + MIN).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for r in racers {
        match r.await.unwrap() {
            ClaimOutcome::Claimed(_) => won += 1,
            ClaimOutcome::HeldBy(_) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(won, 1);
}

async fn edits_need_the_claim_and_the_version_seen(b: Backend) {
    let repo = b.fresh().await;
    let d = dossier(&*repo, "A").await;
    upload(&*repo, &d, 0..1).await;
    process_all(&*repo, &[field("pid", "001"), field("name", "AN")]).await;
    let an = clerk(&*repo, &d, "an").await;
    let fields = repo.dossier_fields(d.id).await.unwrap();
    let name = fields.iter().find(|f| f.field.name == "name").unwrap();
    assert_eq!(name.version, 1);
    let t = now_millis();
    let edit = |v, c| repo.edit_field(&d, name.id, v, c, an, t);
    assert!(matches!(
        edit(1, FieldChange::Confirm).await.unwrap(),
        Err(Refusal::NotClaimed(None))
    ));
    repo.claim_dossier(&d, an, t, t + MIN).await.unwrap();
    let confirmed = edit(1, FieldChange::Confirm).await.unwrap().unwrap();
    assert_eq!(
        (confirmed.version, confirmed.confirmed_by),
        (2, Some(an.id))
    );
    assert_eq!(confirmed.field.value.as_deref(), Some("AN"));
    // A second tab still shows version 1: its write is refused with the current field.
    match edit(1, FieldChange::Correct("BÌNH")).await.unwrap() {
        Err(Refusal::Stale(cur)) => assert_eq!(cur.version, 2),
        other => panic!("{other:?}"),
    }
    let fixed = edit(2, FieldChange::Correct("BÌNH"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fixed.field.value.as_deref(), Some("BÌNH"));
    assert_eq!(fixed.field.source, FieldSource::Clerk);
    assert_eq!(fixed.version, 3);
    assert!(matches!(
        repo.edit_field(&d, 999_999, 1, FieldChange::Confirm, an, t)
            .await
            .unwrap(),
        Err(Refusal::NotFound)
    ));
    let edits: Vec<_> = repo
        .history(d.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|h| h.action.starts_with("field."))
        .map(|h| {
            let x = h.detail.unwrap();
            (h.action, x["from"].clone(), x["to"].clone())
        })
        .collect();
    assert_eq!(
        edits,
        [
            ("field.confirm".into(), "AN".into(), "AN".into()),
            ("field.correct".into(), "AN".into(), "BÌNH".into()),
        ]
    );
}

async fn decisions_end_the_review_and_dismissals_survive_new_checks(b: Backend) {
    let repo = b.fresh().await;
    let d = dossier(&*repo, "A").await;
    upload(&*repo, &d, 0..1).await;
    process_all(&*repo, &[]).await;
    let an = clerk(&*repo, &d, "an").await;
    let t = now_millis();
    let flag = ReviewFlag {
        code: "mismatch".into(),
        check: "mother_name".into(),
        message: "tên mẹ khác CCCD".into(),
        fields: vec![],
    };
    repo.replace_flags(d.id, std::slice::from_ref(&flag))
        .await
        .unwrap();
    assert!(matches!(
        repo.dismiss_flag(&d, &flag, "đã đối chiếu", an, t)
            .await
            .unwrap(),
        Err(Refusal::NotClaimed(None))
    ));
    repo.claim_dossier(&d, an, t, t + MIN).await.unwrap();
    repo.dismiss_flag(&d, &flag, "đã đối chiếu bản gốc", an, t)
        .await
        .unwrap()
        .unwrap();
    let other = ReviewFlag {
        message: "khác".into(),
        ..flag.clone()
    };
    assert!(matches!(
        repo.dismiss_flag(&d, &other, "n", an, t).await.unwrap(),
        Err(Refusal::NotFound)
    ));
    // The checks run again after a correction: the same disagreement stays dismissed.
    repo.replace_flags(d.id, &[flag.clone(), other.clone()])
        .await
        .unwrap();
    let views = repo.flag_views(d.id).await.unwrap();
    assert_eq!(views.len(), 2);
    assert_eq!(
        views[0].dismissed.as_ref().map(|x| x.note.as_str()),
        Some("đã đối chiếu bản gốc")
    );
    assert!(views[1].dismissed.is_none());

    let returned = repo
        .decide(&d, an, Event::Return, Some("thiếu bản sao CCCD"), t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(returned, DossierState::Returned);
    // The citizen sends the missing paper; it is processed and reviewed again.
    upload(&*repo, &d, 7..8).await;
    assert_eq!(state(&*repo, &d).await, DossierState::Processing);
    process_all(&*repo, &[]).await;
    let got = repo.claim_next(an, t, t + MIN).await.unwrap().unwrap();
    assert_eq!(got.id, d.id);
    let approved = repo.decide(&d, an, Event::Approve, None, t).await.unwrap();
    assert_eq!(approved.unwrap(), DossierState::Approved);
    // Final: nothing moves it any more, not even new files.
    assert!(matches!(
        repo.claim_dossier(&d, an, t, t + MIN).await.unwrap(),
        ClaimOutcome::NotAllowed(_)
    ));
    upload(&*repo, &d, 8..9).await;
    assert_eq!(state(&*repo, &d).await, DossierState::Approved);
    let reason = repo
        .history(d.id)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|h| h.detail?.get("reason")?.as_str().map(str::to_string))
        .collect::<Vec<_>>();
    assert_eq!(reason, ["thiếu bản sao CCCD"]);
    let counts = repo.state_counts(Some(d.unit_id)).await.unwrap();
    assert_eq!(counts, [(DossierState::Approved, 1)]);
}
