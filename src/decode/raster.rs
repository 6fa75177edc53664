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
    if format == Format::Png && png_compression_unknown(&data) {
        return Err(DecodeError::Corrupt {
            format: name,
            detail: "unknown compression method".into(),
        });
    }
    let data = match format {
        Format::Jpeg => jpeg_without_short_app14(data),
        _ => data,
    };
    let image_format = match format {
        Format::Jpeg => image::ImageFormat::Jpeg,
        Format::Png => image::ImageFormat::Png,
        _ => image::ImageFormat::WebP,
    };
    let mut reader = ImageReader::with_format(Cursor::new(&data[..]), image_format);
    let mut il = image::Limits::default();
    // No width/height bound here: the decoder would refuse the header without telling the
    // size, and `check_page_size` below reports the declared size (the allocation bound stays).
    il.max_alloc = Some(limits.max_decode_alloc_bytes);
    reader.limits(il);
    let err = |e| map_err(name, limits, e);
    let mut decoder = reader.into_decoder().map_err(err)?;
    let (width, height) = decoder.dimensions();
    check_page_size(0, width, height, limits)?;
    let color = decoder.color_type();
    let exif = match format {
        // A broken EXIF block must not fail a readable JPEG: it only loses the resolution.
        Format::Jpeg => decoder.exif_metadata().ok().flatten(),
        _ => None,
    };
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
        Format::Jpeg => dpi::jfif(&data).or_else(|| exif.as_deref().and_then(dpi::exif)),
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
        text_layer: None,
        original: None,
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

/// True when the header, an ICC profile or a compressed text chunk names a compression method
/// other than 0 (zlib, the only one PNG defines). The png crate does not look; other readers
/// refuse such a file.
fn png_compression_unknown(data: &[u8]) -> bool {
    let mut pos = 8;
    while let Some(head) = data.get(pos..pos + 8) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let Some(body) = data.get(pos + 8..(pos + 8).saturating_add(len)) else {
            return false;
        };
        let method = match &head[4..8] {
            b"IHDR" => body.get(10).copied(),
            // Keyword or profile name, NUL, method.
            b"iCCP" | b"zTXt" => body
                .iter()
                .position(|&b| b == 0)
                .and_then(|nul| body.get(nul + 1).copied()),
            b"IEND" => return false,
            _ => None,
        };
        if method.is_some_and(|m| m != 0) {
            return true;
        }
        pos += 12 + len;
    }
    false
}

/// libjpeg ignores an Adobe APP14 segment too short to hold its transform byte; zune-jpeg fails
/// the whole file. Such a segment is renamed APP15 (which every decoder skips) in a copy, so the
/// file decodes as other readers show it. Markers are walked up to the first scan only.
fn jpeg_without_short_app14(data: Arc<[u8]>) -> Arc<[u8]> {
    let mut pos = 2;
    let mut short = Vec::new();
    while pos + 4 <= data.len() && data[pos] == 0xFF {
        let marker = data[pos + 1];
        if marker == 0xFF {
            pos += 1; // fill byte
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            break;
        }
        let len = usize::from(u16::from_be_bytes([data[pos + 2], data[pos + 3]]));
        if marker == 0xEE && len < 14 && data.get(pos + 4..pos + 9) == Some(b"Adobe") {
            short.push(pos + 1);
        }
        pos += 2 + len;
    }
    if short.is_empty() {
        return data;
    }
    let mut copy = data.to_vec();
    for at in short {
        copy[at] = 0xEF;
    }
    copy.into()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg() -> Vec<u8> {
        let img =
            image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 90]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new(&mut out)
            .encode_image(&img)
            .unwrap();
        out
    }

    /// `data` with a segment (marker, payload) inserted right after SOI.
    fn with_segment(data: &[u8], marker: u8, payload: &[u8]) -> Arc<[u8]> {
        let mut out = data[..2].to_vec();
        out.extend_from_slice(&[0xFF, marker]);
        out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(payload);
        out.extend_from_slice(&data[2..]);
        out.into()
    }

    #[test]
    fn jpeg_exif_resolution_is_used_without_jfif_density() {
        let plain = decode(Format::Jpeg, jpeg().into(), &Limits::default()).unwrap();
        assert_eq!(plain.dpi, None);
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&super::super::dpi::tests::exif_block(200, 100, 2));
        let page = decode(
            Format::Jpeg,
            with_segment(&jpeg(), 0xE1, &app1),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!((page.dpi, page.ydpi), (Some(200.0), Some(100.0)));
    }

    #[test]
    fn short_adobe_segment_is_ignored() {
        // "Adobe" + version, flags0, flags1 but no transform byte: 11 bytes, length 13.
        let data = with_segment(&jpeg(), 0xEE, b"Adobe\0\x64\0\0\0\0");
        let page = decode(Format::Jpeg, data, &Limits::default()).unwrap();
        assert_eq!(page.image.width(), 64);
        assert!(matches!(
            page.passthrough,
            Some(Passthrough::Jpeg { components: 3, .. })
        ));
    }

    #[test]
    fn png_with_unknown_compression_method_is_corrupt() {
        let img = DynamicImage::new_luma8(8, 8);
        let mut png = std::io::Cursor::new(Vec::new());
        img.write_to(&mut png, image::ImageFormat::Png).unwrap();
        let mut png = png.into_inner();
        assert!(decode(Format::Png, png.clone().into(), &Limits::default()).is_ok());
        png[26] = 1;
        let err = decode(Format::Png, png.into(), &Limits::default()).unwrap_err();
        assert_eq!(err.code(), "corrupt_file");
    }
}
