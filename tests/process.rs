//! `motcua process` end to end: the real binary, real Tesseract, real PDFs read back by poppler.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

const FIXTURES: [&str; 6] = [
    "cccd-scan.jpg",
    "cccd-clean.png",
    "text-fax.tif",
    "two-pages-g4.tif",
    "cccd-turned.webp",
    "blank-back.png",
];

fn json(dir: &Path, stem: &str) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join(format!("{stem}.json"))).unwrap()).unwrap()
}

fn pages(v: &Value) -> &Vec<Value> {
    v["pages"].as_array().expect("pages array")
}

#[test]
fn every_input_gets_a_searchable_pdf_text_and_page_json() {
    let out = tempfile::tempdir().unwrap();
    let mut args = vec![
        "process",
        "--jobs",
        "2",
        "--out",
        out.path().to_str().unwrap(),
    ];
    let inputs: Vec<String> = FIXTURES
        .iter()
        .map(|f| fixture(f).to_string_lossy().into_owned())
        .collect();
    args.extend(inputs.iter().map(String::as_str));
    let o = motcua(&args);
    let log = stderr(&o);
    assert!(o.status.success(), "{log}");

    for name in FIXTURES {
        let stem = name.rsplit_once('.').unwrap().0;
        let pdf = out.path().join(format!("{stem}.pdf"));
        let txt = std::fs::read_to_string(out.path().join(format!("{stem}.txt"))).unwrap();
        let doc = json(out.path(), stem);
        assert_eq!(
            txt,
            txt.nfc().collect::<String>(),
            "{stem}: text must be NFC"
        );
        assert_eq!(pdf_pages(&pdf), pages(&doc).len(), "{stem}");
        assert_eq!(
            txt.matches('\x0c').count() + 1,
            pages(&doc).len(),
            "{stem}: pages split by form feed"
        );
        // The text layer, read back in content order, is the .txt: same characters, diacritics, order.
        let layer = pdftotext(&pdf, true);
        let c = cer(&txt, &layer);
        assert!(
            c < 0.01,
            "{stem}: pdftotext -raw differs from .txt (CER {c:.4})\n--- txt\n{txt}\n--- pdf\n{layer}"
        );
        for p in pages(&doc) {
            for key in [
                "index",
                "width",
                "height",
                "dpi",
                "orientation",
                "skew",
                "blank",
                "mean_confidence",
                "words",
                "timings",
            ] {
                assert!(p.get(key).is_some(), "{stem}: page lacks {key}");
            }
            for stage in [
                "decode_ms",
                "normalize_ms",
                "ocr_ms",
                "plain_ms",
                "render_ms",
                "extract_ms",
            ] {
                assert!(
                    p["timings"][stage].as_f64().is_some_and(|t| t >= 0.0),
                    "{stem}: timing {stage}"
                );
            }
            let (w, h) = (p["width"].as_u64().unwrap(), p["height"].as_u64().unwrap());
            for word in p["words"].as_array().unwrap() {
                let b = &word["box"];
                assert!(
                    b["x0"].as_u64() < b["x1"].as_u64() && b["x1"].as_u64().unwrap() <= w,
                    "{stem}: {word}"
                );
                assert!(
                    b["y0"].as_u64() < b["y1"].as_u64() && b["y1"].as_u64().unwrap() <= h,
                    "{stem}: {word}"
                );
                assert!((0.0..=100.0).contains(&word["confidence"].as_f64().unwrap()));
            }
        }
    }

    // Text is scaled into Tesseract's range by its measured size: the small 200 dpi card scan up,
    // the 600 dpi card not at all.
    for (stem, up) in [("cccd-scan", true), ("cccd-clean", false)] {
        let doc = json(out.path(), stem);
        let p = &pages(&doc)[0];
        let x = p["ocr_x_height"].as_f64().expect("x-height measured");
        assert!((16.0..=30.0).contains(&x), "{stem}: x-height {x}");
        let ratio = p["ocr_dpi"].as_f64().unwrap() / p["dpi"].as_f64().unwrap();
        assert_eq!(ratio > 1.5, up, "{stem}: OCR copy scaled {ratio}");
        assert_eq!(ratio == 1.0, !up, "{stem}: OCR copy scaled {ratio}");
    }
    // A scanned ID card (JPEG) and the same card as PNG read the same heading.
    for stem in ["cccd-scan", "cccd-clean"] {
        let txt = std::fs::read_to_string(out.path().join(format!("{stem}.txt"))).unwrap();
        assert!(txt.contains("CĂN CƯỚC CÔNG DÂN"), "{stem}: {txt}");
    }
    // A single-column fax page (CCITT G4) reads the same in poppler's own layout order too.
    let fax = std::fs::read_to_string(out.path().join("text-fax.txt")).unwrap();
    assert!(fax.contains("Nghị quyết 17/NQ-CP"), "{fax}");
    assert!(cer(&fax, &pdftotext(&out.path().join("text-fax.pdf"), false)) < 0.01);

    // Multi-page TIFF: both pages, in order; the second page is the single-page fax.
    let two = json(out.path(), "two-pages-g4");
    assert_eq!(pages(&two).len(), 2);
    assert_eq!(pages(&two)[1]["index"], 1);
    let two_txt = std::fs::read_to_string(out.path().join("two-pages-g4.txt")).unwrap();
    let second = two_txt.split('\x0c').nth(1).unwrap();
    assert!(
        cer(&fax, second) < 0.01,
        "second page of the TIFF is the fax page"
    );
    assert_eq!(
        pages(&two)[0]["dpi"].as_f64().unwrap().round(),
        200.0,
        "DPI read from the TIFF"
    );

    // A card stored turned 90° clockwise comes out upright, and says how it was found.
    let turned = pages(&json(out.path(), "cccd-turned"))[0].clone();
    assert_eq!(turned["orientation"], 90);
    assert!(
        turned["width"].as_u64() > turned["height"].as_u64(),
        "upright card is landscape"
    );
    let turned_txt = std::fs::read_to_string(out.path().join("cccd-turned.txt")).unwrap();
    assert!(
        turned_txt.contains("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
        "{turned_txt}"
    );

    // A blank back with bleed-through: marked blank, not read, still a page of the PDF.
    let blank = pages(&json(out.path(), "blank-back"))[0].clone();
    assert_eq!(blank["blank"], true);
    assert!(blank["words"].as_array().unwrap().is_empty());
    assert_eq!(pdf_pages(&out.path().join("blank-back.pdf")), 1);

    // One OCR engine per worker thread, not one per page (7 pages, 2 threads).
    let engines: usize = log
        .split("ocr_engines=")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no engine count in log: {log}"));
    assert!(
        (1..=2).contains(&engines),
        "{engines} engines for 7 pages on 2 threads"
    );
}

#[test]
fn image_only_pdfs_read_like_the_images_inside_them() {
    // Tesseract's own searchable PDFs of two fixtures: a CCITT G4 fax page and a JPEG card scan
    // (a producer other than us, with its own dictionary habits: no Rows, DecodeParms noise).
    let out = tempfile::tempdir().unwrap();
    let files = [
        "text-fax.tif",
        "text-fax-g4.pdf",
        "cccd-scan.jpg",
        "cccd-scan-jpeg.pdf",
        "two-pages-g4.tif",
    ]
    .map(|f| fixture(f).to_string_lossy().into_owned());
    let process = |dir: &Path, files: &[&str]| {
        let mut args = vec!["process", "--out", dir.to_str().unwrap()];
        args.extend(files);
        let o = motcua(&args);
        assert!(o.status.success(), "{}", stderr(&o));
    };
    process(out.path(), &files.each_ref().map(String::as_str));
    let text =
        |dir: &Path, stem: &str| std::fs::read_to_string(dir.join(format!("{stem}.txt"))).unwrap();
    for (image, pdf) in [("text-fax", "text-fax-g4"), ("cccd-scan", "cccd-scan-jpeg")] {
        let (a, b) = (text(out.path(), image), text(out.path(), pdf));
        assert!(a.chars().count() > 100, "{image}: {a}");
        let c = cer(&a, &b);
        assert!(
            c < 0.01,
            "{pdf} reads unlike {image} (CER {c:.4})\n{a}\n---\n{b}"
        );
        // The resolution comes from the page size: 200 dpi scans.
        let doc = json(out.path(), pdf);
        let dpi = pages(&doc)[0]["dpi"].as_f64().unwrap();
        assert!((dpi - 200.0).abs() < 1.0, "{pdf}: {dpi}");
    }
    let doc = json(out.path(), "text-fax-g4");
    let fax = &pages(&doc)[0];
    assert_eq!(
        (fax["width"].as_u64(), fax["height"].as_u64()),
        (Some(1653), Some(2338))
    );

    // The same fax PDF with its page marked /Rotate 90 over upright pixels (a viewer would
    // show it sideways): the page's rotation is a hint that orientation detection checks, so
    // the page is read upright and the same.
    let mut doc = lopdf::Document::load(fixture("text-fax-g4.pdf")).unwrap();
    let page = *doc.get_pages().values().next().unwrap();
    doc.get_dictionary_mut(page)
        .unwrap()
        .set("Rotate", lopdf::Object::Integer(90));
    let turned = out.path().join("turned.pdf");
    doc.save(&turned).unwrap();
    process(out.path(), &[turned.to_str().unwrap()]);
    let doc = json(out.path(), "turned");
    assert_eq!(pages(&doc)[0]["orientation"].as_u64(), Some(0));
    let c = cer(
        &text(out.path(), "text-fax-g4"),
        &text(out.path(), "turned"),
    );
    assert!(c < 0.01, "turned page CER {c:.4}");

    // Our own searchable PDF (1-bit Flate page images) fed back in: same pages, same text.
    let again = tempfile::tempdir().unwrap();
    let ours = out.path().join("two-pages-g4.pdf");
    process(again.path(), &[ours.to_str().unwrap()]);
    assert_eq!(pages(&json(again.path(), "two-pages-g4")).len(), 2);
    let (a, b) = (
        text(out.path(), "two-pages-g4"),
        text(again.path(), "two-pages-g4"),
    );
    let c = cer(&a, &b);
    assert!(c < 0.01, "round trip CER {c:.4}");
}

#[test]
fn bad_files_fail_with_a_code_and_the_rest_complete() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let jpg = std::fs::read(fixture("cccd-scan.jpg")).unwrap();
    let tif = std::fs::read(fixture("two-pages-g4.tif")).unwrap();
    let cases = [
        (
            "cut-jpeg.jpg",
            jpg[..jpg.len() / 2].to_vec(),
            "corrupt_file",
        ),
        (
            "cut-tiff.tif",
            tif[..tif.len() / 3].to_vec(),
            "corrupt_file",
        ),
        (
            "letter.png",
            b"Kinh gui: this is not an image".to_vec(),
            "unsupported_format",
        ),
        ("empty.jpg", Vec::new(), "empty_file"),
        ("scan.pdf", b"%PDF-1.7\n%...".to_vec(), "corrupt_file"),
        (
            "form.docx",
            b"PK\x03\x04\x14\x00\x06\x00".to_vec(),
            "unsupported_format",
        ),
    ];
    let mut args: Vec<String> = vec![
        "process".into(),
        "--out".into(),
        out.to_string_lossy().into(),
    ];
    for (name, bytes, _) in &cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        args.push(p.to_string_lossy().into());
    }
    args.push(fixture("cccd-clean.png").to_string_lossy().into());
    args.push(dir.path().join("missing.png").to_string_lossy().into());
    let o = motcua(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let log = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{log}");
    assert!(!log.contains("panicked"), "{log}");
    for (name, _, code) in &cases {
        let line = log
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no line for {name}: {log}"));
        assert!(
            line.contains(code),
            "{name} should fail with {code}: {line}"
        );
        let stem = name.rsplit_once('.').unwrap().0;
        assert!(
            !out.join(format!("{stem}.pdf")).exists(),
            "{name} must leave no output"
        );
    }
    assert!(
        log.lines()
            .any(|l| l.contains("missing.png") && l.contains("read_failed")),
        "{log}"
    );
    // The good file is processed in full despite its neighbours.
    assert!(
        std::fs::read_to_string(out.join("cccd-clean.txt"))
            .unwrap()
            .contains("CĂN CƯỚC")
    );
    assert!(out.join("cccd-clean.pdf").exists());
}

#[test]
fn limits_come_from_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("motcua.toml");
    let out = dir.path().join("out");
    let run = |config: &str, files: &[&str]| {
        std::fs::write(&cfg, config).unwrap();
        let mut args = vec![
            "--config",
            cfg.to_str().unwrap(),
            "process",
            "--out",
            out.to_str().unwrap(),
        ];
        let paths: Vec<String> = files
            .iter()
            .map(|f| fixture(f).to_string_lossy().into_owned())
            .collect();
        args.extend(paths.iter().map(String::as_str));
        let o = motcua(&args);
        (o.status.code(), stderr(&o))
    };

    let (code, log) = run(
        "[limits]\nmax_pages = 1\nmax_page_pixels = 5000000\n",
        &["two-pages-g4.tif", "cccd-clean.png"],
    );
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("two-pages-g4.tif") && l.contains("too_many_pages")),
        "{log}"
    );
    // Both pages fit under 5 Mpx, so the page count is what fails; the card passes.
    assert!(out.join("cccd-clean.pdf").exists(), "{log}");

    let (code, log) = run("[limits]\nmax_file_bytes = 1000\n", &["cccd-scan.jpg"]);
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("file_too_large"), "{log}");
}

#[test]
fn long_files_are_processed_a_few_pages_at_a_time_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("motcua.toml");
    std::fs::write(&cfg, "[limits]\nmax_pages_in_memory = 1\n").unwrap();
    let out = dir.path().join("out");
    let o = motcua(&[
        "--config",
        cfg.to_str().unwrap(),
        "process",
        "--out",
        out.to_str().unwrap(),
        fixture("two-pages-g4.tif").to_str().unwrap(),
        fixture("text-fax.tif").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc = json(&out, "two-pages-g4");
    let idx: Vec<_> = pages(&doc)
        .iter()
        .map(|p| p["index"].as_u64().unwrap())
        .collect();
    assert_eq!(idx, [0, 1]);
    let fax = std::fs::read_to_string(out.join("text-fax.txt")).unwrap();
    let two = std::fs::read_to_string(out.join("two-pages-g4.txt")).unwrap();
    assert!(cer(&fax, two.split('\x0c').nth(1).unwrap()) < 0.01);
    assert!(
        cer(&fax, two.split('\x0c').next().unwrap()) > 0.5,
        "page 1 is the other fax"
    );
}

#[test]
fn invalid_config_reports_every_error_and_config_prints_the_effective_one() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("motcua.toml");
    std::fs::write(
        &cfg,
        "[limits]\nmax_pages = 0\n[render]\njpeg_quality = 0\n",
    )
    .unwrap();
    let o = motcua(&["--config", cfg.to_str().unwrap(), "config"]);
    assert_eq!(o.status.code(), Some(2));
    let log = stderr(&o);
    assert!(
        log.contains("max_pages") && log.contains("jpeg_quality"),
        "{log}"
    );

    std::fs::write(&cfg, "[ocr]\nlang = \"vie\"\npsm = 6\n").unwrap();
    let o = motcua(&["--config", cfg.to_str().unwrap(), "config"]);
    assert!(o.status.success());
    let printed: toml::Value = toml::from_str(&String::from_utf8_lossy(&o.stdout)).unwrap();
    assert_eq!(printed["ocr"]["psm"].as_integer(), Some(6));
    assert!(printed["limits"]["max_file_bytes"].as_integer().unwrap() > 0);

    // `motcua config` is what people paste into tickets: the database password stays out.
    std::fs::write(
        &cfg,
        "[db]\nurl = \"postgres://motcua:Hanoi-584@db:5432/motcua\"\n",
    )
    .unwrap();
    let o = motcua(&["--config", cfg.to_str().unwrap(), "config"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.contains("Hanoi-584"), "{out}");
    let printed: toml::Value = toml::from_str(&out).unwrap();
    assert_eq!(
        printed["db"]["url"].as_str(),
        Some("postgres://motcua:***@db:5432/motcua")
    );
}

#[test]
fn inputs_with_the_same_name_do_not_overwrite_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::copy(fixture("cccd-scan.jpg"), a.join("cccd-clean.jpg")).unwrap();
    let out = dir.path().join("out");
    let o = motcua(&[
        "process",
        "--out",
        out.to_str().unwrap(),
        fixture("cccd-clean.png").to_str().unwrap(),
        a.join("cccd-clean.jpg").to_str().unwrap(),
    ]);
    let log = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("a/cccd-clean.jpg") && l.contains("duplicate_output_name")),
        "{log}"
    );
    // The first one's outputs are its own: the PNG card's text.
    let pdf_bytes = std::fs::metadata(out.join("cccd-clean.pdf")).unwrap().len();
    assert!(
        pdf_bytes > 100_000,
        "the PNG page passes through losslessly ({pdf_bytes} bytes)"
    );
}

/// Runs `process` on one fixture with extra `[normalize]` settings; returns its text and JSON.
fn process_one(name: &str, normalize: &str) -> (String, Value) {
    let out = tempfile::tempdir().unwrap();
    let cfg = out.path().join("motcua.toml");
    std::fs::write(&cfg, format!("[normalize]\n{normalize}\n")).unwrap();
    let input = fixture(name);
    let o = motcua(&[
        "--config",
        cfg.to_str().unwrap(),
        "process",
        "--out",
        out.path().join("out").to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stem = name.rsplit_once('.').unwrap().0;
    let dir = out.path().join("out");
    let text = std::fs::read_to_string(dir.join(format!("{stem}.txt"))).unwrap();
    (text, json(&dir, stem))
}

#[test]
fn the_line_under_a_red_seal_reads_right_once_the_seal_is_dropped() {
    // The seal covers the end of the wife's address on this stamped marriage declaration.
    let line = "Nơi cư trú: Thôn 6, xã Tản Lĩnh, huyện Ba Vì, thành phố Hà Nội";
    let (text, doc) = process_one("form-stamp.jpg", "");
    assert!(text.contains(line), "{text}");
    // The ring and the star inside it, or the ring in pieces where text crosses it.
    assert!(pages(&doc)[0]["colour_marks"].as_u64().unwrap() >= 1);
    let (text, doc) = process_one("form-stamp.jpg", "drop_colour_marks = false");
    assert!(
        !text.contains(line),
        "the seal no longer spoils the line: {text}"
    );
    assert_eq!(pages(&doc)[0]["colour_marks"], 0);
}

#[test]
fn a_card_photographed_on_a_desk_is_cut_out_and_read_in_order() {
    let (text, doc) = process_one("cccd-phone.jpg", "");
    let page = &pages(&doc)[0];
    // The desk is cut off all round: the PDF page is the card.
    let crop: Vec<u64> = page["crop"]
        .as_array()
        .expect("crop")
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(crop[0] > 40 && crop[1] > 40, "{crop:?}");
    assert!(crop[2] < 1528 - 80 && crop[3] < 1037 - 80, "{crop:?}");
    assert_eq!(page["width"].as_u64().unwrap(), crop[2]);
    // The place of origin, lost in the desk's shadow before, is read; the expiry date under the
    // portrait comes after the card's text column, as on the card.
    let origin = text.find("phường Hòa Cường Bắc").expect(&text);
    let expiry = text.find("Có giá trị đến: 17/04/1995").expect(&text);
    let name = text.find("Họ và tên").expect(&text);
    assert!(name < origin && origin < expiry, "{text}");
}

#[test]
fn a_typed_cover_letter_in_front_of_a_scan_is_processed_whole() {
    // What a portal assembles: a page of vector text (12 pt Helvetica, not embedded) and then
    // a scanned card (the JPEG fixture, drawn over its page).
    use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str};
    let jpg = std::fs::read(fixture("cccd-scan.jpg")).unwrap();
    let (w, h) = image::image_dimensions(fixture("cccd-scan.jpg")).unwrap();
    let mut pdf = Pdf::new();
    let (catalog, tree, font, image) = (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4));
    let (letter, letter_c, scan, scan_c) = (Ref::new(5), Ref::new(6), Ref::new(7), Ref::new(8));
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids([letter, scan]).count(2);
    let mut page = pdf.page(letter);
    page.media_box(Rect::new(0.0, 0.0, 595.0, 842.0))
        .parent(tree)
        .contents(letter_c);
    page.resources().fonts().pair(Name(b"F1"), font);
    page.finish();
    let mut text = Content::new();
    text.begin_text().set_font(Name(b"F1"), 14.0);
    text.next_line(72.0, 760.0);
    for line in [
        "To the People's Committee of the Ward",
        "Application for a certified copy of the birth register",
        "Applicant: Nguyen Van An, living at 12 Hang Bac Street",
    ] {
        text.show(Str(line.as_bytes())).next_line(0.0, -24.0);
    }
    text.end_text();
    pdf.type1_font(font).base_font(Name(b"Helvetica"));
    pdf.stream(letter_c, &text.finish());
    // The card keeps its aspect: drawn over a page of its own proportions.
    let (pw, ph) = (w as f32 * 72.0 / 300.0, h as f32 * 72.0 / 300.0);
    let mut page = pdf.page(scan);
    page.media_box(Rect::new(0.0, 0.0, pw, ph))
        .parent(tree)
        .contents(scan_c);
    page.resources().x_objects().pair(Name(b"Im0"), image);
    page.finish();
    pdf.stream(
        scan_c,
        format!("q {pw} 0 0 {ph} 0 0 cm /Im0 Do Q").as_bytes(),
    );
    let mut x = pdf.image_xobject(image, &jpg);
    x.filter(Filter::DctDecode);
    x.width(w as i32).height(h as i32).bits_per_component(8);
    x.color_space().device_rgb();
    x.finish();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mixed.pdf");
    std::fs::write(&input, pdf.finish()).unwrap();
    let out = dir.path().join("out");
    let o = motcua(&[
        "process",
        "--out",
        out.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc = json(&out, "mixed");
    assert_eq!(pages(&doc).len(), 2);
    let (letter, card) = (&pages(&doc)[0], &pages(&doc)[1]);
    // The letter is read from its own text layer, exactly, with boxes on its 300 dpi grid; the
    // card is OCRed.
    assert_eq!(letter["dpi"].as_f64(), Some(300.0));
    assert_eq!(letter["reading"], "text_layer");
    assert_eq!(letter["mean_confidence"].as_f64(), Some(100.0));
    assert_eq!(letter["words"][0]["box"]["x0"].as_u64(), Some(300));
    assert_eq!(card["reading"], "normalized");
    let typed = "To the People’s Committee of the Ward\n\
                 Application for a certified copy of the birth register\n\
                 Applicant: Nguyen Van An, living at 12 Hang Bac Street";
    let txt = std::fs::read_to_string(out.join("mixed.txt")).unwrap();
    let (cover, scan) = txt.split_once('\u{c}').expect("two pages of text");
    assert_eq!(cover.trim_end(), typed);
    assert!(scan.contains("CĂN CƯỚC"), "{scan}");
    // The searchable PDF's first page is the letter's own content (its Helvetica text, no
    // image of it, no second invisible copy of its words); the card keeps its OCR layer.
    let pdf = out.join("mixed.pdf");
    let fonts = std::process::Command::new("pdffonts")
        .arg(&pdf)
        .output()
        .unwrap();
    let fonts = String::from_utf8_lossy(&fonts.stdout).into_owned();
    assert!(fonts.contains("Helvetica"), "{fonts}");
    let first = std::process::Command::new("pdftotext")
        .args(["-f", "1", "-l", "1"])
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    let first = String::from_utf8(first.stdout).unwrap();
    assert_eq!(first.trim_end_matches(['\n', '\u{c}']), typed);
    let images = std::process::Command::new("pdfimages")
        .args(["-list", "-f", "1", "-l", "1"])
        .arg(&pdf)
        .output()
        .unwrap();
    let images = String::from_utf8_lossy(&images.stdout).into_owned();
    assert_eq!(images.lines().count(), 2, "page 1 draws no image: {images}");
    assert!(pdftotext(&pdf, false).contains("CĂN CƯỚC"));
}

/// A program whose file was replaced or removed while it started (an upgrade) still re-executes
/// itself with `OMP_THREAD_LIMIT=1` (issue 15, finding 8: it used to run OpenMP unlimited,
/// warning only). Here the binary is started from an open descriptor of a file already removed.
#[test]
fn openmp_is_limited_even_when_the_binary_was_removed_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("motcua");
    std::fs::copy(env!("CARGO_BIN_EXE_motcua"), &copy).unwrap();
    let file = std::fs::File::open(&copy).unwrap();
    std::fs::remove_file(&copy).unwrap();
    use std::os::fd::AsRawFd;
    let out = dir.path().join("out");
    let o = std::process::Command::new(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .args(["process", "--out", out.to_str().unwrap()])
        .arg(fixture("cccd-clean.png"))
        .env_remove("OMP_THREAD_LIMIT")
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(!err.contains("could not re-execute"), "{err}");
    assert!(!err.contains("OMP_THREAD_LIMIT is not 1"), "{err}");
    assert!(out.join("cccd-clean.pdf").is_file());
}
