//! PDF input: scans from scanner software, fax servers, phone apps and portals, and mixed files
//! (a typed cover letter in front of scans). The file is parsed with `lopdf` (the maintained Rust
//! PDF reader; it bounds what any stream may inflate to, so a decompression bomb fails instead of
//! filling memory). A page that is one image filling the page is decoded from that image: DCT goes
//! to the JPEG decoder (and passes through to our PDF unchanged), CCITT G4 to `fax` (already used
//! by the TIFF decoder), JBIG2 and JPEG 2000 to the hayro decoders (`codecs`), raw samples are
//! unpacked here. Any other page (text, several images, inline images, Group 3 fax…) is rendered
//! (`render`); `layout` tells the two apart. A rendered page with a sound text layer of its own
//! is read from that instead (`text`), and a page that is not one scan keeps its own content
//! for the searchable PDF (`original`).

mod budget;
mod codecs;
mod layout;
mod original;
mod render;
mod text;
mod xref_chain;

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

use image::metadata::Orientation;
use image::{DynamicImage, GrayImage, RgbImage};
use lopdf::{Dictionary, Document, LoadOptions, Object, ObjectId, Stream};

use self::layout::Layout;
pub use self::original::{OriginalPage, Placement};
pub use self::text::TextLayer;
use super::{DecodeError, DecodedPage, Format, check_page_size, dpi, raster};
use crate::config::Limits;

const NAME: &str = "PDF";

/// Pages of a PDF, each decoded when asked for.
pub(super) struct PdfPages {
    doc: Document,
    data: Arc<[u8]>,
    /// Parsed again by the renderer the first time a page is not one scan.
    renderer: OnceCell<Result<Arc<render::Renderer>, String>>,
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
            lopdf::Error::Decryption(e) => password_protected(e.to_string()),
            lopdf::Error::InvalidPassword => password_protected("a password is needed".into()),
            e => corrupt(e.to_string()),
        })?;
        // lopdf ends a looping /Prev chain and reads on; we refuse it (see `xref_chain`).
        if xref_chain::prev_chain_loops(&data) {
            return Err(corrupt(
                "the cross-reference sections' /Prev chain loops back on itself".into(),
            ));
        }
        // lopdf tries the empty user password itself: a file encrypted with an owner password
        // only (print/copy restrictions) is decrypted and read. One that needs a user password
        // loads with no objects and no decryption state.
        if doc.trailer.has(b"Encrypt") && doc.encryption_state.is_none() {
            return Err(password_protected(
                "it opens only with a user password".into(),
            ));
        }
        // A dynamic XFA form (LiveCycle) keeps its content in XML for the viewer to lay out;
        // its PDF pages only say "please wait", which is no document to read.
        if doc
            .catalog()
            .and_then(|c| c.get(b"NeedsRendering"))
            .and_then(Object::as_bool)
            .unwrap_or(false)
        {
            return Err(DecodeError::UnsupportedLayout {
                format: NAME,
                detail: "a dynamic XFA form: its pages are laid out by the viewer from XML".into(),
            });
        }
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
            data,
            renderer: OnceCell::new(),
            pages,
            limits: limits.clone(),
            index: 0,
            done: false,
        })
    }

    fn read_page(&self, index: usize) -> Result<DecodedPage, DecodeError> {
        let started = Instant::now();
        let page_id = self.pages[index];
        let err = |e: lopdf::Error| corrupt(format!("page {index}: {e}"));
        let (images, broken) = self.page_images(page_id).map_err(err)?;
        let usable = |i: &&PageImage| i.width > 0 && i.height > 0;
        let largest = images
            .iter()
            .filter(usable)
            .max_by_key(|i| i.width.saturating_mul(i.height));
        if largest.is_none() && broken > 0 {
            return Err(corrupt(format!(
                "page {index}: its image objects are missing (truncated file?)"
            )));
        }
        let (media, _) = self.page_geometry(page_id);
        let layout = match media {
            Some(m) => {
                let mut names = HashMap::new();
                if let Ok((own, inherited)) = self.doc.get_page_resources(page_id) {
                    for r in own.into_iter().chain(
                        inherited
                            .iter()
                            .filter_map(|id| self.doc.get_dictionary(*id).ok()),
                    ) {
                        layout::names_in(&self.doc, r, &mut names);
                    }
                }
                let content_limit = alloc_limit(&self.limits);
                layout::classify(&self.doc, page_id, &names, m.map(f64::from), content_limit)
            }
            None => Layout::Unknown,
        };
        let scan = match layout {
            Layout::Scan(id) => images.iter().find(|i| i.id == id).filter(usable),
            Layout::Unknown => largest,
            Layout::Render(_) => None,
        };
        if let Some(img) = scan {
            // Ok(None): a codec or layout of samples we do not decode ourselves.
            if let Some(mut page) = self.decode_scan(index, page_id, img)? {
                page.decode_ms = started.elapsed().as_secs_f64() * 1e3;
                return Ok(page);
            }
        }
        let reason = match layout {
            Layout::Render(r) => r,
            _ => "its image is in a form we do not decode directly",
        };
        let renderer = self.renderer.get_or_init(|| {
            render::Renderer::open(self.data.clone())
                .map(Arc::new)
                .map_err(|e| e.to_string())
        });
        let renderer = match renderer {
            Ok(r) => r,
            Err(e) => return Err(corrupt(e.clone())),
        };
        // A page with a sound text layer is read from it, and shown as it is: not rendered.
        let limits = self.limits.clone();
        let text_layer = budget::run(renderer, index, &self.limits, move |r| {
            r.text_layer(index, &limits)
        })?;
        let has_text = match text_layer? {
            Ok(layer) => match self.original(index, page_id, renderer) {
                Some(original) => {
                    let white = GrayImage::from_pixel(1, 1, image::Luma([255]));
                    let mut page = decoded(DynamicImage::ImageLuma8(white), false);
                    page.dpi = Some(layer.dpi);
                    page.text_layer = Some(layer);
                    page.original = Some(Arc::new(original));
                    page.decode_ms = started.elapsed().as_secs_f64() * 1e3;
                    return Ok(page);
                }
                None => true,
            },
            Err(r) if r.broken_image => {
                return Err(corrupt(format!("page {}: {}", index + 1, r.reason)));
            }
            Err(r) => {
                tracing::debug!(page = index, reason = r.reason, "text layer not used");
                r.has_text
            }
        };
        tracing::debug!(page = index, reason, "rendering PDF page");
        // The renderer decodes the page's images without our memory bound: refuse the ones it
        // could not hold before it starts.
        for i in &images {
            let px = u64::try_from(i.width.saturating_mul(i.height)).unwrap_or(u64::MAX);
            if px.saturating_mul(4) > self.limits.max_decode_alloc_bytes {
                return Err(DecodeError::OutOfMemoryLimit {
                    page: index,
                    limit: self.limits.max_decode_alloc_bytes,
                });
            }
        }
        // The renderer draws a broken image as nothing: a scan whose JPEG data is not JPEG
        // would pass as a blank page.
        for i in &images {
            let filters = i.stream.filters().unwrap_or_default();
            if filters == [b"DCTDecode".as_slice()]
                && image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(&i.stream.content))
                    .is_err()
            {
                return Err(corrupt(format!(
                    "page {index}: an image's JPEG data is broken"
                )));
            }
        }
        let limits = self.limits.clone();
        let mut page = budget::run(renderer, index, &self.limits, move |r| {
            r.render(index, &limits)
        })??;
        // A page that draws no text (a vector drawing, text in outlines, several images) keeps
        // its own content under our OCR layer; one with text would show that text twice.
        if !has_text {
            page.original = self.original(index, page_id, renderer).map(Arc::new);
        }
        page.decode_ms = started.elapsed().as_secs_f64() * 1e3;
        Ok(page)
    }

    /// The page's own content and the objects it needs, for the output PDF.
    fn original(
        &self,
        index: usize,
        page_id: ObjectId,
        renderer: &render::Renderer,
    ) -> Option<OriginalPage> {
        let placement = renderer.placement(index).ok()?;
        let copy = original::copy(&self.doc, page_id, placement, alloc_limit(&self.limits));
        if copy.is_none() {
            tracing::debug!(page = index, "page content not copied: shown as an image");
        }
        copy
    }

    /// The page's one scan image, decoded from its own data. `None` where its codec or sample
    /// layout is not one we decode (the page is rendered instead).
    fn decode_scan(
        &self,
        index: usize,
        page_id: ObjectId,
        img: &PageImage,
    ) -> Result<Option<DecodedPage>, DecodeError> {
        let limits = &self.limits;
        let err = |e: lopdf::Error| corrupt(format!("page {index}: {e}"));
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
                    // Group 3 (fax servers): the renderer's CCITT decoder reads it.
                    return Ok(None);
                }
                let image = fax_page(&bytes, width, height, black_is_1 != decode_inverted)
                    .map_err(|d| corrupt(format!("page {index}: {d}")))?;
                decoded(DynamicImage::ImageLuma8(image), true)
            }
            Some(b"JBIG2Decode") => {
                let globals = codec_params
                    .as_ref()
                    .and_then(|p| p.get(b"JBIG2Globals").ok())
                    .and_then(|o| self.resolve(o).as_stream().ok())
                    .map(|g| {
                        g.decompressed_content_with_limit(alloc_limit(limits))
                            .unwrap_or_else(|_| g.content.clone())
                    });
                codecs::jbig2(index, &bytes, globals.as_deref(), decode_inverted, limits)
                    .map_err(|d| corrupt(format!("page {index}: {d}")))?
            }
            Some(b"JPXDecode") => codecs::jpx(index, &bytes, limits)?,
            Some(_) => return Ok(None),
            None => match self.raw_page(index, dict, width, height, &bytes, decode_inverted) {
                Err(DecodeError::UnsupportedLayout { .. }) => return Ok(None),
                other => other?,
            },
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
            .map(|b| (b[2] - b[0], b[3] - b[1]))
            .filter(|&(w, h)| w > 0.0 && h > 0.0)
            .map(|(w, h)| (per_inch(width, w), per_inch(height, h)))
            .filter(|&(x, y)| dpi::plausible(x, width, height) && dpi::plausible(y, width, height))
            .unzip();
        page.dpi = x;
        // A fax drawn at 200×100 dpi fills the page with an image half as tall in pixels.
        page.ydpi = y.zip(x).and_then(|(y, x)| dpi::distinct(x, y));
        Ok(Some(page))
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

    /// The MediaBox (x0, y0, x1, y1 in points, normalized) and `/Rotate`, inherited as the spec
    /// says.
    fn page_geometry(&self, page: ObjectId) -> (Option<[f32; 4]>, i64) {
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
                    media = Some([
                        v[0].min(v[2]),
                        v[1].min(v[3]),
                        v[0].max(v[2]),
                        v[1].max(v[3]),
                    ]);
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
        text_layer: None,
        original: None,
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

fn password_protected(detail: String) -> DecodeError {
    DecodeError::PasswordProtected {
        format: NAME,
        detail,
    }
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
mod tests;
#[cfg(test)]
mod text_tests;
