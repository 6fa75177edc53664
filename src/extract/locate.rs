//! Finding a field's value on the page: its label, then the words where the model says the value
//! sits (rest of the label's row, the row below, or a page-wide pattern).

use super::anchor::{self, Hit, PageText, union, y_center};
use super::model::{FieldSpec, Place};
use crate::domain::BBox;
use crate::extract::fold::fold_words;

/// The words of a value and the label that led to them.
#[derive(Debug, Clone)]
pub struct Located {
    pub raw: String,
    pub words: Vec<usize>,
    /// Label similarity (1 for page patterns).
    pub label_similarity: f64,
    /// y centre of the label's row, for fields declared `after` this one.
    pub label_y: f32,
}

impl Located {
    pub fn bbox(&self, page: &PageText) -> Option<BBox> {
        (!self.words.is_empty()).then(|| union(self.words.iter().map(|&i| page.words[i].bbox)))
    }

    pub fn confidences<'a>(&'a self, page: &'a PageText) -> impl Iterator<Item = f32> + 'a {
        self.words.iter().map(|&i| page.words[i].confidence)
    }
}

/// Words vertically overlapping `row` by at least half the smaller height.
fn in_row(page: &PageText, row: &BBox, i: usize) -> bool {
    let b = &page.words[i].bbox;
    let overlap = b.y1.min(row.y1) as i64 - b.y0.max(row.y0) as i64;
    overlap * 2 >= b.height().min(row.height()).max(1) as i64
}

/// Rest of the label's row, right of the label, left to right.
fn same_line(page: &PageText, hit: &Hit) -> Vec<usize> {
    let mut ws: Vec<usize> = (0..page.words.len())
        .filter(|&i| page.words[i].bbox.x0 + 2 >= hit.bbox.x1 && in_row(page, &hit.bbox, i))
        .collect();
    ws.sort_by_key(|&i| page.words[i].bbox.x0);
    ws
}

/// The row right below the label, from a little left of the label's start.
fn next_line(page: &PageText, hit: &Hit) -> Vec<usize> {
    let h = hit.bbox.height().max(1);
    let left = hit.bbox.x0.saturating_sub(2 * h);
    let below: Vec<usize> = (0..page.words.len())
        .filter(|&i| {
            let b = &page.words[i].bbox;
            y_center(b) > hit.bbox.y1 as f32 && b.x1 > left && !page.words[i].folded.is_empty()
        })
        .collect();
    let Some(&top) = below
        .iter()
        .min_by(|&&a, &&b| y_center(&page.words[a].bbox).total_cmp(&y_center(&page.words[b].bbox)))
    else {
        return Vec::new();
    };
    // Too far below is another part of the page, not this label's value.
    if page.words[top].bbox.y0 > hit.bbox.y1 + 3 * h {
        return Vec::new();
    }
    let row = page.words[top].bbox;
    let mut ws: Vec<usize> = below
        .into_iter()
        .filter(|&i| in_row(page, &row, i))
        .collect();
    ws.sort_by_key(|&i| page.words[i].bbox.x0);
    ws
}

/// Words whose centre lies in `zone` (label heights from the label's left edge and top), in
/// reading order.
fn in_zone(page: &PageText, hit: &Hit, zone: [f32; 4]) -> Vec<usize> {
    let h = hit.bbox.height().max(1) as f32;
    let (x0, y0) = (hit.bbox.x0 as f32, hit.bbox.y0 as f32);
    let [l, t, r, b] = zone.map(|v| v * h);
    let mut ws: Vec<usize> = (0..page.words.len())
        .filter(|&i| {
            let w = &page.words[i].bbox;
            let (cx, cy) = ((w.x0 + w.x1) as f32 / 2.0, y_center(w));
            cx >= x0 + l && cx <= x0 + r && cy >= y0 + t && cy <= y0 + b
        })
        .collect();
    ws.sort_by(|&a, &b| {
        let (wa, wb) = (&page.words[a].bbox, &page.words[b].bbox);
        (wa.y0 / (h as u32).max(1), wa.x0).cmp(&(wb.y0 / (h as u32).max(1), wb.x0))
    });
    ws
}

fn text_of(page: &PageText, words: &[usize]) -> String {
    words
        .iter()
        .map(|&i| page.words[i].text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Keeps the words a pattern matched (on the value text); all of them without a pattern.
fn narrow(page: &PageText, spec: &FieldSpec, words: Vec<usize>) -> Vec<usize> {
    let Some(re) = &spec.pattern else {
        return words;
    };
    // Byte offset of each word in the joined text, to map the match back to words.
    let mut text = String::new();
    let mut spans = Vec::new();
    for &i in &words {
        if !text.is_empty() {
            text.push(' ');
        }
        let start = text.len();
        text.push_str(&page.words[i].text);
        spans.push((start, text.len(), i));
    }
    let Some(c) = re.captures(&text) else {
        return Vec::new();
    };
    let m = c.get(1).or_else(|| c.get(0)).expect("group 0 exists");
    spans
        .into_iter()
        .filter(|(s, e, _)| *s < m.end() && *e > m.start())
        .map(|(_, _, i)| i)
        .collect()
}

pub fn locate(
    page: &PageText,
    spec: &FieldSpec,
    rivals: &[String],
    below_y: Option<f32>,
) -> Option<Located> {
    if spec.place == Place::Page {
        let re = spec.pattern.as_ref()?;
        // Matched on the folded row (forms print dates in many spellings); the last match wins,
        // signatures and dates of signing close a form.
        let mut rows: Vec<&Vec<usize>> = page.lines.iter().collect();
        rows.sort_by(|a, b| y_center(&page.line_box(a)).total_cmp(&y_center(&page.line_box(b))));
        let row = rows.into_iter().rev().find(|l| {
            let folded = fold_words(&text_of(page, l)).join(" ");
            re.is_match(&folded)
        })?;
        return Some(Located {
            raw: text_of(page, row),
            words: row.clone(),
            label_similarity: 1.0,
            label_y: y_center(&page.line_box(row)),
        });
    }
    let hit = anchor::find_label(page, &spec.anchors, rivals, below_y)?;
    let same = same_line(page, &hit);
    let below = || {
        let ws = next_line(page, &hit);
        // The row below that is another field's label means this value is missing, not that
        // row (a card whose origin line was not read would give the expiry date instead).
        let labelled = ws.first().is_some_and(|&w| {
            page.lines.iter().enumerate().any(|(l, line)| {
                line.contains(&w)
                    && rivals
                        .iter()
                        .any(|r| anchor::match_in_line(page, l, r).is_some())
            })
        });
        if labelled { Vec::new() } else { ws }
    };
    let words = match spec.place {
        Place::Zone => in_zone(page, &hit, spec.zone.unwrap_or_default()),
        Place::SameLine => same,
        Place::NextLine => below(),
        Place::SameOrNext if same.iter().any(|&i| !page.words[i].folded.is_empty()) => same,
        Place::SameOrNext | Place::Page => below(),
    };
    // Leaders and colons the OCR kept are not part of the value.
    let words: Vec<usize> = words
        .into_iter()
        .skip_while(|&i| page.words[i].folded.is_empty())
        .collect();
    let words = narrow(page, spec, words);
    Some(Located {
        raw: text_of(page, &words),
        words,
        label_similarity: hit.similarity,
        label_y: y_center(&hit.bbox),
    })
}
