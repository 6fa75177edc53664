//! What a page draws: one scan filling the page (decoded from the image itself: faster, lossless,
//! a JPEG passes through), or anything else (typed text, several images, inline images, an image
//! in a corner), which is rendered. Read from the page's content stream with just enough of the
//! graphics state (the transform and the text render mode) to tell the two apart.

use std::collections::HashMap;

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Object, ObjectId};

/// Deepest form-in-form nesting followed (files that loop are cut off here).
const MAX_FORM_DEPTH: usize = 4;
/// Operators read on one page before it is given up on as a layout to analyse (and rendered).
const MAX_OPERATIONS: usize = 2_000_000;
/// A scan covers at least this share of the page; scanner software fills it exactly.
const FULL_PAGE: f64 = 0.8;

/// How a page is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    /// The page is this one image (drawn over most of the page, nothing visible besides).
    Scan(ObjectId),
    /// The page must be rendered; the reason is logged.
    Render(&'static str),
    /// The content stream could not be read: fall back to the page's largest image.
    Unknown,
}

/// What the content of one page draws.
#[derive(Default)]
struct Drawn {
    /// Image XObjects with the share of the page their drawn box covers.
    images: Vec<(ObjectId, f64)>,
    inline_images: usize,
    /// Text shown in a visible render mode (mode 3 is the invisible layer of an OCRed scan).
    visible_text: usize,
    operations: usize,
}

/// `media`: the page's MediaBox (x0, y0, x1, y1).
pub(super) fn classify(
    doc: &Document,
    page: ObjectId,
    xobjects: &HashMap<Vec<u8>, ObjectId>,
    media: [f64; 4],
    content_limit: usize,
) -> Layout {
    let Ok(bytes) = doc.get_page_content_with_limit(page, content_limit) else {
        return Layout::Unknown;
    };
    let Ok(content) = Content::decode(&bytes) else {
        return Layout::Unknown;
    };
    let mut drawn = Drawn::default();
    walk(doc, &content, IDENTITY, xobjects, media, 0, &mut drawn);
    decide(&drawn)
}

fn decide(d: &Drawn) -> Layout {
    if d.operations > MAX_OPERATIONS {
        return Layout::Render("very long content stream");
    }
    if d.visible_text > 0 {
        return Layout::Render("the page has text");
    }
    if d.inline_images > 0 {
        return Layout::Render("the page has inline images");
    }
    let mut distinct: Vec<(ObjectId, f64)> = Vec::new();
    for &(id, share) in &d.images {
        match distinct.iter_mut().find(|(i, _)| *i == id) {
            Some(e) => e.1 = e.1.max(share),
            None => distinct.push((id, share)),
        }
    }
    match distinct.as_slice() {
        [] => Layout::Render("the page has no image"),
        [(id, share)] if *share >= FULL_PAGE => Layout::Scan(*id),
        [_] => Layout::Render("the image does not fill the page"),
        _ => Layout::Render("the page has several images"),
    }
}

type Matrix = [f64; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// `a` then `b` (PDF row-vector convention: a point is transformed by `a`, then by `b`).
fn concat(a: &Matrix, b: &Matrix) -> Matrix {
    [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]
}

fn matrix(operands: &[Object]) -> Option<Matrix> {
    let v: Vec<f64> = operands
        .iter()
        .filter_map(|o| o.as_float().ok().map(f64::from))
        .collect();
    <[f64; 6]>::try_from(v).ok()
}

/// Share of the page the unit square under `m` covers (its bounding box, clipped to the page).
fn coverage(m: &Matrix, media: [f64; 4]) -> f64 {
    let pts = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)]
        .map(|(x, y)| (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]));
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for (x, y) in pts {
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
    }
    let [mx0, my0, mx1, my1] = media;
    let w = (x1.min(mx1) - x0.max(mx0)).max(0.0);
    let h = (y1.min(my1) - y0.max(my0)).max(0.0);
    let page = (mx1 - mx0) * (my1 - my0);
    if page > 0.0 { w * h / page } else { 0.0 }
}

fn walk(
    doc: &Document,
    content: &Content,
    base: Matrix,
    xobjects: &HashMap<Vec<u8>, ObjectId>,
    media: [f64; 4],
    depth: usize,
    out: &mut Drawn,
) {
    // (transform, text render mode), saved by q and restored by Q.
    let mut state = (base, 0i64);
    let mut stack = Vec::new();
    for op in &content.operations {
        out.operations += 1;
        if out.operations > MAX_OPERATIONS {
            return;
        }
        match op.operator.as_str() {
            "q" => stack.push(state),
            "Q" => state = stack.pop().unwrap_or((base, 0)),
            "cm" => {
                if let Some(m) = matrix(&op.operands) {
                    state.0 = concat(&m, &state.0);
                }
            }
            "Tr" => {
                state.1 = op
                    .operands
                    .first()
                    .and_then(|o| o.as_i64().ok())
                    .unwrap_or(0);
            }
            "Tj" | "TJ" | "'" | "\"" if state.1 != 3 => out.visible_text += 1,
            "BI" => out.inline_images += 1,
            "Do" => {
                let Some(id) = op
                    .operands
                    .first()
                    .and_then(|o| o.as_name().ok())
                    .and_then(|n| xobjects.get(n))
                else {
                    continue;
                };
                let Ok(stream) = doc.get_object(*id).and_then(Object::as_stream) else {
                    continue;
                };
                match stream.dict.get(b"Subtype").and_then(Object::as_name) {
                    Ok(b"Image") => out.images.push((*id, coverage(&state.0, media))),
                    Ok(b"Form") if depth < MAX_FORM_DEPTH => {
                        let form_matrix = stream
                            .dict
                            .get(b"Matrix")
                            .and_then(Object::as_array)
                            .ok()
                            .and_then(|a| matrix(a))
                            .unwrap_or(IDENTITY);
                        let own = form_xobjects(doc, &stream.dict);
                        let names = if own.is_empty() { xobjects } else { &own };
                        let Ok(bytes) = stream.decompressed_content_with_limit(1 << 26) else {
                            continue;
                        };
                        if let Ok(inner) = Content::decode(&bytes) {
                            let m = concat(&form_matrix, &state.0);
                            walk(doc, &inner, m, names, media, depth + 1, out);
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

/// Names of the XObjects in a resource dictionary.
pub(super) fn names_in(
    doc: &Document,
    resources: &Dictionary,
    out: &mut HashMap<Vec<u8>, ObjectId>,
) {
    let resolve = |o: &Object| doc.dereference(o).map(|(_, o)| o.clone()).ok();
    let Some(Object::Dictionary(x)) = resources.get(b"XObject").ok().and_then(resolve) else {
        return;
    };
    for (name, v) in x.iter() {
        if let Ok(id) = v.as_reference() {
            out.entry(name.clone()).or_insert(id);
        }
    }
}

fn form_xobjects(doc: &Document, form: &Dictionary) -> HashMap<Vec<u8>, ObjectId> {
    let mut out = HashMap::new();
    if let Ok(Object::Dictionary(r)) = form
        .get(b"Resources")
        .and_then(|o| doc.dereference(o).map(|(_, o)| o))
    {
        names_in(doc, r, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_follows_the_transform() {
        let a4 = [0.0, 0.0, 595.0, 842.0];
        assert!((coverage(&[595.0, 0.0, 0.0, 842.0, 0.0, 0.0], a4) - 1.0).abs() < 1e-9);
        // Turned a quarter (drawn rotated) still fills it.
        let turned = [0.0, 842.0, -595.0, 0.0, 595.0, 0.0];
        assert!(coverage(&turned, a4) > 0.99);
        // A logo in a corner.
        assert!(coverage(&[100.0, 0.0, 0.0, 50.0, 10.0, 10.0], a4) < 0.02);
        // Scaled inside a form: the form's matrix then the page's.
        let m = concat(
            &[2.0, 0.0, 0.0, 2.0, 0.0, 0.0],
            &[297.5, 0.0, 0.0, 421.0, 0.0, 0.0],
        );
        assert!((coverage(&m, a4) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn decides_scan_or_render() {
        let id = (5, 0);
        let one = |share| Drawn {
            images: vec![(id, share), (id, share)],
            ..Drawn::default()
        };
        assert_eq!(decide(&one(1.0)), Layout::Scan(id));
        assert!(matches!(decide(&one(0.3)), Layout::Render(_)));
        let text = Drawn {
            visible_text: 1,
            ..one(1.0)
        };
        assert!(matches!(decide(&text), Layout::Render(_)));
        let two = Drawn {
            images: vec![(id, 1.0), ((6, 0), 0.5)],
            ..Drawn::default()
        };
        assert!(matches!(decide(&two), Layout::Render(_)));
        assert!(matches!(decide(&Drawn::default()), Layout::Render(_)));
    }
}
