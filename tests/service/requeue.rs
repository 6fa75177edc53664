//! A failed attachment can be processed again, by a clerk over the API or by an operator
//! (issue 15, finding 4: re-uploading the same bytes returned the failed attachment, and nothing
//! could requeue it).

use reqwest::StatusCode;
use reqwest::blocking::multipart::{Form, Part};

use super::common::fixture;
use super::{
    Backend, Server, Site, admin, auth, client, create_clerk, create_dossier, json, two_units,
    upload, wait_settled,
};

#[test]
fn a_failed_attachment_is_processed_again_by_a_clerk_or_an_operator() {
    let site = Site::new(Backend::Sqlite);
    let (station, _) = two_units(&site);
    create_clerk(&site, "XA", "lan", "mat-khau-rat-dai");
    let s = Server::start(&site, &[]);
    let (_, d) = create_dossier(&s, Some(&station), None);
    let code = d["code"].as_str().unwrap().to_string();
    let jpg = std::fs::read(fixture("cccd-scan.jpg")).unwrap();
    let form = Form::new()
        .part(
            "file",
            Part::bytes(jpg[..jpg.len() / 2].to_vec()).file_name("cut.jpg"),
        )
        .file("file", fixture("cccd-clean.png"))
        .unwrap();
    let (st, r) = upload(&s, &station, &code, form);
    assert_eq!(st, StatusCode::ACCEPTED, "{r}");
    let d = wait_settled(&s, &station, &code);
    let (bad, good) = (&d["attachments"][0], &d["attachments"][1]);
    assert_eq!(bad["error"]["code"], "corrupt_file", "{bad:#}");
    assert_eq!(good["status"], "done", "{good:#}");
    let retry = |id: &serde_json::Value, who: Option<&str>| {
        let url = format!("{}/api/v1/dossiers/{code}/attachments/{id}/retry", s.url);
        let r = client().post(url);
        let r = match who {
            Some(t) => auth(r, t),
            None => r.basic_auth("lan", Some("mat-khau-rat-dai")),
        };
        json(r.send().unwrap())
    };

    let (st, e) = retry(&bad["id"], Some(&station));
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (st, e) = retry(&good["id"], None);
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    let (st, r) = retry(&bad["id"], None);
    assert_eq!(st, StatusCode::ACCEPTED, "{r}");
    assert_eq!(r["status"], "queued");
    // Processed again from a fresh count (and failing again: the bytes are still cut).
    let d = wait_settled(&s, &station, &code);
    let bad = &d["attachments"][0];
    assert_eq!(bad["error"]["code"], "corrupt_file", "{bad:#}");
    assert_eq!(bad["job"]["attempts"], 1, "{bad:#}");
    let history = client()
        .get(format!("{}/api/v1/dossiers/{code}/history", s.url))
        .basic_auth("lan", Some("mat-khau-rat-dai"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(history.contains("attachment.requeued"), "{history}");

    // The operator's command: by dossier (only the failed attachment), then by dead jobs.
    let out = admin(&site, &["requeue", "--dossier", &code]);
    assert_eq!(out.trim(), bad["id"].to_string());
    wait_settled(&s, &station, &code);
    let out = admin(&site, &["requeue", "--dead", "--code", "worker_lost"]);
    assert_eq!(out.trim(), "", "nothing was set aside");
}
