//! Field extraction end to end: `motcua process` on a real CCCD, `motcua check` on models.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

fn motcua_with_models(args: &[&str]) -> std::process::Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Command::new(env!("CARGO_BIN_EXE_motcua"))
        .args(args)
        .env("MOTCUA__EXTRACT__MODELS_DIR", root.join("models"))
        .env("MOTCUA__EXTRACT__PIPELINES_DIR", root.join("pipelines"))
        .output()
        .expect("run motcua")
}

/// `tests/fixtures/cccd-clean.png` is `dev-016-cccd-clean.png` of the dev corpus; these are its
/// truth fields (dates as ISO).
#[test]
fn process_extracts_the_cccd_fields_of_the_clean_card() {
    let out = tempfile::tempdir().unwrap();
    let o = motcua_with_models(&[
        "process",
        fixture("cccd-clean.png").to_str().unwrap(),
        fixture("text-fax.tif").to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("cccd-clean.json")).unwrap())
            .unwrap();
    let page = &v["pages"][0];
    assert_eq!(page["doc_type"]["model"], "cccd");
    let fields = page["fields"].as_array().unwrap();
    let get = |name: &str| {
        fields
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("no field {name} in {fields:#?}"))
    };
    let truth = [
        ("pid", "072172124924"),
        ("name", "ĐINH MINH OANH"),
        ("dob", "1972-11-16"),
        ("sex", "Nữ"),
        ("nationality", "Việt Nam"),
        (
            "origin",
            "phường Hòa Cường Bắc, quận Hải Châu, thành phố Đà Nẵng",
        ),
        ("expiry", "2012-11-16"),
    ];
    for (name, want) in truth {
        let f = get(name);
        assert_eq!(f["value"], want, "{name}: {f:#}");
        assert_eq!(f["source"], "ocr");
        assert_eq!(f["page"], 0);
        assert!(f["box"]["x1"].as_u64().unwrap() > f["box"]["x0"].as_u64().unwrap());
        let c = f["confidence"].as_f64().unwrap();
        assert!(c > 0.5 && c <= 1.0, "{name} confidence {c}");
    }
    // Proven by the ID's digits, the expiry date and closed lists; a name has no proof.
    for name in ["pid", "dob", "sex", "nationality", "expiry"] {
        assert_eq!(get(name)["validation"]["status"], "valid", "{name}");
    }
    assert_eq!(get("name")["validation"]["status"], "unchecked");

    let fax: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("text-fax.json")).unwrap()).unwrap();
    assert!(fax["pages"][0]["doc_type"].is_null(), "a letter is no form");
    assert_eq!(fax["pages"][0]["fields"], serde_json::json!([]));
}

#[test]
fn check_accepts_the_shipped_models_and_lists_every_error_of_bad_ones() {
    let o = motcua_with_models(&["check"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("5 document models"));

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.toml"), "id = \"x\"\n[classify\n").unwrap();
    std::fs::write(
        dir.path().join("fields.toml"),
        "id = \"y\"\n[classify]\nkeywords = [\"k\"]\n[[field]]\nname = \"a\"\ntype = \"colour\"\nanchors = [\"A:\"]\n[[field]]\nname = \"b\"\ntype = \"date\"\n",
    )
    .unwrap();
    let o = motcua_with_models(&["check", "--models", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("broken.toml") && err.contains("invalid TOML"),
        "{err}"
    );
    assert!(
        err.contains("fields.toml: field a: unknown type \"colour\""),
        "{err}"
    );
    assert!(err.contains("fields.toml: field b: no anchors"), "{err}");
    assert!(err.contains("3 errors"), "{err}");
}

#[test]
fn process_refuses_to_start_with_broken_models() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "id = \"x\"\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_motcua"))
        .args([
            "process",
            fixture("cccd-clean.png").to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
        ])
        .env("MOTCUA__EXTRACT__MODELS_DIR", dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("bad.toml") && err.contains("classify"),
        "{err}"
    );
    assert!(!out.path().join("cccd-clean.json").exists());
}

/// An upside-down ID card has too few letters for orientation detection to be sure of (its
/// confidence on these is 0.1–1.2, under `min_orientation_confidence`), so detection alone left it
/// unturned and read as garbage; a page that reads badly is now also read turned half round.
#[test]
fn an_upside_down_card_is_turned_and_its_fields_read() {
    let out = tempfile::tempdir().unwrap();
    let mut inputs = Vec::new();
    for (name, pid) in [
        ("cccd-clean.png", "072172124924"),
        ("cccd-scan.jpg", "048081895332"),
    ] {
        let img = image::open(fixture(name)).unwrap().rotate180();
        let path = out
            .path()
            .join(format!("upside-{}.png", name.split('.').next().unwrap()));
        img.save(&path).unwrap();
        inputs.push((path, pid));
    }
    let mut args = vec!["process".to_string()];
    args.extend(inputs.iter().map(|(p, _)| p.to_string_lossy().into_owned()));
    args.extend([
        "--out".into(),
        out.path().join("o").to_string_lossy().into_owned(),
    ]);
    let o = motcua_with_models(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    for (path, pid) in inputs {
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let v: Value = serde_json::from_slice(
            &std::fs::read(out.path().join("o").join(format!("{stem}.json"))).unwrap(),
        )
        .unwrap();
        let page = &v["pages"][0];
        assert_eq!(page["orientation"], 180, "{stem}");
        assert_eq!(page["doc_type"]["model"], "cccd", "{stem}");
        let got = page["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "pid")
            .map(|f| f["value"].clone());
        assert_eq!(got, Some(Value::from(pid)), "{stem}");
    }
}
