//! Every part of a multipart upload is stored or listed in `rejected` (issue 15, finding 6).

use reqwest::StatusCode;

use super::common::fixture;
use super::{Backend, Server, Site, auth, client, create_dossier, json, two_units};

/// A body built by hand: names that are not UTF-8 cannot be written with reqwest's form.
fn body(parts: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut b = Vec::new();
    for (disposition, content) in parts {
        b.extend_from_slice(b"--B0undary\r\nContent-Disposition: ");
        b.extend_from_slice(disposition);
        b.extend_from_slice(b"\r\n\r\n");
        b.extend_from_slice(content);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(b"--B0undary--\r\n");
    b
}

#[test]
fn parts_named_in_a_legacy_code_page_or_by_filename_star_or_not_at_all_are_stored() {
    let site = Site::new(Backend::Sqlite);
    let (station, _) = two_units(&site);
    let s = Server::start(&site, &[("MOTCUA__QUEUE__WORKERS", "0")]);
    let (_, d) = create_dossier(&s, Some(&station), None);
    let code = d["code"].as_str().unwrap();
    let png = std::fs::read(fixture("cccd-clean.png")).unwrap();
    let jpg = std::fs::read(fixture("cccd-scan.jpg")).unwrap();
    let tif = std::fs::read(fixture("text-fax.tif")).unwrap();
    let parts: [(&[u8], &[u8]); 4] = [
        // "Tờ khai.png" in Windows-1258.
        (
            b"form-data; name=\"file\"; filename=\"T\xF4\xCC khai.png\"",
            &png,
        ),
        (
            b"form-data; name=\"file\"; filename*=UTF-8''gi%E1%BA%A5y%20t%E1%BB%9D.jpg",
            &jpg,
        ),
        (b"form-data; name=\"scan\"", &tif),
        (b"form-data; name=\"note\"", "ghi chú".as_bytes()),
    ];
    let r = auth(
        client().post(format!("{}/api/v1/dossiers/{code}/attachments", s.url)),
        &station,
    )
    .header("Content-Type", "multipart/form-data; boundary=B0undary")
    .body(body(&parts))
    .send()
    .unwrap();
    let (st, receipt) = json(r);
    assert_eq!(st, StatusCode::ACCEPTED, "{receipt}");
    let names: Vec<&str> = receipt["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["filename"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{receipt}");
    assert!(
        names[0].starts_with('T') && names[0].ends_with(" khai.png"),
        "{names:?}"
    );
    assert_eq!(names[1], "giấy tờ.jpg");
    assert_eq!(names[2], "scan.tif");
    let rejected = receipt["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1, "{receipt}");
    assert_eq!(rejected[0]["code"], "not_a_file");
    assert_eq!(rejected[0]["field"], "note");
}
