//! Bytes → page images. Every input is untrusted: the type is sniffed from content, every size is
//! checked against [`Limits`] before pixels are allocated, and failures are typed with a stable code.
//!
//! A file decodes to a [`Document`] of [`DecodedPage`]s. Formats with several pages (TIFF,
//! image-only PDF) are page sources of their own; callers never branch on format.

mod dpi;
mod pdf;
#[cfg(test)]
mod peer_corpus;
mod raster;
mod tiff;

use std::sync::Arc;

use image::DynamicImage;
use image::metadata::Orientation;
use serde::Serialize;

use crate::config::Limits;
pub use pdf::{OriginalPage, Placement, TextLayer};

/// Input types recognised by their leading bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Jpeg,
    Png,
    Tiff,
    Webp,
    Pdf,
}

impl Format {
    pub fn sniff(bytes: &[u8]) -> Option<Format> {
        match bytes {
            [0xFF, 0xD8, 0xFF, ..] => Some(Format::Jpeg),
            [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(Format::Png),
            [b'I', b'I', 42, 0, ..] | [b'M', b'M', 0, 42, ..] => Some(Format::Tiff),
            // BigTIFF
            [b'I', b'I', 43, 0, ..] | [b'M', b'M', 0, 43, ..] => Some(Format::Tiff),
            [
                b'R',
                b'I',
                b'F',
                b'F',
                _,
                _,
                _,
                _,
                b'W',
                b'E',
                b'B',
                b'P',
                ..,
            ] => Some(Format::Webp),
            [b'%', b'P', b'D', b'F', b'-', ..] => Some(Format::Pdf),
            // PDF readers accept bytes before the header (a BOM, a mail or HTTP header some
            // portals leave in) within the first 1024 bytes, and so do we.
            _ if find(&bytes[..bytes.len().min(1024)], b"%PDF-").is_some() => Some(Format::Pdf),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::Tiff => "TIFF",
            Format::Webp => "WebP",
            Format::Pdf => "PDF",
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// An already-compressed form of a page that a PDF can embed as it is, saving a re-encode.
#[derive(Debug, Clone)]
pub enum Passthrough {
    /// The whole JPEG file (PDF `DCTDecode`).
    Jpeg { data: Arc<[u8]>, components: u8 },
    /// A PNG's concatenated IDAT zlib stream (PDF `FlateDecode` with PNG predictors).
    Png { idat: Vec<u8>, colors: u8, bits: u8 },
}

/// One page as decoded, before any normalization.
#[derive(Debug, Clone)]
pub struct DecodedPage {
    pub image: DynamicImage,
    /// Resolution stated by the file, if any and plausible (horizontal, when pixels are not
    /// square).
    pub dpi: Option<f32>,
    /// Vertical resolution, when the file states one that differs from `dpi` (standard G3/G4 fax
    /// is 204×98 or 200×100 dpi): `normalize` resamples such a page to square pixels.
    pub ydpi: Option<f32>,
    /// Orientation stated by EXIF metadata (phones), applied by `normalize`.
    pub orientation: Orientation,
    /// Every pixel is pure black or white (fax, G4 scans): rendered as 1-bit.
    pub bilevel: bool,
    pub passthrough: Option<Passthrough>,
    /// A PDF page's words from its own text layer, when it has a sound one (see
    /// `decode::pdf::text`): the page is then not OCRed, and `image` is a 1×1 placeholder.
    pub text_layer: Option<TextLayer>,
    /// A PDF page's own content, to show in the searchable PDF instead of `image`: set for
    /// pages read from their text layer and for rendered pages that draw no text at all.
    pub original: Option<Arc<OriginalPage>>,
    pub decode_ms: f64,
}

/// An opened input: its pages come one at a time, each decoded when asked for, so memory holds
/// only the pages being worked on.
pub struct Document {
    pub format: Format,
    pages: PageSource,
}

enum PageSource {
    Single(Option<DecodedPage>),
    Tiff(Box<tiff::TiffPages>),
    Pdf(Box<pdf::PdfPages>),
}

impl Iterator for Document {
    type Item = Result<DecodedPage, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.pages {
            PageSource::Single(page) => page.take().map(Ok),
            PageSource::Tiff(pages) => pages.next(),
            PageSource::Pdf(pages) => pages.next(),
        }
    }
}

/// Every page of a file, decoded at once (tests, small inputs).
#[derive(Debug)]
pub struct Decoded {
    pub format: Format,
    pub pages: Vec<DecodedPage>,
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is {size} bytes; the limit is {limit}")]
    FileTooLarge { size: u64, limit: u64 },
    #[error("not a supported type (expected JPEG, PNG, TIFF, WebP or image-only PDF){0}")]
    UnsupportedFormat(String),
    #[error("unsupported {format} layout: {detail}")]
    UnsupportedLayout {
        format: &'static str,
        detail: String,
    },
    #[error(
        "page {page} is {width}×{height} px; the limits are {max_pixels} px and {max_side} px a side"
    )]
    PageTooLarge {
        page: usize,
        width: u32,
        height: u32,
        max_pixels: u64,
        max_side: u32,
    },
    #[error("the file has more than {limit} pages")]
    TooManyPages { limit: usize },
    #[error("corrupt or truncated {format} data: {detail}")]
    Corrupt {
        format: &'static str,
        detail: String,
    },
    #[error("decoding page {page} would need more memory than the {limit}-byte limit")]
    OutOfMemoryLimit { page: usize, limit: u64 },
    #[error("page {page} took the PDF renderer longer than the {limit_ms} ms limit")]
    PageTimeout { page: usize, limit_ms: u64 },
    #[error("the {format} is password-protected: {detail}; upload it without the password")]
    PasswordProtected {
        format: &'static str,
        detail: String,
    },
}

impl DecodeError {
    /// Stable, machine-readable code: part of the API, never renamed.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::Empty => "empty_file",
            DecodeError::FileTooLarge { .. } => "file_too_large",
            DecodeError::UnsupportedFormat(_) => "unsupported_format",
            DecodeError::UnsupportedLayout { .. } => "unsupported_layout",
            DecodeError::PageTooLarge { .. } => "page_too_large",
            DecodeError::TooManyPages { .. } => "too_many_pages",
            DecodeError::Corrupt { .. } => "corrupt_file",
            DecodeError::OutOfMemoryLimit { .. } => "decode_memory_limit",
            DecodeError::PageTimeout { .. } => "page_timeout",
            DecodeError::PasswordProtected { .. } => "password_protected",
        }
    }
}

pub(crate) fn check_page_size(
    page: usize,
    width: u32,
    height: u32,
    limits: &Limits,
) -> Result<(), DecodeError> {
    let too_large = width == 0
        || height == 0
        || width > limits.max_page_side
        || height > limits.max_page_side
        || u64::from(width) * u64::from(height) > limits.max_page_pixels;
    if too_large {
        return Err(DecodeError::PageTooLarge {
            page,
            width,
            height,
            max_pixels: limits.max_page_pixels,
            max_side: limits.max_page_side,
        });
    }
    Ok(())
}

/// Opens `data`: checks size and type and, for single-image formats, decodes the page. The bytes
/// are shared so that a JPEG can pass through to the PDF untouched.
pub fn open(data: Arc<[u8]>, limits: &Limits) -> Result<Document, DecodeError> {
    if data.is_empty() {
        return Err(DecodeError::Empty);
    }
    let size = data.len() as u64;
    if size > limits.max_file_bytes {
        return Err(DecodeError::FileTooLarge {
            size,
            limit: limits.max_file_bytes,
        });
    }
    let format =
        Format::sniff(&data).ok_or_else(|| DecodeError::UnsupportedFormat(String::new()))?;
    let pages = match format {
        Format::Tiff => PageSource::Tiff(Box::new(tiff::TiffPages::open(data, limits)?)),
        Format::Jpeg | Format::Png | Format::Webp => {
            PageSource::Single(Some(raster::decode(format, data, limits)?))
        }
        Format::Pdf => PageSource::Pdf(Box::new(pdf::PdfPages::open(data, limits)?)),
    };
    Ok(Document { format, pages })
}

/// Opens `data` and decodes every page.
pub fn decode(data: Arc<[u8]>, limits: &Limits) -> Result<Decoded, DecodeError> {
    let doc = open(data, limits)?;
    let format = doc.format;
    Ok(Decoded {
        format,
        pages: doc.collect::<Result<_, _>>()?,
    })
}

/// True when every byte of a grayscale buffer is 0 or 255.
pub(crate) fn is_bilevel(gray: &[u8]) -> bool {
    gray.iter().all(|&v| v == 0 || v == 255)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(img: &DynamicImage, fmt: image::ImageFormat) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, fmt).unwrap();
        out.into_inner()
    }

    #[test]
    fn sniffs_by_content_not_name() {
        assert_eq!(Format::sniff(b"\xFF\xD8\xFF\xE0rest"), Some(Format::Jpeg));
        assert_eq!(Format::sniff(b"%PDF-1.7"), Some(Format::Pdf));
        assert_eq!(Format::sniff(b"II*\0"), Some(Format::Tiff));
        assert_eq!(Format::sniff(b"<html>"), None);
        // Bytes before the header, within the first 1024, as PDF readers accept.
        assert_eq!(Format::sniff(b"\xEF\xBB\xBF%PDF-1.4"), Some(Format::Pdf));
        let mut late = vec![b' '; 1100];
        late.extend_from_slice(b"%PDF-1.4");
        assert_eq!(Format::sniff(&late), None);
    }

    #[test]
    fn rejects_empty_unknown_and_oversized() {
        let l = Limits::default();
        assert_eq!(
            decode(Arc::from(&b""[..]), &l).unwrap_err().code(),
            "empty_file"
        );
        assert_eq!(
            decode(Arc::from(&b"hello world"[..]), &l)
                .unwrap_err()
                .code(),
            "unsupported_format"
        );
        let small = Limits {
            max_file_bytes: 4,
            ..Limits::default()
        };
        assert_eq!(
            decode(Arc::from(&b"\xFF\xD8\xFF\xE0xx"[..]), &small)
                .unwrap_err()
                .code(),
            "file_too_large"
        );
    }

    #[test]
    fn refuses_pages_over_the_pixel_limit_before_decoding() {
        let img = DynamicImage::new_luma8(300, 200);
        let png = encode(&img, image::ImageFormat::Png);
        let l = Limits {
            max_page_pixels: 300 * 199,
            ..Limits::default()
        };
        let err = decode(png.into(), &l).unwrap_err();
        assert_eq!(err.code(), "page_too_large", "{err}");
    }

    /// A header declaring a huge page is refused with the size it declares, not "0×0".
    #[test]
    fn a_huge_declared_page_is_refused_with_its_declared_size() {
        fn crc32(bytes: &[u8]) -> u32 {
            let mut c = !0u32;
            for &b in bytes {
                c ^= u32::from(b);
                for _ in 0..8 {
                    c = if c & 1 == 1 {
                        (c >> 1) ^ 0xEDB8_8320
                    } else {
                        c >> 1
                    };
                }
            }
            !c
        }
        let img = DynamicImage::new_luma8(8, 8);
        let mut png = encode(&img, image::ImageFormat::Png);
        // IHDR: width and height at 16..24, its CRC over type and data at 29..33.
        png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        let mut jpeg = encode(&img, image::ImageFormat::Jpeg);
        let sof = jpeg
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("baseline SOF");
        // FFC0, length (2), precision (1), height (2), width (2).
        jpeg[sof + 5..sof + 7].copy_from_slice(&65_500u16.to_be_bytes());
        jpeg[sof + 7..sof + 9].copy_from_slice(&65_500u16.to_be_bytes());
        for (bytes, side) in [(png, 100_000), (jpeg, 65_500)] {
            match decode(bytes.into(), &Limits::default()) {
                Err(DecodeError::PageTooLarge { width, height, .. }) => {
                    assert_eq!((width, height), (side, side));
                }
                Err(e) => panic!("{side}: {e}"),
                Ok(_) => panic!("{side}: decoded"),
            }
        }
    }

    #[test]
    fn truncated_jpeg_and_png_are_corrupt() {
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(64, 64, |x, y| {
            image::Rgb([x as u8, y as u8, 7])
        }));
        for fmt in [image::ImageFormat::Jpeg, image::ImageFormat::Png] {
            let full = encode(&img, fmt);
            assert!(decode(full.clone().into(), &Limits::default()).is_ok());
            let cut = &full[..full.len() * 2 / 3];
            let err = decode(cut.into(), &Limits::default()).unwrap_err();
            assert_eq!(err.code(), "corrupt_file", "{fmt:?}: {err}");
        }
    }

    #[test]
    fn jpeg_passes_through_and_png_bilevel_is_detected() {
        let img = DynamicImage::ImageLuma8(image::GrayImage::from_fn(40, 30, |x, _| {
            image::Luma([if x % 2 == 0 { 0 } else { 255 }])
        }));
        let doc = decode(
            encode(&img, image::ImageFormat::Png).into(),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(doc.format, Format::Png);
        assert!(doc.pages[0].bilevel);
        assert!(matches!(
            doc.pages[0].passthrough,
            Some(Passthrough::Png {
                colors: 1,
                bits: 8,
                ..
            })
        ));
        let jpg = encode(&img, image::ImageFormat::Jpeg);
        let doc = decode(jpg.into(), &Limits::default()).unwrap();
        assert!(matches!(
            doc.pages[0].passthrough,
            Some(Passthrough::Jpeg { components: 1, .. })
        ));
    }
}
