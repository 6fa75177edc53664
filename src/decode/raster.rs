//! Single-image formats (JPEG, PNG, WebP) through the `image` crate.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Instant;

use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, error::LimitErrorKind};

use super::{DecodeError, DecodedPage, Format, Passthrough, check_page_size, dpi, is_bilevel};
use crate::config::Limits;

pub(super) fn decode(
    format: Format,
    data: Arc<[u8]>,
    limits: &Limits,
) -> Result<DecodedPage, DecodeError> {
    let started = Instant::now();
    let name = format.name();
    if format == Format::Jpeg && !jpeg_has_end(&data) {
        // Decoders happily return a half-grey page for a cut-off JPEG; a truncated upload must fail.
        return Err(DecodeError::Corrupt {
            format: name,
            detail: "no end-of-image marker (truncated?)".into(),
        });
    }
    let image_format = match format {
        Format::Jpeg => image::ImageFormat::Jpeg,
        Format::Png => image::ImageFormat::Png,
        _ => image::ImageFormat::WebP,
    };
    let mut reader = ImageReader::with_format(Cursor::new(&data[..]), image_format);
    let mut il = image::Limits::default();
    il.max_image_width = Some(limits.max_page_side);
    il.max_image_height = Some(limits.max_page_side);
    il.max_alloc = Some(limits.max_decode_alloc_bytes);
    reader.limits(il);
    let err = |e| map_err(name, limits, e);
    let mut decoder = reader.into_decoder().map_err(err)?;
    let (width, height) = decoder.dimensions();
    check_page_size(0, width, height, limits)?;
    let color = decoder.color_type();
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(err)?;
    let image = to_gray_or_rgb(image);

    let passthrough = match format {
        Format::Jpeg => match color {
            image::ColorType::L8 => Some(Passthrough::Jpeg {
                data: data.clone(),
                components: 1,
            }),
            image::ColorType::Rgb8 => Some(Passthrough::Jpeg {
                data: data.clone(),
                components: 3,
            }),
            _ => None,
        },
        Format::Png => png_passthrough(&data),
        _ => None,
    };
    let stated = match format {
        Format::Jpeg => dpi::jfif(&data),
        Format::Png => dpi::png(&data),
        _ => None,
    };
    let (dpi, ydpi) = dpi::pair(stated, width, height);
    let bilevel = matches!(&image, DynamicImage::ImageLuma8(g) if is_bilevel(g.as_raw()));
    Ok(DecodedPage {
        image,
        dpi,
        ydpi,
        orientation,
        bilevel,
        passthrough,
        decode_ms: started.elapsed().as_secs_f64() * 1e3,
    })
}

fn map_err(format: &'static str, limits: &Limits, e: ImageError) -> DecodeError {
    match e {
        ImageError::Limits(l) => match l.kind() {
            LimitErrorKind::DimensionError => DecodeError::PageTooLarge {
                page: 0,
                width: 0,
                height: 0,
                max_pixels: limits.max_page_pixels,
                max_side: limits.max_page_side,
            },
            _ => DecodeError::OutOfMemoryLimit {
                page: 0,
                limit: limits.max_decode_alloc_bytes,
            },
        },
        ImageError::Unsupported(u) => DecodeError::UnsupportedLayout {
            format,
            detail: u.to_string(),
        },
        other => DecodeError::Corrupt {
            format,
            detail: other.to_string(),
        },
    }
}

/// Pages are processed as 8-bit gray or RGB; alpha is flattened onto white paper.
pub(crate) fn to_gray_or_rgb(image: DynamicImage) -> DynamicImage {
    match image {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) => image,
        DynamicImage::ImageLuma16(_) => DynamicImage::ImageLuma8(image.to_luma8()),
        DynamicImage::ImageLumaA8(_) | DynamicImage::ImageLumaA16(_) => {
            let la = image.to_luma_alpha8();
            DynamicImage::ImageLuma8(image::GrayImage::from_fn(
                la.width(),
                la.height(),
                |x, y| {
                    let [l, a] = la.get_pixel(x, y).0;
                    image::Luma([on_white(l, a)])
                },
            ))
        }
        other if other.color().has_alpha() => {
            let rgba = other.to_rgba8();
            DynamicImage::ImageRgb8(image::RgbImage::from_fn(
                rgba.width(),
                rgba.height(),
                |x, y| {
                    let [r, g, b, a] = rgba.get_pixel(x, y).0;
                    image::Rgb([on_white(r, a), on_white(g, a), on_white(b, a)])
                },
            ))
        }
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    }
}

fn on_white(v: u8, a: u8) -> u8 {
    ((u16::from(v) * u16::from(a) + 255 * (255 - u16::from(a))) / 255) as u8
}

/// A JPEG's entropy-coded data escapes 0xFF, so FF D9 occurs only as the end-of-image marker.
fn jpeg_has_end(data: &[u8]) -> bool {
    data.windows(2).rev().any(|w| w == [0xFF, 0xD9])
}

/// Non-interlaced 8-bit gray/RGB or 1-bit gray PNGs embed in a PDF without re-encoding.
fn png_passthrough(data: &[u8]) -> Option<Passthrough> {
    let mut pos = 8;
    let mut idat = Vec::new();
    let mut header = None;
    while pos + 12 <= data.len() {
        let len = u32::from_be_bytes(data[pos..pos + 4].try_into().ok()?) as usize;
        let kind = &data[pos + 4..pos + 8];
        let body = data.get(pos + 8..pos + 8 + len)?;
        match kind {
            b"IHDR" if len >= 13 => header = Some((body[8], body[9], body[12])),
            b"IDAT" => idat.extend_from_slice(body),
            b"IEND" => break,
            _ => {}
        }
        pos += 12 + len;
    }
    let (bits, color_type, interlace) = header?;
    let colors = match (color_type, bits) {
        (0, 8) | (0, 1) => 1,
        (2, 8) => 3,
        _ => return None,
    };
    (interlace == 0 && !idat.is_empty()).then_some(Passthrough::Png { idat, colors, bits })
}
