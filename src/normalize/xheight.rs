//! Text size measured on the page: Tesseract reads best when lowercase letters are about 20–30 px
//! tall, whatever resolution the file claims (a phone photo has none, and a card scanned at 600
//! dpi has small print). The x-height is the most common height of letter-shaped ink components:
//! most letters of running Vietnamese text (a, c, e, m, n, o, u, ư, ơ, …) are x-height tall, while
//! diacritics, dots of i and leader dots are filtered out as small filled blobs.

use image::GrayImage;

use super::ink::{PaperMap, components};

/// Fewest letter-shaped components for a measurement.
const MIN_LETTERS: usize = 40;
/// Components shorter than this are specks and diacritics, whatever the resolution.
const MIN_HEIGHT: u32 = 5;
/// Weight of the x-height peak relative to a capital-height peak above it, at least.
const LOWER_PEAK_SHARE: f32 = 0.3;

/// The measured x-height of a page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextHeight {
    /// Most common letter height, pixels.
    pub x_height: f32,
    /// Letter-shaped components the measurement rests on.
    pub letters: usize,
}

/// Measures the x-height of the text on a gray page, or `None` when there is too little text.
/// `tile` is the side of the tiles on which the paper level is estimated (a few text lines).
pub fn measure_x_height(gray: &GrayImage, tile: usize) -> Option<TextHeight> {
    let (w, h) = gray.dimensions();
    if w < 16 || h < 16 {
        return None;
    }
    let paper = PaperMap::new(gray, tile.max(16));
    let max_h = (h / 10).clamp(8, 400) as usize;
    // Ink area per component height: letters outweigh diacritics, dots and specks.
    let mut hist = vec![0f32; max_h + 2];
    let mut letters = 0;
    for c in components(gray, &paper) {
        let (bw, bh) = (c.x1 - c.x0, c.y1 - c.y0);
        if bh < MIN_HEIGHT || bh as usize > max_h || bw > 4 * bh || bh > 4 * bw.max(1) {
            continue;
        }
        // Dots, dots below and periods fill their box; letters are strokes around holes.
        if bw * 2 >= bh && bh * 2 >= bw && c.area * 10 >= bw * bh * 7 {
            continue;
        }
        hist[bh as usize] += (bw * bh) as f32;
        letters += 1;
    }
    if letters < MIN_LETTERS {
        return None;
    }
    // Heights smoothed over ±1 px (round letters overshoot).
    let smooth: Vec<f32> = (0..hist.len())
        .map(|i| hist[i.saturating_sub(1)] + hist[i] + hist.get(i + 1).copied().unwrap_or(0.0))
        .collect();
    let peak_in = |lo: usize, hi: usize| {
        (lo.max(MIN_HEIGHT as usize)..=hi.min(max_h))
            .max_by(|&a, &b| smooth[a].total_cmp(&smooth[b]).then(b.cmp(&a)))
    };
    let top = peak_in(0, max_h)?;
    // The heaviest peak may be capitals, digits and ascenders (forms filled in capitals); the
    // x-height is then a strong peak at half to four fifths of it.
    let lower = peak_in(
        (top as f32 * 0.5).ceil() as usize,
        (top as f32 * 0.8) as usize,
    )
    .filter(|&i| smooth[i] >= LOWER_PEAK_SHARE * smooth[top]);
    let peak = lower.unwrap_or(top);
    let (mut sum, mut n) = (0.0f32, 0.0f32);
    for (i, &v) in hist.iter().enumerate().skip(peak - 1).take(3) {
        sum += i as f32 * v;
        n += v;
    }
    Some(TextHeight {
        x_height: sum / n.max(1.0),
        letters,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use image::Luma;

    /// A text-like page: rows of hollow `x`-tall letters, some ascenders and capitals 1.45× as
    /// tall, filled diacritic dots above, all with varying widths.
    pub(crate) fn letters(x: u32, caps_every: u32) -> GrayImage {
        let mut g = GrayImage::from_pixel(1600, 1200, Luma([240]));
        let stroke = (x / 8).max(1);
        let tall = x * 29 / 20;
        let mut k = 0u32;
        let mut y = 2 * x;
        while y + 2 * tall < 1150 {
            let mut cx = 40;
            while cx + 2 * x < 1560 {
                k += 1;
                let w = x * (6 + k % 5) / 10;
                let hgt = if k % caps_every == 0 { tall } else { x };
                let top = y + tall - hgt;
                for yy in top..y + tall {
                    for xx in cx..cx + w {
                        let edge = yy < top + stroke
                            || yy >= y + tall - stroke
                            || xx < cx + stroke
                            || xx >= cx + w - stroke;
                        if edge {
                            g.put_pixel(xx, yy, Luma([30]));
                        }
                    }
                }
                if k % 3 == 0 {
                    let d = (x / 4).max(2);
                    for yy in top - d - 3..top - 3 {
                        for xx in cx + w / 2 - d / 2..cx + w / 2 + d / 2 + 1 {
                            g.put_pixel(xx, yy, Luma([30]));
                        }
                    }
                }
                cx += w + x / 4 + if k % 5 == 0 { x } else { 0 };
            }
            y += 2 * tall;
        }
        g
    }

    #[test]
    fn x_height_of_lowercase_text_is_measured() {
        for x in [10u32, 18, 26, 40] {
            let t = measure_x_height(&letters(x, 4), 40).expect("text");
            assert!((t.x_height - x as f32).abs() <= 1.0, "{x}: {t:?}");
        }
    }

    #[test]
    fn capitals_outweighing_lowercase_do_not_pass_for_the_x_height() {
        // Every other letter a capital: the capitals hold more ink than the lowercase letters.
        let t = measure_x_height(&letters(20, 2), 40).expect("text");
        assert!((t.x_height - 20.0).abs() <= 1.0, "{t:?}");
    }

    #[test]
    fn too_little_text_is_not_measured() {
        let mut g = GrayImage::from_pixel(800, 800, Luma([240]));
        assert_eq!(measure_x_height(&g, 40), None);
        for yy in 100..120 {
            for xx in 100..300 {
                if xx % 20 < 3 || !(103..=116).contains(&yy) {
                    g.put_pixel(xx, yy, Luma([30]));
                }
            }
        }
        assert_eq!(measure_x_height(&g, 40), None);
    }
}
