//! A source PDF page shown as it was: its content becomes one Form XObject with the page's
//! resources, and every object those reach is written again under new numbers (what page
//! overlay with qpdf or pdf-writer does). The output page draws that form where the page's
//! crop box and `/Rotate` put it, so vector text stays text and images stay as they were.

use lopdf::Object;
use miniz_oxide::deflate::compress_to_vec_zlib;
use pdf_writer::{Filter, Name, Null, Obj, Pdf, Rect, Ref, Str};

use super::Ids;
use crate::decode::OriginalPage;

/// Writes the page's objects and its form; returns the form's reference.
pub(super) fn write(pdf: &mut Pdf, ids: &mut Ids, page: &OriginalPage) -> Ref {
    // Copy position n is object `base + n`.
    let base = ids.reserve(page.objects.len());
    let form = ids.next();
    for (n, o) in page.objects.iter().enumerate() {
        let id = Ref::new(base + n as i32);
        match o {
            Object::Stream(s) => {
                let mut stream = pdf.stream(id, &s.content);
                for (k, v) in s.dict.iter() {
                    // pdf-writer writes the length of the data it is given.
                    if k != b"Length" {
                        value(stream.insert(Name(k)), v, base);
                    }
                }
            }
            o => value(pdf.indirect(id), o, base),
        }
    }
    let content = compress_to_vec_zlib(&page.content, 6);
    let [x0, y0, x1, y1] = page.placement.bbox;
    let mut f = pdf.form_xobject(form, &content);
    f.bbox(Rect::new(x0, y0, x1, y1));
    f.filter(Filter::FlateDecode);
    value(
        f.insert(Name(b"Resources")),
        &Object::Dictionary(page.resources.clone()),
        base,
    );
    form
}

/// One direct object; references are copy positions, made object numbers here.
fn value(obj: Obj<'_>, o: &Object, base: i32) {
    match o {
        Object::Null => obj.primitive(Null),
        Object::Boolean(b) => obj.primitive(*b),
        Object::Integer(i) => match i32::try_from(*i) {
            Ok(i) => obj.primitive(i),
            Err(_) => obj.primitive(*i as f32),
        },
        Object::Real(r) => obj.primitive(*r),
        Object::Name(n) => obj.primitive(Name(n)),
        Object::String(s, _) => obj.primitive(Str(s)),
        Object::Array(a) => {
            let mut arr = obj.array();
            for v in a {
                value(arr.push(), v, base);
            }
        }
        Object::Dictionary(d) => {
            let mut dict = obj.dict();
            for (k, v) in d.iter() {
                value(dict.insert(Name(k)), v, base);
            }
        }
        // A stream is always an indirect object of its own; inside another it is malformed.
        Object::Stream(_) => obj.primitive(Null),
        Object::Reference((n, _)) => match i32::try_from(*n) {
            Ok(n) => obj.primitive(Ref::new(base + n)),
            Err(_) => obj.primitive(Null),
        },
    }
}
