//! SQLite backend: one file in WAL mode (readers never wait for the writer), `busy_timeout` for
//! writers, `synchronous = FULL` so that a committed upload survives power loss before its 202.
//! Every write transaction starts with `BEGIN IMMEDIATE`: taking the write lock up front means
//! two writers queue on `busy_timeout` instead of failing on a read→write upgrade.

mod dossiers;
mod fields;
mod jobs;

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::rows::Audit;
use super::{ClerkRepo, Repo, RepoError, RepoResult, StationRepo, UnitRepo};
use crate::config::SqliteConfig;
use crate::domain::{
    Actor, Clerk, ClerkId, ClerkRole, Station, StationId, Unit, UnitId, now_millis,
};

#[derive(Clone)]
pub struct SqliteRepo {
    pub(in crate::repo) pool: SqlitePool,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

impl SqliteRepo {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(path: &Path, cfg: &SqliteConfig) -> RepoResult<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| RepoError::Db(format!("cannot create {}: {e}", dir.display())))?;
        }
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_millis(cfg.busy_timeout_ms))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(cfg.max_connections)
            .connect_with(opts)
            .await?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| RepoError::Db(format!("migration failed: {e}")))?;
        Ok(Self { pool })
    }

    /// A private in-memory database (unit tests).
    pub async fn in_memory() -> RepoResult<Self> {
        let opts = SqliteConnectOptions::new()
            .in_memory(true)
            .foreign_keys(true);
        // One connection: every connection to `:memory:` would be a different database.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| RepoError::Db(format!("migration failed: {e}")))?;
        Ok(Self { pool })
    }

    #[cfg(test)]
    pub(crate) async fn exec_for_tests(&self, sql: &str) -> RepoResult<()> {
        sqlx::query(sql).execute(&self.pool).await?;
        Ok(())
    }

    #[cfg(test)]
    pub(crate) async fn count_for_tests(&self, sql: &str) -> RepoResult<i64> {
        Ok(sqlx::query_scalar(sql).fetch_one(&self.pool).await?)
    }

    pub(in crate::repo) async fn write_tx(&self) -> RepoResult<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

impl Audit<'_> {
    pub(super) async fn insert(&self, tx: &mut Transaction<'static, Sqlite>) -> RepoResult<()> {
        sqlx::query(
            "INSERT INTO audit (at, actor, action, unit_id, dossier_id, attachment_id, detail)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(now_millis())
        .bind(self.actor.label())
        .bind(self.action)
        .bind(self.unit.map(|u| u.0))
        .bind(self.dossier.map(|d| d.0))
        .bind(self.attachment.map(|a| a.0))
        .bind(&self.detail)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl UnitRepo for SqliteRepo {
    async fn create_unit(&self, code: &str, name: &str, province: &str) -> RepoResult<Unit> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO units (code, name, province, created_at) VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(code)
        .bind(name)
        .bind(province)
        .bind(now_millis())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match RepoError::from(e) {
            RepoError::Conflict(_) => RepoError::Conflict(format!("unit {code}")),
            e => e,
        })?;
        Audit {
            actor: &Actor::Admin,
            action: "unit.create",
            unit: Some(UnitId(id)),
            dossier: None,
            attachment: None,
            detail: Some(code.to_string()),
        }
        .insert(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(Unit {
            id: UnitId(id),
            code: code.into(),
            name: name.into(),
            province: province.into(),
        })
    }

    async fn unit_by_code(&self, code: &str) -> RepoResult<Option<Unit>> {
        let row: Option<(i64, String, String, String)> =
            sqlx::query_as("SELECT id, code, name, province FROM units WHERE code = ?")
                .bind(code)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(id, code, name, province)| Unit {
            id: UnitId(id),
            code,
            name,
            province,
        }))
    }

    async fn unit_by_id(&self, id: UnitId) -> RepoResult<Option<Unit>> {
        let row: Option<(i64, String, String, String)> =
            sqlx::query_as("SELECT id, code, name, province FROM units WHERE id = ?")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(id, code, name, province)| Unit {
            id: UnitId(id),
            code,
            name,
            province,
        }))
    }
}

#[async_trait]
impl StationRepo for SqliteRepo {
    async fn create_station(
        &self,
        unit: UnitId,
        name: &str,
        token_sha256: &str,
    ) -> RepoResult<Station> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO stations (unit_id, name, token_sha256, created_at) VALUES (?, ?, ?, ?)
             RETURNING id",
        )
        .bind(unit.0)
        .bind(name)
        .bind(token_sha256)
        .bind(now_millis())
        .fetch_one(&mut *tx)
        .await?;
        Audit {
            actor: &Actor::Admin,
            action: "station.create",
            unit: Some(unit),
            dossier: None,
            attachment: None,
            detail: Some(name.to_string()),
        }
        .insert(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(Station {
            id: StationId(id),
            unit_id: unit,
            name: name.into(),
        })
    }

    async fn station_by_token(&self, token_sha256: &str) -> RepoResult<Option<Station>> {
        let row: Option<(i64, i64, String)> = sqlx::query_as(
            "SELECT id, unit_id, name FROM stations WHERE token_sha256 = ? AND revoked_at IS NULL",
        )
        .bind(token_sha256)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(id, unit, name)| Station {
            id: StationId(id),
            unit_id: UnitId(unit),
            name,
        }))
    }
}

#[async_trait]
impl ClerkRepo for SqliteRepo {
    async fn create_clerk(
        &self,
        unit: UnitId,
        username: &str,
        role: ClerkRole,
        password_hash: &str,
    ) -> RepoResult<Clerk> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO clerks (unit_id, username, role, password_hash, created_at)
             VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(unit.0)
        .bind(username)
        .bind(role.as_str())
        .bind(password_hash)
        .bind(now_millis())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match RepoError::from(e) {
            RepoError::Conflict(_) => RepoError::Conflict(format!("clerk {username}")),
            e => e,
        })?;
        Audit {
            actor: &Actor::Admin,
            action: "clerk.create",
            unit: Some(unit),
            dossier: None,
            attachment: None,
            detail: Some(username.to_string()),
        }
        .insert(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(Clerk {
            id: ClerkId(id),
            unit_id: unit,
            username: username.into(),
            role,
        })
    }

    async fn clerk_by_username(&self, username: &str) -> RepoResult<Option<(Clerk, String)>> {
        let row: Option<(i64, i64, String, String, String)> = sqlx::query_as(
            "SELECT id, unit_id, username, role, password_hash FROM clerks WHERE username = ?",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(id, unit, username, role, hash)| {
            let role = ClerkRole::from_db(&role);
            (
                Clerk {
                    id: ClerkId(id),
                    unit_id: UnitId(unit),
                    username,
                    role,
                },
                hash,
            )
        }))
    }
}

#[async_trait]
impl Repo for SqliteRepo {
    async fn ping(&self) -> RepoResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
