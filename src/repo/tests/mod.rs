//! Repository tests, written once against `dyn Repo` and run on every backend: SQLite always,
//! PostgreSQL when `MOTCUA_TEST_PG_URL` names a server (`scripts/pg.sh url`); each PostgreSQL
//! test gets a database of its own, so they run in parallel.

mod activity;
mod fields;
pub(crate) mod queue;
pub(super) mod review;
mod sessions;

use std::io::Write;
use std::ops::Deref;
use std::sync::Arc;

use super::{PgRepo, Repo, SqliteRepo};
use crate::config::PostgresConfig;

/// Variable naming the PostgreSQL server the tests may create databases on.
pub const PG_URL_VAR: &str = "MOTCUA_TEST_PG_URL";

#[derive(Clone)]
pub enum Backend {
    Sqlite,
    /// URL of the server (any database on it); tests create their own.
    Postgres(String),
}

impl Backend {
    /// PostgreSQL when the environment names a server; otherwise says so on stderr.
    pub fn postgres(test: &str) -> Option<Backend> {
        match std::env::var(PG_URL_VAR) {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres(url)),
            _ => {
                // Straight to stderr: the test harness would swallow `eprintln!` of a passing test.
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED {test} on postgres: {PG_URL_VAR} is not set",
                );
                None
            }
        }
    }

    /// A fresh, empty, migrated repository.
    pub async fn fresh(&self) -> TestRepo {
        match self {
            Backend::Sqlite => {
                let r = SqliteRepo::in_memory().await.unwrap();
                TestRepo {
                    repo: Arc::new(r.clone()),
                    raw: Raw::Sqlite(r),
                }
            }
            Backend::Postgres(server) => {
                let url = PgRepo::scratch_database(server, "motcua_test")
                    .await
                    .unwrap();
                let r = PgRepo::open(&pg_config(&url)).await.unwrap();
                TestRepo {
                    repo: Arc::new(r.clone()),
                    raw: Raw::Pg(r, url),
                }
            }
        }
    }
}

pub fn pg_config(url: &str) -> PostgresConfig {
    PostgresConfig {
        url: url.to_string(),
        max_connections: 4,
        ..PostgresConfig::default()
    }
}

/// Runs each named `async fn(Backend)` as two tests: `NAME::sqlite` and `NAME::postgres`.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::repo::tests::Backend;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(b) = Backend::postgres(module_path!()) {
                    super::$name(b).await
                }
            }
        }
    )*};
}
pub(crate) use on_every_backend;

enum Raw {
    Sqlite(SqliteRepo),
    Pg(PgRepo, String),
}

/// A repository under test, with raw SQL for what the traits do not offer (an operator's
/// manual re-queue, row counts). The SQL given must be portable.
pub struct TestRepo {
    repo: Arc<dyn Repo>,
    raw: Raw,
}

impl Deref for TestRepo {
    type Target = dyn Repo;
    fn deref(&self) -> &Self::Target {
        &*self.repo
    }
}

impl TestRepo {
    /// The repository as the service holds it.
    pub fn shared(&self) -> Arc<dyn Repo> {
        self.repo.clone()
    }

    /// The database URL (PostgreSQL only): more processes or pools on the same data.
    pub fn pg_url(&self) -> Option<&str> {
        match &self.raw {
            Raw::Pg(_, url) => Some(url),
            Raw::Sqlite(_) => None,
        }
    }

    pub async fn exec(&self, sql: &str) {
        match &self.raw {
            Raw::Sqlite(r) => r.exec_for_tests(sql).await.unwrap(),
            Raw::Pg(r, _) => r.exec_for_tests(sql).await.unwrap(),
        }
    }

    pub async fn count(&self, sql: &str) -> i64 {
        match &self.raw {
            Raw::Sqlite(r) => r.count_for_tests(sql).await.unwrap(),
            Raw::Pg(r, _) => r.count_for_tests(sql).await.unwrap(),
        }
    }
}
