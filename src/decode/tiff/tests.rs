//! Every layout is generated here: by the `tiff` crate's encoder where it can write it, else by
//! [`write_tiff`], a minimal writer of hand-picked tags.

use super::*;
use crate::decode::{Decoded, decode as decode_file};
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
    let doc = decode_file(Arc::from(two_page_tiff()), &Limits::default()).unwrap();
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
    let err = decode_file(Arc::from(two_page_tiff()), &l).unwrap_err();
    assert_eq!(err.code(), "too_many_pages");
}

#[test]
fn pages_are_decoded_one_at_a_time() {
    let l = Limits {
        max_pages: 1,
        ..Limits::default()
    };
    let mut doc = crate::decode::open(Arc::from(two_page_tiff()), &l).unwrap();
    assert_eq!(doc.next().unwrap().unwrap().image.width(), 64);
    assert_eq!(doc.next().unwrap().unwrap_err().code(), "too_many_pages");
    assert!(doc.next().is_none());
}

#[test]
fn truncated_tiff_is_corrupt() {
    let full = two_page_tiff();
    let err = decode_file(Arc::from(&full[..full.len() / 2]), &Limits::default()).unwrap_err();
    assert_eq!(err.code(), "corrupt_file", "{err}");
}

// ---- generated layouts ----

const SHORT: u16 = 3;
const LONG: u16 = 4;
const RATIONAL: u16 = 5;

/// A little-endian TIFF with one page: `tags` as (tag, values), SHORT unless the tag needs LONG
/// or RATIONAL (pairs), and `chunks` stored as strips or, when `tiled`, tiles.
pub(super) fn write_tiff(tags: &[(u16, &[u32])], chunks: &[Vec<u8>], tiled: bool) -> Vec<u8> {
    let mut out = b"II*\0\0\0\0\0".to_vec();
    let mut offsets = Vec::new();
    for c in chunks {
        offsets.push(out.len() as u32);
        out.extend_from_slice(c);
    }
    let counts: Vec<u32> = chunks.iter().map(|c| c.len() as u32).collect();
    let (o, c) = if tiled { (324, 325) } else { (273, 279) };
    let mut all: Vec<(u16, Vec<u32>)> = tags.iter().map(|(t, v)| (*t, v.to_vec())).collect();
    all.push((o, offsets));
    all.push((c, counts));
    all.sort_by_key(|(t, _)| *t);
    if out.len() % 2 == 1 {
        out.push(0);
    }
    let ifd = out.len();
    out[4..8].copy_from_slice(&(ifd as u32).to_le_bytes());
    let mut extra = ifd + 2 + all.len() * 12 + 4;
    let mut dir = (all.len() as u16).to_le_bytes().to_vec();
    let mut tail = Vec::new();
    for (tag, values) in &all {
        let ty = match tag {
            273 | 279 | 324 | 325 => LONG,
            282 | 283 => RATIONAL,
            _ => SHORT,
        };
        let mut bytes = Vec::new();
        for v in values {
            match ty {
                SHORT => bytes.extend_from_slice(&(*v as u16).to_le_bytes()),
                _ => bytes.extend_from_slice(&v.to_le_bytes()),
            }
        }
        let count = if ty == RATIONAL {
            values.len() / 2
        } else {
            values.len()
        };
        dir.extend_from_slice(&tag.to_le_bytes());
        dir.extend_from_slice(&ty.to_le_bytes());
        dir.extend_from_slice(&(count as u32).to_le_bytes());
        if bytes.len() <= 4 {
            bytes.resize(4, 0);
            dir.extend_from_slice(&bytes);
        } else {
            dir.extend_from_slice(&(extra as u32).to_le_bytes());
            extra += bytes.len();
            tail.extend_from_slice(&bytes);
        }
    }
    dir.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&dir);
    out.extend_from_slice(&tail);
    out
}

pub(super) fn one_page(bytes: Vec<u8>) -> DecodedPage {
    let mut doc: Decoded = decode_file(Arc::from(bytes), &Limits::default()).unwrap();
    assert_eq!(doc.pages.len(), 1);
    doc.pages.remove(0)
}

fn encoded<C: colortype::ColorType>(w: u32, h: u32, data: &[C::Inner]) -> Vec<u8>
where
    [C::Inner]: tiff::encoder::TiffValue,
{
    let mut buf = Cursor::new(Vec::new());
    TiffEncoder::new(&mut buf)
        .unwrap()
        .write_image::<C>(w, h, data)
        .unwrap();
    buf.into_inner()
}

#[test]
fn sixteen_bit_rgb_and_rgba_become_eight_bit_rgb_on_white() {
    let rgb: Vec<u16> = vec![0xFFFF, 0x8000, 0x0000, 0x1234, 0x5678, 0x9ABC];
    let page = one_page(encoded::<colortype::RGB16>(2, 1, &rgb));
    assert_eq!(
        page.image.to_rgb8().into_raw(),
        vec![255, 128, 0, 0x12, 0x56, 0x9A]
    );
    // Opaque red, then fully transparent black: white paper shows through.
    let rgba: Vec<u16> = vec![0xFFFF, 0, 0, 0xFFFF, 0, 0, 0, 0];
    let page = one_page(encoded::<colortype::RGBA16>(2, 1, &rgba));
    assert!(matches!(page.image, DynamicImage::ImageRgb8(_)));
    assert_eq!(
        page.image.to_rgb8().into_raw(),
        vec![255, 0, 0, 255, 255, 255]
    );
}

#[test]
fn gray_alpha_is_flattened() {
    // 2×1 gray + unassociated alpha: black opaque, black transparent.
    let tags: &[(u16, &[u32])] = &[
        (256, &[2]),
        (257, &[1]),
        (258, &[8, 8]),
        (262, &[1]),
        (277, &[2]),
        (338, &[2]),
    ];
    let page = one_page(write_tiff(tags, &[vec![0, 255, 0, 0]], false));
    assert_eq!(page.image.to_luma8().into_raw(), vec![0, 255]);
}

#[test]
fn palettes_expand_to_rgb_or_gray_and_black_white_is_bilevel() {
    // 8-bit palette: index 0 red, 1 blue, others black.
    let mut map = vec![0u32; 768];
    map[0] = 0xFFFF; // red[0]
    map[512 + 1] = 0xFFFF; // blue[1]
    let base: [(u16, &[u32]); 5] = [
        (256, &[2]),
        (257, &[1]),
        (258, &[8]),
        (262, &[3]),
        (277, &[1]),
    ];
    let mut tags = base.to_vec();
    tags.push((320, &map));
    let page = one_page(write_tiff(&tags, &[vec![0, 1]], false));
    assert_eq!(page.image.to_rgb8().into_raw(), vec![255, 0, 0, 0, 0, 255]);

    // 4-bit gray palette: index i → gray 17·i, read as gray.
    let map4: Vec<u32> = (0..3)
        .flat_map(|_| (0..16u32).map(|i| i * 17 * 257))
        .collect();
    let tags: &[(u16, &[u32])] = &[
        (256, &[3]),
        (257, &[1]),
        (258, &[4]),
        (262, &[3]),
        (277, &[1]),
        (320, &map4),
    ];
    let page = one_page(write_tiff(tags, &[vec![0x0F, 0x80]], false));
    assert!(matches!(page.image, DynamicImage::ImageLuma8(_)));
    assert_eq!(page.image.to_luma8().into_raw(), vec![0, 255, 136]);

    // 1-bit black/white palette (index 0 white): bilevel.
    let map1: &[u32] = &[0xFFFF, 0, 0xFFFF, 0, 0xFFFF, 0];
    let tags: &[(u16, &[u32])] = &[
        (256, &[4]),
        (257, &[1]),
        (258, &[1]),
        (262, &[3]),
        (277, &[1]),
        (320, map1),
    ];
    let page = one_page(write_tiff(tags, &[vec![0b0101_0000]], false));
    assert!(page.bilevel);
    assert_eq!(page.image.to_luma8().into_raw(), vec![255, 0, 255, 0]);
}

#[test]
fn planar_rgb_is_interleaved() {
    let tags: &[(u16, &[u32])] = &[
        (256, &[2]),
        (257, &[1]),
        (258, &[8, 8, 8]),
        (262, &[2]),
        (277, &[3]),
        (284, &[2]),
    ];
    let planes = vec![vec![10, 20], vec![30, 40], vec![50, 60]];
    let page = one_page(write_tiff(tags, &planes, false));
    assert_eq!(
        page.image.to_rgb8().into_raw(),
        vec![10, 30, 50, 20, 40, 60]
    );
}

#[test]
fn two_and_four_bit_gray_scale_and_inverted_lsb_first_reads_the_same() {
    let tags: &[(u16, &[u32])] = &[
        (256, &[4]),
        (257, &[1]),
        (258, &[2]),
        (262, &[1]),
        (277, &[1]),
    ];
    let page = one_page(write_tiff(tags, &[vec![0b00_01_10_11]], false));
    assert_eq!(page.image.to_luma8().into_raw(), vec![0, 85, 170, 255]);
    // 4-bit WhiteIsZero, FillOrder=2: nibbles 0x0, 0xF stored as !(0x0F) bit-reversed.
    let tags: &[(u16, &[u32])] = &[
        (256, &[2]),
        (257, &[1]),
        (258, &[4]),
        (262, &[0]),
        (266, &[2]),
        (277, &[1]),
    ];
    let stored = (!0x0Fu8).reverse_bits();
    let page = one_page(write_tiff(tags, &[vec![stored]], false));
    assert_eq!(page.image.to_luma8().into_raw(), vec![0, 255]);
}

#[test]
fn tiles_with_partial_edge_tiles() {
    // 20×18 gray in 16×16 tiles: 4 tiles, the right and bottom ones padded.
    let (w, h) = (20u32, 18u32);
    let value = |x: u32, y: u32| (x * 10 + y) as u8;
    let mut tiles = Vec::new();
    for ty in 0..2 {
        for tx in 0..2 {
            let mut t = vec![0u8; 256];
            for y in 0..16 {
                for x in 0..16 {
                    let (ix, iy) = (tx * 16 + x, ty * 16 + y);
                    if ix < w && iy < h {
                        t[(y * 16 + x) as usize] = value(ix, iy);
                    }
                }
            }
            tiles.push(t);
        }
    }
    let tags: &[(u16, &[u32])] = &[
        (256, &[w]),
        (257, &[h]),
        (258, &[8]),
        (262, &[1]),
        (277, &[1]),
        (322, &[16]),
        (323, &[16]),
    ];
    let page = one_page(write_tiff(tags, &tiles, true));
    let g = page.image.to_luma8();
    assert_eq!(g.dimensions(), (w, h));
    assert!(g.enumerate_pixels().all(|(x, y, p)| p.0[0] == value(x, y)));
}

#[test]
fn jpeg_ycbcr_strip_is_rgb() {
    let img = image::RgbImage::from_fn(16, 16, |x, _| {
        if x < 8 {
            image::Rgb([200, 30, 30])
        } else {
            image::Rgb([20, 20, 220])
        }
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95)
        .encode_image(&img)
        .unwrap();
    let tags: &[(u16, &[u32])] = &[
        (256, &[16]),
        (257, &[16]),
        (258, &[8, 8, 8]),
        (259, &[7]),
        (262, &[6]),
        (277, &[3]),
        (278, &[16]),
    ];
    let page = one_page(write_tiff(tags, &[jpeg], false));
    let rgb = page.image.to_rgb8();
    let close = |a: [u8; 3], b: [u8; 3]| a.iter().zip(b).all(|(&p, q)| p.abs_diff(q) < 24);
    assert!(
        close(rgb.get_pixel(2, 8).0, [200, 30, 30]),
        "{:?}",
        rgb.get_pixel(2, 8)
    );
    assert!(
        close(rgb.get_pixel(13, 8).0, [20, 20, 220]),
        "{:?}",
        rgb.get_pixel(13, 8)
    );
}

// ---- CCITT ----

/// 8 px wide rows: 4 white + 4 black, 8 white, 2 white + 3 black + 3 white.
const ROWS: [[u8; 8]; 3] = [
    [255, 255, 255, 255, 0, 0, 0, 0],
    [255; 8],
    [255, 255, 0, 0, 0, 255, 255, 255],
];

struct Bits(Vec<bool>);

impl Bits {
    fn put(&mut self, code: &str) {
        self.0.extend(code.chars().map(|c| c == '1'));
    }
    fn eol(&mut self, fill: bool) {
        if fill {
            // Zeros so that the EOL ends on a byte boundary.
            while !(self.0.len() + 12).is_multiple_of(8) {
                self.0.push(false);
            }
        }
        self.put("000000000001");
    }
    fn bytes(&self, lsb_first: bool) -> Vec<u8> {
        self.0
            .chunks(8)
            .map(|c| {
                let b = c
                    .iter()
                    .enumerate()
                    .fold(0u8, |b, (i, &on)| b | (u8::from(on) << (7 - i)));
                if lsb_first { b.reverse_bits() } else { b }
            })
            .collect()
    }
}

/// Modified Huffman codes of ROWS' lines (T.4 tables: white 2,3,4,8; black 3,4).
const MH: [&str; 3] = ["1011011", "10011", "0111101000"];

fn g3(two_d: bool, fill: bool, lsb_first: bool) -> Vec<u8> {
    let mut b = Bits(Vec::new());
    for line in MH {
        b.eol(fill);
        if two_d {
            b.put("1"); // tag bit: a one-dimensional line follows
        }
        b.put(line);
    }
    if two_d {
        // A fourth row equal to the third, coded two-dimensionally: three vertical-0 modes.
        b.eol(fill);
        b.put("0");
        b.put("111");
    }
    for _ in 0..6 {
        b.eol(false);
    }
    b.bytes(lsb_first)
}

fn fax_tiff(compression: u32, options: u32, fill_order: u32, rows: u32, strip: Vec<u8>) -> Vec<u8> {
    let opt_tag = if compression == 4 { 293 } else { 292 };
    let tags: &[(u16, &[u32])] = &[
        (256, &[8]),
        (257, &[rows]),
        (258, &[1]),
        (259, &[compression]),
        (262, &[0]),
        (266, &[fill_order]),
        (277, &[1]),
        (282, &[204, 1]),
        (283, &[98, 1]),
        (opt_tag, &[options]),
    ];
    write_tiff(tags, &[strip], false)
}

fn expected(rows: usize) -> Vec<u8> {
    (0..rows)
        .flat_map(|r| ROWS[if r == 3 { 2 } else { r }])
        .collect()
}

#[test]
fn group3_one_d_with_and_without_fill_bits_and_lsb_first() {
    for (fill, lsb) in [(false, false), (true, false), (true, true), (false, true)] {
        let options = if fill { 4 } else { 0 };
        let file = fax_tiff(3, options, if lsb { 2 } else { 1 }, 3, g3(false, fill, lsb));
        let page = one_page(file);
        assert!(page.bilevel);
        assert_eq!(
            page.image.to_luma8().into_raw(),
            expected(3),
            "fill {fill} lsb {lsb}"
        );
        // Standard fax resolution: 204 × 98 dpi.
        assert_eq!((page.dpi, page.ydpi), (Some(204.0), Some(98.0)));
    }
}

#[test]
fn group3_two_d() {
    let page = one_page(fax_tiff(3, 1, 1, 4, g3(true, false, false)));
    assert_eq!(page.image.to_luma8().into_raw(), expected(4));
}

#[test]
fn broken_group3_is_corrupt() {
    let mut data = g3(false, false, false);
    data.truncate(3);
    let err = decode_file(Arc::from(fax_tiff(3, 0, 1, 3, data)), &Limits::default()).unwrap_err();
    assert_eq!(err.code(), "corrupt_file", "{err}");
}

#[test]
fn group4_lsb_first() {
    let mut enc = fax::encoder::Encoder::new(fax::VecWriter::new());
    for row in &ROWS {
        let pels = row.iter().map(|&v| {
            if v == 0 {
                fax::Color::Black
            } else {
                fax::Color::White
            }
        });
        enc.encode_line(pels, 8).unwrap();
    }
    let g4: Vec<u8> = enc.finish().unwrap().finish();
    let reversed = g4.iter().map(|b| b.reverse_bits()).collect();
    let page = one_page(fax_tiff(4, 0, 2, 3, reversed));
    assert_eq!(page.image.to_luma8().into_raw(), expected(3));
    // The same strip MSB-first (the `tiff` crate's own G4 path) agrees.
    let page = one_page(fax_tiff(4, 0, 1, 3, g4));
    assert_eq!(page.image.to_luma8().into_raw(), expected(3));
}

// Layouts first met in other projects' test files.
mod peer_layouts;
