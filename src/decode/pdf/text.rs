//! A page's own text layer (a typed cover letter, a form printed to PDF): its words are taken
//! from the PDF instead of OCR, exact and at once, as paperless-ngx and Docspell do.
//!
//! Read with `hayro-interpret`, the interpreter under the renderer we already use: a `Device`
//! that draws nothing receives every glyph run with the glyph's Unicode value (the font's
//! `ToUnicode`, then its encoding and glyph names) and its full transform, so the word boxes
//! land on exactly the pixel grid the page would be rendered to. `lopdf::extract_text` gives
//! text without positions, and a third parser would be one more to trust on hostile input.
//!
//! A text layer is used only when it is clearly the page's whole text; otherwise the page is
//! rendered and OCRed as before, so no text is lost silently:
//! - glyphs without a Unicode value, private-use or control characters, or letters outside
//!   Vietnamese and English (the legacy TCVN3/VNI font encodings type Vietnamese with
//!   Latin-1 symbols) are few;
//! - no text is invisible: an invisible layer is another tool's OCR of a scan, which our OCR
//!   reads afresh;
//! - images cover little of the page (a letterhead logo, a signature): a pasted scan's text
//!   is in its pixels;
//! - no annotation draws an appearance (a filled form's values live there, and the original
//!   page content copied to the output does not carry them).

use hayro::hayro_interpret::font::GlyphRun;
use hayro::hayro_interpret::hayro_cmap::BfString;
use hayro::hayro_interpret::kurbo::{Affine, BezPath, Point, Rect};
use hayro::hayro_interpret::{
    BlendMode, ClipPath, Context, Device, DrawMode, DrawProps, Image, ImageDrawProps,
    InterpreterCache, InterpreterSettings, RenderContent, SoftMask, TransformExt, interpret_page,
};
use hayro::hayro_syntax::page::Page;
use unicode_normalization::UnicodeNormalization;

use crate::domain::{BBox, Line, Word};

/// Glyphs read from one page before its text is given up on (and the page rendered).
const MAX_GLYPHS: usize = 500_000;
/// Images may cover this share of the page (summed) and the text layer still be its text.
const MAX_IMAGE_SHARE: f64 = 0.25;
/// Fewer letters than this is no text layer to trust (a page number over a drawing).
const MIN_LETTERS: usize = 10;
/// Share of glyphs that may lack a Unicode value or map to junk.
const MAX_BAD_SHARE: f64 = 0.03;

/// A page's words from its text layer, on the pixel grid of the page rendered at `dpi`.
#[derive(Debug, Clone)]
pub struct TextLayer {
    pub words: Vec<Word>,
    pub lines: Vec<Line>,
    pub width: u32,
    pub height: u32,
    pub dpi: f32,
}

/// Why a page's text layer is not used.
#[derive(Debug)]
pub(super) struct Rejected {
    pub reason: &'static str,
    /// The page draws text of any kind: its original content would put that text in the
    /// output PDF beside our OCR layer.
    pub has_text: bool,
    /// An image the page draws does not decode: the page cannot be shown as it is, and reading
    /// only its text would lose what the image holds without a word.
    pub broken_image: bool,
}

/// One glyph on the pixel grid (y down); while words are laid out, a word grown from glyphs.
#[derive(Clone)]
struct Glyph {
    text: String,
    x0: f64,
    x1: f64,
    top: f64,
    bottom: f64,
    baseline: f64,
    size: f64,
}

#[derive(Default)]
struct Collector {
    glyphs: Vec<Glyph>,
    /// Glyphs with no Unicode value, or one that is junk.
    bad: usize,
    invisible: usize,
    image_area: f64,
    /// Images whose data does not decode.
    broken_images: usize,
    overflow: bool,
    /// Glyph count and first origin of the last filled run.
    last_fill: Option<(usize, Point)>,
}

/// Reads page text with the transform `scale` (pixels per point) the renderer would use.
pub(super) fn read(
    page: &Page<'_>,
    scale: f32,
    width: u32,
    height: u32,
    dpi: f32,
) -> Result<TextLayer, Rejected> {
    let settings = InterpreterSettings {
        render_content: RenderContent::PAGE,
        ..InterpreterSettings::default()
    };
    let transform = Affine::scale(f64::from(scale)) * page.initial_transform(true).to_kurbo();
    let cache = InterpreterCache::new();
    let bounds = Rect::new(0.0, 0.0, f64::from(width), f64::from(height));
    let mut ctx = Context::new(transform, bounds, &cache, page.xref(), settings);
    let mut c = Collector::default();
    interpret_page(page, &mut ctx, &mut c);
    let has_text = !c.glyphs.is_empty() || c.invisible > 0 || c.bad > 0;
    let broken_image = c.broken_images > 0;
    let reject = |reason| {
        Err(Rejected {
            reason,
            has_text,
            broken_image,
        })
    };
    if broken_image {
        return reject("an image of the page does not decode");
    }
    if has_annotation_appearances(page) {
        return reject("annotations draw on the page (form field values?)");
    }
    if c.overflow {
        return reject("too many glyphs");
    }
    if c.invisible > 0 {
        return reject("it has invisible text (another tool's OCR layer)");
    }
    if c.image_area > MAX_IMAGE_SHARE * f64::from(width) * f64::from(height) {
        return reject("images cover much of the page");
    }
    let letters: usize = c
        .glyphs
        .iter()
        .map(|g| g.text.chars().filter(|ch| ch.is_alphanumeric()).count())
        .sum();
    if letters < MIN_LETTERS {
        return reject("too little text");
    }
    let total = c.glyphs.len() + c.bad;
    if c.bad as f64 > MAX_BAD_SHARE * total as f64 {
        return reject("its fonts do not map to Unicode (or to a legacy encoding)");
    }
    let (words, lines) = layout(&c.glyphs, width, height);
    Ok(TextLayer {
        words,
        lines,
        width,
        height,
        dpi,
    })
}

fn has_annotation_appearances(page: &Page<'_>) -> bool {
    use hayro::hayro_syntax::object::{Array, Dict, Name};
    let Some(annots) = page.raw().get::<Array<'_>>(b"Annots".as_slice()) else {
        return false;
    };
    annots.iter::<Dict<'_>>().any(|a| {
        let link = a
            .get::<Name<'_>>(b"Subtype".as_slice())
            .is_some_and(|s| s.as_ref() == b"Link");
        !link && a.contains_key(b"AP".as_slice())
    })
}

/// A character that no sound text layer of a Vietnamese or English page shows: what fonts
/// without a Unicode map, and the legacy Vietnamese encodings, give.
fn junk(ch: char) -> bool {
    if ch.is_ascii() {
        return ch.is_ascii_control() && !ch.is_ascii_whitespace();
    }
    let c = ch as u32;
    match c {
        // Latin-1: the letters Vietnamese uses are fine; its symbols and the other letters
        // (ä, ë, ø, ¸, µ…) are what TCVN3 and VNI text reads as.
        0x80..=0xFF => !"ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúý°«»×–".contains(ch),
        // ă Ă đ Đ ĩ Ĩ ũ Ũ ơ Ơ ư Ư
        0x100..=0x1B0 => !matches!(
            c,
            0x102
                | 0x103
                | 0x110
                | 0x111
                | 0x128
                | 0x129
                | 0x168
                | 0x169
                | 0x1A0
                | 0x1A1
                | 0x1AF
                | 0x1B0
        ),
        // Combining diacritics (composed below), Vietnamese precomposed letters,
        // punctuation, currency, letterlike symbols, arrows, box drawing, bullets.
        0x300..=0x323 | 0x1EA0..=0x1EF9 | 0x2000..=0x206F | 0x20A0..=0x20BF => false,
        0x2100..=0x21FF | 0x2500..=0x25FF => false,
        // Private use, replacement character, noncharacters.
        0xE000..=0xF8FF | 0xFFFD.. => true,
        // Other scripts (a Chinese or Russian name in a letter) are not junk by themselves.
        _ => ch.is_control(),
    }
}

impl<'a> Device<'a> for Collector {
    fn draw_path(&mut self, _: &BezPath, _: DrawProps<'a>, _: &DrawMode) {}
    fn push_clip_path(&mut self, _: &ClipPath) {}
    fn push_transparency_group(&mut self, _: f32, _: Option<SoftMask<'a>>, _: BlendMode) {}
    fn pop_clip(&mut self) {}
    fn pop_transparency_group(&mut self) {}

    fn draw_image(&mut self, image: Image<'a, '_>, props: ImageDrawProps<'a>) {
        // The transform places the image's pixels; their box on the grid.
        let (w, h) = (f64::from(image.width()), f64::from(image.height()));
        let r = props
            .transform
            .transform_rect_bbox(Rect::new(0.0, 0.0, w, h));
        self.image_area += r.area().abs();
        // Decoded small (decoders that can, decode less): only whether it decodes matters here.
        let mut ok = false;
        match &image {
            Image::Raster(r) => r.with_rgba(|_, _| ok = true, Some((32, 32))),
            Image::Stencil(s) => s.with_stencil(|_, _| ok = true, Some((32, 32))),
        }
        if !ok {
            self.broken_images += 1;
        }
    }

    fn draw_glyph_run(&mut self, run: &GlyphRun<'_, 'a>, props: DrawProps<'a>, mode: &DrawMode) {
        if matches!(mode, DrawMode::Invisible) {
            self.invisible += run.glyphs().len();
            return;
        }
        // Fill-and-stroke text comes as a fill and then a stroke of the same run: read once.
        let first = run
            .glyphs()
            .first()
            .map(|g| props.transform * g.transform() * Point::ZERO);
        let key = first.map(|p| (run.glyphs().len(), p));
        let again = matches!(mode, DrawMode::Stroke(_)) && key.is_some() && key == self.last_fill;
        self.last_fill = if matches!(mode, DrawMode::Fill(_)) {
            key
        } else {
            None
        };
        if again {
            return;
        }
        for g in run.glyphs() {
            if self.glyphs.len() + self.bad >= MAX_GLYPHS {
                self.overflow = true;
                return;
            }
            let text = match g.as_unicode() {
                Some(BfString::Char(c)) => c.to_string(),
                Some(BfString::String(s)) => s,
                None => {
                    self.bad += 1;
                    continue;
                }
            };
            if text.chars().any(junk) {
                self.bad += 1;
                continue;
            }
            let m = props.transform * g.transform();
            // Glyph space is 1000 units an em; a glyph's box runs from its descent to its
            // ascent (about -0.2 and 0.8 em) and across its advance.
            let advance = match &**g {
                hayro::hayro_interpret::font::Glyph::Outline(o) => o.advance_width(),
                hayro::hayro_interpret::font::Glyph::Type3(t) => t.advance_width(),
            }
            .filter(|a| a.is_finite() && *a > 0.0)
            .unwrap_or(500.0);
            let bbox = m.transform_rect_bbox(Rect::new(0.0, -200.0, f64::from(advance), 800.0));
            let origin = m * Point::ZERO;
            let up = m * Point::new(0.0, 1000.0) - origin;
            let size = up.hypot();
            if !(bbox.is_finite() && size.is_finite() && size > 0.0) {
                self.bad += 1;
                continue;
            }
            self.glyphs.push(Glyph {
                text,
                x0: bbox.x0,
                x1: bbox.x1,
                top: bbox.y0,
                bottom: bbox.y1,
                baseline: origin.y,
                size,
            });
        }
    }
}

/// Glyphs → words (split at spaces and at gaps a space wide) → lines (words sharing a
/// baseline, top to bottom, left to right) → blocks (lines apart by more than a line).
fn layout(glyphs: &[Glyph], width: u32, height: u32) -> (Vec<Word>, Vec<Line>) {
    let mut drafts: Vec<Glyph> = Vec::new();
    let mut open = false;
    for g in glyphs {
        if g.text.chars().all(char::is_whitespace) {
            open = false;
            continue;
        }
        if open && let Some(d) = drafts.last_mut() {
            let same_line = (g.baseline - d.baseline).abs() < 0.3 * d.size.max(g.size);
            let gap = g.x0 - d.x1;
            // Kerning pulls letters together a little; a space is about a quarter em.
            if same_line && gap < 0.15 * g.size && g.x0 > d.x0 - 0.2 * g.size {
                d.text.push_str(&g.text);
                d.x1 = d.x1.max(g.x1);
                d.top = d.top.min(g.top);
                d.bottom = d.bottom.max(g.bottom);
                continue;
            }
        }
        drafts.push(g.clone());
        open = true;
    }
    drafts.sort_by(|a, b| a.baseline.total_cmp(&b.baseline));
    let mut rows: Vec<Vec<Glyph>> = Vec::new();
    for d in drafts {
        match rows.last_mut() {
            Some(row) if (d.baseline - row[0].baseline).abs() < 0.4 * row[0].size.max(d.size) => {
                row.push(d)
            }
            _ => rows.push(vec![d]),
        }
    }
    let clamp = |v: f64, max: u32| (v.max(0.0) as u32).min(max);
    // Edges round outwards, forgiving float noise (72 pt at 300 dpi is 299.99999 px).
    let (lo, hi) = (|v: f64| (v + 1e-3).floor(), |v: f64| (v - 1e-3).ceil());
    let mut words = Vec::new();
    let mut lines: Vec<Line> = Vec::new();
    let mut block = 0;
    let mut last_bottom: Option<(f64, f64)> = None;
    for mut row in rows {
        row.sort_by(|a, b| a.x0.total_cmp(&b.x0));
        let top = row.iter().map(|d| d.top).fold(f64::MAX, f64::min);
        let bottom = row.iter().map(|d| d.bottom).fold(f64::MIN, f64::max);
        if let Some((prev, h)) = last_bottom
            && top - prev > h
        {
            block += 1;
        }
        last_bottom = Some((bottom, bottom - top));
        let line = lines.len() as u32;
        let baseline = row[0].baseline as f32;
        let (mut lx0, mut lx1) = (u32::MAX, 0);
        for d in row {
            let x0 = clamp(lo(d.x0), width.saturating_sub(1));
            let bbox = BBox {
                x0,
                y0: clamp(lo(d.top), height.saturating_sub(1)),
                x1: clamp(hi(d.x1), width).max(x0 + 1),
                y1: clamp(hi(d.bottom), height).max(1),
            };
            (lx0, lx1) = (lx0.min(bbox.x0), lx1.max(bbox.x1));
            words.push(Word {
                text: d.text.nfc().collect(),
                bbox,
                confidence: 100.0,
                line,
            });
        }
        lines.push(Line {
            bbox: BBox {
                x0: lx0,
                y0: clamp(lo(top), height.saturating_sub(1)),
                x1: lx1,
                y1: clamp(hi(bottom), height).max(1),
            },
            block,
            baseline: [lx0 as f32, baseline, lx1 as f32, baseline],
        });
    }
    (words, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glyph(text: &str, x0: f64, baseline: f64) -> Glyph {
        Glyph {
            text: text.into(),
            x0,
            x1: x0 + 20.0,
            top: baseline - 32.0,
            bottom: baseline + 8.0,
            baseline,
            size: 40.0,
        }
    }

    #[test]
    fn glyphs_make_words_lines_and_blocks() {
        // "Kí" "nh" kerned together, a gap of a space, then the next line, then a paragraph.
        let g = [
            glyph("K", 100.0, 200.0),
            glyph("í", 119.0, 200.0),
            glyph("nh", 139.0, 200.0),
            glyph("g", 175.0, 200.0),
            glyph("ử", 195.0, 200.0),
            glyph("i", 215.0, 200.0),
            glyph("x", 100.0, 250.0),
            glyph(" ", 120.0, 250.0),
            glyph("y", 140.0, 250.0),
            glyph("z", 100.0, 400.0),
        ];
        let (words, lines) = layout(&g, 1000, 1000);
        let text: Vec<_> = words.iter().map(|w| (w.text.as_str(), w.line)).collect();
        assert_eq!(
            text,
            [("Kính", 0), ("gửi", 0), ("x", 1), ("y", 1), ("z", 2)]
        );
        assert_eq!(lines.iter().map(|l| l.block).collect::<Vec<_>>(), [0, 0, 1]);
        assert_eq!(words[0].bbox.x0, 100);
        assert_eq!(words[0].bbox.y0, 168);
        assert_eq!(lines[0].baseline[1], 200.0);
    }

    #[test]
    fn legacy_encodings_and_private_use_are_junk_vietnamese_is_not() {
        for ch in "Kính gửi: Ủy ban nhân dân xã Đông Hòa, ngày 12/3/2024 – “số” 1€".chars()
        {
            assert!(!junk(ch), "{ch:?}");
        }
        // "Kính gửi" in TCVN3 shown with a Latin-1 font, and a symbol font's private use area.
        for ch in ['¸', 'ö', 'µ', '\u{F021}', '\u{FFFD}', '\u{1}'] {
            assert!(junk(ch), "{ch:?}");
        }
    }
}
