//! Clerk login sessions of the web review UI, and failed logins for the lockout. A session is
//! found by the SHA-256 of its cookie; idle expiry and the maximum age are decided by the caller
//! from `last_seen` and `created_at` (config may change while sessions are open).
//!
//! The SQL is the same on both backends (`$N` parameters work on SQLite too): written once in
//! [`sessions_backend!`], expanded for each.

use async_trait::async_trait;

use super::{ClerkRef, RepoResult};
use crate::domain::{ClerkId, Millis};

/// An open session, as looked up by its token hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub clerk: ClerkRef,
    pub username: String,
    /// The clerk administers their unit (sees its productivity).
    pub admin: bool,
    pub csrf: String,
    pub created_at: Millis,
    pub last_seen: Millis,
}

#[async_trait]
pub trait SessionRepo: Send + Sync {
    /// Opens a session for the clerk (audited as `session.login`).
    async fn create_session(
        &self,
        token_sha256: &str,
        clerk: ClerkId,
        csrf: &str,
        now: Millis,
    ) -> RepoResult<()>;
    async fn session(&self, token_sha256: &str) -> RepoResult<Option<SessionInfo>>;
    /// Records activity; false when the session is gone.
    async fn touch_session(&self, token_sha256: &str, now: Millis) -> RepoResult<bool>;
    /// Ends the session (logout, or expired); false when there was none. `reason` goes into the
    /// audit row (`session.end`).
    async fn delete_session(
        &self,
        token_sha256: &str,
        reason: &str,
        now: Millis,
    ) -> RepoResult<bool>;
    /// Deletes sessions idle since before `idle_before` or opened before `created_before`, and
    /// failed logins older than `failures_before`; how many sessions.
    async fn delete_expired_sessions(
        &self,
        idle_before: Millis,
        created_before: Millis,
        failures_before: Millis,
    ) -> RepoResult<u64>;
    async fn record_failed_login(&self, username: &str, now: Millis) -> RepoResult<()>;
    async fn clear_failed_logins(&self, username: &str) -> RepoResult<()>;
    /// Times of the username's failed logins at or after `since`, oldest first.
    async fn failed_logins_since(&self, username: &str, since: Millis) -> RepoResult<Vec<Millis>>;
    /// An audit row for a login event that is not tied to a session (`login.locked`).
    async fn audit_login(&self, action: &str, username: &str, now: Millis) -> RepoResult<()>;
}

/// `sessions_backend!(Repo, begin_method)`: `impl SessionRepo` with the backend's transactions.
macro_rules! sessions_backend {
    ($repo:ty, $begin:ident) => {
        #[async_trait::async_trait]
        impl crate::repo::SessionRepo for $repo {
            async fn create_session(
                &self,
                token_sha256: &str,
                clerk: crate::domain::ClerkId,
                csrf: &str,
                now: crate::domain::Millis,
            ) -> crate::repo::RepoResult<()> {
                let mut tx = self.$begin().await?;
                sqlx::query(
                    "INSERT INTO sessions (token_sha256, clerk_id, csrf, created_at, last_seen)
                     VALUES ($1, $2, $3, $4, $4)",
                )
                .bind(token_sha256)
                .bind(clerk.0)
                .bind(csrf)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO audit (at, actor, action, unit_id, detail)
                     VALUES ($1, $2, 'session.login', (SELECT unit_id FROM clerks WHERE id = $3), NULL)",
                )
                .bind(now)
                .bind(format!("clerk:{}", clerk.0))
                .bind(clerk.0)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn session(
                &self,
                token_sha256: &str,
            ) -> crate::repo::RepoResult<Option<crate::repo::SessionInfo>> {
                let mut tx = self.$begin().await?;
                let row: Option<(i64, i64, String, String, String, i64, i64)> = sqlx::query_as(
                    "SELECT c.id, c.unit_id, c.username, c.role, s.csrf, s.created_at, s.last_seen
                     FROM sessions s JOIN clerks c ON c.id = s.clerk_id
                     WHERE s.token_sha256 = $1",
                )
                .bind(token_sha256)
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(row.map(|(id, unit, username, role, csrf, created_at, last_seen)| {
                    crate::repo::SessionInfo {
                        clerk: crate::repo::ClerkRef {
                            id: crate::domain::ClerkId(id),
                            unit: crate::domain::UnitId(unit),
                        },
                        username,
                        admin: crate::domain::ClerkRole::from_db(&role) == crate::domain::ClerkRole::Admin,
                        csrf,
                        created_at,
                        last_seen,
                    }
                }))
            }

            async fn touch_session(
                &self,
                token_sha256: &str,
                now: crate::domain::Millis,
            ) -> crate::repo::RepoResult<bool> {
                let mut tx = self.$begin().await?;
                let n = sqlx::query(
                    "UPDATE sessions SET last_seen = $1 WHERE token_sha256 = $2 AND last_seen < $1",
                )
                .bind(now)
                .bind(token_sha256)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let exists = n > 0
                    || sqlx::query_scalar::<_, i64>(
                        "SELECT COUNT(*) FROM sessions WHERE token_sha256 = $1",
                    )
                    .bind(token_sha256)
                    .fetch_one(&mut *tx)
                    .await?
                        > 0;
                tx.commit().await?;
                Ok(exists)
            }

            async fn delete_session(
                &self,
                token_sha256: &str,
                reason: &str,
                now: crate::domain::Millis,
            ) -> crate::repo::RepoResult<bool> {
                let mut tx = self.$begin().await?;
                let clerk: Option<i64> = sqlx::query_scalar(
                    "DELETE FROM sessions WHERE token_sha256 = $1 RETURNING clerk_id",
                )
                .bind(token_sha256)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(clerk) = clerk {
                    sqlx::query(
                        "INSERT INTO audit (at, actor, action, unit_id, detail)
                         VALUES ($1, $2, 'session.end',
                                 (SELECT unit_id FROM clerks WHERE id = $3), $4)",
                    )
                    .bind(now)
                    .bind(format!("clerk:{clerk}"))
                    .bind(clerk)
                    .bind(serde_json::json!({ "reason": reason }).to_string())
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(clerk.is_some())
            }

            async fn delete_expired_sessions(
                &self,
                idle_before: crate::domain::Millis,
                created_before: crate::domain::Millis,
                failures_before: crate::domain::Millis,
            ) -> crate::repo::RepoResult<u64> {
                let mut tx = self.$begin().await?;
                sqlx::query("DELETE FROM login_failures WHERE at < $1")
                    .bind(failures_before)
                    .execute(&mut *tx)
                    .await?;
                let n = sqlx::query("DELETE FROM sessions WHERE last_seen < $1 OR created_at < $2")
                    .bind(idle_before)
                    .bind(created_before)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(n)
            }

            async fn record_failed_login(
                &self,
                username: &str,
                now: crate::domain::Millis,
            ) -> crate::repo::RepoResult<()> {
                let mut tx = self.$begin().await?;
                sqlx::query("INSERT INTO login_failures (username, at) VALUES ($1, $2)")
                    .bind(username)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn clear_failed_logins(&self, username: &str) -> crate::repo::RepoResult<()> {
                let mut tx = self.$begin().await?;
                sqlx::query("DELETE FROM login_failures WHERE username = $1")
                    .bind(username)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn failed_logins_since(
                &self,
                username: &str,
                since: crate::domain::Millis,
            ) -> crate::repo::RepoResult<Vec<crate::domain::Millis>> {
                let mut tx = self.$begin().await?;
                let times = sqlx::query_scalar(
                    "SELECT at FROM login_failures WHERE username = $1 AND at >= $2 ORDER BY at",
                )
                .bind(username)
                .bind(since)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(times)
            }

            async fn audit_login(
                &self,
                action: &str,
                username: &str,
                now: crate::domain::Millis,
            ) -> crate::repo::RepoResult<()> {
                let mut tx = self.$begin().await?;
                sqlx::query(
                    "INSERT INTO audit (at, actor, action, unit_id, detail)
                     VALUES ($1, 'web', $2, (SELECT unit_id FROM clerks WHERE username = $3), $4)",
                )
                .bind(now)
                .bind(action)
                .bind(username)
                .bind(serde_json::json!({ "username": username }).to_string())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

sessions_backend!(crate::repo::SqliteRepo, write_tx);
sessions_backend!(crate::repo::PgRepo, tx);
