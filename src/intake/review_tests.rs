//! The review API end to end over the router: take next, see the queue, approval refused while a
//! required field is unproven or a flag is open, a reason needed to return, other clerks kept
//! out, and the history of it all.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::router;
use super::tests::{Fixture, error_code, fixture, streamed_upload};
use crate::config::Config;
use crate::domain::{ClerkRole, ExtractedField, FieldSource, Validation, ValidationStatus};
use crate::extract::crosscheck::ReviewFlag;
use crate::intake::auth;

async fn call(
    f: &Fixture,
    method: &str,
    path: &str,
    auth: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("Authorization", auth);
    if body.is_some() {
        req = req.header("Content-Type", "application/json");
    }
    let req = req
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let r = router(f.state.clone()).oneshot(req).await.unwrap();
    let status = r.status();
    let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn clerk(f: &Fixture, unit: crate::domain::UnitId, name: &str) -> String {
    clerk_as(f, unit, name, ClerkRole::Clerk).await
}

async fn clerk_as(f: &Fixture, unit: crate::domain::UnitId, name: &str, role: ClerkRole) -> String {
    let hash = auth::hash_password("pw").unwrap();
    f.state
        .repo
        .create_clerk(unit, name, role, &hash)
        .await
        .unwrap();
    let pair = format!("{name}:pw");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

fn field(name: &str, value: &str, status: ValidationStatus) -> (String, ExtractedField) {
    (
        "cccd".into(),
        ExtractedField {
            name: name.into(),
            value: Some(value.into()),
            raw: value.into(),
            confidence: 0.6,
            page: 0,
            bbox: None,
            source: FieldSource::Ocr,
            validation: Validation {
                status,
                notes: vec![],
                repair: None,
            },
        },
    )
}

#[tokio::test]
async fn a_clerk_takes_reviews_and_approves_a_dossier() {
    let f = fixture(Config::default()).await;
    let r = router(f.state.clone())
        .oneshot(streamed_upload(&f, 20_000))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let repo = f.state.repo.clone();
    let d = repo.dossier_by_code(&f.code).await.unwrap().unwrap();
    let lan = clerk(&f, d.unit_id, "lan").await;
    let mai = clerk(&f, d.unit_id, "mai").await;
    let other_unit = repo.create_unit("XB", "Xã B", "").await.unwrap();
    let stranger = clerk(&f, other_unit.id, "tuan").await;

    // Nothing to take while the file is processing.
    let (s, _) = call(&f, "POST", "/api/v1/review/next", &lan, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let fields = [
        field("name", "ĐINH MINH OANH", ValidationStatus::Valid),
        field("pid", "072172124924", ValidationStatus::Invalid),
    ];
    let t = crate::domain::now_millis();
    let job = repo
        .claim("w", t, t + 60_000, crate::repo::ClaimLimits::new(5))
        .await
        .unwrap()
        .unwrap();
    let done = crate::repo::Processed {
        pages: &[],
        pdf_key: "k",
        fields: &fields,
    };
    assert!(
        repo.complete_attachment(job.id, "w", job.attachment_id.unwrap(), &done)
            .await
            .unwrap()
    );
    let flag = ReviewFlag {
        code: "mismatch".into(),
        check: "mother_id_card".into(),
        message: "tên mẹ khác CCCD".into(),
        fields: vec![],
    };
    repo.replace_flags(d.id, std::slice::from_ref(&flag))
        .await
        .unwrap();

    let (s, q) = call(&f, "GET", "/api/v1/review/queue", &lan, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(q["counts"]["needs_review"], 1);
    assert_eq!(q["dossiers"][0]["code"], f.code.as_str());
    let (s, got) = call(&f, "POST", "/api/v1/review/next", &lan, None).await;
    assert_eq!(
        (s, got["code"].as_str()),
        (StatusCode::OK, Some(f.code.as_str()))
    );
    let (_, q) = call(&f, "GET", "/api/v1/review/queue", &mai, None).await;
    assert_eq!(q["dossiers"][0]["state"], "in_review");
    assert_eq!(q["dossiers"][0]["claim"]["username"], "lan");

    let base = format!("/api/v1/dossiers/{}", f.code);
    // Mai sees who holds it; a clerk of another commune does not even find it.
    let (s, e) = call(&f, "POST", &format!("{base}/claim"), &mai, None).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("claimed_by_other"))
    );
    assert_eq!(e["error"]["details"]["username"], "lan");
    for path in [format!("{base}/history"), base.clone()] {
        let (s, _) = call(&f, "GET", &path, &stranger, None).await;
        assert!(
            s == StatusCode::NOT_FOUND || s == StatusCode::FORBIDDEN,
            "{path}: {s}"
        );
    }
    let (s, _) = call(&f, "POST", &format!("{base}/claim"), &stranger, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let bearer = format!("Bearer {}", f.token);
    let (s, _) = call(&f, "POST", "/api/v1/review/next", &bearer, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a station token never reviews");

    let approve = json!({"action": "approve"});
    let (s, e) = call(
        &f,
        "POST",
        &format!("{base}/decision"),
        &lan,
        Some(approve.clone()),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_reviewed"))
    );
    let pending: Vec<&str> = e["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap_or("flag"))
        .collect();
    assert_eq!(pending, ["pid", "flag"]);
    let (s, _) = call(
        &f,
        "POST",
        &format!("{base}/decision"),
        &lan,
        Some(json!({"action": "return"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "returning needs a reason");

    // The clerk checks the ID against the card and confirms it, and dismisses the flag.
    let (_, dossier) = call(&f, "GET", &base, &lan, None).await;
    assert_eq!(dossier["claim"]["username"], "lan");
    let pid = dossier["attachments"][0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "pid")
        .unwrap()
        .clone();
    let path = format!("{base}/fields/{}", pid["id"]);
    let (s, confirmed) = call(
        &f,
        "PUT",
        &path,
        &lan,
        Some(json!({"version": pid["version"]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(confirmed["version"], 2);
    let (s, e) = call(
        &f,
        "PUT",
        &path,
        &lan,
        Some(json!({"version": 2, "value": "12ab"})),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_value"))
    );
    let dismiss = json!({"action": "approve", "dismiss": [{
        "code": flag.code, "check": flag.check, "message": flag.message,
        "note": "đã đối chiếu bản gốc"
    }]});
    let (s, v) = call(&f, "POST", &format!("{base}/decision"), &lan, Some(dismiss)).await;
    assert_eq!((s, v["state"].as_str()), (StatusCode::OK, Some("approved")));

    let r = router(f.state.clone())
        .oneshot(streamed_upload(&f, 20_000))
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::CONFLICT, "dossier_closed".into())
    );
    let (_, h) = call(&f, "GET", &format!("{base}/history"), &mai, None).await;
    let actions: Vec<String> = h["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| match e["action"].as_str().unwrap() {
            "dossier.state" => format!(
                "{}→{}",
                e["detail"]["from"].as_str().unwrap(),
                e["detail"]["to"].as_str().unwrap()
            ),
            a => a.to_string(),
        })
        .collect();
    for want in [
        "receiving→processing",
        "processing→needs_review",
        "needs_review→in_review",
        "field.confirm",
        "flag.dismiss",
        "in_review→approved",
    ] {
        assert!(
            actions.iter().any(|a| a == want),
            "{want} missing from {actions:?}"
        );
    }

    // The unit's admin sees the work in the productivity numbers; clerks and other units do not.
    let stats = "/api/v1/review/stats?days=7";
    let (s, _) = call(&f, "GET", stats, &lan, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let chi = clerk_as(&f, d.unit_id, "chi", ClerkRole::Admin).await;
    let (s, n) = call(&f, "GET", stats, &chi, None).await;
    assert_eq!(s, StatusCode::OK, "{n}");
    assert_eq!(n["decided"]["approved"], 1);
    assert_eq!(
        (
            n["fields_confirmed"].as_u64(),
            n["fields_corrected"].as_u64()
        ),
        (Some(1), Some(0))
    );
    assert_eq!(
        (n["approved_fields"].as_u64(), n["untouched_share"].as_f64()),
        (Some(2), Some(1.0))
    );
    assert_eq!(n["review_secs"]["count"], 1);
    assert_eq!(n["clerks"].as_array().unwrap().len(), 1);
    let far = clerk_as(&f, other_unit.id, "xa-b-admin", ClerkRole::Admin).await;
    let (_, n) = call(&f, "GET", stats, &far, None).await;
    assert_eq!(n["decided"]["approved"], 0);
    let (s, _) = call(&f, "GET", "/api/v1/review/stats?days=0", &chi, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_citizen_sees_the_state_and_the_reason_but_no_personal_data() {
    use crate::domain::{Actor, DossierSource};
    use crate::repo::NewDossier;

    let f = fixture(Config::default()).await;
    let repo = f.state.repo.clone();
    let unit = repo.unit_by_code("XA").await.unwrap().unwrap();
    let token = auth::new_token(auth::CITIZEN_PREFIX);
    let d = repo
        .create_dossier(
            NewDossier {
                code: "XA-CITIZEN1",
                unit: unit.id,
                procedure: "dang_ky_khai_sinh",
                source: DossierSource::Portal,
                citizen_token_sha256: Some(&auth::token_hash(&token)),
                lookup_sha256: crate::intake::lookup::hash("7K2M-9Q4T").as_deref(),
            },
            &Actor::Anonymous,
        )
        .await
        .unwrap();
    let status = |token: String| status_of(&f, "XA-CITIZEN1", token);
    let (s, page) = status(auth::new_token(auth::CITIZEN_PREFIX)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(page.contains("không đúng"));
    let (s, page) = status(token.clone()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("Đang tiếp nhận"), "{page}");
    // The receipt's lookup code, typed as people type it, opens it too; a wrong one does not.
    assert_eq!(status("7k2m 9q4t".into()).await.0, StatusCode::OK);
    assert_eq!(status("7K2M-9Q4V".into()).await.0, StatusCode::NOT_FOUND);

    // A dossier made over the API gets its code once, on the receipt, and it opens only that one.
    let bearer = format!("Bearer {}", f.token);
    let (s, made) = call(
        &f,
        "POST",
        "/api/v1/dossiers",
        &bearer,
        Some(json!({"procedure": "p"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let lookup = made["lookup_code"].as_str().unwrap().to_string();
    let code = made["code"].as_str().unwrap();
    assert_eq!(status_of(&f, code, lookup.clone()).await.0, StatusCode::OK);
    assert_eq!(
        status(lookup).await.0,
        StatusCode::NOT_FOUND,
        "another dossier's code"
    );
    let (_, shown) = call(
        &f,
        "GET",
        &format!("/api/v1/dossiers/{code}"),
        &bearer,
        None,
    )
    .await;
    assert!(shown.get("lookup_code").is_none(), "shown once");
    after_review(&f, d, token).await;
}

async fn status_of(f: &Fixture, code: &str, token: String) -> (StatusCode, String) {
    let req = Request::post(format!("/status/{code}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={token}")))
        .unwrap();
    let r = router(f.state.clone()).oneshot(req).await.unwrap();
    let s = r.status();
    let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    (s, String::from_utf8(b.to_vec()).unwrap())
}

/// Processed, reviewed and returned: what the citizen's page shows then.
async fn after_review(f: &Fixture, d: crate::domain::Dossier, token: String) {
    use crate::domain::Actor;
    let repo = f.state.repo.clone();
    let unit = repo.unit_by_code("XA").await.unwrap().unwrap();
    let status = |token: String| status_of(f, "XA-CITIZEN1", token);

    // Processed, reviewed and returned with a reason: the citizen reads the reason, not the data.
    let file = crate::domain::NewAttachment {
        filename: Some("cccd.png".into()),
        original_key: format!("originals/ab/{:064x}", 1),
        sha256: format!("{:064x}", 1),
        bytes: 1,
        media_type: "image/png".into(),
    };
    let job = |a: crate::domain::AttachmentId| crate::repo::NewJob {
        kind: "process_attachment",
        payload: format!("{{\"attachment_id\":{a}}}"),
    };
    repo.add_attachments(&d, &[file], None, &job, &Actor::Anonymous)
        .await
        .unwrap();
    let fields = [field("name", "ĐINH MINH OANH", ValidationStatus::Valid)];
    let t = crate::domain::now_millis();
    let j = repo
        .claim("w", t, t + 60_000, crate::repo::ClaimLimits::new(5))
        .await
        .unwrap()
        .unwrap();
    let done = crate::repo::Processed {
        pages: &[],
        pdf_key: "k",
        fields: &fields,
    };
    repo.complete_attachment(j.id, "w", j.attachment_id.unwrap(), &done)
        .await
        .unwrap();
    let c = repo
        .create_clerk(unit.id, "lan", ClerkRole::Clerk, "x")
        .await
        .unwrap();
    let clerk = crate::repo::ClerkRef {
        id: c.id,
        unit: unit.id,
    };
    let got = repo
        .claim_next(clerk, t, t + 60_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.id, d.id);
    repo.decide(
        &d,
        clerk,
        crate::domain::workflow::Event::Return,
        Some("thiếu bản sao giấy chứng sinh"),
        t,
    )
    .await
    .unwrap()
    .unwrap();
    let (s, page) = status(token).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("Yêu cầu bổ sung"), "{page}");
    assert!(page.contains("thiếu bản sao giấy chứng sinh"), "{page}");
    assert!(
        !page.contains("OANH"),
        "no field value on the citizen's page"
    );
}
