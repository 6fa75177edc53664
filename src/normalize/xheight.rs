//! Text size measured on the page: Tesseract reads best when lowercase letters are about 20–30 px
//! tall, whatever resolution the file claims (a phone photo has none, and a card scanned at 600
//! dpi has small print). The x-height is the most common height of letter-shaped ink components:
//! most letters of running Vietnamese text (a, c, e, m, n, o, u, ư, ơ, …) are x-height tall, while
//! diacritics, dots of i and leader dots are filtered out as small filled blobs.

use image::GrayImage;

use super::ink::{Component, PaperMap, components};

/// Fewest letter-shaped components for a measurement.
const MIN_LETTERS: usize = 40;
/// Components shorter than this are specks and diacritics, whatever the resolution.
const MIN_HEIGHT: u32 = 5;
/// Fewest tall letters seen beside x-height letters for an orientation verdict.
const MIN_VOTES: u32 = 20;
/// Weight of the x-height peak relative to a capital-height peak above it, at least.
const LOWER_PEAK_SHARE: f32 = 0.3;

/// The measured x-height of a page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextHeight {
    /// Most common letter height, pixels.
    pub x_height: f32,
    /// Letter-shaped components the measurement rests on.
    pub letters: usize,
    /// How tall letters stick out of their lines: the page's orientation at a glance.
    pub votes: LineVotes,
}

/// Tall letters (ascenders, capitals, descenders) next to an x-height letter of the same word,
/// by where they stick out. Upright Vietnamese text has far more ink above its lines (b, d, đ, h,
/// k, l, t, capitals) than below (g, p, q, y); a page upside down has it the other way round, and
/// a page turned a quarter has its lines running down the page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineVotes {
    pub above: u32,
    pub below: u32,
    /// Tall letters beside x-height letters of vertical lines.
    pub sideways: u32,
}

impl LineVotes {
    /// Text lines clearly run left to right, right way up.
    pub fn upright(&self) -> bool {
        let along = self.above + self.below;
        along >= MIN_VOTES && self.above >= 2 * self.below && along >= 2 * self.sideways
    }
}

/// Measures the x-height of the text on a gray page, or `None` when there is too little text.
/// `tile` is the side of the tiles on which the paper level is estimated (a few text lines).
pub fn measure_x_height(gray: &GrayImage, tile: usize) -> Option<TextHeight> {
    measure_x_height_below(gray, tile, u32::MAX)
}

/// [`measure_x_height`] counting only components at most `max_letter` px tall: with a known
/// resolution nothing taller than a headline letter is text, and a seal's ring, a signature or a
/// table rule (large, and heavy in an area-weighted histogram) must not pass for one.
pub fn measure_x_height_below(
    gray: &GrayImage,
    tile: usize,
    max_letter: u32,
) -> Option<TextHeight> {
    let (w, h) = gray.dimensions();
    if w < 16 || h < 16 {
        return None;
    }
    let paper = PaperMap::new(gray, tile.max(16));
    let max_h = (h / 10).clamp(8, 400).min(max_letter.max(8)) as usize;
    // Ink area per component height: letters outweigh diacritics, dots and specks.
    let mut hist = vec![0f32; max_h + 2];
    let mut letters = 0;
    let comps = components(gray, &paper);
    for c in &comps {
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
    let x_height = sum / n.max(1.0);
    Some(TextHeight {
        x_height,
        letters,
        votes: line_votes(&comps, x_height),
    })
}

/// A component's box as `[x0, y0, x1, y1]`, transposed for vertical lines.
fn bounds(c: &Component, transpose: bool) -> [f32; 4] {
    let b = [c.x0, c.y0, c.x1, c.y1].map(|v| v as f32);
    if transpose {
        [b[1], b[0], b[3], b[2]]
    } else {
        b
    }
}

fn line_votes(comps: &[Component], x: f32) -> LineVotes {
    let mut v = LineVotes::default();
    for transpose in [false, true] {
        let b: Vec<[f32; 4]> = comps.iter().map(|c| bounds(c, transpose)).collect();
        let is_x = |r: &[f32; 4]| {
            let (w, h) = (r[2] - r[0], r[3] - r[1]);
            (0.8 * x..=1.25 * x).contains(&h) && (0.25 * x..=2.0 * x).contains(&w)
        };
        // x-height letters hashed by cells two x-heights wide.
        let cell = 2.0 * x;
        let mut grid: std::collections::HashMap<(i32, i32), Vec<u32>> = Default::default();
        for (i, r) in b.iter().enumerate().filter(|(_, r)| is_x(r)) {
            let key = ((r[0] / cell) as i32, (r[1] / cell) as i32);
            grid.entry(key).or_default().push(i as u32);
        }
        let tol = 0.2 * x;
        for t in &b {
            let (w, h) = (t[2] - t[0], t[3] - t[1]);
            if !(1.3 * x..=1.9 * x).contains(&h) || w > 1.6 * x || w < 0.2 * x {
                continue;
            }
            let (cx, cy) = ((t[0] / cell) as i32, (t[1] / cell) as i32);
            let mut vote = None;
            'search: for gx in cx - 1..=cx + 1 {
                for gy in cy - 1..=cy + 1 {
                    for &i in grid.get(&(gx, gy)).into_iter().flatten() {
                        let n = &b[i as usize];
                        let gap = (n[0] - t[2]).max(t[0] - n[2]);
                        if gap > 0.6 * x || gap < -0.5 * x {
                            continue;
                        }
                        if (t[3] - n[3]).abs() <= tol && t[1] < n[1] - tol {
                            vote = Some(true);
                            break 'search;
                        }
                        if (t[1] - n[1]).abs() <= tol && t[3] > n[3] + tol {
                            vote = Some(false);
                            break 'search;
                        }
                    }
                }
            }
            match (vote, transpose) {
                (Some(true), false) => v.above += 1,
                (Some(false), false) => v.below += 1,
                (Some(_), true) => v.sideways += 1,
                (None, _) => {}
            }
        }
    }
    v
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
                let w = x * (4 + (k * 7) % 12) / 10;
                let hgt = if k.is_multiple_of(caps_every) {
                    tall
                } else {
                    x
                };
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
                if k.is_multiple_of(3) {
                    let d = (x / 4).max(2);
                    for yy in top - d - 3..top - 3 {
                        for xx in cx + w / 2 - d / 2..cx + w / 2 + d / 2 + 1 {
                            g.put_pixel(xx, yy, Luma([30]));
                        }
                    }
                }
                cx += w + x / 4 + if k.is_multiple_of(5) { x } else { 0 };
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
    fn lines_show_whether_the_page_is_upright_upside_down_or_sideways() {
        let page = letters(20, 4);
        let up = measure_x_height(&page, 40).unwrap().votes;
        assert!(up.upright() && up.above > 100 && up.below == 0, "{up:?}");
        let down = measure_x_height(&image::imageops::rotate180(&page), 40)
            .unwrap()
            .votes;
        assert!(
            !down.upright() && down.below > 100 && down.above == 0,
            "{down:?}"
        );
        for turned in [
            image::imageops::rotate90(&page),
            image::imageops::rotate270(&page),
        ] {
            let side = measure_x_height(&turned, 40).unwrap();
            assert!(
                !side.votes.upright() && side.votes.sideways > 100,
                "{side:?}"
            );
        }
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
