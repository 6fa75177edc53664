//! PostgreSQL + S3 settings for tests that start the real binary: a fresh database and a fresh
//! bucket per test, on the servers `scripts/test.sh` starts.

pub struct Backend {
    /// `MOTCUA__…` and AWS variables selecting and reaching the backends.
    pub env: Vec<(String, String)>,
}

/// PostgreSQL and S3 together, or `None` when either is not configured.
pub fn pg_s3() -> Option<Backend> {
    let server = std::env::var("MOTCUA_TEST_PG_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    let endpoint = super::s3::endpoint()?;
    let db = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(motcua::repo::PgRepo::scratch_database(
            &server,
            "motcua_scale",
        ))
        .expect("create a test database");
    let mut env = vec![
        ("MOTCUA__DB__BACKEND".to_string(), "postgres".to_string()),
        ("MOTCUA__DB__URL".to_string(), db),
    ];
    env.extend(super::s3::store_env_at(
        &endpoint,
        &super::s3::fresh_bucket(),
    ));
    Some(Backend { env })
}
