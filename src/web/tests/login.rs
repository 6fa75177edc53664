//! Logging in: the cookie and its flags, wrong credentials, the lockout, login CSRF.

use axum::body::Body;
use axum::http::header::RETRY_AFTER;
use axum::http::{Request, StatusCode};

use super::*;
use crate::config::Config;
use crate::intake::auth;

#[tokio::test]
async fn login_sets_a_strict_http_only_session_cookie_and_opens_the_start_page() {
    let f = fixture(Config::default()).await;
    let form = body(
        f.send(Request::get("/review/login").body(Body::empty()).unwrap())
            .await,
    )
    .await;
    for label in [
        "Đăng nhập — Trạm kiểm tra hồ sơ",
        "Tên đăng nhập",
        "Mật khẩu",
    ] {
        assert!(form.contains(label), "{label}");
    }

    let r = f.login("an", PW).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/review/");
    let line = set_cookie_line(&r, "motcua_session").unwrap();
    assert!(line.contains("; HttpOnly"), "{line}");
    assert!(line.contains("; SameSite=Strict"), "{line}");
    assert!(line.contains("; Path=/"), "{line}");
    assert!(!line.contains("Secure"), "{line}");
    let token = set_cookie(&r, "motcua_session").unwrap();
    // Only the hash is stored.
    assert_eq!(
        f.count(&format!(
            "SELECT COUNT(*) FROM sessions WHERE token_sha256 = '{}'",
            auth::token_hash(&token)
        ))
        .await,
        1
    );
    assert_eq!(
        f.count("SELECT COUNT(*) FROM sessions WHERE token_sha256 LIKE 'mcw_%'")
            .await,
        0
    );

    let page = f.get_page("/review/", &token).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(body(page).await.contains("Cán bộ: <strong>an</strong>"));

    let mut cfg = Config::default();
    cfg.review.cookie_secure = true;
    let f = fixture(cfg).await;
    let r = f.login("an", PW).await;
    assert!(
        set_cookie_line(&r, "motcua_session")
            .unwrap()
            .contains("; Secure")
    );
}

#[tokio::test]
async fn a_wrong_password_or_unknown_user_is_401_with_one_message() {
    let f = fixture(Config::default()).await;
    for (user, pw) in [("an", "sai"), ("khong-co", PW)] {
        let r = f.login(user, pw).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{user}");
        assert!(set_cookie(&r, "motcua_session").is_none());
        assert!(
            body(r)
                .await
                .contains("Tên đăng nhập hoặc mật khẩu không đúng.")
        );
    }
    assert_eq!(f.count("SELECT COUNT(*) FROM sessions").await, 0);
    assert_eq!(f.count("SELECT COUNT(*) FROM login_failures").await, 2);
}

#[tokio::test]
async fn repeated_failures_lock_the_username_until_the_window_passes() {
    let mut cfg = Config::default();
    cfg.review.max_failed_logins = 3;
    let f = fixture(cfg).await;
    for _ in 0..3 {
        assert_eq!(
            f.login("an", "sai").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Locked: even the right password is refused, with when to come back.
    let r = f.login("an", PW).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(set_cookie(&r, "motcua_session").is_none());
    let retry: u64 = r.headers()[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((800..=900).contains(&retry), "{retry}");
    assert!(
        body(r)
            .await
            .contains("Đăng nhập sai quá nhiều lần. Thử lại sau 15 phút.")
    );
    assert_eq!(
        f.count("SELECT COUNT(*) FROM audit WHERE action = 'login.locked'")
            .await,
        1
    );
    // Another clerk is not affected.
    assert_eq!(f.login("binh", PW).await.status(), StatusCode::SEE_OTHER);

    // 15 minutes later the window has passed.
    f.exec("UPDATE login_failures SET at = at - 900000").await;
    let r = f.login("an", PW).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        f.count("SELECT COUNT(*) FROM login_failures WHERE username = 'an'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_login_without_the_forms_csrf_token_is_refused() {
    let f = fixture(Config::default()).await;
    let (cookie, csrf) = f.login_form().await;
    assert_eq!(cookie, csrf);
    let pw = urlenc(PW);
    for (cookie, form) in [
        (None, format!("username=an&password={pw}&csrf={csrf}")),
        (Some(cookie.as_str()), format!("username=an&password={pw}")),
        (
            Some(cookie.as_str()),
            format!("username=an&password={pw}&csrf=x{csrf}"),
        ),
        (None, format!("username=an&password={pw}")),
    ] {
        let r = f.post_login(cookie, &form).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{cookie:?} {form}");
        assert!(set_cookie(&r, "motcua_session").is_none());
        // A fresh form to try again with.
        assert!(set_cookie(&r, "motcua_login_csrf").is_some());
    }
    assert_eq!(f.count("SELECT COUNT(*) FROM sessions").await, 0);
    let ok = f
        .post_login(
            Some(&cookie),
            &format!("username=an&password={pw}&csrf={csrf}"),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
}
