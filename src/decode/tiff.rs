//! TIFF, including multi-page files and CCITT Group 4 bilevel scans, through the `tiff` crate
//! (the `image` crate reads only the first page of a TIFF).

use std::io::Cursor;
use std::sync::Arc;
use std::time::Instant;

use image::metadata::Orientation;
use image::{DynamicImage, GrayImage, RgbImage};
use tiff::decoder::{Decoder, DecodingResult};
use tiff::tags::Tag;
use tiff::{ColorType, TiffError};

use super::{DecodeError, DecodedPage, check_page_size, dpi};
use crate::config::Limits;

const NAME: &str = "TIFF";

/// Pages of a TIFF, decoded one at a time so a long batch never sits in memory whole.
pub(super) struct TiffPages {
    dec: Decoder<Cursor<Arc<[u8]>>>,
    limits: Limits,
    index: usize,
    done: bool,
}

impl TiffPages {
    pub(super) fn open(data: Arc<[u8]>, limits: &Limits) -> Result<Self, DecodeError> {
        let mut tl = tiff::decoder::Limits::default();
        tl.decoding_buffer_size =
            usize::try_from(limits.max_decode_alloc_bytes).unwrap_or(usize::MAX);
        let dec = Decoder::new(Cursor::new(data))
            .map_err(|e| map_err(0, limits, e))?
            .with_limits(tl);
        Ok(Self {
            dec,
            limits: limits.clone(),
            index: 0,
            done: false,
        })
    }

    fn read_page(&mut self) -> Result<DecodedPage, DecodeError> {
        let started = Instant::now();
        let (index, limits) = (self.index, &self.limits);
        if index >= limits.max_pages {
            return Err(DecodeError::TooManyPages {
                limit: limits.max_pages,
            });
        }
        let dec = &mut self.dec;
        let err = |e| map_err(index, limits, e);
        let (width, height) = dec.dimensions().map_err(err)?;
        check_page_size(index, width, height, limits)?;
        let color = dec.colortype().map_err(err)?;
        let (dpi, ydpi) = dpi::pair(resolution(dec), width, height);
        let orientation = dec
            .find_tag_unsigned::<u8>(Tag::Orientation)
            .ok()
            .flatten()
            .and_then(Orientation::from_exif)
            .unwrap_or(Orientation::NoTransforms);
        let pixels = dec.read_image().map_err(err)?;
        let (image, bilevel) = to_image(color, width, height, pixels).ok_or_else(|| {
            DecodeError::UnsupportedLayout {
                format: NAME,
                detail: format!("page {index}: colour type {color:?}"),
            }
        })?;
        Ok(DecodedPage {
            image,
            dpi,
            ydpi,
            orientation,
            bilevel,
            passthrough: None,
            decode_ms: started.elapsed().as_secs_f64() * 1e3,
        })
    }
}

impl Iterator for TiffPages {
    type Item = Result<DecodedPage, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.index > 0 {
            if !self.dec.more_images() {
                self.done = true;
                return None;
            }
            if let Err(e) = self.dec.next_image() {
                self.done = true;
                return Some(Err(map_err(self.index, &self.limits, e)));
            }
        }
        let page = self.read_page();
        self.done = page.is_err();
        self.index += 1;
        Some(page)
    }
}

fn map_err(page: usize, limits: &Limits, e: TiffError) -> DecodeError {
    match e {
        TiffError::UnsupportedError(u) => DecodeError::UnsupportedLayout {
            format: NAME,
            detail: format!("page {page}: {u}"),
        },
        TiffError::LimitsExceeded => DecodeError::OutOfMemoryLimit {
            page,
            limit: limits.max_decode_alloc_bytes,
        },
        other => DecodeError::Corrupt {
            format: NAME,
            detail: format!("page {page}: {other}"),
        },
    }
}

/// (XResolution, YResolution) in dots per inch; YResolution defaults to XResolution.
fn resolution<R: std::io::Read + std::io::Seek>(dec: &mut Decoder<R>) -> Option<(f32, f32)> {
    let mut value = |tag| match dec.find_tag(tag).ok()?? {
        tiff::decoder::ifd::Value::Rational(n, d) if d != 0 => Some(n as f32 / d as f32),
        v => v.into_f32().ok(),
    };
    let x = value(Tag::XResolution)?;
    let y = value(Tag::YResolution).unwrap_or(x);
    // ResolutionUnit: 1 none, 2 inch (default), 3 centimetre.
    match dec
        .find_tag_unsigned::<u16>(Tag::ResolutionUnit)
        .ok()
        .flatten()
        .unwrap_or(2)
    {
        2 => Some((x, y)),
        3 => Some((x * 2.54, y * 2.54)),
        _ => None,
    }
}

/// Decoded samples → 8-bit gray or RGB. The `tiff` crate already maps WhiteIsZero to black = 0.
fn to_image(
    color: ColorType,
    w: u32,
    h: u32,
    pixels: DecodingResult,
) -> Option<(DynamicImage, bool)> {
    let n = w as usize * h as usize;
    match (color, pixels) {
        (ColorType::Gray(1), DecodingResult::U8(packed)) => {
            let row_bytes = (w as usize).div_ceil(8);
            let mut out = Vec::with_capacity(n);
            for row in packed.chunks(row_bytes).take(h as usize) {
                out.extend((0..w as usize).map(|x| {
                    if row[x / 8] & (0x80 >> (x % 8)) != 0 {
                        255
                    } else {
                        0
                    }
                }));
            }
            Some((
                DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, out)?),
                true,
            ))
        }
        (ColorType::Gray(8), DecodingResult::U8(v)) => {
            let bilevel = super::is_bilevel(&v);
            Some((
                DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, v)?),
                bilevel,
            ))
        }
        (ColorType::Gray(16), DecodingResult::U16(v)) => {
            let v = v.into_iter().map(|s| (s >> 8) as u8).collect();
            Some((
                DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, v)?),
                false,
            ))
        }
        (ColorType::RGB(8), DecodingResult::U8(v)) => {
            Some((DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, v)?), false))
        }
        (ColorType::RGBA(8), DecodingResult::U8(v)) => {
            let img = image::RgbaImage::from_raw(w, h, v)?;
            Some((
                super::raster::to_gray_or_rgb(DynamicImage::ImageRgba8(img)),
                false,
            ))
        }
        (ColorType::CMYK(8), DecodingResult::U8(v)) => {
            let rgb = v
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = 255 - u16::from(p[3]);
                    [0, 1, 2].map(|i| ((255 - u16::from(p[i])) * k / 255) as u8)
                })
                .collect();
            Some((
                DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, rgb)?),
                false,
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiff::encoder::{TiffEncoder, colortype};

    fn two_page_tiff() -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        let mut enc = TiffEncoder::new(&mut buf).unwrap();
        let a: Vec<u8> = (0..64 * 32).map(|i| (i % 251) as u8).collect();
        enc.write_image::<colortype::Gray8>(64, 32, &a).unwrap();
        let b: Vec<u8> = (0..16 * 8 * 3).map(|i| (i % 7) as u8).collect();
        enc.write_image::<colortype::RGB8>(16, 8, &b).unwrap();
        buf.into_inner()
    }

    #[test]
    fn reads_every_page() {
        let doc = super::super::decode(Arc::from(two_page_tiff()), &Limits::default()).unwrap();
        assert_eq!(doc.pages.len(), 2);
        assert_eq!(
            (doc.pages[0].image.width(), doc.pages[0].image.height()),
            (64, 32)
        );
        assert!(matches!(doc.pages[1].image, DynamicImage::ImageRgb8(_)));
    }

    #[test]
    fn page_limit_is_enforced() {
        let l = Limits {
            max_pages: 1,
            ..Limits::default()
        };
        let err = super::super::decode(Arc::from(two_page_tiff()), &l).unwrap_err();
        assert_eq!(err.code(), "too_many_pages");
    }

    #[test]
    fn pages_are_decoded_one_at_a_time() {
        let l = Limits {
            max_pages: 1,
            ..Limits::default()
        };
        let mut doc = super::super::open(Arc::from(two_page_tiff()), &l).unwrap();
        assert_eq!(doc.next().unwrap().unwrap().image.width(), 64);
        assert_eq!(doc.next().unwrap().unwrap_err().code(), "too_many_pages");
        assert!(doc.next().is_none());
    }

    #[test]
    fn truncated_tiff_is_corrupt() {
        let full = two_page_tiff();
        let err = super::super::decode(Arc::from(&full[..full.len() / 2]), &Limits::default())
            .unwrap_err();
        assert_eq!(err.code(), "corrupt_file", "{err}");
    }
}
