//! Time to first paint of the review screen for a 20-page dossier, and what it downloads.
//!
//! Starts the real binary (`motcua serve`, embedded default, temp data dir), makes a dossier of
//! 20 distinct dev-corpus pages (`../shared/corpus/dev`, one attachment each), waits until it
//! needs review, then opens `/review/dossiers/{code}` in headless Chromium over WebDriver and
//! reads the browser's Performance API: the paint entries, largest contentful paint, the
//! navigation entry and every resource entry (bytes, status, cache).
//!
//! - cold: a fresh browser profile (empty HTTP cache) with the clerk's session cookie set
//!   (logged in once through the form in another browser, so not even the stylesheet is cached);
//! - warm: the same browser opening the screen again (about:blank in between).
//!
//! Then, once, the zoom: full-resolution previews (`?w=2400`) should come only then.
//!
//! `cargo bench --bench review_paint`; `MOTCUA_BENCH_REPS` repetitions (default 10). Prints a
//! table and writes `target/bench-artifacts/review_paint.json`. Needs `chromium` and
//! `chromium-driver` (scripts/setup.sh). Not a test: nothing here asserts a time.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/browser.rs"]
mod ui;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::{Value, json};

const PAGES: usize = 20;

/// Performance entries of the current document, as plain JSON. Largest contentful paint is only
/// given to an observer (buffered: the entries so far), so this runs as an async script.
const COLLECT: &str = r#"
const done = arguments[arguments.length - 1];
let lcp = null;
try {
  new PerformanceObserver(l => { const e = l.getEntries(); if (e.length) lcp = e[e.length - 1].startTime; })
    .observe({ type: "largest-contentful-paint", buffered: true });
} catch (_) { /* not supported */ }
setTimeout(() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const paint = {};
  performance.getEntriesByType("paint").forEach(p => { paint[p.name] = p.startTime; });
  const entry = e => ({
    url: e.name.replace(location.origin, ""),
    type: e.initiatorType || e.entryType,
    status: e.responseStatus === undefined ? null : e.responseStatus,
    transfer: e.transferSize,
    body: e.encodedBodySize,
    decoded: e.decodedBodySize,
    start: e.startTime,
    end: e.responseEnd,
  });
  const img = document.querySelector("figure.page .sheet img");
  const first = img && performance.getEntriesByName(img.src)[0];
  done({
    first_page: first ? first.responseEnd : null,
    fp: paint["first-paint"] === undefined ? null : paint["first-paint"],
    fcp: paint["first-contentful-paint"] === undefined ? null : paint["first-contentful-paint"],
    lcp,
    response_end: nav.responseEnd,
    dcl: nav.domContentLoadedEventEnd,
    load: nav.loadEventEnd,
    entries: [entry(nav)].concat(performance.getEntriesByType("resource").map(entry)),
    figures: document.querySelectorAll("figure.page").length,
    thumbs: document.querySelectorAll(".thumb").length,
  });
}, 200);
"#;

/// Waits until the document has loaded, every image that is not lazy is complete, and no new
/// resource entry came for 2 s (lazy thumbnails, late previews).
async fn settle(c: &Client) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut last, mut since) = (-1i64, Instant::now());
    loop {
        let v = ui::js(
            c,
            "return { ready: document.readyState === 'complete',
               eager: Array.from(document.images).every(i => i.complete || i.loading === 'lazy'),
               n: performance.getEntriesByType('resource').length }",
        )
        .await;
        let n = v["n"].as_i64().unwrap_or(0);
        if n != last {
            (last, since) = (n, Instant::now());
        }
        if v["ready"] == true && v["eager"] == true && since.elapsed() > Duration::from_secs(2) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the review screen did not settle"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What a resource is, from its URL: the screen's own files or a preview of a given width.
fn kind(url: &str, type_: &str) -> &'static str {
    if type_ == "navigation" {
        "document"
    } else if url.ends_with(".css") {
        "css"
    } else if url.ends_with(".js") {
        "js"
    } else if url.contains("/pages/") && url.ends_with("w=160") {
        "thumb 160"
    } else if url.contains("/pages/") && url.ends_with("w=1200") {
        "page 1200"
    } else if url.contains("/pages/") && url.ends_with("w=2400") {
        "full 2400"
    } else {
        "other"
    }
}

const KINDS: [&str; 7] = [
    "document",
    "css",
    "js",
    "thumb 160",
    "page 1200",
    "full 2400",
    "other",
];

/// One load's numbers, from [`COLLECT`]'s answer.
fn summarize(v: &Value) -> Value {
    let entries = v["entries"].as_array().unwrap();
    let num = |e: &Value, k: &str| e[k].as_f64().unwrap_or(0.0);
    let mut by_kind: BTreeMap<&str, (u64, f64, f64)> = BTreeMap::new();
    let (mut transfer, mut body, mut n304, mut cached) = (0.0, 0.0, 0, 0);
    for e in entries {
        let k = kind(
            e["url"].as_str().unwrap_or(""),
            e["type"].as_str().unwrap_or(""),
        );
        let s = by_kind.entry(k).or_default();
        s.0 += 1;
        s.1 += num(e, "transfer");
        s.2 += num(e, "body");
        transfer += num(e, "transfer");
        body += num(e, "body");
        // Chromium reports a revalidated response as 200 with the headers' bytes only.
        let (t, b) = (num(e, "transfer"), num(e, "body"));
        if e["status"] == 304 || (t > 0.0 && t < b) {
            n304 += 1;
        }
        if num(e, "transfer") == 0.0 && num(e, "body") > 0.0 {
            cached += 1;
        }
    }
    json!({
        "fp_ms": v["fp"], "fcp_ms": v["fcp"], "lcp_ms": v["lcp"],
        "first_page_image_ms": v["first_page"],
        "response_end_ms": v["response_end"], "dcl_ms": v["dcl"], "load_ms": v["load"],
        "requests": entries.len(), "revalidated_304": n304, "from_cache": cached,
        "to_server": entries.len() - cached,
        "transfer_bytes": transfer, "body_bytes": body,
        "by_kind": by_kind.iter().map(|(k, (n, t, b))| {
            (k.to_string(), json!({"requests": n, "transfer_bytes": t, "body_bytes": b}))
        }).collect::<serde_json::Map<_, _>>(),
        "figures": v["figures"], "thumbs": v["thumbs"],
    })
}

async fn measure(c: &Client, url: &str) -> (Value, Value) {
    c.goto("about:blank").await.unwrap();
    c.goto(url).await.unwrap();
    settle(c).await;
    let raw = c.execute_async(COLLECT, vec![]).await.unwrap();
    (summarize(&raw), raw)
}

/// Median and max of `key` (a path into the summaries) over `loads`.
fn stat(loads: &[Value], key: &[&str]) -> (f64, f64) {
    let mut xs: Vec<f64> = loads
        .iter()
        .filter_map(|l| key.iter().try_fold(l, |v, k| v.get(k)))
        .filter_map(Value::as_f64)
        .collect();
    if xs.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    xs.sort_by(f64::total_cmp);
    let m = xs.len() / 2;
    let median = if xs.len() % 2 == 1 {
        xs[m]
    } else {
        (xs[m - 1] + xs[m]) / 2.0
    };
    (median, xs[xs.len() - 1])
}

/// Sizes (bytes) of the previews of one kind in one load: min, median, max, count.
fn preview_sizes(raw: &Value, which: &str) -> Value {
    let mut xs: Vec<f64> = raw["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| kind(e["url"].as_str().unwrap_or(""), "") == which)
        .filter_map(|e| e["body"].as_f64())
        .collect();
    xs.sort_by(f64::total_cmp);
    if xs.is_empty() {
        return json!({"count": 0});
    }
    json!({
        "count": xs.len(),
        "min_bytes": xs[0],
        "median_bytes": xs[xs.len() / 2],
        "max_bytes": xs[xs.len() - 1],
        "total_bytes": xs.iter().sum::<f64>(),
    })
}

fn machine() -> Value {
    let out = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let model = out("lscpu", &[])
        .lines()
        .find_map(|l| l.strip_prefix("Model name:").map(|m| m.trim().to_string()))
        .unwrap_or_default();
    json!({
        // Not `nproc`: it obeys OMP_THREAD_LIMIT, which .cargo/config.toml sets to 1.
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "cpu": model,
        "chromium": out("chromium", &["--version"]),
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let reps: usize = std::env::var("MOTCUA_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ui::admin(
        d,
        &["unit", "create", "--code", "XA", "--name", "Xã An Bình"],
        None,
    );
    let token = ui::admin(
        d,
        &["station", "create", "--unit", "XA", "--name", "quầy 1"],
        None,
    );
    ui::clerk(d, "XA", "lan");
    let (_server, base) = ui::serve(d, &[]);

    let files: Vec<_> = common::distinct_corpus_files()
        .into_iter()
        .take(PAGES)
        .map(|n| common::corpus(&n))
        .collect();
    assert_eq!(
        files.len(),
        PAGES,
        "the dev corpus has {PAGES} distinct pages"
    );
    eprintln!("processing {PAGES} pages …");
    let t = Instant::now();
    let code = tokio::task::spawn_blocking({
        let (base, token) = (base.clone(), token.clone());
        move || {
            ui::upload_and_wait(
                &base,
                &token,
                "dang_ky_khai_sinh",
                &files,
                Duration::from_secs(900),
            )
        }
    })
    .await
    .unwrap();
    eprintln!(
        "dossier {code} needs review after {:.0} s",
        t.elapsed().as_secs_f64()
    );
    let url = format!("{base}/review/dossiers/{code}");

    let (_driver, driver) = ui::chromedriver();
    // Logged in once through the form; each cold browser gets that session's cookie.
    let login = ui::browser(&driver).await;
    ui::login(&login, &base, "lan").await;
    let cookie = login
        .get_named_cookie("motcua_session")
        .await
        .expect("the session cookie");
    login.close().await.unwrap();

    let (mut cold, mut warm, mut raws) = (Vec::new(), Vec::new(), Vec::new());
    let mut zoom = Value::Null;
    for i in 0..reps {
        let c = ui::browser(&driver).await;
        // A page of the origin that loads nothing, to set the cookie on.
        c.goto(&format!("{base}/healthz")).await.unwrap();
        c.add_cookie(cookie.clone()).await.unwrap();
        let (s, raw) = measure(&c, &url).await;
        assert_eq!(s["figures"], PAGES, "{PAGES} pages on the screen: {s}");
        eprintln!(
            "cold {i}: fcp {} lcp {} load {} ms, {} requests, {:.0} KB",
            s["fcp_ms"],
            s["lcp_ms"],
            s["load_ms"],
            s["requests"],
            s["transfer_bytes"].as_f64().unwrap_or(0.0) / 1024.0
        );
        cold.push(s);
        raws.push(json!({"cold": raw}));
        let (s, raw) = measure(&c, &url).await;
        eprintln!(
            "warm {i}: fcp {} lcp {} load {} ms, {} requests, {:.0} KB",
            s["fcp_ms"],
            s["lcp_ms"],
            s["load_ms"],
            s["requests"],
            s["transfer_bytes"].as_f64().unwrap_or(0.0) / 1024.0
        );
        warm.push(s);
        raws.last_mut().unwrap()["warm"] = raw;
        if i + 1 == reps {
            zoom = zoom_in(&c).await;
        }
        c.close().await.unwrap();
    }

    let first_cold = &raws[0]["cold"];
    let previews = json!({
        "thumb 160": preview_sizes(first_cold, "thumb 160"),
        "page 1200": preview_sizes(first_cold, "page 1200"),
        "full 2400 (after zoom)": zoom["full_2400"].clone(),
    });
    let machine = machine();
    println!(
        "\nmachine: {} cores ({}), {}",
        machine["cores"],
        machine["cpu"].as_str().unwrap_or(""),
        machine["chromium"].as_str().unwrap_or("")
    );
    report(reps, &cold, &warm, &previews, &zoom);

    let summary = |loads: &[Value]| {
        let mut m = serde_json::Map::new();
        for k in [
            "fp_ms",
            "fcp_ms",
            "lcp_ms",
            "first_page_image_ms",
            "response_end_ms",
            "dcl_ms",
            "load_ms",
            "requests",
            "revalidated_304",
            "from_cache",
            "to_server",
            "transfer_bytes",
            "body_bytes",
        ] {
            let (median, max) = stat(loads, &[k]);
            m.insert(k.into(), json!({"median": median, "max": max}));
        }
        Value::Object(m)
    };
    let out = json!({
        "bench": "review_paint",
        "machine": machine,
        "pages": PAGES,
        "attachments": PAGES,
        "repetitions": reps,
        "cold": {"summary": summary(&cold), "loads": cold},
        "warm": {"summary": summary(&warm), "loads": warm},
        "previews": previews,
        "zoom": zoom,
        "raw": raws,
    });
    let path = ui::artifacts("bench-artifacts").join("review_paint.json");
    std::fs::write(&path, serde_json::to_string_pretty(&out).unwrap()).unwrap();
    println!("wrote {}", path.display());
}

/// Zooms in past the full-resolution threshold, then turns to the second page: which previews
/// come, and how many of them are full resolution.
async fn zoom_in(c: &Client) -> Value {
    let count = "return performance.getEntriesByType('resource').length";
    let before = ui::js(c, count).await.as_u64().unwrap() as usize;
    for _ in 0..2 {
        c.find(Locator::Css("[data-act=zoom-in]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    settle(c).await;
    let after_zoom = ui::js(c, count).await.as_u64().unwrap() as usize;
    c.find(Locator::Css(".thumb:nth-child(2)"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    settle(c).await;
    let raw = c.execute_async(COLLECT, vec![]).await.unwrap();
    let entries = raw["entries"].as_array().unwrap();
    // entries[0] is the navigation; resource entries follow in order.
    let full = |from: usize, to: usize| -> Vec<Value> {
        entries[1 + from..(1 + to).min(entries.len())]
            .iter()
            .filter(|e| kind(e["url"].as_str().unwrap_or(""), "") == "full 2400")
            .cloned()
            .collect()
    };
    let on_zoom = full(before, after_zoom);
    let on_turn = full(after_zoom, entries.len() - 1);
    let sizes = |v: &[Value]| preview_sizes(&json!({ "entries": v }), "full 2400");
    json!({
        "full_2400_requests_on_zoom": on_zoom.len(),
        "full_2400_requests_on_turning_to_page_2": on_turn.len(),
        "requests_on_zoom": after_zoom - before,
        "full_2400": sizes(&[on_zoom.clone(), on_turn.clone()].concat()),
    })
}

fn report(reps: usize, cold: &[Value], warm: &[Value], previews: &Value, zoom: &Value) {
    let kb = 1.0 / 1024.0;
    println!();
    println!(
        "review screen, {PAGES}-page dossier ({PAGES} attachments), {reps} loads each; median / max"
    );
    println!("{:<34} {:>20} {:>20}", "", "cold", "warm");
    let row = |label: &str, key: &[&str], scale: f64, digits: usize| {
        let (cm, cx) = stat(cold, key);
        let (wm, wx) = stat(warm, key);
        println!(
            "{label:<34} {:>20} {:>20}",
            format!("{:.digits$} / {:.digits$}", cm * scale, cx * scale),
            format!("{:.digits$} / {:.digits$}", wm * scale, wx * scale),
        );
    };
    row("first paint, ms", &["fp_ms"], 1.0, 0);
    row("first contentful paint, ms", &["fcp_ms"], 1.0, 0);
    row("largest contentful paint, ms", &["lcp_ms"], 1.0, 0);
    row(
        "page 1 image responseEnd, ms",
        &["first_page_image_ms"],
        1.0,
        0,
    );
    row("document responseEnd, ms", &["response_end_ms"], 1.0, 0);
    row("DOMContentLoaded end, ms", &["dcl_ms"], 1.0, 0);
    row("load event end, ms", &["load_ms"], 1.0, 0);
    row("resources (document included)", &["requests"], 1.0, 0);
    row("  from the HTTP cache, no request", &["from_cache"], 1.0, 0);
    row("  requests to the server", &["to_server"], 1.0, 0);
    row(
        "    of which revalidated (304)",
        &["revalidated_304"],
        1.0,
        0,
    );
    row("transferred, KB", &["transfer_bytes"], kb, 1);
    row("response bodies, KB", &["body_bytes"], kb, 1);
    for k in KINDS {
        let has = |l: &[Value]| l.iter().any(|v| v["by_kind"].get(k).is_some());
        if !has(cold) && !has(warm) {
            continue;
        }
        row(
            &format!("  {k}: resources"),
            &["by_kind", k, "requests"],
            1.0,
            0,
        );
        row(
            &format!("  {k}: transferred, KB"),
            &["by_kind", k, "transfer_bytes"],
            kb,
            1,
        );
    }
    println!();
    println!("bytes per preview (first cold load; full resolution after zoom):");
    for (k, v) in previews.as_object().unwrap() {
        if v["count"].as_u64().unwrap_or(0) == 0 {
            println!("  {k:<24} none");
            continue;
        }
        println!(
            "  {k:<24} {:>3} × median {:>7.1} KB (min {:.1}, max {:.1}), total {:.1} KB",
            v["count"],
            v["median_bytes"].as_f64().unwrap() * kb,
            v["min_bytes"].as_f64().unwrap() * kb,
            v["max_bytes"].as_f64().unwrap() * kb,
            v["total_bytes"].as_f64().unwrap() * kb,
        );
    }
    let (full_cold, _) = stat(cold, &["by_kind", "full 2400", "requests"]);
    println!(
        "full resolution before zoom: {} requests; on zoom: {} (of {PAGES} pages); on turning to page 2 after: {}",
        if full_cold.is_nan() { 0.0 } else { full_cold },
        zoom["full_2400_requests_on_zoom"],
        zoom["full_2400_requests_on_turning_to_page_2"],
    );
}
