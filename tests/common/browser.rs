//! The real binary and a headless Chromium for the clerk UI: shared by `tests/browser.rs` and
//! `benches/review_paint.rs`, which include it with `#[path]` next to `mod common;` (it is not
//! a module of `common`, so the other test binaries do not build it). Chromium is Debian's
//! `chromium` + `chromium-driver` (scripts/setup.sh installs them), driven over WebDriver by
//! fantoccini.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::common;

pub const BIN: &str = env!("CARGO_BIN_EXE_motcua");
/// The password every clerk made by these helpers has.
pub const PASSWORD: &str = "mật khẩu tốt";

/// A child process, killed when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The environment of `motcua` on the data dir `dir` (SQLite and files, the embedded default).
pub fn env(dir: &Path) -> Vec<(String, String)> {
    vec![
        ("MOTCUA__SERVER__DATA_DIR".into(), dir.display().to_string()),
        ("MOTCUA__SERVER__LISTEN".into(), "127.0.0.1:0".into()),
        ("RUST_LOG".into(), "info".into()),
    ]
}

/// `motcua admin ARGS` with `stdin` written to it; its trimmed stdout.
pub fn admin(dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let mut child = Command::new(BIN)
        .arg("admin")
        .args(args)
        .envs(env(dir))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "admin {args:?}: {}", common::stderr(&o));
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

/// A clerk of `unit` with [`PASSWORD`].
pub fn clerk(dir: &Path, unit: &str, username: &str) {
    admin(
        dir,
        &["clerk", "create", "--unit", unit, "--username", username],
        Some(&format!("{PASSWORD}\n")),
    );
}

/// `motcua serve` on `dir` with `extra` settings; its base URL. The log goes to `dir/serve.log`.
pub fn serve(dir: &Path, extra: &[(&str, &str)]) -> (Proc, String) {
    let log = std::fs::File::create(dir.join("serve.log")).unwrap();
    let mut child = Command::new(BIN)
        .arg("serve")
        .envs(env(dir))
        .envs(extra.iter().copied())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    (Proc(child), url)
}

pub fn chromedriver() -> (Proc, String) {
    let port = common::free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (Debian chromium-driver; scripts/setup.sh installs it)");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    (Proc(child), url)
}

/// A new headless Chromium session: a fresh profile, so an empty cache and no cookies.
pub async fn browser(driver: &str) -> Client {
    let mut caps = serde_json::Map::new();
    let mut args = vec!["--headless=new", "--window-size=1500,1000", "--lang=vi"];
    // Chromium refuses to run as root without it (CI runs as root).
    if Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"))
    {
        args.push("--no-sandbox");
    }
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"args": args, "binary": "/usr/bin/chromium"}),
    );
    ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(driver)
        .await
        .expect("a headless Chromium session")
}

/// Logs `user` in through the login form and waits for the inbox.
pub async fn login(c: &Client, base: &str, user: &str) {
    c.goto(&format!("{base}/review/login")).await.unwrap();
    c.find(Locator::Css("input[name=username]"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    let pw = c.find(Locator::Css("input[name=password]")).await.unwrap();
    pw.send_keys(PASSWORD).await.unwrap();
    pw.send_keys(&char::from(Key::Enter).to_string())
        .await
        .unwrap();
    wait_path(c, "/review/").await;
}

pub async fn wait_path(c: &Client, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let url = c.current_url().await.unwrap();
        if url.path() == want {
            return;
        }
        assert!(Instant::now() < deadline, "still at {url}, want {want}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs `script` (a function body) in the page and returns its value.
pub async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.unwrap()
}

pub fn artifacts(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A new dossier of `procedure` with `files` uploaded by the station `token` in one request;
/// returns its code once processing is done and it waits for review.
pub fn upload_and_wait(
    base: &str,
    token: &str,
    procedure: &str,
    files: &[PathBuf],
    within: Duration,
) -> String {
    let http = reqwest::blocking::Client::new();
    let d: Value = http
        .post(format!("{base}/api/v1/dossiers"))
        .bearer_auth(token)
        .json(&json!({ "procedure": procedure }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let code = d["code"].as_str().unwrap().to_string();
    let mut form = reqwest::blocking::multipart::Form::new();
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        form = form.part(
            "file",
            reqwest::blocking::multipart::Part::bytes(std::fs::read(f).unwrap()).file_name(name),
        );
    }
    let r = http
        .post(format!("{base}/api/v1/dossiers/{code}/attachments"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(r.status(), 202);
    let deadline = Instant::now() + within;
    loop {
        let v: Value = http
            .get(format!("{base}/api/v1/dossiers/{code}"))
            .bearer_auth(token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        if v["state"] == "needs_review" {
            return code;
        }
        assert!(Instant::now() < deadline, "not processed: {v}");
        std::thread::sleep(Duration::from_millis(500));
    }
}
