//! Wiring of the service: backends from the config, the API, the workers, shutdown. Used by
//! `motcua serve` (API + workers), `motcua worker` (workers only), `migrate` and `admin`.

pub mod admin;
pub mod http;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, DbConfig, StoreConfig};
use crate::intake::{self, AppState};
use crate::pipeline::Processor;
use crate::queue::{WorkerPool, WorkerSettings};
use crate::repo::{PgRepo, Repo, SqliteRepo};
use crate::store::{BlobStore, FsStore, S3Store};

/// The database and blob store the config names.
pub struct Backends {
    pub repo: Arc<dyn Repo>,
    pub store: Arc<dyn BlobStore>,
}

/// Opens (and migrates) the database and opens the store.
pub async fn open(cfg: &Config) -> anyhow::Result<Backends> {
    let repo: Arc<dyn Repo> = match &cfg.db {
        DbConfig::Sqlite(s) => Arc::new(
            SqliteRepo::open(&cfg.sqlite_path().unwrap_or_default(), s)
                .await
                .with_context(|| format!("opening database {}", cfg.db_display()))?,
        ),
        DbConfig::Postgres(p) => Arc::new(
            PgRepo::open(p)
                .await
                .with_context(|| format!("opening database {}", cfg.db_display()))?,
        ),
    };
    let store: Arc<dyn BlobStore> = match &cfg.store {
        StoreConfig::Fs(fs) => {
            let root = cfg.fs_store_root().expect("fs store");
            let tmp_age = Duration::from_secs(fs.sweep_tmp_after_secs);
            Arc::new(
                FsStore::open_with(&root, tmp_age)
                    .await
                    .with_context(|| format!("opening blob store {}", root.display()))?,
            )
        }
        StoreConfig::S3(s3) => Arc::new(
            S3Store::open(s3)
                .await
                .with_context(|| format!("opening S3 bucket {}", s3.bucket))?,
        ),
    };
    Ok(Backends { repo, store })
}

/// Installs the global Prometheus recorder (once per process).
fn install_metrics() -> Option<PrometheusHandle> {
    let seconds = [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
    ];
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &seconds)
        .and_then(|b| b.install_recorder())
        .map_err(|e| tracing::warn!("metrics disabled: {e}"))
        .ok()
}

/// Cancelled on SIGTERM or SIGINT.
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term => {}
        }
        tracing::info!("shutdown requested: no new requests or jobs");
        t.cancel();
    });
    token
}

/// Unique per process, also across restarts in a container where the pid repeats.
fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    let tag = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), &tag[..8])
}

/// Counts the crashes that processes of this host recorded before they died against their jobs,
/// then installs this process's crash handler (see `queue::crash`).
async fn record_crashes(cfg: &Config, repo: &dyn Repo) {
    let dir = cfg.server.data_dir.join("crashes");
    match crate::queue::crash::collect(&dir) {
        Ok(ids) if !ids.is_empty() => {
            let jobs: Vec<crate::domain::JobId> =
                ids.iter().map(|&i| crate::domain::JobId(i)).collect();
            match repo.record_crashes(&jobs).await {
                Ok(n) => {
                    tracing::warn!(jobs = ?ids, found = n, "a worker crashed while running these jobs")
                }
                Err(e) => tracing::warn!(jobs = ?ids, "crashes not recorded: {e}"),
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(dir = %dir.display(), "crash records not read: {e}"),
    }
    if let Err(e) = crate::queue::crash::install(&dir) {
        tracing::warn!(dir = %dir.display(), "no crash handler (crashes count as kills): {e}");
    }
}

/// `motcua serve` (`api = true`) and `motcua worker` (`api = false`). Returns after a
/// graceful shutdown.
pub async fn run(cfg: Config, api: bool) -> anyhow::Result<()> {
    // Broken models or pipelines stop start-up, before anything listens or claims jobs.
    let defs = crate::extract::Definitions::load_for_run(&cfg.extract)
        .map_err(|e| anyhow::anyhow!("invalid document models or pipelines:\n{e}"))?;
    let b = open(&cfg).await?;
    let metrics = install_metrics();
    let wake = Arc::new(Notify::new());
    let stop = shutdown_on_signal();
    let workers = if cfg.queue.workers > 0 {
        record_crashes(&cfg, &*b.repo).await;
        Some(WorkerPool::start(
            WorkerSettings {
                queue: cfg.queue.clone(),
                name: worker_name(),
            },
            b.repo.clone(),
            b.store.clone(),
            Arc::new(Processor::with_extractor(
                cfg.clone(),
                defs.extractor.clone(),
            )),
            defs.procedures.clone(),
            wake.clone(),
        )?)
    } else {
        None
    };
    // Jobs queued by other processes (PostgreSQL) wake this one's idle workers at once.
    let watcher = workers
        .as_ref()
        .and_then(|_| b.repo.watch_jobs(wake.clone(), stop.clone()));
    let grace = Duration::from_secs(cfg.server.shutdown_grace_secs);
    // Orphans come from uploads: the processes that take them sweep.
    let sweeper = api
        .then(|| {
            crate::orphans::spawn_sweeper(
                b.repo.clone(),
                b.store.clone(),
                &cfg.orphans,
                stop.clone(),
            )
        })
        .flatten();
    let expiry = api
        .then(|| {
            crate::orphans::spawn_upload_expiry(
                b.repo.clone(),
                b.store.clone(),
                Duration::from_secs(cfg.tus.sweep_interval_secs),
                stop.clone(),
            )
        })
        .flatten();
    if api {
        let open_files = http::raise_open_files_limit();
        if let Some((soft, hard)) = open_files {
            tracing::info!(soft, hard, "open-files limit");
        }
        let limits = http::ConnLimits::new(&cfg.server, open_files.map(|(soft, _)| soft));
        let listener = tokio::net::TcpListener::bind(&cfg.server.listen)
            .await
            .with_context(|| format!("cannot listen on {}", cfg.server.listen))?;
        let addr = listener.local_addr()?;
        // The one line on stdout: scripts and tests read the address (the port may be 0).
        println!("listening on http://{addr}");
        tracing::info!(
            %addr,
            data_dir = %cfg.server.data_dir.display(),
            max_connections = limits.max_connections,
            per_client = limits.max_per_client,
            "intake API listening"
        );
        let overflow = intake::overflow_router(cfg.server.retry_after_secs);
        let state = AppState {
            repo: b.repo.clone(),
            store: b.store.clone(),
            cfg: Arc::new(cfg),
            wake,
            metrics,
            defs: defs.clone(),
        };
        http::serve(
            listener,
            intake::router(state),
            overflow,
            limits,
            stop.clone(),
            grace,
        )
        .await;
    } else {
        stop.cancelled().await;
    }
    if let Some(w) = workers {
        w.shutdown(grace).await;
    }
    if let Some(w) = watcher {
        let _ = w.await;
    }
    for s in [sweeper, expiry].into_iter().flatten() {
        s.abort();
    }
    tracing::info!("stopped");
    Ok(())
}
