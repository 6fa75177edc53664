//! Choosing between two readings of the same page without knowing its text.
//!
//! Word confidence alone cannot tell two good readings apart: Tesseract's usual mistake on
//! Vietnamese is to drop one of the two marks a letter carries (`đồng` → `đông`, `ấ` → `â`),
//! which leaves a real word it is sure of. It very rarely invents a second mark. So a reading
//! scores one point for each word it is sure of and one for each letter with two marks among the
//! words it is fairly sure of: the reading that kept more of them is the better one.
//! (Chosen on `../shared/corpus/real` and our tuning variations; see BENCHMARKS.md.)

use unicode_normalization::UnicodeNormalization;

use super::OcrResult;

/// Words at or above this confidence count as sure.
const SURE: f32 = 80.0;
/// Words at or above this confidence have their doubly marked letters counted.
const FAIR: f32 = 60.0;

/// How much of the page a reading got right, as far as can be told without the truth.
pub fn reading_score(ocr: &OcrResult) -> usize {
    ocr.words
        .iter()
        .filter(|w| has_alphanumeric(&w.text))
        .map(|w| {
            let sure = usize::from(w.confidence >= SURE);
            let marked = if w.confidence >= FAIR {
                doubly_marked_letters(&w.text)
            } else {
                0
            };
            sure + marked
        })
        .sum()
}

/// Words Tesseract is fairly sure of, with at least one letter or digit.
pub fn confident_words(ocr: &OcrResult) -> usize {
    ocr.words
        .iter()
        .filter(|w| w.confidence >= FAIR && has_alphanumeric(&w.text))
        .count()
}

fn has_alphanumeric(s: &str) -> bool {
    s.chars().any(char::is_alphanumeric)
}

/// Letters carrying two combining marks (`ồ`: circumflex and grave; `ự`: horn and dot below).
fn doubly_marked_letters(word: &str) -> usize {
    let mut count = 0;
    let mut marks = 0;
    for c in word.nfd() {
        if unicode_normalization::char::is_combining_mark(c) {
            marks += 1;
        } else {
            count += usize::from(marks >= 2);
            marks = 0;
        }
    }
    count + usize::from(marks >= 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BBox, Word};

    fn reading(words: &[(&str, f32)]) -> OcrResult {
        OcrResult {
            words: words
                .iter()
                .map(|&(text, confidence)| Word {
                    text: text.to_string(),
                    bbox: BBox {
                        x0: 0,
                        y0: 0,
                        x1: 1,
                        y1: 1,
                    },
                    confidence,
                    line: 0,
                })
                .collect(),
            lines: Vec::new(),
        }
    }

    #[test]
    fn counts_letters_with_two_marks_in_either_normal_form() {
        assert_eq!(doubly_marked_letters("đồng"), 1);
        assert_eq!(doubly_marked_letters("đông"), 0);
        assert_eq!(
            doubly_marked_letters(&"Nguyễn Thị Hường".nfd().collect::<String>()),
            2
        );
        assert_eq!(doubly_marked_letters("thực"), 1);
        assert_eq!(doubly_marked_letters("Hà Nội"), 1);
        assert_eq!(doubly_marked_letters("2024"), 0);
    }

    #[test]
    fn a_reading_that_kept_the_tone_marks_scores_higher_at_equal_confidence() {
        let kept = reading(&[
            ("Ủy", 95.0),
            ("ban", 96.0),
            ("nhân", 95.0),
            ("dân", 95.0),
            ("đồng", 92.0),
        ]);
        let lost = reading(&[
            ("Ủy", 95.0),
            ("ban", 96.0),
            ("nhân", 95.0),
            ("dân", 95.0),
            ("đông", 93.0),
        ]);
        assert!(reading_score(&kept) > reading_score(&lost));
    }

    #[test]
    fn unsure_words_and_punctuation_do_not_count() {
        let r = reading(&[("ồ", 50.0), ("—", 99.0), ("ấy", 70.0), ("là", 85.0)]);
        // `ấy`: fairly sure, one doubly marked letter, not sure; `là`: sure; the rest nothing.
        assert_eq!(reading_score(&r), 2);
        assert_eq!(confident_words(&r), 2);
    }
}
