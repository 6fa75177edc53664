//! Resumable uploads (issue 16): real tus clients, not our own (tuspy and tus-js-client, from
//! `scripts/tus-clients.sh`), through a proxy whose link drops mid-upload; and the protocol's
//! edges with plain HTTP: checksums, offsets, termination, expiry, a restart and a takeover.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::Response;
use serde_json::Value;

use super::common::proxy::FaultProxy;
use super::common::{corpus, s3::stored_blobs};
use super::{Server, Site, admin, auth, client, create_dossier, sha256, two_units, wait_settled};

fn clients() -> PathBuf {
    let dir = std::env::var("MOTCUA_TUS_CLIENTS")
        .unwrap_or_else(|_| "/usr/local/share/motcua/tus-clients".into());
    let dir = PathBuf::from(dir);
    assert!(
        dir.join("venv/bin/python").exists()
            && dir.join("node/node_modules/tus-js-client").exists(),
        "no tus clients in {}: run scripts/tus-clients.sh",
        dir.display()
    );
    dir
}

/// A dev corpus page as an uncompressed RGB TIFF: over 10 MB, more than one S3 part.
fn big_tiff(site: &Site, page: &str) -> PathBuf {
    let out = site
        .path()
        .join(page.replace(".png", ".tif").replace(".jpg", ".tif"));
    std::fs::write(&out, rgb_tiff(&std::fs::read(corpus(page)).unwrap())).unwrap();
    out
}

/// An image file as an uncompressed RGB TIFF (several times its size).
pub(super) fn rgb_tiff(image_file: &[u8]) -> Vec<u8> {
    let img = image::load_from_memory(image_file).unwrap().to_rgb8();
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Tiff).unwrap();
    out.into_inner()
}

/// PNG pages of the dev corpus of at least 3.5 megapixels.
fn corpus_pages() -> Vec<String> {
    super::common::distinct_corpus_files()
        .into_iter()
        .filter(|n| n.ends_with(".png"))
        .filter(|n| image::image_dimensions(corpus(n)).is_ok_and(|(w, h)| w * h >= 3_500_000))
        .collect()
}

fn run(cmd: &mut Command, what: &str) -> Value {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{what} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap()
}

fn tus(r: reqwest::blocking::RequestBuilder, token: &str) -> reqwest::blocking::RequestBuilder {
    auth(r, token).header("Tus-Resumable", "1.0.0")
}

fn header(r: &Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

fn head(url: &str, token: &str) -> Response {
    tus(client().head(url), token).send().unwrap()
}

/// The finished upload at `url` is an attachment with the file's SHA-256; returns its id.
fn finished(url: &str, token: &str, bytes: &[u8]) -> i64 {
    let r = head(url, token);
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "upload-offset"), bytes.len().to_string());
    assert_eq!(header(&r, "upload-length"), bytes.len().to_string());
    assert_eq!(header(&r, "motcua-attachment-sha256"), sha256(bytes));
    header(&r, "motcua-attachment-id").parse().unwrap()
}

fn partials(site: &Site) -> Vec<String> {
    stored_blobs(site.path())
        .into_iter()
        .filter(|k| k.starts_with("partial/"))
        .collect()
}

pub(super) fn tus_clients_resume_over_a_link_that_drops(site: Site) {
    let dir = clients();
    let s = Server::start(&site, &[]);
    let (token, _) = two_units(&site);
    let (_, d) = create_dossier(&s, Some(&token), None);
    let code = d["code"].as_str().unwrap().to_string();
    let pages = corpus_pages();
    let endpoint = |p: &FaultProxy| format!("{}/api/v1/uploads", p.url);

    // tuspy: 1 MiB chunks, each with its sha1 checksum; the link drops three times mid-chunk.
    let file = big_tiff(&site, &pages[0]);
    let bytes = std::fs::read(&file).unwrap();
    assert!(
        bytes.len() > 8 << 20,
        "more than one S3 part: {}",
        bytes.len()
    );
    let chunk = 1u64 << 20;
    let proxy = FaultProxy::start(&s.url, &[1_500_000, 4_000_000, 7_000_000]);
    let out = run(
        Command::new(dir.join("venv/bin/python"))
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tus/tuspy_upload.py"))
            .args([&endpoint(&proxy), &token, &code])
            .arg(&file)
            .arg(chunk.to_string()),
        "tuspy",
    );
    assert_eq!(proxy.dropped(), 3);
    // A chunk cut short cannot be checked against its checksum: it is sent again whole, and
    // nothing else is.
    let sent = proxy.upstream_bytes();
    let len = bytes.len() as u64;
    assert!(
        sent >= len && sent <= len + 3 * chunk + 64 * 1024,
        "{sent} for {len}"
    );
    let url = out["url"].as_str().unwrap().replace(&proxy.url, &s.url);
    let first = finished(&url, &token, &bytes);

    // tus-js-client: the whole file in one PATCH; what arrived before each drop is kept, and
    // each resume sends only the rest.
    let file = big_tiff(&site, &pages[1]);
    let bytes = std::fs::read(&file).unwrap();
    let proxy = FaultProxy::start(&s.url, &[2_000_000, 5_000_000]);
    let out = run(
        Command::new("node")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tus/tusjs_upload.mjs"))
            .args([&endpoint(&proxy), &token, &code])
            .arg(&file)
            .env("MOTCUA_TUS_CLIENTS", &dir),
        "tus-js-client",
    );
    assert_eq!(proxy.dropped(), 2);
    let (sent, len) = (proxy.upstream_bytes(), bytes.len() as u64);
    assert!(sent >= len && sent <= len + 16 * 1024, "{sent} for {len}");
    let url = out["url"].as_str().unwrap().replace(&proxy.url, &s.url);
    let second = finished(&url, &token, &bytes);
    assert_eq!(
        out["attachment"], second,
        "the final PATCH named the attachment"
    );

    // Both are processed like any upload; nothing partial is left in the store.
    let d = wait_settled(&s, &token, &code);
    let atts = d["attachments"].as_array().unwrap();
    for id in [first, second] {
        let a = atts.iter().find(|a| a["id"] == id).unwrap();
        assert_eq!(a["status"], "done", "{a}");
    }
    assert_eq!(partials(&site), Vec::<String>::new());
}

fn create(s: &Server, token: &str, code: &str, len: usize, body: Option<&[u8]>) -> Response {
    let meta = format!(
        "dossier {},filename {}",
        b64(code.as_bytes()),
        b64("tờ khai.png".as_bytes())
    );
    let mut r = tus(client().post(format!("{}/api/v1/uploads", s.url)), token)
        .header("Upload-Length", len.to_string())
        .header("Upload-Metadata", meta);
    if let Some(b) = body {
        r = r
            .header("Content-Type", "application/offset+octet-stream")
            .body(b.to_vec());
    }
    r.send().unwrap()
}

fn b64(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn patch(url: &str, token: &str, offset: usize, body: &[u8], sum: Option<&str>) -> Response {
    let mut r = tus(client().patch(url), token)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", offset.to_string())
        .body(body.to_vec());
    if let Some(sum) = sum {
        r = r.header("Upload-Checksum", sum);
    }
    r.send().unwrap()
}

fn code_of(r: Response) -> (StatusCode, String) {
    let st = r.status();
    assert_eq!(
        header(&r, "tus-resumable"),
        "1.0.0",
        "every answer names the version"
    );
    let v: Value = serde_json::from_str(&r.text().unwrap()).unwrap_or(Value::Null);
    (st, v["error"]["code"].as_str().unwrap_or("").to_string())
}

pub(super) fn tus_protocol_edges_restart_takeover_and_expiry(site: Site) {
    let extra = [("MOTCUA__TUS__MAX_OPEN_PER_OWNER", "4")];
    let s = Server::start(&site, &extra);
    let (token, other) = two_units(&site);
    let (_, d) = create_dossier(&s, Some(&token), None);
    let code = d["code"].as_str().unwrap().to_string();
    // The largest page of the dev corpus, as it is.
    let bytes = super::common::distinct_corpus_files()
        .iter()
        .map(|n| std::fs::read(corpus(n)).unwrap())
        .max_by_key(Vec::len)
        .unwrap();
    let n = bytes.len();
    assert!(n > 300_000);
    let endpoint = format!("{}/api/v1/uploads", s.url);

    let r = client()
        .request(reqwest::Method::OPTIONS, &endpoint)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&r, "tus-version"), "1.0.0");
    for ext in [
        "creation",
        "creation-with-upload",
        "termination",
        "checksum",
        "expiration",
    ] {
        assert!(
            header(&r, "tus-extension").split(',').any(|e| e == ext),
            "{ext}"
        );
    }
    assert_eq!(header(&r, "tus-checksum-algorithm"), "sha1,sha256");
    assert!(header(&r, "tus-max-size").parse::<u64>().unwrap() > 0);

    // Refusals, each with its code.
    let r = auth(client().post(&endpoint), &token)
        .header("Upload-Length", "10")
        .send();
    assert_eq!(
        code_of(r.unwrap()),
        (
            StatusCode::PRECONDITION_FAILED,
            "tus_version_unsupported".into()
        )
    );
    let r = tus(client().post(&endpoint), &token)
        .header("Upload-Length", "10")
        .send();
    assert_eq!(
        code_of(r.unwrap()).0,
        StatusCode::BAD_REQUEST,
        "no dossier named"
    );
    assert_eq!(
        code_of(create(&s, &other, &code, 10, None)).0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        code_of(create(&s, &token, &code, 0, None)),
        (StatusCode::BAD_REQUEST, "empty_file".into())
    );
    let huge = 1usize << 40;
    assert_eq!(
        code_of(create(&s, &token, &code, huge, None)),
        (StatusCode::PAYLOAD_TOO_LARGE, "file_too_large".into())
    );
    let text = b"plain text, not a scan of anything at all";
    let r = create(&s, &token, &code, text.len(), Some(text));
    assert_eq!(
        code_of(r),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type".into()
        )
    );

    // creation-with-upload, then PATCHes: a wrong offset, a wrong checksum, a right one.
    let r = create(&s, &token, &code, n, Some(&bytes[..100_000]));
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(header(&r, "upload-offset"), "100000");
    assert!(header(&r, "upload-expires").ends_with(" GMT"));
    let url = format!("{}{}", s.url, header(&r, "location"));
    let r = patch(&url, &token, 5, &bytes[5..10], None);
    assert_eq!(code_of(r), (StatusCode::CONFLICT, "offset_mismatch".into()));
    let wrong = format!("sha256 {}", b64(&sha2_of(b"something else")));
    let r = patch(
        &url,
        &token,
        100_000,
        &bytes[100_000..200_000],
        Some(&wrong),
    );
    assert_eq!(code_of(r).0.as_u16(), 460);
    assert_eq!(
        header(&head(&url, &token), "upload-offset"),
        "100000",
        "nothing kept"
    );
    let right = format!("sha1 {}", b64(&sha1_of(&bytes[100_000..200_000])));
    let r = patch(
        &url,
        &token,
        100_000,
        &bytes[100_000..200_000],
        Some(&right),
    );
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&r, "upload-offset"), "200000");
    assert_eq!(head(&url, &other).status(), StatusCode::FORBIDDEN);

    // The server is killed and started again: the upload goes on where it stopped.
    drop(s);
    let s = Server::start(&site, &extra);
    let url = url.replace(&endpoint.replace("/api/v1/uploads", ""), &s.url);
    let endpoint = format!("{}/api/v1/uploads", s.url);
    assert_eq!(header(&head(&url, &token), "upload-offset"), "200000");
    let r = patch(&url, &token, 200_000, &bytes[200_000..], None);
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let id = header(&r, "motcua-attachment-id");
    assert_eq!(finished(&url, &token, &bytes).to_string(), id);

    // Termination removes the upload and its bytes.
    let r = create(&s, &token, &code, n, Some(&bytes[..50_000]));
    let gone = format!("{}{}", s.url, header(&r, "location"));
    assert!(!partials(&site).is_empty());
    let r = tus(client().delete(&gone), &token).send().unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(head(&gone, &token).status(), StatusCode::NOT_FOUND);
    assert_eq!(partials(&site), Vec::<String>::new());

    // Unfinished uploads per station are limited.
    let open: Vec<String> = (0..4)
        .map(|_| {
            let r = create(&s, &token, &code, n, None);
            assert_eq!(r.status(), StatusCode::CREATED);
            format!("{}{}", s.url, header(&r, "location"))
        })
        .collect();
    assert_eq!(
        code_of(create(&s, &token, &code, n, None)),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_uploads".into())
    );

    // A PATCH hangs on a connection that died silently; a HEAD takes the upload over and
    // tells what that PATCH received, and the upload finishes from there.
    let hung = &open[0];
    let path = hung.replace(&s.url, "");
    let mut sock = TcpStream::connect(s.url.trim_start_matches("http://")).unwrap();
    write!(
        sock,
        "PATCH {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nTus-Resumable: 1.0.0\r\n\
         Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: {n}\r\n\r\n"
    )
    .unwrap();
    sock.write_all(&bytes[..65_536]).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let r = head(hung, &token);
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "upload-offset"), "65536");
    let r = patch(hung, &token, 65_536, &bytes[65_536..], None);
    assert_eq!(r.status(), StatusCode::NO_CONTENT, "{}", r.text().unwrap());
    drop(sock);
    finished(hung, &token, &bytes);
    for u in &open[1..] {
        assert_eq!(
            tus(client().delete(u), &token).send().unwrap().status(),
            StatusCode::NO_CONTENT
        );
    }

    // Expiry: an upload left alone past its time answers 410; the sweep removes it.
    drop(s);
    let s = Server::start(&site, &[("MOTCUA__TUS__EXPIRY_SECS", "1")]);
    let r = create(&s, &token, &code, n, Some(&bytes[..50_000]));
    let stale = format!("{}{}", s.url, header(&r, "location"));
    std::thread::sleep(Duration::from_millis(2_500));
    assert_eq!(
        head(&stale, &token).status(),
        StatusCode::GONE,
        "HEAD has no body"
    );
    let r = patch(&stale, &token, 50_000, &bytes[50_000..60_000], None);
    assert_eq!(code_of(r), (StatusCode::GONE, "upload_expired".into()));
    admin(&site, &["sweep"]);
    assert_eq!(head(&stale, &token).status(), StatusCode::NOT_FOUND);
    assert_eq!(partials(&site), Vec::<String>::new());
    let _ = endpoint;
}

fn sha1_of(b: &[u8]) -> Vec<u8> {
    use sha1::Digest;
    sha1::Sha1::digest(b).to_vec()
}

fn sha2_of(b: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(b).to_vec()
}
