//! The login session over the whole router, in-process: cookies and their flags, wrong passwords,
//! the lockout and its end, idle and maximum age, logout, CSRF on the login form, on forms and on
//! the JSON API, and bearer tokens kept out of the pages.

mod login;
mod session;
mod stats;

use std::sync::Arc;

use axum::body::Body;
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::{Request, StatusCode};
use axum::response::Response;
use tower::ServiceExt;

use crate::config::Config;
use crate::domain::{Actor, ClerkRole, DossierSource};
use crate::intake::{AppState, auth, router};
use crate::repo::{ClerkRepo, DossierRepo, NewDossier, SqliteRepo, StationRepo, UnitRepo};
use crate::store::FsStore;

pub(super) const PW: &str = "mật khẩu đúng";

pub(super) struct Fixture {
    pub state: AppState,
    raw: SqliteRepo,
    pub station: String,
    _dir: tempfile::TempDir,
}

pub(super) async fn fixture(cfg: Config) -> Fixture {
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
            lookup_sha256: None,
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
    pub(super) async fn send(&self, req: Request<Body>) -> Response {
        router(self.state.clone()).oneshot(req).await.unwrap()
    }

    pub(super) async fn count(&self, sql: &str) -> i64 {
        self.raw.count_for_tests(sql).await.unwrap()
    }

    pub(super) async fn exec(&self, sql: &str) {
        self.raw.exec_for_tests(sql).await.unwrap()
    }

    /// GETs the login form: its CSRF cookie value and hidden field value.
    pub(super) async fn login_form(&self) -> (String, String) {
        let r = self
            .send(Request::get("/review/login").body(Body::empty()).unwrap())
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let cookie = set_cookie(&r, "motcua_login_csrf").expect("login CSRF cookie");
        let html = body(r).await;
        let field = attr_after(&html, "name=\"csrf\" value=\"");
        (cookie, field)
    }

    pub(super) async fn post_login(&self, cookie: Option<&str>, form: &str) -> Response {
        let mut req = Request::post("/review/login")
            .header("Content-Type", "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            req = req.header(COOKIE, format!("motcua_login_csrf={c}"));
        }
        self.send(req.body(Body::from(form.to_string())).unwrap())
            .await
    }

    pub(super) async fn login(&self, user: &str, pw: &str) -> Response {
        let (cookie, csrf) = self.login_form().await;
        let form = format!("username={user}&password={}&csrf={csrf}", urlenc(pw));
        self.post_login(Some(&cookie), &form).await
    }

    /// Logs in and returns the session cookie's value.
    pub(super) async fn session(&self, user: &str) -> String {
        let r = self.login(user, PW).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        set_cookie(&r, "motcua_session").unwrap()
    }

    pub(super) async fn get_page(&self, path: &str, cookie: &str) -> Response {
        let req = Request::get(path)
            .header(COOKIE, format!("motcua_session={cookie}"))
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    /// The session's CSRF token, as the start page shows it.
    pub(super) async fn csrf_of(&self, cookie: &str) -> String {
        let r = self.get_page("/review/", cookie).await;
        assert_eq!(r.status(), StatusCode::OK);
        attr_after(&body(r).await, "name=\"csrf-token\" content=\"")
    }

    pub(super) async fn api(
        &self,
        method: &str,
        path: &str,
        cookie: &str,
        csrf: Option<&str>,
    ) -> Response {
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

pub(super) fn urlenc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The whole `Set-Cookie` line for `name`.
pub(super) fn set_cookie_line(r: &Response, name: &str) -> Option<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with(&format!("{name}=")))
}

pub(super) fn set_cookie(r: &Response, name: &str) -> Option<String> {
    let line = set_cookie_line(r, name)?;
    let value = line.split(';').next()?.split_once('=')?.1.to_string();
    Some(value)
}

pub(super) async fn body(r: Response) -> String {
    let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    String::from_utf8(b.to_vec()).unwrap()
}

pub(super) fn attr_after(html: &str, marker: &str) -> String {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

pub(super) async fn error_code(r: Response) -> (StatusCode, String) {
    let status = r.status();
    let v: serde_json::Value = serde_json::from_str(&body(r).await).unwrap();
    (status, v["error"]["code"].as_str().unwrap().to_string())
}

pub(super) fn location(r: &Response) -> &str {
    r.headers().get(LOCATION).unwrap().to_str().unwrap()
}
