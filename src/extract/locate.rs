//! Finding a field's value on the page: its label, then the words where the model says the value
//! sits (rest of the label's row up to the next label, the row below, or a page-wide pattern),
//! and the region of the page the value occupies, for a second reading of its pixels.

use super::anchor::{self, Hit, PageText, PageWord, union, y_center};
use super::model::{FieldSpec, FieldType, Place};
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
    /// Where the value lies on the page, one box per row it occupies (a wrapped address has
    /// two): from the label to the next label or the end of the row, so that a second reader
    /// sees letters Tesseract left out. Empty for page patterns and zones.
    pub regions: Vec<BBox>,
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

/// The rest of a label's row: its words, where the value must stop (the next label, or the
/// leader after the value) and whether the value may go on on the next row (nothing stops it
/// but the dots typed over the leader's end: `… phường Thạch Thang quận...`).
struct SameRow {
    words: Vec<usize>,
    stop: Option<u32>,
    open: bool,
}

/// Rest of the label's row, right of the label, left to right, up to the next label on the row
/// (official forms print `Giới tính: … Dân tộc: … Quốc tịch: …` on one line).
fn same_line(page: &PageText, hit: &Hit, labels: &[String], cut_leaders: bool) -> SameRow {
    let label = &page.lines[hit.line][hit.start..hit.end];
    let right_of_label = |i: usize| {
        let b = &page.words[i].bbox;
        // A value typed over the leader can start under the label's last word as Tesseract
        // boxed it (`trú:` 212 px wide over `Xóm`): a word of its own that reaches past it.
        b.x0 + 2 >= hit.bbox.x1 || (b.x1 > hit.bbox.x1 && b.x0 > hit.bbox.x0 && !label.contains(&i))
    };
    let mut ws: Vec<usize> = (0..page.words.len())
        .filter(|&i| right_of_label(i) && in_row(page, &hit.bbox, i))
        .filter(|&i| !speck(page, hit, i))
        .collect();
    ws.sort_by_key(|&i| page.words[i].bbox.x0);
    let mut stop = None;
    if let Some(k) = (0..ws.len()).find(|&k| label_starts_at(page, &ws, k, labels)) {
        stop = Some(page.words[ws[k]].bbox.x0);
        ws.truncate(k);
    }
    // The leader after a value, where Tesseract read it (a run of dots, and the garbage it makes
    // of the rest: `Mẹ........ . . Q HQ SH`), ends the value and its region.
    let mut open = stop.is_none();
    if let Some(cut) = leader_cut(page, &ws).filter(|_| cut_leaders) {
        let h = hit.bbox.height().max(1);
        let end = ws[..cut]
            .last()
            .map_or(hit.bbox.x1, |&i| page.words[i].bbox.x1)
            + h;
        // Only dots after the value's last word, which carries the leader's end: the value
        // reached the row's end and may wrap. Letters after the leader are its garbage.
        open &= ws[cut..].iter().all(|&i| page.words[i].folded.is_empty())
            && ws[..cut]
                .last()
                .is_some_and(|&i| trailing_dots(&page.words[i].text) >= 3);
        stop = Some(stop.map_or(end, |s: u32| s.min(end)));
        ws.truncate(cut);
    }
    SameRow {
        words: ws,
        stop,
        open,
    }
}

fn trailing_dots(t: &str) -> usize {
    t.chars()
        .rev()
        .take_while(|c| matches!(c, '.' | '…' | ','))
        .map(|c| if c == '…' { 3 } else { 1 })
        .sum()
}

/// Where a word's letters end: a word read with the leader's dots glued on (`quận...`) ends
/// before them (shared out by characters, which gives dots a letter's width: the letters end
/// no earlier than this).
fn letters_x1(w: &PageWord) -> u32 {
    let n = w.text.chars().count();
    let kept = n - trailing_dots(&w.text).min(n);
    w.bbox.x0 + (w.bbox.width() as usize * kept / n.max(1)) as u32
}

/// A speck of the background Tesseract read as a letter (`ụ` at confidence 0 after a card's
/// `Full name:`, whose value is on the next row): less than half the label's height, unsure.
fn speck(page: &PageText, hit: &Hit, i: usize) -> bool {
    let w = &page.words[i];
    w.bbox.height() * 2 < hit.bbox.height() && w.confidence < 50.0
}

/// Where the leader begins among a row's words: after a word that ends in three dots or more,
/// or at a word of dots alone once the value has begun. `None`: no leader was read.
fn leader_cut(page: &PageText, ws: &[usize]) -> Option<usize> {
    let mut seen = false;
    for (k, &i) in ws.iter().enumerate() {
        let t = page.words[i].text.as_str();
        let dots = trailing_dots(t);
        let value = !page.words[i].folded.is_empty() && !is_footnote_marker(t);
        if value {
            seen = true;
            if dots >= 3 {
                return Some(k + 1);
            }
        } else if seen && dots >= 3 {
            return Some(k);
        }
    }
    None
}

/// Whether one of `labels` begins at word `k` of `row` (folded, joined, as labels are matched).
/// Short labels are left out: a value word must not be taken for one. A short value right
/// before a label (`Nữ Quốc tịch / Nationality:`) is close enough to pass for the label's first
/// word: the label begins at `k` only if it matches no better from the next word on.
fn label_starts_at(page: &PageText, row: &[usize], k: usize, labels: &[String]) -> bool {
    // The next word that has letters (a dash between value and label has none).
    let next = (k + 1..row.len()).find(|&j| !page.words[row[j]].folded.is_empty());
    labels.iter().any(|label| {
        label_match(page, row, k, label).is_some_and(|s| {
            next.and_then(|j| label_match(page, row, j, label))
                .is_none_or(|n| n <= s)
        })
    })
}

/// How well `label` matches the words of `row` from `k` on (the best similarity that counts).
fn label_match(page: &PageText, row: &[usize], k: usize, label: &str) -> Option<f64> {
    if row.get(k).is_none_or(|&w| page.words[w].folded.is_empty()) {
        return None;
    }
    let key: String = fold_words(label).concat();
    let n = key.chars().count();
    if n < 5 {
        return None;
    }
    // A near miss counts only with the label's colon after it: `Nam Định` is one letter
    // from `Năm sinh:` but is a value.
    let colon = |j: usize| {
        row.get(j)
            .is_some_and(|&w| page.words[w].text.contains([':', ';']))
    };
    let mut joined = String::new();
    let mut best: Option<f64> = None;
    for (j, &w) in row.iter().enumerate().skip(k) {
        joined.push_str(&page.words[w].folded);
        let similarity = strsim::normalized_levenshtein(&joined, &key);
        if (similarity >= 0.95
            || (similarity >= 0.85 && (!label.ends_with(':') || colon(j) || colon(j + 1))))
            && best.is_none_or(|b| similarity > b)
        {
            best = Some(similarity);
        }
        if joined.chars().count() > n + 2 {
            break;
        }
    }
    best
}

/// A footnote marker printed after a label on official forms, `(1)`…`(9)`, read as is, with a
/// bracket lost or its digit misread (`S)'`); it is not part of the value.
fn is_footnote_marker(text: &str) -> bool {
    let t = text.trim();
    let alnum = t.chars().filter(|c| c.is_alphanumeric()).count();
    let opened = t
        .strip_prefix('(')
        .is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_digit()));
    t.chars().count() <= 4 && (opened || t.contains(')')) && (1..=2).contains(&alnum)
}

/// The row under a value that runs to the end of its line, when that row holds no label and
/// starts at the left margin: a wrapped address. Its words and its own box.
/// Whether a value's last word lies in the last fifth of the room right of its label.
fn reaches_row_end(page: &PageText, hit: &Hit, value: &[usize], right_edge: u32) -> bool {
    value.last().is_some_and(|&i| {
        let room = right_edge.saturating_sub(hit.bbox.x1) as f32;
        letters_x1(&page.words[i]) as f32 >= hit.bbox.x1 as f32 + 0.8 * room
    })
}

fn continuation(
    page: &PageText,
    hit: &Hit,
    value: &[usize],
    labels: &[String],
    right_edge: u32,
) -> Option<(Vec<usize>, BBox)> {
    let h = hit.bbox.height().max(1);
    // The next row down, however widely the lines are spaced (values printed larger than their
    // labels need more room), as long as it is the next one.
    let below: Vec<usize> = (0..page.words.len())
        .filter(|&i| {
            let b = &page.words[i].bbox;
            let cy = y_center(b);
            cy > hit.bbox.y1 as f32 + 0.2 * h as f32
                && cy < hit.bbox.y1 as f32 + 3.0 * h as f32
                && !page.words[i].folded.is_empty()
        })
        .collect();
    let top = *below.iter().min_by(|&&i, &&j| {
        y_center(&page.words[i].bbox).total_cmp(&y_center(&page.words[j].bbox))
    })?;
    let below: Vec<usize> = below
        .into_iter()
        .filter(|&i| in_row(page, &page.words[top].bbox, i))
        .collect();
    let first = *below.iter().min_by_key(|&&i| page.words[i].bbox.x0)?;
    if page.words[first].bbox.x0 > hit.bbox.x0 + 2 * h {
        return None;
    }
    // The value wrapped if it reached the row's end, or if the next row's first word would not
    // have fitted after it (`… nhân: Bản` / `thân`; one long printed line can push the page's
    // right edge past the margin the filled-in text wraps at).
    let fits_after = value.last().is_some_and(|&i| {
        let left = text_margin(page).saturating_sub(letters_x1(&page.words[i]));
        left > page.words[first].bbox.width() + h / 2
    });
    if !reaches_row_end(page, hit, value, right_edge) && fits_after {
        return None;
    }
    let row = page.words[first].bbox;
    let mut ws: Vec<usize> = below
        .into_iter()
        .filter(|&i| in_row(page, &row, i))
        .collect();
    ws.sort_by_key(|&i| page.words[i].bbox.x0);
    // Another field's label, even misread (`Số danh cá nhân:`): labels end with a colon, values
    // of addresses do not have one.
    if (0..ws.len()).any(|k| label_starts_at(page, &ws, k, labels))
        || ws.iter().any(|&i| page.words[i].text.ends_with(':'))
    {
        return None;
    }
    let b = union(ws.iter().map(|&i| page.words[i].bbox));
    let region = BBox {
        x0: b.x0.saturating_sub(h / 2),
        y0: b.y0.saturating_sub(h / 4),
        x1: right_edge.max(b.x1),
        y1: b.y1 + h / 8,
    };
    Some((ws, region))
}

/// Where the page's lines end, most of them: the 90th percentile of line ends (a long printed
/// line or a stray mark in the margin does not move it).
fn text_margin(page: &PageText) -> u32 {
    let mut ends: Vec<u32> = page.lines.iter().map(|l| page.line_box(l).x1).collect();
    ends.sort_unstable();
    ends.get((ends.len().saturating_sub(1) * 9).div_ceil(10))
        .copied()
        .unwrap_or(0)
}

/// The box a same-line value may occupy: from the label's end to the next label (or the page's
/// right text edge), over the label's row and a little above it (values typed in sit above the
/// dotted leader) and over the words Tesseract found, whatever their height.
fn row_region(
    page: &PageText,
    hit: &Hit,
    words: &[usize],
    stop: Option<u32>,
    start: u32,
    right: u32,
) -> BBox {
    let h = hit.bbox.height().max(1);
    let mut y0 = hit.bbox.y0.saturating_sub(h * 3 / 10);
    let mut y1 = hit.bbox.y1 + h / 8;
    for &i in words {
        let b = page.words[i].bbox;
        y0 = y0.min(b.y0.saturating_sub(h / 8));
        y1 = y1.max(b.y1 + h / 8);
    }
    let x1 = stop
        .map_or(right, |s| s.saturating_sub(h / 4))
        .max(start + 1);
    BBox {
        // A little of the label's end rather than a cut letter: a label read glued to its value
        // was split at a guessed point.
        x0: start.saturating_sub(h / 6),
        y0,
        x1,
        y1,
    }
}

/// The row under a label whose same-row words belong to another column: they are on other
/// Tesseract lines than the label, and the row under the label starts where the label does and
/// ends before them. That row and its box, bounded by the other column.
fn column_below(
    page: &PageText,
    hit: &Hit,
    same: &[usize],
    below: impl FnOnce() -> Vec<usize>,
) -> Option<(Vec<usize>, BBox)> {
    let label_line = &page.lines[hit.line];
    if same.is_empty() || same.iter().any(|i| label_line.contains(i)) {
        return None;
    }
    // Only now the row below: most values share the label's Tesseract line.
    let below = below();
    let h = hit.bbox.height().max(1);
    // Where the other column begins: its lines' left edge (their first word may lie outside
    // the label's row).
    let other = page
        .lines
        .iter()
        .filter(|l| l.iter().any(|i| same.contains(i)))
        .flatten()
        .map(|&i| page.words[i].bbox.x0)
        .min()?;
    // The row below may hold the other column's next row too.
    let (below, rest): (Vec<usize>, Vec<usize>) = below
        .into_iter()
        .partition(|&i| page.words[i].bbox.x1 < other);
    if below.is_empty() || rest.iter().any(|&i| page.words[i].bbox.x0 + h / 2 < other) {
        return None;
    }
    let b = union(below.iter().map(|&i| page.words[i].bbox));
    if b.x0 > hit.bbox.x0 + h {
        return None;
    }
    let region = BBox {
        x0: b.x0.saturating_sub(h / 2),
        y0: b.y0.saturating_sub(h / 4),
        x1: other.saturating_sub(h / 4).max(b.x1),
        y1: b.y1 + h / 8,
    };
    Some((below, region))
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

/// A page-wide value: the last row whose folded text matches the field's pattern (forms print
/// dates in many spellings; signatures and dates of signing close a form) or, failing that, its
/// looser `row` pattern, for the second reader. The region spans the words the match covers.
/// Rows below `below_y` (the lowest label found: the date of signing follows every field) are
/// searched first, so that a date of birth or death above is not taken when the date of
/// signing was misread; then the whole page.
fn page_row(page: &PageText, spec: &FieldSpec, below_y: Option<f32>) -> Option<Located> {
    if let Some(y) = below_y {
        let lower: Vec<&Vec<usize>> = page
            .lines
            .iter()
            .filter(|l| y_center(&page.line_box(l)) > y)
            .collect();
        if let Some(found) = page_row_in(page, spec, lower) {
            return Some(found);
        }
    }
    page_row_in(page, spec, page.lines.iter().collect())
}

fn page_row_in(page: &PageText, spec: &FieldSpec, mut rows: Vec<&Vec<usize>>) -> Option<Located> {
    rows.sort_by(|a, b| y_center(&page.line_box(a)).total_cmp(&y_center(&page.line_box(b))));
    // Folded text of a row and the word each byte of it belongs to.
    let folded = |l: &[usize]| {
        let mut text = String::new();
        let mut owner = Vec::new();
        for &i in l {
            let f = &page.words[i].folded;
            if f.is_empty() {
                continue;
            }
            if !text.is_empty() {
                text.push(' ');
                owner.push(i);
            }
            text.push_str(f);
            owner.extend(std::iter::repeat_n(i, f.len()));
        }
        (text, owner)
    };
    let find = |re: &regex::Regex| {
        rows.iter().rev().find_map(|l| {
            let (text, owner) = folded(l);
            let m = re.find(&text)?;
            let covered: Vec<usize> = l
                .iter()
                .copied()
                .filter(|i| owner[m.start()..m.end()].contains(i))
                .collect();
            Some((*l, covered))
        })
    };
    let (row, covered) = spec
        .pattern
        .as_ref()
        .and_then(find)
        .or_else(|| spec.row_pattern.as_ref().and_then(find))?;
    let h = page.line_box(row).height().max(1);
    let regions = (!covered.is_empty())
        .then(|| {
            let b = union(covered.iter().map(|&i| page.words[i].bbox));
            BBox {
                x0: b.x0.saturating_sub(h / 3),
                y0: b.y0.saturating_sub(h / 4),
                x1: b.x1 + h,
                y1: b.y1 + h / 8,
            }
        })
        .into_iter()
        .collect();
    Some(Located {
        raw: text_of(page, row),
        words: row.clone(),
        label_similarity: 1.0,
        label_y: y_center(&page.line_box(row)),
        regions,
    })
}

pub fn locate(
    page: &PageText,
    spec: &FieldSpec,
    rivals: &[String],
    below_y: Option<f32>,
    above_y: Option<f32>,
) -> Option<Located> {
    if spec.place == Place::Page {
        return page_row(page, spec, below_y);
    }
    let hit = anchor::find_label_between(page, &spec.anchors, rivals, below_y, above_y)?;
    let labels: Vec<String> = rivals.iter().chain(&spec.anchors).cloned().collect();
    let mut row_rest = same_line(page, &hit, &labels, true);
    // A pattern that picks the value out of a row with leaders inside it (`18.... giờ 50....
    // phút, ngày 16.... tháng 06`) looks past the first leader.
    if spec.pattern.is_some() && narrow(page, spec, row_rest.words.clone()).is_empty() {
        row_rest = same_line(page, &hit, &labels, false);
    }
    let SameRow {
        words: same,
        stop,
        open,
    } = row_rest;
    let right = page
        .words
        .iter()
        .map(|w| w.bbox.x1)
        .max()
        .unwrap_or(hit.bbox.x1);
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
    let on_row = |ws: &[usize]| ws.iter().any(|&i| !page.words[i].folded.is_empty());
    // A label in a narrow column with its value under it (a card's `Có giá trị đến:` below the
    // portrait) shares its row with the other column's text: that text is not its value.
    if matches!(spec.place, Place::SameLine | Place::SameOrNext)
        && let Some((ws, region)) = column_below(page, &hit, &same, below)
    {
        let ws = narrow(page, spec, ws);
        return Some(Located {
            raw: text_of(page, &ws),
            words: ws,
            label_similarity: hit.similarity,
            label_y: y_center(&hit.bbox),
            regions: vec![region],
        });
    }
    let (words, row) = match spec.place {
        Place::Zone => (in_zone(page, &hit, spec.zone.unwrap_or_default()), false),
        Place::SameLine => (same, true),
        Place::NextLine => (below(), false),
        Place::SameOrNext if on_row(&same) => (same, true),
        Place::SameOrNext | Place::Page => (below(), false),
    };
    // Leaders, colons and footnote markers the OCR kept are not part of the value, nor of the
    // region a second reader sees.
    let skip = words
        .iter()
        .take_while(|&&i| {
            page.words[i].folded.is_empty() || is_footnote_marker(&page.words[i].text)
        })
        .count();
    let start = words[..skip]
        .iter()
        .map(|&i| page.words[i].bbox.x1 + 1)
        .max()
        .unwrap_or(hit.bbox.x1 + 1);
    let mut words = words[skip..].to_vec();
    // The crop starts no later than the value's first word.
    let start = words
        .first()
        .map_or(start, |&i| start.min(page.words[i].bbox.x0));
    let mut regions = Vec::new();
    if row {
        regions.push(row_region(page, &hit, &words, stop, start, right));
        if spec.kind.wraps()
            && open
            && let Some((more, region)) = continuation(page, &hit, &words, &labels, right)
        {
            words.extend(more);
            regions.push(region);
        }
    } else if spec.place != Place::Zone && on_row(&words) {
        let h = hit.bbox.height().max(1);
        let b = union(words.iter().map(|&i| page.words[i].bbox));
        regions.push(BBox {
            x0: b.x0.saturating_sub(h / 2),
            y0: b.y0.saturating_sub(h / 4),
            x1: right.max(b.x1),
            y1: b.y1 + h / 8,
        });
    }
    let narrowed = narrow(page, spec, words.clone());
    // An ID Tesseract misread past its pattern (`2ốể1923ổ7957`) is still on the row: the second
    // reader reads the row, and only a run of 12 figures in it makes an ID.
    let unread_id = narrowed.is_empty() && spec.kind == FieldType::PersonalId && row;
    if narrowed.len() != words.len() && !unread_id {
        // A pattern picked some words out of the row: the second reader sees only those.
        regions = (!narrowed.is_empty())
            .then(|| union(narrowed.iter().map(|&i| page.words[i].bbox)))
            .map(|b| {
                let h = hit.bbox.height().max(1);
                BBox {
                    x0: b.x0.saturating_sub(h / 3),
                    y0: b.y0.saturating_sub(h / 4),
                    x1: b.x1 + h / 3,
                    y1: b.y1 + h / 8,
                }
            })
            .into_iter()
            .collect();
    }
    Some(Located {
        raw: text_of(page, &narrowed),
        words: narrowed,
        label_similarity: hit.similarity,
        label_y: y_center(&hit.bbox),
        regions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::anchor::tests::page;
    use crate::extract::model::{Model, shipped};

    fn birth() -> Model {
        shipped("to_khai_khai_sinh")
    }

    /// Locates `field` of the birth declaration on `p` as extraction does, from the top.
    fn find(p: &PageText, field: &str) -> Located {
        find_in(&birth(), p, field)
    }

    /// Locates `field` of model `m` on `p` as extraction does, from the top.
    fn find_in(m: &Model, p: &PageText, field: &str) -> Located {
        let spec = m.fields.iter().find(|f| f.name == field).unwrap();
        let rivals = crate::extract::fields::rivals(m, spec);
        locate(p, spec, &rivals, None, None).unwrap()
    }

    /// Adds a word to Tesseract line `line` of `p` (a new line when `line` is one past the last).
    fn push_word(p: &mut PageText, line: usize, text: &str, bbox: BBox, confidence: f32) {
        if line == p.lines.len() {
            p.lines.push(Vec::new());
        }
        p.lines[line].push(p.words.len());
        p.words.push(crate::extract::anchor::PageWord {
            text: text.into(),
            folded: crate::extract::fold::fold(text),
            bbox,
            confidence,
        });
    }

    fn word_x0(p: &PageText, text: &str) -> u32 {
        p.words.iter().find(|w| w.text == text).unwrap().bbox.x0
    }

    #[test]
    fn a_value_ends_where_the_next_label_on_its_line_begins() {
        let p = page(&["Giới tính: Nam ..... Dân tộc: Kinh ..... Quốc tịch: Việt Nam ....."]);
        let sex = find(&p, "child.sex");
        assert_eq!(sex.raw, "Nam");
        let region = sex.regions[0];
        assert!(region.x1 <= word_x0(&p, "Dân"), "{region:?}");
        assert!(region.x0 <= word_x0(&p, "Nam"));
        assert_eq!(find(&p, "child.ethnic").raw, "Kinh");
        assert_eq!(find(&p, "child.nationality").raw, "Việt Nam");
    }

    #[test]
    fn a_place_name_like_a_label_is_no_label_without_its_colon() {
        // `Nam Định` folds one letter from `Năm sinh:` (a parent's birth-year label).
        let p = page(&["Quê quán: xã Hải Minh, huyện Hải Hậu, tỉnh Nam Định ..........."]);
        assert_eq!(
            find(&p, "child.origin").raw,
            "xã Hải Minh, huyện Hải Hậu, tỉnh Nam Định ...........".trim_end_matches(['.', ' '])
        );
        // A label read with its colon still ends the value before it.
        let p = page(&["Quê quán: xã Hải Minh Năm sinh: 1990"]);
        assert_eq!(find(&p, "child.origin").raw, "xã Hải Minh");
    }

    #[test]
    fn a_value_at_the_row_end_takes_the_next_row_unless_it_is_a_label() {
        let first = "Nơi cư trú: Số 358A Đại lộ Bình Dương, phường Hiệp Thành, thành phố Thủ Dầu";
        let p = page(&[
            "Họ, chữ đệm, tên người yêu cầu: HÀ AN",
            first,
            "Một, tỉnh Bình Dương",
        ]);
        let got = find(&p, "requester.address");
        assert!(
            got.raw.ends_with("Thủ Dầu Một, tỉnh Bình Dương"),
            "{}",
            got.raw
        );
        assert_eq!(got.regions.len(), 2);
        // The row below is another field's.
        let p = page(&[
            "Họ, chữ đệm, tên người yêu cầu: HÀ AN",
            first,
            "Quan hệ với người được khai sinh: Mẹ",
        ]);
        let got = find(&p, "requester.address");
        assert!(got.raw.ends_with("Thủ Dầu"), "{}", got.raw);
        assert_eq!(got.regions.len(), 1);
    }

    #[test]
    fn a_pattern_finds_its_value_past_leaders_inside_the_row() {
        let m = shipped("to_khai_khai_tu");
        let p = page(&[
            "Họ, chữ đệm, tên: NGUYỄN VĂN AN",
            "Đã chết vào lúc: 18.... giờ 50.... phút, ngày 16.... tháng 06.... năm 2024 ....",
        ]);
        let spec = m.fields.iter().find(|f| f.name == "death.date").unwrap();
        let rivals = crate::extract::fields::rivals(&m, spec);
        let got = locate(&p, spec, &rivals, None, None).unwrap();
        assert_eq!(got.raw, "ngày 16.... tháng 06.... năm 2024 ....");
        assert_eq!(
            crate::extract::vn::date(&got.raw).unwrap().value,
            "2024-06-16"
        );
    }

    #[test]
    fn footnote_markers_are_neither_value_nor_region() {
        for marker in ["(4)", "4)", "S)'"] {
            let p = page(&[&format!("Nơi sinh: {marker} Bệnh viện Phụ sản Hà Nội")]);
            let place = find(&p, "child.birthplace");
            assert_eq!(place.raw, "Bệnh viện Phụ sản Hà Nội", "{marker}");
            let marker_end = p.words.iter().find(|w| w.text == marker).unwrap().bbox.x1;
            // A sixth of a label height of slack before the value, never the whole marker.
            assert!(place.regions[0].x0 + 10 > marker_end, "{:?}", place.regions);
        }
        // A short value that happens to be a number is not a marker.
        assert!(!is_footnote_marker("127,"));
        assert!(!is_footnote_marker("(Xã"));
    }

    #[test]
    fn a_value_typed_above_the_leader_is_inside_its_region() {
        let p = page(&["TỜ KHAI", "Họ, chữ đệm, tên: TRẦN MINH KHÔI"]);
        let mut q = p.clone();
        // The typed value sits 8 px above the label's line (the dots it was typed over are
        // gone); Tesseract still put it on the label's row.
        for w in q.words.iter_mut().skip(6) {
            w.bbox.y0 -= 8;
            w.bbox.y1 -= 8;
        }
        let name = find(&q, "child.name");
        assert_eq!(name.raw, "TRẦN MINH KHÔI");
        let r = name.regions[0];
        let value = union(q.words[6..].iter().map(|w| w.bbox));
        assert!(r.y0 <= value.y0 && r.y1 >= value.y1 && r.x0 <= value.x0 && r.x1 >= value.x1);
        // The label's own row is covered too, with room above it.
        assert!(r.y0 < p.words[2].bbox.y0 && r.y1 >= p.words[2].bbox.y1);
    }

    #[test]
    fn a_wrapped_address_takes_its_second_row_and_both_regions() {
        let p = page(&[
            "Nơi cư trú: Số 18 ngõ 45 phố Bằng Liệt, phường Hoàng Liệt, quận Hoàng Mai,",
            "thành phố Hà Nội",
            "Họ, chữ đệm, tên người mẹ: ĐỖ THỊ LAN",
        ]);
        let m = birth();
        let spec = m
            .fields
            .iter()
            .find(|f| f.name == "requester.address")
            .unwrap();
        let loc = locate(&p, spec, &[], None, None).unwrap();
        assert_eq!(
            loc.raw,
            "Số 18 ngõ 45 phố Bằng Liệt, phường Hoàng Liệt, quận Hoàng Mai, thành phố Hà Nội"
        );
        assert_eq!(loc.regions.len(), 2);
        // The second row's region runs from its first word to the page's right text edge: a
        // letter Tesseract missed at the end is still in the crop.
        let right = p.words.iter().map(|w| w.bbox.x1).max().unwrap();
        assert!(loc.regions[1].x0 <= word_x0(&p, "thành") && loc.regions[1].x1 >= right);
        // A value that stops short of the line's end did not wrap; a labelled row is not a
        // continuation.
        let p = page(&[
            "Nơi cư trú: Thôn Đông, xã Tiên Lữ ......",
            "thành phố Hà Nội ..........................................................................",
        ]);
        assert_eq!(find(&p, "requester.address").raw, "Thôn Đông, xã Tiên Lữ");
        for next in [
            "Quan hệ với người được khai sinh: Mẹ",
            "Số danh cá nhân: 054194388379",
        ] {
            let p = page(&[
                "Nơi cư trú: Số 18 ngõ 45 phố Bằng Liệt, phường Hoàng Liệt, thành phố Hà Nội",
                next,
            ]);
            assert_eq!(find(&p, "requester.address").regions.len(), 1, "{next}");
        }
        // A sentence the form prints is no continuation.
        let p = page(&[
            "Nơi cư trú: Xóm 11, xã Hòa Xuân Tây, huyện Đông Hòa, tỉnh Phú Yên",
            "Tôi cam đoan nội dung trên đây là đúng sự thật",
        ]);
        assert_eq!(
            find(&p, "requester.address").raw,
            "Xóm 11, xã Hòa Xuân Tây, huyện Đông Hòa, tỉnh Phú Yên"
        );
        // The leader's last dots read onto the value's last word end the row, not the value.
        let p = page(&[
            "Nơi cư trú: Số 49 ngõ 4 phố Nguyễn Văn Linh, phường Thạch Thang quận...",
            "Hải Châu, thành phố Đà Nẵng",
        ]);
        assert_eq!(
            find(&p, "requester.address").raw,
            "Số 49 ngõ 4 phố Nguyễn Văn Linh, phường Thạch Thang quận... Hải Châu, thành phố Đà Nẵng"
        );
        // A value whose row ended because the next word did not fit wrapped, even where one
        // long printed line reaches further right.
        let mut rows = vec![
            "Quan hệ với người được cấp Giấy xác nhận tình trạng hôn nhân: Bản",
            "thân",
            "Đề nghị cấp Giấy xác nhận tình trạng hôn nhân cho người có tên dưới đây:",
        ];
        rows.extend(["Đề nghị cấp Giấy xác nhận tình trạng hôn nhân cho người có tên dưới"; 10]);
        let p = page(&rows);
        let m = shipped("to_khai_xac_nhan_tinh_trang_hon_nhan");
        let spec = m
            .fields
            .iter()
            .find(|f| f.name == "requester.relation")
            .unwrap();
        assert_eq!(locate(&p, spec, &[], None, None).unwrap().raw, "Bản thân");
        // A short value with the whole leader read onto it did not wrap.
        let p = page(&[
            "Nơi cư trú: Thôn Đông...............................................................",
            "thành phố Hà Nội",
        ]);
        assert_eq!(find(&p, "requester.address").regions.len(), 1);
    }

    #[test]
    fn the_leader_and_its_garbage_end_a_value_and_its_region() {
        let p = page(&["Quan hệ với người được khai sinh: Mẹ........ . . Q HQ SH HH kia"]);
        let rel = find(&p, "requester.relation");
        assert_eq!(rel.raw, "Mẹ........");
        assert!(rel.regions[0].x1 < word_x0(&p, "Q"), "{:?}", rel.regions);
        // Dots between the words of a value typed over the leader do not end it.
        let p = page(&["Họ, chữ đệm, tên: ..NGÔ.TUYẾT.MINH.THỦY....... ..... 2222tnnc"]);
        assert_eq!(find(&p, "child.name").raw, "..NGÔ.TUYẾT.MINH.THỦY.......");
    }

    #[test]
    fn an_id_is_picked_out_of_its_identity_paper() {
        let p = page(&[
            "Giấy tờ tùy thân: (2) Căn cước số 001192014387, Bộ Công an cấp ngày 12/5/2022",
        ]);
        let pid = find(&p, "requester.pid");
        assert_eq!(pid.raw, "001192014387,");
        let w = p
            .words
            .iter()
            .find(|w| w.text == "001192014387,")
            .unwrap()
            .bbox;
        let r = pid.regions[0];
        assert!(r.x0 <= w.x0 && r.x1 >= w.x1 && r.x1 < word_x0(&p, "Bộ"));
    }

    #[test]
    fn a_card_value_ends_where_the_next_label_on_its_line_begins() {
        let m = shipped("cccd");
        let p = page(&[
            "Ngày sinh / Date of birth: 27/07/1980",
            "Giới tính / Sex: Nữ Quốc tịch / Nationality: Việt Nam",
        ]);
        assert_eq!(find_in(&m, &p, "sex").raw, "Nữ");
        // A dash between value and label has no letters: the label still starts after it.
        let p = page(&["Giới tính / Sex: Nam — Quốc tịch / Nationality: Việt Nam"]);
        assert_eq!(find_in(&m, &p, "sex").raw, "Nam —");
    }

    #[test]
    fn a_value_under_the_labels_wide_last_word_is_the_values() {
        let mut p = page(&["Nơi cư trú: Xóm 11, xã Hòa Xuân Tây"]);
        // Tesseract boxed `trú:` over the value's first word.
        let tru = p.words.iter().position(|w| w.text == "trú:").unwrap();
        let xom = p.words.iter().position(|w| w.text == "Xóm").unwrap();
        p.words[tru].bbox.x1 = p.words[xom].bbox.x1 - 4;
        let found = find(&p, "requester.address");
        assert_eq!(found.raw, "Xóm 11, xã Hòa Xuân Tây");
        assert!(found.regions[0].x0 <= p.words[xom].bbox.x0);
    }

    #[test]
    fn a_speck_after_a_label_is_no_value() {
        let m = shipped("cccd");
        let mut p = page(&["Họ và tên / Full name:", "NGUYỄN NGỌC NHẬT THẮNG"]);
        let x = p.words[4].bbox.x1 + 80;
        let speck = BBox {
            x0: x,
            y0: 14,
            x1: x + 7,
            y1: 20,
        };
        push_word(&mut p, 0, "ụ", speck, 0.0);
        assert_eq!(find_in(&m, &p, "name").raw, "NGUYỄN NGỌC NHẬT THẮNG");
    }

    #[test]
    fn a_value_under_its_label_in_a_narrow_column_is_not_the_other_column() {
        let m = shipped("cccd");
        // The other column's row shares the label's height but is another Tesseract line.
        let mut p = page(&["Có giá trị đến:", "26/05/2025"]);
        let x0 = p.words.iter().map(|w| w.bbox.x1).max().unwrap() + 200;
        // The other column's row, and its next row beside the value: a Tesseract line each.
        for (words, y0, y1) in [
            (&["Tổ", "dân", "phố", "11,"][..], 2, 24),
            (&["Hòa,", "tỉnh"], 40, 64),
        ] {
            let line = p.lines.len();
            for (k, t) in words.iter().enumerate() {
                let x = x0 + 60 * k as u32;
                push_word(
                    &mut p,
                    line,
                    t,
                    BBox {
                        x0: x,
                        y0,
                        x1: x + 50,
                        y1,
                    },
                    95.0,
                );
            }
        }
        let found = find_in(&m, &p, "expiry");
        assert_eq!(found.raw, "26/05/2025");
        assert!(found.regions[0].x1 < x0);
        // On the label's own Tesseract line the same words are its value.
        let p = page(&["Có giá trị đến: 26/05/2025"]);
        assert_eq!(find_in(&m, &p, "expiry").raw, "26/05/2025");
    }
}
