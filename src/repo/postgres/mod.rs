//! PostgreSQL backend: many API and worker processes on several hosts share one database.
//! Claims lock one job row with `FOR UPDATE SKIP LOCKED`, so concurrent claimers never wait on
//! each other nor get the same job; a committed enqueue sends `NOTIFY motcua_jobs`, and idle
//! workers listening on it wake at once ([`listen`]). Connection trouble is
//! [`RepoError::Unavailable`] (the API answers 503), and no request waits longer than
//! `db.acquire_timeout_ms` for a connection.

mod dossiers;
mod fields;
mod jobs;
mod listen;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool, Postgres, Transaction};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::rows::Audit;
use super::{ClerkRepo, Repo, RepoError, RepoResult, StationRepo, UnitRepo};
use crate::config::PostgresConfig;
use crate::domain::{
    Actor, Clerk, ClerkId, ClerkRole, Station, StationId, Unit, UnitId, now_millis,
};

/// Channel of "a job was queued" notifications; the payload is the unit id.
pub const JOBS_CHANNEL: &str = "motcua_jobs";

#[derive(Clone)]
pub struct PgRepo {
    pub(in crate::repo) pool: PgPool,
    listen: bool,
    reconnect_max: Duration,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

fn migration_error(e: sqlx::migrate::MigrateError) -> RepoError {
    match e {
        // The server went away: unavailable, not a broken schema.
        sqlx::migrate::MigrateError::Execute(e) => match RepoError::from(e) {
            RepoError::Unavailable(m) => RepoError::Unavailable(m),
            e => RepoError::Db(format!("migration failed: {e}")),
        },
        e => RepoError::Db(format!("migration failed: {e}")),
    }
}

impl PgRepo {
    /// Connects and applies pending migrations (several processes may start at once: the
    /// migrator serializes them with an advisory lock).
    pub async fn open(cfg: &PostgresConfig) -> RepoResult<Self> {
        let mut opts: PgConnectOptions = cfg
            .url
            .parse()
            .map_err(|e| RepoError::Db(format!("invalid db.url: {e}")))?;
        opts = opts.application_name("motcua");
        if cfg.statement_timeout_ms > 0 {
            let ms = cfg.statement_timeout_ms.to_string();
            opts = opts.options([("statement_timeout", ms.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(cfg.max_connections)
            .acquire_timeout(Duration::from_millis(cfg.acquire_timeout_ms))
            .connect_with(opts)
            .await?;
        MIGRATOR.run(&pool).await.map_err(migration_error)?;
        Ok(Self {
            pool,
            listen: cfg.listen,
            reconnect_max: Duration::from_millis(cfg.reconnect_max_ms),
        })
    }

    /// Creates an empty database with a unique name (`PREFIX_<random>`) on the server `url`
    /// points at and returns `url` with that database: tests get a database each.
    pub async fn scratch_database(url: &str, prefix: &str) -> RepoResult<String> {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let opts: PgConnectOptions = url
            .parse()
            .map_err(|e| RepoError::Db(format!("invalid URL: {e}")))?;
        let mut conn = sqlx::PgConnection::connect_with(&opts).await?;
        // A name cannot be a bind parameter; this one is ours (letters, digits, `_`).
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        Ok(with_database(url, &name))
    }

    pub(in crate::repo) async fn tx(&self) -> RepoResult<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
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
}

/// `url` with its database (path) replaced by `db`; the query string is kept.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let end = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    format!("{}/{db}{query}", &base[..end])
}

/// Tells listening workers that jobs of `unit` were queued; delivered when `tx` commits, not
/// at all if it rolls back.
async fn notify_jobs(tx: &mut Transaction<'static, Postgres>, unit: UnitId) -> RepoResult<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(JOBS_CHANNEL)
        .bind(unit.0.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Audit<'_> {
    async fn insert_pg(&self, tx: &mut Transaction<'static, Postgres>) -> RepoResult<()> {
        sqlx::query(
            "INSERT INTO audit (at, actor, action, unit_id, dossier_id, attachment_id, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
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

/// A unique violation named after what was being created.
fn conflict(what: String) -> impl FnOnce(sqlx::Error) -> RepoError {
    move |e| match RepoError::from(e) {
        RepoError::Conflict(_) => RepoError::Conflict(what),
        e => e,
    }
}

type UnitRow = (i64, String, String, String);

fn unit(r: UnitRow) -> Unit {
    let (id, code, name, province) = r;
    Unit {
        id: UnitId(id),
        code,
        name,
        province,
    }
}

#[async_trait]
impl UnitRepo for PgRepo {
    async fn create_unit(&self, code: &str, name: &str, province: &str) -> RepoResult<Unit> {
        let mut tx = self.tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO units (code, name, province, created_at) VALUES ($1, $2, $3, $4)
             RETURNING id",
        )
        .bind(code)
        .bind(name)
        .bind(province)
        .bind(now_millis())
        .fetch_one(&mut *tx)
        .await
        .map_err(conflict(format!("unit {code}")))?;
        Audit {
            actor: &Actor::Admin,
            action: "unit.create",
            unit: Some(UnitId(id)),
            dossier: None,
            attachment: None,
            detail: Some(code.to_string()),
        }
        .insert_pg(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(unit((id, code.into(), name.into(), province.into())))
    }

    async fn unit_by_code(&self, code: &str) -> RepoResult<Option<Unit>> {
        let row: Option<UnitRow> =
            sqlx::query_as("SELECT id, code, name, province FROM units WHERE code = $1")
                .bind(code)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(unit))
    }

    async fn unit_by_id(&self, id: UnitId) -> RepoResult<Option<Unit>> {
        let row: Option<UnitRow> =
            sqlx::query_as("SELECT id, code, name, province FROM units WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(unit))
    }
}

#[async_trait]
impl StationRepo for PgRepo {
    async fn create_station(
        &self,
        unit: UnitId,
        name: &str,
        token_sha256: &str,
    ) -> RepoResult<Station> {
        let mut tx = self.tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO stations (unit_id, name, token_sha256, created_at)
             VALUES ($1, $2, $3, $4) RETURNING id",
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
        .insert_pg(&mut tx)
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
            "SELECT id, unit_id, name FROM stations
             WHERE token_sha256 = $1 AND revoked_at IS NULL",
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
impl ClerkRepo for PgRepo {
    async fn create_clerk(
        &self,
        unit: UnitId,
        username: &str,
        role: ClerkRole,
        password_hash: &str,
    ) -> RepoResult<Clerk> {
        let mut tx = self.tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO clerks (unit_id, username, role, password_hash, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(unit.0)
        .bind(username)
        .bind(role.as_str())
        .bind(password_hash)
        .bind(now_millis())
        .fetch_one(&mut *tx)
        .await
        .map_err(conflict(format!("clerk {username}")))?;
        Audit {
            actor: &Actor::Admin,
            action: "clerk.create",
            unit: Some(unit),
            dossier: None,
            attachment: None,
            detail: Some(username.to_string()),
        }
        .insert_pg(&mut tx)
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
            "SELECT id, unit_id, username, role, password_hash FROM clerks WHERE username = $1",
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
impl Repo for PgRepo {
    async fn ping(&self) -> RepoResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn watch_jobs(
        &self,
        wake: Arc<Notify>,
        stop: CancellationToken,
    ) -> Option<tokio::task::JoinHandle<()>> {
        self.listen.then(|| {
            tokio::spawn(listen::run(
                self.pool.clone(),
                self.reconnect_max,
                wake,
                stop,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_of_a_url_is_replaced() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres?sslmode=disable", "t_1"),
            "postgres://u:p@h:5432/t_1?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "t"), "postgres://h/t");
    }
}
