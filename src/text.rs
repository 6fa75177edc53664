//! Page text from recognised words: NFC, one line per text line, a blank line between blocks.

use unicode_normalization::UnicodeNormalization;

use crate::domain::{Line, Word};

pub fn nfc(s: &str) -> String {
    s.nfc().collect()
}

/// Reading-order text of a page. `words` are in reading order; `line` indexes `lines`.
pub fn page_text(words: &[Word], lines: &[Line]) -> String {
    let mut out = String::new();
    let mut current: Option<u32> = None;
    for w in words {
        match current {
            Some(l) if l == w.line => out.push(' '),
            Some(l) => {
                let same_block = lines.get(l as usize).map(|a| a.block)
                    == lines.get(w.line as usize).map(|b| b.block);
                out.push_str(if same_block { "\n" } else { "\n\n" });
            }
            None => {}
        }
        current = Some(w.line);
        out.push_str(&w.text);
    }
    out
}

/// A document's text: pages separated by form feed.
pub fn document_text<'a>(pages: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = pages.into_iter().collect::<Vec<_>>().join("\n\x0c");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::BBox;

    fn word(text: &str, line: u32) -> Word {
        Word {
            text: text.into(),
            bbox: BBox {
                x0: 0,
                y0: 0,
                x1: 1,
                y1: 1,
            },
            confidence: 90.0,
            line,
        }
    }

    #[test]
    fn lines_and_blocks() {
        let b = BBox {
            x0: 0,
            y0: 0,
            x1: 1,
            y1: 1,
        };
        let line = |block| Line {
            bbox: b,
            block,
            baseline: [0.0, 1.0, 1.0, 1.0],
        };
        let lines = vec![line(0), line(0), line(1)];
        let words = vec![
            word("Họ", 0),
            word("tên", 0),
            word("Nguyễn", 1),
            word("Văn", 2),
        ];
        assert_eq!(page_text(&words, &lines), "Họ tên\nNguyễn\n\nVăn");
    }

    #[test]
    fn nfc_composes_vietnamese() {
        // "ệ" written as e + circumflex + dot below
        let decomposed = "Vie\u{0302}\u{0323}t";
        assert_eq!(nfc(decomposed), "Việt");
        assert_eq!(nfc(decomposed).chars().count(), 4);
    }
}
