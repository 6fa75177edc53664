//! Image-only PDF: what scanner software and phone scanning apps send. Each page's largest
//! image is the page. The file is parsed with `lopdf` (the maintained Rust PDF reader; it bounds
//! what any stream may inflate to, so a decompression bomb fails instead of filling memory);
//! the image codecs are ours to pick: DCT goes to the JPEG decoder (and passes through to our
//! PDF unchanged), CCITT G4/G3 to `fax` (already used by the TIFF decoder), raw samples are
//! unpacked here. Pages with no image (text or drawings only) are refused with a clear code:
//! we read scans, we do not render PDFs.

use std::borrow::Cow;
use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

use image::metadata::Orientation;
use image::{DynamicImage, GrayImage, RgbImage};
use lopdf::{Dictionary, Document, LoadOptions, Object, ObjectId, Stream};

use super::{DecodeError, DecodedPage, Format, check_page_size, dpi, raster};
use crate::config::Limits;

const NAME: &str = "PDF";

/// Pages of a PDF, each decoded when asked for.
pub(super) struct PdfPages {
    doc: Document,
    pages: Vec<ObjectId>,
    limits: Limits,
    index: usize,
    done: bool,
}

impl PdfPages {
    pub(super) fn open(data: Arc<[u8]>, limits: &Limits) -> Result<Self, DecodeError> {
        let options = LoadOptions {
            max_decompressed_size: Some(alloc_limit(limits)),
            ..Default::default()
        };
        // A parser bug on hostile input must fail the file, not the worker.
        let doc = catch_unwind(AssertUnwindSafe(|| {
            Document::load_mem_with_options(&data, options)
        }))
        .map_err(|_| corrupt("the PDF parser gave up on this file".into()))?
        .map_err(|e| match e {
            lopdf::Error::Decryption(_) | lopdf::Error::InvalidPassword => {
                DecodeError::UnsupportedLayout {
                    format: NAME,
                    detail: "the PDF is password-protected".into(),
                }
            }
            e => corrupt(e.to_string()),
        })?;
        let pages: Vec<ObjectId> = doc.get_pages().into_values().collect();
        if pages.is_empty() {
            return Err(corrupt("the PDF has no pages".into()));
        }
        if pages.len() > limits.max_pages {
            return Err(DecodeError::TooManyPages {
                limit: limits.max_pages,
            });
        }
        Ok(Self {
            doc,
            pages,
            limits: limits.clone(),
            index: 0,
            done: false,
        })
    }

    fn read_page(&self, index: usize) -> Result<DecodedPage, DecodeError> {
        let started = Instant::now();
        let limits = &self.limits;
        let page_id = self.pages[index];
        let err = |e: lopdf::Error| corrupt(format!("page {index}: {e}"));
        let (images, broken) = self.page_images(page_id).map_err(err)?;
        let Some(img) = images
            .iter()
            .filter(|i| i.width > 0 && i.height > 0)
            .max_by_key(|i| i.width.saturating_mul(i.height))
        else {
            if broken > 0 {
                return Err(corrupt(format!(
                    "page {index}: its image objects are missing (truncated file?)"
                )));
            }
            return Err(DecodeError::UnsupportedLayout {
                format: NAME,
                detail: format!(
                    "page {index} has no scanned image (text or drawings only); upload a scan \
                     or a photo of the document"
                ),
            });
        };
        // Scanner software puts one image on a page. Strips or layered (MRC) pages are read
        // by their largest image only; say so rather than drop the rest silently.
        let area = |i: &PageImage| i.width.saturating_mul(i.height);
        let others = images
            .iter()
            .filter(|i| i.id != img.id && area(i) * 20 >= area(img))
            .count();
        if others > 0 {
            tracing::warn!(
                page = index,
                others,
                "PDF page has several large images; only the largest is read"
            );
        }
        let (width, height) = match (u32::try_from(img.width), u32::try_from(img.height)) {
            (Ok(w), Ok(h)) => (w, h),
            _ => return Err(corrupt(format!("page {index}: image size out of range"))),
        };
        check_page_size(index, width, height, limits)?;

        let stream = img.stream;
        let filters: Vec<Vec<u8>> = stream
            .filters()
            .map(|f| f.into_iter().map(<[u8]>::to_vec).collect())
            .unwrap_or_default();
        // The last filter may be an image codec; the ones before it are transport encodings
        // (Flate, LZW, ASCII85…) that lopdf undoes within the memory limit.
        let codec = filters.last().filter(|f| {
            matches!(
                f.as_slice(),
                b"DCTDecode" | b"CCITTFaxDecode" | b"JPXDecode" | b"JBIG2Decode"
            )
        });
        let transport = filters.len() - usize::from(codec.is_some());
        // Borrowed when nothing is to undo: only the JPEG path needs bytes of its own.
        let bytes: Cow<[u8]> = if transport == 0 {
            Cow::Borrowed(&stream.content)
        } else {
            let mut dict = stream.dict.clone();
            let params = decode_parms(&stream.dict, transport);
            dict.set(
                "Filter",
                Object::Array(
                    filters[..transport]
                        .iter()
                        .map(|f| Object::Name(f.clone()))
                        .collect(),
                ),
            );
            dict.set("DecodeParms", Object::Array(params));
            Stream::new(dict, stream.content.clone())
                .decompressed_content_with_limit(alloc_limit(limits))
                .map_err(|e| match e {
                    lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded {
                        ..
                    }) => DecodeError::OutOfMemoryLimit {
                        page: index,
                        limit: limits.max_decode_alloc_bytes,
                    },
                    e => err(e),
                })?
                .into()
        };
        let dict = &stream.dict;
        let codec_params = decode_parms(dict, filters.len())
            .pop()
            .and_then(|p| p.as_dict().ok().cloned());
        let decode_inverted = dict
            .get(b"Decode")
            .and_then(Object::as_array)
            .is_ok_and(|d| d.first().and_then(|v| v.as_float().ok()) == Some(1.0));

        let mut page = match codec.map(Vec::as_slice) {
            Some(b"DCTDecode") => {
                let mut p = raster::decode(Format::Jpeg, Arc::from(&*bytes), limits)
                    .map_err(|e| at(index, e))?;
                if decode_inverted {
                    // Adobe's inverted CMYK/gray JPEGs: passing them through would show a negative.
                    p.image.invert();
                    p.passthrough = None;
                }
                p.dpi = None;
                p.ydpi = None;
                p
            }
            Some(b"CCITTFaxDecode") => {
                let black_is_1 = codec_params
                    .as_ref()
                    .and_then(|p| p.get(b"BlackIs1").and_then(Object::as_bool).ok())
                    .unwrap_or(false);
                let k = codec_params
                    .as_ref()
                    .and_then(|p| p.get(b"K").and_then(Object::as_i64).ok())
                    .unwrap_or(0);
                if k >= 0 {
                    // Group 3 lives in fax TIFFs; scanner PDFs use Group 4.
                    return Err(DecodeError::UnsupportedLayout {
                        format: NAME,
                        detail: format!("page {index}: Group 3 fax images are not supported"),
                    });
                }
                let image = fax_page(&bytes, width, height, black_is_1 != decode_inverted)
                    .map_err(|d| corrupt(format!("page {index}: {d}")))?;
                decoded(DynamicImage::ImageLuma8(image), true)
            }
            Some(other) => {
                return Err(DecodeError::UnsupportedLayout {
                    format: NAME,
                    detail: format!(
                        "page {index}: {} images are not supported (JPEG, CCITT fax and \
                         uncompressed or Flate images are)",
                        String::from_utf8_lossy(other)
                    ),
                });
            }
            None => self.raw_page(index, dict, width, height, &bytes, decode_inverted)?,
        };
        let (media, rotate) = self.page_geometry(page_id);
        page.orientation = match rotate.rem_euclid(360) {
            90 => Orientation::Rotate90,
            180 => Orientation::Rotate180,
            270 => Orientation::Rotate270,
            _ => Orientation::NoTransforms,
        };
        // The scan fills the page: its pixels over the page's width in inches. (The image is
        // drawn in the page's unrotated space, where the MediaBox is measured too.)
        // Rounded: 1653 px over 595.08 pt is 199.99998 dpi, and is meant as 200.
        let per_inch = |px: u32, pt: f32| (px as f32 / (pt / 72.0) * 100.0).round() / 100.0;
        let (x, y) = media
            .filter(|&(w, h)| w > 0.0 && h > 0.0)
            .map(|(w, h)| (per_inch(width, w), per_inch(height, h)))
            .filter(|&(x, y)| dpi::plausible(x, width, height) && dpi::plausible(y, width, height))
            .unzip();
        page.dpi = x;
        // A fax drawn at 200×100 dpi fills the page with an image half as tall in pixels.
        page.ydpi = y.zip(x).and_then(|(y, x)| dpi::distinct(x, y));
        page.decode_ms = started.elapsed().as_secs_f64() * 1e3;
        Ok(page)
    }

    /// The images a page draws: those in its resources and, a few levels deep, those inside
    /// the forms it draws (some scanning apps wrap the scan in a form).
    /// Also counts XObjects that could not be loaded (a file cut short loses them).
    fn page_images(&self, page: ObjectId) -> Result<(Vec<PageImage<'_>>, usize), lopdf::Error> {
        let (own, inherited) = self.doc.get_page_resources(page)?;
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut broken = 0;
        let resources = own.into_iter().chain(
            inherited
                .iter()
                .filter_map(|id| self.doc.get_dictionary(*id).ok()),
        );
        for r in resources {
            self.collect_images(r, 0, &mut seen, &mut out, &mut broken);
        }
        Ok((out, broken))
    }

    fn collect_images<'a>(
        &'a self,
        resources: &'a Dictionary,
        depth: usize,
        seen: &mut HashSet<ObjectId>,
        out: &mut Vec<PageImage<'a>>,
        broken: &mut usize,
    ) {
        let Ok(xobjects) = resources
            .get(b"XObject")
            .map(|o| self.resolve(o))
            .and_then(Object::as_dict)
        else {
            return;
        };
        for (_, v) in xobjects.iter() {
            let Ok(id) = v.as_reference() else { continue };
            if !seen.insert(id) {
                continue;
            }
            let Ok(stream) = self.doc.get_object(id).and_then(Object::as_stream) else {
                *broken += 1;
                continue;
            };
            let int = |key: &[u8]| {
                stream
                    .dict
                    .get(key)
                    .map(|o| self.resolve(o))
                    .and_then(Object::as_i64)
                    .unwrap_or(0)
            };
            match stream.dict.get(b"Subtype").and_then(Object::as_name) {
                Ok(b"Image") => out.push(PageImage {
                    id,
                    width: int(b"Width"),
                    height: int(b"Height"),
                    stream,
                }),
                Ok(b"Form") if depth < 4 => {
                    if let Ok(r) = stream
                        .dict
                        .get(b"Resources")
                        .map(|o| self.resolve(o))
                        .and_then(Object::as_dict)
                    {
                        self.collect_images(r, depth + 1, seen, out, broken);
                    }
                }
                _ => {}
            }
        }
    }

    /// Uncompressed (or Flate/LZW…) samples in a gray, RGB, CMYK or indexed colour space.
    fn raw_page(
        &self,
        index: usize,
        dict: &Dictionary,
        width: u32,
        height: u32,
        bytes: &[u8],
        decode_inverted: bool,
    ) -> Result<DecodedPage, DecodeError> {
        let unsupported = |detail: String| DecodeError::UnsupportedLayout {
            format: NAME,
            detail: format!("page {index}: {detail}"),
        };
        let mask = dict
            .get(b"ImageMask")
            .and_then(Object::as_bool)
            .unwrap_or(false);
        let bpc = if mask {
            1
        } else {
            dict.get(b"BitsPerComponent")
                .and_then(Object::as_i64)
                .unwrap_or(8)
        };
        if !matches!(bpc, 1 | 2 | 4 | 8 | 16) {
            return Err(unsupported(format!("{bpc} bits per component")));
        }
        let space = if mask {
            Space::Gray
        } else {
            self.color_space(dict.get(b"ColorSpace").ok())
                .map_err(unsupported)?
        };
        let n = space.components();
        let row_bytes = (width as usize * n * bpc as usize).div_ceil(8);
        let need = row_bytes * height as usize;
        let out_len = width as usize * height as usize * space.output_components();
        if out_len as u64 > self.limits.max_decode_alloc_bytes {
            return Err(DecodeError::OutOfMemoryLimit {
                page: index,
                limit: self.limits.max_decode_alloc_bytes,
            });
        }
        if bytes.len() < need {
            return Err(corrupt(format!(
                "page {index}: image data is {} bytes, {need} expected (truncated?)",
                bytes.len()
            )));
        }
        let max = (1u32 << bpc.min(8)) - 1;
        // Palette indices stay indices; other samples scale to 0..=255.
        let scale = !matches!(space, Space::Indexed { .. });
        let sample = |row: &[u8], i: usize| -> u8 {
            let v = match bpc {
                8 => u32::from(row[i]),
                16 => return row[2 * i],
                _ => {
                    let bit = i * bpc as usize;
                    let shift = 8 - bpc as usize - bit % 8;
                    (u32::from(row[bit / 8]) >> shift) & max
                }
            };
            if scale {
                (v * 255 / max) as u8
            } else {
                v as u8
            }
        };
        let rows = bytes.chunks(row_bytes).take(height as usize);
        let image = match &space {
            Space::Gray => {
                let mut out = Vec::with_capacity(out_len);
                for row in rows {
                    out.extend((0..width as usize).map(|x| {
                        let v = sample(row, x);
                        if decode_inverted { 255 - v } else { v }
                    }));
                }
                DynamicImage::ImageLuma8(
                    GrayImage::from_raw(width, height, out).expect("sized above"),
                )
            }
            Space::Rgb | Space::Cmyk => {
                let mut out = Vec::with_capacity(out_len);
                for row in rows {
                    for x in 0..width as usize {
                        let mut c = [0u8; 4];
                        for (k, v) in c[..n].iter_mut().enumerate() {
                            *v = sample(row, x * n + k);
                        }
                        push_rgb(&mut out, &c[..n]);
                    }
                }
                DynamicImage::ImageRgb8(
                    RgbImage::from_raw(width, height, out).expect("sized above"),
                )
            }
            Space::Indexed { palette, base } => {
                let bn = base.components();
                let mut out = Vec::with_capacity(out_len);
                for row in rows {
                    for x in 0..width as usize {
                        let i = sample(row, x) as usize * bn;
                        let c = palette.get(i..i + bn).unwrap_or(&[0, 0, 0, 0][..bn]);
                        push_rgb(&mut out, c);
                    }
                }
                DynamicImage::ImageRgb8(
                    RgbImage::from_raw(width, height, out).expect("sized above"),
                )
            }
        };
        let bilevel =
            matches!(&image, DynamicImage::ImageLuma8(g) if super::is_bilevel(g.as_raw()));
        Ok(decoded(image, bilevel))
    }

    fn color_space(&self, cs: Option<&Object>) -> Result<Space, String> {
        let Some(cs) = cs else {
            return Err("image without a colour space".into());
        };
        let cs = self.resolve(cs);
        match cs {
            Object::Name(n) => Space::named(n).ok_or_else(|| {
                format!("colour space {} not supported", String::from_utf8_lossy(n))
            }),
            Object::Array(a) => {
                let kind = a
                    .first()
                    .map(|o| self.resolve(o))
                    .and_then(|o| o.as_name().ok());
                match kind {
                    Some(b"ICCBased") => {
                        let n = a
                            .get(1)
                            .map(|o| self.resolve(o))
                            .and_then(|o| o.as_stream().ok())
                            .and_then(|s| s.dict.get(b"N").and_then(Object::as_i64).ok());
                        match n {
                            Some(1) => Ok(Space::Gray),
                            Some(3) => Ok(Space::Rgb),
                            Some(4) => Ok(Space::Cmyk),
                            _ => Err("ICC colour space with an unusual component count".into()),
                        }
                    }
                    Some(b"CalGray") => Ok(Space::Gray),
                    Some(b"CalRGB") => Ok(Space::Rgb),
                    Some(b"Indexed") => {
                        let base = a
                            .get(1)
                            .ok_or("indexed colour space without a base")
                            .and_then(|b| match self.color_space(Some(b)) {
                                Ok(s @ (Space::Gray | Space::Rgb | Space::Cmyk)) => Ok(s),
                                _ => Err("indexed colour space with an unusual base"),
                            })?;
                        let palette = match a.get(3).map(|o| self.resolve(o)) {
                            Some(Object::String(s, _)) => s.clone(),
                            Some(Object::Stream(s)) => s
                                .decompressed_content_with_limit(1 << 20)
                                .or_else(|_| Ok::<_, lopdf::Error>(s.content.clone()))
                                .unwrap_or_default(),
                            _ => return Err("indexed colour space without a palette".into()),
                        };
                        Ok(Space::Indexed {
                            palette,
                            base: Box::new(base),
                        })
                    }
                    Some(n) => Space::named(n).ok_or_else(|| {
                        format!("colour space {} not supported", String::from_utf8_lossy(n))
                    }),
                    None => Err("malformed colour space".into()),
                }
            }
            _ => Err("malformed colour space".into()),
        }
    }

    fn resolve<'a>(&'a self, o: &'a Object) -> &'a Object {
        self.doc.dereference(o).map(|(_, o)| o).unwrap_or(o)
    }

    /// The page's width in points (MediaBox) and its /Rotate, both inheritable from the tree.
    /// The MediaBox's width and height in points, and `/Rotate`, inherited as the spec says.
    fn page_geometry(&self, page: ObjectId) -> (Option<(f32, f32)>, i64) {
        let (mut media, mut rotate) = (None, None);
        let mut node = self.doc.get_dictionary(page).ok();
        for _ in 0..64 {
            let Some(d) = node else { break };
            if media.is_none()
                && let Ok(b) = d.get(b"MediaBox").map(|o| self.resolve(o))
                && let Ok(b) = b.as_array()
                && b.len() == 4
            {
                let v: Vec<f32> = b
                    .iter()
                    .filter_map(|o| self.resolve(o).as_float().ok())
                    .collect();
                if v.len() == 4 {
                    media = Some(((v[2] - v[0]).abs(), (v[3] - v[1]).abs()));
                }
            }
            if rotate.is_none() {
                rotate = d.get(b"Rotate").and_then(Object::as_i64).ok();
            }
            node = d
                .get(b"Parent")
                .and_then(Object::as_reference)
                .and_then(|id| self.doc.get_dictionary(id))
                .ok();
        }
        (media, rotate.unwrap_or(0))
    }
}

impl Iterator for PdfPages {
    type Item = Result<DecodedPage, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.index >= self.pages.len() {
            return None;
        }
        let index = self.index;
        let page = catch_unwind(AssertUnwindSafe(|| self.read_page(index)))
            .unwrap_or_else(|_| Err(corrupt(format!("page {index}: unreadable image"))));
        self.done = page.is_err();
        self.index += 1;
        Some(page)
    }
}

/// An image XObject a page draws.
struct PageImage<'a> {
    id: ObjectId,
    width: i64,
    height: i64,
    stream: &'a Stream,
}

enum Space {
    Gray,
    Rgb,
    Cmyk,
    Indexed { palette: Vec<u8>, base: Box<Space> },
}

impl Space {
    fn named(n: &[u8]) -> Option<Space> {
        match n {
            b"DeviceGray" | b"G" | b"CalGray" => Some(Space::Gray),
            b"DeviceRGB" | b"RGB" | b"CalRGB" => Some(Space::Rgb),
            b"DeviceCMYK" | b"CMYK" => Some(Space::Cmyk),
            _ => None,
        }
    }

    /// Samples per pixel in the file.
    fn components(&self) -> usize {
        match self {
            Space::Gray | Space::Indexed { .. } => 1,
            Space::Rgb => 3,
            Space::Cmyk => 4,
        }
    }

    /// Bytes per pixel once decoded.
    fn output_components(&self) -> usize {
        match self {
            Space::Gray => 1,
            _ => 3,
        }
    }
}

/// The `DecodeParms` entries of the first `n` filters (null where there are none).
fn decode_parms(dict: &Dictionary, n: usize) -> Vec<Object> {
    let all: Vec<Object> = match dict.get(b"DecodeParms") {
        Ok(Object::Array(a)) => a.clone(),
        Ok(d @ Object::Dictionary(_)) => vec![d.clone()],
        _ => Vec::new(),
    };
    (0..n)
        .map(|i| all.get(i).cloned().unwrap_or(Object::Null))
        .collect()
}

/// CCITT Group 4 data → gray 0/255. `negative`: the page shows the fax's black as white (BlackIs1
/// makes the filter emit 1 for black, an inverted `Decode` makes 1 show black: either alone
/// flips the picture, both together cancel).
fn fax_page(data: &[u8], width: u32, height: u32, negative: bool) -> Result<GrayImage, String> {
    let (Ok(w16), Ok(h16)) = (u16::try_from(width), u16::try_from(height)) else {
        return Err("fax image wider or taller than 65535 px".into());
    };
    let black: u8 = if negative { 255 } else { 0 };
    let mut out = Vec::with_capacity(width as usize * height as usize);
    let mut rows = 0usize;
    let mut line = |transitions: &[u16]| {
        if rows < height as usize {
            out.extend(fax::decoder::pels(transitions, w16).map(|c| match c {
                fax::Color::Black => black,
                fax::Color::White => 255 - black,
            }));
            rows += 1;
        }
    };
    let ok = fax::decoder::decode_g4(data.iter().copied(), w16, Some(h16), &mut line);
    // The decoder pads missing trailing white lines itself; `None` is damaged data, and a page
    // cut off halfway must fail rather than be read as half a page.
    if ok.is_none() {
        return Err(format!(
            "CCITT G4 data breaks off at row {rows} of {height}"
        ));
    }
    out.resize(width as usize * height as usize, 255 - black);
    GrayImage::from_raw(width, height, out).ok_or_else(|| "fax image size".into())
}

/// A page's pixels; `read_page` adds orientation, resolution and timing.
fn decoded(image: DynamicImage, bilevel: bool) -> DecodedPage {
    DecodedPage {
        image,
        dpi: None,
        ydpi: None,
        orientation: Orientation::NoTransforms,
        bilevel,
        passthrough: None,
        decode_ms: 0.0,
    }
}

/// One colour in the file's components (gray, RGB or CMYK) → RGB.
fn push_rgb(out: &mut Vec<u8>, c: &[u8]) {
    match *c {
        [g] => out.extend_from_slice(&[g; 3]),
        [c, m, y, k] => {
            let k = 255 - u32::from(k);
            out.extend([c, m, y].map(|v| ((255 - u32::from(v)) * k / 255) as u8));
        }
        _ => out.extend_from_slice(c),
    }
}

fn alloc_limit(limits: &Limits) -> usize {
    usize::try_from(limits.max_decode_alloc_bytes).unwrap_or(usize::MAX)
}

fn corrupt(detail: String) -> DecodeError {
    DecodeError::Corrupt {
        format: NAME,
        detail,
    }
}

/// An error of the page's embedded JPEG, told with the page's index.
fn at(index: usize, e: DecodeError) -> DecodeError {
    match e {
        DecodeError::PageTooLarge {
            width,
            height,
            max_pixels,
            max_side,
            ..
        } => DecodeError::PageTooLarge {
            page: index,
            width,
            height,
            max_pixels,
            max_side,
        },
        DecodeError::OutOfMemoryLimit { limit, .. } => {
            DecodeError::OutOfMemoryLimit { page: index, limit }
        }
        DecodeError::Corrupt { detail, .. } => corrupt(format!("page {index} (JPEG): {detail}")),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use pdf_writer::{Filter, Finish, Name, Pdf, Rect, Ref};

    use super::super::{Decoded, decode};
    use super::*;

    /// How one test page stores its image.
    struct Img {
        width: u32,
        height: u32,
        data: Vec<u8>,
        setup: Setup,
    }

    /// Writes an image's dictionary entries.
    type Setup = fn(&mut pdf_writer::writers::ImageXObject);

    /// A PDF of `pages`, each an A4-wide page (595 pt) with the image (if any) drawn over it.
    fn pdf(pages: Vec<(Option<Img>, i32)>) -> Arc<[u8]> {
        let mut pdf = Pdf::new();
        let (catalog, tree) = (Ref::new(1), Ref::new(2));
        pdf.catalog(catalog).pages(tree);
        let ids: Vec<Ref> = (0..pages.len())
            .map(|i| Ref::new(10 + 3 * i as i32))
            .collect();
        pdf.pages(tree)
            .kids(ids.iter().copied())
            .count(pages.len() as i32);
        for (i, (img, rotate)) in pages.into_iter().enumerate() {
            let (page_id, image_id, content_id) = (
                ids[i],
                Ref::new(11 + 3 * i as i32),
                Ref::new(12 + 3 * i as i32),
            );
            let mut page = pdf.page(page_id);
            page.media_box(Rect::new(0.0, 0.0, 595.0, 842.0))
                .parent(tree)
                .contents(content_id);
            if rotate != 0 {
                page.rotate(rotate);
            }
            if img.is_some() {
                page.resources().x_objects().pair(Name(b"Im0"), image_id);
            }
            page.finish();
            let content: &[u8] = match &img {
                Some(_) => b"q 595 0 0 842 0 0 cm /Im0 Do Q",
                None => b"0 0 m 100 100 l S",
            };
            pdf.stream(content_id, content);
            if let Some(img) = img {
                let mut x = pdf.image_xobject(image_id, &img.data);
                x.width(img.width as i32).height(img.height as i32);
                (img.setup)(&mut x);
            }
        }
        pdf.finish().into()
    }

    fn gray_flate(width: u32, height: u32, f: impl Fn(u32, u32) -> u8) -> Img {
        let raw: Vec<u8> = (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .map(|(x, y)| f(x, y))
            .collect();
        Img {
            width,
            height,
            data: miniz_oxide::deflate::compress_to_vec_zlib(&raw, 6),
            setup: |x| {
                x.filter(Filter::FlateDecode);
                x.color_space().device_gray();
                x.bits_per_component(8);
            },
        }
    }

    fn open_all(data: Arc<[u8]>, limits: &Limits) -> Result<Decoded, DecodeError> {
        decode(data, limits)
    }

    #[test]
    fn pages_come_in_order_with_rotation_and_resolution_from_the_page() {
        let data = pdf(vec![
            (
                Some(gray_flate(1240, 1754, |x, _| if x < 100 { 0 } else { 200 })),
                0,
            ),
            (Some(gray_flate(1240, 1754, |_, y| (y % 256) as u8)), 90),
        ]);
        let d = open_all(data, &Limits::default()).unwrap();
        assert_eq!(d.format, Format::Pdf);
        assert_eq!(d.pages.len(), 2);
        let (a, b) = (&d.pages[0], &d.pages[1]);
        assert_eq!((a.image.width(), a.image.height()), (1240, 1754));
        assert_eq!(a.image.to_luma8().get_pixel(50, 9).0, [0]);
        assert_eq!(a.image.to_luma8().get_pixel(500, 9).0, [200]);
        assert_eq!(a.orientation, Orientation::NoTransforms);
        assert_eq!(b.orientation, Orientation::Rotate90);
        // 1240 px over 595 pt (8.26 in) is 150 dpi, turned or not.
        assert!((a.dpi.unwrap() - 150.0).abs() < 1.0, "{:?}", a.dpi);
        assert!((b.dpi.unwrap() - 150.0).abs() < 1.0, "{:?}", b.dpi);
        assert!(!a.bilevel);
    }

    #[test]
    fn an_image_wrapped_in_a_form_is_found() {
        // Page → form Fm0 → image Im0, as some scanning apps write it; resources inherited
        // from the page tree.
        let img = gray_flate(1240, 1754, |x, _| if x < 620 { 0 } else { 255 });
        let mut pdf = Pdf::new();
        let (catalog, tree, page, content, form, image) = (
            Ref::new(1),
            Ref::new(2),
            Ref::new(3),
            Ref::new(4),
            Ref::new(5),
            Ref::new(6),
        );
        pdf.catalog(catalog).pages(tree);
        let mut pages = pdf.pages(tree);
        pages.kids([page]).count(1);
        pages.resources().x_objects().pair(Name(b"Fm0"), form);
        pages.finish();
        pdf.page(page)
            .media_box(Rect::new(0.0, 0.0, 595.0, 842.0))
            .parent(tree)
            .contents(content);
        pdf.stream(content, b"/Fm0 Do");
        let mut f = pdf.form_xobject(form, b"q 595 0 0 842 0 0 cm /Im0 Do Q");
        f.bbox(Rect::new(0.0, 0.0, 595.0, 842.0));
        f.resources().x_objects().pair(Name(b"Im0"), image);
        f.finish();
        let mut x = pdf.image_xobject(image, &img.data);
        x.width(1240).height(1754);
        (img.setup)(&mut x);
        x.finish();
        let d = open_all(pdf.finish().into(), &Limits::default()).unwrap();
        let g = d.pages[0].image.to_luma8();
        assert_eq!((g.width(), g.height()), (1240, 1754));
        assert_eq!(
            (g.get_pixel(10, 10).0, g.get_pixel(1000, 10).0),
            ([0], [255])
        );
    }

    #[test]
    fn fax_pages_decode_whichever_way_black_is_written() {
        // A 64×32 page: a black bar in columns 8..24 of every row.
        let (w, h) = (64u32, 32u32);
        let black = |x: u32| (8..24).contains(&x);
        let mut enc = fax::encoder::Encoder::new(fax::VecWriter::new());
        for _ in 0..h {
            enc.encode_line(
                (0..w).map(|x| {
                    if black(x) {
                        fax::Color::Black
                    } else {
                        fax::Color::White
                    }
                }),
                w as u16,
            )
            .unwrap();
        }
        let g4 = enc.finish().unwrap().finish();
        /// A 64×32 G4 image, with `BlackIs1` and an inverted `Decode` as asked.
        fn ccitt(x: &mut pdf_writer::writers::ImageXObject, black_is_1: bool, inverted: bool) {
            x.filter(Filter::CcittFaxDecode);
            x.decode_parms()
                .k(-1)
                .columns(64)
                .rows(32)
                .black_is_1(black_is_1);
            x.color_space().device_gray();
            x.bits_per_component(1);
            if inverted {
                x.decode([1.0, 0.0]);
            }
        }
        let setups: [(Setup, bool); 3] = [
            (|x| ccitt(x, false, false), false),
            // BlackIs1 with an inverted Decode (Tesseract, many scanners): still black.
            (|x| ccitt(x, true, true), false),
            // BlackIs1 alone: the picture as written is a negative.
            (|x| ccitt(x, true, false), true),
        ];
        // Cut off halfway: an error, not half a page; Group 3: refused by name.
        let cut = Img {
            width: w,
            height: h,
            data: g4[..g4.len() / 2].to_vec(),
            setup: |x| ccitt(x, false, false),
        };
        let code = |img| decode(pdf(vec![(Some(img), 0)]), &Limits::default()).unwrap_err();
        assert_eq!(code(cut).code(), "corrupt_file");
        let g3 = Img {
            width: w,
            height: h,
            data: g4.clone(),
            setup: |x| {
                x.filter(Filter::CcittFaxDecode);
                x.decode_parms().k(0).columns(64);
                x.color_space().device_gray();
                x.bits_per_component(1);
            },
        };
        assert_eq!(code(g3).code(), "unsupported_layout");
        for (i, (setup, negative)) in setups.into_iter().enumerate() {
            let img = Img {
                width: w,
                height: h,
                data: g4.clone(),
                setup,
            };
            let d = open_all(pdf(vec![(Some(img), 0)]), &Limits::default()).unwrap();
            let p = &d.pages[0];
            assert!(p.bilevel, "case {i}");
            let g = p.image.to_luma8();
            for (x, y) in [(0, 0), (10, 5), (30, 31), (63, 17)] {
                let want = if black(x) != negative { 0 } else { 255 };
                assert_eq!(g.get_pixel(x, y).0, [want], "case {i} at {x},{y}");
            }
        }
    }

    #[test]
    fn indexed_and_one_bit_images_are_unpacked() {
        // 1-bit gray, rows padded to a byte: pixel x is black when x is even.
        let img = Img {
            width: 10,
            height: 2,
            data: vec![0b0101_0101, 0b0100_0000, 0b0101_0101, 0b0100_0000],
            setup: |x| {
                x.color_space().device_gray();
                x.bits_per_component(1);
            },
        };
        let d = open_all(pdf(vec![(Some(img), 0)]), &Limits::default()).unwrap();
        let g = d.pages[0].image.to_luma8();
        assert!(d.pages[0].bilevel);
        let row: Vec<u8> = (0..10).map(|x| g.get_pixel(x, 1).0[0]).collect();
        assert_eq!(row, [0, 255, 0, 255, 0, 255, 0, 255, 0, 255]);

        // 2-colour palette over RGB: index 0 red, 1 white.
        let img = Img {
            width: 2,
            height: 1,
            data: vec![0, 1],
            setup: |x| {
                x.color_space()
                    .indexed(Name(b"DeviceRGB"), 1, &[255, 0, 0, 255, 255, 255]);
                x.bits_per_component(8);
            },
        };
        let d = open_all(pdf(vec![(Some(img), 0)]), &Limits::default()).unwrap();
        let rgb = d.pages[0].image.to_rgb8();
        assert_eq!(rgb.get_pixel(0, 0).0, [255, 0, 0]);
        assert_eq!(rgb.get_pixel(1, 0).0, [255, 255, 255]);
    }

    #[test]
    fn bad_pdfs_fail_with_stable_codes() {
        let l = Limits::default();
        let code = |data: Arc<[u8]>, l: &Limits| open_all(data, l).unwrap_err().code();
        // Text or drawings only: nothing to read as a scan.
        assert_eq!(code(pdf(vec![(None, 0)]), &l), "unsupported_layout");
        // Cut off halfway, or not a PDF past its first line.
        let whole = pdf(vec![(Some(gray_flate(100, 100, |_, _| 255)), 0)]);
        assert_eq!(code(whole[..whole.len() / 2].into(), &l), "corrupt_file");
        assert_eq!(
            code(Arc::from(&b"%PDF-1.7\nnothing else"[..]), &l),
            "corrupt_file"
        );
        // Too many pages.
        let three = pdf((0..3)
            .map(|_| (Some(gray_flate(10, 10, |_, _| 255)), 0))
            .collect());
        let two = Limits {
            max_pages: 2,
            ..Limits::default()
        };
        assert_eq!(code(three, &two), "too_many_pages");
        // A page bigger than the pixel limit is refused before it is inflated.
        let big = pdf(vec![(Some(gray_flate(3000, 3000, |_, _| 255)), 0)]);
        let small = Limits {
            max_page_pixels: 1_000_000,
            ..Limits::default()
        };
        assert_eq!(code(big, &small), "page_too_large");
        // A stream that inflates far past the memory limit (a "zip bomb" declaring a small
        // image) fails instead of filling memory.
        let bomb = Img {
            width: 100,
            height: 100,
            data: miniz_oxide::deflate::compress_to_vec_zlib(&vec![0u8; 64 << 20], 9),
            setup: |x| {
                x.filter(Filter::FlateDecode);
                x.color_space().device_gray();
                x.bits_per_component(8);
            },
        };
        let tight = Limits {
            max_decode_alloc_bytes: 1 << 20,
            ..Limits::default()
        };
        assert!(matches!(
            code(pdf(vec![(Some(bomb), 0)]), &tight),
            "corrupt_file" | "decode_memory_limit"
        ));
        // Truncated image data.
        let short = Img {
            width: 100,
            height: 100,
            data: vec![255; 500],
            setup: |x| {
                x.color_space().device_gray();
                x.bits_per_component(8);
            },
        };
        assert_eq!(code(pdf(vec![(Some(short), 0)]), &l), "corrupt_file");
    }
}
