//! The clerk UI in a real browser: headless Chromium (Debian `chromium` + `chromium-driver`,
//! installed by scripts/setup.sh) driven over WebDriver by fantoccini, against the real binary
//! on the embedded default. Screenshots go to `target/browser-artifacts/`.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_motcua");
/// Sessions idle longer than this go back to the login page (short, for the expiry check).
const IDLE_SECS: u64 = 20;

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn env(dir: &Path) -> Vec<(String, String)> {
    vec![
        ("MOTCUA__SERVER__DATA_DIR".into(), dir.display().to_string()),
        ("MOTCUA__SERVER__LISTEN".into(), "127.0.0.1:0".into()),
        (
            "MOTCUA__REVIEW__SESSION_IDLE_SECS".into(),
            IDLE_SECS.to_string(),
        ),
        ("RUST_LOG".into(), "info".into()),
    ]
}

fn admin(dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
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

fn serve(dir: &Path) -> (Proc, String) {
    let log = std::fs::File::create(dir.join("serve.log")).unwrap();
    let mut child = Command::new(BIN)
        .arg("serve")
        .envs(env(dir))
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

fn chromedriver() -> (Proc, String) {
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

async fn browser(driver: &str) -> Client {
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

fn artifacts() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts");
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(artifacts().join(format!("{name}.png")), png).unwrap();
}

async fn login(c: &Client, base: &str, user: &str) {
    c.goto(&format!("{base}/review/login")).await.unwrap();
    c.find(Locator::Css("input[name=username]"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    let pw = c.find(Locator::Css("input[name=password]")).await.unwrap();
    pw.send_keys("mật khẩu tốt").await.unwrap();
    pw.send_keys(&char::from(Key::Enter).to_string())
        .await
        .unwrap();
    wait_path(c, "/review/").await;
}

async fn wait_path(c: &Client, want: &str) {
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
async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.unwrap()
}

/// The status of a `fetch(path, init)` made by the page itself (its cookies, no CSRF header).
async fn fetch_status(c: &Client, path: &str, init: &str) -> Value {
    let script = format!(
        "const done = arguments[arguments.length - 1];
         fetch('{path}', {init}).then(r => done(r.status), e => done(String(e)));"
    );
    c.execute_async(&script, vec![]).await.unwrap()
}

async fn keys(c: &Client, k: &str) {
    c.active_element()
        .await
        .unwrap()
        .send_keys(k)
        .await
        .unwrap();
}

fn upload_and_wait(base: &str, token: &str) -> String {
    let http = reqwest::blocking::Client::new();
    let d: Value = http
        .post(format!("{base}/api/v1/dossiers"))
        .bearer_auth(token)
        .json(&json!({"procedure": "dang_ky_khai_sinh"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let code = d["code"].as_str().unwrap().to_string();
    let file = std::fs::read(common::fixture("cccd-clean.png")).unwrap();
    let form = reqwest::blocking::multipart::Form::new().part(
        "file",
        reqwest::blocking::multipart::Part::bytes(file).file_name("cccd.png"),
    );
    let r = http
        .post(format!("{base}/api/v1/dossiers/{code}/attachments"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(r.status(), 202);
    let deadline = Instant::now() + Duration::from_secs(240);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerk_reviews_a_dossier_in_the_browser_with_the_keyboard() {
    if std::env::var("MOTCUA_TEST_PG_URL").is_ok_and(|v| !v.is_empty()) {
        // The UI is the same on every backend; the SQLite pass of scripts/test.sh runs it.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED browser test on the PostgreSQL pass"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    admin(
        d,
        &["unit", "create", "--code", "XA", "--name", "Xã An Bình"],
        None,
    );
    admin(
        d,
        &[
            "unit",
            "create",
            "--code",
            "PB",
            "--name",
            "Phường Bến Nghé",
        ],
        None,
    );
    let token = admin(
        d,
        &["station", "create", "--unit", "XA", "--name", "quầy 1"],
        None,
    );
    for (user, unit) in [("lan", "XA"), ("mai", "XA"), ("tuan", "PB")] {
        admin(
            d,
            &["clerk", "create", "--unit", unit, "--username", user],
            Some("mật khẩu tốt\n"),
        );
    }
    let (_server, base) = serve(d);
    let code = tokio::task::spawn_blocking({
        let (base, token) = (base.clone(), token.clone());
        move || upload_and_wait(&base, &token)
    })
    .await
    .unwrap();
    let (_driver, driver) = chromedriver();

    let lan = browser(&driver).await;
    login(&lan, &base, "lan").await;
    let row = lan
        .find(Locator::Css(&format!("tr.dossier[data-code='{code}']")))
        .await
        .expect("the dossier in the inbox");
    assert!(row.text().await.unwrap().contains("Chờ kiểm tra"));
    shot(&lan, "inbox").await;
    lan.find(Locator::Id("take-next"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_path(&lan, &format!("/review/dossiers/{code}")).await;

    // Keyboard only from here: jump to the first field that needs attention.
    keys(&lan, &format!("{}j", char::from(Key::Control))).await;
    shot(&lan, "after-ctrl-j").await;
    let active = js(&lan, "return document.activeElement.closest('.field') ? document.activeElement.closest('.field').dataset.id : null").await;
    assert!(active.is_string(), "a field has the focus");
    let highlighted = js(
        &lan,
        "const b = document.querySelector('.box.active'); return b ? b.dataset.field : null",
    )
    .await;
    assert_eq!(
        highlighted, active,
        "the focused field's box is highlighted"
    );
    shot(&lan, "review-screen").await;

    // A wrong personal ID is refused with the validator's message.
    let pid = js(&lan, "const r = Array.from(document.querySelectorAll('.field')).find(r => r.querySelector('label').textContent.startsWith('Số')); return r ? r.dataset.id : null").await;
    let pid = pid.as_str().expect("the personal ID field").to_string();
    // Tab to it, as a clerk would.
    for _ in 0..80 {
        if js(&lan, "return document.activeElement.id").await == format!("f{pid}") {
            break;
        }
        keys(&lan, &char::from(Key::Tab).to_string()).await;
    }
    assert_eq!(
        js(&lan, "return document.activeElement.id").await,
        format!("f{pid}")
    );
    let original = js(
        &lan,
        &format!("return document.getElementById('f{pid}').value"),
    )
    .await;
    keys(&lan, &format!("{}a", char::from(Key::Control))).await;
    keys(&lan, &format!("12ab{}", char::from(Key::Enter))).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let msg = js(
        &lan,
        &format!("return document.querySelector('.field[data-id=\"{pid}\"] .message').textContent"),
    )
    .await;
    assert!(msg.as_str().unwrap().contains("không hợp lệ"), "{msg}");
    shot(&lan, "invalid-pid").await;
    keys(&lan, &format!("{}a", char::from(Key::Control))).await;
    keys(
        &lan,
        &format!("{}{}", original.as_str().unwrap(), char::from(Key::Enter)),
    )
    .await;

    // Another clerk of the unit sees who holds it and cannot change anything.
    let mai = browser(&driver).await;
    login(&mai, &base, "mai").await;
    mai.goto(&format!("{base}/review/dossiers/{code}"))
        .await
        .unwrap();
    let banner = mai
        .find(Locator::Css("p.readonly"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(banner.contains("lan"), "{banner}");
    assert_eq!(
        js(&mai, "return document.querySelectorAll('#approve').length").await,
        0
    );
    // A clerk of another commune does not find it.
    let tuan = browser(&driver).await;
    login(&tuan, &base, "tuan").await;
    let status = fetch_status(&tuan, &format!("/review/dossiers/{code}"), "{}").await;
    assert_eq!(status, 404);
    // A state-changing call without the CSRF token is refused.
    let status = fetch_status(
        &lan,
        &format!("/api/v1/dossiers/{code}/claim"),
        "{method: 'POST', credentials: 'same-origin'}",
    )
    .await;
    assert_eq!(status, 403);

    // Enter confirms and moves on to the next field still needing attention; then approve with
    // Ctrl+Enter.
    for _ in 0..40 {
        let left = js(
            &lan,
            "return document.querySelectorAll('.field.attention').length",
        )
        .await;
        if left == 0 {
            break;
        }
        keys(&lan, &char::from(Key::Enter).to_string()).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(
        js(
            &lan,
            "return document.querySelectorAll('.field.attention').length"
        )
        .await,
        0
    );
    // The procedure expects a birth declaration that is not in the dossier: the flag is dismissed
    // with a note (Shift+Tab back to it from the approve button).
    for _ in 0..80 {
        let on_note = "return document.activeElement.classList.contains('flag-note')";
        if js(&lan, on_note).await == true {
            break;
        }
        keys(
            &lan,
            &format!("{}{}", char::from(Key::Shift), char::from(Key::Tab)),
        )
        .await;
    }
    keys(&lan, "bản giấy đã nộp tại quầy").await;
    shot(&lan, "before-approve").await;
    keys(
        &lan,
        &format!("{}{}", char::from(Key::Control), char::from(Key::Enter)),
    )
    .await;
    wait_path(&lan, "/review/").await;
    assert!(
        lan.current_url()
            .await
            .unwrap()
            .query()
            .unwrap_or("")
            .contains("empty")
    );

    // The history shows the whole review.
    lan.goto(&format!("{base}/review/dossiers/{code}"))
        .await
        .unwrap();
    lan.find(Locator::Css("#history summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let history = lan
        .find(Locator::Id("history-list"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(history.contains("in_review → approved"), "{history}");
    assert!(history.contains("xác nhận"), "{history}");
    shot(&lan, "history").await;

    // An idle session goes back to the login page.
    tokio::time::sleep(Duration::from_secs(IDLE_SECS + 2)).await;
    mai.goto(&format!("{base}/review/")).await.unwrap();
    wait_path(&mai, "/review/login").await;
    for c in [lan, mai, tuan] {
        c.close().await.unwrap();
    }
}
