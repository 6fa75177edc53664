//! Credentials. Stations and citizens send `Authorization: Bearer <token>`; tokens are 32
//! random bytes, stored only as SHA-256. Clerks send `Authorization: Basic` (argon2id hashes).
//! No header: the anonymous portal, which may only create dossiers.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::AppError;
use crate::domain::{Actor, Dossier};

/// Station tokens start with this, citizen upload tokens with [`CITIZEN_PREFIX`]: the prefix
/// says which table to look in (and lets secret scanners recognise a leaked token).
pub const STATION_PREFIX: &str = "mcs_";
pub const CITIZEN_PREFIX: &str = "mcc_";

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

/// The caller, from the `Authorization` header. Unknown credentials are 401, never anonymous.
pub struct Auth(pub Actor);

impl FromRequestParts<AppState> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, AppError> {
        let Some(value) = parts.headers.get(AUTHORIZATION) else {
            return Ok(Auth(Actor::Anonymous));
        };
        let value = value.to_str().map_err(|_| AppError::Unauthorized)?;
        if let Some(token) = value.strip_prefix("Bearer ") {
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
        if let Some(b64) = value.strip_prefix("Basic ") {
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
