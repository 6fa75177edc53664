//! Pages that are not one scan (a typed cover letter, several images, inline images, a codec we
//! do not decode ourselves) are rendered with `hayro`, the pure-Rust PDF rasterizer, and go on
//! as an ordinary page image at a known resolution: 300 dpi, less where the page is so large
//! that 300 dpi would pass `Limits::max_page_pixels`.

use std::sync::Arc;

use hayro::hayro_interpret::{InterpreterSettings, TransformExt};
use hayro::hayro_syntax::page::Page;
use hayro::hayro_syntax::{LoadPdfError, Pdf};
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::{PixmapSettings, RenderCache, RenderSettings};
use image::{DynamicImage, GrayImage, RgbImage};

use super::original::Placement;
use super::text::{self, TextLayer};
use super::{DecodeError, DecodedPage, NAME, corrupt, decoded, password_protected};
use crate::config::Limits;

/// The resolution pages are rendered at, unless the page is too large for it.
pub(super) const RENDER_DPI: f32 = 300.0;

/// The file's bytes, shared with the parser (hayro wants an owned, sized buffer).
struct Bytes(Arc<[u8]>);

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// A second parse of the file, made the first time a page needs rendering.
pub(super) struct Renderer {
    pdf: Pdf,
}

impl Renderer {
    pub(super) fn open(data: Arc<[u8]>) -> Result<Self, DecodeError> {
        let pdf = Pdf::new(Arc::new(Bytes(data))).map_err(|e| match e {
            LoadPdfError::Decryption(e) => password_protected(format!("{e:?}")),
            LoadPdfError::Invalid => corrupt("the PDF renderer cannot read this file".into()),
        })?;
        Ok(Self { pdf })
    }

    /// The page's words from its own text layer, on the grid it would be rendered to; why not
    /// where the page's text must be OCRed (see `text`).
    pub(super) fn text_layer(
        &self,
        index: usize,
        limits: &Limits,
    ) -> Result<Result<TextLayer, text::Rejected>, DecodeError> {
        let pages = self.pdf.pages();
        let page = page_at(pages, index)?;
        let (dpi, w, h) = grid(index, page, limits)?;
        Ok(text::read(page, dpi / 72.0, w, h, dpi))
    }

    /// Where the page's own content goes on an upright output page: its crop box (in its own
    /// space), the transform from there to the output page and that page's size, in points.
    pub(super) fn placement(&self, index: usize) -> Result<Placement, DecodeError> {
        let pages = self.pdf.pages();
        let page = page_at(pages, index)?;
        let b = page.intersected_crop_box();
        let m = page.initial_transform(false).to_kurbo().as_coeffs();
        let (w, h) = page.render_dimensions();
        Ok(Placement {
            bbox: [b.x0, b.y0, b.x1, b.y1].map(|v| v as f32),
            matrix: m.map(|v| v as f32),
            size: (w, h),
        })
    }

    /// Renders page `index` on white.
    pub(super) fn render(&self, index: usize, limits: &Limits) -> Result<DecodedPage, DecodeError> {
        let pages = self.pdf.pages();
        let page = page_at(pages, index)?;
        let (dpi, w, h) = grid(index, page, limits)?;
        let scale = dpi / 72.0;
        let rgba_bytes = u64::from(w) * u64::from(h) * 4;
        if rgba_bytes > limits.max_decode_alloc_bytes {
            return Err(DecodeError::OutOfMemoryLimit {
                page: index,
                limit: limits.max_decode_alloc_bytes,
            });
        }
        let cache = RenderCache::new();
        let pixmap = hayro::render(
            page,
            &cache,
            &InterpreterSettings::default(),
            &RenderSettings::default(),
            &PixmapSettings {
                x_scale: scale,
                y_scale: scale,
                bg_color: WHITE,
            },
        );
        let (pw, ph) = (u32::from(pixmap.width()), u32::from(pixmap.height()));
        let rgba = pixmap.data_as_u8_slice();
        // Rendered on opaque white, so premultiplied equals straight RGB. A page with no colour
        // (typed letters, most scans) stays gray: a third of the memory downstream.
        let gray = rgba.chunks_exact(4).all(|p| p[0] == p[1] && p[1] == p[2]);
        let image = if gray {
            let g: Vec<u8> = rgba.chunks_exact(4).map(|p| p[0]).collect();
            DynamicImage::ImageLuma8(GrayImage::from_raw(pw, ph, g).ok_or_else(size_error)?)
        } else {
            let mut rgb = Vec::with_capacity(pw as usize * ph as usize * 3);
            for p in rgba.chunks_exact(4) {
                rgb.extend_from_slice(&p[..3]);
            }
            DynamicImage::ImageRgb8(RgbImage::from_raw(pw, ph, rgb).ok_or_else(size_error)?)
        };
        let mut out = decoded(image, false);
        out.dpi = Some(dpi);
        Ok(out)
    }
}

fn page_at<'p, 'a>(pages: &'p [Page<'a>], index: usize) -> Result<&'p Page<'a>, DecodeError> {
    pages
        .get(index)
        .ok_or_else(|| corrupt(format!("page {index}: the renderer finds no such page")))
}

/// The resolution a page renders at and its size in pixels there.
fn grid(index: usize, page: &Page<'_>, limits: &Limits) -> Result<(f32, u32, u32), DecodeError> {
    let (w_pt, h_pt) = page.render_dimensions();
    let dpi = render_dpi(w_pt, h_pt, limits)
        .ok_or_else(|| corrupt(format!("page {index}: page size {w_pt}×{h_pt} pt")))?;
    let scale = dpi / 72.0;
    let (w, h) = ((w_pt * scale) as u32, (h_pt * scale) as u32);
    super::check_page_size(index, w.max(1), h.max(1), limits)?;
    Ok((dpi, w, h))
}

fn size_error() -> DecodeError {
    DecodeError::Corrupt {
        format: NAME,
        detail: "rendered page size".into(),
    }
}

/// 300 dpi, or what keeps the page within the pixel and side limits (and the renderer's 65535
/// px a side). `None` for a page with no area.
pub(super) fn render_dpi(w_pt: f32, h_pt: f32, limits: &Limits) -> Option<f32> {
    if !(w_pt.is_finite() && h_pt.is_finite() && w_pt >= 1.0 && h_pt >= 1.0) {
        return None;
    }
    let (w_in, h_in) = (f64::from(w_pt) / 72.0, f64::from(h_pt) / 72.0);
    let by_pixels = (limits.max_page_pixels as f64 / (w_in * h_in)).sqrt();
    let side = f64::from(limits.max_page_side.min(u32::from(u16::MAX)));
    let by_side = side / w_in.max(h_in);
    // Floored a little below the bound so that rounding never tips a page over it.
    let dpi = f64::from(RENDER_DPI)
        .min(by_pixels * 0.999)
        .min(by_side * 0.999);
    (dpi >= 1.0).then_some(dpi as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_a4_page_renders_at_300_dpi_and_a_poster_at_what_the_limit_allows() {
        let l = Limits::default();
        assert_eq!(render_dpi(595.0, 842.0, &l), Some(300.0));
        // A 2 m × 1 m poster: 300 dpi would be 4.6 Gpx.
        let d = render_dpi(5669.0, 2835.0, &l).unwrap();
        let px = (5669.0 / 72.0 * d) as u64 * (2835.0 / 72.0 * d) as u64;
        assert!(d < 300.0 && px <= l.max_page_pixels, "{d} dpi, {px} px");
        assert_eq!(render_dpi(0.0, 842.0, &l), None);
        assert_eq!(render_dpi(f32::NAN, 842.0, &l), None);
    }
}
