//! `motcua admin …`: units, stations (token shown once, stored hashed) and clerks.

use anyhow::{Context, bail};

use super::open;
use crate::config::Config;
use crate::domain::{ClerkRole, Unit, is_valid_code};
use crate::intake::auth;
use crate::repo::Repo;

async fn unit(repo: &dyn Repo, code: &str) -> anyhow::Result<Unit> {
    repo.unit_by_code(code)
        .await?
        .with_context(|| format!("no unit with code {code:?}"))
}

pub async fn create_unit(
    cfg: &Config,
    code: &str,
    name: &str,
    province: &str,
) -> anyhow::Result<Unit> {
    if !is_valid_code(code) {
        bail!("unit code must be 1-64 letters, digits, '-' or '_'");
    }
    let b = open(cfg).await?;
    Ok(b.repo.create_unit(code, name, province).await?)
}

/// Returns the new station's bearer token; only its hash is stored.
pub async fn create_station(cfg: &Config, unit_code: &str, name: &str) -> anyhow::Result<String> {
    let b = open(cfg).await?;
    let u = unit(&*b.repo, unit_code).await?;
    let token = auth::new_token(auth::STATION_PREFIX);
    b.repo
        .create_station(u.id, name, &auth::token_hash(&token))
        .await?;
    Ok(token)
}

pub async fn create_clerk(
    cfg: &Config,
    unit_code: &str,
    username: &str,
    role: ClerkRole,
    password: &str,
) -> anyhow::Result<()> {
    if password.chars().count() < 10 {
        bail!("the password must be at least 10 characters");
    }
    let b = open(cfg).await?;
    let u = unit(&*b.repo, unit_code).await?;
    let hash = auth::hash_password(password).map_err(anyhow::Error::msg)?;
    b.repo.create_clerk(u.id, username, role, &hash).await?;
    Ok(())
}

/// What `motcua admin requeue` puts back in the queue.
pub enum RequeueWhat {
    Attachment(i64),
    /// A dossier code.
    Dossier(String),
    /// Dead or set-aside jobs, of one attachment error code or all.
    Dead(Option<String>),
}

/// Requeues failed attachments as new; returns their ids. Audited as the operator (`admin`).
pub async fn requeue(cfg: &Config, what: RequeueWhat) -> anyhow::Result<Vec<i64>> {
    use crate::repo::Requeue;
    let b = open(cfg).await?;
    let target = match what {
        RequeueWhat::Attachment(id) => Requeue::Attachment(crate::domain::AttachmentId(id)),
        RequeueWhat::Dossier(code) => {
            let d = b
                .repo
                .dossier_by_code(&code)
                .await?
                .with_context(|| format!("no dossier with code {code:?}"))?;
            Requeue::Dossier(d.id)
        }
        RequeueWhat::Dead(code) => Requeue::Dead { code },
    };
    let ids = b.repo.requeue(target, "admin").await?;
    Ok(ids.into_iter().map(|a| a.0).collect())
}

/// One orphan sweep with blobs older than `grace` considered.
pub async fn sweep(
    cfg: &Config,
    grace: std::time::Duration,
) -> anyhow::Result<crate::orphans::SweepReport> {
    let b = open(cfg).await?;
    Ok(crate::orphans::sweep(&*b.repo, &*b.store, grace).await?)
}

/// `motcua migrate`: applies pending migrations (opening does it) and reports where.
pub async fn migrate(cfg: &Config) -> anyhow::Result<()> {
    open(cfg).await?;
    Ok(())
}
