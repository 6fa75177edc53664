//! Parses Tesseract's TSV output (level, page, block, par, line, word, left, top, width, height,
//! conf, text) into words and lines.

use crate::domain::{BBox, Line, Word};
use crate::text::nfc;

use super::OcrResult;

pub(super) fn parse(tsv: &str) -> OcrResult {
    let mut out = OcrResult::default();
    let mut paragraphs = 0u32;
    let mut last_par = None;
    for row in tsv.lines() {
        let cols: Vec<&str> = row.splitn(12, '\t').collect();
        if cols.len() < 11 {
            continue;
        }
        let num = |i: usize| cols[i].trim().parse::<i64>().ok();
        let (Some(level), Some(block), Some(par)) = (num(0), num(2), num(3)) else {
            continue;
        };
        let (Some(l), Some(t), Some(w), Some(h)) = (num(6), num(7), num(8), num(9)) else {
            continue;
        };
        let clamp = |v: i64| v.clamp(0, i64::from(u32::MAX)) as u32;
        let bbox = BBox {
            x0: clamp(l),
            y0: clamp(t),
            x1: clamp(l + w),
            y1: clamp(t + h),
        };
        match level {
            4 => {
                if last_par != Some((block, par)) {
                    last_par = Some((block, par));
                    paragraphs += 1;
                }
                out.lines.push(Line {
                    bbox,
                    block: paragraphs - 1,
                });
            }
            5 => {
                let text = nfc(cols.get(11).copied().unwrap_or("").trim());
                let Some(line) = out.lines.len().checked_sub(1) else {
                    continue;
                };
                if text.is_empty() {
                    continue;
                }
                let confidence = cols[10]
                    .trim()
                    .parse::<f32>()
                    .unwrap_or(0.0)
                    .clamp(0.0, 100.0);
                out.words.push(Word {
                    text,
                    bbox,
                    confidence,
                    line: line as u32,
                });
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_words_and_paragraphs() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext
1\t1\t0\t0\t0\t0\t0\t0\t100\t100\t-1\t
4\t1\t1\t1\t1\t0\t10\t10\t80\t12\t-1\t
5\t1\t1\t1\t1\t1\t10\t10\t30\t12\t91.5\tHo\u{0323}
5\t1\t1\t1\t1\t2\t50\t10\t40\t12\t88\ttên
4\t1\t2\t1\t1\t0\t10\t40\t50\t12\t-1\t
5\t1\t2\t1\t1\t1\t10\t40\t50\t12\t77\t  \t
5\t1\t2\t1\t1\t2\t10\t40\t50\t12\t77\tNam
";
        let r = parse(tsv);
        assert_eq!(r.lines.len(), 2);
        assert_eq!((r.lines[0].block, r.lines[1].block), (0, 1));
        let texts: Vec<_> = r.words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["Họ", "tên", "Nam"]);
        assert_eq!(
            r.words[1].bbox,
            BBox {
                x0: 50,
                y0: 10,
                x1: 90,
                y1: 22
            }
        );
        assert_eq!(r.words[2].line, 1);
        assert!((r.mean_confidence().unwrap() - (91.5 + 88.0 + 77.0) / 3.0).abs() < 1e-3);
    }
}
