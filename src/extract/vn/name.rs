//! Personal names: upper case, NFC, with diacritics; letters of the Vietnamese alphabet only.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::{Norm, Reason, tidy};
use crate::text::nfc;

/// Tone marks (combining) of which a syllable carries at most one.
const TONES: [char; 5] = ['\u{300}', '\u{301}', '\u{303}', '\u{309}', '\u{323}'];

/// Letters a Vietnamese name may use once diacritics are removed (no F, J, W, Z).
fn base_letter_ok(c: char) -> bool {
    matches!(c, 'A'..='E' | 'G'..='I' | 'K'..='V' | 'X' | 'Y' | 'Đ')
}

fn syllable_ok(s: &str) -> Result<(), Reason> {
    let mut tones = 0;
    for c in s.nfd() {
        if TONES.contains(&c) {
            tones += 1;
        } else if is_combining_mark(c) {
            continue; // breve, circumflex, horn
        } else if !base_letter_ok(c) {
            return Err(format!("{c:?} does not belong in a name"));
        }
    }
    if tones > 1 {
        return Err(format!("{s:?} has more than one tone mark"));
    }
    Ok(())
}

/// Upper-cased NFC, 2 to 7 syllables, each of Vietnamese letters with at most one tone mark.
/// Nothing proves a name is read right, so it is never `checked`.
pub fn name(raw: &str) -> Result<Norm, Reason> {
    let v = nfc(&tidy(raw).to_uppercase());
    let syllables: Vec<&str> = v.split_whitespace().collect();
    if syllables.len() < 2 {
        return Err(format!("{v:?} is not a full name"));
    }
    if syllables.len() > 7 {
        return Err(format!("{v:?} is too long for a name"));
    }
    // H'Mông-style apostrophes do not occur in Kinh names but do in minority names (e.g. Ê Đê).
    for s in &syllables {
        syllable_ok(&s.replace(['\'', '’'], ""))?;
    }
    Ok(Norm::unchecked(syllables.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names() {
        assert_eq!(name("Đinh Minh Oanh").unwrap().value, "ĐINH MINH OANH");
        assert_eq!(name(" HỒ  KIM MAI ....").unwrap().value, "HỒ KIM MAI");
        // Decomposed input comes out NFC.
        assert_eq!(
            name("Ho\u{302}\u{300} KIM MAI").unwrap().value,
            "HỒ KIM MAI"
        );
        assert!(!name("HỒ KIM MAI").unwrap().checked);
    }

    #[test]
    fn bad_names() {
        assert!(name("MAI").is_err(), "one syllable");
        assert!(name("HỒ K1M MAI").is_err(), "digit");
        assert!(name("HỒ KIM: MAI").is_err(), "punctuation");
        assert!(
            name("JOHN WILLIAMS").is_err(),
            "J and W are not Vietnamese letters"
        );
        assert!(name("HỒ\u{301} KIM").is_err(), "two tone marks");
        assert!(name("").is_err());
    }
}
