//! Pages unlike the synthetic corpus, made here from the fixtures: a standard-resolution fax
//! (200×100 dpi), the last page of an official letter (a few lines of text under a seal and a
//! signature that dwarf the letters), and a page with ink but no text. Each must keep its text,
//! or say that it has none.

mod common;

use std::path::Path;

use common::*;
use image::{GrayImage, Luma};
use serde_json::Value;

fn json(dir: &Path, stem: &str) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join(format!("{stem}.json"))).unwrap()).unwrap()
}

/// Runs `process` on `inputs` with `[normalize]` settings; returns the output folder.
fn process(dir: &Path, normalize: &str, inputs: &[&Path]) -> std::path::PathBuf {
    let cfg = dir.join(format!("motcua-{}.toml", normalize.len()));
    std::fs::write(&cfg, format!("[normalize]\n{normalize}\n")).unwrap();
    let out = dir.join(format!("out-{}", normalize.len()));
    let mut args = vec![
        "--config",
        cfg.to_str().unwrap(),
        "process",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(inputs.iter().map(|p| p.to_str().unwrap()));
    let o = motcua(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

fn text(dir: &Path, stem: &str) -> String {
    std::fs::read_to_string(dir.join(format!("{stem}.txt"))).unwrap()
}

/// Words (of 3+ letters) of `reference` that `hyp` also has, as a share.
fn word_recall(reference: &str, hyp: &str) -> f64 {
    let hyp: std::collections::HashSet<&str> = hyp.split_whitespace().collect();
    let words: Vec<&str> = reference
        .split_whitespace()
        .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 3)
        .collect();
    words.iter().filter(|w| hyp.contains(*w)).count() as f64 / words.len().max(1) as f64
}

/// The fax fixture (1653 × 2338 px, 200 dpi G4) as 8-bit gray.
fn fax_page() -> GrayImage {
    image::open(fixture("text-fax.tif")).unwrap().to_luma8()
}

/// A bilevel TIFF with the given resolutions (pixels per inch).
fn write_tiff(path: &Path, img: &GrayImage, xdpi: u32, ydpi: u32) {
    use tiff::encoder::{Rational, TiffEncoder, colortype};
    use tiff::tags::ResolutionUnit;
    let mut f = std::fs::File::create(path).unwrap();
    let mut enc = TiffEncoder::new(&mut f).unwrap();
    let mut page = enc
        .new_image::<colortype::Gray8>(img.width(), img.height())
        .unwrap();
    page.resolution_unit(ResolutionUnit::Inch);
    page.x_resolution(Rational { n: xdpi, d: 1 });
    page.y_resolution(Rational { n: ydpi, d: 1 });
    page.write_data(img.as_raw()).unwrap();
}

/// `pdfinfo`'s page size in points.
fn page_size(pdf: &Path) -> (f64, f64) {
    let info = stdout_of(std::process::Command::new("pdfinfo").arg(pdf), "pdfinfo");
    let line = info
        .lines()
        .find(|l| l.starts_with("Page size:"))
        .expect(&info);
    let v: Vec<f64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (v[0], v[1])
}

#[test]
fn a_standard_resolution_fax_reads_at_its_true_aspect() {
    let dir = tempfile::tempdir().unwrap();
    let fine = fax_page();
    // Standard G3/G4 fax: every other scan line, 200 × 100 dpi.
    let coarse = GrayImage::from_fn(fine.width(), fine.height() / 2, |x, y| {
        *fine.get_pixel(x, 2 * y)
    });
    let (fine_path, coarse_path) = (dir.path().join("fine.tif"), dir.path().join("coarse.tif"));
    write_tiff(&fine_path, &fine, 200, 200);
    write_tiff(&coarse_path, &coarse, 200, 100);
    let out = process(dir.path(), "", &[&fine_path, &coarse_path]);

    let (reference, squashed) = (text(&out, "fine"), text(&out, "coarse"));
    let c = cer(&reference, &squashed);
    assert!(c < 0.03, "CER {c} against the fine fax:\n{squashed}");
    // The page is as tall as the paper, in the JSON and in the PDF.
    let page = &json(&out, "coarse")["pages"][0];
    assert_eq!(page["height"].as_u64(), Some(u64::from(fine.height())));
    assert_eq!(page["dpi"].as_f64(), Some(200.0));
    let (w, h) = page_size(&out.join("coarse.pdf"));
    let (fw, fh) = page_size(&out.join("fine.pdf"));
    assert!(
        (w - fw).abs() < 1.0 && (h - fh).abs() < 1.0,
        "{w}×{h} vs {fw}×{fh}"
    );
    assert!((h / w - 2338.0 / 1653.0).abs() < 0.01, "{w}×{h}");
}

/// A page of `../shared/corpus/real` and its truth text, or `None` (with a note) without it.
fn real_page(file: &str) -> Option<(std::path::PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/real");
    let Ok(truth) = std::fs::read_to_string(dir.join("truth.jsonl")) else {
        eprintln!("skipped: ../shared/corpus/real is not there");
        return None;
    };
    let row: Value = truth
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|t| t["file"] == file)
        .expect(file);
    Some((dir.join(file), row["text"].as_str().unwrap().to_string()))
}

/// Several pages of `../shared/corpus/real` with their truth, or `None` without the corpus.
fn real_pages(files: &[&str]) -> Option<Vec<(std::path::PathBuf, String)>> {
    files.iter().map(|f| real_page(f)).collect()
}

/// The output stem of an input file name (`real-021-text-stamp.jpg` → `real-021-text-stamp`).
fn stem(file: &str) -> String {
    file.rsplit_once('.').unwrap().0.to_string()
}

#[test]
fn the_last_page_of_a_letter_under_its_seal_keeps_its_text() {
    // Two deliveries of real last pages ("Nơi nhận:", the signer's title, a real red seal over
    // the signature): a stamped copy and a gray scan, where the seal is a dark blot.
    let pages = ["real-021-text-stamp.jpg", "real-022-text-scan.jpg"];
    let Some(real) = real_pages(&pages) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let inputs: Vec<&Path> = real.iter().map(|(p, _)| p.as_path()).collect();

    let out = process(dir.path(), "", &inputs);
    for (file, (_, truth)) in pages.iter().zip(&real) {
        let got = text(&out, &stem(file));
        let recall = word_recall(truth, &got);
        assert!(recall > 0.85, "{file}: recall {recall}:\n{got}");
        let page = &json(&out, &stem(file))["pages"][0];
        // The OCR copy stays near the page's own 300 dpi: the seal is no letter.
        assert!(page["ocr_dpi"].as_f64().unwrap() >= 150.0, "{file}");
        assert_eq!(page["warnings"].as_array().unwrap().len(), 0, "{file}");
    }

    // With the guards off, as before they existed, the seal is taken for letters and the
    // text is scaled away to a few dozen dpi: these pages do test what the guards are for.
    let bounds_off = "max_scale_vs_dpi = 1000.0\nmax_letter_inches = 2.0\n";
    let out = process(
        dir.path(),
        &format!(
            "{bounds_off}plain_check_below_word_share = 0.0\ncompare_plain_reading = \"never\""
        ),
        &inputs,
    );
    for (file, (_, truth)) in pages.iter().zip(&real) {
        let page = &json(&out, &stem(file))["pages"][0];
        assert!(page["ocr_dpi"].as_f64().unwrap() < 100.0, "{file}");
        assert!(word_recall(truth, &text(&out, &stem(file))) < 0.2, "{file}");
    }
    // The plain-reading guard alone saves them: too few words for the ink, so the page is read
    // as delivered too, and that reading kept (also without comparing every changed page).
    let out = process(
        dir.path(),
        &format!("{bounds_off}compare_plain_reading = \"never\""),
        &inputs,
    );
    for (file, (_, truth)) in pages.iter().zip(&real) {
        let page = &json(&out, &stem(file))["pages"][0];
        assert_eq!(page["reading"], "plain", "{file}");
        let recall = word_recall(truth, &text(&out, &stem(file)));
        assert!(recall > 0.8, "{file}: recall {recall}");
    }
}

#[test]
fn a_page_that_normalization_reads_worse_keeps_the_plain_reading() {
    // Real pages where a step that helps most pages costs words: levelling a scan skewed by
    // 0.9° and 1.5° (Tesseract then drops tone marks over circumflexes on its tight lines), and
    // scaling an annex table's letters down until its rules touch them.
    let pages = [
        "real-012-text-scan.png",
        "real-040-text-scan.jpg",
        "real-028-text-clean.png",
    ];
    let Some(real) = real_pages(&pages) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let inputs: Vec<&Path> = real.iter().map(|(p, _)| p.as_path()).collect();
    let compared = process(dir.path(), "", &inputs);
    let normalized_only = process(dir.path(), "compare_plain_reading = \"never\"", &inputs);
    for (file, (_, truth)) in pages.iter().zip(&real) {
        let st = stem(file);
        assert_eq!(
            json(&compared, &st)["pages"][0]["reading"],
            "plain",
            "{file}"
        );
        assert_eq!(
            json(&normalized_only, &st)["pages"][0]["reading"],
            "normalized"
        );
        let kept = word_recall(truth, &text(&compared, &st));
        let normalized = word_recall(truth, &text(&normalized_only, &st));
        assert!(kept > normalized + 0.02, "{file}: {kept} vs {normalized}");
    }
}

#[test]
fn a_page_with_ink_and_no_text_says_so() {
    let dir = tempfile::tempdir().unwrap();
    // Large filled blots: ink, but nothing Tesseract can read.
    let page = GrayImage::from_fn(1653, 2338, |x, y| {
        let (cx, cy) = ((x / 400) * 400 + 200, (y / 400) * 400 + 200);
        let d = (x as i64 - cx as i64).pow(2) + (y as i64 - cy as i64).pow(2);
        Luma([if d < 120 * 120 { 0 } else { 255 }])
    });
    let path = dir.path().join("blots.tif");
    write_tiff(&path, &page, 200, 200);
    let out = process(dir.path(), "", &[&path]);
    let page = &json(&out, "blots")["pages"][0];
    assert_eq!(page["blank"], false, "{page}");
    assert!(text(&out, "blots").trim().is_empty());
    let codes: Vec<&str> = page["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["no_text"], "{page}");
}
