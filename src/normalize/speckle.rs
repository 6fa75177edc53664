//! Fax and bilevel scans carry specks: single black pixels and pairs scattered over the page by
//! line noise and dust (unpaper's noise filter takes them out before OCR for OCRmyPDF). Tesseract
//! reads some of them as punctuation or accents. Only ink that has almost no other ink around it
//! goes: the dot of an `i`, a period or a diacritic is several pixels across even at 100 dpi.

use image::GrayImage;

/// Whites out every black pixel of a bilevel gray page that has at most `max_ink` black pixels
/// (itself included) in the 5×5 window around it. Returns how many pixels went.
pub fn despeckle(gray: &mut GrayImage, max_ink: u32) -> usize {
    let (w, h) = (gray.width() as usize, gray.height() as usize);
    if w < 5 || h < 5 {
        return 0;
    }
    let src = gray.as_raw().clone();
    let ink = |x: usize, y: usize| u32::from(src[y * w + x] < 128);
    // Ink per column over rows y-2..=y+2, slid down the page one row at a time.
    let mut cols: Vec<u32> = (0..w).map(|x| (0..=2).map(|yy| ink(x, yy)).sum()).collect();
    let mut removed = 0;
    let dst = gray.as_mut();
    for y in 0..h {
        if y >= 1 && y + 2 < h {
            cols.iter_mut()
                .enumerate()
                .for_each(|(x, c)| *c += ink(x, y + 2));
        }
        if y >= 3 {
            cols.iter_mut()
                .enumerate()
                .for_each(|(x, c)| *c -= ink(x, y - 3));
        }
        for x in 0..w {
            if src[y * w + x] >= 128 {
                continue;
            }
            let (x0, x1) = (x.saturating_sub(2), (x + 2).min(w - 1));
            let around: u32 = cols[x0..=x1].iter().sum();
            if around <= max_ink {
                dst[y * w + x] = 255;
                removed += 1;
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    #[test]
    fn the_sliding_window_counts_what_a_plain_5x5_count_does() {
        let g = GrayImage::from_fn(37, 23, |x, y| {
            Luma([if (x * 7 + y * 13 + x * y) % 11 < 2 {
                0
            } else {
                255
            }])
        });
        let mut expected = g.clone();
        let (w, h) = (g.width() as i64, g.height() as i64);
        for y in 0..h {
            for x in 0..w {
                let ink = |x: i64, y: i64| {
                    (0..w).contains(&x)
                        && (0..h).contains(&y)
                        && g.get_pixel(x as u32, y as u32).0[0] < 128
                };
                let around = (-2..=2)
                    .flat_map(|dy| (-2..=2).map(move |dx| (dx, dy)))
                    .filter(|&(dx, dy)| ink(x + dx, y + dy))
                    .count();
                if ink(x, y) && around <= 2 {
                    expected.put_pixel(x as u32, y as u32, Luma([255]));
                }
            }
        }
        let mut got = g.clone();
        despeckle(&mut got, 2);
        assert_eq!(got, expected);
        assert_ne!(got, g, "the pattern has specks to remove");
    }

    #[test]
    fn specks_go_and_dots_and_strokes_stay() {
        let mut g = GrayImage::from_pixel(60, 40, Luma([255]));
        // A single speck and a pair.
        g.put_pixel(5, 5, Luma([0]));
        g.put_pixel(20, 5, Luma([0]));
        g.put_pixel(21, 6, Luma([0]));
        // A 3×3 dot (an i's dot at 200 dpi) and a one-pixel-wide stroke.
        for y in 20..23 {
            for x in 10..13 {
                g.put_pixel(x, y, Luma([0]));
            }
        }
        for y in 15..35 {
            g.put_pixel(40, y, Luma([0]));
        }
        let removed = despeckle(&mut g, 2);
        assert_eq!(removed, 3);
        assert_eq!(g.get_pixel(5, 5).0[0], 255);
        assert_eq!(g.get_pixel(21, 6).0[0], 255);
        assert_eq!(g.get_pixel(11, 21).0[0], 0);
        assert!((15..35).all(|y| g.get_pixel(40, y).0[0] == 0));
    }
}
