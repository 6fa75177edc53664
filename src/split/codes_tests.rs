//! What the reader reads and where its limits are, on generated A4 pages at 300 dpi: codes of
//! several sizes, turned, through JPEG, damaged; a damaged code is missed, never misread.

use image::{GrayImage, Luma};
use rxing::{BarcodeFormat, MultiFormatWriter, Writer};

use super::*;
use crate::normalize::level_gray;

const A4: (u32, u32) = (2480, 3508);
const PAYLOAD: &str = "MOTCUA:SEP:1";

/// A page with `kind` encoding `text` drawn at (x, y), `module` pixels per module (per narrow
/// bar for Code 39, `bar_height` tall).
fn page_with(kind: BarcodeFormat, text: &str, module: u32, at: (u32, u32)) -> GrayImage {
    let bits = MultiFormatWriter
        .encode(text, &kind, 0, 0)
        .expect("encodable");
    let mut page = GrayImage::from_pixel(A4.0, A4.1, Luma([255]));
    let rows = if kind == BarcodeFormat::CODE_39 {
        1
    } else {
        bits.height()
    };
    let tall = if kind == BarcodeFormat::CODE_39 {
        120
    } else {
        module
    };
    for y in 0..rows {
        for x in 0..bits.width() {
            if !bits.get(x, y) {
                continue;
            }
            for dy in 0..tall {
                for dx in 0..module {
                    page.put_pixel(at.0 + x * module + dx, at.1 + y * tall + dy, Luma([0]));
                }
            }
        }
    }
    page
}

fn texts(page: &GrayImage) -> Vec<String> {
    read(page).unwrap().into_iter().map(|c| c.text).collect()
}

fn jpeg(page: &GrayImage, quality: u8) -> GrayImage {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(page)
        .unwrap();
    image::load_from_memory(&out).unwrap().to_luma8()
}

#[test]
fn a_separator_qr_code_is_read_small_turned_and_through_jpeg() {
    // 3 px a module is a 25-module code of 6 mm at 300 dpi: smaller than any printed sheet.
    for module in [3, 6, 12] {
        let page = page_with(BarcodeFormat::QR_CODE, PAYLOAD, module, (1800, 200));
        let codes = read(&page).unwrap();
        assert_eq!(codes.len(), 1, "module {module}");
        assert_eq!(codes[0].symbology, Symbology::Qr);
        assert_eq!(codes[0].text, PAYLOAD);
        assert_eq!(
            texts(&jpeg(&page, 30)),
            vec![PAYLOAD],
            "JPEG q30, module {module}"
        );
    }
    let page = page_with(BarcodeFormat::QR_CODE, PAYLOAD, 6, (1000, 1500));
    for deg in [90.0, 180.0, 270.0, 7.0, -12.0, 45.0] {
        let turned = level_gray(&page, deg);
        assert_eq!(texts(&turned), vec![PAYLOAD], "turned {deg}°");
    }
}

#[test]
fn below_its_limits_a_code_is_missed_never_misread() {
    // Measured limits on clean pages: 1 px a module is read upright even through JPEG q15,
    // but not turned 7° (bilinear resampling merges the modules), nor at q5; 2 px is read both
    // ways. Code 39 at 1 px a narrow bar is read through JPEG q10.
    let tiny = page_with(BarcodeFormat::QR_CODE, PAYLOAD, 1, (1000, 1500));
    assert_eq!(texts(&tiny), vec![PAYLOAD]);
    assert!(texts(&level_gray(&tiny, 7.0)).is_empty());
    assert!(texts(&jpeg(&tiny, 5)).is_empty());
    // A third of the code wiped out (a stamp over it, a torn corner): more than its error
    // correction restores.
    let mut torn = page_with(BarcodeFormat::QR_CODE, PAYLOAD, 8, (1000, 1000));
    for y in 1000..1000 + 29 * 8 {
        for x in 1000..1000 + 10 * 8 {
            torn.put_pixel(x, y, Luma([255]));
        }
    }
    let read_back = texts(&torn);
    assert!(
        read_back.is_empty() || read_back == vec![PAYLOAD],
        "{read_back:?}"
    );
    // Heavy JPEG damage on the smallest code.
    let smudged = jpeg(
        &page_with(BarcodeFormat::QR_CODE, PAYLOAD, 1, (500, 500)),
        3,
    );
    let read_back = texts(&smudged);
    assert!(
        read_back.is_empty() || read_back == vec![PAYLOAD],
        "{read_back:?}"
    );
}

#[test]
fn a_patcht_sheet_and_a_receipt_qr_on_one_page_are_both_read_top_first() {
    let mut page = page_with(BarcodeFormat::CODE_39, "PATCHT", 4, (300, 2500));
    let receipt = page_with(
        BarcodeFormat::QR_CODE,
        "MOTCUA:HS:XA-57F5QQ23TK",
        6,
        (300, 300),
    );
    for (a, b) in page.pixels_mut().zip(receipt.pixels()) {
        a.0[0] = a.0[0].min(b.0[0]);
    }
    let codes = read(&page).unwrap();
    let got: Vec<(Symbology, &str)> = codes
        .iter()
        .map(|c| (c.symbology, c.text.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Symbology::Qr, "MOTCUA:HS:XA-57F5QQ23TK"),
            (Symbology::Code39, "PATCHT")
        ]
    );
    assert_eq!(texts(&jpeg(&page, 40)).len(), 2);
    // A page with no code has none.
    assert!(texts(&GrayImage::from_pixel(A4.0, A4.1, Luma([255]))).is_empty());
}

#[test]
fn a_code_too_damaged_to_read_is_still_seen_as_a_code() {
    // Version 1 with its quiet zone: 29 modules, the symbol at 4..25, finder patterns at
    // 4..11 and 18..25. The columns between the finders wiped: a third of the symbol, far more
    // than error correction restores, while the finders stay.
    let intact = page_with(BarcodeFormat::QR_CODE, PAYLOAD, 8, (1000, 1000));
    let mut damaged = intact.clone();
    for y in 1000 + 4 * 8..1000 + 25 * 8 {
        for x in 1000 + 11 * 8..1000 + 18 * 8 {
            damaged.put_pixel(x, y, Luma([255]));
        }
    }
    assert!(texts(&damaged).is_empty(), "not read");
    assert!(qr_present(&damaged), "but seen");
    assert!(qr_present(&intact));
    // No QR code: a blank page, a page with only a Code 39 sheet.
    assert!(!qr_present(&GrayImage::from_pixel(A4.0, A4.1, Luma([255]))));
    assert!(!qr_present(&page_with(
        BarcodeFormat::CODE_39,
        "PATCHT",
        3,
        (300, 300)
    )));
}
