//! The clerks' web review UI (server-rendered HTML, Vietnamese). Pages need a login session
//! ([`session::ClerkSession`], cookie `motcua_session`); station and citizen tokens never open
//! them. Every state-changing form carries the session's CSRF token; the login form a
//! pre-session one (double submit), so a foreign site cannot log a clerk in either.
//!
//! | route | |
//! | --- | --- |
//! | `GET`/`POST /review/login` | the login form; argon2 check, lockout after repeated failures |
//! | `POST /review/logout` | ends the session (CSRF-checked) |
//! | `GET /review/` | inbox: the unit's dossiers oldest first, counts, filters |
//! | `POST /review/next` | take the next dossier and open it |
//! | `GET /review/stats?days=` | unit admins: the unit's review productivity |
//! | `GET /review/dossiers/{code}` | the review screen (takes the claim when free) |
//! | `GET /review/dossiers/{code}/pages/{attachment}/{page}?w=` | page preview (JPEG, ETag) |
//! | `GET`, `POST /status/{code}` | the citizen's status page (upload token in a form) |
//!
//! Every change a clerk makes on the review screen goes through the same JSON API as other
//! clients (`assets/review.js`, with the session cookie and `X-CSRF-Token`).
//!
//! HTML is written with `maud`: compile-time templates, every interpolated value escaped.

mod assets;
mod flags;
mod inbox;
mod layout;
mod login;
mod messages;
mod preview;
mod screen;
pub mod session;
mod stats;
mod status;
#[cfg(test)]
mod tests;

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, SET_COOKIE, X_FRAME_OPTIONS};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

use crate::domain::now_millis;
use crate::intake::AppState;
use session::{ClerkSession, LOGIN_PATH, SessionRejection, clear_session_cookie, csrf_ok};

/// The web UI's routes, merged into [`crate::intake::router`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(LOGIN_PATH, get(login::form).post(login::submit))
        .route("/review/logout", post(logout))
        .route("/review", get(|| async { Redirect::permanent("/review/") }))
        .route("/review/", get(inbox::inbox))
        .route("/review/next", post(inbox::take_next))
        .route("/review/stats", get(stats::stats))
        .route("/review/dossiers/{code}", get(screen::screen))
        .route(
            "/review/dossiers/{code}/pages/{att}/{idx}",
            get(preview::page_preview),
        )
        .route("/status/{code}", get(status::ask).post(status::show))
        .route(assets::CSS_PATH, get(assets::css))
        .route(assets::JS_PATH, get(assets::js))
        .layer(axum::middleware::map_response(harden))
}

/// Every HTML page: never cached (it shows who is logged in and what they may see), never framed
/// (clickjacking), and only our own script, styles and images. Pages that set their own policy
/// keep it; assets and previews keep their caching.
async fn harden(mut r: Response) -> Response {
    let html = r
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if html {
        let h = r.headers_mut();
        h.entry(CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
        h.entry(X_FRAME_OPTIONS)
            .or_insert(HeaderValue::from_static("DENY"));
        // Inline style attributes place the field boxes; no inline script runs.
        h.entry(CONTENT_SECURITY_POLICY)
            .or_insert(HeaderValue::from_static(
                "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
             base-uri 'none'",
            ));
    }
    r
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2430}\
main{max-width:26rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;\
box-shadow:0 1px 4px #0002}label{display:block;margin-top:1rem}input{width:100%;\
box-sizing:border-box;padding:.5rem;font-size:1rem}button{margin-top:1.5rem;padding:.6rem 1.2rem;\
font-size:1rem}.error{color:#a11;background:#fdecec;padding:.6rem;border-radius:4px}";

/// A whole page.
fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="vi" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body { main { (body) } }
        }
    }
}

/// A page response: never cached (it shows who is logged in), never framed (clickjacking).
fn page(status: StatusCode, markup: Markup) -> Response {
    let mut r = (status, markup).into_response();
    let h = r.headers_mut();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    r
}

/// A hidden `csrf` field and the form it belongs to.
fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// A form carrying only the CSRF token (logout).
#[derive(Debug, Default, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: Option<String>,
}

async fn logout(
    State(st): State<AppState>,
    session: Result<ClerkSession, SessionRejection>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let secure = st.cfg.review.cookie_secure;
    let session = match session {
        Ok(s) => s,
        // Already ended (expired, or another tab): just forget the cookie.
        Err(SessionRejection::Login) => {
            return (
                [(SET_COOKIE, clear_session_cookie(secure))],
                Redirect::to(LOGIN_PATH),
            )
                .into_response();
        }
        Err(e) => return e.into_response(),
    };
    let sent = form.ok().and_then(|Form(f)| f.csrf);
    if !csrf_ok(&session, &headers, sent.as_deref()) {
        return forbidden_page();
    }
    if let Err(e) = st
        .repo
        .delete_session(&session.token_sha256, "logout", now_millis())
        .await
    {
        return crate::intake::AppError::from(e).into_response();
    }
    (
        [(SET_COOKIE, clear_session_cookie(secure))],
        Redirect::to(LOGIN_PATH),
    )
        .into_response()
}

/// 403 for a form without the right CSRF token.
fn forbidden_page() -> Response {
    let body = html! {
        h1 { "Yêu cầu không hợp lệ" }
        p class="error" { "Biểu mẫu đã hết hạn hoặc không hợp lệ. Vui lòng tải lại trang và thử lại." }
        p { a href="/review/" { "Quay lại" } }
    };
    page(StatusCode::FORBIDDEN, layout("Yêu cầu không hợp lệ", body))
}
