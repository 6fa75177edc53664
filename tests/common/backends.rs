//! PostgreSQL + S3 settings for tests that start the real binary: a fresh database and a fresh
//! bucket per test, on the servers `scripts/test.sh` starts.

use std::process::Command;

pub struct Backend {
    /// `MOTCUA__…` variables selecting and reaching the backends.
    pub env: Vec<(String, String)>,
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// A fresh PostgreSQL database on `MOTCUA_TEST_PG_URL`; its URL.
pub fn fresh_database() -> Option<String> {
    let admin = std::env::var("MOTCUA_TEST_PG_URL").ok()?;
    let name = unique("motcua_t_");
    let o = Command::new("psql")
        .args([&admin, "-qAtc", &format!("CREATE DATABASE {name}")])
        .output()
        .expect("psql");
    assert!(
        o.status.success(),
        "create database: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (base, _) = admin.rsplit_once('/').expect("URL with a database");
    Some(format!("{base}/{name}"))
}

/// PostgreSQL and S3 together, or `None` when either is not configured.
pub fn pg_s3() -> Option<Backend> {
    let endpoint = std::env::var("MOTCUA_TEST_S3_ENDPOINT").ok()?;
    let db = fresh_database()?;
    let env = [
        ("MOTCUA__DB__BACKEND", "postgres".to_string()),
        ("MOTCUA__DB__URL", db),
        ("MOTCUA__STORE__BACKEND", "s3".to_string()),
        ("MOTCUA__STORE__ENDPOINT", endpoint),
        ("MOTCUA__STORE__BUCKET", unique("motcua-t-")),
        ("MOTCUA__STORE__CREATE_BUCKET", "true".to_string()),
    ];
    Some(Backend {
        env: env.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
    })
}
