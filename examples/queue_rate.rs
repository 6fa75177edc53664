//! Claim rate of the job queue with no-op jobs: how many jobs per second the database can hand
//! out and mark done, without OCR in the way. Uses the backend the configuration names (SQLite by
//! default; PostgreSQL with `MOTCUA__DB__…`), like `motcua serve` would.
//!
//! ```sh
//! cargo run --release --example queue_rate -- [JOBS] [CLAIMERS]
//! ```
//!
//! Queues JOBS attachments (default 2000) in batches of 100 into one dossier, then CLAIMERS
//! concurrent tasks (default 8) claim and complete them until the queue is empty. Prints the
//! enqueue and the claim+complete rates, and checks that every job was completed exactly once.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use motcua::config::Config;
use motcua::domain::{Actor, DossierSource, NewAttachment, now_millis};
use motcua::queue::JobPayload;
use motcua::repo::{NewDossier, Processed};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let jobs: usize = args.next().map_or(Ok(2000), |a| a.parse())?;
    let claimers: usize = args.next().map_or(Ok(8), |a| a.parse())?;
    let cfg = Config::load(
        std::env::var_os("MOTCUA_CONFIG")
            .as_deref()
            .map(std::path::Path::new),
    )?;
    let b = motcua::service::open(&cfg).await?;
    let repo = b.repo.clone();

    let tag = uuid::Uuid::new_v4().simple().to_string();
    let unit = repo
        .create_unit(&format!("Q{}", &tag[..8]), "queue bench", "bench")
        .await?;
    let station = repo
        .create_station(unit.id, "bench", &format!("{:0>64}", &tag))
        .await?;
    let actor = Actor::Station {
        id: station.id,
        unit: unit.id,
    };
    let dossier = repo
        .create_dossier(
            NewDossier {
                code: &format!("QB-{}", &tag[..12]),
                unit: unit.id,
                procedure: "queue-bench",
                source: DossierSource::Station,
                citizen_token_sha256: None,
                lookup_sha256: None,
            },
            &actor,
        )
        .await?;

    let t = Instant::now();
    let mut n = 0usize;
    while n < jobs {
        let batch: Vec<NewAttachment> = (n..jobs.min(n + 100))
            .map(|i| {
                let sha = format!("{:0>56}{i:08x}", &tag[..24]);
                NewAttachment {
                    filename: None,
                    original_key: format!("originals/{}/{sha}", &sha[..2]),
                    sha256: sha,
                    bytes: 1,
                    media_type: "image/png".into(),
                }
            })
            .collect();
        n += batch.len();
        repo.add_attachments(
            &dossier,
            &batch,
            None,
            &|id| JobPayload::ProcessAttachment { attachment_id: id }.to_new_job(),
            &actor,
        )
        .await?;
    }
    let enqueue = t.elapsed().as_secs_f64();

    let done = Arc::new(Mutex::new(Vec::new()));
    let t = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..claimers {
        let (repo, done) = (repo.clone(), done.clone());
        let worker = format!("bench-{tag}-{c}");
        tasks.spawn(async move {
            loop {
                let now = now_millis();
                let Some(job) = repo
                    .claim(
                        &worker,
                        now,
                        now + 60_000,
                        motcua::repo::ClaimLimits::new(5),
                    )
                    .await?
                else {
                    return anyhow::Ok(());
                };
                let att = job.attachment_id.expect("attachment job");
                if repo
                    .complete_attachment(
                        job.id,
                        &worker,
                        att,
                        &Processed {
                            pages: &[],
                            pdf_key: "derived/noop",
                            fields: &[],
                        },
                    )
                    .await?
                {
                    done.lock().unwrap().push(job.id);
                }
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    let claim = t.elapsed().as_secs_f64();
    let done = done.lock().unwrap();
    let distinct: HashSet<_> = done.iter().collect();
    println!(
        "backend {}  jobs {jobs}  claimers {claimers}",
        serde_json::to_value(&cfg.db)?["backend"]
    );
    println!(
        "enqueue          {enqueue:7.2} s  {:8.0} jobs/s (batches of 100, one transaction each)",
        jobs as f64 / enqueue
    );
    println!(
        "claim+complete   {claim:7.2} s  {:8.0} jobs/s",
        done.len() as f64 / claim
    );
    anyhow::ensure!(
        done.len() == jobs && distinct.len() == jobs,
        "completed {} ({} distinct) of {jobs}",
        done.len(),
        distinct.len()
    );
    println!("every job completed exactly once");
    Ok(())
}
