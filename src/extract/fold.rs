//! Matching keys for OCR text: diacritics, case and punctuation vary between readings of the same
//! printed label, so labels and words are compared on a folded form.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Lower case, no diacritics (đ → d), letters and digits only.
pub fn fold(s: &str) -> String {
    s.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'đ' { 'd' } else { c })
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// Folded words of a phrase, empty ones (pure punctuation) dropped.
pub fn fold_words(s: &str) -> Vec<String> {
    s.split_whitespace()
        .map(fold)
        .filter(|w| !w.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_vietnamese_labels() {
        assert_eq!(fold("Họ,"), "ho");
        assert_eq!(fold("ĐỊNH"), "dinh");
        assert_eq!(fold_words("Số / No.:"), vec!["so", "no"]);
        assert_eq!(
            fold_words("Ngày, tháng, năm sinh:"),
            vec!["ngay", "thang", "nam", "sinh"]
        );
    }
}
