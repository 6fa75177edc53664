use pdf_writer::{Filter, Finish, Name, Pdf, Rect, Ref};

use super::super::{Decoded, decode};
use super::*;

/// How one test page stores its image.
struct Img {
    width: u32,
    height: u32,
    data: Vec<u8>,
    setup: Setup,
}

/// Writes an image's dictionary entries.
type Setup = fn(&mut pdf_writer::writers::ImageXObject);

/// A PDF of `pages`, each an A4-wide page (595 pt) with the image (if any) drawn over it.
fn pdf(pages: Vec<(Option<Img>, i32)>) -> Arc<[u8]> {
    let mut pdf = Pdf::new();
    let (catalog, tree) = (Ref::new(1), Ref::new(2));
    pdf.catalog(catalog).pages(tree);
    let ids: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(10 + 3 * i as i32))
        .collect();
    pdf.pages(tree)
        .kids(ids.iter().copied())
        .count(pages.len() as i32);
    for (i, (img, rotate)) in pages.into_iter().enumerate() {
        let (page_id, image_id, content_id) = (
            ids[i],
            Ref::new(11 + 3 * i as i32),
            Ref::new(12 + 3 * i as i32),
        );
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, 595.0, 842.0))
            .parent(tree)
            .contents(content_id);
        if rotate != 0 {
            page.rotate(rotate);
        }
        if img.is_some() {
            page.resources().x_objects().pair(Name(b"Im0"), image_id);
        }
        page.finish();
        let content: &[u8] = match &img {
            Some(_) => b"q 595 0 0 842 0 0 cm /Im0 Do Q",
            None => b"0 0 m 100 100 l S",
        };
        pdf.stream(content_id, content);
        if let Some(img) = img {
            let mut x = pdf.image_xobject(image_id, &img.data);
            x.width(img.width as i32).height(img.height as i32);
            (img.setup)(&mut x);
        }
    }
    pdf.finish().into()
}

fn gray_flate(width: u32, height: u32, f: impl Fn(u32, u32) -> u8) -> Img {
    let raw: Vec<u8> = (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .map(|(x, y)| f(x, y))
        .collect();
    Img {
        width,
        height,
        data: miniz_oxide::deflate::compress_to_vec_zlib(&raw, 6),
        setup: |x| {
            x.filter(Filter::FlateDecode);
            x.color_space().device_gray();
            x.bits_per_component(8);
        },
    }
}

fn open_all(data: Arc<[u8]>, limits: &Limits) -> Result<Decoded, DecodeError> {
    decode(data, limits)
}

#[test]
fn pages_come_in_order_with_rotation_and_resolution_from_the_page() {
    let data = pdf(vec![
        (
            Some(gray_flate(1240, 1754, |x, _| if x < 100 { 0 } else { 200 })),
            0,
        ),
        (Some(gray_flate(1240, 1754, |_, y| (y % 256) as u8)), 90),
    ]);
    let d = open_all(data, &Limits::default()).unwrap();
    assert_eq!(d.format, Format::Pdf);
    assert_eq!(d.pages.len(), 2);
    let (a, b) = (&d.pages[0], &d.pages[1]);
    assert_eq!((a.image.width(), a.image.height()), (1240, 1754));
    assert_eq!(a.image.to_luma8().get_pixel(50, 9).0, [0]);
    assert_eq!(a.image.to_luma8().get_pixel(500, 9).0, [200]);
    assert_eq!(a.orientation, Orientation::NoTransforms);
    assert_eq!(b.orientation, Orientation::Rotate90);
    // 1240 px over 595 pt (8.26 in) is 150 dpi, turned or not.
    assert!((a.dpi.unwrap() - 150.0).abs() < 1.0, "{:?}", a.dpi);
    assert!((b.dpi.unwrap() - 150.0).abs() < 1.0, "{:?}", b.dpi);
    assert!(!a.bilevel);
}

#[test]
fn an_image_wrapped_in_a_form_is_found() {
    // Page → form Fm0 → image Im0, as some scanning apps write it; resources inherited
    // from the page tree.
    let img = gray_flate(1240, 1754, |x, _| if x < 620 { 0 } else { 255 });
    let mut pdf = Pdf::new();
    let (catalog, tree, page, content, form, image) = (
        Ref::new(1),
        Ref::new(2),
        Ref::new(3),
        Ref::new(4),
        Ref::new(5),
        Ref::new(6),
    );
    pdf.catalog(catalog).pages(tree);
    let mut pages = pdf.pages(tree);
    pages.kids([page]).count(1);
    pages.resources().x_objects().pair(Name(b"Fm0"), form);
    pages.finish();
    pdf.page(page)
        .media_box(Rect::new(0.0, 0.0, 595.0, 842.0))
        .parent(tree)
        .contents(content);
    pdf.stream(content, b"/Fm0 Do");
    let mut f = pdf.form_xobject(form, b"q 595 0 0 842 0 0 cm /Im0 Do Q");
    f.bbox(Rect::new(0.0, 0.0, 595.0, 842.0));
    f.resources().x_objects().pair(Name(b"Im0"), image);
    f.finish();
    let mut x = pdf.image_xobject(image, &img.data);
    x.width(1240).height(1754);
    (img.setup)(&mut x);
    x.finish();
    let d = open_all(pdf.finish().into(), &Limits::default()).unwrap();
    let g = d.pages[0].image.to_luma8();
    assert_eq!((g.width(), g.height()), (1240, 1754));
    assert_eq!(
        (g.get_pixel(10, 10).0, g.get_pixel(1000, 10).0),
        ([0], [255])
    );
}

#[test]
fn fax_pages_decode_whichever_way_black_is_written() {
    // A 64×32 page: a black bar in columns 8..24 of every row.
    let (w, h) = (64u32, 32u32);
    let black = |x: u32| (8..24).contains(&x);
    let mut enc = fax::encoder::Encoder::new(fax::VecWriter::new());
    for _ in 0..h {
        enc.encode_line(
            (0..w).map(|x| {
                if black(x) {
                    fax::Color::Black
                } else {
                    fax::Color::White
                }
            }),
            w as u16,
        )
        .unwrap();
    }
    let g4 = enc.finish().unwrap().finish();
    /// A 64×32 G4 image, with `BlackIs1` and an inverted `Decode` as asked.
    fn ccitt(x: &mut pdf_writer::writers::ImageXObject, black_is_1: bool, inverted: bool) {
        x.filter(Filter::CcittFaxDecode);
        x.decode_parms()
            .k(-1)
            .columns(64)
            .rows(32)
            .black_is_1(black_is_1);
        x.color_space().device_gray();
        x.bits_per_component(1);
        if inverted {
            x.decode([1.0, 0.0]);
        }
    }
    let setups: [(Setup, bool); 3] = [
        (|x| ccitt(x, false, false), false),
        // BlackIs1 with an inverted Decode (Tesseract, many scanners): still black.
        (|x| ccitt(x, true, true), false),
        // BlackIs1 alone: the picture as written is a negative.
        (|x| ccitt(x, true, false), true),
    ];
    // Cut off halfway: an error, not half a page.
    let cut = Img {
        width: w,
        height: h,
        data: g4[..g4.len() / 2].to_vec(),
        setup: |x| ccitt(x, false, false),
    };
    let code = |img| decode(pdf(vec![(Some(img), 0)]), &Limits::default()).unwrap_err();
    assert_eq!(code(cut).code(), "corrupt_file");
    let g3 = Img {
        width: w,
        height: h,
        data: g4.clone(),
        setup: |x| {
            x.filter(Filter::CcittFaxDecode);
            x.decode_parms().k(0).columns(64);
            x.color_space().device_gray();
            x.bits_per_component(1);
        },
    };
    // Group 3 (fax servers) is the renderer's to decode: the page comes out at 300 dpi.
    let g3 = decode(pdf(vec![(Some(g3), 0)]), &Limits::default()).unwrap();
    assert_eq!(g3.pages[0].dpi, Some(300.0));
    for (i, (setup, negative)) in setups.into_iter().enumerate() {
        let img = Img {
            width: w,
            height: h,
            data: g4.clone(),
            setup,
        };
        let d = open_all(pdf(vec![(Some(img), 0)]), &Limits::default()).unwrap();
        let p = &d.pages[0];
        assert!(p.bilevel, "case {i}");
        let g = p.image.to_luma8();
        for (x, y) in [(0, 0), (10, 5), (30, 31), (63, 17)] {
            let want = if black(x) != negative { 0 } else { 255 };
            assert_eq!(g.get_pixel(x, y).0, [want], "case {i} at {x},{y}");
        }
    }
}

#[test]
fn indexed_and_one_bit_images_are_unpacked() {
    // 1-bit gray, rows padded to a byte: pixel x is black when x is even.
    let img = Img {
        width: 10,
        height: 2,
        data: vec![0b0101_0101, 0b0100_0000, 0b0101_0101, 0b0100_0000],
        setup: |x| {
            x.color_space().device_gray();
            x.bits_per_component(1);
        },
    };
    let d = open_all(pdf(vec![(Some(img), 0)]), &Limits::default()).unwrap();
    let g = d.pages[0].image.to_luma8();
    assert!(d.pages[0].bilevel);
    let row: Vec<u8> = (0..10).map(|x| g.get_pixel(x, 1).0[0]).collect();
    assert_eq!(row, [0, 255, 0, 255, 0, 255, 0, 255, 0, 255]);

    // 2-colour palette over RGB: index 0 red, 1 white.
    let img = Img {
        width: 2,
        height: 1,
        data: vec![0, 1],
        setup: |x| {
            x.color_space()
                .indexed(Name(b"DeviceRGB"), 1, &[255, 0, 0, 255, 255, 255]);
            x.bits_per_component(8);
        },
    };
    let d = open_all(pdf(vec![(Some(img), 0)]), &Limits::default()).unwrap();
    let rgb = d.pages[0].image.to_rgb8();
    assert_eq!(rgb.get_pixel(0, 0).0, [255, 0, 0]);
    assert_eq!(rgb.get_pixel(1, 0).0, [255, 255, 255]);
}

#[test]
fn bad_pdfs_fail_with_stable_codes() {
    let l = Limits::default();
    let code = |data: Arc<[u8]>, l: &Limits| open_all(data, l).unwrap_err().code();
    // Drawings only: rendered, not refused.
    let drawn = open_all(pdf(vec![(None, 0)]), &l).unwrap();
    assert_eq!(drawn.pages[0].dpi, Some(300.0));
    // Cut off halfway, or not a PDF past its first line.
    let whole = pdf(vec![(Some(gray_flate(100, 100, |_, _| 255)), 0)]);
    assert_eq!(code(whole[..whole.len() / 2].into(), &l), "corrupt_file");
    assert_eq!(
        code(Arc::from(&b"%PDF-1.7\nnothing else"[..]), &l),
        "corrupt_file"
    );
    // Too many pages.
    let three = pdf((0..3)
        .map(|_| (Some(gray_flate(10, 10, |_, _| 255)), 0))
        .collect());
    let two = Limits {
        max_pages: 2,
        ..Limits::default()
    };
    assert_eq!(code(three, &two), "too_many_pages");
    // A page bigger than the pixel limit is refused before it is inflated.
    let big = pdf(vec![(Some(gray_flate(3000, 3000, |_, _| 255)), 0)]);
    let small = Limits {
        max_page_pixels: 1_000_000,
        ..Limits::default()
    };
    assert_eq!(code(big, &small), "page_too_large");
    // A stream that inflates far past the memory limit (a "zip bomb" declaring a small
    // image) fails instead of filling memory.
    let bomb = Img {
        width: 100,
        height: 100,
        data: miniz_oxide::deflate::compress_to_vec_zlib(&vec![0u8; 64 << 20], 9),
        setup: |x| {
            x.filter(Filter::FlateDecode);
            x.color_space().device_gray();
            x.bits_per_component(8);
        },
    };
    let tight = Limits {
        max_decode_alloc_bytes: 1 << 20,
        ..Limits::default()
    };
    assert!(matches!(
        code(pdf(vec![(Some(bomb), 0)]), &tight),
        "corrupt_file" | "decode_memory_limit"
    ));
    // Truncated image data.
    let short = Img {
        width: 100,
        height: 100,
        data: vec![255; 500],
        setup: |x| {
            x.color_space().device_gray();
            x.bits_per_component(8);
        },
    };
    assert_eq!(code(pdf(vec![(Some(short), 0)]), &l), "corrupt_file");
}

/// Encryption parameters for a document.
type Encrypt = for<'a> fn(&'a lopdf::Document, &'static str) -> lopdf::EncryptionVersion<'a>;

/// `data` encrypted by lopdf with `version`, given the user password (owner: "owner").
fn encrypted(data: &[u8], version: Encrypt, user_password: &'static str) -> Arc<[u8]> {
    let mut doc = lopdf::Document::load_mem(data).unwrap();
    // The file ID takes part in the key of every revision before 6.
    let id = Object::String(
        b"0123456789abcdef".to_vec(),
        lopdf::StringFormat::Hexadecimal,
    );
    doc.trailer.set("ID", Object::Array(vec![id.clone(), id]));
    let state = lopdf::EncryptionState::try_from(version(&doc, user_password)).unwrap();
    doc.encrypt(&state).unwrap();
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out.into()
}

fn aes(
    filter: Arc<dyn lopdf::encryption::crypt_filters::CryptFilter>,
) -> std::collections::BTreeMap<Vec<u8>, Arc<dyn lopdf::encryption::crypt_filters::CryptFilter>> {
    std::collections::BTreeMap::from([(b"StdCF".to_vec(), filter)])
}

#[test]
fn a_user_password_is_refused_as_password_protected_and_an_owner_password_alone_is_read() {
    use lopdf::encryption::crypt_filters::{Aes128CryptFilter, Aes256CryptFilter};
    use lopdf::{EncryptionVersion as V, Permissions};
    let plain = pdf(vec![(
        Some(gray_flate(200, 280, |x, _| if x < 100 { 0 } else { 255 })),
        0,
    )]);
    const KEY: [u8; 32] = [7; 32];
    // Each revision with a user password ("user") and with an owner password only.
    let versions: [(&str, Encrypt); 4] = [
        ("RC4 40 (R2)", |d, user| V::V1 {
            document: d,
            owner_password: "owner",
            user_password: user,
            permissions: Permissions::all(),
        }),
        ("RC4 128 (R3)", |d, user| V::V2 {
            document: d,
            owner_password: "owner",
            user_password: user,
            key_length: 128,
            permissions: Permissions::all(),
        }),
        ("AES-128 (R4)", |d, user| V::V4 {
            document: d,
            encrypt_metadata: true,
            crypt_filters: aes(Arc::new(Aes128CryptFilter)),
            stream_filter: b"StdCF".to_vec(),
            string_filter: b"StdCF".to_vec(),
            owner_password: "owner",
            user_password: user,
            permissions: Permissions::all(),
        }),
        ("AES-256 (R6)", |_, user| V::V5 {
            encrypt_metadata: true,
            crypt_filters: aes(Arc::new(Aes256CryptFilter)),
            file_encryption_key: &KEY,
            stream_filter: b"StdCF".to_vec(),
            string_filter: b"StdCF".to_vec(),
            owner_password: "owner",
            user_password: user,
            permissions: Permissions::all(),
        }),
    ];
    for (name, version) in versions {
        let err = open_all(encrypted(&plain, version, "user"), &Limits::default()).unwrap_err();
        assert_eq!(err.code(), "password_protected", "{name}: {err}");
        let d = open_all(encrypted(&plain, version, ""), &Limits::default())
            .unwrap_or_else(|e| panic!("{name} owner-only: {e}"));
        let g = d.pages[0].image.to_luma8();
        assert_eq!((g.width(), g.height()), (200, 280), "{name}");
        assert_eq!(
            (g.get_pixel(10, 10).0, g.get_pixel(150, 10).0),
            ([0], [255]),
            "{name}"
        );
    }
}

#[test]
fn bytes_before_the_header_are_skipped_as_pdf_readers_do() {
    let whole = pdf(vec![(Some(gray_flate(100, 140, |_, _| 0)), 0)]);
    let mut prefixed = b"\xEF\xBB\xBFContent-Type: application/pdf\r\n\r\n".to_vec();
    prefixed.extend_from_slice(&whole);
    let d = open_all(prefixed.into(), &Limits::default()).unwrap();
    assert_eq!(d.format, Format::Pdf);
    assert_eq!(d.pages[0].image.width(), 100);
}

#[test]
fn a_broken_pdf_is_corrupt_never_an_unsupported_layout() {
    let l = Limits::default();
    // A page tree that is not a tree: the page's parent is itself, its kids are the catalog.
    let junk = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [2 0 R] /Count 1 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
    let err = open_all(Arc::from(&junk[..]), &l).unwrap_err();
    assert_eq!(err.code(), "corrupt_file", "{err}");
    // A scan whose JPEG data is four bytes.
    let bad_jpeg = Img {
        width: 100,
        height: 100,
        data: b"1234".to_vec(),
        setup: |x| {
            x.filter(Filter::DctDecode);
            x.color_space().device_rgb();
            x.bits_per_component(8);
        },
    };
    let err = open_all(pdf(vec![(Some(bad_jpeg), 0)]), &l).unwrap_err();
    assert_eq!(err.code(), "corrupt_file", "{err}");
}

/// A PDF of pages each given as (content stream, resources): fonts F1 (Helvetica) and images
/// Im0.. (the given gray Flate images) are available to every page.
fn pdf_with(pages: &[&[u8]], images: Vec<Img>) -> Arc<[u8]> {
    let mut pdf = Pdf::new();
    let (catalog, tree, font) = (Ref::new(1), Ref::new(2), Ref::new(3));
    pdf.catalog(catalog).pages(tree);
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(10 + 2 * i as i32))
        .collect();
    let image_ids: Vec<Ref> = (0..images.len())
        .map(|i| Ref::new(100 + i as i32))
        .collect();
    let mut tree_w = pdf.pages(tree);
    tree_w
        .kids(page_ids.iter().copied())
        .count(pages.len() as i32);
    let mut res = tree_w.resources();
    res.fonts().pair(Name(b"F1"), font);
    let mut xo = res.x_objects();
    let names: Vec<String> = (0..images.len()).map(|i| format!("Im{i}")).collect();
    for (n, id) in names.iter().zip(&image_ids) {
        xo.pair(Name(n.as_bytes()), *id);
    }
    xo.finish();
    res.finish();
    tree_w.finish();
    pdf.type1_font(font).base_font(Name(b"Helvetica"));
    for (i, content) in pages.iter().enumerate() {
        let content_id = Ref::new(11 + 2 * i as i32);
        pdf.page(page_ids[i])
            .media_box(Rect::new(0.0, 0.0, 595.0, 842.0))
            .parent(tree)
            .contents(content_id);
        pdf.stream(content_id, content);
    }
    for (img, id) in images.into_iter().zip(image_ids) {
        let mut x = pdf.image_xobject(id, &img.data);
        x.width(img.width as i32).height(img.height as i32);
        (img.setup)(&mut x);
    }
    pdf.finish().into()
}

/// Share of pixels darker than mid-gray in a rectangle of a page.
fn dark_share(p: &DecodedPage, x0: u32, y0: u32, x1: u32, y1: u32) -> f64 {
    let g = p.image.to_luma8();
    let mut dark = 0usize;
    for y in y0..y1 {
        for x in x0..x1 {
            dark += usize::from(g.get_pixel(x, y).0[0] < 128);
        }
    }
    dark as f64 / f64::from((x1 - x0) * (y1 - y0))
}

#[test]
fn a_short_typed_line_is_rendered_and_the_scan_behind_it_decoded_as_it_is() {
    // Page 1: a line of 48 pt Helvetica near the top, too short to trust as the page's text
    // layer (see `text`); page 2: a 150 dpi scan filling the page.
    let letter: &[u8] = b"BT /F1 48 Tf 72 740 Td (Kinh gui) Tj ET";
    let scan: &[u8] = b"q 595 0 0 842 0 0 cm /Im0 Do Q";
    let img = gray_flate(1240, 1754, |x, _| if x < 620 { 0 } else { 255 });
    let d = open_all(pdf_with(&[letter, scan], vec![img]), &Limits::default()).unwrap();
    assert_eq!(d.pages.len(), 2);
    let (cover, page) = (&d.pages[0], &d.pages[1]);
    // Rendered at 300 dpi: A4 is 2479 × 3508 px.
    assert_eq!(cover.dpi, Some(300.0));
    assert_eq!((cover.image.width(), cover.image.height()), (2479, 3508));
    assert!(cover.passthrough.is_none());
    // Ink where the text line is (baseline 740 pt from the bottom: about y 425 px from the
    // top, 48 pt ≈ 200 px tall), none far below it.
    let ink = dark_share(cover, 300, 250, 1800, 430);
    assert!(ink > 0.05, "text line ink {ink}");
    assert_eq!(dark_share(cover, 300, 1500, 1800, 2000), 0.0);
    // The scan is its own pixels, not a rendering.
    assert_eq!((page.image.width(), page.image.height()), (1240, 1754));
    assert!((page.dpi.unwrap() - 150.0).abs() < 1.0);
}

#[test]
fn inline_images_and_pages_of_several_images_are_rendered() {
    // An 8×8 black inline image over the left half of the page.
    let mut inline = b"q 297 0 0 842 0 0 cm BI /W 8 /H 8 /CS /G /BPC 8 ID ".to_vec();
    inline.extend_from_slice(&[0u8; 64]);
    inline.extend_from_slice(b" EI Q");
    // Two images side by side: black on the left, mid-gray on the right.
    let two: &[u8] = b"q 297 0 0 842 0 0 cm /Im0 Do Q q 298 0 0 842 297 0 cm /Im1 Do Q";
    let images = vec![
        gray_flate(100, 280, |_, _| 0),
        gray_flate(100, 280, |_, _| 100),
    ];
    let d = open_all(pdf_with(&[&inline, two], images), &Limits::default()).unwrap();
    for (i, p) in d.pages.iter().enumerate() {
        assert_eq!(p.dpi, Some(300.0), "page {i}");
        assert!(dark_share(p, 100, 100, 1100, 3400) > 0.99, "page {i} left");
    }
    assert_eq!(dark_share(&d.pages[0], 1400, 100, 2400, 3400), 0.0);
    let right = d.pages[1].image.to_luma8().get_pixel(1800, 1000).0[0];
    assert!((95..=105).contains(&right), "right image gray {right}");
}

#[test]
fn a_page_the_renderer_cannot_finish_within_its_budget_fails_with_page_timeout() {
    // Hostile content can keep the renderer's parser busy for hours; the page must fail, not
    // hold its worker. No page renders at 300 dpi in 1 ms; with the default budget it renders.
    let mut inline = b"q 297 0 0 842 0 0 cm BI /W 8 /H 8 /CS /G /BPC 8 ID ".to_vec();
    inline.extend_from_slice(&[0u8; 64]);
    inline.extend_from_slice(b" EI Q");
    let tight = Limits {
        max_render_ms: 1,
        ..Limits::default()
    };
    let err = open_all(pdf_with(&[&inline], vec![]), &tight).unwrap_err();
    assert_eq!(err.code(), "page_timeout", "{err}");
    assert!(open_all(pdf_with(&[&inline], vec![]), &Limits::default()).is_ok());
}

#[test]
fn a_small_image_on_an_empty_page_is_rendered_where_it_is_drawn() {
    // A 100 × 100 pt black square in the lower left corner: not a scan filling the page.
    let corner: &[u8] = b"q 100 0 0 100 0 0 cm /Im0 Do Q";
    let d = open_all(
        pdf_with(&[corner], vec![gray_flate(10, 10, |_, _| 0)]),
        &Limits::default(),
    )
    .unwrap();
    let p = &d.pages[0];
    assert_eq!((p.image.width(), p.image.height()), (2479, 3508));
    assert!(dark_share(p, 20, 3508 - 400, 400, 3508 - 20) > 0.99);
    assert_eq!(dark_share(p, 1000, 100, 2000, 1000), 0.0);
}

/// Peer test files (other projects' suites), beside the repository; `None` with a message when
/// they are not there.
fn peer(name: &str) -> Option<Arc<[u8]>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/peer/files");
    match std::fs::read(dir.join(name)) {
        Ok(b) => Some(b.into()),
        Err(e) => {
            eprintln!("skipping {name}: {} not readable ({e})", dir.display());
            None
        }
    }
}

#[test]
fn jbig2_scans_decode_with_and_without_globals() {
    // ocrmypdf's is a page-wide JBIG2 scan with a symbol dictionary in /JBIG2Globals; pdf.js's
    // are generic-region (MMR) and symbol-coded pages.
    for name in [
        "ocrmypdf--jbig2.pdf",
        "pdfjs--bitmap-mmr.pdf",
        "pdfjs--bitmap-symbol.pdf",
    ] {
        let Some(data) = peer(name) else { continue };
        let d = open_all(data, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let p = &d.pages[0];
        let g = p.image.to_luma8();
        let dark = g.pixels().filter(|v| v.0[0] < 128).count() as f64 / g.len() as f64;
        // Text on paper: some ink, mostly white.
        assert!(dark > 0.001 && dark < 0.5, "{name}: ink share {dark}");
    }
}

#[test]
fn jpeg_2000_scans_decode() {
    for name in [
        "paperless--documents_tests_samples_barcodes_barcode-qr-asn-000123-upscale-dpi.pdf",
        "pdfjs--issue5475.pdf",
    ] {
        let Some(data) = peer(name) else { continue };
        let d = open_all(data, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let g = d.pages[0].image.to_luma8();
        let dark = g.pixels().filter(|v| v.0[0] < 128).count() as f64 / g.len() as f64;
        assert!(dark > 0.001 && dark < 0.9, "{name}: ink share {dark}");
    }
}

/// A one-scan PDF updated incrementally by an empty section whose `/Prev` is the original
/// section; with `looping`, the original's trailer names the update as its `/Prev` in turn.
fn updated(looping: bool) -> Arc<[u8]> {
    let base = pdf(vec![(Some(gray_flate(10, 10, |x, _| (x * 20) as u8)), 0)]);
    let at = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).rposition(|w| w == needle);
    let tail = at(&base, b"startxref").unwrap();
    let start = String::from_utf8_lossy(&base[tail + 9..]);
    let start: usize = start.split_whitespace().next().unwrap().parse().unwrap();
    let trailer = at(&base, b"trailer").unwrap();
    let trailer = trailer + at(&base[trailer..], b"<<").unwrap() + 2;
    let mut out = base[..trailer].to_vec();
    // The update's offset, once the original's trailer holds a fixed-width /Prev.
    let update = base.len() + if looping { 18 } else { 0 };
    if looping {
        out.extend_from_slice(format!(" /Prev {update:010} ").as_bytes());
    }
    out.extend_from_slice(&base[trailer..]);
    assert_eq!(out.len(), update);
    out.extend_from_slice(
        format!(
            "xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 20 /Root 1 0 R /Prev {start} >>\n\
             startxref\n{update}\n%%EOF\n"
        )
        .as_bytes(),
    );
    out.into()
}

#[test]
fn a_prev_chain_that_loops_is_corrupt_and_a_straight_update_reads() {
    let l = Limits::default();
    let straight = open_all(updated(false), &l).unwrap();
    assert_eq!(straight.pages.len(), 1);
    // lopdf reads the looping file (it stops at the repeat): the refusal is ours.
    assert!(lopdf::Document::load_mem(&updated(true)).is_ok());
    let err = open_all(updated(true), &l).unwrap_err();
    assert_eq!(err.code(), "corrupt_file", "{err}");
    // Pillow's trailer_loop.pdf: 1646 → 1394 → 1163 → 1394.
    if let Some(data) = peer("pillow--trailer_loop.pdf") {
        let err = open_all(data, &l).unwrap_err();
        assert_eq!(err.code(), "corrupt_file", "{err}");
    }
}

#[test]
fn the_peer_owner_password_only_file_is_read_a_deliberate_deviation_from_the_manifest() {
    // The manifest says `refuse` (OCRmyPDF refuses any encrypted input); a file that opens
    // without a password is read by design. benches/peer.sh lists it as an expected deviation.
    let Some(data) = peer("ocrmypdf--encrypted_algo4.pdf") else {
        return;
    };
    let d = open_all(data, &Limits::default()).unwrap();
    assert!(!d.pages.is_empty());
}
