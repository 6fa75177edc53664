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
    // Column sums of 5 rows, slid down the page, then summed across 5 columns per pixel.
    let mut removed = 0;
    let dst = gray.as_mut();
    for y in 0..h {
        let (y0, y1) = (y.saturating_sub(2), (y + 2).min(h - 1));
        let cols: Vec<u32> = (0..w)
            .map(|x| (y0..=y1).map(|yy| ink(x, yy)).sum())
            .collect();
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
