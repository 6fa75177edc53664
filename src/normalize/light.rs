//! Lighting: phone photos are bright where the lamp was and dim in the far corner, often with a
//! colour cast. Dividing each pixel by its local paper level flattens the paper to white and
//! keeps ink in proportion, so that one threshold fits the whole page again. Adaptive
//! binarization (Sauvola) is here too, for the OCR copy only; the PDF keeps the photo.

use image::GrayImage;

use super::ink::PaperMap;

/// Flattens `gray` when its paper level, on `tile`-pixel tiles, spreads by `min_spread` or more.
/// Returns whether it did.
pub fn flatten_lighting(gray: &mut GrayImage, tile: usize, min_spread: u8) -> bool {
    let paper = PaperMap::new(gray, tile.max(8));
    let uneven = uneven_light(&paper) >= min_spread;
    if uneven {
        flatten(gray, &paper);
    }
    uneven
}

/// Spread of the paper level across the page (brightest minus darkest tile, ignoring the 5 %
/// extremes at either end) at which the page counts as unevenly lit.
pub fn uneven_light(paper: &PaperMap) -> u8 {
    let mut levels = paper.level.clone();
    levels.sort_unstable();
    if levels.is_empty() {
        return 0;
    }
    let lo = levels[levels.len() / 20];
    let hi = levels[levels.len() - 1 - levels.len() / 20];
    hi - lo
}

/// Divides the page by its paper level, interpolated between tile centres: paper becomes 255.
pub fn flatten(gray: &mut GrayImage, paper: &PaperMap) {
    let (w, h) = (gray.width() as usize, gray.height() as usize);
    let (t, cols) = (paper.tile, paper.cols);
    let rows = paper.level.len() / cols.max(1);
    if w == 0 || h == 0 || rows == 0 {
        return;
    }
    // Position between tile centres: index of the left/upper centre and the weight of the next.
    let axis = |i: usize, n: usize| {
        let c = (i as f32 + 0.5) / t as f32 - 0.5;
        let c = c.clamp(0.0, (n - 1) as f32);
        let i0 = (c as usize).min(n - 1);
        (i0, c - i0 as f32)
    };
    let xs: Vec<(usize, f32)> = (0..w).map(|x| axis(x, cols)).collect();
    let level = |r: usize, c: usize| f32::from(paper.level[r * cols + c].max(1));
    let mut row_level = vec![0f32; cols];
    for (y, row) in gray.as_mut().chunks_exact_mut(w).enumerate() {
        let (r0, fy) = axis(y, rows);
        let r1 = (r0 + 1).min(rows - 1);
        for (c, l) in row_level.iter_mut().enumerate() {
            *l = level(r0, c) * (1.0 - fy) + level(r1, c) * fy;
        }
        for (v, &(c0, fx)) in row.iter_mut().zip(&xs) {
            let c1 = (c0 + 1).min(cols - 1);
            let bg = row_level[c0] * (1.0 - fx) + row_level[c1] * fx;
            *v = (f32::from(*v) * 255.0 / bg).min(255.0) as u8;
        }
    }
}

/// Sauvola's threshold over a `window`-pixel square: ink where the pixel is darker than
/// `mean · (1 + k · (sd / 128 − 1))`. Returns a 0/255 image. Running column sums keep memory to
/// a few rows whatever the page size.
pub fn sauvola(gray: &GrayImage, window: u32, k: f32) -> GrayImage {
    let (w, h) = (gray.width() as usize, gray.height() as usize);
    let r = (window / 2).max(1) as usize;
    let px = gray.as_raw();
    let mut out = GrayImage::new(w as u32, h as u32);
    let mut col_sum = vec![0u32; w];
    let mut col_sq = vec![0u64; w];
    let add_row = |y: usize, sign: i64, s: &mut [u32], q: &mut [u64]| {
        for ((s, q), &v) in s.iter_mut().zip(q.iter_mut()).zip(&px[y * w..(y + 1) * w]) {
            let v = u64::from(v);
            if sign > 0 {
                *s += v as u32;
                *q += v * v;
            } else {
                *s -= v as u32;
                *q -= v * v;
            }
        }
    };
    for y in 0..r.min(h) {
        add_row(y, 1, &mut col_sum, &mut col_sq);
    }
    let mut pre_s = vec![0u64; w + 1];
    let mut pre_q = vec![0u64; w + 1];
    let dst = out.as_mut();
    for y in 0..h {
        if y + r < h {
            add_row(y + r, 1, &mut col_sum, &mut col_sq);
        }
        if y > r {
            add_row(y - r - 1, -1, &mut col_sum, &mut col_sq);
        }
        let n_rows = (y + r + 1).min(h) - y.saturating_sub(r);
        for x in 0..w {
            pre_s[x + 1] = pre_s[x] + u64::from(col_sum[x]);
            pre_q[x + 1] = pre_q[x] + col_sq[x];
        }
        for x in 0..w {
            let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(w));
            let n = ((x1 - x0) * n_rows) as f32;
            let mean = (pre_s[x1] - pre_s[x0]) as f32 / n;
            let var = ((pre_q[x1] - pre_q[x0]) as f32 / n - mean * mean).max(0.0);
            let t = mean * (1.0 + k * (var.sqrt() / 128.0 - 1.0));
            dst[y * w + x] = if f32::from(px[y * w + x]) < t { 0 } else { 255 };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    /// Text bars on paper lit from the left: bright 240 fading to 130 on the right.
    fn shaded() -> GrayImage {
        GrayImage::from_fn(900, 600, |x, y| {
            let light = 240.0 - 110.0 * x as f32 / 900.0;
            let ink = (y % 50) < 14 && x % 10 < 6 && (60..840).contains(&x);
            Luma([if ink {
                (light * 0.2) as u8
            } else {
                light as u8
            }])
        })
    }

    #[test]
    fn uneven_light_is_measured_and_flattened() {
        let mut img = shaded();
        let paper = PaperMap::new(&img, 64);
        assert!(uneven_light(&paper) > 80, "{}", uneven_light(&paper));
        flatten(&mut img, &paper);
        // Paper is near white everywhere, ink stays dark on both sides.
        assert!(img.get_pixel(30, 30).0[0] > 245 && img.get_pixel(880, 30).0[0] > 235);
        assert!(img.get_pixel(62, 0).0[0] < 70 && img.get_pixel(832, 0).0[0] < 70);
        let even = GrayImage::from_pixel(400, 400, Luma([230]));
        assert!(uneven_light(&PaperMap::new(&even, 64)) < 3);
    }

    #[test]
    fn sauvola_separates_ink_from_dim_and_bright_paper() {
        let b = sauvola(&shaded(), 41, 0.2);
        assert_eq!(b.get_pixel(62, 5).0[0], 0);
        assert_eq!(b.get_pixel(832, 5).0[0], 0);
        assert_eq!(b.get_pixel(30, 30).0[0], 255);
        assert_eq!(b.get_pixel(880, 30).0[0], 255);
        assert_eq!(b.get_pixel(500, 30).0[0], 255);
    }
}
