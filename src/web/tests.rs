//! The login session over the whole router, in-process: cookies and their flags, wrong passwords,
//! the lockout and its end, idle and maximum age, logout, CSRF on the login form, on forms and on
//! the JSON API, and bearer tokens kept out of the pages.

use std::sync::Arc;

use axum::body::Body;
use axum::http::header::{COOKIE, LOCATION, RETRY_AFTER, SET_COOKIE};
use axum::http::{Request, StatusCode};
use axum::response::Response;
use tower::ServiceExt;

use crate::config::Config;
use crate::domain::{Actor, ClerkRole, DossierSource};
use crate::intake::{AppState, auth, router};
use crate::repo::{ClerkRepo, DossierRepo, NewDossier, SqliteRepo, StationRepo, UnitRepo};
use crate::store::FsStore;

const PW: &str = "mật khẩu đúng";

struct Fixture {
    state: AppState,
    raw: SqliteRepo,
    station: String,
    _dir: tempfile::TempDir,
}

async fn fixture(cfg: Config) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let raw = SqliteRepo::in_memory().await.unwrap();
    let repo = Arc::new(raw.clone());
    let xa = repo.create_unit("XA", "Xã A", "").await.unwrap();
    let xb = repo.create_unit("XB", "Xã B", "").await.unwrap();
    let station = auth::new_token(auth::STATION_PREFIX);
    repo.create_station(xa.id, "s", &auth::token_hash(&station))
        .await
        .unwrap();
    let hash = auth::hash_password(PW).unwrap();
    repo.create_clerk(xa.id, "an", ClerkRole::Clerk, &hash)
        .await
        .unwrap();
    repo.create_clerk(xb.id, "binh", ClerkRole::Clerk, &hash)
        .await
        .unwrap();
    repo.create_dossier(
        NewDossier {
            code: "XA-1",
            unit: xa.id,
            procedure: "p",
            source: DossierSource::Station,
            citizen_token_sha256: None,
        },
        &Actor::Admin,
    )
    .await
    .unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let state = AppState {
        repo,
        store: Arc::new(FsStore::open(dir.path()).await.unwrap()),
        cfg: Arc::new(cfg),
        wake: Default::default(),
        metrics: None,
        defs: crate::extract::Definitions::load(&root.join("models"), &root.join("pipelines"))
            .unwrap(),
    };
    Fixture {
        state,
        raw,
        station,
        _dir: dir,
    }
}

impl Fixture {
    async fn send(&self, req: Request<Body>) -> Response {
        router(self.state.clone()).oneshot(req).await.unwrap()
    }

    async fn count(&self, sql: &str) -> i64 {
        self.raw.count_for_tests(sql).await.unwrap()
    }

    async fn exec(&self, sql: &str) {
        self.raw.exec_for_tests(sql).await.unwrap()
    }

    /// GETs the login form: its CSRF cookie value and hidden field value.
    async fn login_form(&self) -> (String, String) {
        let r = self
            .send(Request::get("/review/login").body(Body::empty()).unwrap())
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let cookie = set_cookie(&r, "motcua_login_csrf").expect("login CSRF cookie");
        let html = body(r).await;
        let field = attr_after(&html, "name=\"csrf\" value=\"");
        (cookie, field)
    }

    async fn post_login(&self, cookie: Option<&str>, form: &str) -> Response {
        let mut req = Request::post("/review/login")
            .header("Content-Type", "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            req = req.header(COOKIE, format!("motcua_login_csrf={c}"));
        }
        self.send(req.body(Body::from(form.to_string())).unwrap())
            .await
    }

    async fn login(&self, user: &str, pw: &str) -> Response {
        let (cookie, csrf) = self.login_form().await;
        let form = format!("username={user}&password={}&csrf={csrf}", urlenc(pw));
        self.post_login(Some(&cookie), &form).await
    }

    /// Logs in and returns the session cookie's value.
    async fn session(&self, user: &str) -> String {
        let r = self.login(user, PW).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        set_cookie(&r, "motcua_session").unwrap()
    }

    async fn get_page(&self, path: &str, cookie: &str) -> Response {
        let req = Request::get(path)
            .header(COOKIE, format!("motcua_session={cookie}"))
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    /// The session's CSRF token, as the start page shows it.
    async fn csrf_of(&self, cookie: &str) -> String {
        let r = self.get_page("/review/", cookie).await;
        assert_eq!(r.status(), StatusCode::OK);
        attr_after(&body(r).await, "name=\"csrf-token\" content=\"")
    }

    async fn api(&self, method: &str, path: &str, cookie: &str, csrf: Option<&str>) -> Response {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(COOKIE, format!("motcua_session={cookie}"));
        if let Some(t) = csrf {
            req = req.header("X-CSRF-Token", t);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }
}

fn urlenc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The whole `Set-Cookie` line for `name`.
fn set_cookie_line(r: &Response, name: &str) -> Option<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with(&format!("{name}=")))
}

fn set_cookie(r: &Response, name: &str) -> Option<String> {
    let line = set_cookie_line(r, name)?;
    let value = line.split(';').next()?.split_once('=')?.1.to_string();
    Some(value)
}

async fn body(r: Response) -> String {
    let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    String::from_utf8(b.to_vec()).unwrap()
}

fn attr_after(html: &str, marker: &str) -> String {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

async fn error_code(r: Response) -> (StatusCode, String) {
    let status = r.status();
    let v: serde_json::Value = serde_json::from_str(&body(r).await).unwrap();
    (status, v["error"]["code"].as_str().unwrap().to_string())
}

fn location(r: &Response) -> &str {
    r.headers().get(LOCATION).unwrap().to_str().unwrap()
}

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
    assert!(body(page).await.contains("Xin chào, <strong>an</strong>"));

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
