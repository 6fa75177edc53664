//! Pages with a text layer of their own: read from it when it is sound, rendered and OCRed when
//! not, and shown as they were in the searchable PDF.

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Finish, Name, Pdf, Rect, Ref, Str};

use super::super::decode;
use super::*;

const DEJAVU: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// How a test page's text font is written.
#[derive(Clone, Copy)]
enum Font {
    /// Helvetica, not embedded (WinAnsi: ASCII only here).
    Helvetica,
    /// DejaVu Sans embedded as a CID font, `ToUnicode` mapping glyphs back to characters.
    DejaVu,
    /// The same without `ToUnicode`: its glyph numbers mean nothing as text.
    DejaVuNoUnicode,
    /// A `ToUnicode` that maps every glyph into the private use area (symbol fonts do).
    DejaVuPrivateUse,
}

/// One page: text lines at 14 pt from the top, then the extra content (drawn after).
struct TestPage<'a> {
    font: Font,
    lines: &'a [&'a str],
    extra: &'a [u8],
    /// A gray image `Im0` available to the page.
    image: bool,
}

/// The glyph of each character in a TrueType font's (3, 1) format 4 `cmap`.
fn glyph_id(ttf: &[u8], ch: char) -> u16 {
    let u16_at = |o: usize| u16::from_be_bytes([ttf[o], ttf[o + 1]]);
    let u32_at = |o: usize| u32::from_be_bytes([ttf[o], ttf[o + 1], ttf[o + 2], ttf[o + 3]]);
    let tables = u16_at(4) as usize;
    let cmap = (0..tables)
        .map(|i| 12 + 16 * i)
        .find(|&r| &ttf[r..r + 4] == b"cmap")
        .map(|r| u32_at(r + 8) as usize)
        .expect("cmap table");
    let sub = (0..u16_at(cmap + 2) as usize)
        .map(|i| cmap + 4 + 8 * i)
        .find(|&r| u16_at(r) == 3 && u16_at(r + 2) == 1)
        .map(|r| cmap + u32_at(r + 4) as usize)
        .expect("Windows Unicode cmap");
    assert_eq!(u16_at(sub), 4);
    let segs = u16_at(sub + 6) as usize / 2;
    let (ends, starts) = (sub + 14, sub + 16 + 2 * segs);
    let (deltas, ranges) = (starts + 2 * segs, starts + 4 * segs);
    let c = ch as u32 as u16;
    let i = (0..segs).find(|&i| u16_at(ends + 2 * i) >= c).unwrap();
    let start = u16_at(starts + 2 * i);
    assert!(start <= c, "{ch:?} not in the font");
    let (delta, range) = (u16_at(deltas + 2 * i), u16_at(ranges + 2 * i));
    if range == 0 {
        return c.wrapping_add(delta);
    }
    let at = ranges + 2 * i + range as usize + 2 * (c - start) as usize;
    u16_at(at).wrapping_add(delta)
}

fn test_pdf(pages: &[TestPage<'_>]) -> Arc<[u8]> {
    let ttf = std::fs::read(DEJAVU).expect("fonts-dejavu-core (scripts/setup.sh installs it)");
    let mut pdf = Pdf::new();
    let (catalog, tree) = (Ref::new(1), Ref::new(2));
    let (helvetica, cid, descriptor, file, cmap, image) = (
        Ref::new(3),
        Ref::new(5),
        Ref::new(6),
        Ref::new(7),
        Ref::new(8),
        Ref::new(9),
    );
    pdf.catalog(catalog).pages(tree);
    let ids: Vec<(Ref, Ref, Ref)> = (0..pages.len() as i32)
        .map(|i| {
            (
                Ref::new(20 + 3 * i),
                Ref::new(21 + 3 * i),
                Ref::new(22 + 3 * i),
            )
        })
        .collect();
    pdf.pages(tree)
        .kids(ids.iter().map(|i| i.0))
        .count(pages.len() as i32);
    let mut used = std::collections::BTreeMap::new();
    for (p, &(page_id, content_id, font_id)) in pages.iter().zip(&ids) {
        let font = match p.font {
            Font::Helvetica => helvetica,
            _ => font_id,
        };
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, 595.0, 842.0))
            .parent(tree)
            .contents(content_id);
        let mut res = page.resources();
        res.fonts().pair(Name(b"F1"), font);
        if p.image {
            res.x_objects().pair(Name(b"Im0"), image);
        }
        res.finish();
        page.finish();
        let mut c = pdf_writer::Content::new();
        c.begin_text().set_font(Name(b"F1"), 14.0);
        c.next_line(72.0, 760.0);
        for line in p.lines {
            let bytes: Vec<u8> = match p.font {
                Font::Helvetica => line.as_bytes().to_vec(),
                _ => line
                    .chars()
                    .flat_map(|ch| {
                        let g = glyph_id(&ttf, ch);
                        used.insert(g, ch);
                        g.to_be_bytes()
                    })
                    .collect(),
            };
            c.show(Str(&bytes)).next_line(0.0, -24.0);
        }
        c.end_text();
        let mut content = c.finish().to_vec();
        content.extend_from_slice(p.extra);
        pdf.stream(content_id, &content);
        if !matches!(p.font, Font::Helvetica) {
            let mut f = pdf.type0_font(font_id);
            f.base_font(Name(b"DejaVuSans"))
                .encoding_predefined(Name(b"Identity-H"))
                .descendant_font(cid);
            match p.font {
                Font::DejaVu => {
                    f.to_unicode(cmap);
                }
                Font::DejaVuPrivateUse => {
                    f.to_unicode(Ref::new(1000 + font_id.get()));
                }
                _ => {}
            }
        }
    }
    pdf.type1_font(helvetica).base_font(Name(b"Helvetica"));
    let system = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };
    pdf.cid_font(cid)
        .subtype(CidFontType::Type2)
        .base_font(Name(b"DejaVuSans"))
        .system_info(system)
        .font_descriptor(descriptor)
        .default_width(600.0)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    pdf.font_descriptor(descriptor)
        .name(Name(b"DejaVuSans"))
        .flags(FontFlags::NON_SYMBOLIC)
        .bbox(Rect::new(-1021.0, -463.0, 1793.0, 1232.0))
        .italic_angle(0.0)
        .ascent(928.0)
        .descent(-236.0)
        .cap_height(729.0)
        .stem_v(80.0)
        .font_file2(file);
    pdf.stream(file, &ttf)
        .pair(Name(b"Length1"), ttf.len() as i32);
    let mut map = UnicodeCmap::<u16>::new(Name(b"Test-UTF16"), system);
    for (&g, &ch) in &used {
        map.pair(g, ch);
    }
    pdf.cmap(cmap, &map.finish());
    for (p, &(_, _, font_id)) in pages.iter().zip(&ids) {
        if matches!(p.font, Font::DejaVuPrivateUse) {
            let mut map = UnicodeCmap::<u16>::new(Name(b"Test-PUA"), system);
            for &g in used.keys() {
                map.pair(g, char::from_u32(0xF000 + u32::from(g % 0x800)).unwrap());
            }
            pdf.cmap(Ref::new(1000 + font_id.get()), &map.finish());
        }
    }
    let gray: Vec<u8> = (0..200 * 200).map(|i| (i % 251) as u8).collect();
    let mut x = pdf.image_xobject(image, &gray);
    x.width(200).height(200).bits_per_component(8);
    x.color_space().device_gray();
    x.finish();
    pdf.finish().into()
}

fn page(font: Font, lines: &'static [&'static str]) -> TestPage<'static> {
    TestPage {
        font,
        lines,
        extra: b"",
        image: false,
    }
}

fn words(p: &DecodedPage) -> Vec<&str> {
    let layer = p.text_layer.as_ref().expect("read from its text layer");
    layer.words.iter().map(|w| w.text.as_str()).collect()
}

#[test]
fn a_typed_page_is_read_from_its_text_layer_with_boxes_on_the_render_grid() {
    let lines = &["To the People's Committee", "Applicant: Nguyen Van An"];
    let d = decode(
        test_pdf(&[page(Font::Helvetica, lines)]),
        &Limits::default(),
    )
    .unwrap();
    let p = &d.pages[0];
    assert_eq!(
        words(p),
        // Helvetica's own (Standard) encoding has a right quote at the ASCII apostrophe.
        [
            "To",
            "the",
            "People’s",
            "Committee",
            "Applicant:",
            "Nguyen",
            "Van",
            "An"
        ]
    );
    let layer = p.text_layer.as_ref().unwrap();
    assert_eq!((layer.width, layer.height, layer.dpi), (2479, 3508, 300.0));
    assert_eq!(layer.lines.len(), 2);
    assert!(layer.words.iter().all(|w| w.confidence == 100.0));
    // "To" starts at 72 pt (300 px) on a baseline 760 pt up (342 px down from the top at 300
    // dpi); 14 pt Helvetica's capitals are about 10 pt (42 px) tall.
    let to = &layer.words[0];
    assert!((298..=302).contains(&to.bbox.x0), "{:?}", to.bbox);
    assert!((layer.lines[0].baseline[1] - 341.7).abs() < 1.0);
    assert!(to.bbox.y0 < 300 && to.bbox.y1 > 342, "{:?}", to.bbox);
    // The second line is 24 pt (100 px) lower; words of one line share it.
    assert_eq!(layer.words[4].line, 1);
    assert!((layer.lines[1].baseline[1] - layer.lines[0].baseline[1] - 100.0).abs() < 1.0);
    // Not rendered: the page keeps its own content, A4 upright.
    assert_eq!((p.image.width(), p.image.height()), (1, 1));
    let o = p.original.as_ref().expect("original content");
    assert_eq!(o.placement.size, (595.0, 842.0));
    assert!(String::from_utf8_lossy(&o.content).contains("(Applicant: Nguyen Van An) Tj"));
    assert!(o.objects.iter().any(|o| o.as_dict().is_ok_and(|d| {
        d.get(b"BaseFont")
            .is_ok_and(|b| b.as_name().unwrap() == b"Helvetica")
    })));
}

#[test]
fn vietnamese_in_an_embedded_font_with_to_unicode_is_read_exactly() {
    let lines = &[
        "Kính gửi: Ủy ban nhân dân xã Đông Hòa",
        "Họ và tên: Nguyễn Văn An",
    ];
    let d = decode(test_pdf(&[page(Font::DejaVu, lines)]), &Limits::default()).unwrap();
    let text = words(&d.pages[0]).join(" ");
    assert_eq!(text, lines.join(" "));
}

#[test]
fn unusable_text_layers_are_rendered_for_ocr_and_not_shown_as_they_were() {
    let lines: &'static [&'static str] = &["Kính gửi: Ủy ban nhân dân xã Đông Hòa"];
    let invisible = b"BT 3 Tr /F1 12 Tf 72 300 Td (invisible ocr words here) Tj ET";
    // A pasted scan over half the page under the typed line.
    let pasted = b"q 500 0 0 400 50 100 cm /Im0 Do Q";
    let cases = [
        ("no ToUnicode", page(Font::DejaVuNoUnicode, lines)),
        ("private use", page(Font::DejaVuPrivateUse, lines)),
        ("too little", page(Font::Helvetica, &["Page 1"])),
        (
            "invisible layer",
            TestPage {
                extra: invisible,
                ..page(Font::Helvetica, &["Typed heading over a scan"])
            },
        ),
        (
            "pasted scan",
            TestPage {
                extra: pasted,
                image: true,
                ..page(Font::Helvetica, &["Typed heading over a scan"])
            },
        ),
    ];
    for (what, p) in cases {
        let d = decode(test_pdf(&[p]), &Limits::default()).unwrap();
        let p = &d.pages[0];
        assert!(p.text_layer.is_none(), "{what}");
        // Rendered at 300 dpi for OCR, and shown as our image: its text is drawn already.
        assert_eq!((p.image.width(), p.image.height()), (2479, 3508), "{what}");
        assert!(p.original.is_none(), "{what}");
    }
}

#[test]
fn a_page_drawing_no_text_is_rendered_and_keeps_its_content() {
    let drawing = TestPage {
        extra: b"q 4 w 100 100 m 500 700 l S Q q 100 0 0 100 300 300 cm /Im0 Do Q",
        image: true,
        ..page(Font::Helvetica, &[])
    };
    let d = decode(test_pdf(&[drawing]), &Limits::default()).unwrap();
    let p = &d.pages[0];
    assert!(p.text_layer.is_none());
    assert_eq!((p.image.width(), p.image.height()), (2479, 3508));
    let o = p.original.as_ref().expect("its own content");
    assert!(
        o.objects
            .iter()
            .any(|o| o.as_stream().is_ok_and(|s| s.dict.has(b"Width")))
    );
}

#[test]
fn the_searchable_pdf_shows_the_original_page_and_its_text_once() {
    let lines: &'static [&'static str] = &["Kính gửi: Ủy ban nhân dân xã Đông Hòa"];
    let source = test_pdf(&[page(Font::DejaVu, lines)]);
    let mut d = decode(source, &Limits::default()).unwrap();
    let p = d.pages.remove(0);
    let layer = p.text_layer.unwrap();
    let body = crate::render::PageBody::Original(p.original.unwrap());
    let out = crate::render::render_pdf(&[crate::render::RenderPage {
        body: &body,
        dpi: layer.dpi,
        words: &[],
        lines: &layer.lines,
    }]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.pdf");
    std::fs::write(&path, &out).unwrap();
    let text = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    let text = String::from_utf8(text.stdout).unwrap();
    assert_eq!(text.trim_end_matches(['\n', '\u{c}']), lines[0]);
    // The embedded font came along, and the output reads back as the same page.
    let doc = Document::load_mem(&out).unwrap();
    assert!(
        doc.objects
            .values()
            .any(|o| o.as_stream().is_ok_and(|s| s.dict.get(b"Length1").is_ok()))
    );
    let again = decode(out.into(), &Limits::default()).unwrap();
    assert_eq!(words(&again.pages[0]).join(" "), lines[0]);
}

#[test]
fn a_copied_page_stays_within_the_memory_bound() {
    let lines: &'static [&'static str] = &["Kính gửi: Ủy ban nhân dân xã Đông Hòa"];
    let data = test_pdf(&[page(Font::DejaVu, lines)]);
    let doc = Document::load_mem(&data).unwrap();
    let id = *doc.get_pages().values().next().unwrap();
    let placement = Placement {
        bbox: [0.0, 0.0, 595.0, 842.0],
        matrix: [1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
        size: (595.0, 842.0),
    };
    // The embedded font alone is larger than 300 kB.
    assert!(original::copy(&doc, id, placement, 300_000).is_none());
    let o = original::copy(&doc, id, placement, 2_000_000).unwrap();
    // The font, its descendant, descriptor, file and ToUnicode; never the page tree.
    assert_eq!(o.objects.len(), 5, "{:?}", o.resources);
}

#[test]
fn a_typed_page_whose_logo_does_not_decode_is_refused_not_read_without_it() {
    let mut pdf = Pdf::new();
    let (catalog, tree, page_id, content, font, logo) = (
        Ref::new(1),
        Ref::new(2),
        Ref::new(3),
        Ref::new(4),
        Ref::new(5),
        Ref::new(6),
    );
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids([page_id]).count(1);
    let mut page = pdf.page(page_id);
    page.media_box(Rect::new(0.0, 0.0, 595.0, 842.0))
        .parent(tree)
        .contents(content);
    let mut res = page.resources();
    res.fonts().pair(Name(b"F1"), font);
    res.x_objects().pair(Name(b"Im0"), logo);
    res.finish();
    page.finish();
    let mut c = pdf_writer::Content::new();
    c.begin_text()
        .set_font(Name(b"F1"), 14.0)
        .next_line(72.0, 700.0);
    c.show(Str(
        b"Kinh gui Uy ban nhan dan xa Dong Hoa, ve viec dang ky khai sinh",
    ));
    c.end_text();
    let mut bytes = c.finish().to_vec();
    // A small letterhead logo: well under the share of the page a pasted scan would take.
    bytes.extend_from_slice(b" q 60 0 0 60 72 760 cm /Im0 Do Q");
    pdf.stream(content, &bytes);
    pdf.type1_font(font).base_font(Name(b"Helvetica"));
    // JPEG markers and then nothing a decoder can use.
    let broken = [
        0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x43, 0x00, 1, 2, 3, 4, 5, 6, 7,
    ];
    let mut x = pdf.image_xobject(logo, &broken);
    x.filter(pdf_writer::Filter::DctDecode);
    x.width(64).height(64).bits_per_component(8);
    x.color_space().device_gray();
    x.finish();
    let data: Arc<[u8]> = pdf.finish().into();
    let err = decode(data, &Limits::default()).unwrap_err();
    assert_eq!(err.code(), "corrupt_file", "{err}");
    assert!(err.to_string().contains("does not decode"), "{err}");
}
