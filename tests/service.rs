//! `motcua serve` end to end: the real binary on a temp data dir and a free port, over HTTP.
//! Every test runs on SQLite (`NAME::sqlite`) and on PostgreSQL (`NAME::postgres`, a database
//! of its own on the server `MOTCUA_TEST_PG_URL` names; skipped with a message when unset).

mod common;
#[path = "service/connections.rs"]
mod connections;
#[path = "service/orphans.rs"]
mod orphans;
#[path = "service/outage.rs"]
mod outage;
#[path = "service/parts.rs"]
mod parts;
#[path = "service/requeue.rs"]
mod requeue;
#[path = "service/station.rs"]
mod station;
#[path = "service/tus.rs"]
mod tus;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{cer, corpus, fixture, pdftotext};
use reqwest::StatusCode;
use reqwest::blocking::multipart::{Form, Part};
use reqwest::blocking::{Client, RequestBuilder};
use serde_json::Value;
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_motcua");

/// A running `motcua serve`; killed when dropped.
struct Server {
    child: Child,
    url: String,
    log: PathBuf,
}

/// Where the processes of one test keep their data: a temp data dir (blobs, and the SQLite
/// file) and, on PostgreSQL, a database of their own.
struct Site {
    dir: tempfile::TempDir,
    db: Vec<(String, String)>,
}

enum Backend {
    Sqlite,
    /// URL of the server; each site creates its own database there.
    Postgres(String),
}

impl Backend {
    fn postgres(test: &str) -> Option<Backend> {
        match std::env::var("MOTCUA_TEST_PG_URL") {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres(url)),
            _ => {
                // Straight to stderr: the test harness would swallow `eprintln!` of a passing test.
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED {test} on postgres: MOTCUA_TEST_PG_URL is not set",
                );
                None
            }
        }
    }
}

impl Site {
    fn new(backend: Backend) -> Site {
        let db = match backend {
            Backend::Sqlite => Vec::new(),
            Backend::Postgres(server) => {
                let url = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(motcua::repo::PgRepo::scratch_database(&server, "motcua_it"))
                    .expect("create a test database");
                vec![
                    ("MOTCUA__DB__BACKEND".to_string(), "postgres".to_string()),
                    ("MOTCUA__DB__URL".to_string(), url),
                    // Several processes per test and tests in parallel share one server.
                    ("MOTCUA__DB__MAX_CONNECTIONS".to_string(), "6".to_string()),
                ]
            }
        };
        Site {
            dir: tempfile::tempdir().unwrap(),
            db,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Runs each `fn NAME(site: Site)` as two tests, `NAME::sqlite` and `NAME::postgres`.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::{Backend, Site};

            #[test]
            fn sqlite() {
                super::$name(Site::new(Backend::Sqlite))
            }

            #[test]
            fn postgres() {
                if let Some(b) = Backend::postgres(module_path!()) {
                    super::$name(Site::new(b))
                }
            }
        }
    )*};
}

on_every_backend!(
    a_station_batch_is_processed_to_text_and_searchable_pdfs_and_a_corrupt_file_fails_alone,
    stations_and_citizens_reach_only_their_own_dossiers,
    limits_and_types_are_typed_errors,
    a_job_of_a_killed_worker_completes_exactly_once_after_restart,
    shutdown_releases_a_claim_it_cannot_finish_in_its_grace_period,
    fields_and_review_flags_come_with_the_dossier,
    refused_and_cut_uploads_leave_nothing_and_the_sweep_takes_crash_leftovers,
    tus_clients_resume_over_a_link_that_drops,
    tus_protocol_edges_restart_takeover_and_expiry,
    a_station_sends_its_hot_folder_through_drops_kills_and_outages,
);
use orphans::refused_and_cut_uploads_leave_nothing_and_the_sweep_takes_crash_leftovers;
use station::a_station_sends_its_hot_folder_through_drops_kills_and_outages;
use tus::{
    tus_clients_resume_over_a_link_that_drops, tus_protocol_edges_restart_takeover_and_expiry,
};

fn env_for(site: &Site, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = vec![
        (
            "MOTCUA__SERVER__DATA_DIR".to_string(),
            site.path().to_string_lossy().into_owned(),
        ),
        ("MOTCUA__SERVER__LISTEN".into(), "127.0.0.1:0".into()),
        ("RUST_LOG".into(), "info".into()),
    ];
    env.extend(site.db.iter().cloned());
    // On S3 when `MOTCUA_TEST_S3_ENDPOINT` is set: the same tests, the other store.
    env.extend(common::s3::store_env(site.path()));
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

impl Server {
    fn start(site: &Site, extra: &[(&str, &str)]) -> Server {
        Self::start_under(site, extra, &[])
    }

    /// Started through `prefix` (e.g. `prlimit --nofile=256:256`).
    fn start_under(site: &Site, extra: &[(&str, &str)], prefix: &[&str]) -> Server {
        let n = std::fs::read_dir(site.path()).map_or(0, |d| d.count());
        let log = site.path().join(format!("serve-{n}.log"));
        let mut cmd = match prefix.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(BIN);
                c
            }
            None => Command::new(BIN),
        };
        let mut child = cmd
            .arg("serve")
            .envs(env_for(site, extra))
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start motcua serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| {
                panic!(
                    "no address from serve: {line:?}\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            })
            .to_string();
        Server { child, url, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the exit.
    fn terminate(mut self) -> std::process::ExitStatus {
        common::sigterm(&mut self.child)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn admin(site: &Site, args: &[&str]) -> String {
    common::stdout_of(
        Command::new(BIN)
            .arg("admin")
            .args(args)
            .envs(env_for(site, &[])),
        &format!("admin {args:?}"),
    )
}

/// A clerk of `unit` (`motcua admin clerk create`, the password on stdin).
fn create_clerk(site: &Site, unit: &str, username: &str, password: &str) {
    let mut c = Command::new(BIN)
        .args([
            "admin",
            "clerk",
            "create",
            "--unit",
            unit,
            "--username",
            username,
        ])
        .envs(env_for(site, &[]))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let line = format!("{password}\n");
    std::io::Write::write_all(c.stdin.as_mut().unwrap(), line.as_bytes()).unwrap();
    assert!(c.wait().unwrap().success());
}

/// Units A and B with one station each; returns their tokens.
fn two_units(dir: &Site) -> (String, String) {
    admin(
        dir,
        &["unit", "create", "--code", "XA", "--name", "Xã An Bình"],
    );
    admin(
        dir,
        &[
            "unit",
            "create",
            "--code",
            "PB",
            "--name",
            "Phường Bến Nghé",
        ],
    );
    let a = admin(
        dir,
        &["station", "create", "--unit", "XA", "--name", "quầy 1"],
    );
    let b = admin(
        dir,
        &["station", "create", "--unit", "PB", "--name", "quầy 1"],
    );
    assert!(a.starts_with("mcs_") && b.starts_with("mcs_"));
    (a, b)
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

fn auth(r: RequestBuilder, token: &str) -> RequestBuilder {
    r.header("Authorization", format!("Bearer {token}"))
}

fn json(r: reqwest::blocking::Response) -> (StatusCode, Value) {
    let s = r.status();
    let text = r.text().unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{s}: not JSON: {text}"));
    (s, v)
}

fn create_dossier(s: &Server, token: Option<&str>, unit: Option<&str>) -> (StatusCode, Value) {
    let mut body = serde_json::json!({ "procedure": "dang-ky-khai-sinh" });
    if let Some(u) = unit {
        body["unit"] = u.into();
    }
    let mut r = client()
        .post(format!("{}/api/v1/dossiers", s.url))
        .json(&body);
    if let Some(t) = token {
        r = auth(r, t);
    }
    json(r.send().unwrap())
}

fn upload(s: &Server, token: &str, code: &str, form: Form) -> (StatusCode, Value) {
    json(
        auth(
            client().post(format!("{}/api/v1/dossiers/{code}/attachments", s.url)),
            token,
        )
        .multipart(form)
        .send()
        .unwrap(),
    )
}

fn get_dossier(s: &Server, token: &str, code: &str) -> (StatusCode, Value) {
    json(
        auth(
            client().get(format!("{}/api/v1/dossiers/{code}", s.url)),
            token,
        )
        .send()
        .unwrap(),
    )
}

/// Polls until every attachment is done or failed.
fn wait_settled(s: &Server, token: &str, code: &str) -> Value {
    let t = Instant::now();
    loop {
        let (st, d) = get_dossier(s, token, code);
        assert_eq!(st, StatusCode::OK, "{d}");
        let settled = d["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["status"] == "done" || a["status"] == "failed");
        if settled {
            return d;
        }
        assert!(
            t.elapsed() < Duration::from_secs(900),
            "not settled: {d:#}\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// While the database or the store is down: an upload is refused with 503 `unavailable` and
/// `Retry-After: retry_after`, and the service reports itself not ready.
fn assert_upload_unavailable(s: &Server, token: &str, code: &str, form: Form, retry_after: &str) {
    let r = auth(
        client().post(format!("{}/api/v1/dossiers/{code}/attachments", s.url)),
        token,
    )
    .multipart(form)
    .send()
    .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], retry_after);
    let (_, e) = json(r);
    assert_eq!(e["error"]["code"], "unavailable", "{e}");
    let ready = client().get(format!("{}/readyz", s.url)).send().unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
}

fn get_bytes(s: &Server, token: &str, path: &str) -> (StatusCode, Vec<u8>) {
    let r = auth(client().get(format!("{}{path}", s.url)), token)
        .send()
        .unwrap();
    (r.status(), r.bytes().unwrap().to_vec())
}

fn sha256(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// The whole dev corpus, as a station sends its day's scans in one batch. Files with the same
/// bytes (identical blank backs) are sent once: a second copy would rightly be a duplicate.
fn batch() -> Vec<String> {
    let names = common::distinct_corpus_files();
    assert!(names.len() >= 50, "{names:?}");
    names
}

fn a_station_batch_is_processed_to_text_and_searchable_pdfs_and_a_corrupt_file_fails_alone(
    dir: Site,
) {
    let (ta, _) = two_units(&dir);
    let s = Server::start(&dir, &[]);
    let (st, d) = create_dossier(&s, Some(&ta), None);
    assert_eq!(st, StatusCode::CREATED, "{d}");
    assert_eq!(d["unit"], "XA");
    assert!(
        d.get("upload_token").is_none(),
        "stations get no citizen token"
    );
    let code = d["code"].as_str().unwrap().to_string();

    let jpg = std::fs::read(corpus("dev-017-cccd-scan.jpg")).unwrap();
    let cut = jpg[..jpg.len() / 2].to_vec();
    let batch = batch();
    let n = batch.len();
    let mut form = Form::new();
    for name in &batch {
        form = form.file("file", corpus(name)).unwrap();
    }
    form = form.part(
        "file",
        Part::bytes(cut.clone()).file_name("../../etc/cut.jpg"),
    );
    let (st, receipt) = upload(&s, &ta, &code, form);
    assert_eq!(st, StatusCode::ACCEPTED, "{receipt}");
    let items = receipt["attachments"].as_array().unwrap();
    assert_eq!(items.len(), n + 1, "{receipt}");
    assert!(items.iter().all(|a| a["duplicate"] == false));
    assert_eq!(
        items[n]["filename"], "../../etc/cut.jpg",
        "kept for display"
    );

    // The same bytes again: the same attachment, nothing new queued.
    let again = Form::new().file("file", corpus(&batch[5])).unwrap();
    let (st, r) = upload(&s, &ta, &code, again);
    assert_eq!(st, StatusCode::ACCEPTED, "{r}");
    assert_eq!(r["attachments"][0]["id"], items[5]["id"]);
    assert_eq!(r["attachments"][0]["duplicate"], true);

    let d = wait_settled(&s, &ta, &code);
    let atts = d["attachments"].as_array().unwrap();
    assert_eq!(atts.len(), n + 1, "re-upload added nothing");
    for (a, name) in atts.iter().zip(&batch) {
        assert_eq!(a["status"], "done", "{name}: {a:#}");
        assert_eq!(a["filename"], name.as_str());
        let bytes = std::fs::read(corpus(name)).unwrap();
        assert_eq!(a["sha256"], sha256(&bytes));
        assert_eq!(a["job"]["attempts"], 1, "{name}");
        // The original comes back byte for byte.
        let (st, orig) = get_bytes(&s, &ta, a["links"]["original"].as_str().unwrap());
        assert_eq!(st, StatusCode::OK);
        assert_eq!(sha256(&orig), sha256(&bytes), "{name}");

        let pages = a["pages"].as_array().unwrap();
        assert_eq!(pages.len() as u64, a["page_count"].as_u64().unwrap());
        let text: Vec<&str> = pages.iter().map(|p| p["text"].as_str().unwrap()).collect();
        if name.contains("blank") {
            assert_eq!(pages[0]["blank"], true, "{name}");
            continue;
        }
        assert!(
            text.iter().all(|t| t.chars().count() > 20),
            "{name}: {text:?}"
        );
        for key in ["orientation", "skew", "dpi", "mean_confidence", "status"] {
            assert!(pages[0].get(key).is_some(), "{name}: page lacks {key}");
        }
        // The searchable PDF's text layer, read by poppler, is the stored text.
        let (st, pdf) = get_bytes(&s, &ta, a["links"]["pdf"].as_str().unwrap());
        assert_eq!(st, StatusCode::OK, "{name}");
        let path = dir.path().join(format!("{name}.pdf"));
        std::fs::write(&path, &pdf).unwrap();
        let layer = pdftotext(&path, true);
        let c = cer(&text.join("\n"), &layer);
        assert!(
            c < 0.01,
            "{name}: CER {c:.4} between stored text and PDF layer"
        );
    }
    let turned = &atts[0]["pages"][0];
    assert_ne!(
        turned["orientation"], 0,
        "a turned page is set upright: {turned}"
    );
    let card =
        atts[batch.iter().position(|b| b.contains("cccd-clean")).unwrap()]["pages"][0]["text"]
            .as_str()
            .unwrap();
    assert!(card.contains("CĂN CƯỚC"), "{card}");

    // The corrupt file failed with its code; everything else completed.
    let bad = &atts[n];
    assert_eq!(bad["status"], "failed", "{bad:#}");
    assert_eq!(bad["error"]["code"], "corrupt_file", "{bad:#}");
    assert_eq!(bad["job"]["state"], "failed");
    assert_eq!(bad["job"]["attempts"], 1, "bad input is not retried");
    assert!(bad["links"]["pdf"].is_null());
    let (st, _) = get_bytes(
        &s,
        &ta,
        &format!("/api/v1/dossiers/{code}/attachments/{}/pdf", bad["id"]),
    );
    assert_eq!(st, StatusCode::CONFLICT);

    // The client's file name never reached the store.
    let names = common::s3::stored_blobs(dir.path());
    assert!(names.len() > n, "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| !n.contains("cut") && !n.contains("dev-")),
        "{names:?}"
    );

    let m = metrics(&s);
    for needle in [
        &format!("motcua_uploads_total{{result=\"accepted\"}} {}", n + 1),
        "motcua_uploads_total{result=\"duplicate\"} 1",
        &format!("motcua_queue_jobs{{state=\"done\"}} {n}"),
        "motcua_queue_jobs{state=\"failed\"} 1",
        "motcua_job_stage_seconds_count{stage=\"ocr\"}",
        "motcua_job_failures_total{code=\"corrupt_file\",outcome=\"abort\"} 1",
    ] {
        assert!(m.contains(needle), "metrics lack {needle}:\n{m}");
    }

    // Scanner software's image-only PDF (here Tesseract's, a CCITT G4 page inside) is an
    // attachment like any other.
    let scan = std::fs::read(fixture("text-fax-g4.pdf")).unwrap();
    let (st, r) = upload(
        &s,
        &ta,
        &code,
        Form::new().part("file", Part::bytes(scan).file_name("scan.pdf")),
    );
    assert_eq!(st, StatusCode::ACCEPTED, "{r}");
    assert_eq!(r["attachments"][0]["media_type"], "application/pdf");
    let d = wait_settled(&s, &ta, &code);
    let a = d["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == r["attachments"][0]["id"])
        .unwrap();
    assert_eq!(a["status"], "done", "{a:#}");
    assert_eq!(a["page_count"], 1);
    let text = a["pages"][0]["text"].as_str().unwrap();
    assert!(text.contains("Chính phủ điện tử"), "{text}");

    let status = s.terminate();
    assert!(status.success(), "graceful exit: {status}");
}

fn metrics(s: &Server) -> String {
    client()
        .get(format!("{}/metrics", s.url))
        .send()
        .unwrap()
        .text()
        .unwrap()
}

fn stations_and_citizens_reach_only_their_own_dossiers(dir: Site) {
    let (ta, tb) = two_units(&dir);
    // No workers: this test is about the API only.
    let s = Server::start(&dir, &[("MOTCUA__QUEUE__WORKERS", "0")]);
    let (_, d) = create_dossier(&s, Some(&ta), None);
    let code = d["code"].as_str().unwrap().to_string();
    let png = || Form::new().file("file", fixture("cccd-clean.png")).unwrap();

    // Station of unit PB on a dossier of unit XA: 403, for reading and for uploading.
    let (st, e) = get_dossier(&s, &tb, &code);
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (st, e) = upload(&s, &tb, &code, png());
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (st, e) = create_dossier(&s, Some(&tb), Some("XA"));
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    // Unknown token: 401; no token: 401 on a dossier.
    let (st, e) = get_dossier(&s, "mcs_0000", &code);
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    let (st, _) = json(
        client()
            .get(format!("{}/api/v1/dossiers/{code}", s.url))
            .send()
            .unwrap(),
    );
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = get_dossier(&s, &ta, "XA-NOSUCHCODE");
    assert_eq!(st, StatusCode::NOT_FOUND);

    // The portal creates a dossier without a station token and gets a citizen token for it.
    let (st, p) = create_dossier(&s, None, Some("PB"));
    assert_eq!(st, StatusCode::CREATED, "{p}");
    assert_eq!(p["source"], "portal");
    let citizen = p["upload_token"].as_str().unwrap().to_string();
    let pcode = p["code"].as_str().unwrap().to_string();
    let (st, r) = upload(&s, &citizen, &pcode, png());
    assert_eq!(st, StatusCode::ACCEPTED, "{r}");
    let (st, _) = get_dossier(&s, &citizen, &pcode);
    assert_eq!(st, StatusCode::OK);
    // …and only for it.
    let (st, e) = upload(&s, &citizen, &code, png());
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (st, _) = create_dossier(&s, Some(&citizen), Some("PB"));
    assert_eq!(st, StatusCode::FORBIDDEN);
    // The unit's own station sees the portal dossier; the other unit's does not.
    assert_eq!(get_dossier(&s, &tb, &pcode).0, StatusCode::OK);
    assert_eq!(get_dossier(&s, &ta, &pcode).0, StatusCode::FORBIDDEN);
    // A clerk (argon2 password, HTTP Basic) reads the dossiers of their unit only.
    create_clerk(&dir, "XA", "lan.nguyen", "mat-khau-rat-dai");
    let clerk = |pw: &str, code: &str| {
        client()
            .get(format!("{}/api/v1/dossiers/{code}", s.url))
            .basic_auth("lan.nguyen", Some(pw))
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(clerk("mat-khau-rat-dai", &code), StatusCode::OK);
    assert_eq!(clerk("mat-khau-rat-dai", &pcode), StatusCode::FORBIDDEN);
    assert_eq!(clerk("wrong-password", &code), StatusCode::UNAUTHORIZED);
    let (st, e) = create_dossier(&s, None, Some("NOPE"));
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
}

fn limits_and_types_are_typed_errors(dir: Site) {
    let (ta, _) = two_units(&dir);
    let s = Server::start(
        &dir,
        &[
            ("MOTCUA__QUEUE__WORKERS", "0"),
            ("MOTCUA__SERVER__MAX_FILES_PER_REQUEST", "3"),
            ("MOTCUA__SERVER__MAX_REQUEST_BYTES", "400000"),
            ("MOTCUA__LIMITS__MAX_FILE_BYTES", "150000"),
        ],
    );
    let (_, d) = create_dossier(&s, Some(&ta), None);
    let code = d["code"].as_str().unwrap().to_string();
    let small = std::fs::read(fixture("cccd-scan.jpg")).unwrap();
    assert!(small.len() < 150_000);
    let part = |b: &[u8], n: &str| Part::bytes(b.to_vec()).file_name(n.to_string());
    let err =
        |(st, v): (StatusCode, Value)| (st, v["error"]["code"].as_str().unwrap_or("").to_string());

    // Too many files.
    let mut form = Form::new();
    for i in 0..4 {
        let mut b = small.clone();
        b.push(i);
        form = form.part("file", part(&b, "a.jpg"));
    }
    assert_eq!(
        err(upload(&s, &ta, &code, form)),
        (StatusCode::PAYLOAD_TOO_LARGE, "too_many_files".into())
    );
    // One file over the per-file limit.
    let mut big = small.clone();
    big.resize(200_000, 0);
    assert_eq!(
        err(upload(
            &s,
            &ta,
            &code,
            Form::new().part("file", part(&big, "big.jpg"))
        )),
        (StatusCode::PAYLOAD_TOO_LARGE, "file_too_large".into())
    );
    // A declared body over the request limit is refused before it is sent.
    let head = format!(
        "POST /api/v1/dossiers/{code}/attachments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ta}\r\n\
         Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000000\r\n\
         Expect: 100-continue\r\n\r\n"
    );
    let mut tcp = std::net::TcpStream::connect(s.url.trim_start_matches("http://")).unwrap();
    std::io::Write::write_all(&mut tcp, head.as_bytes()).unwrap();
    let mut resp = String::new();
    let mut buf = [0u8; 4096];
    while !resp.contains("}}") {
        let n = std::io::Read::read(&mut tcp, &mut buf).unwrap();
        assert!(n > 0, "closed: {resp}");
        resp.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
    assert!(resp.contains("\"code\":\"request_too_large\""), "{resp}");
    // Types by content, not name: a text file named .jpg is refused, a JPEG named .txt accepted.
    let (st, r) = upload(
        &s,
        &ta,
        &code,
        Form::new()
            .part("file", part(b"Kinh gui UBND xa", "scan.jpg"))
            .part("file", part(&small, "note.txt"))
            .part("file", part(b"", "empty.png")),
    );
    assert_eq!(st, StatusCode::ACCEPTED, "{r}");
    assert_eq!(r["attachments"].as_array().unwrap().len(), 1);
    assert_eq!(r["attachments"][0]["media_type"], "image/jpeg");
    assert_eq!(r["rejected"][0]["code"], "unsupported_media_type");
    assert_eq!(r["rejected"][0]["filename"], "scan.jpg");
    assert_eq!(r["rejected"][1]["code"], "empty_file");
    // Only unsupported files: 415.
    assert_eq!(
        err(upload(
            &s,
            &ta,
            &code,
            Form::new().part("file", part(b"PK\x03\x04\x14\x00\x06\x00", "a.docx"))
        )),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type".into()
        )
    );
    // No file at all.
    assert_eq!(
        err(upload(&s, &ta, &code, Form::new().text("note", "hello"))),
        (StatusCode::BAD_REQUEST, "no_files".into())
    );
    // Nothing refused became an attachment, and no temp file was left behind.
    let (_, d) = get_dossier(&s, &ta, &code);
    assert_eq!(d["attachments"].as_array().unwrap().len(), 1, "{d}");
    let blobs = common::s3::stored_blobs(dir.path());
    assert!(blobs.iter().all(|k| !k.starts_with("tmp/")), "{blobs:?}");
    let health = client().get(format!("{}/readyz", s.url)).send().unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

/// Waits until the attachment's job is running, i.e. its pages are being read.
fn wait_processing(s: &Server, token: &str, code: &str) -> Value {
    let t = Instant::now();
    loop {
        let (_, d) = get_dossier(s, token, code);
        let a = d["attachments"][0].clone();
        if a["status"] == "processing" {
            return a;
        }
        assert_ne!(
            a["status"], "done",
            "finished before it could be interrupted"
        );
        assert!(t.elapsed() < Duration::from_secs(300), "{d}\n{}", s.log());
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn a_job_of_a_killed_worker_completes_exactly_once_after_restart(dir: Site) {
    let (ta, _) = two_units(&dir);
    let cfg = [
        ("MOTCUA__QUEUE__WORKERS", "1"),
        ("MOTCUA__QUEUE__LEASE_SECS", "3"),
        ("MOTCUA__QUEUE__HEARTBEAT_SECS", "1"),
        ("MOTCUA__QUEUE__LOST_BACKOFF_SECS", "1"),
    ];
    let s = Server::start(&dir, &cfg);
    let (_, d) = create_dossier(&s, Some(&ta), None);
    let code = d["code"].as_str().unwrap().to_string();
    // A two-page TIFF: a few seconds of OCR.
    let form = Form::new()
        .file("file", fixture("two-pages-g4.tif"))
        .unwrap();
    let (st, r) = upload(&s, &ta, &code, form);
    assert_eq!(st, StatusCode::ACCEPTED, "{r}");
    let a = wait_processing(&s, &ta, &code);
    assert_eq!(a["job"]["state"], "running");
    // kill -9 in the middle of OCR.
    drop(s);

    let s = Server::start(&dir, &cfg);
    let d = wait_settled(&s, &ta, &code);
    let a = &d["attachments"][0];
    assert_eq!(a["status"], "done", "{a:#}");
    // Claimed again after the lease ran out, the lost attempt given back.
    assert_eq!(
        (
            a["job"]["attempts"].as_u64(),
            a["job"]["lost_leases"].as_u64()
        ),
        (Some(1), Some(1)),
        "{a:#}"
    );
    assert_eq!(a["page_count"], 2);
    let idx: Vec<_> = a["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["index"].clone())
        .collect();
    assert_eq!(idx, [0, 1], "pages written once");
    let m = metrics(&s);
    assert!(m.contains("motcua_jobs_completed_total 1"), "{m}");
    assert!(m.contains("motcua_queue_jobs{state=\"done\"} 1"), "{m}");
    assert!(m.contains("motcua_queue_jobs{state=\"running\"} 0"), "{m}");
}

fn shutdown_releases_a_claim_it_cannot_finish_in_its_grace_period(dir: Site) {
    let (ta, _) = two_units(&dir);
    let cfg = [
        ("MOTCUA__QUEUE__WORKERS", "1"),
        ("MOTCUA__SERVER__SHUTDOWN_GRACE_SECS", "0"),
    ];
    let s = Server::start(&dir, &cfg);
    let (_, d) = create_dossier(&s, Some(&ta), None);
    let code = d["code"].as_str().unwrap().to_string();
    let form = Form::new()
        .file("file", fixture("two-pages-g4.tif"))
        .unwrap();
    assert_eq!(upload(&s, &ta, &code, form).0, StatusCode::ACCEPTED);
    wait_processing(&s, &ta, &code);
    let log_path = s.log.clone();
    let status = s.terminate();
    assert!(status.success(), "{status}");
    let log = std::fs::read_to_string(log_path).unwrap();
    assert!(log.contains("released claims at shutdown"), "{log}");

    // With the default 60 s lease, only the release lets the next process start at once. This
    // time the API runs without workers and a separate `motcua worker` shares its data dir.
    let s = Server::start(&dir, &[("MOTCUA__QUEUE__WORKERS", "0")]);
    let worker_log = dir.path().join("worker.log");
    let mut worker = Command::new(BIN)
        .arg("worker")
        .envs(env_for(&dir, &[("MOTCUA__QUEUE__WORKERS", "1")]))
        .stderr(std::fs::File::create(&worker_log).unwrap())
        .spawn()
        .unwrap();
    let d = wait_settled(&s, &ta, &code);
    assert!(common::sigterm(&mut worker).success());
    let log = std::fs::read_to_string(worker_log).unwrap();
    assert!(log.contains("job done"), "{log}");
    let a = &d["attachments"][0];
    assert_eq!(a["status"], "done", "{a:#}");
    assert_eq!(
        a["job"]["attempts"], 1,
        "a released claim is not a failed attempt"
    );
}

/// A birth-registration dossier: the worker extracts the declaration's and the card's fields, and
/// once both are processed the pipeline's checks flag that no CCCD carries the requester's ID.
fn fields_and_review_flags_come_with_the_dossier(dir: Site) {
    let (token, _) = two_units(&dir);
    let s = Server::start(&dir, &[]);
    let (st, d) = create_dossier(&s, Some(&token), None);
    assert_eq!(st, StatusCode::CREATED, "{d}");
    let code = d["code"].as_str().unwrap().to_string();
    let form = Form::new()
        .file("file", corpus("dev-020-birth_declaration-clean.png"))
        .unwrap()
        .file("file", fixture("cccd-clean.png"))
        .unwrap();
    let (st, up) = upload(&s, &token, &code, form);
    assert_eq!(st, StatusCode::ACCEPTED, "{up}");
    let mut d = wait_settled(&s, &token, &code);
    // The checks run right after the last attachment is marked done.
    let t = Instant::now();
    while d["review_flags"].as_array().unwrap().is_empty() && t.elapsed() < Duration::from_secs(30)
    {
        std::thread::sleep(Duration::from_millis(200));
        d = get_dossier(&s, &token, &code).1;
    }
    let atts = d["attachments"].as_array().unwrap();
    let field = |att: &Value, name: &str| {
        att["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {att:#}\n{}", s.log()))
    };
    let decl = &atts[0];
    assert_eq!(field(decl, "requester.pid")["value"], "072196276089");
    assert_eq!(field(decl, "requester.pid")["model"], "to_khai_khai_sinh");
    assert_eq!(field(decl, "child.dob")["value"], "2020-05-25");
    assert_eq!(field(decl, "child.dob")["source"], "ocr");
    let card = &atts[1];
    assert_eq!(field(card, "pid")["value"], "072172124924");
    assert_eq!(field(card, "pid")["validation"]["status"], "valid");
    let flags = d["review_flags"].as_array().unwrap();
    assert!(
        flags
            .iter()
            .any(|f| f["code"] == "no_matching_document" && f["check"] == "requester_id_card"),
        "{flags:#?}"
    );
    assert!(
        flags.iter().all(|f| f["code"] != "missing_attachment"),
        "{flags:#?}"
    );
}

/// A SeaweedFS of one test's own (own ports and folder), driven by `scripts/s3.sh`; stopped
/// when dropped.
struct OwnS3 {
    port: u16,
    dir: PathBuf,
}

impl OwnS3 {
    fn start(dir: PathBuf) -> OwnS3 {
        let s3 = OwnS3 {
            port: free_port_block(),
            dir,
        };
        s3.script("start");
        s3
    }

    fn script(&self, cmd: &str) {
        assert!(self.run(cmd), "scripts/s3.sh {cmd}");
    }

    fn run(&self, cmd: &str) -> bool {
        Command::new("bash")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/s3.sh"))
            .arg(cmd)
            .env("MOTCUA_S3_PORT", self.port.to_string())
            .env("MOTCUA_S3_DIR", &self.dir)
            .status()
            .is_ok_and(|s| s.success())
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for OwnS3 {
    fn drop(&mut self) {
        self.run("stop");
    }
}

/// A port whose next four and their gRPC ports (+10000) are free too, as `weed mini` needs.
fn free_port_block() -> u16 {
    let free = |p: u16| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok();
    for _ in 0..200 {
        let base = rand::random_range(20_000..29_000u16);
        if (base..base + 5).all(|p| free(p) && free(p + 10_000)) {
            return base;
        }
    }
    panic!("no free block of ports for SeaweedFS");
}

/// The store goes down: an upload gets 503 + Retry-After and leaves nothing behind; a worker
/// whose job hits the outage retries it later and waits for the store instead of using up the
/// job's attempts; once the store is back the job completes.
#[test]
fn an_s3_outage_is_a_503_with_retry_after_and_jobs_wait_for_the_store() {
    let Some(_) = common::s3::endpoint_or_skip("an_s3_outage_is_a_503_with_retry_after_…") else {
        return;
    };
    let dir = Site::new(Backend::Sqlite);
    let (ta, _) = two_units(&dir);
    let s3 = OwnS3::start(dir.path().join("seaweedfs"));
    let bucket = "motcua-outage";
    let mut env = common::s3::store_env_at(&s3.endpoint(), bucket);
    env.extend(
        [
            ("MOTCUA__SERVER__RETRY_AFTER_SECS", "7"),
            ("MOTCUA__STORE__MAX_ATTEMPTS", "2"),
            ("MOTCUA__STORE__INITIAL_BACKOFF_MS", "50"),
            ("MOTCUA__STORE__MAX_BACKOFF_MS", "100"),
            ("MOTCUA__STORE__CONNECT_TIMEOUT_MS", "500"),
            ("MOTCUA__QUEUE__BACKOFF_BASE_MS", "300"),
            ("MOTCUA__QUEUE__BACKOFF_MAX_MS", "1000"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let with = |more: &[(&'static str, &'static str)]| {
        let mut e: Vec<(String, String)> = env.clone();
        e.extend(more.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        e
    };
    let api_env = with(&[("MOTCUA__QUEUE__WORKERS", "0")]);
    let api_env: Vec<(&str, &str)> = api_env.iter().map(|(k, v)| (&**k, &**v)).collect();
    let s = Server::start(&dir, &api_env);
    let (_, d) = create_dossier(&s, Some(&ta), None);
    let code = d["code"].as_str().unwrap().to_string();
    let png = || Form::new().file("file", fixture("cccd-clean.png")).unwrap();

    s3.script("stop");
    assert_upload_unavailable(&s, &ta, &code, png(), "7");
    let (_, d) = get_dossier(&s, &ta, &code);
    assert_eq!(d["attachments"], serde_json::json!([]), "nothing committed");

    s3.script("start");
    let (st, r) = upload(&s, &ta, &code, png());
    assert_eq!(st, StatusCode::ACCEPTED, "{r}\n{}", s.log());

    // The store goes down before any worker reads the original.
    s3.script("stop");
    let worker_log = dir.path().join("worker.log");
    let mut worker = Command::new(BIN)
        .arg("worker")
        .envs(env_for(&dir, &[]))
        .envs(with(&[
            ("MOTCUA__QUEUE__WORKERS", "1"),
            // Starts although the store is down.
            ("MOTCUA__STORE__CREATE_BUCKET", "false"),
        ]))
        .stderr(std::fs::File::create(&worker_log).unwrap())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let a = loop {
        let (_, d) = get_dossier(&s, &ta, &code);
        let a = d["attachments"][0].clone();
        // The store's outage gives the attempt back.
        if a["job"]["last_error"].is_string() && a["job"]["state"] == "queued" {
            break a;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "{a:#}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let err = a["job"]["last_error"].as_str().unwrap_or_default();
    assert!(err.contains("unavailable"), "{a:#}");
    // The job may run again after 300 ms, but the worker waits for the store first.
    std::thread::sleep(Duration::from_secs(3));
    let (_, d) = get_dossier(&s, &ta, &code);
    assert_eq!(d["attachments"][0]["job"]["attempts"], 0, "{d:#}");
    assert_eq!(d["attachments"][0]["status"], "queued", "{d:#}");

    s3.script("start");
    let d = wait_settled(&s, &ta, &code);
    assert!(common::sigterm(&mut worker).success());
    let log = std::fs::read_to_string(&worker_log).unwrap();
    let a = &d["attachments"][0];
    assert_eq!(a["status"], "done", "{a:#}\n{log}");
    assert_eq!(a["job"]["attempts"], 1, "{a:#}");
    assert!(log.contains("blob store answers again"), "{log}");
    let (st, pdf) = get_bytes(&s, &ta, a["links"]["pdf"].as_str().unwrap());
    assert_eq!(st, StatusCode::OK);
    assert!(pdf.starts_with(b"%PDF"));

    // Nothing half-written: the original and its PDF, no temp object, no pending upload.
    let c = common::s3::client(&s3.endpoint());
    let keys = common::s3::block_on(common::s3::keys_under(&c, bucket, ""));
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys.iter().any(|k| k.starts_with("originals/")), "{keys:?}");
    assert!(keys.iter().any(|k| k.starts_with("derived/")), "{keys:?}");
    let pending = common::s3::block_on(common::s3::pending_uploads(&c, bucket, ""));
    assert!(pending.is_empty(), "{pending:?}");
}
