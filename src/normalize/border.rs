//! Finding the page: the dark scanner-lid border of a scan and the desk around a phone photo are
//! cut off, and what is left of them in the corners of a tilted page is painted paper-white on
//! the OCR copy. Tesseract reads such dark edges as lines of garbage, and a desk makes it split
//! the page into blocks in odd places.
//!
//! Background is what is dark and connected to the image edge (flood fill on a small copy, the
//! threshold from Otsu). The page is the rows and columns that hold enough of everything else,
//! and what is painted is what lies outside the convex hull of the page's pixels.

use fast_image_resize::FilterType;
use image::GrayImage;

use super::{Rect, resize_with};

/// The small copy's long side, pixels.
const SMALL_SIDE: u32 = 600;
/// A row or column belongs to the page when this fraction of it is not background.
const PAGE_PROFILE: f32 = 0.05;
/// Background is at most this much brighter than the brightest tenth of the image's edge.
const DESK_MARGIN: u8 = 30;
/// A page smaller than this fraction of the image is not believed (a dark document, not a desk).
const MIN_PAGE_AREA: f32 = 0.2;

/// Where the page is in an image, and the background left inside that box.
pub struct PageArea {
    /// The page's box in the image.
    pub crop: Rect,
    /// Background pixels of the small copy (true), to be painted over.
    background: Vec<bool>,
    small_width: u32,
    scale: u32,
    /// Brightness of the page's paper (its median).
    pub paper: u8,
}

/// The page in `gray`, or `None` when no background touches the edge (nothing to cut or paint).
pub fn find_page(gray: &GrayImage) -> Option<PageArea> {
    let (w, h) = gray.dimensions();
    let scale = w.max(h).div_ceil(SMALL_SIDE).max(1);
    let (sw, sh) = (w / scale, h / scale);
    if sw < 8 || sh < 8 {
        return None;
    }
    let small = if scale == 1 {
        gray.clone()
    } else {
        resize_with(gray, sw, sh, FilterType::Box)
    };
    let mut hist = [0u32; 256];
    for &v in small.as_raw() {
        hist[v as usize] += 1;
    }
    // A photo's page can be dimmer in a far corner than Otsu's split between desk and paper;
    // it is still brighter than the desk seen at the image's edge.
    let dark = otsu(&hist).min(border_level(&small).saturating_add(DESK_MARGIN));
    let background = flood_from_edges(&small, dark);
    let (sw, sh) = (sw as usize, sh as usize);
    let mut rows = vec![0u32; sh];
    let mut cols = vec![0u32; sw];
    let mut any = false;
    for (i, &bg) in background.iter().enumerate() {
        any |= bg;
        if !bg {
            rows[i / sw] += 1;
            cols[i % sw] += 1;
        }
    }
    if !any {
        return None;
    }
    let span = |p: &[u32], across: usize| {
        let min = ((across as f32 * PAGE_PROFILE) as u32).max(2);
        let first = p.iter().position(|&c| c >= min)?;
        let last = p.iter().rposition(|&c| c >= min)?;
        Some((first as u32, last as u32 + 1))
    };
    let (y0, y1) = span(&rows, sw)?;
    let (x0, x1) = span(&cols, sh)?;
    if ((x1 - x0) * (y1 - y0)) as f32 <= MIN_PAGE_AREA * (sw * sh) as f32 {
        return None;
    }
    let background = outside_convex_page(&background, sw, (x0, x1), (y0, y1));
    let mut page_hist = [0u32; 256];
    for (v, _) in small
        .as_raw()
        .iter()
        .zip(&background)
        .filter(|(_, bg)| !**bg)
    {
        page_hist[*v as usize] += 1;
    }
    // The median, not the brightest paper: on an unevenly lit photo, paint as bright as the
    // lamp's spot would stand out from the dim rest of the page and upset global thresholds.
    let half = page_hist.iter().map(|&c| u64::from(c)).sum::<u64>() / 2;
    let mut acc = 0u64;
    let paper = (0..=255u8).find(|&v| {
        acc += u64::from(page_hist[v as usize]);
        acc > half
    })?;
    // The background's edge on the small copy is a pixel off either way: paint one pixel more.
    let background = dilate(&background, sw, sh);
    // The last small row and column stand for whatever the division left over.
    let full = |v: u32, small: u32, max: u32| if v >= small { max } else { v * scale };
    Some(PageArea {
        crop: Rect::from_corners(
            x0 * scale,
            y0 * scale,
            full(x1, sw as u32, w),
            full(y1, sh as u32, h),
        ),
        background,
        small_width: sw as u32,
        scale,
        paper,
    })
}

impl PageArea {
    /// Paints the background inside the page's box paper-white on `page`, the image cut to
    /// `crop` (and possibly scaled since; `factor` is `page` pixels per image pixel).
    pub fn paint(&self, page: &mut GrayImage, factor: f32) {
        let (w, h) = page.dimensions();
        let small_h = (self.background.len() as u32) / self.small_width;
        let to_small = |v: u32, origin: u32| ((v as f32 / factor) as u32 + origin) / self.scale;
        let cols: Vec<Option<u32>> = (0..w)
            .map(|x| Some(to_small(x, self.crop.x)).filter(|&c| c < self.small_width))
            .collect();
        for (y, row) in page.as_mut().chunks_exact_mut(w as usize).enumerate() {
            let sy = to_small(y as u32, self.crop.y).min(small_h - 1);
            let bg =
                &self.background[(sy * self.small_width) as usize..][..self.small_width as usize];
            if !bg.iter().any(|&b| b) {
                continue;
            }
            for (v, c) in row.iter_mut().zip(&cols) {
                if c.is_some_and(|c| bg[c as usize]) {
                    *v = self.paper;
                }
            }
        }
        let _ = h;
    }
}

/// The 90th percentile of the image's outermost pixels: how bright the desk or lid gets.
fn border_level(small: &GrayImage) -> u8 {
    let (w, h) = small.dimensions();
    let mut hist = [0u32; 256];
    for x in 0..w {
        hist[small.get_pixel(x, 0).0[0] as usize] += 1;
        hist[small.get_pixel(x, h - 1).0[0] as usize] += 1;
    }
    for y in 0..h {
        hist[small.get_pixel(0, y).0[0] as usize] += 1;
        hist[small.get_pixel(w - 1, y).0[0] as usize] += 1;
    }
    let n: u32 = hist.iter().sum();
    let mut acc = 0;
    (0..=255u8)
        .find(|&v| {
            acc += hist[v as usize];
            acc * 10 >= n * 9
        })
        .unwrap_or(255)
}

/// Otsu's threshold: the brightness that best splits the histogram in two classes.
fn otsu(hist: &[u32; 256]) -> u8 {
    let total: f64 = hist.iter().map(|&c| f64::from(c)).sum();
    let sum: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &c)| i as f64 * f64::from(c))
        .sum();
    let (mut w0, mut sum0, mut best, mut at) = (0.0, 0.0, -1.0, 0u8);
    for (i, &c) in hist.iter().enumerate() {
        w0 += f64::from(c);
        sum0 += i as f64 * f64::from(c);
        let w1 = total - w0;
        if w0 == 0.0 || w1 == 0.0 {
            continue;
        }
        let (m0, m1) = (sum0 / w0, (sum - sum0) / w1);
        let between = w0 * w1 * (m0 - m1) * (m0 - m1);
        if between > best {
            (best, at) = (between, i as u8);
        }
    }
    at
}

/// Pixels at or below `dark` that are 4-connected to the image edge through such pixels.
fn flood_from_edges(small: &GrayImage, dark: u8) -> Vec<bool> {
    let (w, h) = (small.width() as usize, small.height() as usize);
    let px = small.as_raw();
    let mut bg = vec![false; w * h];
    let mut stack: Vec<usize> = Vec::new();
    let edge = (0..w).flat_map(|x| [x, (h - 1) * w + x]);
    let sides = (0..h).flat_map(|y| [y * w, y * w + w - 1]);
    for i in edge.chain(sides) {
        if px[i] <= dark && !bg[i] {
            bg[i] = true;
            stack.push(i);
        }
    }
    while let Some(i) = stack.pop() {
        let (x, y) = (i % w, i / w);
        let mut visit = |j: usize| {
            if !bg[j] && px[j] <= dark {
                bg[j] = true;
                stack.push(j);
            }
        };
        if x > 0 {
            visit(i - 1);
        }
        if x + 1 < w {
            visit(i + 1);
        }
        if y > 0 {
            visit(i - w);
        }
        if y + 1 < h {
            visit(i + w);
        }
    }
    bg
}

/// The background as everything outside the convex hull of the page's pixels in the page box.
/// A sheet of paper is convex; the flood fill is not: where a photo's shadow darkens the margin,
/// it runs in from the desk along the text lines that reach the edge, and painting those bites
/// would erase the last words of the lines.
fn outside_convex_page(
    background: &[bool],
    w: usize,
    (x0, x1): (u32, u32),
    (y0, y1): (u32, u32),
) -> Vec<bool> {
    let h = background.len() / w;
    let mut points = Vec::new();
    for y in y0 as usize..y1 as usize {
        let row = &background[y * w..][x0 as usize..x1 as usize];
        if let (Some(a), Some(b)) = (row.iter().position(|&b| !b), row.iter().rposition(|&b| !b)) {
            points.push((x0 as i64 + a as i64, y as i64));
            points.push((x0 as i64 + b as i64, y as i64));
        }
    }
    let hull = convex_hull(points);
    let mut out = vec![true; background.len()];
    for y in 0..h {
        let yf = y as f64;
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for (i, &(ax, ay)) in hull.iter().enumerate() {
            let (bx, by) = hull[(i + 1) % hull.len()];
            let (ay, by, ax, bx) = (ay as f64, by as f64, ax as f64, bx as f64);
            if (ay.min(by)..=ay.max(by)).contains(&yf) {
                let x = if ay == by {
                    lo = lo.min(ax.min(bx));
                    ax.max(bx)
                } else {
                    ax + (bx - ax) * (yf - ay) / (by - ay)
                };
                lo = lo.min(x);
                hi = hi.max(x);
            }
        }
        if lo > hi {
            continue;
        }
        let (lo, hi) = (
            lo.round().max(0.0) as usize,
            (hi.round() as usize).min(w - 1),
        );
        out[y * w + lo..=y * w + hi].fill(false);
    }
    out
}

/// Andrew's monotone chain; counter-clockwise, no repeated end point.
fn convex_hull(mut p: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    p.sort_unstable();
    p.dedup();
    if p.len() < 3 {
        return p;
    }
    let cross = |o: (i64, i64), a: (i64, i64), b: (i64, i64)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let mut hull: Vec<(i64, i64)> = Vec::with_capacity(2 * p.len());
    for pass in 0..2 {
        let start = hull.len();
        let it: Box<dyn Iterator<Item = &(i64, i64)>> = if pass == 0 {
            Box::new(p.iter())
        } else {
            Box::new(p.iter().rev())
        };
        for &q in it {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], q) <= 0
            {
                hull.pop();
            }
            hull.push(q);
        }
        hull.pop();
    }
    hull
}

fn dilate(mask: &[bool], w: usize, h: usize) -> Vec<bool> {
    let mut out = mask.to_vec();
    for y in 0..h {
        for x in 0..w {
            if mask[y * w + x] {
                for (dx, dy) in [(-1i32, 0i32), (1, 0), (0, -1), (0, 1)] {
                    let (nx, ny) = (x as i32 + dx, y as i32 + dy);
                    if nx >= 0 && ny >= 0 && (nx as usize) < w && (ny as usize) < h {
                        out[ny as usize * w + nx as usize] = true;
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    /// A light page with text bars, tilted on a dark desk.
    fn photo() -> GrayImage {
        GrayImage::from_fn(1200, 900, |x, y| {
            let (xf, yf) = (x as f32, y as f32);
            // Page corners roughly (200,100)-(1000,800), its left edge leaning by 2 %.
            let left = 200.0 + (yf - 100.0) * 0.02;
            let on_page = xf >= left && xf < left + 800.0 && (100.0..800.0).contains(&yf);
            let text = on_page
                && (y % 40) < 12
                && (300..900).contains(&x)
                && x % 9 < 6
                && y > 160
                && y < 760;
            Luma([match (on_page, text) {
                (_, true) => 30,
                (true, false) => 215,
                (false, false) => 60,
            }])
        })
    }

    #[test]
    fn desk_around_a_photographed_page_is_cut_and_corners_painted() {
        let img = photo();
        let page = find_page(&img).expect("a page on a desk");
        let c = page.crop;
        assert!(
            (195..=215).contains(&c.x) && (95..=110).contains(&c.y),
            "{c:?}"
        );
        assert!(
            (1000..=1030).contains(&(c.x + c.w)) && (790..=805).contains(&(c.y + c.h)),
            "{c:?}"
        );
        assert!((210..=220).contains(&page.paper));
        let mut cut = image::imageops::crop_imm(&img, c.x, c.y, c.w, c.h).to_image();
        page.paint(&mut cut, 1.0);
        // Desk left in the bottom-left corner (the page leans right) is paper now; text stays.
        assert!(cut.get_pixel(2, c.h - 3).0[0] >= 210);
        let text = cut.pixels().filter(|p| p.0[0] < 45).count();
        // Of the desk inside the page's box, at most a sliver along the slanted edge is left.
        let desk = cut.pixels().filter(|p| (50..70).contains(&p.0[0])).count();
        assert!(desk < (c.w * c.h / 1000) as usize, "{desk}");
        let expected_text = (0..900u32)
            .flat_map(|y| (0..1200u32).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                (y % 40) < 12 && (300..900).contains(&x) && x % 9 < 6 && y > 160 && y < 760
            })
            .count();
        assert_eq!(text, expected_text);
    }

    #[test]
    fn lines_reaching_a_shaded_page_edge_are_not_painted_out() {
        // Part of the page's right margin lies in a shadow as dark as the desk, and the text
        // lines run into it: the flood from the desk enters the page along them there.
        let text = |x: u32, y: u32| (y % 40) < 12 && (300..985).contains(&x) && x % 9 < 6;
        let on_page = |x: u32, y: u32| (200..1000).contains(&x) && (100..800).contains(&y);
        let img = GrayImage::from_fn(1200, 900, |x, y| {
            let lines = (160..760).contains(&y) && text(x, y);
            Luma([match (on_page(x, y), lines) {
                (true, true) => 20,
                (true, false) if x >= 960 && (300..600).contains(&y) => 70,
                (true, false) => 215,
                (false, _) => 60,
            }])
        });
        paint_keeps_all_text(&img);
    }

    #[test]
    fn a_dim_corner_of_the_page_is_page_not_desk() {
        // Light falls off towards the bottom right: that corner of the paper is darker than the
        // split between desk and paper, but well above the desk.
        let text = |x: u32, y: u32| (y % 40) < 12 && (300..985).contains(&x) && x % 9 < 6;
        let img = GrayImage::from_fn(1200, 900, |x, y| {
            let on_page = (200..1000).contains(&x) && (100..800).contains(&y);
            let lines = (160..760).contains(&y) && text(x, y);
            let falloff = ((x + y).saturating_sub(1000) as f32 * 0.17) as u8;
            Luma([match (on_page, lines) {
                (true, true) => 20,
                (true, false) => 225 - falloff,
                (false, _) => 60,
            }])
        });
        let c = paint_keeps_all_text(&img);
        assert!(c.x + c.w >= 995 && c.y + c.h >= 795, "{c:?}");
    }

    /// Finds the page, paints its background and checks that no text pixel (< 50) was lost;
    /// returns the page's box.
    fn paint_keeps_all_text(img: &GrayImage) -> Rect {
        let page = find_page(img).expect("a page on a desk");
        let c = page.crop;
        let mut cut = image::imageops::crop_imm(img, c.x, c.y, c.w, c.h).to_image();
        page.paint(&mut cut, 1.0);
        let left = cut.pixels().filter(|p| p.0[0] < 50).count();
        let drawn = img.pixels().filter(|p| p.0[0] < 50).count();
        assert_eq!(left, drawn, "every text pixel survives the painting");
        c
    }

    #[test]
    fn hull_of_a_square_with_a_bite() {
        let mut p = vec![(0, 0), (10, 0), (10, 10), (0, 10), (5, 5), (9, 5), (2, 8)];
        p.push((10, 5));
        let h = convex_hull(p);
        assert_eq!(h, vec![(0, 0), (10, 0), (10, 10), (0, 10)]);
    }

    #[test]
    fn a_clean_page_has_nothing_to_cut_and_a_lid_strip_is_cut() {
        let mut img = GrayImage::from_fn(800, 1100, |x, y| {
            Luma([
                if (y % 30) < 10 && (100..700).contains(&x) && (100..1000).contains(&y) {
                    20
                } else {
                    240
                },
            ])
        });
        assert!(find_page(&img).is_none());
        for y in 0..12 {
            for x in 0..800 {
                img.put_pixel(x, y, Luma([15]));
            }
        }
        let page = find_page(&img).expect("lid strip");
        assert_eq!(
            (page.crop.x, page.crop.w, page.crop.y + page.crop.h),
            (0, 800, 1100)
        );
        assert!((12..=16).contains(&page.crop.y), "{:?}", page.crop);
    }
}
