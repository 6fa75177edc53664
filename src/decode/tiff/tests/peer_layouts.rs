//! Layouts first met in other projects' test files (Pillow's): float data layers and pages
//! without PhotometricInterpretation, generated here.

use super::super::*;
use crate::decode::decode as decode_file;
use tiff::encoder::{TiffEncoder, colortype};

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
