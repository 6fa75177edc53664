//! Decoded TIFF samples → the 8-bit gray or RGB page the pipeline works on: 16-bit samples to
//! 8-bit, floating-point samples scaled (see [`floats_to_u8`]), planes interleaved, 2/4-bit gray
//! scaled, palettes expanded, YCbCr and CMYK to RGB and alpha flattened onto white paper. The
//! `tiff` crate hands over raw samples and leaves all of this to the caller.

use image::{DynamicImage, GrayImage, RgbImage};
use tiff::ColorType;
use tiff::decoder::DecodingResult;

/// What the samples mean, from the page's tags.
pub(super) struct Layout {
    pub width: u32,
    pub height: u32,
    /// Colour type the crate decoded (gray for a palette image, see `patch`).
    pub color: ColorType,
    /// PlanarConfiguration=2: one plane per sample.
    pub planar: bool,
    /// ColorMap of a palette image: every red, then every green, then every blue.
    pub palette: Option<Vec<u16>>,
    /// ExtraSamples: `Some(true)` premultiplied alpha, `Some(false)` straight alpha.
    pub alpha: Option<bool>,
}

/// Converts; `Err` describes a layout the pipeline cannot use.
pub(super) fn to_image(l: &Layout, pixels: DecodingResult) -> Result<(DynamicImage, bool), String> {
    let (w, h) = (l.width, l.height);
    let (bits, n) = match l.color {
        ColorType::Gray(b) => (b, 1),
        ColorType::RGB(b) | ColorType::YCbCr(b) => (b, 3),
        ColorType::RGBA(b) | ColorType::CMYK(b) => (b, 4),
        ColorType::CMYKA(b) => (b, 5),
        ColorType::Multiband {
            bit_depth,
            num_samples,
        } => (bit_depth, usize::from(num_samples)),
        other => return Err(format!("colour type {other:?}")),
    };
    if n == 0 {
        return Err("no samples".into());
    }
    let raw = to_u8(pixels, bits, n, w, h, l.planar, l.palette.is_none())?;
    let px = |f: &dyn Fn(&[u8]) -> [u8; 3]| raw.chunks_exact(n).flat_map(f).collect::<Vec<u8>>();
    let gray_img = |v: Vec<u8>| -> Result<(DynamicImage, bool), String> {
        let bilevel = super::super::is_bilevel(&v);
        let img = GrayImage::from_raw(w, h, v).ok_or("short sample data")?;
        Ok((DynamicImage::ImageLuma8(img), bilevel))
    };
    let rgb_img = |v: Vec<u8>| -> Result<(DynamicImage, bool), String> {
        let img = RgbImage::from_raw(w, h, v).ok_or("short sample data")?;
        Ok((DynamicImage::ImageRgb8(img), false))
    };
    let flatten = |v: u8, a: u8| match l.alpha {
        Some(true) => v.saturating_add(255 - a),
        _ => ((u16::from(v) * u16::from(a) + 255 * (255 - u16::from(a))) / 255) as u8,
    };
    if let Some(map) = &l.palette {
        if bits > 8 {
            return Err(format!("{bits}-bit palette"));
        }
        let entries = 1usize << bits;
        if map.len() < 3 * entries {
            return Err("ColorMap shorter than the palette".into());
        }
        let lut: Vec<[u8; 3]> = (0..entries)
            .map(|i| [0, 1, 2].map(|c| (map[c * entries + i] >> 8) as u8))
            .collect();
        let alpha = l.alpha.is_some() && n >= 2;
        let colour = |s: &[u8]| {
            let [r, g, b] = lut[usize::from(s[0])];
            if alpha {
                [r, g, b].map(|v| flatten(v, s[1]))
            } else {
                [r, g, b]
            }
        };
        if lut.iter().all(|[r, g, b]| r == g && g == b) {
            return gray_img(raw.chunks_exact(n).map(|s| colour(s)[0]).collect());
        }
        return rgb_img(px(&colour));
    }
    match l.color {
        ColorType::Gray(_) | ColorType::Multiband { .. } if n <= 2 => {
            if n == 2 && l.alpha.is_some() {
                gray_img(raw.chunks_exact(2).map(|s| flatten(s[0], s[1])).collect())
            } else if n == 2 {
                gray_img(raw.chunks_exact(2).map(|s| s[0]).collect())
            } else {
                gray_img(raw)
            }
        }
        ColorType::RGB(_) if n == 3 => rgb_img(raw),
        ColorType::RGBA(_) => rgb_img(px(&|s| [0, 1, 2].map(|c| flatten(s[c], s[3])))),
        ColorType::CMYK(_) | ColorType::CMYKA(_) => rgb_img(px(&|s| {
            let k = 255 - u16::from(s[3]);
            [0, 1, 2].map(|i| ((255 - u16::from(s[i])) * k / 255) as u8)
        })),
        ColorType::YCbCr(_) => rgb_img(px(&|s| ycbcr_to_rgb(s[0], s[1], s[2]))),
        other => Err(format!("colour type {other:?}")),
    }
}

/// Samples as one byte each, pixel-interleaved. Sub-byte gray is scaled to 0–255 when `scale`
/// (palette indices are not).
fn to_u8(
    pixels: DecodingResult,
    bits: u8,
    n: usize,
    w: u32,
    h: u32,
    planar: bool,
    scale: bool,
) -> Result<Vec<u8>, String> {
    let count = w as usize * h as usize;
    let planes = if planar { n } else { 1 };
    let per_plane = if planar { 1 } else { n };
    let v: Vec<u8> = match (pixels, bits) {
        (DecodingResult::U8(v), 8) => v,
        (DecodingResult::U16(v), 16) => v.into_iter().map(|s| (s >> 8) as u8).collect(),
        (DecodingResult::F16(v), 16) => floats_to_u8(v.iter().map(|s| s.to_f64())),
        (DecodingResult::F32(v), 32) => floats_to_u8(v.iter().map(|&s| f64::from(s))),
        (DecodingResult::F64(v), 64) => floats_to_u8(v.iter().copied()),
        (DecodingResult::U8(v), 1 | 2 | 4) if per_plane == 1 => {
            // Each plane is rows of packed samples, every row starting on a byte.
            let row_bytes = (w as usize * usize::from(bits)).div_ceil(8);
            let max = (1u16 << bits) - 1;
            let mut out = Vec::with_capacity(count * planes);
            for row in v.chunks(row_bytes).take(h as usize * planes) {
                out.extend((0..w as usize).map(|x| {
                    let bit = x * usize::from(bits);
                    let s = (row.get(bit / 8).copied().unwrap_or(0)
                        >> (8 - bits as usize - bit % 8))
                        & max as u8;
                    if scale {
                        (u16::from(s) * 255 / max) as u8
                    } else {
                        s
                    }
                }));
            }
            out
        }
        (_, b) => return Err(format!("{b}-bit samples")),
    };
    if v.len() < count * n {
        return Err("short sample data".into());
    }
    if !planar || n == 1 {
        return Ok(v);
    }
    let mut out = vec![0u8; count * n];
    for (p, plane) in v.chunks_exact(count).take(n).enumerate() {
        for (i, &s) in plane.iter().enumerate() {
            out[i * n + p] = s;
        }
    }
    Ok(out)
}

/// Floating-point samples (SampleFormat=3) as bytes. Data within 0–1 is an intensity, the usual
/// convention for float images, and keeps its look (a faint page stays faint). Anything else is a
/// measurement layer (a beam profile, a height map) with no fixed white: it is stretched from its
/// smallest to its largest value, as scientific viewers show it; a clamp to 0–1 or to 0–255 (what
/// Pillow does) would show such a layer as nearly all black or all white. NaN and infinities,
/// which have no place on that scale, become black; a constant layer outside 0–1 is blank.
fn floats_to_u8(samples: impl Iterator<Item = f64> + Clone) -> Vec<u8> {
    let (lo, hi) = samples
        .clone()
        .filter(|s| s.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), s| {
            (lo.min(s), hi.max(s))
        });
    let (lo, range) = if lo > hi || (lo >= 0.0 && hi <= 1.0) {
        (0.0, 1.0)
    } else {
        (lo, hi - lo)
    };
    samples
        .map(|s| match s {
            s if !s.is_finite() => 0,
            _ if range <= 0.0 => 255,
            s => ((s - lo) / range * 255.0).round().clamp(0.0, 255.0) as u8,
        })
        .collect()
}

/// ITU-R BT.601 full range, as JPEG (and libtiff's JPEGCOLORMODE_RGB) uses.
fn ycbcr_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let (y, cb, cr) = (f32::from(y), f32::from(cb) - 128.0, f32::from(cr) - 128.0);
    [
        y + 1.402 * cr,
        y - 0.344_136 * cb - 0.714_136 * cr,
        y + 1.772 * cb,
    ]
    .map(|v| v.round().clamp(0.0, 255.0) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(color: ColorType) -> Layout {
        Layout {
            width: 2,
            height: 1,
            color,
            planar: false,
            palette: None,
            alpha: None,
        }
    }

    #[test]
    fn planar_sixteen_bit_rgb_is_interleaved_and_narrowed() {
        let l = Layout {
            planar: true,
            ..layout(ColorType::RGB(16))
        };
        let planes = vec![0xFF00, 0x1000, 0x2000, 0x3000, 0x4000, 0x50FF];
        let (img, _) = to_image(&l, DecodingResult::U16(planes)).unwrap();
        assert_eq!(
            img.to_rgb8().into_raw(),
            vec![0xFF, 0x20, 0x40, 0x10, 0x30, 0x50]
        );
    }

    #[test]
    fn gray_alpha_flattens_onto_white() {
        let l = Layout {
            alpha: Some(false),
            ..layout(ColorType::Multiband {
                bit_depth: 8,
                num_samples: 2,
            })
        };
        let (img, _) = to_image(&l, DecodingResult::U8(vec![0, 0, 0, 255])).unwrap();
        assert_eq!(img.to_luma8().into_raw(), vec![255, 0]);
    }

    #[test]
    fn floats_within_zero_one_keep_their_scale_others_are_stretched() {
        let gray = |pixels| {
            let l = Layout {
                width: 4,
                ..layout(ColorType::Gray(32))
            };
            to_image(&l, DecodingResult::F32(pixels))
                .unwrap()
                .0
                .to_luma8()
                .into_raw()
        };
        assert_eq!(gray(vec![0.0, 0.5, 0.8, 1.0]), vec![0, 128, 204, 255]);
        // A measurement layer from −0.2 to 4.2: its own range spans black to white.
        assert_eq!(gray(vec![-0.2, 1.0, 2.0, 4.2]), vec![0, 70, 128, 255]);
        assert_eq!(
            gray(vec![f32::NAN, 0.0, f32::INFINITY, 1.0]),
            vec![0, 0, 0, 255]
        );
        assert_eq!(gray(vec![7.0; 4]), vec![255; 4]);
        let l = Layout {
            planar: true,
            ..layout(ColorType::RGB(64))
        };
        let rgb = to_image(&l, DecodingResult::F64(vec![0.0, 1.0, 0.0, 0.0, 1.0, 0.0]));
        assert_eq!(
            rgb.unwrap().0.to_rgb8().into_raw(),
            vec![0, 0, 255, 255, 0, 0]
        );
    }

    #[test]
    fn ycbcr_gray_axis_maps_to_gray() {
        assert_eq!(ycbcr_to_rgb(100, 128, 128), [100, 100, 100]);
        assert_eq!(ycbcr_to_rgb(76, 85, 255), [254, 0, 0]);
    }
}
