//! The station's durable spool (SQLite, synchronous = FULL): a file is recorded before a byte
//! of it is sent, and its row says how far it came, so a killed process or a reboot resumes
//! where it stopped.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{FromRow, SqlitePool};

use crate::domain::{Millis, now_millis};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/station");

/// Waiting to be sent (or being sent); then `sent`, `failed` or `gone` (removed by hand).
pub const QUEUED: &str = "queued";

#[derive(Debug, Clone, FromRow)]
pub struct SpoolFile {
    pub id: i64,
    pub path: String,
    pub folder: Option<String>,
    pub bytes: i64,
    pub mtime_ms: i64,
    pub sha256: String,
    pub state: String,
    pub dossier: Option<String>,
    pub upload_url: Option<String>,
    pub offset_bytes: i64,
    pub attachment_id: Option<i64>,
    pub attempts: i64,
    pub next_attempt_at: Millis,
    pub last_error: Option<String>,
}

/// A file found stable in the hot folder.
pub struct NewFile<'a> {
    pub path: &'a str,
    pub folder: Option<&'a str>,
    pub bytes: u64,
    pub mtime_ms: i64,
    pub sha256: &'a str,
}

pub struct Spool {
    pool: SqlitePool,
}

type Result<T> = std::result::Result<T, sqlx::Error>;

impl Spool {
    pub async fn open(path: &Path) -> anyhow::Result<Spool> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let opts = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(opts)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Spool { pool })
    }

    /// Paths of the files waiting to be sent.
    pub async fn queued_paths(&self) -> Result<Vec<String>> {
        sqlx::query_scalar("SELECT path FROM files WHERE state = $1")
            .bind(QUEUED)
            .fetch_all(&self.pool)
            .await
    }

    pub async fn enqueue(&self, f: NewFile<'_>) -> Result<()> {
        let now = now_millis();
        sqlx::query(
            "INSERT INTO files (path, folder, bytes, mtime_ms, sha256, state, next_attempt_at,
                 created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7)",
        )
        .bind(f.path)
        .bind(f.folder)
        .bind(f.bytes as i64)
        .bind(f.mtime_ms)
        .bind(f.sha256)
        .bind(QUEUED)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The queued file due first, if one is due at `now`.
    pub async fn next_due(&self, now: Millis) -> Result<Option<SpoolFile>> {
        sqlx::query_as(
            "SELECT * FROM files WHERE state = $1 AND next_attempt_at <= $2
             ORDER BY next_attempt_at, id LIMIT 1",
        )
        .bind(QUEUED)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
    }

    /// When the next queued file is due (none queued: `None`).
    pub async fn next_due_at(&self) -> Result<Option<Millis>> {
        sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM files WHERE state = $1")
            .bind(QUEUED)
            .fetch_one(&self.pool)
            .await
    }

    async fn set<'q>(
        &self,
        id: i64,
        sql: &'q str,
        bind: impl FnOnce(Q<'q>) -> Q<'q>,
    ) -> Result<()> {
        let q = sqlx::query(sql);
        bind(q)
            .bind(now_millis())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_dossier(&self, id: i64, code: &str) -> Result<()> {
        let sql = "UPDATE files SET dossier = $1, updated_at = $2 WHERE id = $3";
        self.set(id, sql, |q| q.bind(code)).await
    }

    pub async fn set_upload(&self, id: i64, url: Option<&str>) -> Result<()> {
        let sql =
            "UPDATE files SET upload_url = $1, offset_bytes = 0, updated_at = $2 WHERE id = $3";
        self.set(id, sql, |q| q.bind(url)).await
    }

    pub async fn set_offset(&self, id: i64, offset: u64) -> Result<()> {
        let sql = "UPDATE files SET offset_bytes = $1, updated_at = $2 WHERE id = $3";
        self.set(id, sql, |q| q.bind(offset as i64)).await
    }

    /// The file changed on disk before it was sent: it starts over.
    pub async fn restart(&self, id: i64, bytes: u64, mtime_ms: i64, sha256: &str) -> Result<()> {
        let sql = "UPDATE files SET bytes = $1, mtime_ms = $2, sha256 = $3, upload_url = NULL,
                       offset_bytes = 0, updated_at = $4 WHERE id = $5";
        self.set(id, sql, |q| {
            q.bind(bytes as i64).bind(mtime_ms).bind(sha256)
        })
        .await
    }

    pub async fn mark_sent(&self, id: i64, attachment: i64) -> Result<()> {
        let sql = "UPDATE files SET state = 'sent', attachment_id = $1, offset_bytes = bytes,
                       last_error = NULL, updated_at = $2 WHERE id = $3";
        self.set(id, sql, |q| q.bind(attachment)).await
    }

    pub async fn mark_failed(&self, id: i64, reason: &str) -> Result<()> {
        let sql =
            "UPDATE files SET state = 'failed', last_error = $1, updated_at = $2 WHERE id = $3";
        self.set(id, sql, |q| q.bind(reason)).await
    }

    /// A file that left the hot folder before it was sent (removed by hand).
    pub async fn forget(&self, id: i64) -> Result<()> {
        let sql = "UPDATE files SET state = 'gone', updated_at = $1 WHERE id = $2";
        self.set(id, sql, |q| q).await
    }

    pub async fn retry_later(&self, id: i64, at: Millis, error: &str) -> Result<()> {
        let sql = "UPDATE files SET attempts = attempts + 1, next_attempt_at = $1,
                       last_error = $2, updated_at = $3 WHERE id = $4";
        self.set(id, sql, |q| q.bind(at).bind(error)).await
    }

    pub async fn folder_dossier(&self, name: &str) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT dossier FROM folders WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
    }

    pub async fn set_folder_dossier(&self, name: &str, code: &str) -> Result<()> {
        sqlx::query("INSERT INTO folders (name, dossier) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(name)
            .bind(code)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The most recent `limit` files, newest first.
    pub async fn list(&self, limit: i64) -> Result<Vec<SpoolFile>> {
        sqlx::query_as("SELECT * FROM files ORDER BY id DESC LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await
    }
}

type Q<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;
