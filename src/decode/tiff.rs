//! TIFF, including multi-page files and CCITT fax scans, through the `tiff` crate (the `image`
//! crate reads only the first page of a TIFF). What the crate leaves to its caller lives in the
//! submodules: sample conversion, the byte patches that let it read palette and FillOrder=2
//! images, and the Group 3 / LSB-first fax strips it cannot decode.

mod ccitt;
mod patch;
mod samples;
mod tiles;

use std::io::Cursor;
use std::sync::Arc;
use std::time::Instant;

use image::metadata::Orientation;
use image::{DynamicImage, GrayImage};
use tiff::TiffError;
use tiff::decoder::{Decoder, DecodingResult};
use tiff::tags::Tag;

use super::{DecodeError, DecodedPage, check_page_size, dpi};
use crate::config::Limits;

const NAME: &str = "TIFF";

type Dec = Decoder<Cursor<Arc<[u8]>>>;

/// Pages of a TIFF, decoded one at a time so a long batch never sits in memory whole.
pub(super) struct TiffPages {
    dec: Dec,
    data: Arc<[u8]>,
    limits: Limits,
    index: usize,
    done: bool,
}

fn decoder(data: Arc<[u8]>, limits: &Limits) -> Result<Dec, TiffError> {
    let mut tl = tiff::decoder::Limits::default();
    tl.decoding_buffer_size = usize::try_from(limits.max_decode_alloc_bytes).unwrap_or(usize::MAX);
    Ok(Decoder::new(Cursor::new(data))?.with_limits(tl))
}

impl TiffPages {
    pub(super) fn open(data: Arc<[u8]>, limits: &Limits) -> Result<Self, DecodeError> {
        let data = patch::tiles_under_strip_tags(&data).map_or(data, Arc::from);
        let data = patch::missing_photometric(&data).map_or(data, Arc::from);
        let dec = decoder(data.clone(), limits).map_err(|e| map_err(0, limits, e))?;
        Ok(Self {
            dec,
            data,
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
        let (dpi, ydpi) = dpi::pair(resolution(dec), width, height);
        let orientation = dec
            .find_tag_unsigned::<u8>(Tag::Orientation)
            .ok()
            .flatten()
            .and_then(Orientation::from_exif)
            .unwrap_or(Orientation::NoTransforms);
        let tag = |dec: &mut Dec, t: Tag| dec.find_tag_unsigned::<u32>(t).ok().flatten();
        let compression = tag(dec, Tag::Compression).unwrap_or(1);
        let photometric = tag(dec, Tag::PhotometricInterpretation);
        let lsb_first = tag(dec, Tag::FillOrder) == Some(2);
        let unsupported = |detail: String| DecodeError::UnsupportedLayout {
            format: NAME,
            detail: format!("page {index}: {detail}"),
        };

        let (image, bilevel) = if matches!(compression, 2 | 3) || (compression == 4 && lsb_first) {
            let pixels = u64::from(width) * u64::from(height);
            if pixels > limits.max_decode_alloc_bytes {
                return Err(DecodeError::OutOfMemoryLimit {
                    page: index,
                    limit: limits.max_decode_alloc_bytes,
                });
            }
            if dec.find_tag(Tag::TileOffsets).ok().flatten().is_some() {
                return Err(unsupported("tiled CCITT data".into()));
            }
            let options = match compression {
                3 => tag(dec, Tag::Unknown(292)),
                4 => tag(dec, Tag::Unknown(293)),
                _ => None,
            };
            let fax = ccitt::Fax {
                width,
                height,
                compression: compression as u16,
                options: options.unwrap_or(0),
                rows_per_strip: tag(dec, Tag::RowsPerStrip).unwrap_or(height),
                lsb_first,
                black_is_zero: photometric == Some(1),
            };
            let (offsets, counts) = patch::chunk_ranges(dec)
                .ok_or_else(|| corrupt(index, "no strip offsets".into()))?;
            let data = &self.data;
            let strips = offsets.iter().zip(&counts).map(|(&o, &c)| {
                let start = usize::try_from(o).ok()?;
                data.get(start..start.checked_add(usize::try_from(c).ok()?)?)
            });
            let gray = ccitt::decode(&fax, strips).map_err(|(unsup, detail)| {
                if unsup {
                    unsupported(detail)
                } else {
                    corrupt(index, detail)
                }
            })?;
            let img = GrayImage::from_raw(width, height, gray)
                .ok_or_else(|| corrupt(index, "short CCITT data".into()))?;
            (DynamicImage::ImageLuma8(img), true)
        } else if photometric == Some(6) && !matches!(compression, 6 | 7) {
            // Outside JPEG the crate would hand over subsampled chroma as if it were not.
            return Err(unsupported("YCbCr samples without JPEG compression".into()));
        } else if photometric == Some(3) || (lsb_first && !matches!(compression, 6 | 7)) {
            // Palette or LSB-first: decode a patched copy (see `patch`).
            let palette = photometric == Some(3);
            let mut copy = self.data.to_vec();
            let ifd = dec.ifd_pointer().map(|p| p.0);
            if palette {
                ifd.and_then(|at| patch::photometric_to_gray(&mut copy, at))
                    .ok_or_else(|| corrupt(index, "unreadable palette directory".into()))?;
            }
            if lsb_first {
                patch::reverse_chunks(dec, &mut copy)
                    .ok_or_else(|| corrupt(index, "unreadable strip offsets".into()))?;
            }
            let mut patched = decoder(Arc::from(copy), limits).map_err(err)?;
            patched.seek_to_image(index).map_err(err)?;
            let colormap = if palette {
                Some(dec.get_tag_u16_vec(Tag::ColorMap).map_err(err)?)
            } else {
                None
            };
            read_samples(&mut patched, width, height, colormap, index, limits)?
        } else {
            read_samples(dec, width, height, None, index, limits)?
        };
        Ok(DecodedPage {
            image,
            dpi,
            ydpi,
            orientation,
            bilevel,
            passthrough: None,
            text_layer: None,
            original: None,
            decode_ms: started.elapsed().as_secs_f64() * 1e3,
        })
    }
}

/// Decodes every sample plane of the current image and converts it (see `samples`).
fn read_samples(
    dec: &mut Dec,
    width: u32,
    height: u32,
    palette: Option<Vec<u16>>,
    index: usize,
    limits: &Limits,
) -> Result<(DynamicImage, bool), DecodeError> {
    let err = |e| map_err(index, limits, e);
    let color = dec.colortype().map_err(err)?;
    let planar = dec
        .find_tag_unsigned::<u16>(Tag::PlanarConfiguration)
        .ok()
        .flatten()
        == Some(2);
    let alpha = match dec
        .find_tag_unsigned_vec::<u16>(Tag::ExtraSamples)
        .ok()
        .flatten()
        .as_deref()
    {
        Some([1, ..]) => Some(true),
        Some([2, ..]) => Some(false),
        _ => None,
    };
    let too_large = DecodeError::OutOfMemoryLimit {
        page: index,
        limit: limits.max_decode_alloc_bytes,
    };
    let (bits, planes) = (color.bit_depth(), color.num_samples());
    let tiled = dec.get_chunk_type() == tiff::decoder::ChunkType::Tile;
    let pixels = if planar && tiled && planes > 1 {
        // The crate misplaces the later planes' tiles (see `tiles`).
        let max = limits.max_decode_alloc_bytes;
        tiles::read_planes(dec, (width, height), bits, planes, max).map_err(|e| match e {
            tiles::Error::Tiff(e) => err(e),
            tiles::Error::TooLarge => too_large,
            tiles::Error::Unsupported(d) => DecodeError::UnsupportedLayout {
                format: NAME,
                detail: format!("page {index}: {d}"),
            },
            tiles::Error::Corrupt(d) => corrupt(index, d),
        })?
    } else {
        let mut pixels = DecodingResult::U8(Vec::new());
        let layout = dec.read_image_to_buffer(&mut pixels).map_err(err)?;
        if pixels.as_buffer(0).as_bytes().len() < layout.complete_len {
            // The crate falls back to the first plane when all of them exceed its limit.
            return Err(too_large);
        }
        pixels
    };
    let l = samples::Layout {
        width,
        height,
        color,
        planar,
        palette,
        alpha,
    };
    samples::to_image(&l, pixels).map_err(|detail| DecodeError::UnsupportedLayout {
        format: NAME,
        detail: format!("page {index}: {detail}"),
    })
}

fn corrupt(page: usize, detail: String) -> DecodeError {
    DecodeError::Corrupt {
        format: NAME,
        detail: format!("page {page}: {detail}"),
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
        // The crate asserts on some inconsistent tile layouts instead of returning an error.
        let page = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.read_page()))
            .unwrap_or_else(|_| {
                Err(DecodeError::UnsupportedLayout {
                    format: NAME,
                    detail: format!("page {}: layout the TIFF decoder cannot handle", self.index),
                })
            });
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

#[cfg(test)]
mod tests;
