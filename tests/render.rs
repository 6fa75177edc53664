//! The PDF text layer alone: known words in, the same Vietnamese text out of poppler.

mod common;

use std::sync::Arc;

use common::*;
use motcua::domain::{BBox, Line, Word};
use motcua::render::{self, RenderPage};

fn line_of(words: &[(&str, u32, u32)], y: u32, line: u32) -> (Vec<Word>, Line) {
    let ws = words
        .iter()
        .map(|&(t, x0, x1)| Word {
            text: t.into(),
            bbox: BBox {
                x0,
                y0: y,
                x1,
                y1: y + 40,
            },
            confidence: 90.0,
            line,
        })
        .collect();
    let l = Line {
        bbox: BBox {
            x0: 100,
            y0: y,
            x1: 2000,
            y1: y + 40,
        },
        block: 0,
        baseline: [100.0, (y + 32) as f32, 2000.0, (y + 32) as f32],
    };
    (ws, l)
}

#[test]
fn text_layer_extracts_with_diacritics_spaces_and_order() {
    let (mut words, l0) = line_of(
        &[
            ("Họ,", 100, 190),
            ("chữ", 205, 290),
            ("đệm,", 305, 420),
            ("tên:", 435, 520),
            ("ĐẶNG", 560, 700),
            ("MAI", 715, 800),
            ("HƯƠNG", 815, 1000),
        ],
        200,
        0,
    );
    let (w1, l1) = line_of(
        &[
            ("Ngày", 100, 210),
            ("sinh:", 225, 330),
            ("14/05/1997", 350, 600),
        ],
        300,
        1,
    );
    words.extend(w1);
    let lines = vec![l0, l1];
    // A tiny white JPEG as the page image: the text layer is what is under test.
    let img = image::DynamicImage::ImageLuma8(image::GrayImage::from_pixel(
        2480,
        3508,
        image::Luma([255]),
    ));
    let mut jpeg = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut jpeg),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    let page_img = render::PageBody::Image(render::PdfImage {
        width: 2480,
        height: 3508,
        colors: 1,
        bits: 8,
        encoded: render::Encoded::Jpeg {
            data: Arc::from(jpeg),
        },
    });
    let pdf = render::render_pdf(&[RenderPage {
        body: &page_img,
        dpi: 300.0,
        words: &words,
        lines: &lines,
    }]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.pdf");
    std::fs::write(&path, pdf).unwrap();
    let want = "Họ, chữ đệm, tên: ĐẶNG MAI HƯƠNG\nNgày sinh: 14/05/1997";
    for raw in [true, false] {
        let got = pdftotext(&path, raw);
        assert_eq!(fold(&got), fold(want), "raw={raw}: {got:?}");
    }
    // A4 at 300 dpi: the page is 595×842 pt.
    let info = std::process::Command::new("pdfinfo")
        .arg(&path)
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("595.2 x 841.92 pts (A4)"), "{info}");
}
