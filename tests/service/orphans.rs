//! Nothing left behind (issue 15, finding 5): a refused or cut upload removes the originals it
//! stored, and the sweep removes what a crash between storing and committing leaves, but never
//! a blob a row or an upload in progress needs.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::blocking::multipart::{Form, Part};

use super::common::{fixture, s3::put_blob, s3::stored_blobs};
use super::{Server, Site, admin, create_dossier, get_bytes, sha256, two_units, upload};

fn originals(site: &Site) -> Vec<String> {
    let mut v: Vec<String> = stored_blobs(site.path())
        .into_iter()
        .filter(|k| k.starts_with("originals/"))
        .collect();
    v.sort();
    v
}

/// Waits (the removal runs after the answer) until the originals are exactly `want`.
fn wait_originals(site: &Site, want: &[String], what: &str) {
    let t = Instant::now();
    loop {
        let now = originals(site);
        if now == want {
            return;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "{what}: {now:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn key_of(bytes: &[u8]) -> String {
    let h = sha256(bytes);
    format!("originals/{}/{h}", &h[..2])
}

pub(super) fn refused_and_cut_uploads_leave_nothing_and_the_sweep_takes_crash_leftovers(
    site: Site,
) {
    let (station, _) = two_units(&site);
    let s = Server::start(
        &site,
        &[
            ("MOTCUA__QUEUE__WORKERS", "0"),
            ("MOTCUA__SERVER__MAX_FILES_PER_REQUEST", "3"),
        ],
    );
    let (_, d) = create_dossier(&s, Some(&station), None);
    let code = d["code"].as_str().unwrap().to_string();
    let jpg = std::fs::read(fixture("cccd-scan.jpg")).unwrap();
    let variant = |i: u8| {
        let mut b = jpg.clone();
        b.push(i);
        b
    };

    // Three files stored, the fourth over the limit: 413, and the three are removed.
    let mut form = Form::new();
    for i in 0..4 {
        form = form.part("file", Part::bytes(variant(i)).file_name("a.jpg"));
    }
    let (st, r) = upload(&s, &station, &code, form);
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{r}");
    wait_originals(&site, &[], "after a refused request");

    // A client that goes away after two whole files and half of a third.
    let boundary = "cutcutcut";
    let mut body = Vec::new();
    for i in 10..13u8 {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{i}.jpg\"\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(&variant(i));
        body.extend_from_slice(b"\r\n");
    }
    let sent = body.len() - jpg.len() / 2;
    let head = format!(
        "POST /api/v1/dossiers/{code}/attachments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {station}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len() + boundary.len() + 6
    );
    let mut tcp = std::net::TcpStream::connect(s.url.trim_start_matches("http://")).unwrap();
    tcp.write_all(head.as_bytes()).unwrap();
    tcp.write_all(&body[..sent]).unwrap();
    // The two whole files reach the store before the client leaves.
    let two = {
        let mut v = vec![key_of(&variant(10)), key_of(&variant(11))];
        v.sort();
        v
    };
    wait_originals(&site, &two, "two whole files of the cut request stored");
    drop(tcp);
    wait_originals(&site, &[], "after a cut request");

    // An accepted file stays; the same bytes refused later in another request stay too (a row
    // references them).
    let good = variant(20);
    let (st, r) = upload(
        &s,
        &station,
        &code,
        Form::new().part("file", Part::bytes(good.clone()).file_name("good.jpg")),
    );
    assert_eq!(st, StatusCode::ACCEPTED, "{r}");
    let id = r["attachments"][0]["id"].as_i64().unwrap();
    let mut form = Form::new();
    for i in [20, 21, 22, 23] {
        form = form.part("file", Part::bytes(variant(i)).file_name("b.jpg"));
    }
    let (st, _) = upload(&s, &station, &code, form);
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE);
    wait_originals(
        &site,
        &[key_of(&good)],
        "refused duplicate of an accepted file",
    );

    // What a crash between storing and committing leaves: swept once older than the grace.
    let orphan = variant(30);
    put_blob(site.path(), &key_of(&orphan), &orphan);
    assert_eq!(
        admin(&site, &["sweep"]).trim(),
        "0",
        "younger than the grace"
    );
    assert_eq!(originals(&site).len(), 2);
    assert_eq!(admin(&site, &["sweep", "--grace-secs", "0"]).trim(), "1");
    assert_eq!(originals(&site), vec![key_of(&good)]);
    let (st, bytes) = get_bytes(
        &s,
        &station,
        &format!("/api/v1/dossiers/{code}/attachments/{id}/original"),
    );
    assert_eq!(st, StatusCode::OK);
    assert_eq!(bytes, good);
    // The server's own sweep (at start-up, grace 0) finds nothing more to take.
    put_blob(site.path(), &key_of(&orphan), &orphan);
    drop(s);
    let s = Server::start(&site, &[("MOTCUA__ORPHANS__GRACE_SECS", "0")]);
    wait_originals(&site, &[key_of(&good)], "start-up sweep");
    let mut resp = String::new();
    let mut tcp = std::net::TcpStream::connect(s.url.trim_start_matches("http://")).unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    tcp.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
}
