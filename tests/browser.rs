//! The clerk UI in a real browser: headless Chromium (Debian `chromium` + `chromium-driver`,
//! installed by scripts/setup.sh) driven over WebDriver by fantoccini, against the real binary
//! on the embedded default. Screenshots go to `target/browser-artifacts/`.

mod common;
#[path = "common/browser.rs"]
mod ui;

use std::io::Write;
use std::time::Duration;

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use serde_json::Value;
use ui::{admin, browser, chromedriver, clerk, js, login, serve, wait_path};

/// Sessions idle longer than this go back to the login page (short, for the expiry check).
const IDLE_SECS: u64 = 20;

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(
        ui::artifacts("browser-artifacts").join(format!("{name}.png")),
        png,
    )
    .unwrap();
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
        clerk(d, unit, user);
    }
    admin(
        d,
        &[
            "clerk",
            "create",
            "--unit",
            "XA",
            "--username",
            "chi",
            "--role",
            "admin",
        ],
        Some(&format!("{}\n", ui::PASSWORD)),
    );
    let idle = IDLE_SECS.to_string();
    let (_server, base) = serve(d, &[("MOTCUA__REVIEW__SESSION_IDLE_SECS", &idle)]);
    let code = tokio::task::spawn_blocking({
        let (base, token) = (base.clone(), token.clone());
        move || {
            let files = [common::fixture("cccd-clean.png")];
            ui::upload_and_wait(
                &base,
                &token,
                "dang_ky_khai_sinh",
                &files,
                Duration::from_secs(240),
            )
        }
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

    // The clerk corrects the holder's name (Shift+Tab back to it): stored as the clerk's value,
    // its box highlighted on the page.
    let name = js(&lan, "const r = Array.from(document.querySelectorAll('.field')).find(r => r.querySelector('label').textContent.startsWith('Họ')); return r ? r.dataset.id : null").await;
    let name = name.as_str().expect("the name field").to_string();
    for _ in 0..80 {
        if js(&lan, "return document.activeElement.id").await == format!("f{name}") {
            break;
        }
        keys(
            &lan,
            &format!("{}{}", char::from(Key::Shift), char::from(Key::Tab)),
        )
        .await;
    }
    assert_eq!(
        js(&lan, "return document.activeElement.id").await,
        format!("f{name}")
    );
    assert_eq!(
        js(
            &lan,
            "const b = document.querySelector('.box.active'); return b ? b.dataset.field : null"
        )
        .await,
        name.as_str(),
        "the corrected field's box is highlighted"
    );
    keys(&lan, &format!("{}a", char::from(Key::Control))).await;
    keys(&lan, &format!("Nguyễn Thị Lan{}", char::from(Key::Enter))).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let msg = js(
        &lan,
        &format!(
            "return document.querySelector('.field[data-id=\"{name}\"] .message').textContent"
        ),
    )
    .await;
    assert_eq!(msg, "Đã sửa và xác nhận.");
    shot(&lan, "corrected-name").await;

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

    // The unit's admin sees the review in the productivity page, and /metrics counts it.
    let chi = browser(&driver).await;
    login(&chi, &base, "chi").await;
    chi.find(Locator::Css("a.stats-link"))
        .await
        .expect("the admin's link to the productivity page")
        .click()
        .await
        .unwrap();
    wait_path(&chi, "/review/stats").await;
    let decided = chi.find(Locator::Id("decided")).await.unwrap();
    assert!(decided.text().await.unwrap().starts_with('1'));
    let row = chi
        .find(Locator::Css("tr[data-clerk='lan']"))
        .await
        .expect("lan's line");
    assert!(row.text().await.unwrap().contains("duyệt 1"));
    shot(&chi, "stats").await;
    let metrics = tokio::task::spawn_blocking({
        let url = format!("{base}/metrics");
        move || reqwest::blocking::get(url).unwrap().text().unwrap()
    })
    .await
    .unwrap();
    for want in [
        "motcua_review_decisions_total{action=\"approve\"} 1",
        "motcua_review_fields_total{change=\"corrected\"}",
        "motcua_review_approved_fields_total{untouched=\"true\"}",
        "motcua_review_seconds",
    ] {
        assert!(metrics.contains(want), "{want} in\n{metrics}");
    }

    // An idle session goes back to the login page.
    tokio::time::sleep(Duration::from_secs(IDLE_SECS + 2)).await;
    mai.goto(&format!("{base}/review/")).await.unwrap();
    wait_path(&mai, "/review/login").await;
    for c in [lan, mai, tuan, chi] {
        c.close().await.unwrap();
    }
}
