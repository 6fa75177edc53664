//! The productivity page: unit admins only, linked from their inbox.

use axum::http::StatusCode;

use super::{PW, body, fixture};
use crate::config::Config;
use crate::domain::ClerkRole;
use crate::intake::auth;

#[tokio::test]
async fn only_a_units_admin_sees_its_productivity() {
    let f = fixture(Config::default()).await;
    let xa = f.state.repo.unit_by_code("XA").await.unwrap().unwrap();
    let hash = auth::hash_password(PW).unwrap();
    f.state
        .repo
        .create_clerk(xa.id, "chi", ClerkRole::Admin, &hash)
        .await
        .unwrap();

    let an = f.session("an").await;
    let inbox = body(f.get_page("/review/", &an).await).await;
    assert!(!inbox.contains("/review/stats"), "no link for a clerk");
    let r = f.get_page("/review/stats", &an).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(body(r).await.contains("Chỉ quản trị viên"));

    let chi = f.session("chi").await;
    let inbox = body(f.get_page("/review/", &chi).await).await;
    assert!(inbox.contains("href=\"/review/stats\""));
    let r = f.get_page("/review/stats?days=7", &chi).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = body(r).await;
    assert!(html.contains("Năng suất kiểm tra hồ sơ"));
    assert!(html.contains("<strong>7 ngày</strong>"), "the window shown");
    assert!(html.contains("id=\"decided\"><strong>0</strong>"), "{html}");
    assert!(html.contains("Chưa có hoạt động"));
}
