//! The clerk's web session: the [`ClerkSession`] extractor (cookie only — station and citizen
//! bearer tokens never open a page), CSRF checks, and the cookies themselves.

use axum::extract::FromRequestParts;
use axum::http::header::ACCEPT;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore;

use crate::intake::auth::{self, CSRF_HEADER, SESSION_COOKIE};
use crate::intake::{AppError, AppState};
use crate::repo::ClerkRef;

/// Where a page sends a caller without a session.
pub const LOGIN_PATH: &str = "/review/login";
/// The pre-session CSRF cookie of the login form (double submit: cookie and hidden field).
pub const LOGIN_CSRF_COOKIE: &str = "motcua_login_csrf";

/// A logged-in clerk, from the `motcua_session` cookie.
#[derive(Debug, Clone)]
pub struct ClerkSession {
    pub clerk: ClerkRef,
    pub username: String,
    pub admin: bool,
    /// Every state-changing form (hidden field `csrf`) or fetch (`X-CSRF-Token`) must carry it.
    pub csrf: String,
    pub(crate) token_sha256: String,
}

impl ClerkSession {
    /// A dossier of the clerk's unit; another unit's is "not found", so codes of other
    /// communes cannot be probed.
    pub async fn own_dossier(
        &self,
        st: &AppState,
        code: &str,
    ) -> Result<crate::domain::Dossier, AppError> {
        st.repo
            .dossier_by_code(code)
            .await?
            .filter(|d| d.unit_id == self.clerk.unit)
            .ok_or(AppError::NotFound("dossier"))
    }
}

/// No (live) session: pages go to the login form, JSON callers get 401.
#[derive(Debug)]
pub enum SessionRejection {
    Login,
    Api(AppError),
}

impl IntoResponse for SessionRejection {
    fn into_response(self) -> Response {
        match self {
            SessionRejection::Login => Redirect::to(LOGIN_PATH).into_response(),
            SessionRejection::Api(e) => e.into_response(),
        }
    }
}

fn wants_json(parts: &Parts) -> bool {
    parts.uri.path().starts_with("/api/")
        || parts
            .headers
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/json"))
}

impl FromRequestParts<AppState> for ClerkSession {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let json = wants_json(parts);
        let reject = |e: Option<AppError>| match (json, e) {
            (true, e) => SessionRejection::Api(e.unwrap_or(AppError::Unauthorized)),
            (false, Some(e)) => SessionRejection::Api(e),
            (false, None) => SessionRejection::Login,
        };
        match auth::cookie_session(&parts.headers, st).await {
            Ok(Some((token_sha256, s))) => Ok(ClerkSession {
                clerk: s.clerk,
                username: s.username,
                admin: s.admin,
                csrf: s.csrf,
                token_sha256,
            }),
            Ok(None) => Err(reject(None)),
            Err(e) => Err(reject(Some(e))),
        }
    }
}

/// Does the request carry the session's CSRF token, in the `X-CSRF-Token` header or in the
/// form's `csrf` field? Constant-time.
pub fn csrf_ok(session: &ClerkSession, headers: &HeaderMap, form_value: Option<&str>) -> bool {
    let header = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    [header, form_value]
        .into_iter()
        .flatten()
        .any(|sent| auth::secrets_equal(sent, &session.csrf))
}

/// 32 random bytes, hex: CSRF tokens.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn cookie(name: &str, value: &str, path: &str, secure: bool, clear: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; HttpOnly; SameSite=Strict; Path={path}");
    if secure {
        c.push_str("; Secure");
    }
    if clear {
        c.push_str("; Max-Age=0");
    }
    // Tokens are hex with an ASCII prefix: always a valid header value.
    HeaderValue::from_str(&c).expect("cookie is ASCII")
}

pub fn session_cookie(token: &str, secure: bool) -> HeaderValue {
    cookie(SESSION_COOKIE, token, "/", secure, false)
}

pub fn clear_session_cookie(secure: bool) -> HeaderValue {
    cookie(SESSION_COOKIE, "", "/", secure, true)
}

pub fn login_csrf_cookie(token: &str, secure: bool) -> HeaderValue {
    cookie(LOGIN_CSRF_COOKIE, token, LOGIN_PATH, secure, false)
}

pub fn clear_login_csrf_cookie(secure: bool) -> HeaderValue {
    cookie(LOGIN_CSRF_COOKIE, "", LOGIN_PATH, secure, true)
}
