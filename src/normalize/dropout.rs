//! Colour dropout: red seals and blue signatures are taken out of the OCR copy so that the text
//! beneath them reads. Coloured marks much larger than letters are seals or signatures; coloured
//! letters (the red title of an ID card, a form filled in with a blue pen) are left alone.
//!
//! Inside a seal's or signature's box coloured pixels become paper, and the rest take their
//! brightest channel instead of their luma: black text, dark in every channel, stays where it is,
//! also where the seal covers it, while the seal's blurred rim fades into the paper.

use image::{DynamicImage, GrayImage, RgbImage};

use super::Rect;
use super::ink::{PaperMap, components};

/// Detection runs on every `STEP`-th pixel of every `STEP`-th row: seals and signatures are far
/// larger than that.
const STEP: u32 = 2;

/// Drops coloured marks from `gray` (the luma of `image`) and returns their boxes. `chroma` is
/// the spread between the brightest and darkest channel that counts as coloured; `letter` is
/// the size of a letter in pixels (the x-height when measured): marks at least `long_letters`
/// letters long and `short_letters` letters across are seals or signatures.
pub fn drop_colour_marks(
    image: &DynamicImage,
    gray: &mut GrayImage,
    chroma: u8,
    letter: f32,
    long_letters: f32,
    short_letters: f32,
) -> Vec<Rect> {
    let converted;
    let rgb: &RgbImage = match image {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageLuma16(_) => return Vec::new(),
        DynamicImage::ImageLumaA8(_) | DynamicImage::ImageLumaA16(_) => return Vec::new(),
        DynamicImage::ImageRgb8(rgb) => rgb,
        other => {
            converted = other.to_rgb8();
            &converted
        }
    };
    let (w, h) = rgb.dimensions();
    if (w, h) != gray.dimensions() || w < STEP * 4 || h < STEP * 4 {
        return Vec::new();
    }
    // Coloured pixels of the subsampled page are ink (0) on a white mask.
    let (mw, mh) = (w / STEP, h / STEP);
    let mut coloured = 0usize;
    let mask = GrayImage::from_fn(mw, mh, |x, y| {
        let p = rgb.get_pixel(x * STEP, y * STEP).0;
        let spread = p.iter().max().unwrap() - p.iter().min().unwrap();
        if spread >= chroma {
            coloured += 1;
            image::Luma([0])
        } else {
            image::Luma([255])
        }
    });
    // Fewer coloured pixels than one small seal ring: nothing to drop.
    let (long, short) = (letter * long_letters, letter * short_letters);
    if (coloured as f32) < long * 2.0 / STEP as f32 {
        return Vec::new();
    }
    let paper = PaperMap::uniform(&mask, 255, 64);
    let pad = (letter / 2.0).round() as u32;
    let marks: Vec<Rect> = components(&mask, &paper)
        .into_iter()
        .filter(|c| {
            let (cw, ch) = (((c.x1 - c.x0) * STEP) as f32, ((c.y1 - c.y0) * STEP) as f32);
            cw.max(ch) >= long && cw.min(ch) >= short
        })
        .map(|c| {
            Rect::from_corners(
                (c.x0 * STEP).saturating_sub(pad),
                (c.y0 * STEP).saturating_sub(pad),
                (c.x1 * STEP + pad).min(w),
                (c.y1 * STEP + pad).min(h),
            )
        })
        .collect();
    let row = |y: u32, r: &Rect| {
        let start = ((y * w + r.x) * 3) as usize;
        &rgb.as_raw()[start..start + (r.w * 3) as usize]
    };
    // Faintly coloured pixels (a seal's blurred rim) go too.
    let faint = chroma / 2;
    for r in &marks {
        // Paper of the box: the 90th percentile of the brightest channel.
        let mut hist = [0u32; 256];
        for y in r.y..r.y + r.h {
            for p in row(y, r).chunks_exact(3) {
                hist[p[0].max(p[1]).max(p[2]) as usize] += 1;
            }
        }
        let paper = super::paper_level(&hist).unwrap_or(255);
        let bright = (u32::from(paper) * 6 / 10) as u8;
        for y in r.y..r.y + r.h {
            let dst = &mut gray.as_mut()[(y * w + r.x) as usize..(y * w + r.x + r.w) as usize];
            for (g, p) in dst.iter_mut().zip(row(y, r).chunks_exact(3)) {
                let (hi, lo) = (p[0].max(p[1]).max(p[2]), p[0].min(p[1]).min(p[2]));
                // Coloured and bright in its own channel: ink of the mark. Coloured but dark
                // is where black text blends with it: kept as dark as it is.
                *g = if hi - lo >= faint && hi >= bright {
                    paper
                } else {
                    hi
                };
            }
        }
    }
    marks
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use image::Rgb;

    /// A page with a black bar of "text", a red ring over it and a small red "title" word.
    pub(crate) fn sealed_page() -> RgbImage {
        let mut img = RgbImage::from_pixel(800, 600, Rgb([240, 238, 235]));
        // Text line: y 290..310.
        for y in 290..310 {
            for x in (100..700).filter(|x| x % 12 < 7) {
                img.put_pixel(x, y, Rgb([25, 25, 25]));
            }
        }
        // Seal ring centred on the line, radius 120, 10 px wide.
        for y in 0..600 {
            for x in 0..800 {
                let d = ((x as f32 - 400.0).powi(2) + (y as f32 - 300.0).powi(2)).sqrt();
                if (110.0..120.0).contains(&d) && img.get_pixel(x, y).0[0] > 100 {
                    img.put_pixel(x, y, Rgb([215, 60, 70]));
                }
            }
        }
        // A blue signature: a long scrawl crossing the text line's end.
        for x in 520..790 {
            let y = 300.0 + 60.0 * ((x as f32) / 40.0).sin();
            for dy in 0..4 {
                let p = img.get_pixel(x, y as u32 + dy).0;
                if p[0] > 100 {
                    img.put_pixel(x, y as u32 + dy, Rgb([40, 60, 170]));
                }
            }
        }
        // Red title letters, 20 px tall, away from the seal.
        for y in 40..60 {
            for x in (100..260).filter(|x| x % 14 < 8) {
                img.put_pixel(x, y, Rgb([200, 30, 40]));
            }
        }
        img
    }

    #[test]
    fn seal_and_signature_are_dropped_text_under_them_and_red_letters_stay() {
        let img = DynamicImage::ImageRgb8(sealed_page());
        let mut gray = img.to_luma8();
        let marks = drop_colour_marks(&img, &mut gray, 60, 10.0, 8.0, 3.0);
        // The seal, and the signature (in pieces where it crosses the text).
        assert!(marks.len() >= 2, "{marks:?}");
        let m = *marks.iter().find(|m| m.x < 400).unwrap();
        assert!(m.x <= 280 && m.x + m.w >= 520 && m.y <= 180 && m.y + m.h >= 420);
        // The ring is paper now, the black text it crossed is not.
        assert!(gray.get_pixel(400, 185).0[0] > 200);
        assert!(gray.get_pixel(283, 300).0[0] > 200);
        assert!(gray.get_pixel(288, 300).0[0] < 60);
        assert!(gray.get_pixel(400, 300).0[0] < 60);
        // The signature is gone, the text it crossed is not.
        let sig = (520..700)
            .find(|&x| {
                let y = (300.0 + 60.0 * (x as f32 / 40.0).sin()) as u32;
                (290..306).contains(&y) && x % 12 >= 7
            })
            .unwrap();
        let y = (300.0 + 60.0 * (sig as f32 / 40.0).sin()) as u32 + 1;
        assert!(gray.get_pixel(sig, y).0[0] > 200, "{sig},{y}");
        assert!(gray.get_pixel(600, 300).0[0] < 60);
        // The red title is still dark enough to read.
        assert!(gray.get_pixel(100, 50).0[0] < 120);
    }

    #[test]
    fn gray_pages_and_pages_without_colour_are_left_alone() {
        let img = DynamicImage::ImageRgb8(RgbImage::from_pixel(300, 200, Rgb([200, 200, 200])));
        let mut gray = img.to_luma8();
        let before = gray.clone();
        assert!(drop_colour_marks(&img, &mut gray, 60, 10.0, 8.0, 3.0).is_empty());
        assert_eq!(gray, before);
        let img = DynamicImage::ImageLuma8(before.clone());
        assert!(drop_colour_marks(&img, &mut gray, 60, 10.0, 8.0, 3.0).is_empty());
    }
}
