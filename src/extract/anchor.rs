//! Finding printed labels among OCR words. Words and labels are compared folded (no case,
//! diacritics or punctuation) and joined, so a label read with a lost mark, a split or a merged
//! word still matches; similarity is normalized Levenshtein.

use crate::domain::{BBox, Line, Word};
use crate::extract::fold::fold;

/// A label match: similarity 0–1 at or above this counts.
pub const MIN_SIMILARITY: f64 = 0.8;

#[derive(Debug, Clone)]
pub struct PageWord {
    pub text: String,
    pub folded: String,
    pub bbox: BBox,
    pub confidence: f32,
}

/// A page's words grouped into Tesseract lines, each line left to right.
#[derive(Debug, Clone, Default)]
pub struct PageText {
    pub words: Vec<PageWord>,
    pub lines: Vec<Vec<usize>>,
}

impl PageText {
    pub fn new(words: &[Word], lines: &[Line]) -> PageText {
        let mut out = PageText {
            words: Vec::with_capacity(words.len()),
            lines: vec![Vec::new(); lines.len()],
        };
        for w in words {
            let l = w.line as usize;
            if l >= out.lines.len() {
                out.lines.resize(l + 1, Vec::new());
            }
            for (text, bbox) in split_at_colon(&w.text, w.bbox) {
                out.lines[l].push(out.words.len());
                out.words.push(PageWord {
                    folded: fold(&text),
                    text,
                    bbox,
                    confidence: w.confidence,
                });
            }
        }
        for line in &mut out.lines {
            line.sort_by_key(|&i| out.words[i].bbox.x0);
        }
        out.lines.retain(|l| !l.is_empty());
        out
    }

    pub fn line_box(&self, line: &[usize]) -> BBox {
        union(line.iter().map(|&i| self.words[i].bbox))
    }
}

/// A label read glued to its value (`tên:TRÂN`) is two words: the box is shared out by
/// characters. A colon between digits (`10:30`) stays.
fn split_at_colon(text: &str, bbox: BBox) -> Vec<(String, BBox)> {
    let chars: Vec<char> = text.chars().collect();
    let at = (1..chars.len().saturating_sub(1)).find(|&i| {
        chars[i] == ':' && chars[i - 1].is_alphabetic() && chars[i + 1].is_alphanumeric()
    });
    let Some(i) = at else {
        return vec![(text.to_string(), bbox)];
    };
    let head: String = chars[..=i].iter().collect();
    let tail: String = chars[i + 1..].iter().collect();
    let cut = bbox.x0 + (bbox.width() as usize * (i + 1) / chars.len()) as u32;
    vec![
        (head, BBox { x1: cut, ..bbox }),
        (tail, BBox { x0: cut, ..bbox }),
    ]
}

pub fn union(boxes: impl Iterator<Item = BBox>) -> BBox {
    boxes
        .reduce(|a, b| BBox {
            x0: a.x0.min(b.x0),
            y0: a.y0.min(b.y0),
            x1: a.x1.max(b.x1),
            y1: a.y1.max(b.y1),
        })
        .unwrap_or(BBox {
            x0: 0,
            y0: 0,
            x1: 0,
            y1: 0,
        })
}

pub fn y_center(b: &BBox) -> f32 {
    (b.y0 + b.y1) as f32 / 2.0
}

/// Where a label was found: its line, the words it covers (`start..end` of that line) and how
/// well they matched.
#[derive(Debug, Clone)]
pub struct Hit {
    pub line: usize,
    pub start: usize,
    pub end: usize,
    pub similarity: f64,
    pub bbox: BBox,
}

/// Best match of `label` inside one line; words with no letters or digits are skipped over.
pub fn match_in_line(page: &PageText, line: usize, label: &str) -> Option<Hit> {
    let key: String = crate::extract::fold::fold_words(label).concat();
    if key.is_empty() {
        return None;
    }
    let idx = &page.lines[line];
    let mut best: Option<Hit> = None;
    for start in 0..idx.len() {
        if page.words[idx[start]].folded.is_empty() {
            continue;
        }
        let mut joined = String::new();
        for end in start + 1..=idx.len() {
            joined.push_str(&page.words[idx[end - 1]].folded);
            if joined.chars().count() > key.chars().count() * 3 / 2 + 2 {
                break;
            }
            let sim = strsim::normalized_levenshtein(&joined, &key);
            // Earlier starts win ties: labels open their line.
            if sim >= MIN_SIMILARITY && best.as_ref().is_none_or(|b| sim > b.similarity) {
                best = Some(Hit {
                    line,
                    start,
                    end,
                    similarity: sim,
                    bbox: union(idx[start..end].iter().map(|&i| page.words[i].bbox)),
                });
            }
        }
    }
    best
}

/// The topmost line below `below_y` (a y centre) that carries any of `labels` better than any of
/// `rivals` (the other labels of the model): "Họ, chữ đệm, tên người" is a near match for both
/// the mother's and the requester's label, and belongs to the one it matches best. On equal
/// similarity the longer rival wins ("Họ, chữ đệm, tên:" is a prefix of the mother's label).
pub fn find_label(
    page: &PageText,
    labels: &[String],
    rivals: &[String],
    below_y: Option<f32>,
) -> Option<Hit> {
    find_label_between(page, labels, rivals, below_y, None)
}

/// As [`find_label`], with lines also above `above_y` (the next section's heading) only.
pub fn find_label_between(
    page: &PageText,
    labels: &[String],
    rivals: &[String],
    below_y: Option<f32>,
    above_y: Option<f32>,
) -> Option<Hit> {
    let mut order: Vec<usize> = (0..page.lines.len()).collect();
    let y = |l: usize| y_center(&page.line_box(&page.lines[l]));
    order.sort_by(|&a, &b| y(a).total_cmp(&y(b)));
    let key_len = |s: &str| crate::extract::fold::fold_words(s).concat().chars().count();
    order
        .into_iter()
        .filter(|&l| below_y.is_none_or(|b| y(l) > b) && above_y.is_none_or(|a| y(l) < a))
        .find_map(|l| {
            let (hit, len) = labels
                .iter()
                .filter_map(|label| match_in_line(page, l, label).map(|h| (h, key_len(label))))
                .max_by(|a, b| a.0.similarity.total_cmp(&b.0.similarity))?;
            let beaten = rivals.iter().any(|r| {
                match_in_line(page, l, r).is_some_and(|rh| {
                    let overlaps = rh.start < hit.end && hit.start < rh.end;
                    overlaps
                        && (rh.similarity > hit.similarity + 1e-9
                            || (rh.similarity >= hit.similarity - 1e-9 && key_len(r) > len))
                })
            });
            (!beaten).then_some(hit)
        })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A page from `(text, line)` rows; words laid out left to right, lines 40 px apart.
    pub fn page(rows: &[&str]) -> PageText {
        let mut words = Vec::new();
        let lines: Vec<Line> = rows
            .iter()
            .enumerate()
            .map(|(li, row)| {
                let mut x = 10;
                for t in row.split_whitespace() {
                    let w = 12 * t.chars().count() as u32;
                    words.push(Word {
                        text: t.into(),
                        bbox: BBox {
                            x0: x,
                            y0: 40 * li as u32,
                            x1: x + w,
                            y1: 40 * li as u32 + 20,
                        },
                        confidence: 95.0,
                        line: li as u32,
                    });
                    x += w + 10;
                }
                Line {
                    bbox: BBox {
                        x0: 10,
                        y0: 40 * li as u32,
                        x1: x,
                        y1: 40 * li as u32 + 20,
                    },
                    block: 0,
                    baseline: [0.0; 4],
                }
            })
            .collect();
        PageText::new(&words, &lines)
    }

    #[test]
    fn finds_labels_despite_lost_marks_and_split_words() {
        let p = page(&[
            "Ho, chữ dệm, tèn: NGÔ VĂN NAM",
            "Ngày, thang, năm sinh: 01/02/1990",
        ]);
        let h = find_label(&p, &["Họ, chữ đệm, tên:".into()], &[], None).unwrap();
        assert_eq!((h.line, h.start, h.end), (0, 0, 4));
        let h = find_label(&p, &["Ngày, tháng, năm sinh:".into()], &[], None).unwrap();
        assert_eq!(h.line, 1);
        let p = page(&["Số định danh cánhân: 036197526268"]);
        assert!(find_label(&p, &["Số định danh cá nhân:".into()], &[], None).is_some());
    }

    #[test]
    fn a_label_glued_to_its_value_is_split() {
        let p = page(&["Họ, chữ đệm, tên:TRẦN MINH", "Giờ: 10:30"]);
        let texts: Vec<&str> = p.words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Họ,", "chữ", "đệm,", "tên:", "TRẦN", "MINH", "Giờ:", "10:30"
            ]
        );
        let (a, b) = (&p.words[3].bbox, &p.words[4].bbox);
        assert!(a.x1 == b.x0 && a.x0 < a.x1 && b.x0 < b.x1);
    }

    #[test]
    fn respects_sections_and_rejects_other_text() {
        let p = page(&["Dân tộc: Kinh", "Họ tên người mẹ: AN", "Dân tộc: Tày"]);
        let h = find_label(&p, &["Dân tộc:".into()], &[], Some(45.0)).unwrap();
        assert_eq!(h.line, 2);
        assert!(find_label(&p, &["Quốc tịch:".into()], &[], None).is_none());
    }

    #[test]
    fn a_line_belongs_to_the_label_it_matches_best() {
        let p = page(&[
            "Họ, chữ đệm, tên người yêu cầu: AN",
            "Họ, chữ đệm, tên người mẹ: BÌNH",
            "Họ, chữ đệm, tên: CHI",
        ]);
        let mother = ["Họ, chữ đệm, tên người mẹ:".to_string()];
        let child = ["Họ, chữ đệm, tên:".to_string()];
        let requester = ["Họ, chữ đệm, tên người yêu cầu:".to_string()];
        let rivals_of_mother = [requester[0].clone(), child[0].clone()];
        let rivals_of_child = [requester[0].clone(), mother[0].clone()];
        assert_eq!(
            find_label(&p, &mother, &rivals_of_mother, None)
                .unwrap()
                .line,
            1
        );
        assert_eq!(
            find_label(&p, &child, &rivals_of_child, None).unwrap().line,
            2
        );
    }
}
