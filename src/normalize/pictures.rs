//! Pictures and empty frames (the portrait on an ID card, a photo placeholder, a logo) are painted
//! out of the OCR copy: Tesseract reads their edges as `| |` and `EEEE`, and lets them split the
//! text beside them into columns in odd places.
//!
//! A picture is an ink component several letters tall and wide that is mostly ink; an empty frame
//! is one with nothing inside. A table or a seal ring is neither (text inside, little ink), so
//! both stay.

use image::GrayImage;

use super::Rect;
use super::ink::{Component, PaperMap};

/// A component this dense (ink over its box) is a picture.
const PICTURE_FILL: f32 = 0.35;
/// Pictures and frames are found among pixels darker than this percentage of the paper level.
pub(super) const FRAME_INK_PERCENT: u32 = 80;
/// A picture covers at most this fraction of the page: anything larger is the page itself (a
/// textured or dim background joined up at the lighter threshold).
const MAX_PAGE_FRACTION: f32 = 0.25;

/// Paints pictures and empty frames paper-white; `letter` is the x-height in pixels, and a
/// component at least `min_letters` letters tall and wide is considered. Returns their boxes.
pub fn remove_pictures(
    gray: &mut GrayImage,
    paper: &PaperMap,
    comps: &[Component],
    letter: f32,
    min_letters: f32,
) -> Vec<Rect> {
    let min = (letter * min_letters).max(8.0) as u32;
    let small = (letter / 2.0).max(2.0) as u32;
    let max_area = (gray.width() as f32 * gray.height() as f32 * MAX_PAGE_FRACTION) as u64;
    let big: Vec<&Component> = comps
        .iter()
        .filter(|c| c.x1 - c.x0 >= min && c.y1 - c.y0 >= min)
        .filter(|c| u64::from(c.x1 - c.x0) * u64::from(c.y1 - c.y0) <= max_area)
        .collect();
    let mut removed = Vec::new();
    for c in big {
        let (cw, ch) = (c.x1 - c.x0, c.y1 - c.y0);
        let fill = c.area as f32 / (cw * ch) as f32;
        let empty = || {
            !comps.iter().any(|o| {
                o.x0 > c.x0
                    && o.x1 < c.x1
                    && o.y0 > c.y0
                    && o.y1 < c.y1
                    && (o.x1 - o.x0).max(o.y1 - o.y0) >= small
            })
        };
        if fill >= PICTURE_FILL || empty() {
            removed.push(Rect::from_corners(c.x0, c.y0, c.x1, c.y1));
        }
    }
    let (w, h) = gray.dimensions();
    let pad = (letter / 8.0).ceil() as u32;
    for r in &removed {
        let (x0, y0) = (r.x.saturating_sub(pad), r.y.saturating_sub(pad));
        let (x1, y1) = ((r.x + r.w + pad).min(w), (r.y + r.h + pad).min(h));
        // The paper around it, not inside: a photo box's fill would show as a gray patch.
        let p = [(x0, y0), (x1 - 1, y0), (x0, y1 - 1), (x1 - 1, y1 - 1)]
            .iter()
            .map(|&(x, y)| paper.at(x as usize, y as usize))
            .max()
            .unwrap_or(255);
        for row in gray
            .as_mut()
            .chunks_exact_mut(w as usize)
            .take(y1 as usize)
            .skip(y0 as usize)
        {
            row[x0 as usize..x1 as usize].fill(p);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::super::ink::components;
    use super::*;
    use image::Luma;

    fn rect(img: &mut GrayImage, x0: u32, y0: u32, x1: u32, y1: u32, v: u8) {
        for y in y0..y1 {
            for x in x0..x1 {
                img.put_pixel(x, y, Luma([v]));
            }
        }
    }

    #[test]
    fn photo_frame_and_picture_go_table_and_text_stay() {
        let mut img = GrayImage::from_pixel(1200, 800, Luma([235]));
        // Empty photo frame with a gray fill.
        rect(&mut img, 50, 100, 300, 400, 40);
        rect(&mut img, 54, 104, 296, 396, 200);
        // A dark picture.
        rect(&mut img, 50, 500, 250, 700, 70);
        // A table frame with "text" inside.
        rect(&mut img, 400, 100, 1100, 500, 30);
        rect(&mut img, 403, 103, 1097, 497, 235);
        for row in 0..8 {
            for col in 0..30 {
                let (x, y) = (420 + col * 22, 120 + row * 45);
                rect(&mut img, x, y, x + 12, y + 20, 30);
            }
        }
        let before = img.clone();
        let paper = PaperMap::new(&img, 64);
        let comps = components(&img, &paper);
        let gone = remove_pictures(&mut img, &paper, &comps, 20.0, 4.0);
        assert_eq!(gone.len(), 2, "{gone:?}");
        assert_eq!(img.get_pixel(50, 100).0[0], 235);
        assert_eq!(img.get_pixel(150, 600).0[0], 235);
        // The table and its text are untouched.
        assert_eq!(img.get_pixel(400, 300), before.get_pixel(400, 300));
        assert_eq!(img.get_pixel(425, 125), before.get_pixel(425, 125));
    }
}
