//! Dotted leaders (`Họ, chữ đệm, tên: HUỲNH MAI HẠNH ..........`) on administrative forms. Tesseract
//! reads them as runs of garbage (`.......--- -- 2c 22211122211`) and spends time on them, so they
//! are painted paper-white on the OCR copy.
//!
//! A leader is a chain of small round blobs on one line, evenly spaced. Ink is
//! found against the local paper level, blobs are connected components, and only chains of at
//! least [`MIN_CHAIN`] evenly spaced dots go. Diacritics (dot below, dot of i/j) and an ellipsis
//! never form such chains. Chains are looked for along both axes because a page turned 90° is
//! only turned upright after OCR has read it once.

use std::collections::HashMap;

use image::GrayImage;

use super::ink::{Component, INK_FRACTION, PaperMap, components};

/// Fewest dots in a chain that is removed (an ellipsis has three).
const MIN_CHAIN: usize = 6;
/// Side of the square tiles on which the paper level is estimated, pixels at 300 dpi.
const TILE_300: f32 = 64.0;
/// Size of a dot's bounding box, pixels at 300 dpi (leaders on the forms are about 5 px).
const DOT_MIN_300: f32 = 2.5;
const DOT_MAX_300: f32 = 9.0;
/// Farthest centre-to-centre distance of neighbouring dots, in dot sizes.
const MAX_PITCH_DOTS: f32 = 6.0;
/// Neighbouring pitches of one leader differ by less than this factor.
const PITCH_RATIO: f32 = 1.4;

/// Paints dotted leaders paper-white on the gray OCR image. Returns how many dots were removed.
pub fn remove_dotted_leaders(gray: &mut GrayImage, dpi: f32) -> usize {
    let (w, h) = (gray.width() as usize, gray.height() as usize);
    if w == 0 || h == 0 {
        return 0;
    }
    let paper = paper_map(gray, dpi);
    let comps = components(gray, &paper);
    paint_leaders(gray, &paper, &comps, dpi)
}

/// The paper level of a page at `dpi`, on tiles sized for leaders and letters.
pub(super) fn paper_map(gray: &GrayImage, dpi: f32) -> PaperMap {
    let s = (dpi / 300.0).clamp(0.1, 10.0);
    PaperMap::new(gray, ((TILE_300 * s).round() as usize).max(16))
}

/// [`remove_dotted_leaders`] on components already found.
pub(super) fn paint_leaders(
    gray: &mut GrayImage,
    paper: &PaperMap,
    comps: &[Component],
    dpi: f32,
) -> usize {
    let (w, h) = (gray.width() as usize, gray.height() as usize);
    let s = (dpi / 300.0).clamp(0.1, 10.0);
    let (min_d, max_d) = ((DOT_MIN_300 * s).round().max(2.0) as u32, DOT_MAX_300 * s);
    let dots: Vec<Dot> = comps
        .iter()
        .enumerate()
        .filter(|(_, c)| is_dot_shaped(c, min_d, max_d))
        .map(|(i, c)| Dot {
            x: (c.x0 + c.x1) as f32 / 2.0,
            y: (c.y0 + c.y1) as f32 / 2.0,
            size: (c.x1 - c.x0 + c.y1 - c.y0) as f32 / 2.0,
            comp: i as u32,
        })
        .collect();
    let mut leader = vec![false; dots.len()];
    let along_x = |d: &Dot| (d.x, d.y);
    let along_y = |d: &Dot| (d.y, d.x);
    let inked = |x: f32, y: f32, r: f32| inked(gray, paper, x, y, r);
    let runs = mark_chains(&dots, along_x, &mut leader);
    extend_lattices(&dots, along_x, &runs, &mut leader, inked);
    let runs = mark_chains(&dots, along_y, &mut leader);
    extend_lattices(&dots, along_y, &runs, &mut leader, |a, c, r| inked(c, a, r));

    // Blurred and sharpened dots leave a rim beyond the ink threshold.
    let pad = ((2.0 * s).round() as u32).max(1);
    let mut removed = 0;
    let raw: &mut [u8] = gray;
    for dot in dots
        .iter()
        .zip(&leader)
        .filter_map(|(d, &l)| l.then_some(d))
    {
        let c = &comps[dot.comp as usize];
        removed += 1;
        let p = paper.at((c.x0 + c.x1) as usize / 2, (c.y0 + c.y1) as usize / 2);
        let (x0, y0) = (
            c.x0.saturating_sub(pad) as usize,
            c.y0.saturating_sub(pad) as usize,
        );
        let (x1, y1) = (
            ((c.x1 + pad) as usize).min(w),
            ((c.y1 + pad) as usize).min(h),
        );
        for row in raw.chunks_exact_mut(w).take(y1).skip(y0) {
            for v in &mut row[x0..x1] {
                *v = (*v).max(p);
            }
        }
    }
    removed
}

fn is_dot_shaped(c: &Component, min_d: u32, max_d: f32) -> bool {
    let (bw, bh) = (c.x1 - c.x0, c.y1 - c.y0);
    bw.min(bh) >= min_d
        && bw.max(bh) as f32 <= max_d
        && bw.max(bh) <= 2 * bw.min(bh)
        // a disc fills 79 % of its box; a thin diagonal stroke much less
        && c.area * 2 >= bw * bh
}

struct Dot {
    x: f32,
    y: f32,
    size: f32,
    comp: u32,
}

/// Marks dots that belong to chains of at least [`MIN_CHAIN`] evenly spaced dots running along
/// the first coordinate `key` gives (the second is across the chain); returns those chains.
fn mark_chains(
    dots: &[Dot],
    key: impl Fn(&Dot) -> (f32, f32),
    leader: &mut [bool],
) -> Vec<Vec<usize>> {
    let mut runs = Vec::new();
    let n = dots.len();
    let keys: Vec<(f32, f32)> = dots.iter().map(&key).collect();
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_unstable_by(|&a, &b| keys[a as usize].1.total_cmp(&keys[b as usize].1));
    let max_size = dots.iter().map(|d| d.size).fold(0.0, f32::max);

    // Nearest following dot on the same line, within reach.
    const NONE: u32 = u32::MAX;
    let mut next = vec![NONE; n];
    let mut next_dist = vec![f32::INFINITY; n];
    for (oi, &i) in order.iter().enumerate() {
        let (along, across) = keys[i as usize];
        let size = dots[i as usize].size;
        let mut check = |j: u32| {
            let (a, c) = keys[j as usize];
            let sz = size.max(dots[j as usize].size);
            let d = a - along;
            if (across - c).abs() <= sz
                && d >= sz
                && d <= MAX_PITCH_DOTS * sz
                && d < next_dist[i as usize]
            {
                next[i as usize] = j;
                next_dist[i as usize] = d;
            }
        };
        for &j in order[oi + 1..].iter() {
            if keys[j as usize].1 - across > max_size {
                break;
            }
            check(j);
        }
        for &j in order[..oi].iter().rev() {
            if across - keys[j as usize].1 > max_size {
                break;
            }
            check(j);
        }
    }
    // One predecessor per dot: the nearest.
    let mut prev = vec![NONE; n];
    for i in 0..n {
        let j = next[i];
        if j != NONE
            && (prev[j as usize] == NONE || next_dist[i] < next_dist[prev[j as usize] as usize])
        {
            prev[j as usize] = i as u32;
        }
    }
    let mut chain: Vec<usize> = Vec::new();
    for head in 0..n {
        if prev[head] != NONE || next[head] == NONE {
            continue;
        }
        chain.clear();
        let mut i = head;
        chain.push(i);
        while next[i] != NONE && prev[next[i] as usize] == i as u32 {
            i = next[i] as usize;
            chain.push(i);
        }
        // Split where the spacing changes: a diacritic next to a leader, or two leaders in a row.
        let mut start = 0;
        for k in 1..chain.len() {
            let end_here = k + 1 == chain.len() || {
                let p0 = next_dist[chain[k - 1]];
                let p1 = next_dist[chain[k]];
                p1 > p0 * PITCH_RATIO || p0 > p1 * PITCH_RATIO
            };
            if end_here {
                if k + 1 - start >= MIN_CHAIN {
                    for &d in &chain[start..=k] {
                        leader[d] = true;
                    }
                    runs.push(chain[start..=k].to_vec());
                }
                start = k;
            }
        }
    }
    runs
}

/// A value typed over a leader breaks its chain: the dots between the words stand alone or in
/// twos and threes, and they end up inside the value (`NGUYỄN PHƯƠNG.YẾN`). A leader is a
/// lattice, so the chain is followed on along its pitch: a dot of its size on its line goes, a
/// place with other ink (a letter hiding the dot) is passed over, and blank paper ends it (an
/// ellipsis before a leader is no part of it). The line tolerance is tight: a dot below a
/// letter sits lower. `inked(along, across, radius)`: is there ink near that point.
fn extend_lattices(
    dots: &[Dot],
    key: impl Fn(&Dot) -> (f32, f32),
    runs: &[Vec<usize>],
    leader: &mut [bool],
    inked: impl Fn(f32, f32, f32) -> bool,
) {
    let keys: Vec<(f32, f32)> = dots.iter().map(&key).collect();
    for run in runs {
        let Some(l) = Lattice::fit(run.iter().map(|&i| (keys[i], dots[i].size))) else {
            continue;
        };
        // Dots on the lattice by their step number.
        let mut on: HashMap<i64, usize> = HashMap::new();
        for (j, d) in dots.iter().enumerate() {
            if let Some(k) = l.step_of(keys[j], d.size) {
                on.insert(k, j);
            }
        }
        let steps = run.iter().filter_map(|&i| l.step(keys[i].0));
        let (first, last) = steps.fold((i64::MAX, i64::MIN), |(a, b), k| (a.min(k), b.max(k)));
        if first > last {
            continue;
        }
        for (from, dir) in [(first, -1i64), (last, 1)] {
            let mut k = from + dir;
            // A line is shorter than this many steps on any page.
            for _ in 0..2000 {
                let along = l.start + k as f32 * l.pitch;
                if along < 0.0 {
                    break;
                }
                match on.get(&k) {
                    Some(&j) => leader[j] = true,
                    None if inked(along, l.across, l.size * 0.6) => {}
                    None => break,
                }
                k += dir;
            }
        }
    }
}

/// Is any pixel within `r` of `(x, y)` ink against the local paper level?
fn inked(gray: &GrayImage, paper: &PaperMap, x: f32, y: f32, r: f32) -> bool {
    let (w, h) = (gray.width() as i64, gray.height() as i64);
    let (x0, x1) = (
        ((x - r).floor() as i64).max(0),
        ((x + r).ceil() as i64).min(w - 1),
    );
    let (y0, y1) = (
        ((y - r).floor() as i64).max(0),
        ((y + r).ceil() as i64).min(h - 1),
    );
    if x0 > x1 || y0 > y1 {
        return false;
    }
    let t = u32::from(paper.at(x as usize, y as usize)) * INK_FRACTION / 100;
    (y0..=y1).any(|yy| (x0..=x1).any(|xx| u32::from(gray.get_pixel(xx as u32, yy as u32).0[0]) < t))
}

/// The positions of one leader's dots: `start + k · pitch` along, `across` across.
struct Lattice {
    start: f32,
    pitch: f32,
    across: f32,
    size: f32,
}

impl Lattice {
    /// Least squares over a chain's dots ((along, across), size); the pitch is refitted over the
    /// whole chain so that it does not drift when carried across a line.
    fn fit(chain: impl Iterator<Item = ((f32, f32), f32)>) -> Option<Lattice> {
        let pts: Vec<((f32, f32), f32)> = chain.collect();
        if pts.len() < MIN_CHAIN {
            return None;
        }
        let mut steps: Vec<f32> = pts.windows(2).map(|w| w[1].0.0 - w[0].0.0).collect();
        let median = |v: &mut Vec<f32>| {
            v.sort_unstable_by(f32::total_cmp);
            v[v.len() / 2]
        };
        let p0 = median(&mut steps);
        if p0 <= 0.0 {
            return None;
        }
        let a0 = pts[0].0.0;
        let (mut sk, mut sa, mut skk, mut ska) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for ((a, _), _) in &pts {
            let k = ((a - a0) / p0).round() as f64;
            let a = *a as f64;
            sk += k;
            sa += a;
            skk += k * k;
            ska += k * a;
        }
        let n = pts.len() as f64;
        let den = n * skk - sk * sk;
        if den <= 0.0 {
            return None;
        }
        let pitch = (n * ska - sk * sa) / den;
        let start = (sa - pitch * sk) / n;
        let mut across: Vec<f32> = pts.iter().map(|p| p.0.1).collect();
        let mut size: Vec<f32> = pts.iter().map(|p| p.1).collect();
        Some(Lattice {
            start: start as f32,
            pitch: pitch as f32,
            across: median(&mut across),
            size: median(&mut size),
        })
    }

    /// The step a position along the lattice is on, if it is near one.
    fn step(&self, along: f32) -> Option<i64> {
        let t = (along - self.start) / self.pitch;
        ((t - t.round()).abs() <= 0.2).then_some(t.round() as i64)
    }

    /// The step of a dot of this lattice's size on its line and pitch.
    fn step_of(&self, (along, across): (f32, f32), size: f32) -> Option<i64> {
        let fits = (across - self.across).abs() <= (0.3 * self.size).max(1.0)
            && size >= 0.6 * self.size
            && size <= 1.6 * self.size;
        if fits { self.step(along) } else { None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    const PAPER: u8 = 245;

    fn page() -> GrayImage {
        GrayImage::from_pixel(800, 200, Luma([PAPER]))
    }

    /// A round dot of diameter `d` centred at `(cx, cy)`.
    fn dot(g: &mut GrayImage, cx: f32, cy: f32, d: f32) {
        let r = d / 2.0;
        for y in (cy - r).floor() as u32..=(cy + r).ceil() as u32 {
            for x in (cx - r).floor() as u32..=(cx + r).ceil() as u32 {
                let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
                if dx * dx + dy * dy <= r * r {
                    g.put_pixel(x, y, Luma([20]));
                }
            }
        }
    }

    fn rect(g: &mut GrayImage, x: u32, y: u32, w: u32, h: u32) {
        for yy in y..y + h {
            for xx in x..x + w {
                g.put_pixel(xx, yy, Luma([20]));
            }
        }
    }

    fn ink(g: &GrayImage) -> usize {
        g.pixels().filter(|p| p.0[0] < 200).count()
    }

    #[test]
    fn a_row_of_dots_goes_entirely() {
        let mut g = page();
        for i in 0..20 {
            dot(&mut g, 40.0 + 12.0 * i as f32, 100.0, 5.0);
        }
        assert!(ink(&g) > 20 * 15);
        assert_eq!(remove_dotted_leaders(&mut g, 300.0), 20);
        assert_eq!(ink(&g), 0);
        assert!(g.pixels().all(|p| p.0[0] == PAPER));
    }

    #[test]
    fn diacritics_and_an_ellipsis_stay_and_a_leader_after_them_goes() {
        let mut g = page();
        // "Họ, chữ đệm, tên: Mẹ" in strokes: stems on the baseline y = 100, with a dot of i above
        // some and a dot below others, unevenly as in words.
        let mut x = 30;
        for (k, &adv) in [22, 18, 26, 20, 18, 30, 20, 16, 24, 22, 18, 28]
            .iter()
            .enumerate()
        {
            rect(&mut g, x, 70, 4, 30);
            match k % 3 {
                0 => dot(&mut g, x as f32 + 2.0, 62.0, 5.0),
                1 => dot(&mut g, x as f32 + 2.0, 108.0, 5.0),
                _ => {}
            }
            x += adv;
        }
        // An ellipsis on the baseline.
        for i in 0..3 {
            dot(&mut g, x as f32 + 10.0 + 12.0 * i as f32, 97.0, 5.0);
        }
        let text = g.clone();
        assert_eq!(remove_dotted_leaders(&mut g, 300.0), 0);
        assert_eq!(g, text);

        // A leader after the last word: the word's dot below stays, the leader goes.
        let mut g = text.clone();
        let start = x as f32 + 60.0;
        for i in 0..25 {
            dot(&mut g, start + 12.5 * i as f32, 97.0, 5.0);
        }
        assert_eq!(remove_dotted_leaders(&mut g, 300.0), 25);
        assert_eq!(g, text);
    }

    #[test]
    fn dots_of_a_leader_a_value_is_typed_over_go_and_a_dot_below_stays() {
        let mut g = page();
        // A leader on y = 120 from x = 20, pitch 12.5; a value typed over it from x = 100 to
        // 500: words (blocks) hide most dots, single dots are left between them.
        let words = [(100u32, 160u32), (190, 270), (300, 420), (445, 500)];
        let hidden = |x: f32| {
            words
                .iter()
                .any(|&(a, b)| x + 4.0 >= a as f32 && x - 4.0 <= b as f32)
        };
        let mut kept = 0;
        for i in 0..60 {
            let x = 20.0 + 12.5 * i as f32;
            if !hidden(x) {
                dot(&mut g, x, 120.0, 5.0);
                kept += 1;
            }
        }
        for &(a, b) in &words {
            rect(&mut g, a, 90, b - a, 32);
        }
        // A dot below a letter on the lattice's pitch but lower, and a bigger blot on it.
        dot(&mut g, 20.0 + 12.5 * 23.0, 131.0, 5.0);
        let mut want = page();
        for &(a, b) in &words {
            rect(&mut want, a, 90, b - a, 32);
        }
        dot(&mut want, 20.0 + 12.5 * 23.0, 131.0, 5.0);
        dot(&mut g, 20.0 + 12.5 * 14.0, 60.0, 8.5);
        dot(&mut want, 20.0 + 12.5 * 14.0, 60.0, 8.5);
        assert_eq!(remove_dotted_leaders(&mut g, 300.0), kept);
        assert_eq!(g, want);
    }

    #[test]
    fn a_monospace_leader_goes_its_dots_a_cell_apart() {
        // A period of a monospace face fills a whole character cell: dots 4.5 sizes apart.
        let mut g = page();
        for i in 0..30 {
            dot(&mut g, 20.0 + 22.5 * i as f32, 100.0, 5.0);
        }
        assert_eq!(remove_dotted_leaders(&mut g, 240.0), 30);
        assert_eq!(ink(&g), 0);
    }

    #[test]
    fn leaders_go_at_200_dpi_and_on_pages_turned_90_degrees() {
        let mut g = page();
        for i in 0..30 {
            dot(&mut g, 20.0 + 8.0 * i as f32, 60.0, 3.4);
        }
        // A page turned a quarter: the leader runs down the page.
        for i in 0..15 {
            dot(&mut g, 400.0, 20.0 + 8.0 * i as f32, 3.4);
        }
        assert_eq!(remove_dotted_leaders(&mut g, 200.0), 45);
        assert_eq!(ink(&g), 0);
    }

    #[test]
    fn leaders_go_on_uneven_paper() {
        // Phone photo: the paper darkens from left to right.
        let mut g = GrayImage::from_fn(600, 200, |x, _| Luma([(240 - x / 6) as u8]));
        let before = g.clone();
        for i in 0..40 {
            dot(&mut g, 40.0 + 13.0 * i as f32, 120.0, 5.0);
        }
        assert_eq!(remove_dotted_leaders(&mut g, 300.0), 40);
        // What is left of each dot is no darker than the paper around it.
        let darkest = g
            .pixels()
            .zip(before.pixels())
            .map(|(a, b)| i32::from(b.0[0]) - i32::from(a.0[0]))
            .max()
            .unwrap();
        assert!(darkest <= 12, "{darkest}");
    }
}
