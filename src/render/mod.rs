//! Searchable PDF: each page is its image plus an invisible text layer placed on the word boxes.
//! A PDF page that was not one scan shows its own original content instead (`original`); one
//! read from its own text layer needs no invisible layer.
//!
//! The text uses a glyphless TrueType font (Tesseract's `pdf.ttf`, Apache-2.0) as a Type0 font with
//! `Identity-H` encoding: each character is written as its 2-byte Unicode value (the CID), every CID
//! maps to the one empty glyph, and a `ToUnicode` CMap maps CIDs back to characters, so `pdftotext`
//! and pdf.js extract the Vietnamese text exactly, diacritics included.

mod image;
mod original;

use std::collections::BTreeSet;
use std::sync::Arc;

use miniz_oxide::deflate::compress_to_vec_zlib;
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, TextRenderingMode, UnicodeCmap};
use pdf_writer::{Content, Filter, Name, Pdf, Rect, Ref, Str};

pub use self::image::{Encoded, PdfImage, prepare_image};
use crate::decode::OriginalPage;
use crate::domain::{Line, Word};

const GLYPHLESS_TTF: &[u8] = include_bytes!("glyphless.ttf");
/// Advance width of the one glyph, in 1/1000 em.
const GLYPH_WIDTH: f32 = 500.0;
const FONT_NAME: Name = Name(b"GlyphLessFont");

/// What a PDF page shows.
#[derive(Debug, Clone)]
pub enum PageBody {
    /// Our page image.
    Image(PdfImage),
    /// The source PDF page's own content.
    Original(Arc<OriginalPage>),
}

/// What one PDF page needs: what it shows, the resolution of the pixel grid the words' boxes
/// are on, and the words to lay over it invisibly.
pub struct RenderPage<'a> {
    pub body: &'a PageBody,
    pub dpi: f32,
    pub words: &'a [Word],
    pub lines: &'a [Line],
}

struct Ids {
    next: i32,
}

impl Ids {
    fn next(&mut self) -> Ref {
        self.next += 1;
        Ref::new(self.next)
    }

    /// `n` consecutive numbers; returns the first.
    fn reserve(&mut self, n: usize) -> i32 {
        let first = self.next + 1;
        self.next += i32::try_from(n).unwrap_or(i32::MAX - self.next);
        first
    }
}

/// Writes a whole document. Image encoding happened before, in parallel, in [`prepare_image`].
pub fn render_pdf(pages: &[RenderPage<'_>]) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let mut ids = Ids { next: 0 };
    let catalog = ids.next();
    let tree = ids.next();
    let info = ids.next();
    let font = ids.next();
    let page_ids: Vec<Ref> = pages.iter().map(|_| ids.next()).collect();

    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(pages.len() as i32);
    pdf.document_info(info)
        .producer(pdf_writer::TextStr(concat!(
            "motcua ",
            env!("CARGO_PKG_VERSION")
        )));

    let mut used = BTreeSet::new();
    for (page, &page_id) in pages.iter().zip(&page_ids) {
        let scale = 72.0 / page.dpi;
        let mut content = Content::new();
        let (shown, (w_pt, h_pt)) = match page.body {
            PageBody::Image(image) => {
                let id = ids.next();
                image.write(&mut pdf, id);
                let size = (image.width as f32 * scale, image.height as f32 * scale);
                content
                    .save_state()
                    .transform([size.0, 0.0, 0.0, size.1, 0.0, 0.0])
                    .x_object(Name(b"Im0"))
                    .restore_state();
                ((Name(b"Im0"), id), size)
            }
            PageBody::Original(o) => {
                let id = original::write(&mut pdf, &mut ids, o);
                content
                    .save_state()
                    .transform(o.placement.matrix)
                    .x_object(Name(b"Pg0"))
                    .restore_state();
                ((Name(b"Pg0"), id), o.placement.size)
            }
        };
        let content_id = ids.next();
        text_layer(&mut content, page, scale, h_pt, &mut used);
        let content = compress_to_vec_zlib(&content.finish(), 6);
        pdf.stream(content_id, &content).filter(Filter::FlateDecode);

        let mut p = pdf.page(page_id);
        p.media_box(Rect::new(0.0, 0.0, w_pt, h_pt))
            .parent(tree)
            .contents(content_id);
        let mut res = p.resources();
        res.x_objects().pair(shown.0, shown.1);
        res.fonts().pair(Name(b"F0"), font);
    }
    write_font(&mut pdf, &mut ids, font, &used);
    pdf.finish()
}

/// One text object per page. Each word sits on its line's baseline, stretched (`Tz`) to its box;
/// a word followed by another on the same line carries a real space stretched up to that word, so
/// extractors find word breaks from characters instead of guessing them from gaps.
fn text_layer(
    c: &mut Content,
    page: &RenderPage<'_>,
    scale: f32,
    h_pt: f32,
    used: &mut BTreeSet<char>,
) {
    if page.words.is_empty() {
        return;
    }
    // Font size per line: the median word height. The line's own box grows with skew, and an
    // oversized font makes real word gaps look too small to be spaces.
    let mut heights: Vec<Vec<u32>> = vec![Vec::new(); page.lines.len()];
    for w in page.words {
        if let Some(h) = heights.get_mut(w.line as usize) {
            h.push(w.bbox.height());
        }
    }
    let sizes: Vec<f32> = heights
        .iter_mut()
        .map(|h| {
            h.sort_unstable();
            (h.get(h.len() / 2).copied().unwrap_or(1).max(1) as f32 * scale).max(1.0)
        })
        .collect();
    c.begin_text();
    c.set_text_rendering_mode(TextRenderingMode::Invisible);
    let mut cids = Vec::new();
    for (i, word) in page.words.iter().enumerate() {
        let Some(line) = page.lines.get(word.line as usize) else {
            continue;
        };
        if word.text.is_empty() || word.bbox.width() == 0 {
            continue;
        }
        let next_x0 = page
            .words
            .get(i + 1)
            .filter(|n| n.line == word.line)
            .map(|n| n.bbox.x0);
        let (right, space) = match next_x0 {
            Some(x) if x > word.bbox.x1 => (x, true),
            Some(_) => (word.bbox.x1, true),
            None => (word.bbox.x1, false),
        };
        cids.clear();
        let mut n = 0;
        for ch in word.text.chars().chain(space.then_some(' ')) {
            // Identity-H carries 16-bit CIDs; Vietnamese lives entirely in the BMP.
            let ch = if (ch as u32) <= 0xFFFF {
                ch
            } else {
                '\u{FFFD}'
            };
            used.insert(ch);
            cids.extend_from_slice(&(ch as u16).to_be_bytes());
            n += 1;
        }
        let size = sizes[word.line as usize];
        let natural = n as f32 * GLYPH_WIDTH / 1000.0 * size;
        let width = (right - word.bbox.x0).max(1) as f32 * scale;
        c.set_font(Name(b"F0"), size);
        c.set_horizontal_scaling((width / natural * 100.0).clamp(1.0, 10_000.0));
        c.set_text_matrix([
            1.0,
            0.0,
            0.0,
            1.0,
            word.bbox.x0 as f32 * scale,
            h_pt - line.baseline_mid() * scale,
        ]);
        c.show(Str(&cids));
    }
    c.end_text();
}

fn write_font(pdf: &mut Pdf, ids: &mut Ids, font: Ref, used: &BTreeSet<char>) {
    let cid_font = ids.next();
    let descriptor = ids.next();
    let font_file = ids.next();
    let cid_to_gid = ids.next();
    let cmap_id = ids.next();
    let system = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };

    pdf.type0_font(font)
        .base_font(FONT_NAME)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid_font)
        .to_unicode(cmap_id);
    pdf.cid_font(cid_font)
        .subtype(CidFontType::Type2)
        .base_font(FONT_NAME)
        .system_info(system)
        .font_descriptor(descriptor)
        .default_width(GLYPH_WIDTH)
        .cid_to_gid_map_stream(cid_to_gid);
    pdf.font_descriptor(descriptor)
        .name(FONT_NAME)
        .flags(FontFlags::SYMBOLIC)
        .bbox(Rect::new(0.0, 0.0, GLYPH_WIDTH, 1000.0))
        .italic_angle(0.0)
        .ascent(1000.0)
        .descent(0.0)
        .cap_height(1000.0)
        .stem_v(80.0)
        .font_file2(font_file);
    pdf.stream(font_file, GLYPHLESS_TTF)
        .pair(Name(b"Length1"), GLYPHLESS_TTF.len() as i32);

    // Every CID → glyph 1, the glyphless glyph.
    let map: Vec<u8> = std::iter::repeat_n([0u8, 1u8], 1 << 16).flatten().collect();
    pdf.stream(cid_to_gid, &compress_to_vec_zlib(&map, 9))
        .filter(Filter::FlateDecode);

    let mut cmap = UnicodeCmap::<u16>::new(Name(b"Motcua-UTF16"), system);
    for &ch in used {
        cmap.pair(ch as u16, ch);
    }
    let cmap = cmap.finish();
    pdf.cmap(cmap_id, &cmap);
}
