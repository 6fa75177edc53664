//! Scale-out on PostgreSQL + S3: one API process and three `motcua worker` processes, all real
//! binaries on a real PostgreSQL and a real S3 server (SeaweedFS), share one 300-page batch.
//! Runs when `MOTCUA_TEST_PG_URL` and `MOTCUA_TEST_S3_ENDPOINT` are set (`scripts/test.sh` sets
//! them); otherwise it says it is skipped.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::blocking::Client;
use reqwest::blocking::multipart::Form;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_motcua");

/// A `motcua` process with its log file; killed (SIGKILL) when dropped.
struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn start(dir: &Path, name: &str, args: &[&str], env: &[(String, String)]) -> Proc {
        let log = dir.join(format!("{name}.log"));
        let child = Command::new(BIN)
            .args(args)
            .envs(env.iter().cloned())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Proc { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn admin(env: &[(String, String)], args: &[&str]) -> String {
    common::stdout_of(
        Command::new(BIN)
            .arg("admin")
            .args(args)
            .envs(env.iter().cloned()),
        &format!("admin {args:?}"),
    )
}

fn corpus_files(n: usize) -> Vec<PathBuf> {
    let names = common::distinct_corpus_files();
    assert!(names.len() >= n, "{} distinct corpus files", names.len());
    names[..n].iter().map(|f| common::corpus(f)).collect()
}

/// Job ids a worker's log says it completed (`job{id=… …}: … job done`).
fn jobs_done(log: &str) -> Vec<i64> {
    jobs_logged(log, "job done")
}

/// Job ids of a worker's log lines saying `what`.
fn jobs_logged(log: &str, what: &str) -> Vec<i64> {
    log.lines()
        .filter(|l| l.contains(what))
        .filter_map(|l| {
            let rest = &l[l.find("job{id=")? + 7..];
            rest[..rest.find([' ', '}'])?].parse().ok()
        })
        .collect()
}

#[test]
fn three_workers_share_a_300_page_batch_each_page_once_and_a_killed_worker_loses_nothing() {
    let Some(backend) = common::backends::pg_s3() else {
        eprintln!("SKIPPED: set MOTCUA_TEST_PG_URL and MOTCUA_TEST_S3_ENDPOINT (scripts/test.sh)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut env = backend.env.clone();
    env.extend(
        [
            ("MOTCUA__SERVER__DATA_DIR", dir.path().to_str().unwrap()),
            ("MOTCUA__SERVER__LISTEN", "127.0.0.1:0"),
            ("MOTCUA__QUEUE__LEASE_SECS", "5"),
            ("MOTCUA__QUEUE__HEARTBEAT_SECS", "1"),
            ("MOTCUA__QUEUE__LOST_BACKOFF_SECS", "1"),
            ("RUST_LOG", "info"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    admin(
        &env,
        &["unit", "create", "--code", "XA", "--name", "Xã An Bình"],
    );
    let token = admin(
        &env,
        &["station", "create", "--unit", "XA", "--name", "quầy 1"],
    );

    // The API alone: no in-process workers.
    let mut api_env = env.clone();
    api_env.push(("MOTCUA__QUEUE__WORKERS".into(), "0".into()));
    let mut api = Proc::start(dir.path(), "api", &["serve"], &api_env);
    let mut line = String::new();
    BufReader::new(api.child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line:?}\n{}", api.log()))
        .to_string();

    // Three stateless workers, one job and one page thread each.
    let mut wenv = env.clone();
    wenv.push(("MOTCUA__QUEUE__WORKERS".into(), "1".into()));
    wenv.push(("MOTCUA__QUEUE__THREADS".into(), "1".into()));
    let mut workers: Vec<Option<Proc>> = (0..3)
        .map(|i| {
            Some(Proc::start(
                dir.path(),
                &format!("worker-{i}"),
                &["worker"],
                &wenv,
            ))
        })
        .collect();

    // 300 pages: 50 distinct single-page scans in each of 6 dossiers.
    let client = Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let auth = format!("Bearer {token}");
    let files = corpus_files(50);
    let mut codes = Vec::new();
    for _ in 0..6 {
        let r = client
            .post(format!("{url}/api/v1/dossiers"))
            .header("Authorization", &auth)
            .json(&serde_json::json!({ "procedure": "dang-ky-khai-sinh" }))
            .send()
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let code = r.json::<Value>().unwrap()["code"]
            .as_str()
            .unwrap()
            .to_string();
        for chunk in files.chunks(10) {
            let mut form = Form::new();
            for f in chunk {
                form = form.file("file", f).unwrap();
            }
            let r = client
                .post(format!("{url}/api/v1/dossiers/{code}/attachments"))
                .header("Authorization", &auth)
                .multipart(form)
                .send()
                .unwrap();
            assert_eq!(r.status(), StatusCode::ACCEPTED, "{}", r.text().unwrap());
        }
        codes.push(code);
    }

    // Every attachment, with its dossier's code.
    let attachments = |client: &Client| -> Vec<Value> {
        codes
            .iter()
            .flat_map(|code| {
                let d: Value = client
                    .get(format!("{url}/api/v1/dossiers/{code}"))
                    .header("Authorization", &auth)
                    .send()
                    .unwrap()
                    .json()
                    .unwrap();
                d["attachments"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| {
                        let mut a = a.clone();
                        a["dossier"] = code.as_str().into();
                        a
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let done = |a: &[Value]| a.iter().filter(|a| a["status"] == "done").count();

    // Kill one worker with SIGKILL in the middle of the run, while it holds a job.
    let t = Instant::now();
    let victim = 1;
    loop {
        let a = attachments(&client);
        assert_eq!(a.len(), 300);
        if done(&a) >= 60 && !jobs_done(&workers[victim].as_ref().unwrap().log()).is_empty() {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(900), "stalled");
        std::thread::sleep(Duration::from_millis(300));
    }
    let killed_log = {
        let mut w = workers[victim].take().unwrap();
        w.child.kill().unwrap();
        w.child.wait().unwrap();
        w.log()
    };
    let killed_done = jobs_done(&killed_log);

    let all = loop {
        let a = attachments(&client);
        if a.iter()
            .all(|a| a["status"] == "done" || a["status"] == "failed")
        {
            break a;
        }
        let logs: String = workers.iter().flatten().map(|w| w.log()).collect();
        assert!(
            t.elapsed() < Duration::from_secs(1800),
            "not finished: {} done\n{logs}",
            done(&a)
        );
        std::thread::sleep(Duration::from_millis(500));
    };

    // Every page processed, each job completed exactly once across all worker processes.
    assert_eq!(done(&all), 300, "{all:#?}");
    assert!(all.iter().all(|a| a["page_count"] == 1));
    // A job shows done once committed; its worker logs it after the dossier's cross-document
    // checks. Give the last ones a moment.
    let expected: BTreeSet<i64> = all
        .iter()
        .map(|a| a["job"]["id"].as_i64().unwrap())
        .collect();
    let logged = || {
        let mut by_worker = vec![killed_done.clone()];
        by_worker.extend(workers.iter().flatten().map(|w| jobs_done(&w.log())));
        by_worker
    };
    // The killed worker held one job: either it had committed it but died before logging it
    // (done, no lost lease), or its lease ran out and another worker took it (one lost lease;
    // either way one attempt: a lost worker gives its attempt back).
    let held: BTreeSet<i64> = jobs_logged(&killed_log, "job started")
        .into_iter()
        .filter(|id| !killed_done.contains(id))
        .collect();
    let unlogged = |by_worker: &[Vec<i64>]| -> BTreeSet<i64> {
        let seen: BTreeSet<i64> = by_worker.iter().flatten().copied().collect();
        expected.difference(&seen).copied().collect()
    };
    let t = Instant::now();
    while !unlogged(&logged()).is_subset(&held) && t.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let by_worker = logged();
    let mut count: BTreeMap<i64, usize> = BTreeMap::new();
    for id in by_worker.iter().flatten() {
        *count.entry(*id).or_default() += 1;
    }
    let twice: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "completed more than once: {twice:?}");
    for (i, jobs) in by_worker.iter().enumerate() {
        assert!(!jobs.is_empty(), "worker {i} did no job");
    }
    // Nothing but the killed worker's job was ever tried twice or left undone.
    assert!(held.len() <= 1, "the killed worker held {held:?}");
    let unlogged = unlogged(&by_worker);
    if !unlogged.is_subset(&held) {
        let logs = std::iter::once(killed_log.clone())
            .chain(workers.iter().flatten().map(|w| w.log()))
            .chain(std::iter::once(api.log()));
        let lines: Vec<String> = logs
            .flat_map(|l| {
                l.lines()
                    .filter(|l| unlogged.iter().any(|id| l.contains(&format!("id={id} "))))
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .collect();
        let rows: Vec<&Value> = all
            .iter()
            .filter(|a| unlogged.contains(&a["job"]["id"].as_i64().unwrap()))
            .collect();
        panic!("done by nobody's log: {unlogged:?} (held {held:?})\n{lines:#?}\n{rows:#?}");
    }
    for a in &all {
        let (id, attempts, lost) = (
            a["job"]["id"].as_i64().unwrap(),
            a["job"]["attempts"].as_u64(),
            a["job"]["lost_leases"].as_u64(),
        );
        let expect = if held.contains(&id) && !unlogged.contains(&id) {
            1
        } else {
            0
        };
        assert_eq!((attempts, lost), (Some(1), Some(expect)), "job {id}: {a:#}");
    }

    // Originals and PDFs are in the object store: fetch one of each back through the API.
    let a = &all[123];
    let (code, id) = (a["dossier"].as_str().unwrap(), &a["id"]);
    for (path, magic) in [("original", &b"\xff\xd8"[..]), ("pdf", &b"%PDF"[..])] {
        let r = client
            .get(format!(
                "{url}/api/v1/dossiers/{code}/attachments/{id}/{path}"
            ))
            .header("Authorization", &auth)
            .send()
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let body = r.bytes().unwrap();
        if path == "pdf" || a["media_type"] == "image/jpeg" {
            assert!(body.starts_with(magic), "{path}");
        }
    }
    drop(api);
}
