//! PostgreSQL going away under a running service, on a cluster of the test's own.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::blocking::multipart::Form;

use super::common::{fixture, free_port, stdout_of};
use super::{
    Backend, Server, Site, assert_upload_unavailable, client, create_dossier, get_dossier, metrics,
    two_units, upload, wait_processing, wait_settled,
};

/// A PostgreSQL cluster of the outage test's own (`scripts/pg.sh` on a free port), so that
/// stopping it does not disturb the other tests; stopped and removed when dropped.
struct Cluster {
    port: u16,
    dir: PathBuf,
}

impl Cluster {
    fn start() -> Cluster {
        let port = free_port();
        let c = Cluster {
            port,
            dir: PathBuf::from(format!("/tmp/motcua-pg-outage-{port}")),
        };
        c.pg("start");
        c
    }

    fn pg(&self, action: &str) -> String {
        stdout_of(
            Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pg.sh"))
                .arg(action)
                .env("MOTCUA_PG_PORT", self.port.to_string())
                .env("MOTCUA_PG_DIR", &self.dir),
            &format!("pg.sh {action}"),
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.pg("stop");
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_file(self.dir.with_extension("initdb.log"));
    }
}

/// PostgreSQL goes down while a worker is in the middle of a job: uploads and reads get 503
/// with `Retry-After` and write nothing, the worker backs off; once the database is back the
/// upload goes through and both jobs complete, each page written once.
#[test]
fn a_database_outage_is_503_with_retry_after_and_work_resumes_after_it() {
    if Backend::postgres(concat!(
        module_path!(),
        "::a_database_outage_is_503_with_retry_after_and_work_resumes_after_it"
    ))
    .is_none()
    {
        return;
    }
    let cluster = Cluster::start();
    let dir = Site::new(Backend::Postgres(cluster.pg("url")));
    let (ta, _) = two_units(&dir);
    let s = Server::start(
        &dir,
        &[
            // One worker busy with the job, one idle and claiming through the outage.
            ("MOTCUA__QUEUE__WORKERS", "2"),
            ("MOTCUA__QUEUE__LEASE_SECS", "4"),
            ("MOTCUA__QUEUE__HEARTBEAT_SECS", "1"),
            ("MOTCUA__QUEUE__POLL_MS", "200"),
            ("MOTCUA__QUEUE__OUTAGE_BACKOFF_MAX_MS", "1000"),
            ("MOTCUA__QUEUE__BACKOFF_BASE_MS", "500"),
            ("MOTCUA__DB__ACQUIRE_TIMEOUT_MS", "1000"),
            ("MOTCUA__DB__RECONNECT_MAX_MS", "500"),
            ("MOTCUA__SERVER__RETRY_AFTER_SECS", "7"),
        ],
    );
    let (_, d) = create_dossier(&s, Some(&ta), None);
    let code = d["code"].as_str().unwrap().to_string();
    let tif = || {
        Form::new()
            .file("file", fixture("two-pages-g4.tif"))
            .unwrap()
    };
    let png = || Form::new().file("file", fixture("cccd-clean.png")).unwrap();
    assert_eq!(upload(&s, &ta, &code, tif()).0, StatusCode::ACCEPTED);
    wait_processing(&s, &ta, &code);

    cluster.pg("stop");
    let down = Instant::now();
    assert_upload_unavailable(&s, &ta, &code, png(), "7");
    let (st, e) = get_dossier(&s, &ta, &code);
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable"))
    );
    let live = client().get(format!("{}/healthz", s.url)).send().unwrap();
    assert_eq!(live.status(), StatusCode::OK, "the process itself is fine");
    // Long enough for the job's lease to run out and for the worker to fail claims.
    std::thread::sleep(Duration::from_secs(6).saturating_sub(down.elapsed()));
    cluster.pg("start");

    let (st, r) = upload(&s, &ta, &code, png());
    assert_eq!(st, StatusCode::ACCEPTED, "{r}\n{}", s.log());
    assert_eq!(
        r["attachments"][0]["duplicate"], false,
        "the refused upload left nothing"
    );
    let d = wait_settled(&s, &ta, &code);
    let atts = d["attachments"].as_array().unwrap();
    assert_eq!(atts.len(), 2, "{d:#}");
    for a in atts {
        assert_eq!(a["status"], "done", "{a:#}\n{}", s.log());
    }
    let idx: Vec<_> = atts[0]["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["index"].clone())
        .collect();
    assert_eq!(idx, [0, 1], "pages written once");
    let log = s.log();
    for needle in [
        "claim failed, backing off",
        "claiming again after database trouble",
        "job notifications lost",
    ] {
        assert!(log.contains(needle), "log lacks {needle:?}:\n{log}");
    }
    let t = Instant::now();
    while !s.log().contains("job notifications restored") {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "listener not back:\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let m = metrics(&s);
    assert!(m.contains("motcua_queue_jobs{state=\"done\"} 2"), "{m}");
    assert!(s.terminate().success());
}
