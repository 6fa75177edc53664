//! Layouts first met in other projects' test files (Pillow's): tiled planar samples, float data
//! layers and pages without PhotometricInterpretation, generated here.

use super::super::*;
use super::{one_page, write_tiff};
use crate::decode::decode as decode_file;
use tiff::encoder::{TiffEncoder, colortype};

#[test]
fn tiled_planar_sixteen_bit_rgba_with_partial_edge_tiles() {
    // 20×18 RGBA, 16 bits, one plane per sample in 16×16 tiles: 4 tiles per plane, the right
    // and bottom ones padded (tiff 0.11.3 asserts on the second plane's bottom tiles).
    let (w, h) = (20u32, 18u32);
    let value = |p: u32, x: u32, y: u32| -> u16 {
        if p == 3 {
            0xFFFF
        } else {
            ((p * 80 + x * 3 + y) << 8) as u16
        }
    };
    let mut tiles = Vec::new();
    for p in 0..4 {
        for ty in 0..2 {
            for tx in 0..2 {
                let mut t = vec![0u8; 16 * 16 * 2];
                for y in 0..16 {
                    for x in 0..16 {
                        let (ix, iy) = (tx * 16 + x, ty * 16 + y);
                        if ix < w && iy < h {
                            let at = ((y * 16 + x) * 2) as usize;
                            t[at..at + 2].copy_from_slice(&value(p, ix, iy).to_le_bytes());
                        }
                    }
                }
                tiles.push(t);
            }
        }
    }
    let tags: &[(u16, &[u32])] = &[
        (256, &[w]),
        (257, &[h]),
        (258, &[16, 16, 16, 16]),
        (262, &[2]),
        (277, &[4]),
        (284, &[2]),
        (322, &[16]),
        (323, &[16]),
        (338, &[2]),
    ];
    let page = one_page(write_tiff(tags, &tiles, true));
    let rgb = page.image.to_rgb8();
    assert_eq!(rgb.dimensions(), (w, h));
    for (x, y, px) in rgb.enumerate_pixels() {
        let want = [0, 1, 2].map(|p| (value(p, x, y) >> 8) as u8);
        assert_eq!(px.0, want, "pixel {x},{y}");
    }
    // The planes' tiles are bounded by the memory limit like any other page.
    let small = Limits {
        max_decode_alloc_bytes: 1000,
        ..Limits::default()
    };
    let err = decode_file(Arc::from(write_tiff(tags, &tiles, true)), &small).unwrap_err();
    assert_eq!(err.code(), "decode_memory_limit");
}

/// `data` with the PhotometricInterpretation entry of page `page` renamed to an unused tag
/// (Threshholding, 263, keeps the entries sorted): the page has no PhotometricInterpretation.
fn without_photometric(mut data: Vec<u8>, page: usize) -> Vec<u8> {
    let mut dec = Decoder::new(Cursor::new(data.clone())).unwrap();
    dec.seek_to_image(page).unwrap();
    let ifd = dec.ifd_pointer().unwrap().0 as usize;
    let count = u16::from_le_bytes([data[ifd], data[ifd + 1]]) as usize;
    let at = (0..count)
        .map(|i| ifd + 2 + i * 12)
        .find(|&at| data[at..at + 2] == 262u16.to_le_bytes())
        .unwrap();
    data[at..at + 2].copy_from_slice(&263u16.to_le_bytes());
    data
}

#[test]
fn float_layers_and_pages_without_photometric_are_read_as_libtiff_guesses() {
    // An instrument's file: an image, a float data layer, then a mask and an RGB page without
    // PhotometricInterpretation (one channel is gray, three are RGB).
    let mut buf = Cursor::new(Vec::new());
    let mut enc = TiffEncoder::new(&mut buf).unwrap();
    enc.write_image::<colortype::Gray8>(4, 1, &[0, 85, 170, 255])
        .unwrap();
    enc.write_image::<colortype::Gray32Float>(4, 1, &[-0.5, 0.0, 1.5, 3.5])
        .unwrap();
    enc.write_image::<colortype::Gray8>(4, 1, &[255, 255, 0, 255])
        .unwrap();
    enc.write_image::<colortype::RGB8>(2, 1, &[255, 0, 0, 0, 0, 255])
        .unwrap();
    let file = without_photometric(without_photometric(buf.into_inner(), 2), 3);
    assert!(
        Decoder::new(Cursor::new(file.clone()))
            .unwrap()
            .seek_to_image(2)
            .is_err()
    );
    let doc = decode_file(Arc::from(file), &Limits::default()).unwrap();
    let gray: Vec<Vec<u8>> = doc.pages[..3]
        .iter()
        .map(|p| p.image.to_luma8().into_raw())
        .collect();
    assert_eq!(
        gray,
        [
            vec![0, 85, 170, 255],
            vec![0, 32, 128, 255],
            vec![255, 255, 0, 255]
        ]
    );
    assert_eq!(doc.pages.len(), 4);
    assert!(matches!(doc.pages[3].image, DynamicImage::ImageRgb8(_)));
    assert_eq!(
        doc.pages[3].image.to_rgb8().into_raw(),
        vec![255, 0, 0, 0, 0, 255]
    );
}
