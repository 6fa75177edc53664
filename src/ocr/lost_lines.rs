//! Lines Tesseract's page layout analysis left out. On some forms it drops a whole text line that
//! it reads perfectly on its own (a label typed in one face with its value in a larger one: the
//! line that names the requester, and with it every field of the form). Bands of text-like ink
//! that no word covers are found on the OCR copy and read again as single lines; what reads
//! confidently is put back in its place. Silent loss of text is the worst defect an OCR can have.

use image::{GrayImage, imageops};

use super::OcrResult;
use crate::domain::{BBox, Line, Word};

/// Darker than this (0–255) is ink on the OCR copy (normalized: paper white, text black).
const INK: u8 = 128;
/// Most bands read again on one page: a page with more is not a case of lost lines.
const MAX_BANDS: usize = 12;
/// Least confidence of a word put back (0–100).
const MIN_WORD_CONFIDENCE: f32 = 60.0;

/// Bands (OCR-copy pixels) holding text-sized ink that no word of `ocr` covers. `x_height`:
/// the page's measured x-height in pixels.
pub fn unread_bands(image: &GrayImage, ocr: &OcrResult, x_height: f32) -> Vec<BBox> {
    let (w, h) = image.dimensions();
    if w == 0 || h == 0 || x_height < 4.0 {
        return Vec::new();
    }
    // Ink outside every word's box (a word's ascenders and marks stay its own), per row.
    let mut covered = vec![false; (w * h) as usize];
    for word in &ocr.words {
        let b = word.bbox;
        for y in b.y0.min(h)..b.y1.min(h) {
            let row = (y * w) as usize;
            covered[row + b.x0.min(w) as usize..row + b.x1.min(w) as usize].fill(true);
        }
    }
    let free = |x: u32, y: u32| !covered[(y * w + x) as usize];
    let row_ink: Vec<u32> = (0..h)
        .map(|y| {
            (0..w)
                .filter(|&x| image.get_pixel(x, y)[0] < INK && free(x, y))
                .count() as u32
        })
        .collect();
    let min_row = (2.0 * x_height) as u32;
    let gap = (0.35 * x_height).max(2.0) as u32;
    let mut bands = Vec::new();
    let mut y = 0;
    while y < h && bands.len() <= MAX_BANDS {
        if row_ink[y as usize] < min_row {
            y += 1;
            continue;
        }
        let start = y;
        let mut end = y;
        let mut quiet = 0;
        while y < h && quiet <= gap {
            if row_ink[y as usize] >= min_row {
                end = y;
                quiet = 0;
            } else {
                quiet += 1;
            }
            y += 1;
        }
        let height = (end + 1 - start) as f32;
        // A text line is about one to three x-heights tall (marks and descenders included).
        if !(0.8 * x_height..=3.5 * x_height).contains(&height) {
            continue;
        }
        let band = BBox {
            x0: 0,
            y0: start,
            x1: w,
            y1: end + 1,
        };
        if let Some(b) = text_like(image, &band, &free, x_height) {
            bands.push(b);
        }
    }
    if bands.len() > MAX_BANDS {
        return Vec::new();
    }
    bands
}

/// The band's extent when its free ink looks like a line of letters: wide, neither a solid bar
/// nor a sprinkle.
fn text_like(
    image: &GrayImage,
    band: &BBox,
    free: &impl Fn(u32, u32) -> bool,
    x_height: f32,
) -> Option<BBox> {
    let cols: Vec<u32> = (band.x0..band.x1)
        .filter(|&x| (band.y0..band.y1).any(|y| image.get_pixel(x, y)[0] < INK && free(x, y)))
        .collect();
    let (&x0, &x1) = (cols.first()?, cols.last()?);
    let width = (x1 + 1 - x0) as f32;
    // A line worth reading again: several words long, and ink in a good share of its width
    // (letters and the gaps between words), not a long rule.
    if width < 12.0 * x_height || (cols.len() as f32) < 0.3 * width {
        return None;
    }
    let area = width * band.height() as f32;
    let ink = (band.y0..band.y1)
        .flat_map(|y| (x0..=x1).map(move |x| (x, y)))
        .filter(|&(x, y)| image.get_pixel(x, y)[0] < INK)
        .count() as f32;
    let density = ink / area;
    (0.04..0.7).contains(&density).then_some(BBox {
        x0,
        y0: band.y0,
        x1: x1 + 1,
        y1: band.y1,
    })
}

/// Reads each band again with `read_line` and puts back the words it reads confidently, as new
/// lines in their place by height. Returns how many lines came back.
pub fn reread(
    image: &GrayImage,
    ocr: &mut OcrResult,
    bands: &[BBox],
    mut read_line: impl FnMut(&GrayImage) -> Option<OcrResult>,
) -> usize {
    let mut restored = 0;
    for band in bands {
        let pad = band.height() / 2;
        let (x0, y0) = (band.x0.saturating_sub(pad), band.y0.saturating_sub(pad));
        let x1 = (band.x1 + pad).min(image.width());
        let y1 = (band.y1 + pad).min(image.height());
        let crop = imageops::crop_imm(image, x0, y0, x1 - x0, y1 - y0).to_image();
        let Some(line) = read_line(&crop) else {
            continue;
        };
        let words: Vec<Word> = line
            .words
            .into_iter()
            .filter(|w| w.confidence >= MIN_WORD_CONFIDENCE)
            .collect();
        let letters: usize = words
            .iter()
            .map(|w| w.text.chars().filter(|c| c.is_alphanumeric()).count())
            .sum();
        if words.len() < 2 || letters < 6 {
            continue;
        }
        insert_line(ocr, words, x0, y0);
        restored += 1;
    }
    restored
}

/// Inserts `words` (boxes relative to `(dx, dy)`) as one line before the first line lower on
/// the page, renumbering the lines after it.
fn insert_line(ocr: &mut OcrResult, mut words: Vec<Word>, dx: u32, dy: u32) {
    for w in &mut words {
        w.bbox = BBox {
            x0: w.bbox.x0 + dx,
            y0: w.bbox.y0 + dy,
            x1: w.bbox.x1 + dx,
            y1: w.bbox.y1 + dy,
        };
    }
    let bbox = words.iter().map(|w| w.bbox).reduce(|a, b| BBox {
        x0: a.x0.min(b.x0),
        y0: a.y0.min(b.y0),
        x1: a.x1.max(b.x1),
        y1: a.y1.max(b.y1),
    });
    let Some(bbox) = bbox else {
        return;
    };
    let at = ocr
        .lines
        .iter()
        .position(|l| l.bbox.y0 > bbox.y0)
        .unwrap_or(ocr.lines.len());
    let block = at
        .checked_sub(1)
        .and_then(|i| ocr.lines.get(i))
        .map_or(0, |l| l.block);
    for w in &mut ocr.words {
        if w.line as usize >= at {
            w.line += 1;
        }
    }
    ocr.lines.insert(
        at,
        Line {
            bbox,
            block,
            baseline: [
                bbox.x0 as f32,
                bbox.y1 as f32,
                bbox.x1 as f32,
                bbox.y1 as f32,
            ],
        },
    );
    let pos = ocr
        .words
        .iter()
        .position(|w| w.line as usize > at)
        .unwrap_or(ocr.words.len());
    for (k, mut w) in words.into_iter().enumerate() {
        w.line = at as u32;
        ocr.words.insert(pos + k, w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    fn word(text: &str, x0: u32, y0: u32, x1: u32, y1: u32, line: u32) -> Word {
        Word {
            text: text.into(),
            bbox: BBox { x0, y0, x1, y1 },
            confidence: 95.0,
            line,
        }
    }

    /// A page with three "lines" of letter-like blobs; `ocr` read the first and the last.
    fn page() -> (GrayImage, OcrResult) {
        let mut img = GrayImage::from_pixel(1200, 400, Luma([255]));
        for (y0, y1) in [(50u32, 80u32), (150, 180), (250, 280)] {
            // Letters 10 px wide, 12 px apart, a word gap every 6 letters.
            let mut x = 100;
            while x < 1000 {
                for dx in 0..10 {
                    for y in y0..y1 {
                        img.put_pixel(x + dx, y, Luma([0]));
                    }
                }
                x += if (x / 22) % 6 == 5 { 40 } else { 22 };
            }
        }
        let line = |y0: u32, y1: u32| Line {
            bbox: BBox {
                x0: 100,
                y0,
                x1: 1000,
                y1,
            },
            block: 0,
            baseline: [0.0; 4],
        };
        let ocr = OcrResult {
            words: vec![
                word("Kính", 95, 45, 1005, 85, 0),
                word("Nơi", 95, 245, 1005, 285, 1),
            ],
            lines: vec![line(50, 80), line(250, 280)],
        };
        (img, ocr)
    }

    #[test]
    fn a_line_no_word_covers_is_found_and_put_back_in_place() {
        let (img, mut ocr) = page();
        let bands = unread_bands(&img, &ocr, 20.0);
        assert_eq!(bands.len(), 1, "{bands:?}");
        assert!(bands[0].y0 <= 150 && bands[0].y1 >= 180 && bands[0].x0 <= 100);
        let n = reread(&img, &mut ocr, &bands, |crop| {
            assert!(crop.height() >= 30);
            Some(OcrResult {
                words: vec![
                    word("Họ,", 10, 10, 60, 40, 0),
                    word("chữ", 70, 10, 120, 40, 0),
                    word("tên:", 130, 10, 190, 40, 0),
                ],
                lines: Vec::new(),
            })
        });
        assert_eq!(n, 1);
        let texts: Vec<(&str, u32)> = ocr
            .words
            .iter()
            .map(|w| (w.text.as_str(), w.line))
            .collect();
        assert_eq!(
            texts,
            [("Kính", 0), ("Họ,", 1), ("chữ", 1), ("tên:", 1), ("Nơi", 2)]
        );
        assert_eq!(ocr.lines.len(), 3);
        assert!(ocr.words[1].bbox.y0 > 100 && ocr.words[1].bbox.y0 < 170);
    }

    #[test]
    fn unsure_rereadings_and_covered_pages_add_nothing() {
        let (img, mut ocr) = page();
        let bands = unread_bands(&img, &ocr, 20.0);
        let n = reread(&img, &mut ocr, &bands, |_| {
            Some(OcrResult {
                words: vec![Word {
                    confidence: 30.0,
                    ..word("~~ ~", 0, 0, 10, 10, 0)
                }],
                lines: Vec::new(),
            })
        });
        assert_eq!((n, ocr.words.len()), (0, 2));
        // Every line covered: nothing to read again; a solid bar is not text.
        let (mut img, mut ocr) = page();
        ocr.words.push(word("Họ", 95, 145, 1005, 185, 1));
        assert!(unread_bands(&img, &ocr, 20.0).is_empty());
        for x in 100..1000 {
            for y in 330..350 {
                img.put_pixel(x, y, Luma([0]));
            }
        }
        assert!(unread_bands(&img, &ocr, 20.0).is_empty());
    }
}
