//! Page normalization before OCR. This first version applies EXIF/TIFF orientation, converts to
//! gray, scales the OCR copy so text sits in Tesseract's good range, paints dotted leaders out of
//! it, detects blank pages, levels skewed pages, and turns pages upright once orientation is known.
//! The page image kept for the PDF is never resampled or painted on, only levelled and turned
//! along with the OCR copy.

use std::time::Instant;

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::metadata::Orientation;
use image::{DynamicImage, GrayImage};

use crate::config::NormalizeConfig;
use crate::decode::{DecodedPage, Passthrough};
use crate::domain::DpiSource;

mod border;
mod deskew;
mod dropout;
mod ink;
mod light;
mod pictures;
mod speckle;
pub use speckle::despeckle;
mod xheight;
pub use border::{PageArea, find_page};
pub use dropout::drop_colour_marks;
pub use light::{flatten_lighting, sauvola};
pub use xheight::{LineVotes, TextHeight, measure_x_height, measure_x_height_below};
mod leaders;
pub use deskew::{Skew, estimate_skew, level_display, level_gray};
pub use leaders::remove_dotted_leaders;

/// A page ready for OCR and rendering.
pub struct Normalized {
    /// The upright page image that goes into the PDF.
    pub display: DynamicImage,
    /// Still-compressed original, when `display` is exactly the decoded image.
    pub passthrough: Option<Passthrough>,
    pub bilevel: bool,
    /// Resolution of `display`.
    pub dpi: f32,
    pub dpi_source: DpiSource,
    /// Gray copy for Tesseract at `ocr_dpi`.
    pub ocr_image: GrayImage,
    pub ocr_dpi: f32,
    /// x-height of the text on `ocr_image`, pixels, when the page had enough text to measure it.
    pub x_height: Option<f32>,
    /// Letter-shaped ink components found on the page: how much text it seems to carry.
    pub letters: usize,
    /// The page has text whose lines do not clearly run left to right, right way up: worth an
    /// orientation check before it is read.
    pub suspect_orientation: bool,
    /// `display` pixels per `ocr_image` pixel, to map word boxes back.
    pub ocr_to_display: f64,
    /// Clockwise degrees the delivered page was turned from upright (it is upright now).
    pub orientation: u16,
    /// Degrees the page was skewed and levelled by (clockwise: lines descended to the right);
    /// 0 when it was left as it is.
    pub skew: f32,
    pub blank: bool,
    /// Dots of dotted leaders painted out of `ocr_image`.
    pub leader_dots: usize,
    /// The page's box in the image as delivered (after EXIF orientation), when a scanner-lid
    /// border or the desk around a photo was cut off.
    pub crop: Option<Rect>,
    /// Seals and signatures dropped from the OCR copy by their colour (`display` pixels).
    pub colour_marks: Vec<Rect>,
    /// Pictures and empty frames painted out of the OCR copy (`ocr_image` pixels).
    pub pictures: Vec<Rect>,
    /// Uneven lighting was flattened on the OCR copy.
    pub flattened: bool,
    /// Isolated black pixels (fax line noise) whited out of a bilevel page's OCR copy.
    pub specks: usize,
    /// The OCR copy was binarized (Sauvola).
    pub binarized: bool,
    pub normalize_ms: f64,
}

/// A box in pixels: `x..x + w` by `y..y + h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl Rect {
    pub fn from_corners(x0: u32, y0: u32, x1: u32, y1: u32) -> Rect {
        Rect {
            x: x0,
            y: y0,
            w: x1.saturating_sub(x0),
            h: y1.saturating_sub(y0),
        }
    }
}

pub fn normalize(page: DecodedPage, cfg: &NormalizeConfig) -> Normalized {
    let started = Instant::now();
    let DecodedPage {
        mut image,
        dpi,
        ydpi,
        orientation,
        bilevel,
        mut passthrough,
        ..
    } = page;
    if orientation != Orientation::NoTransforms {
        image.apply_orientation(orientation);
        passthrough = None;
    }
    // EXIF says how to turn the stored image for viewing; the page was turned the other way.
    let exif_cw: u16 = match orientation {
        Orientation::Rotate90 | Orientation::Rotate90FlipH => 90,
        Orientation::Rotate180 => 180,
        Orientation::Rotate270 | Orientation::Rotate270FlipH => 270,
        _ => 0,
    };
    // Non-square pixels (a standard-resolution fax) are made square first, so every later step,
    // Tesseract and the PDF see the page at its true aspect. The stated resolutions belong to the
    // stored image: a quarter turn swaps them.
    let mut dpi = dpi;
    if let (Some(x), Some(y)) = (dpi, ydpi) {
        let (across, down) = if exif_cw % 180 == 90 { (y, x) } else { (x, y) };
        let (square, d) = square_pixels(&image, across, down, bilevel);
        (image, dpi, passthrough) = (square, Some(d), None);
    }
    let (w, h) = (image.width(), image.height());
    let (dpi, dpi_source) = match dpi {
        Some(d) => (d, DpiSource::File),
        None => (estimate_dpi(w, h, cfg), DpiSource::Estimated),
    };
    let mut gray = to_gray(&image);
    let specks = if cfg.despeckle && bilevel {
        despeckle(&mut gray, 2)
    } else {
        0
    };
    let mut crop = None;
    if cfg.find_page
        && let Some(page) = find_page(&gray)
    {
        let c = page.crop;
        if (c.w, c.h) != (w, h) {
            image = image.crop_imm(c.x, c.y, c.w, c.h);
            gray = image::imageops::crop_imm(&gray, c.x, c.y, c.w, c.h).to_image();
            passthrough = None;
            crop = Some(c);
        }
        page.paint(&mut gray, 1.0);
    }
    let (w, h) = (image.width(), image.height());
    let tile = (w.min(h) as usize / 40).max(16);
    let x_height = match dpi_source {
        DpiSource::File => {
            measure_x_height_below(&gray, tile, (dpi * cfg.max_letter_inches).ceil() as u32)
        }
        DpiSource::Estimated => measure_x_height(&gray, tile),
    };
    // Letter size for the steps that tell marks from text, measured or guessed from the DPI.
    let letter = x_height.map_or(dpi * 20.0 / 300.0, |x| x.x_height);
    let colour_marks = if cfg.drop_colour_marks {
        drop_colour_marks(&image, &mut gray, cfg.colour_chroma, letter, 8.0, 3.0)
    } else {
        Vec::new()
    };
    let flattened = cfg.flatten_light
        && flatten_lighting(
            &mut gray,
            ((letter * 4.0) as usize).max(32),
            cfg.uneven_light,
        );
    let ratio = ocr_scale(x_height, dpi, dpi_source, cfg);
    let (mut ocr_image, ocr_dpi) = if ratio == 1.0 {
        (gray, dpi)
    } else {
        let nw = ((w as f32 * ratio).round() as u32).max(1);
        let nh = ((h as f32 * ratio).round() as u32).max(1);
        (resize(&gray, nw, nh), dpi * ratio)
    };
    // Blankness is judged on the page as delivered: a page of nothing but leaders is an empty
    // form, not a blank back.
    let blank = is_blank(&ocr_image, cfg.blank_max_ink);
    let mut skew = 0.0;
    if cfg.deskew
        && !blank
        && let Some(s) = estimate_skew(&ocr_image, ocr_dpi, cfg.max_skew_deg)
        && s.degrees.abs() >= cfg.min_skew_deg
    {
        skew = s.degrees;
        ocr_image = deskew::level_gray(&ocr_image, skew);
        image = deskew::level_display(&image, skew, bilevel);
        passthrough = None;
    }
    let (leader_dots, pictures) = if blank {
        (0, Vec::new())
    } else {
        clean_marks(&mut ocr_image, ocr_dpi, letter * ratio, cfg)
    };
    let binarized = cfg.binarize && !blank;
    if binarized {
        let window = ((letter * ratio * cfg.binarize_window_letters) as u32) | 1;
        ocr_image = sauvola(&ocr_image, window.max(15), cfg.binarize_k);
    }
    Normalized {
        ocr_to_display: f64::from(w) / f64::from(ocr_image.width()),
        display: image,
        passthrough,
        bilevel,
        dpi,
        dpi_source,
        ocr_image,
        ocr_dpi,
        orientation: (360 - exif_cw) % 360,
        x_height: x_height.map(|x| x.x_height * ratio),
        letters: x_height.map_or(0, |x| x.letters),
        suspect_orientation: x_height.is_some_and(|x| !x.votes.upright()),
        skew,
        blank,
        leader_dots,
        crop,
        colour_marks,
        pictures,
        flattened,
        specks,
        binarized,
        normalize_ms: started.elapsed().as_secs_f64() * 1e3,
    }
}

/// Paints dotted leaders and pictures (as configured) out of an OCR copy at `dpi` whose x-height
/// is `letter`; one pass over the ink serves both. Returns the dots and the pictures' boxes.
pub fn clean_marks(
    ocr: &mut GrayImage,
    dpi: f32,
    letter: f32,
    cfg: &NormalizeConfig,
) -> (usize, Vec<Rect>) {
    if !cfg.remove_leaders && !cfg.remove_pictures {
        return (0, Vec::new());
    }
    let paper = leaders::paper_map(ocr, dpi);
    let comps = ink::components(ocr, &paper);
    let dots = if cfg.remove_leaders {
        leaders::paint_leaders(ocr, &paper, &comps, dpi)
    } else {
        0
    };
    let pictures = if cfg.remove_pictures {
        // Frames are often drawn in light gray, too light to be ink: looked for with a lighter
        // threshold than text.
        let light = ink::components_darker(ocr, &paper, pictures::FRAME_INK_PERCENT);
        pictures::remove_pictures(ocr, &paper, &light, letter, cfg.picture_min_letters)
    } else {
        Vec::new()
    };
    (dots, pictures)
}

impl Normalized {
    /// The page turned `cw` degrees clockwise (90, 180 or 270): both images turn, the original
    /// encoding no longer applies, and `orientation` accounts for the turn.
    pub fn turned(&self, cw: u16) -> Normalized {
        let display = match cw {
            90 => self.display.rotate90(),
            180 => self.display.rotate180(),
            270 => self.display.rotate270(),
            _ => self.display.clone(),
        };
        let ocr_image = match cw {
            90 => image::imageops::rotate90(&self.ocr_image),
            180 => image::imageops::rotate180(&self.ocr_image),
            270 => image::imageops::rotate270(&self.ocr_image),
            _ => self.ocr_image.clone(),
        };
        Normalized {
            ocr_to_display: f64::from(display.width()) / f64::from(ocr_image.width()),
            display,
            passthrough: if cw.is_multiple_of(360) {
                self.passthrough.clone()
            } else {
                None
            },
            bilevel: self.bilevel,
            dpi: self.dpi,
            dpi_source: self.dpi_source,
            ocr_image,
            ocr_dpi: self.ocr_dpi,
            x_height: self.x_height,
            letters: self.letters,
            suspect_orientation: self.suspect_orientation,
            orientation: (self.orientation + 360 - cw % 360) % 360,
            skew: self.skew,
            blank: self.blank,
            leader_dots: self.leader_dots,
            crop: self.crop,
            colour_marks: self.colour_marks.clone(),
            pictures: self.pictures.clone(),
            flattened: self.flattened,
            specks: self.specks,
            binarized: self.binarized,
            normalize_ms: self.normalize_ms,
        }
    }

    /// A smaller gray copy for orientation detection, which needs glyph shapes, not detail.
    pub fn orientation_probe(&self, dpi: f32) -> (GrayImage, f32) {
        let f = (dpi / self.ocr_dpi).min(1.0);
        let (w, h) = (
            (self.ocr_image.width() as f32 * f) as u32,
            (self.ocr_image.height() as f32 * f) as u32,
        );
        if f >= 1.0 || w == 0 || h == 0 {
            return (self.ocr_image.clone(), self.ocr_dpi);
        }
        (resize(&self.ocr_image, w, h), self.ocr_dpi * f)
    }
}

/// Luma of a page. RGB goes through integer Rec. 709 weights on whole rows, several times faster
/// than `image`'s per-pixel conversion (which is the same formula in floating point).
pub fn to_gray(image: &DynamicImage) -> GrayImage {
    match image {
        DynamicImage::ImageLuma8(g) => g.clone(),
        DynamicImage::ImageRgb8(rgb) => {
            let (w, h) = rgb.dimensions();
            let luma = rgb
                .as_raw()
                .chunks_exact(3)
                .map(|p| {
                    ((u32::from(p[0]) * 13933
                        + u32::from(p[1]) * 46871
                        + u32::from(p[2]) * 4732
                        + 32768)
                        >> 16) as u8
                })
                .collect();
            GrayImage::from_raw(w, h, luma).expect("one byte per pixel")
        }
        other => other.to_luma8(),
    }
}

/// Blank (or duplex back with bleed-through): almost no pixel in the central area is much darker
/// than the paper. The margins are ignored because scanner lids and punch holes leave dark marks
/// there. Conservative by design: a page wrongly called blank would lose its text.
pub fn is_blank(gray: &GrayImage, max_ink: f32) -> bool {
    let (w, h) = (gray.width() as usize, gray.height() as usize);
    let (x0, x1) = (w * 8 / 100, w * 92 / 100);
    // A line typed in the top or bottom margin (a note on an otherwise empty page, a footer) is
    // ink too; the outer 3 % (lid edges, punch holes) and the side margins still are not.
    [
        (h * 8 / 100, h * 92 / 100),
        (h * 3 / 100, h * 8 / 100),
        (h * 92 / 100, h * 97 / 100),
    ]
    .into_iter()
    .all(|(y0, y1)| blank_within(gray, max_ink, (x0, x1), (y0, y1)))
}

/// Almost no pixel of `x0..x1` × `y0..y1` is much darker than the paper.
fn blank_within(gray: &GrayImage, max_ink: f32, xs: (usize, usize), ys: (usize, usize)) -> bool {
    let w = gray.width() as usize;
    let ((x0, x1), (y0, y1)) = (xs, ys);
    if x1 <= x0 || y1 <= y0 {
        return false;
    }
    let mut hist = [0u32; 256];
    for row in gray.as_raw().chunks_exact(w).skip(y0).take(y1 - y0) {
        for &v in &row[x0..x1] {
            hist[v as usize] += 1;
        }
    }
    let total: u64 = hist.iter().map(|&c| u64::from(c)).sum();
    let Some(paper) = paper_level(&hist) else {
        return false;
    };
    let ink: u64 = hist[..usize::from(paper).saturating_sub(100)]
        .iter()
        .map(|&c| u64::from(c))
        .sum();
    (ink as f64) < f64::from(max_ink) * total as f64
}

/// The paper of an image: the 90th percentile of its brightness.
pub fn paper_of(gray: &GrayImage) -> Option<u8> {
    let mut hist = [0u32; 256];
    for &v in gray.as_raw() {
        hist[v as usize] += 1;
    }
    paper_level(&hist)
}

/// The paper of a page or tile: the 90th percentile of brightness.
fn paper_level(hist: &[u32; 256]) -> Option<u8> {
    let total: u64 = hist.iter().map(|&c| u64::from(c)).sum();
    let mut acc = 0u64;
    (0..=255u8).rev().find(|&v| {
        acc += u64::from(hist[v as usize]);
        acc * 10 >= total && total > 0
    })
}

/// How much the OCR copy is scaled: the measured x-height into its band, or else the resolution
/// to `ocr_dpi`. 1.0 exactly when the page is left as it is. The measured scale is bounded by the
/// resolution's: whatever threw the measurement off, text never leaves Tesseract's range by more
/// than that factor.
fn ocr_scale(
    x_height: Option<TextHeight>,
    dpi: f32,
    source: DpiSource,
    cfg: &NormalizeConfig,
) -> f32 {
    let by_dpi = cfg.ocr_dpi / dpi;
    let factor = match source {
        DpiSource::File => cfg.max_scale_vs_dpi,
        DpiSource::Estimated => cfg.max_scale_vs_estimated_dpi,
    };
    let (lo, hi) = (by_dpi / factor, by_dpi * factor);
    match x_height {
        // `max`/`min`, not `clamp`: no panic whatever the configuration says.
        Some(t) if (cfg.x_height_min..=cfg.x_height_max).contains(&t.x_height) => {
            1.0f32.max(lo).min(hi)
        }
        Some(t) => (cfg.x_height_target / t.x_height).max(lo).min(hi),
        None if (by_dpi - 1.0).abs() <= cfg.dpi_tolerance => 1.0,
        None => by_dpi,
    }
}

/// `image` whose pixels are `across` × `down` dpi, resampled along its coarser axis to the finer
/// resolution, and that resolution. Bilevel pages repeat whole rows or columns (nearest
/// neighbour), so they stay bilevel and lose nothing.
pub fn square_pixels(
    image: &DynamicImage,
    across: f32,
    down: f32,
    bilevel: bool,
) -> (DynamicImage, f32) {
    let (w, h) = (image.width(), image.height());
    let dpi = across.max(down);
    let nw = ((w as f32 * dpi / across).round() as u32).max(1);
    let nh = ((h as f32 * dpi / down).round() as u32).max(1);
    if (nw, nh) == (w, h) {
        return (image.clone(), dpi);
    }
    let filter = if bilevel {
        image::imageops::FilterType::Nearest
    } else {
        image::imageops::FilterType::Triangle
    };
    (image.resize_exact(nw, nh, filter), dpi)
}

/// Without a stated resolution, assume the long side is that of A4 (11.69 in): the common case
/// for scanned and photographed dossier pages.
fn estimate_dpi(w: u32, h: u32, cfg: &NormalizeConfig) -> f32 {
    let guess = w.max(h) as f32 / 11.69;
    if (100.0..=1200.0).contains(&guess) {
        guess
    } else {
        cfg.fallback_dpi
    }
}

/// SIMD resize (fast_image_resize); Catmull-Rom keeps glyph edges sharp when upscaling.
pub fn resize(src: &GrayImage, width: u32, height: u32) -> GrayImage {
    resize_with(src, width, height, FilterType::CatmullRom)
}

/// SIMD gray resize with the given convolution filter.
pub fn resize_with(src: &GrayImage, width: u32, height: u32, filter: FilterType) -> GrayImage {
    let mut dst = GrayImage::new(width, height);
    let opts = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(filter));
    Resizer::new()
        .resize(src, &mut dst, &opts)
        .expect("gray to gray resize of non-empty images cannot fail");
    dst
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gradient test pages are dark at their left edge: no page finding on them.
    fn plain() -> NormalizeConfig {
        NormalizeConfig {
            find_page: false,
            ..NormalizeConfig::default()
        }
    }

    fn page(w: u32, h: u32, dpi: Option<f32>, orientation: Orientation) -> DecodedPage {
        DecodedPage {
            image: DynamicImage::ImageLuma8(GrayImage::from_fn(w, h, |x, _| {
                image::Luma([(x % 256) as u8])
            })),
            dpi,
            ydpi: None,
            orientation,
            bilevel: false,
            passthrough: None,
            text_layer: None,
            original: None,
            decode_ms: 0.0,
        }
    }

    #[test]
    fn standard_fax_pixels_are_made_square() {
        // 200 × 100 dpi: each stored row stands for two rows of paper.
        let mut fax = page(400, 300, Some(200.0), Orientation::NoTransforms);
        fax.ydpi = Some(100.0);
        fax.bilevel = true;
        fax.image = DynamicImage::ImageLuma8(GrayImage::from_fn(400, 300, |_, y| {
            image::Luma([if y % 3 == 0 { 0 } else { 255 }])
        }));
        let n = normalize(fax, &plain());
        assert_eq!((n.display.width(), n.display.height()), (400, 600));
        assert_eq!(n.dpi, 200.0);
        assert!(n.bilevel);
        let g = n.display.to_luma8();
        assert!(g.pixels().all(|p| p.0[0] == 0 || p.0[0] == 255));
        // Row 0 (black) became rows 0 and 1.
        assert_eq!((g.get_pixel(5, 0).0[0], g.get_pixel(5, 1).0[0]), (0, 0));
        assert_eq!(g.get_pixel(5, 2).0[0], 255);

        // Turned a quarter by its orientation tag, the vertical resolution is now across.
        let mut turned = page(400, 300, Some(200.0), Orientation::Rotate90);
        turned.ydpi = Some(100.0);
        let n = normalize(turned, &plain());
        assert_eq!((n.display.width(), n.display.height()), (600, 400));
        assert_eq!(n.dpi, 200.0);
    }

    #[test]
    fn turning_rotates_both_images_and_drops_passthrough() {
        let mut p = page(300, 200, Some(150.0), Orientation::NoTransforms);
        p.passthrough = Some(Passthrough::Png {
            idat: vec![1],
            colors: 1,
            bits: 8,
        });
        let n = normalize(p.clone(), &plain());
        assert!(n.passthrough.is_some());
        // Found turned 90° clockwise: turn it 270° more.
        let t = n.turned(270);
        assert_eq!(t.orientation, 90);
        assert_eq!((t.display.width(), t.display.height()), (200, 300));
        assert_eq!((t.ocr_image.width(), t.ocr_image.height()), (400, 600));
        assert!((t.ocr_to_display - 0.5).abs() < 1e-9);
        assert!(t.passthrough.is_none());
        // The top-left pixel of a page turned 270° clockwise ends bottom-left.
        assert_eq!(
            t.display.to_luma8().get_pixel(0, 299).0,
            p.image.to_luma8().get_pixel(0, 0).0
        );
        let (probe, dpi) = n.orientation_probe(150.0);
        assert_eq!((probe.width(), dpi), (300, 150.0));
    }

    #[test]
    fn low_resolution_is_scaled_up_for_ocr_only() {
        let n = normalize(
            page(200, 100, Some(150.0), Orientation::NoTransforms),
            &plain(),
        );
        assert_eq!(
            (n.display.width(), n.ocr_image.width(), n.ocr_image.height()),
            (200, 400, 200)
        );
        assert_eq!(n.ocr_dpi, 300.0);
        assert!((n.ocr_to_display - 0.5).abs() < 1e-9);
    }

    #[test]
    fn near_target_resolution_is_left_alone() {
        let n = normalize(
            page(200, 100, Some(280.0), Orientation::NoTransforms),
            &plain(),
        );
        assert_eq!(n.ocr_image.width(), 200);
        assert_eq!(n.dpi_source, DpiSource::File);
    }

    #[test]
    fn exif_rotation_is_applied_and_drops_passthrough() {
        let mut p = page(200, 100, Some(300.0), Orientation::Rotate90);
        p.passthrough = Some(Passthrough::Png {
            idat: vec![1],
            colors: 1,
            bits: 8,
        });
        let n = normalize(p, &plain());
        // EXIF said "turn 90° clockwise to view": as delivered it was 270° from upright.
        assert_eq!(
            (n.display.width(), n.display.height(), n.orientation),
            (100, 200, 270)
        );
        assert!(n.passthrough.is_none());
    }

    #[test]
    fn blank_ignores_faint_bleed_through_and_margins_but_not_a_text_line() {
        let mut g = GrayImage::from_pixel(1000, 1400, image::Luma([250]));
        // faint mirrored text from the back
        for y in 300..900 {
            for x in 200..800 {
                if (x / 7 + y / 11) % 3 == 0 {
                    g.put_pixel(x, y, image::Luma([205]));
                }
            }
        }
        // dark scanner edge
        for y in 0..1400 {
            for x in 0..40 {
                g.put_pixel(x, y, image::Luma([10]));
            }
        }
        assert!(is_blank(&g, 0.0002));
        // one short line of real text
        for y in 700..712 {
            for x in 300..420 {
                if x % 4 != 0 {
                    g.put_pixel(x, y, image::Luma([30]));
                }
            }
        }
        assert!(!is_blank(&g, 0.0002));
    }

    #[test]
    fn a_line_typed_in_the_top_margin_is_not_a_blank_page() {
        let mut g = GrayImage::from_pixel(1000, 1400, image::Luma([250]));
        // A dark scanner edge all round is still ignored.
        for y in 0..1400 {
            for x in 0..1000 {
                if x < 40 || y < 35 || x >= 960 || y >= 1365 {
                    g.put_pixel(x, y, image::Luma([10]));
                }
            }
        }
        assert!(is_blank(&g, 0.0002));
        // "This is a test" at 6 % from the top, above the central area.
        for y in 84..96 {
            for x in 90..230 {
                if x % 4 != 0 {
                    g.put_pixel(x, y, image::Luma([30]));
                }
            }
        }
        assert!(!is_blank(&g, 0.0002));
    }

    #[test]
    fn skewed_page_is_levelled_and_level_page_left_untouched() {
        let level = deskew::tests::text_page();
        let png = Passthrough::Png {
            idat: vec![1],
            colors: 1,
            bits: 8,
        };
        let mut p = page(10, 10, Some(300.0), Orientation::NoTransforms);
        p.image = DynamicImage::ImageLuma8(level.clone());
        p.passthrough = Some(png.clone());
        let n = normalize(p.clone(), &plain());
        assert_eq!(n.skew, 0.0);
        assert!(n.passthrough.is_some());
        assert_eq!(n.display.as_luma8(), Some(&level));

        p.image = DynamicImage::ImageLuma8(deskew::rotate(&level, -3.0, [235, 0, 0, 0]));
        let n = normalize(p.clone(), &plain());
        assert!((n.skew - 3.0).abs() < 0.2, "{}", n.skew);
        assert!(n.passthrough.is_none());
        assert_eq!((n.display.width(), n.display.height()), (2480, 3508));
        let again = estimate_skew(&n.ocr_image, n.ocr_dpi, 10.0).unwrap();
        assert!(again.degrees.abs() < 0.2, "{again:?}");

        let off = NormalizeConfig {
            deskew: false,
            ..NormalizeConfig::default()
        };
        let n = normalize(p, &off);
        assert_eq!(n.skew, 0.0);
        assert!(n.passthrough.is_some());
    }

    #[test]
    fn text_is_scaled_by_its_measured_size_not_the_stated_resolution() {
        let cfg = NormalizeConfig {
            deskew: false,
            ..NormalizeConfig::default()
        };
        // Small print that claims 300 dpi: the OCR copy is enlarged to the target x-height.
        let mut p = page(10, 10, Some(300.0), Orientation::NoTransforms);
        p.image = DynamicImage::ImageLuma8(xheight::tests::letters(12, 4));
        let n = normalize(p.clone(), &cfg);
        let f = n.ocr_image.width() as f32 / 1600.0;
        assert!((f - 22.0 / 12.0).abs() < 0.2, "{f}");
        assert!((n.ocr_dpi / 300.0 - f).abs() < 0.01);
        let x = n.x_height.unwrap();
        assert!((x - cfg.x_height_target).abs() < 1.0, "{x}");
        // Text within the band is left alone, even at a resolution far from `ocr_dpi`.
        p.image = DynamicImage::ImageLuma8(xheight::tests::letters(20, 4));
        p.dpi = Some(150.0);
        let n = normalize(p, &cfg);
        assert_eq!((n.ocr_image.width(), n.ocr_dpi), (1600, 150.0));
    }

    #[test]
    fn measured_scale_stays_within_the_resolutions_bound() {
        let cfg = NormalizeConfig {
            deskew: false,
            ..NormalizeConfig::default()
        };
        // Tiny print at a stated 300 dpi would want 2.75×; the stated resolution allows 2×.
        let mut p = page(10, 10, Some(300.0), Orientation::NoTransforms);
        p.image = DynamicImage::ImageLuma8(xheight::tests::letters(8, 4));
        let n = normalize(p.clone(), &cfg);
        assert!((n.ocr_dpi - 600.0).abs() < 1.0, "{}", n.ocr_dpi);
        // Huge marks (a seal's ring, a signature) at a stated 300 dpi must not shrink the page
        // below 150 dpi, whatever they measure as.
        p.image = DynamicImage::ImageLuma8(xheight::tests::letters(70, 4));
        let n = normalize(p.clone(), &cfg);
        assert!(n.ocr_dpi >= 150.0 - 1.0, "{}", n.ocr_dpi);
        // Without a stated resolution, the bound is wider (a photographed card is no A4 page).
        p.dpi = None;
        let n = normalize(p, &cfg);
        assert!(n.ocr_dpi < 150.0, "{}", n.ocr_dpi);
    }

    #[test]
    fn fast_gray_matches_image_luma() {
        let rgb = image::RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([(x * 4) as u8, (y * 5) as u8, ((x * y) % 256) as u8])
        });
        let img = DynamicImage::ImageRgb8(rgb);
        let (a, b) = (to_gray(&img), img.to_luma8());
        assert!(
            a.pixels()
                .zip(b.pixels())
                .all(|(p, q)| p.0[0].abs_diff(q.0[0]) <= 1)
        );
    }

    #[test]
    fn unknown_dpi_is_estimated_from_a4() {
        let n = normalize(page(2480, 3508, None, Orientation::NoTransforms), &plain());
        assert_eq!(n.dpi_source, DpiSource::Estimated);
        assert!((n.dpi - 300.0).abs() < 1.0, "{}", n.dpi);
    }
}
