//! `GET`/`POST /review/login`: the login form, argon2 verification off the async threads, and the
//! lockout. A username with `review.max_failed_logins` failures within `review.lockout_secs` is
//! refused (429, even with the right password) until the oldest of them leaves the window.
//! Unknown usernames are verified against a dummy hash and counted like known ones, so neither
//! the timing nor the lockout tells which usernames exist.

use std::sync::OnceLock;

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::header::{LOCATION, RETRY_AFTER, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::session::{
    LOGIN_CSRF_COOKIE, LOGIN_PATH, clear_login_csrf_cookie, login_csrf_cookie, random_secret,
    session_cookie,
};
use super::{csrf_field, layout, page};
use crate::domain::{Millis, now_millis};
use crate::intake::auth::{self, SESSION_PREFIX};
use crate::intake::{AppError, AppState};

const TITLE: &str = "Đăng nhập — Trạm kiểm tra hồ sơ";
pub(super) const WRONG: &str = "Tên đăng nhập hoặc mật khẩu không đúng.";
const EXPIRED_FORM: &str = "Biểu mẫu đăng nhập đã hết hạn. Vui lòng thử lại.";
/// Longer input is refused without hashing it.
const MAX_USERNAME: usize = 100;
const MAX_PASSWORD: usize = 1024;

#[derive(Debug, Default, Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// A hash of a password nobody has, with the parameters of real ones.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| auth::hash_password(&random_secret()).expect("argon2 hashes"))
}

fn render(status: StatusCode, csrf: &str, username: &str, error: Option<&str>) -> Response {
    let body = html! {
        h1 { "Đăng nhập" }
        @if let Some(e) = error { p class="error" role="alert" { (e) } }
        form method="post" action=(LOGIN_PATH) {
            (csrf_field(csrf))
            label for="username" { "Tên đăng nhập" }
            input id="username" name="username" type="text" autocomplete="username" required
                autofocus value=(username);
            label for="password" { "Mật khẩu" }
            input id="password" name="password" type="password" autocomplete="current-password"
                required;
            button type="submit" { "Đăng nhập" }
        }
    };
    page(status, layout(TITLE, body))
}

/// The form with a fresh pre-session CSRF token (cookie + hidden field).
fn fresh_form(st: &AppState, status: StatusCode, username: &str, error: Option<&str>) -> Response {
    let csrf = random_secret();
    let mut r = render(status, &csrf, username, error);
    r.headers_mut().append(
        SET_COOKIE,
        login_csrf_cookie(&csrf, st.cfg.review.cookie_secure),
    );
    r
}

pub(super) async fn form(State(st): State<AppState>) -> Response {
    // Computes the dummy hash before the first login, so even that one is not faster.
    let _ = tokio::task::spawn_blocking(dummy_hash).await;
    fresh_form(&st, StatusCode::OK, "", None)
}

/// Until when the username is locked out, given its failures within the window, oldest first.
pub(super) fn locked_until(failures: &[Millis], max: u32, lockout_ms: Millis) -> Option<Millis> {
    let max = max as usize;
    (max > 0 && failures.len() >= max).then(|| failures[failures.len() - max] + lockout_ms)
}

pub(super) async fn submit(
    State(st): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    match try_submit(&st, &headers, form.map(|Form(f)| f).unwrap_or_default()).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn try_submit(
    st: &AppState,
    headers: &HeaderMap,
    f: LoginForm,
) -> Result<Response, AppError> {
    let cfg = &st.cfg.review;
    let username = f.username.trim().to_string();
    // Login CSRF: the form must come from our own page (cookie and field match).
    let cookie = auth::cookie(headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if !auth::secrets_equal(&f.csrf, cookie) {
        return Ok(fresh_form(
            st,
            StatusCode::FORBIDDEN,
            &username,
            Some(EXPIRED_FORM),
        ));
    }
    let wrong = || render(StatusCode::UNAUTHORIZED, &f.csrf, &username, Some(WRONG));
    if username.is_empty()
        || f.password.is_empty()
        || username.len() > MAX_USERNAME
        || f.password.len() > MAX_PASSWORD
    {
        return Ok(wrong());
    }

    let now = now_millis();
    let lockout_ms = (cfg.lockout_secs as Millis) * 1000;
    let failures = st
        .repo
        .failed_logins_since(&username, now - lockout_ms + 1)
        .await?;
    if let Some(until) = locked_until(&failures, cfg.max_failed_logins, lockout_ms) {
        metrics::counter!("motcua_login_refused_total", "reason" => "locked").increment(1);
        return Ok(locked(&f.csrf, &username, until - now));
    }

    let found = st.repo.clerk_by_username(&username).await?;
    let hash = match &found {
        Some((_, h)) => h.clone(),
        None => dummy_hash().to_string(),
    };
    let password = f.password.clone();
    let verified = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let clerk = match found {
        Some((clerk, _)) if verified => clerk,
        _ => {
            st.repo.record_failed_login(&username, now).await?;
            metrics::counter!("motcua_login_refused_total", "reason" => "wrong").increment(1);
            if failures.len() + 1 == cfg.max_failed_logins as usize {
                tracing::warn!(username, "login locked after repeated failures");
                st.repo.audit_login("login.locked", &username, now).await?;
            }
            return Ok(wrong());
        }
    };

    st.repo.clear_failed_logins(&username).await?;
    let token = auth::new_token(SESSION_PREFIX);
    st.repo
        .create_session(&auth::token_hash(&token), clerk.id, &random_secret(), now)
        .await?;
    // Sweeps what has expired meanwhile: cheap, and keeps both tables small.
    st.repo
        .delete_expired_sessions(
            now - (cfg.session_idle_secs as Millis) * 1000,
            now - (cfg.session_max_secs as Millis) * 1000,
            now - lockout_ms,
        )
        .await?;
    let mut r = StatusCode::SEE_OTHER.into_response();
    let h = r.headers_mut();
    h.insert(LOCATION, HeaderValue::from_static("/review/"));
    h.append(SET_COOKIE, session_cookie(&token, cfg.cookie_secure));
    h.append(SET_COOKIE, clear_login_csrf_cookie(cfg.cookie_secure));
    Ok(r)
}

/// 429 with when to try again.
fn locked(csrf: &str, username: &str, left_ms: Millis) -> Response {
    let secs = (left_ms.max(1000) + 999) / 1000;
    let minutes = (secs + 59) / 60;
    let msg = format!("Đăng nhập sai quá nhiều lần. Thử lại sau {minutes} phút.");
    let mut r = render(StatusCode::TOO_MANY_REQUESTS, csrf, username, Some(&msg));
    r.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
    r
}
