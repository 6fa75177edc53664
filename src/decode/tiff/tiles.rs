//! Tiled images with one plane per sample (PlanarConfiguration=2), read tile by tile.
//!
//! The crate (0.11.3, the newest; image-rs/image-tiff#403, open) works out each tile's size from
//! its index as if every plane's tiles continued the first plane's grid further down: the bottom
//! tiles of the second and later planes are taken as full-height, overflow their place in the
//! whole-image buffer, and an assertion fires. Its chunk API still decodes each tile correctly
//! (into a buffer of the size it believes in), so the planes are put together here from
//! `read_chunk`, tile `i` of plane `p` being chunk `p × tiles_per_plane + i`.

use std::io::{Read, Seek};

use tiff::TiffError;
use tiff::decoder::{Decoder, DecodingResult};

/// Why the tiles could not be put together.
pub(super) enum Error {
    Tiff(TiffError),
    /// The whole image would take more than this many bytes.
    TooLarge,
    Unsupported(String),
    Corrupt(String),
}

impl From<TiffError> for Error {
    fn from(e: TiffError) -> Self {
        Error::Tiff(e)
    }
}

/// Every plane of the current image, one after the other, as `read_image_to_buffer` would
/// return them. `bits` is the bits per sample, `planes` the samples per pixel.
pub(super) fn read_planes<R: Read + Seek>(
    dec: &mut Decoder<R>,
    (width, height): (u32, u32),
    bits: u8,
    planes: u16,
    max_bytes: u64,
) -> Result<DecodingResult, Error> {
    if !bits.is_multiple_of(8) {
        return Err(Error::Unsupported(format!(
            "{bits}-bit samples in planar tiles"
        )));
    }
    let sample = usize::from(bits / 8);
    let (tw, th) = dec.chunk_dimensions();
    if tw == 0 || th == 0 {
        return Err(Error::Corrupt("zero tile size".into()));
    }
    let (across, down) = (width.div_ceil(tw), height.div_ceil(th));
    let per_plane = across * down;
    if u64::from(dec.tile_count()?) != u64::from(per_plane) * u64::from(planes) {
        return Err(Error::Corrupt(
            "tile count does not match the planes".into(),
        ));
    }
    let plane_len = width as usize * height as usize;
    let total = plane_len as u64 * u64::from(planes) * sample as u64;
    if total > max_bytes {
        return Err(Error::TooLarge);
    }
    let (w, plane_len, planes_n) = (width as usize, plane_len * sample, usize::from(planes));
    let mut out: Option<DecodingResult> = None;
    for p in 0..u32::from(planes) {
        for i in 0..per_plane {
            let index = p * per_plane + i;
            let mut tile = dec.read_chunk(index)?;
            // The size the crate decoded the tile at: right width, maybe too many rows.
            let (got_w, got_h) = dec.chunk_data_dimensions(index);
            let (col, row) = (i % across, i / across);
            let cw = tw.min(width - col * tw) as usize;
            let ch = th.min(height - row * th) as usize;
            let (got_w, got_h) = (got_w as usize, got_h as usize);
            let out = out.get_or_insert_with(|| zeroed_like(&tile, w * height as usize * planes_n));
            let src = tile.as_buffer(0);
            let src = src.as_bytes();
            if got_w < cw || got_h < ch || src.len() < got_w * got_h * sample {
                return Err(Error::Corrupt(format!("tile {index} is short")));
            }
            let mut dst = out.as_buffer(0);
            let dst = dst.as_bytes_mut();
            if dst.len() != plane_len * planes_n {
                return Err(Error::Corrupt("samples do not match BitsPerSample".into()));
            }
            for y in 0..ch {
                let from = y * got_w * sample;
                let to = p as usize * plane_len
                    + ((row * th) as usize + y) * w * sample
                    + (col * tw) as usize * sample;
                dst[to..to + cw * sample].copy_from_slice(&src[from..from + cw * sample]);
            }
        }
    }
    out.ok_or_else(|| Error::Corrupt("no tiles".into()))
}

/// A buffer of `len` zero samples of the same type as `like`.
fn zeroed_like(like: &DecodingResult, len: usize) -> DecodingResult {
    use DecodingResult as D;
    match like {
        D::U8(_) => D::U8(vec![0; len]),
        D::U16(_) => D::U16(vec![0; len]),
        D::U32(_) => D::U32(vec![0; len]),
        D::U64(_) => D::U64(vec![0; len]),
        D::F16(_) => D::F16(vec![Default::default(); len]),
        D::F32(_) => D::F32(vec![0.0; len]),
        D::F64(_) => D::F64(vec![0.0; len]),
        D::I8(_) => D::I8(vec![0; len]),
        D::I16(_) => D::I16(vec![0; len]),
        D::I32(_) => D::I32(vec![0; len]),
        D::I64(_) => D::I64(vec![0; len]),
    }
}
