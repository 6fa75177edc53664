//! Skew of scanned and photographed pages. Tesseract reads lines tilted by more than about a degree
//! badly (at 3° it reads almost nothing of a dense page), so the page is measured and levelled.
//!
//! The angle is the one whose projection profile of ink is sharpest: ink pixels of a reduced copy
//! are summed along lines of that slope, and rows of text then make high narrow peaks separated by
//! empty gaps. Sharpness is the sum of squared differences of neighbouring profile bins. A coarse
//! sweep over the whole range on a sample of the ink is refined around its best angle on all of
//! it. Pages turned 90° have columns of text, not rows: they are measured along the other axis.
//!
//! Angles are degrees clockwise as seen on screen: a positive skew makes lines descend to the right.

use fast_image_resize::FilterType;
use image::{DynamicImage, GrayImage, ImageBuffer, Pixel};
use rayon::prelude::*;

/// Resolution the skew is measured at: glyph rows survive it, and it keeps the count of ink
/// pixels (and so the time) small...
const MEASURE_DPI: f32 = 100.0;
/// ...unless the page is small (an ID card): its long side is measured on at least this many
/// pixels, for precision.
const MIN_MEASURE_SIDE: f32 = 1100.0;
/// Side of the tiles on which the local paper level is taken, pixels at [`MEASURE_DPI`].
const TILE: f32 = 16.0;
/// Ink is darker than this fraction (percent) of the local paper level...
const INK_PERCENT: u32 = 70;
/// ...and the local paper is at least this bright (a dark desk around a photo is not paper).
const MIN_PAPER: u8 = 64;
/// Longest run of ink, pixels at [`MEASURE_DPI`], that can be a stroke of text (2 mm).
const MAX_STROKE: f32 = 8.0;
/// Coarse sweep step and how many ink pixels it looks at, at most.
const COARSE_STEP: f32 = 0.25;
const COARSE_SAMPLE: usize = 24_000;
/// Fine sweep step, around the best coarse angle.
const FINE_STEP: f32 = 0.05;
/// Fewest ink pixels a page needs for its skew to be measured.
const MIN_INK: usize = 400;
/// The best angle's sharpness over the mean of the sweep, below which the page has no clear
/// rows of text (a photo, a near-empty page) and is left alone.
const MIN_PEAK_RATIO: f64 = 1.25;

/// A measured skew.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Skew {
    /// Degrees clockwise; positive: lines descend to the right.
    pub degrees: f32,
    /// Sharpness of the best angle over the mean sharpness of the sweep (1 = no preference).
    pub peak_ratio: f64,
    /// The text runs down the page (page turned 90°): measured on columns, not rows.
    pub vertical: bool,
}

/// Measures the skew of a gray page at `dpi`, within ±`max_deg`. `None` when the page has too
/// little ink, no clear lines, or its best angle lies at the edge of the range (the page is
/// skewed more than the range, or it is not text).
pub fn estimate_skew(gray: &GrayImage, dpi: f32, max_deg: f32) -> Option<Skew> {
    let long = gray.width().max(gray.height()) as f32;
    let measure_dpi = MEASURE_DPI.max(MIN_MEASURE_SIDE / long * dpi).min(dpi);
    let small = reduce(gray, measure_dpi / dpi.max(1.0));
    let s = measure_dpi / MEASURE_DPI;
    let ink = ink_points(
        &small,
        ((TILE * s).round() as usize).max(4),
        (MAX_STROKE * s).round() as usize,
    );
    if ink.len() < MIN_INK || max_deg <= 0.0 {
        return None;
    }
    let (w, h) = (small.width(), small.height());
    let rows = Sweep::new(&ink, w, h, max_deg);
    let swapped: Vec<(u16, u16)> = ink.iter().map(|&(x, y)| (y, x)).collect();
    let cols = Sweep::new(&swapped, h, w, max_deg);
    let (best, vertical) = if cols.peak_ratio > rows.peak_ratio * 1.2 {
        (cols, true)
    } else {
        (rows, false)
    };
    if best.peak_ratio < MIN_PEAK_RATIO || best.at_edge {
        return None;
    }
    let fine = if vertical {
        refine(&swapped, h, w, best.degrees)
    } else {
        refine(&ink, w, h, best.degrees)
    };
    // A column leaning clockwise runs down to the left: its slope against the vertical axis has
    // the opposite sign.
    Some(Skew {
        degrees: if vertical { -fine } else { fine },
        peak_ratio: best.peak_ratio,
        vertical,
    })
}

/// Gray copy scaled by `f` (never enlarged).
fn reduce(gray: &GrayImage, f: f32) -> GrayImage {
    let f = f.min(1.0);
    let (w, h) = (
        ((gray.width() as f32 * f).round() as u32).max(1),
        ((gray.height() as f32 * f).round() as u32).max(1),
    );
    if (w, h) == gray.dimensions() {
        return gray.clone();
    }
    super::resize_with(gray, w, h, FilterType::Box)
}

/// Pixels much darker than their local paper: the brightest pixel of the 3×3 tiles around.
fn ink_points(g: &GrayImage, tile: usize, max_stroke: usize) -> Vec<(u16, u16)> {
    let (w, h) = (g.width() as usize, g.height() as usize);
    if w > usize::from(u16::MAX) || h > usize::from(u16::MAX) {
        return Vec::new();
    }
    let (tw, th) = (w.div_ceil(tile), h.div_ceil(tile));
    let raw = g.as_raw();
    let mut tile_max = vec![0u8; tw * th];
    for (y, row) in raw.chunks_exact(w).enumerate() {
        let t = &mut tile_max[(y / tile) * tw..][..tw];
        for (tx, chunk) in row.chunks(tile).enumerate() {
            let m = chunk.iter().copied().max().unwrap_or(0);
            t[tx] = t[tx].max(m);
        }
    }
    let mut paper = vec![0u8; tw * th];
    for ty in 0..th {
        for tx in 0..tw {
            let mut m = 0;
            for y in ty.saturating_sub(1)..(ty + 2).min(th) {
                for x in tx.saturating_sub(1)..(tx + 2).min(tw) {
                    m = m.max(tile_max[y * tw + x]);
                }
            }
            paper[ty * tw + tx] = m;
        }
    }
    let mut ink = vec![0u8; w * h];
    for ((y, row), m) in raw.chunks_exact(w).enumerate().zip(ink.chunks_exact_mut(w)) {
        let p = &paper[(y / tile) * tw..][..tw];
        for (x, (&v, m)) in row.iter().zip(m.iter_mut()).enumerate() {
            let bg = p[x / tile];
            if bg >= MIN_PAPER && u32::from(v) * 100 < u32::from(bg) * INK_PERCENT {
                *m = INK;
            }
        }
    }
    clear_from_border(&mut ink, w, h);
    mark_thick(&mut ink, w, h, max_stroke);
    let mut out = Vec::new();
    for (y, row) in ink.chunks_exact(w).enumerate() {
        for (x, &m) in row.iter().enumerate() {
            if m & INK != 0 && m & (THICK_X | THICK_Y) != THICK_X | THICK_Y {
                out.push((x as u16, y as u16));
            }
        }
    }
    out
}

/// Clears ink connected to the image border: scanner lid strips, shadows and the desk around a
/// photographed page. Their edges are those of the image, not of the page's lines.
fn clear_from_border(mask: &mut [u8], w: usize, h: usize) {
    let mut stack: Vec<usize> = (0..w)
        .flat_map(|x| [x, (h - 1) * w + x])
        .chain((0..h).flat_map(|y| [y * w, y * w + w - 1]))
        .filter(|&i| mask[i] & INK != 0)
        .collect();
    while let Some(i) = stack.pop() {
        if mask[i] & INK == 0 {
            continue;
        }
        mask[i] &= !INK;
        let (x, y) = (i % w, i / w);
        if x > 0 {
            stack.push(i - 1);
        }
        if x + 1 < w {
            stack.push(i + 1);
        }
        if y > 0 {
            stack.push(i - w);
        }
        if y + 1 < h {
            stack.push(i + w);
        }
    }
}

const INK: u8 = 1;
const THICK_X: u8 = 2;
const THICK_Y: u8 = 4;

/// Flags ink in runs longer than `max_stroke` along rows (`THICK_X`) and columns (`THICK_Y`).
/// Ink thick both ways is no stroke of text but a dark area: the desk around a photographed page,
/// a photo, a filled box. Its straight edges (the image border) would outweigh the text.
fn mark_thick(mask: &mut [u8], w: usize, h: usize, max_stroke: usize) {
    for row in mask.chunks_exact_mut(w) {
        let mut start = None;
        for x in 0..=w {
            let inked = x < w && row[x] & INK != 0;
            match (inked, start) {
                (true, None) => start = Some(x),
                (false, Some(s)) => {
                    if x - s > max_stroke {
                        row[s..x].iter_mut().for_each(|m| *m |= THICK_X);
                    }
                    start = None;
                }
                _ => {}
            }
        }
    }
    let mut start: Vec<Option<usize>> = vec![None; w];
    for y in 0..=h {
        for x in 0..w {
            let inked = y < h && mask[y * w + x] & INK != 0;
            match (inked, start[x]) {
                (true, None) => start[x] = Some(y),
                (false, Some(s)) => {
                    if y - s > max_stroke {
                        (s..y).for_each(|yy| mask[yy * w + x] |= THICK_Y);
                    }
                    start[x] = None;
                }
                _ => {}
            }
        }
    }
}

/// Sharpness of the profile of `points` along lines of slope `deg` (rows: y = c + x·tan).
fn sharpness(points: &[(u16, u16)], w: u32, h: u32, deg: f32, bins: &mut Vec<u32>) -> f64 {
    let t = deg.to_radians().tan();
    // Offset keeps bins non-negative whatever the sign of the slope.
    let off = (w as f32 * t.abs()).ceil() + 1.0;
    bins.clear();
    bins.resize((h as f32 + 2.0 * off + 2.0) as usize, 0);
    for &(x, y) in points {
        let b = (f32::from(y) - f32::from(x) * t + off) as usize;
        bins[b] += 1;
    }
    bins.windows(2)
        .map(|p| {
            let d = f64::from(p[1]) - f64::from(p[0]);
            d * d
        })
        .sum()
}

/// Coarse sweep over ±max on a sample of the ink.
struct Sweep {
    degrees: f32,
    peak_ratio: f64,
    at_edge: bool,
}

impl Sweep {
    fn new(points: &[(u16, u16)], w: u32, h: u32, max_deg: f32) -> Sweep {
        let stride = points.len().div_ceil(COARSE_SAMPLE).max(1);
        let sample: Vec<(u16, u16)> = points.iter().step_by(stride).copied().collect();
        let n = (max_deg / COARSE_STEP).floor() as i32;
        let mut bins = Vec::new();
        let scores: Vec<(f32, f64)> = (-n..=n)
            .map(|i| {
                let d = i as f32 * COARSE_STEP;
                (d, sharpness(&sample, w, h, d, &mut bins))
            })
            .collect();
        let (i, &(degrees, best)) = scores
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.1.total_cmp(&b.1.1))
            .expect("at least one angle");
        let mean = scores.iter().map(|s| s.1).sum::<f64>() / scores.len() as f64;
        Sweep {
            degrees,
            peak_ratio: if mean > 0.0 { best / mean } else { 0.0 },
            at_edge: n > 0 && (i == 0 || i == scores.len() - 1),
        }
    }
}

/// Fine sweep on all the ink around `coarse`, then the top of a parabola through the best three.
fn refine(points: &[(u16, u16)], w: u32, h: u32, coarse: f32) -> f32 {
    let n = (COARSE_STEP / FINE_STEP).round() as i32;
    let mut bins = Vec::new();
    let scores: Vec<f64> = (-n..=n)
        .map(|i| sharpness(points, w, h, coarse + i as f32 * FINE_STEP, &mut bins))
        .collect();
    let i = scores
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
        .expect("at least one angle");
    let mut d = coarse + (i as i32 - n) as f32 * FINE_STEP;
    if i > 0 && i + 1 < scores.len() {
        let (a, b, c) = (scores[i - 1], scores[i], scores[i + 1]);
        let denom = a - 2.0 * b + c;
        if denom < 0.0 {
            d += (0.5 * (a - c) / denom) as f32 * FINE_STEP;
        }
    }
    d
}

/// The brightest tenth of each channel: the paper, to fill corners a rotation uncovers.
pub fn paper_colour<const C: usize>(raw: &[u8]) -> [u8; C] {
    let mut hists = [[0u32; 256]; C];
    // Every 7th pixel is plenty and avoids aliasing with row lengths that are multiples of 2 or 4.
    for px in raw.chunks_exact(C).step_by(7) {
        for (h, &v) in hists.iter_mut().zip(px) {
            h[v as usize] += 1;
        }
    }
    hists.map(|h| {
        let total: u32 = h.iter().sum();
        let mut acc = 0;
        (0..=255u8)
            .rev()
            .find(|&v| {
                acc += h[v as usize];
                acc * 10 >= total
            })
            .unwrap_or(255)
    })
}

/// Rotates `src` by `deg` degrees counter-clockwise on screen about its centre (the inverse of a
/// skew of `deg`), bilinear, same size; uncovered corners get `fill`. Rows run in parallel.
pub fn rotate<P>(src: &ImageBuffer<P, Vec<u8>>, deg: f32, fill: [u8; 4]) -> ImageBuffer<P, Vec<u8>>
where
    P: Pixel<Subpixel = u8> + Send + Sync,
{
    let (w, h) = (src.width() as usize, src.height() as usize);
    let out = match P::CHANNEL_COUNT {
        1 => rotate_raw::<1>(src.as_raw(), w, h, deg, [fill[0]]),
        3 => rotate_raw::<3>(src.as_raw(), w, h, deg, [fill[0], fill[1], fill[2]]),
        4 => rotate_raw::<4>(src.as_raw(), w, h, deg, fill),
        2 => rotate_raw::<2>(src.as_raw(), w, h, deg, [fill[0], fill[1]]),
        n => unreachable!("{n} channels"),
    };
    ImageBuffer::from_raw(src.width(), src.height(), out).expect("sized buffer")
}

fn rotate_raw<const C: usize>(raw: &[u8], w: usize, h: usize, deg: f32, fill: [u8; C]) -> Vec<u8> {
    let mut out = vec![0u8; w * h * C];
    if w < 2 || h < 2 {
        out.copy_from_slice(raw);
        return out;
    }
    // Output pixel centre d maps to source point s = centre + R(deg)·(d − centre), R turning
    // (1, 0) towards +y: the skewed row under a level output row. 16.16 fixed point.
    let (sin, cos) = f64::from(deg).to_radians().sin_cos();
    const ONE: f64 = 65536.0;
    let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
    let (dx_step, dy_step) = ((cos * ONE).round() as i64, (sin * ONE).round() as i64);
    let (max_x, max_y) = (((w - 1) as i64) << 16, ((h - 1) as i64) << 16);
    out.par_chunks_mut(w * C).enumerate().for_each(|(y, row)| {
        let (px, py) = (0.5 - cx, y as f64 + 0.5 - cy);
        // Minus half a pixel: pixel i's centre is at i + 0.5.
        let sx0 = ((cx + cos * px - sin * py - 0.5) * ONE).round() as i64;
        let sy0 = ((cy + sin * px + cos * py - 0.5) * ONE).round() as i64;
        let inside = |x: i64| {
            let (sx, sy) = (sx0 + x * dx_step, sy0 + x * dy_step);
            (0..max_x).contains(&sx) && (0..max_y).contains(&sy)
        };
        // Outputs whose four source pixels all lie inside the image: one run of the row, since
        // the source point moves on a straight line. Bounds from floating point, then made exact.
        let (mut lo, mut hi) = (0f64, w as f64);
        for (s0, step, max) in [(sx0, dx_step, max_x), (sy0, dy_step, max_y)] {
            let (a, b) = (-s0 as f64, (max - s0) as f64);
            if step == 0 {
                if !(0..max).contains(&s0) {
                    hi = 0.0;
                }
            } else {
                let (p, q) = (a / step as f64, b / step as f64);
                lo = lo.max(p.min(q));
                hi = hi.min(p.max(q));
            }
        }
        let (mut lo, mut hi) = (
            (lo.floor() as i64).clamp(0, w as i64),
            (hi.ceil() as i64).clamp(0, w as i64),
        );
        while lo < hi && !inside(lo) {
            lo += 1;
        }
        while hi > lo && !inside(hi - 1) {
            hi -= 1;
        }
        let (lo, hi) = if lo < hi {
            (lo as usize, hi as usize)
        } else {
            (w, w)
        };
        let sample =
            |x: usize| -> (i64, i64) { (sx0 + x as i64 * dx_step, sy0 + x as i64 * dy_step) };
        let edge = |x: usize, dst: &mut [u8]| {
            let (sx, sy) = sample(x);
            let (ix, iy) = (sx >> 16, sy >> 16);
            let (fx, fy) = (((sx >> 8) & 0xFF) as u32, ((sy >> 8) & 0xFF) as u32);
            let at = |x: i64, y: i64, k: usize| -> u32 {
                if x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h {
                    u32::from(raw[(y as usize * w + x as usize) * C + k])
                } else {
                    u32::from(fill[k])
                }
            };
            for (k, d) in dst.iter_mut().enumerate() {
                let top = at(ix, iy, k) * (256 - fx) + at(ix + 1, iy, k) * fx;
                let bot = at(ix, iy + 1, k) * (256 - fx) + at(ix + 1, iy + 1, k) * fx;
                *d = ((top * (256 - fy) + bot * fy + 32768) >> 16) as u8;
            }
        };
        for x in (0..lo).chain(hi.max(lo)..w) {
            edge(x, &mut row[x * C..][..C]);
        }
        let (mut sx, mut sy) = sample(lo);
        for dst in row[lo * C..hi * C].chunks_exact_mut(C) {
            let (ix, iy) = ((sx >> 16) as usize, (sy >> 16) as usize);
            let (fx, fy) = (((sx >> 8) & 0xFF) as u32, ((sy >> 8) & 0xFF) as u32);
            let i0 = (iy * w + ix) * C;
            let top = &raw[i0..i0 + 2 * C];
            let bot = &raw[i0 + w * C..i0 + w * C + 2 * C];
            for k in 0..C {
                let t = u32::from(top[k]) * (256 - fx) + u32::from(top[k + C]) * fx;
                let b = u32::from(bot[k]) * (256 - fx) + u32::from(bot[k + C]) * fx;
                dst[k] = ((t * (256 - fy) + b * fy + 32768) >> 16) as u8;
            }
            sx += dx_step;
            sy += dy_step;
        }
    });
    out
}

/// Levels a page image skewed by `deg`, keeping its colour type; a bilevel page stays 0/255.
pub fn level_display(img: &DynamicImage, deg: f32, bilevel: bool) -> DynamicImage {
    match img {
        DynamicImage::ImageLuma8(g) => {
            let [p] = paper_colour::<1>(g.as_raw());
            let mut r = rotate(g, deg, [p, 0, 0, 0]);
            if bilevel {
                for v in r.iter_mut() {
                    *v = if *v >= 128 { 255 } else { 0 };
                }
            }
            DynamicImage::ImageLuma8(r)
        }
        DynamicImage::ImageRgb8(rgb) => {
            let [r, g, b] = paper_colour::<3>(rgb.as_raw());
            DynamicImage::ImageRgb8(rotate(rgb, deg, [r, g, b, 0]))
        }
        DynamicImage::ImageRgba8(rgba) => {
            let [r, g, b, a] = paper_colour::<4>(rgba.as_raw());
            DynamicImage::ImageRgba8(rotate(rgba, deg, [r, g, b, a]))
        }
        // Decoding only yields 8-bit gray or RGB; anything else is levelled as RGB.
        other => level_display(&DynamicImage::ImageRgb8(other.to_rgb8()), deg, false),
    }
}

/// Levels the gray OCR copy skewed by `deg`; corners get the paper level.
pub fn level_gray(g: &GrayImage, deg: f32) -> GrayImage {
    let [p] = paper_colour::<1>(g.as_raw());
    rotate(g, deg, [p, 0, 0, 0])
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use image::Luma;

    /// An A4 page at 300 dpi of text-like rows: 30 px tall bands of dashes ("words") every 70 px,
    /// in a 2000 px wide column, with ragged line ends.
    pub(crate) fn text_page() -> GrayImage {
        GrayImage::from_fn(2480, 3508, |x, y| {
            let (row, in_row) = (y / 70, y % 70);
            let line_end = 2240 - (row * 137 % 500);
            let inked = (300..3200).contains(&y)
                && (240..line_end).contains(&x)
                && (20..50).contains(&in_row)
                && (x / 9 + row) % 5 != 0
                && (x / 97 + row) % 7 != 3;
            Luma([if inked { 20 } else { 235 }])
        })
    }

    #[test]
    fn rotated_text_is_measured_and_levelled() {
        let page = text_page();
        for deg in [2.86f32, -4.3, 0.7, -9.0] {
            // Skewing by `deg` is rotating clockwise, the inverse of levelling by `deg`.
            let skewed = rotate(&page, -deg, [235, 0, 0, 0]);
            let s = estimate_skew(&skewed, 300.0, 10.0).expect("measured");
            assert!(!s.vertical);
            assert!((s.degrees - deg).abs() < 0.2, "{deg}° measured {s:?}");
            let level = level_gray(&skewed, s.degrees);
            let again = estimate_skew(&level, 300.0, 10.0).expect("measured");
            assert!(again.degrees.abs() < 0.2, "{deg}°: left at {again:?}");
        }
    }

    #[test]
    fn page_turned_sideways_is_measured_on_columns() {
        let page = image::imageops::rotate90(&text_page());
        let skewed = rotate(&page, -1.5, [235, 0, 0, 0]);
        let s = estimate_skew(&skewed, 300.0, 10.0).expect("measured");
        assert!(s.vertical);
        assert!((s.degrees - 1.5).abs() < 0.2, "{s:?}");
    }

    #[test]
    fn level_page_and_empty_page() {
        let s = estimate_skew(&text_page(), 300.0, 10.0).expect("measured");
        assert!(s.degrees.abs() < 0.1, "{s:?}");
        let empty = GrayImage::from_pixel(2480, 3508, Luma([240]));
        assert_eq!(estimate_skew(&empty, 300.0, 10.0), None);
    }

    #[test]
    fn rotation_keeps_size_and_colour_type_and_fills_with_paper() {
        let rgb = image::RgbImage::from_fn(400, 300, |x, _| {
            if x < 20 {
                image::Rgb([10, 10, 10])
            } else {
                image::Rgb([250, 240, 230])
            }
        });
        let out = level_display(&DynamicImage::ImageRgb8(rgb), 5.0, false);
        let DynamicImage::ImageRgb8(out) = out else {
            panic!("colour type changed")
        };
        assert_eq!(out.dimensions(), (400, 300));
        // The top-right corner comes from outside the image: paper colour.
        assert_eq!(out.get_pixel(399, 0).0, [250, 240, 230]);
        // The centre stays put.
        assert_eq!(out.get_pixel(200, 150).0, [250, 240, 230]);
        let bw = GrayImage::from_fn(300, 300, |x, y| {
            Luma([if (x + y) % 40 < 20 { 0 } else { 255 }])
        });
        let DynamicImage::ImageLuma8(out) = level_display(&DynamicImage::ImageLuma8(bw), 3.0, true)
        else {
            panic!("colour type changed")
        };
        assert!(out.iter().all(|&v| v == 0 || v == 255));
    }
}
