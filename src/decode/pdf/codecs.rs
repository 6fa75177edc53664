//! JBIG2 (office multifunction scanners' black-and-white pages, often with a shared symbol
//! dictionary in `/JBIG2Globals`) and JPEG 2000 (`JPXDecode`, some portals' colour scans),
//! decoded with the hayro project's pure-Rust decoders. Sizes are checked against the limits
//! before any pixel buffer is made.

use image::{DynamicImage, GrayImage, RgbImage};

use super::{decoded, push_rgb};
use crate::config::Limits;
use crate::decode::{DecodeError, DecodedPage, check_page_size};

/// Writes JBIG2 pixels as gray 0 (black) / 255 (white), or the reverse for a negative.
struct GrayOut {
    buf: Vec<u8>,
    pos: usize,
    black: u8,
}

impl hayro_jbig2::Decoder for GrayOut {
    fn push_pixel(&mut self, black: bool) {
        if black && let Some(p) = self.buf.get_mut(self.pos) {
            *p = self.black;
        }
        self.pos += 1;
    }

    fn push_pixel_chunk(&mut self, black: bool, chunk_count: u32) {
        let n = chunk_count as usize * 8;
        if black {
            let end = (self.pos + n).min(self.buf.len());
            if let Some(s) = self.buf.get_mut(self.pos.min(end)..end) {
                s.fill(self.black);
            }
        }
        self.pos += n;
    }

    fn next_line(&mut self) {}
}

/// A JBIG2 page (embedded organization) with its optional globals. `negative`: an inverted
/// `Decode` array shows the picture's black as white.
pub(super) fn jbig2(
    index: usize,
    data: &[u8],
    globals: Option<&[u8]>,
    negative: bool,
    limits: &Limits,
) -> Result<DecodedPage, String> {
    let settings = hayro_jbig2::DecodeSettings { strict: false };
    let globals = globals
        .map(|g| hayro_jbig2::Globals::new(g, &settings))
        .transpose()
        .map_err(|e| format!("JBIG2 globals: {e:?}"))?;
    let page = hayro_jbig2::Page::new_embedded(data, globals.as_ref(), &settings)
        .map_err(|e| format!("JBIG2: {e:?}"))?;
    let (w, h) = (page.width(), page.height());
    check_page_size(index, w, h, limits).map_err(|e| e.to_string())?;
    let (white, black) = if negative { (0, 255) } else { (255, 0) };
    let mut out = GrayOut {
        buf: vec![white; w as usize * h as usize],
        pos: 0,
        black,
    };
    page.decode(&mut out).map_err(|e| format!("JBIG2: {e:?}"))?;
    let image = GrayImage::from_raw(w, h, out.buf).ok_or("JBIG2 image size")?;
    Ok(decoded(DynamicImage::ImageLuma8(image), true))
}

/// A JPEG 2000 codestream or JP2 file. Errors are `(is_memory_limit, detail)`.
pub(super) fn jpx(index: usize, data: &[u8], limits: &Limits) -> Result<DecodedPage, DecodeError> {
    let corrupt = |d: String| super::corrupt(format!("page {index} (JPEG 2000): {d}"));
    let settings = hayro_jpeg2000::DecodeSettings {
        resolve_palette_indices: true,
        strict: false,
        target_resolution: None,
    };
    let img = hayro_jpeg2000::Image::new(data, &settings).map_err(|e| corrupt(format!("{e:?}")))?;
    let (w, h) = (img.width(), img.height());
    check_page_size(index, w, h, limits)?;
    let channels = u64::from(img.color_space().num_channels()) + u64::from(img.has_alpha());
    // The decoder holds every component as f32 samples, then interleaves them into bytes.
    if u64::from(w) * u64::from(h) * channels * 5 > limits.max_decode_alloc_bytes {
        return Err(DecodeError::OutOfMemoryLimit {
            page: index,
            limit: limits.max_decode_alloc_bytes,
        });
    }
    let n = img.color_space().num_channels() as usize;
    let stride = n + usize::from(img.has_alpha());
    let mut ctx = hayro_jpeg2000::DecoderContext::default();
    let bytes = img
        .decode(&mut ctx)
        .map_err(|e| corrupt(format!("{e:?}")))?
        .data_u8();
    let px = w as usize * h as usize;
    if bytes.len() < px * stride {
        return Err(corrupt("fewer samples than pixels".into()));
    }
    let image = match n {
        1 => {
            let g: Vec<u8> = bytes.chunks_exact(stride).map(|p| p[0]).collect();
            DynamicImage::ImageLuma8(
                GrayImage::from_raw(w, h, g).ok_or_else(|| corrupt("size".into()))?,
            )
        }
        3 | 4 => {
            let mut rgb = Vec::with_capacity(px * 3);
            for p in bytes.chunks_exact(stride).take(px) {
                push_rgb(&mut rgb, &p[..n]);
            }
            DynamicImage::ImageRgb8(
                RgbImage::from_raw(w, h, rgb).ok_or_else(|| corrupt("size".into()))?,
            )
        }
        _ => return Err(corrupt(format!("{n} colour channels"))),
    };
    let bilevel =
        matches!(&image, DynamicImage::ImageLuma8(g) if super::super::is_bilevel(g.as_raw()));
    Ok(decoded(image, bilevel))
}
