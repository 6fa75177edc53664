//! Page images as PDF image XObjects: compressed originals pass through untouched; other pages are
//! encoded compactly (1-bit Flate for black-and-white, JPEG otherwise).

use std::sync::Arc;

use image::DynamicImage;
use image::codecs::jpeg::JpegEncoder;
use miniz_oxide::deflate::compress_to_vec_zlib;
use pdf_writer::types::Predictor;
use pdf_writer::{Filter, Pdf, Ref};

use crate::decode::Passthrough;
use crate::normalize::Normalized;

#[derive(Debug, Clone)]
pub enum Encoded {
    Jpeg {
        data: Arc<[u8]>,
    },
    /// zlib data; `png_rows` when rows carry PNG filter bytes (PNG IDAT passthrough).
    Flate {
        data: Vec<u8>,
        png_rows: bool,
    },
}

/// A page image ready to embed.
#[derive(Debug, Clone)]
pub struct PdfImage {
    pub width: u32,
    pub height: u32,
    /// 1 (gray) or 3 (RGB).
    pub colors: u8,
    pub bits: u8,
    pub encoded: Encoded,
}

impl PdfImage {
    /// Size of the embedded image data.
    pub fn bytes(&self) -> usize {
        match &self.encoded {
            Encoded::Jpeg { data } => data.len(),
            Encoded::Flate { data, .. } => data.len(),
        }
    }

    pub(super) fn write(&self, pdf: &mut Pdf, id: Ref) {
        let data: &[u8] = match &self.encoded {
            Encoded::Jpeg { data } => data,
            Encoded::Flate { data, .. } => data,
        };
        let mut x = pdf.image_xobject(id, data);
        x.width(self.width as i32)
            .height(self.height as i32)
            .bits_per_component(i32::from(self.bits));
        if self.colors == 1 {
            x.color_space().device_gray();
        } else {
            x.color_space().device_rgb();
        }
        match &self.encoded {
            Encoded::Jpeg { .. } => {
                x.filter(Filter::DctDecode);
            }
            Encoded::Flate { png_rows, .. } => {
                x.filter(Filter::FlateDecode);
                if *png_rows {
                    x.decode_parms()
                        .predictor(Predictor::PngOptimum)
                        .colors(i32::from(self.colors))
                        .bits_per_component(i32::from(self.bits))
                        .columns(self.width as i32);
                }
            }
        }
    }
}

/// Chooses and performs the encoding of a normalized page's display image (CPU-heavy: run in parallel).
pub fn prepare_image(page: &Normalized, jpeg_quality: u8) -> PdfImage {
    let img = &page.display;
    let (width, height) = (img.width(), img.height());
    match &page.passthrough {
        Some(Passthrough::Jpeg { data, components }) => {
            return PdfImage {
                width,
                height,
                colors: *components,
                bits: 8,
                encoded: Encoded::Jpeg { data: data.clone() },
            };
        }
        Some(Passthrough::Png { idat, colors, bits }) => {
            let encoded = Encoded::Flate {
                data: idat.clone(),
                png_rows: true,
            };
            return PdfImage {
                width,
                height,
                colors: *colors,
                bits: *bits,
                encoded,
            };
        }
        None => {}
    }
    if page.bilevel
        && let DynamicImage::ImageLuma8(g) = img
    {
        let data = compress_to_vec_zlib(&pack_bits(g), 6);
        return PdfImage {
            width,
            height,
            colors: 1,
            bits: 1,
            encoded: Encoded::Flate {
                data,
                png_rows: false,
            },
        };
    }
    let mut out = Vec::new();
    let colors = match img {
        DynamicImage::ImageLuma8(g) => {
            JpegEncoder::new_with_quality(&mut out, jpeg_quality)
                .encode_image(g)
                .expect("in-memory JPEG encode");
            1
        }
        other => {
            let rgb = other.to_rgb8();
            JpegEncoder::new_with_quality(&mut out, jpeg_quality)
                .encode_image(&rgb)
                .expect("in-memory JPEG encode");
            3
        }
    };
    PdfImage {
        width,
        height,
        colors,
        bits: 8,
        encoded: Encoded::Jpeg { data: out.into() },
    }
}

/// 8-bit 0/255 gray → 1 bit per pixel, rows padded to whole bytes, 1 = white (PDF DeviceGray).
fn pack_bits(g: &image::GrayImage) -> Vec<u8> {
    let w = g.width() as usize;
    let row_bytes = w.div_ceil(8);
    let mut out = vec![0u8; row_bytes * g.height() as usize];
    for (row, dst) in g
        .as_raw()
        .chunks_exact(w)
        .zip(out.chunks_exact_mut(row_bytes))
    {
        for (i, &v) in row.iter().enumerate() {
            if v >= 128 {
                dst[i / 8] |= 0x80 >> (i % 8);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_bits_msb_first_white_is_one() {
        let g =
            image::GrayImage::from_raw(10, 1, vec![255, 0, 0, 0, 0, 0, 0, 255, 255, 0]).unwrap();
        assert_eq!(pack_bits(&g), vec![0b1000_0001, 0b1000_0000]);
    }
}
