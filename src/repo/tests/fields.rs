//! Fields and review flags: OCR fields are replaced on a retry, a clerk's correction stays and
//! is audited.

use super::queue::{dossier, page, upload};
use super::{Backend, on_every_backend};
use crate::domain::{BBox, ClerkRole, ExtractedField, FieldSource, Validation, ValidationStatus};
use crate::extract::crosscheck::{FlagField, ReviewFlag};
use crate::repo::{ClerkRef, FieldChange, Processed};

on_every_backend!(
    ocr_fields_are_replaced_and_clerk_corrections_stay,
    fields_are_written_with_the_result_and_only_by_the_owner_of_the_job,
);

pub(super) fn field(name: &str, value: &str) -> (String, ExtractedField) {
    (
        "cccd".into(),
        ExtractedField {
            name: name.into(),
            value: Some(value.into()),
            raw: value.into(),
            confidence: 0.5,
            page: 0,
            bbox: Some(BBox {
                x0: 1,
                y0: 2,
                x1: 30,
                y1: 40,
            }),
            source: FieldSource::Ocr,
            validation: Validation {
                status: ValidationStatus::Valid,
                notes: vec!["checksum".into()],
                repair: None,
            },
        },
    )
}

async fn ocr_fields_are_replaced_and_clerk_corrections_stay(b: Backend) {
    let repo = b.fresh().await;
    let d = dossier(&*repo, "A").await;
    let att = upload(&*repo, &d, 0..1).await[0];
    let first = [field("pid", "001"), field("name", "AN")];
    let t = crate::domain::now_millis();
    let j = repo
        .claim("w", t, t + 60_000, crate::repo::ClaimLimits::new(5))
        .await
        .unwrap()
        .unwrap();
    let pages = [page(0)];
    let result = Processed {
        pages: &pages,
        pdf_key: "k",
        fields: &first,
    };
    assert!(
        repo.complete_attachment(j.id, "w", att, &result)
            .await
            .unwrap()
    );
    let fields = repo.dossier_fields(d.id).await.unwrap();
    assert_eq!(fields.len(), 2);
    let name = fields.iter().find(|f| f.field.name == "name").unwrap();
    assert_eq!(name.field.bbox, first[1].1.bbox);
    assert_eq!(name.field.validation.notes, ["checksum"]);

    let c = repo
        .create_clerk(d.unit_id, "an", ClerkRole::Clerk, "x")
        .await
        .unwrap();
    let clerk = ClerkRef {
        id: c.id,
        unit: c.unit_id,
    };
    repo.claim_dossier(&d, clerk, t, t + 60_000).await.unwrap();
    let fixed = repo
        .edit_field(
            &d,
            name.id,
            name.version,
            FieldChange::Correct("BÌNH"),
            clerk,
            t,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fixed.field.source, FieldSource::Clerk);
    assert_eq!(fixed.field.validation.status, ValidationStatus::Unchecked);
    // A retried job writes its OCR fields again: the clerk's value stays, OCR ones are replaced.
    let again = [field("pid", "002"), field("name", "AN")];
    repo.replace_ocr_fields(d.id, att, &again).await.unwrap();
    let fields = repo.dossier_fields(d.id).await.unwrap();
    assert_eq!(fields.len(), 2);
    let value = |n: &str| {
        let f = fields.iter().find(|f| f.field.name == n).unwrap();
        f.field.value.clone().unwrap()
    };
    assert_eq!((value("pid"), value("name")), ("002".into(), "BÌNH".into()));
    assert_eq!(
        repo.count("SELECT COUNT(*) FROM audit WHERE action = 'field.correct'")
            .await,
        1
    );

    let flag = |code: &str| ReviewFlag {
        code: code.into(),
        check: "requester_id_card".into(),
        message: "m".into(),
        fields: vec![
            FlagField {
                attachment: 4,
                page: 0,
                name: "requester.name".into(),
            },
            FlagField {
                attachment: 5,
                page: 1,
                name: "name".into(),
            },
        ],
    };
    repo.replace_flags(d.id, &[flag("a"), flag("b")])
        .await
        .unwrap();
    repo.replace_flags(d.id, &[flag("c")]).await.unwrap();
    let flags = repo.dossier_flags(d.id).await.unwrap();
    assert_eq!(flags, [flag("c")], "with the fields it is about");
    assert_eq!(repo.flag_views(d.id).await.unwrap()[0].flag, flag("c"));
    assert_eq!(
        repo.dossier_procedure(d.id).await.unwrap().as_deref(),
        Some("khai-sinh")
    );
}

async fn fields_are_written_with_the_result_and_only_by_the_owner_of_the_job(b: Backend) {
    let repo = b.fresh().await;
    let d = dossier(&*repo, "A").await;
    let att = upload(&*repo, &d, 0..1).await[0];
    let t = crate::domain::now_millis() + 1000;
    let j = repo
        .claim("old", t, t + 1000, crate::repo::ClaimLimits::new(5))
        .await
        .unwrap()
        .unwrap();
    // The lease runs out and another worker takes the job over (after the lost-worker backoff)
    // and finishes it.
    let limits = crate::repo::ClaimLimits::new(5);
    assert!(
        repo.claim("new", t + 1001, t + 1002, limits)
            .await
            .unwrap()
            .is_none()
    );
    let t = t + 1001 + limits.lost_backoff_ms;
    let again = repo
        .claim("new", t, t + 9000, limits)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.id, j.id);
    let pages = [page(0)];
    let theirs = [field("pid", "001"), field("name", "AN")];
    let result = |fields| Processed {
        pages: &pages,
        pdf_key: "k",
        fields,
    };
    assert!(
        repo.complete_attachment(j.id, "new", att, &result(&theirs))
            .await
            .unwrap()
    );
    let stored = |fields: Vec<crate::repo::FieldRecord>| {
        let mut v: Vec<_> = fields
            .into_iter()
            .map(|f| (f.field.name, f.field.value.unwrap()))
            .collect();
        v.sort();
        v
    };
    let expected = vec![
        ("name".to_string(), "AN".to_string()),
        ("pid".to_string(), "001".to_string()),
    ];
    assert_eq!(stored(repo.dossier_fields(d.id).await.unwrap()), expected);
    // The old worker comes back with a (different) result: nothing of it is written.
    let stale = [field("pid", "999")];
    assert!(
        !repo
            .complete_attachment(j.id, "old", att, &result(&stale))
            .await
            .unwrap()
    );
    assert_eq!(stored(repo.dossier_fields(d.id).await.unwrap()), expected);
}
