//! A page's own content, lifted out of the source file so the searchable PDF can show the page
//! as it was (vector text stays text, embedded images stay as they were) instead of a copy
//! rasterized by us. The page's content streams and everything its resources reach (fonts,
//! images, forms, colour spaces…) are copied, with references renumbered to positions in
//! `objects`; `render::original` writes them out as one Form XObject.
//!
//! Copying is bounded: more than `Limits::max_decode_alloc_bytes` of stream data or
//! [`MAX_OBJECTS`] objects, and the page is shown as our rendered image instead.

use std::collections::HashMap;

use lopdf::{Dictionary, Document, Object, ObjectId, Stream};

/// Objects copied for one page before it is shown as an image instead.
const MAX_OBJECTS: usize = 100_000;

/// Where the page's content goes on the upright output page (from the renderer, which reads
/// the crop box and `/Rotate` as it renders).
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    /// The crop box, in the page's own space (x0, y0, x1, y1).
    pub bbox: [f32; 4],
    /// Page space → output page space, points.
    pub matrix: [f32; 6],
    /// Output page width and height, points.
    pub size: (f32, f32),
}

/// One page's content and the objects it needs. A `Reference((n, 0))` inside `resources` or
/// `objects` means `objects[n]`.
#[derive(Debug)]
pub struct OriginalPage {
    /// The page's content streams, decoded and joined.
    pub content: Vec<u8>,
    pub resources: Dictionary,
    pub objects: Vec<Object>,
    pub placement: Placement,
}

/// The page's content and resources, or `None` where they are missing or over the bound.
pub(super) fn copy(
    doc: &Document,
    page: ObjectId,
    placement: Placement,
    limit: usize,
) -> Option<OriginalPage> {
    let content = doc.get_page_content_with_limit(page, limit).ok()?;
    let (own, inherited) = doc.get_page_resources(page).ok()?;
    // The nearest `/Resources` applies whole; an ancestor's are not merged into a page's own.
    let resources = match own {
        Some(d) => d.clone(),
        None => match inherited.first() {
            Some(id) => doc.get_dictionary(*id).ok()?.clone(),
            None => Dictionary::new(),
        },
    };
    let mut copier = Copier {
        doc,
        ids: HashMap::new(),
        queue: Vec::new(),
        budget: limit.saturating_sub(content.len()),
    };
    let mut resources = Object::Dictionary(resources);
    copier.renumber(&mut resources)?;
    let mut objects = Vec::new();
    while let Some(id) = copier.queue.get(objects.len()).copied() {
        let mut o = match doc.get_object(id) {
            Ok(o) => o.clone(),
            // A dangling reference reads as null, as the spec says.
            Err(_) => Object::Null,
        };
        if let Object::Stream(s) = &o {
            copier.budget = copier.budget.checked_sub(s.content.len())?;
        }
        copier.renumber(&mut o)?;
        objects.push(o);
    }
    let Object::Dictionary(resources) = resources else {
        return None;
    };
    Some(OriginalPage {
        content,
        resources,
        objects,
        placement,
    })
}

struct Copier<'a> {
    doc: &'a Document,
    /// Source object → its position in the copy.
    ids: HashMap<ObjectId, usize>,
    /// Source objects in copy order.
    queue: Vec<ObjectId>,
    /// Stream bytes still allowed.
    budget: usize,
}

impl Copier<'_> {
    /// Rewrites references in `o` to copy positions, queueing what is new. `None`: too many.
    fn renumber(&mut self, o: &mut Object) -> Option<()> {
        match o {
            Object::Reference(id) => {
                let n = match self.ids.get(id) {
                    Some(&n) => n,
                    None => {
                        if self.queue.len() >= MAX_OBJECTS {
                            return None;
                        }
                        // A reference to a page or the page tree (a hostile or odd file) would
                        // copy the whole document: it is dropped instead.
                        let is_page = self
                            .doc
                            .get_dictionary(*id)
                            .ok()
                            .and_then(|d| d.get(b"Type").ok())
                            .and_then(|t| t.as_name().ok())
                            .is_some_and(|t| t == b"Page" || t == b"Pages");
                        if is_page {
                            *o = Object::Null;
                            return Some(());
                        }
                        let n = self.queue.len();
                        self.ids.insert(*id, n);
                        self.queue.push(*id);
                        n
                    }
                };
                *id = (n as u32, 0);
            }
            Object::Array(a) => {
                for v in a {
                    self.renumber(v)?;
                }
            }
            Object::Dictionary(d) => self.renumber_dict(d)?,
            Object::Stream(Stream { dict, .. }) => self.renumber_dict(dict)?,
            _ => {}
        }
        Some(())
    }

    fn renumber_dict(&mut self, d: &mut Dictionary) -> Option<()> {
        // `/Parent` (of an annotation or a structure element) leads back into the page tree.
        d.remove(b"Parent");
        for (_, v) in d.iter_mut() {
            self.renumber(v)?;
        }
        Some(())
    }
}
