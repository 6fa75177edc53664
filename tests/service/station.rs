//! `motcua station` (issue 16): the real uploader on a hot folder, the real server behind a
//! link that drops, a station killed mid-upload, a server down for a while, a refused file.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::common::proxy::FaultProxy;
use super::common::{corpus, free_port, sigterm};
use super::{BIN, Server, Site, create_dossier, get_dossier, sha256, two_units};

struct Station {
    child: Child,
}

impl Station {
    fn start(site: &Site, dir: &Path, server: &str) -> Station {
        let n = std::fs::read_dir(dir).map_or(0, |d| d.count());
        let log = std::fs::File::create(dir.join(format!("station-{n}.log"))).unwrap();
        let child = Command::new(BIN)
            .arg("station")
            .args(["--server", server])
            .arg("--token-file")
            .arg(dir.join("token"))
            .arg("--watch")
            .arg(dir.join("hot"))
            .envs(station_env(dir))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let _ = site;
        Station { child }
    }
}

impl Drop for Station {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn station_env(dir: &Path) -> Vec<(String, String)> {
    [
        ("MOTCUA__SERVER__DATA_DIR", dir.to_str().unwrap()),
        ("MOTCUA__STATION__STABLE_SECS", "1"),
        ("MOTCUA__STATION__POLL_SECS", "1"),
        ("MOTCUA__STATION__CHUNK_BYTES", "262144"),
        ("MOTCUA__STATION__RETRY_BASE_MS", "200"),
        ("MOTCUA__STATION__RETRY_MAX_SECS", "2"),
        ("MOTCUA__STATION__REQUEST_TIMEOUT_SECS", "20"),
        ("RUST_LOG", "info"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn status(dir: &Path) -> String {
    let out = Command::new(BIN)
        .args(["station", "status"])
        .envs(station_env(dir))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn wait_for(what: &str, dir: &Path, secs: u64, mut done: impl FnMut() -> bool) {
    let t = Instant::now();
    while !done() {
        assert!(
            t.elapsed() < Duration::from_secs(secs),
            "{what}: not within {secs} s\n{}\n{}",
            status(dir),
            logs(dir)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn logs(dir: &Path) -> String {
    let mut s = String::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("station-") {
            s += &format!("== {name}\n{}", std::fs::read_to_string(e.path()).unwrap());
        }
    }
    s
}

/// Copies `src` into the hot folder at `rel` the way a scanner does: written elsewhere, then
/// moved in (a partly written file would wait for `stable_secs` anyway).
fn drop_file(hot: &Path, rel: &str, bytes: &[u8]) {
    let dest = hot.join(rel);
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    let tmp = hot.join(format!(".incoming-{}", rel.replace('/', "_")));
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(tmp, dest).unwrap();
}

/// SHA-256 of every attachment of dossier `code`.
fn shas(s: &Server, token: &str, code: &str) -> Vec<String> {
    let (_, d) = get_dossier(s, token, code);
    d["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["sha256"].as_str().unwrap().to_string())
        .collect()
}

fn page(name_part: &str) -> Vec<u8> {
    let names = super::common::distinct_corpus_files();
    let n = names.iter().find(|n| n.contains(name_part)).unwrap();
    std::fs::read(corpus(n)).unwrap()
}

pub(super) fn a_station_sends_its_hot_folder_through_drops_kills_and_outages(site: Site) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let extra = [("MOTCUA__SERVER__LISTEN", listen.as_str())];
    let s = Server::start(&site, &extra);
    let (token, _) = two_units(&site);
    let (_, d) = create_dossier(&s, Some(&token), None);
    let code = d["code"].as_str().unwrap().to_string();
    let st = tempfile::tempdir().unwrap();
    let dir = st.path();
    std::fs::write(dir.join("token"), format!("{token}\n")).unwrap();
    let hot: PathBuf = dir.join("hot");
    std::fs::create_dir_all(&hot).unwrap();

    // A link that drops three times while the first files go.
    let proxy = FaultProxy::start(&s.url, &[400_000, 900_000, 1_500_000]);
    let station = Station::start(&site, dir, &proxy.url);
    let a = page("scan.png");
    let b = page("cccd-clean.png");
    let c = page("phone.jpg");
    drop_file(&hot, &format!("{code}/a.png"), &a);
    drop_file(&hot, "ho-so-moi/b.png", &b);
    drop_file(&hot, "c.jpg", &c);
    drop_file(
        &hot,
        "ghi-chu.pdf",
        b"not a PDF, only a note someone saved here",
    );
    wait_for("three sent, one refused", dir, 120, || {
        hot.join("sent/c.jpg").exists()
            && hot.join(format!("sent/{code}/a.png")).exists()
            && hot.join("sent/ho-so-moi/b.png").exists()
            && hot.join("failed/ghi-chu.pdf.reason").exists()
    });
    assert!(proxy.dropped() >= 3, "{}", proxy.dropped());
    let reason = std::fs::read_to_string(hot.join("failed/ghi-chu.pdf.reason")).unwrap();
    assert!(reason.starts_with("unsupported_media_type"), "{reason}");
    assert!(shas(&s, &token, &code).contains(&sha256(&a)));
    let st_out = status(dir);
    assert_eq!(st_out.matches("\nsent ").count(), 3, "{st_out}");
    assert_eq!(st_out.matches("\nfailed ").count(), 1, "{st_out}");
    // The folder that is not a dossier code became one dossier; the loose file another.
    let other: Vec<&str> = st_out
        .lines()
        .filter(|l| l.starts_with("sent ") && !l.contains(&code))
        .map(|l| l.split_whitespace().nth(3).unwrap())
        .collect();
    assert_eq!(other.len(), 2);
    assert_ne!(other[0], other[1]);

    // Killed mid-upload of a big file, then started again: it goes on from the server's
    // offset, and what the server had is not sent again.
    proxy.throttle(1_500_000);
    let big = super::tus::rgb_tiff(&b);
    let before = proxy.upstream_bytes();
    drop_file(&hot, &format!("{code}/big.tif"), &big);
    wait_for("a third of the big file sent", dir, 60, || {
        proxy.upstream_bytes() - before > big.len() as u64 / 3
    });
    drop(station);
    let station = Station::start(&site, dir, &proxy.url);
    wait_for("the big file sent", dir, 120, || {
        hot.join(format!("sent/{code}/big.tif")).exists()
    });
    let sent = proxy.upstream_bytes() - before;
    let len = big.len() as u64;
    assert!(sent <= len + 262_144 + 64 * 1024, "{sent} bytes for {len}");
    assert!(shas(&s, &token, &code).contains(&sha256(&big)));

    // The server is down for a while: the file waits in the folder, nothing is lost.
    proxy.throttle(0);
    drop(s);
    let e = page("fax");
    drop_file(&hot, &format!("{code}/e.tif"), &e);
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        hot.join(format!("{code}/e.tif")).exists(),
        "kept while the server is down"
    );
    assert!(status(dir).contains("e.tif"));
    let s = Server::start(&site, &extra);
    wait_for("sent after the outage", dir, 60, || {
        hot.join(format!("sent/{code}/e.tif")).exists()
    });
    assert!(shas(&s, &token, &code).contains(&sha256(&e)));
    let mut station = station;
    assert!(sigterm(&mut station.child).success());
}
