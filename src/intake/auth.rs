//! Credentials. Stations and citizens send `Authorization: Bearer <token>`; tokens are 32
//! random bytes, stored only as SHA-256. Clerks send `Authorization: Basic` (argon2id hashes).
//! No header: the anonymous portal, which may only create dossiers — unless the request carries
//! the web review UI's session cookie ([`SESSION_COOKIE`]): then the caller is that clerk, and a
//! state-changing method must echo the session's CSRF token in [`CSRF_HEADER`].

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::AppError;
use crate::domain::{Actor, Dossier, Millis, now_millis};
use crate::repo::SessionInfo;

/// Station tokens start with this, citizen upload tokens with [`CITIZEN_PREFIX`]: the prefix
/// says which table to look in (and lets secret scanners recognise a leaked token).
pub const STATION_PREFIX: &str = "mcs_";
pub const CITIZEN_PREFIX: &str = "mcc_";
/// Web session tokens (cookie only: as a bearer token it is unknown, 401).
pub const SESSION_PREFIX: &str = "mcw_";
/// The web review UI's session cookie.
pub const SESSION_COOKIE: &str = "motcua_session";
/// Header carrying the session's CSRF token on state-changing fetches.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A session's `last_seen` is written at most this often (every request would be a write).
const TOUCH_EVERY_MS: Millis = 15_000;

pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut raw = [0u8; 16];
    rand::rng().fill_bytes(&mut raw);
    let salt = SaltString::encode_b64(&raw).map_err(|e| e.to_string())?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// The value of cookie `name`, from any `Cookie` header of the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// Constant-time equality of two secrets (CSRF tokens); an empty one never matches.
pub fn secrets_equal(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    !a.is_empty() && a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The open session the request's cookie names, with its token hash; `None` without a cookie or
/// when the session is unknown or expired. An expired session (idle longer than
/// `review.session_idle_secs`, or older than `review.session_max_secs`) is deleted; a live one
/// is touched.
pub async fn cookie_session(
    headers: &HeaderMap,
    st: &AppState,
) -> Result<Option<(String, SessionInfo)>, AppError> {
    let Some(token) = cookie(headers, SESSION_COOKIE).filter(|t| t.starts_with(SESSION_PREFIX))
    else {
        return Ok(None);
    };
    let hash = token_hash(token);
    let Some(s) = st.repo.session(&hash).await? else {
        return Ok(None);
    };
    let now = now_millis();
    let r = &st.cfg.review;
    let idle = now - s.last_seen > (r.session_idle_secs as Millis) * 1000;
    let old = now - s.created_at > (r.session_max_secs as Millis) * 1000;
    if idle || old {
        let reason = if idle { "idle" } else { "max_age" };
        st.repo.delete_session(&hash, reason, now).await?;
        return Ok(None);
    }
    if now - s.last_seen >= TOUCH_EVERY_MS {
        st.repo.touch_session(&hash, now).await?;
    }
    Ok(Some((hash, s)))
}

/// The clerk of the session cookie; state-changing methods need the session's CSRF token.
async fn session_actor(parts: &Parts, st: &AppState) -> Result<Auth, AppError> {
    let Some((_, s)) = cookie_session(&parts.headers, st).await? else {
        return Err(AppError::Unauthorized);
    };
    if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !secrets_equal(sent, &s.csrf) {
            return Err(AppError::CsrfFailed);
        }
    }
    Ok(Auth(Actor::Clerk {
        id: s.clerk.id,
        unit: s.clerk.unit,
    }))
}

/// The caller, from the `Authorization` header (or the web session cookie without one). Unknown credentials are 401, never anonymous.
pub struct Auth(pub Actor);

impl FromRequestParts<AppState> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, AppError> {
        let Some(value) = parts.headers.get(AUTHORIZATION) else {
            if cookie(&parts.headers, SESSION_COOKIE).is_some() {
                return session_actor(parts, st).await;
            }
            return Ok(Auth(Actor::Anonymous));
        };
        let value = value.to_str().map_err(|_| AppError::Unauthorized)?;
        if let Some(token) = scheme(value, "Bearer") {
            let token = token.trim();
            let hash = token_hash(token);
            if token.starts_with(STATION_PREFIX) {
                if let Some(s) = st.repo.station_by_token(&hash).await? {
                    return Ok(Auth(Actor::Station {
                        id: s.id,
                        unit: s.unit_id,
                    }));
                }
            } else if token.starts_with(CITIZEN_PREFIX)
                && let Some(d) = st.repo.dossier_by_citizen_token(&hash).await?
            {
                return Ok(Auth(Actor::Citizen { dossier: d }));
            }
            return Err(AppError::Unauthorized);
        }
        if let Some(b64) = scheme(value, "Basic") {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|_| AppError::Unauthorized)?;
            let raw = String::from_utf8(raw).map_err(|_| AppError::Unauthorized)?;
            let (user, password) = raw.split_once(':').ok_or(AppError::Unauthorized)?;
            let Some((clerk, hash)) = st.repo.clerk_by_username(user).await? else {
                return Err(AppError::Unauthorized);
            };
            // argon2 is deliberately slow: keep it off the async threads.
            let password = password.to_string();
            let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?;
            if ok {
                return Ok(Auth(Actor::Clerk {
                    id: clerk.id,
                    unit: clerk.unit_id,
                }));
            }
        }
        Err(AppError::Unauthorized)
    }
}

/// The credentials after an auth scheme, whose name is case-insensitive (RFC 9110 §11.1).
fn scheme<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    let (given, rest) = value.split_once(' ')?;
    given.eq_ignore_ascii_case(name).then_some(rest)
}

/// May `actor` read this dossier and upload into it? Stations and clerks: dossiers of their
/// unit; citizens: their one dossier.
pub fn check_dossier_access(actor: &Actor, d: &Dossier) -> Result<(), AppError> {
    match actor {
        Actor::Station { unit, .. } | Actor::Clerk { unit, .. } if *unit == d.unit_id => Ok(()),
        Actor::Station { .. } | Actor::Clerk { .. } => {
            Err(AppError::Forbidden("the dossier belongs to another unit"))
        }
        Actor::Citizen { dossier } if *dossier == d.id => Ok(()),
        Actor::Citizen { .. } => Err(AppError::Forbidden(
            "the upload token is for another dossier",
        )),
        Actor::Anonymous => Err(AppError::Unauthorized),
        Actor::Worker(_) | Actor::Admin => Err(AppError::Forbidden("not an API caller")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ClerkId, DossierId, StationId, UnitId};

    #[test]
    fn tokens_are_random_and_hashes_stable() {
        let a = new_token(STATION_PREFIX);
        let b = new_token(STATION_PREFIX);
        assert_ne!(a, b);
        assert_eq!(a.len(), STATION_PREFIX.len() + 64);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), a);
    }

    #[test]
    fn cookies_are_found_by_name_and_secrets_compared_whole() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, "a=1; motcua_session=mcw_x ; b=2".parse().unwrap());
        h.append(COOKIE, "c=3".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("mcw_x"));
        assert_eq!(cookie(&h, "c"), Some("3"));
        assert_eq!(cookie(&h, "motcua"), None);
        assert!(secrets_equal("abc", "abc"));
        assert!(!secrets_equal("abc", "abd"));
        assert!(!secrets_equal("abc", "ab"));
        assert!(!secrets_equal("", ""));
    }

    #[test]
    fn passwords_verify_against_argon2_hashes() {
        let h = hash_password("mật khẩu").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("mật khẩu", &h));
        assert!(!verify_password("mat khau", &h));
    }

    #[test]
    fn access_is_scoped_to_unit_or_dossier() {
        let d = Dossier {
            id: DossierId(5),
            code: "A-1".into(),
            unit_id: UnitId(1),
            unit_code: "A".into(),
            procedure: "p".into(),
            status: "open".into(),
            source: "station".into(),
            created_at: 0,
            state_since: 0,
        };
        let st = |u| Actor::Station {
            id: StationId(1),
            unit: UnitId(u),
        };
        assert!(check_dossier_access(&st(1), &d).is_ok());
        assert_eq!(
            check_dossier_access(&st(2), &d).unwrap_err().code(),
            "forbidden"
        );
        let clerk = Actor::Clerk {
            id: ClerkId(1),
            unit: UnitId(2),
        };
        assert!(check_dossier_access(&clerk, &d).is_err());
        assert!(
            check_dossier_access(
                &Actor::Citizen {
                    dossier: DossierId(5)
                },
                &d
            )
            .is_ok()
        );
        assert!(
            check_dossier_access(
                &Actor::Citizen {
                    dossier: DossierId(6)
                },
                &d
            )
            .is_err()
        );
        assert_eq!(
            check_dossier_access(&Actor::Anonymous, &d)
                .unwrap_err()
                .code(),
            "unauthorized"
        );
    }
}
