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
    let (w, h) = (region.width(), region.height());
    if w < 2 || h < 2 {
        return None;
    }
    let mut cut = imageops::crop_imm(image, region.x0, region.y0, w, h).to_image();
    crate::normalize::remove_dotted_leaders(&mut cut, dpi);
    let paper = crate::normalize::paper_of(&cut).unwrap_or(255);
    let ink = |v: u8| (v as f32) < paper as f32 * 0.6;
    // A column counts as ink with two dark pixels, so a lone speck of noise does not widen the
    // strip to the page's edge.
    let dark_cols: Vec<u32> = (0..w)
        .filter(|&x| (0..h).filter(|&y| ink(cut.get_pixel(x, y)[0])).count() >= 2)
        .collect();
    let (&first, &last) = (dark_cols.first()?, dark_cols.last()?);
    let margin = (h / 5).max(2);
    let x0 = first.saturating_sub(margin);
    let x1 = (last + 1 + margin).min(w);
    let body = imageops::crop_imm(&cut, x0, 0, x1 - x0, h).to_image();
    let mut out = GrayImage::from_pixel(body.width() + 2 * margin, h + 2 * margin, Luma([255]));
    imageops::replace(&mut out, &body, i64::from(margin), i64::from(margin));
    Some(out)
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
