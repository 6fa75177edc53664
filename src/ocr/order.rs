//! Reading order between paragraphs. Tesseract reads column by column, so a single line standing
//! beside a taller paragraph, low down, such as the expiry date under an ID card's portrait, comes
//! out first, before the card's whole text. Such a line is a caption: it is read after the
//! paragraph it stands beside. Columns of several lines keep Tesseract's order.

use crate::domain::BBox;

use super::OcrResult;

/// Paragraph a caption may follow: at least this many lines.
const MIN_COLUMN_LINES: usize = 3;

struct Para {
    id: u32,
    lines: Vec<usize>,
    bbox: BBox,
}

/// Moves caption lines after the paragraph they stand beside; words and lines follow.
pub fn captions_after_columns(result: &mut OcrResult) {
    let mut paras: Vec<Para> = Vec::new();
    for (i, l) in result.lines.iter().enumerate() {
        match paras.last_mut() {
            Some(p) if p.id == l.block => {
                p.lines.push(i);
                p.bbox = union(p.bbox, l.bbox);
            }
            _ => paras.push(Para {
                id: l.block,
                lines: vec![i],
                bbox: l.bbox,
            }),
        }
    }
    let mut order: Vec<usize> = (0..paras.len()).collect();
    let mut moved = false;
    for (i, p) in paras.iter().enumerate() {
        if p.lines.len() != 1 {
            continue;
        }
        let (pb, beside) = (p.bbox, |q: &Para| {
            q.bbox.x1 <= p.bbox.x0 || p.bbox.x1 <= q.bbox.x0
        });
        // Alone in its column: no text above or below it (rules and frame edges read as tall
        // narrow "lines" do not count).
        let alone = paras
            .iter()
            .enumerate()
            .all(|(k, q)| k == i || beside(q) || q.bbox.x1 - q.bbox.x0 < q.bbox.y1 - q.bbox.y0);
        // The column: the paragraphs after it, on its right or left.
        let column: Vec<usize> = (i + 1..paras.len())
            .filter(|&k| beside(&paras[k]))
            .collect();
        let (Some(&last), true) = (column.last(), alone) else {
            continue;
        };
        let lines: usize = column.iter().map(|&k| paras[k].lines.len()).sum();
        let (top, bottom) = column.iter().fold((u32::MAX, 0), |(t, b), &k| {
            (t.min(paras[k].bbox.y0), b.max(paras[k].bbox.y1))
        });
        let reach = 2 * (pb.y1 - pb.y0);
        if lines >= MIN_COLUMN_LINES && pb.y0 > (top + bottom) / 2 && pb.y0 <= bottom + reach {
            let from = order.iter().position(|&k| k == i).unwrap();
            order.remove(from);
            let to = order.iter().position(|&k| k == last).unwrap();
            order.insert(to + 1, i);
            moved = true;
        }
    }
    if !moved {
        return;
    }
    // New line numbers in the new order; words keep their order within a line.
    let mut new_index = vec![0u32; result.lines.len()];
    let mut lines = Vec::with_capacity(result.lines.len());
    for (n, &k) in order.iter().enumerate() {
        for &l in &paras[k].lines {
            new_index[l] = lines.len() as u32;
            let mut line = result.lines[l].clone();
            line.block = n as u32;
            lines.push(line);
        }
    }
    let mut words = std::mem::take(&mut result.words);
    for w in &mut words {
        w.line = new_index[w.line as usize];
    }
    words.sort_by_key(|w| w.line);
    result.words = words;
    result.lines = lines;
}

fn union(a: BBox, b: BBox) -> BBox {
    BBox {
        x0: a.x0.min(b.x0),
        y0: a.y0.min(b.y0),
        x1: a.x1.max(b.x1),
        y1: a.y1.max(b.y1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Line, Word};

    fn line(block: u32, x0: u32, y0: u32, x1: u32) -> Line {
        Line {
            bbox: BBox {
                x0,
                y0,
                x1,
                y1: y0 + 20,
            },
            block,
            baseline: [x0 as f32, (y0 + 16) as f32, x1 as f32, (y0 + 16) as f32],
        }
    }

    fn result(lines: Vec<Line>) -> OcrResult {
        let words = lines
            .iter()
            .enumerate()
            .flat_map(|(i, l)| {
                (0..2).map(move |k| Word {
                    text: format!("l{i}w{k}"),
                    bbox: l.bbox,
                    confidence: 90.0,
                    line: i as u32,
                })
            })
            .collect();
        OcrResult { words, lines }
    }

    fn text(r: &OcrResult) -> Vec<String> {
        r.words.iter().map(|w| w.text.clone()).collect()
    }

    #[test]
    fn caption_under_a_portrait_is_read_after_the_column_beside_it() {
        // Expiry date low on the left, then the card's text column on the right.
        // The column comes in several paragraphs; the portrait's frame edge reads as a tall
        // narrow line above the caption.
        let mut frame = line(2, 12, 100, 15);
        frame.bbox.y1 = 340;
        let mut r = result(vec![
            line(0, 10, 380, 200),
            line(1, 240, 50, 600),
            line(1, 240, 100, 600),
            frame,
            line(3, 240, 150, 600),
            line(3, 240, 350, 600),
        ]);
        captions_after_columns(&mut r);
        let order: Vec<String> = [1, 2, 3, 4, 5, 0]
            .iter()
            .flat_map(|i| [format!("l{i}w0"), format!("l{i}w1")])
            .collect();
        assert_eq!(text(&r), order);
        assert_eq!(r.lines[5].bbox.y0, 380);
        assert_eq!(r.words[10].line, 5);
        let blocks: Vec<u32> = r.lines.iter().map(|l| l.block).collect();
        assert_eq!(blocks, [0, 0, 1, 2, 2, 3]);
    }

    #[test]
    fn columns_and_headings_keep_their_order() {
        // Two columns of three lines, a heading line above the right column, and a line low in
        // the left column (not alone in its column, so not a caption).
        let cols = vec![
            line(0, 10, 100, 200),
            line(0, 10, 130, 200),
            line(0, 10, 160, 200),
            line(1, 300, 40, 600),
            line(2, 300, 100, 600),
            line(2, 300, 130, 600),
            line(2, 300, 160, 600),
            line(3, 10, 190, 200),
            line(4, 300, 190, 600),
            line(4, 300, 220, 600),
        ];
        let mut r = result(cols);
        let before = text(&r);
        captions_after_columns(&mut r);
        assert_eq!(text(&r), before);
    }
}
