//! A session at work: idle and maximum age, logout, CSRF on the API, bearer tokens kept out.

use axum::body::Body;
use axum::http::header::COOKIE;
use axum::http::{Request, StatusCode};

use super::*;
use crate::config::Config;

#[tokio::test]
async fn an_idle_or_too_old_session_sends_back_to_the_login() {
    let f = fixture(Config::default()).await;
    let token = f.session("an").await;
    assert_eq!(
        f.get_page("/review/", &token).await.status(),
        StatusCode::OK
    );
    // 29 minutes idle: still open, and the visit counts as activity.
    f.exec("UPDATE sessions SET last_seen = last_seen - 29 * 60000")
        .await;
    assert_eq!(
        f.get_page("/review/", &token).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        f.get_page("/review/", &token).await.status(),
        StatusCode::OK
    );
    f.exec("UPDATE sessions SET last_seen = last_seen - 31 * 60000")
        .await;
    let r = f.get_page("/review/", &token).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/review/login");
    assert_eq!(f.count("SELECT COUNT(*) FROM sessions").await, 0);

    // Active all along, but logged in 12 hours ago.
    let token = f.session("an").await;
    f.exec("UPDATE sessions SET created_at = created_at - 12 * 3600000 - 1000")
        .await;
    let r = f.get_page("/review/", &token).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The JSON API refuses it too.
    let r = f.api("GET", "/api/v1/review/queue", &token, None).await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::UNAUTHORIZED, "unauthorized".into())
    );
}

#[tokio::test]
async fn logout_needs_the_csrf_token_and_ends_the_session() {
    let f = fixture(Config::default()).await;
    let token = f.session("an").await;
    let csrf = f.csrf_of(&token).await;
    let logout = |form: String| {
        Request::post("/review/logout")
            .header(COOKIE, format!("motcua_session={token}"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap()
    };
    assert_eq!(
        f.send(logout(String::new())).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        f.send(logout("csrf=nope".into())).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        f.get_page("/review/", &token).await.status(),
        StatusCode::OK
    );

    let r = f.send(logout(format!("csrf={csrf}"))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/review/login");
    assert!(
        set_cookie_line(&r, "motcua_session")
            .unwrap()
            .contains("Max-Age=0")
    );
    let r = f.get_page("/review/", &token).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = f.api("GET", "/api/v1/review/queue", &token, None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_api_takes_the_session_cookie_and_needs_its_csrf_token_to_change_anything() {
    let f = fixture(Config::default()).await;
    let token = f.session("an").await;
    let csrf = f.csrf_of(&token).await;
    // Reading needs no CSRF token.
    let r = f.api("GET", "/api/v1/review/queue", &token, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    for sent in [None, Some("wrong"), Some("")] {
        let r = f.api("POST", "/api/v1/review/next", &token, sent).await;
        assert_eq!(
            error_code(r).await,
            (StatusCode::FORBIDDEN, "csrf_failed".into()),
            "{sent:?}"
        );
    }
    // With the token the clerk gets through (nothing waits for review: 404).
    let r = f
        .api("POST", "/api/v1/review/next", &token, Some(&csrf))
        .await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::NOT_FOUND, "not_found".into())
    );

    // A clerk sees only their unit's dossiers.
    let r = f
        .api("GET", "/api/v1/dossiers/XA-1/history", &token, None)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let other = f.session("binh").await;
    let r = f
        .api("GET", "/api/v1/dossiers/XA-1/history", &other, None)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The session token is no bearer token.
    let r = f
        .send(
            Request::get("/api/v1/review/queue")
                .header("Authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bearer_tokens_never_open_the_pages() {
    let f = fixture(Config::default()).await;
    for path in ["/review/", "/review/logout"] {
        let method = if path == "/review/" { "GET" } else { "POST" };
        let r = f
            .send(
                Request::builder()
                    .method(method)
                    .uri(path)
                    .header("Authorization", format!("Bearer {}", f.station))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&r), "/review/login");
    }
    // A script asking for JSON gets 401 instead of a redirect.
    let r = f
        .send(
            Request::get("/review/")
                .header("Accept", "application/json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::UNAUTHORIZED, "unauthorized".into())
    );
}
