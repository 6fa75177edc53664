//! Value crops for the second reader: the region extraction says a value occupies, cut from the
//! normalized OCR copy of the page (upright, levelled, leaders painted out), trimmed to its ink
//! along the row, with a white margin, one strip per row.

use image::{DynamicImage, GrayImage, Luma, imageops};

use super::value_reader::ValueReader;
use crate::domain::BBox;
use crate::extract::{SecondReader, SecondReading};

/// The page a page's values are read from.
pub struct ValueCrops<'a> {
    pub reader: &'a ValueReader,
    /// The OCR copy of the page.
    pub image: &'a GrayImage,
    /// Page (display) coordinates → `image` pixels.
    pub scale: f64,
    /// Resolution of `image`, for the leader painting of pages read as delivered.
    pub dpi: f32,
}

impl SecondReader for ValueCrops<'_> {
    fn read(&self, regions: &[BBox]) -> Option<SecondReading> {
        let mut texts = Vec::new();
        let mut confidence = 100.0f32;
        for r in regions {
            let Some(strip) = strip(
                self.image,
                &r.scaled(self.scale, self.image.width(), self.image.height()),
                self.dpi,
            ) else {
                continue;
            };
            match self.reader.read(&DynamicImage::ImageLuma8(strip)) {
                Ok(v) => {
                    let t = without_leaders(&v.text);
                    if !t.is_empty() {
                        texts.push(t);
                        confidence = confidence.min(v.confidence);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "value reader failed; Tesseract's reading stands");
                    return None;
                }
            }
        }
        (!texts.is_empty()).then(|| SecondReading {
            text: texts.join(" "),
            confidence,
        })
    }

    fn unread_ink(&self, regions: &[BBox], words: &[BBox]) -> bool {
        let (w, h) = (self.image.width(), self.image.height());
        let words: Vec<BBox> = words.iter().map(|b| b.scaled(self.scale, w, h)).collect();
        regions
            .iter()
            .any(|r| unread_ink(self.image, &r.scaled(self.scale, w, h), self.dpi, &words))
    }
}

/// Runs of dots (a leader the painting missed) are not part of a value.
fn without_leaders(text: &str) -> String {
    let mut out = String::new();
    let mut dots = String::new();
    for c in text.chars() {
        if c == '.' || c == '…' {
            dots.push(c);
            continue;
        }
        if dots.chars().count() == 1 {
            out.push('.');
        } else if !dots.is_empty() {
            out.push(' ');
        }
        dots.clear();
        out.push(c);
    }
    if dots.chars().count() == 1 {
        out.push('.');
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The strip for one region: cut, dotted leaders painted out, trimmed to the columns with ink,
/// a white margin of a fifth of its height around it. `None` when the region holds no ink.
pub fn strip(image: &GrayImage, region: &BBox, dpi: f32) -> Option<GrayImage> {
    let (cut, dark_cols) = ink_columns(image, region, dpi)?;
    let (w, h) = cut.dimensions();
    let (&first, &last) = (dark_cols.first()?, dark_cols.last()?);
    let margin = (h / 5).max(2);
    let x0 = first.saturating_sub(margin);
    let x1 = (last + 1 + margin).min(w);
    let body = imageops::crop_imm(&cut, x0, 0, x1 - x0, h).to_image();
    let mut out = GrayImage::from_pixel(body.width() + 2 * margin, h + 2 * margin, Luma([255]));
    imageops::replace(&mut out, &body, i64::from(margin), i64::from(margin));
    Some(out)
}

/// The region cut out with its dotted leaders painted out, and its columns holding ink (from
/// the region's left edge). `None` for a region too small to hold any.
fn ink_columns(image: &GrayImage, region: &BBox, dpi: f32) -> Option<(GrayImage, Vec<u32>)> {
    let x1 = region.x1.min(image.width());
    let y1 = region.y1.min(image.height());
    let (w, h) = (x1.saturating_sub(region.x0), y1.saturating_sub(region.y0));
    if w < 2 || h < 2 {
        return None;
    }
    let mut cut = imageops::crop_imm(image, region.x0, region.y0, w, h).to_image();
    crate::normalize::remove_dotted_leaders(&mut cut, dpi);
    let paper = crate::normalize::paper_of(&cut).unwrap_or(255);
    let ink = |v: u8| (v as f32) < paper as f32 * 0.6;
    // A column counts as ink with two dark pixels, so a lone speck of noise does not widen the
    // strip to the page's edge.
    let dark_cols = (0..w)
        .filter(|&x| (0..h).filter(|&y| ink(cut.get_pixel(x, y)[0])).count() >= 2)
        .collect();
    Some((cut, dark_cols))
}

/// Whether `region` holds ink outside `words` (same pixels) spanning half the region's height
/// or more: a word a reading left out (`huyện Gia Lâm, ……… Nội` where Tesseract dropped
/// `thành phố Hà`). Ink within a third of the height of a word is that word's (a comma, a mark
/// Tesseract's box cut); smaller gaps join one run, as the letters of a word.
pub fn unread_ink(image: &GrayImage, region: &BBox, dpi: f32, words: &[BBox]) -> bool {
    let Some((cut, dark)) = ink_columns(image, region, dpi) else {
        return false;
    };
    let h = cut.height();
    let pad = h / 3;
    let covered: Vec<(u32, u32)> = words
        .iter()
        .filter(|b| b.y1 > region.y0 && b.y0 < region.y0 + h)
        .map(|b| {
            let x0 = b.x0.saturating_sub(region.x0).saturating_sub(pad);
            (x0, (b.x1 + pad).saturating_sub(region.x0))
        })
        .collect();
    let unread = dark
        .into_iter()
        .filter(|&x| !covered.iter().any(|&(a, b)| (a..b).contains(&x)));
    let (mut start, mut prev): (Option<u32>, u32) = (None, 0);
    for x in unread {
        match start {
            Some(s) if x <= prev + pad.max(2) => {
                if x + 1 - s >= h / 2 {
                    return true;
                }
            }
            _ => start = Some(x),
        }
        prev = x;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaders_go_and_single_dots_stay() {
        assert_eq!(without_leaders("Số 18 ngõ 45........"), "Số 18 ngõ 45");
        assert_eq!(without_leaders("TP. Hà Nội …… x"), "TP. Hà Nội x");
        assert_eq!(without_leaders("Kinh......Việt"), "Kinh Việt");
    }

    fn paint(img: &mut GrayImage, x0: u32, x1: u32, y0: u32, y1: u32) {
        for x in x0..x1 {
            for y in y0..y1 {
                img.put_pixel(x, y, Luma([20]));
            }
        }
    }

    fn bbox(x0: u32, y0: u32, x1: u32, y1: u32) -> BBox {
        BBox { x0, y0, x1, y1 }
    }

    #[test]
    fn ink_no_word_covers_is_unread_and_a_comma_is_not() {
        // A row 30 px high: a word at 20–80, a comma at 84–88, a word at 200–260.
        let mut img = GrayImage::from_pixel(400, 60, Luma([250]));
        paint(&mut img, 20, 80, 20, 40);
        paint(&mut img, 84, 88, 34, 44);
        paint(&mut img, 200, 260, 20, 40);
        let region = bbox(10, 15, 390, 45);
        let first = bbox(20, 20, 80, 40);
        let second = bbox(200, 20, 260, 40);
        assert!(!unread_ink(&img, &region, 300.0, &[first, second]));
        // Tesseract missed the second word: its ink is unread.
        assert!(unread_ink(&img, &region, 300.0, &[first]));
        // A word on another row covers nothing here.
        assert!(unread_ink(
            &img,
            &region,
            300.0,
            &[first, bbox(200, 50, 260, 58)]
        ));
        // Nothing but the comma beyond the word (within a third of the height of it).
        let mut short = GrayImage::from_pixel(400, 60, Luma([250]));
        paint(&mut short, 20, 80, 20, 40);
        paint(&mut short, 84, 88, 34, 44);
        assert!(!unread_ink(&short, &region, 300.0, &[first]));
        // A speck too small to be a word, far from it, is not a word either.
        paint(&mut short, 300, 304, 25, 35);
        assert!(!unread_ink(&short, &region, 300.0, &[first]));
    }

    #[test]
    fn a_strip_is_trimmed_to_its_ink_with_a_margin() {
        let mut img = GrayImage::from_pixel(400, 60, Luma([250]));
        for x in 100..180 {
            for y in 20..40 {
                img.put_pixel(x, y, Luma([20]));
            }
        }
        let region = BBox {
            x0: 10,
            y0: 10,
            x1: 390,
            y1: 50,
        };
        let s = strip(&img, &region, 300.0).unwrap();
        // 80 columns of ink, a margin of 8 each side of it and of the height.
        assert_eq!((s.width(), s.height()), (80 + 4 * 8, 40 + 2 * 8));
        let empty = BBox {
            x0: 200,
            y0: 10,
            x1: 390,
            y1: 50,
        };
        assert!(strip(&img, &empty, 300.0).is_none());
    }
}
