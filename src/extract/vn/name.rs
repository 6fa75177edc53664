//! Personal names: upper case, NFC, with diacritics; letters of the Vietnamese alphabet only.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::lists::SURNAMES;
use super::{Norm, Reason, tidy};
use crate::extract::fold::fold;
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
    let v = nfc(&tidy(&super::drop_leader_dots(raw, true)).to_uppercase());
    let syllables: Vec<&str> = v.split_whitespace().collect();
    if syllables.len() < 2 {
        return Err(format!("{v:?} is not a full name"));
    }
    if syllables.len() > 7 {
        return Err(format!("{v:?} is too long for a name"));
    }
    let mut syllables: Vec<String> = syllables.iter().map(|s| s.to_string()).collect();
    let repair = surname_repair(&syllables[0]);
    if let Some(fixed) = &repair {
        syllables[0] = fixed.clone();
    }
    // H'Mông-style apostrophes do not occur in Kinh names but do in minority names (e.g. Ê Đê).
    for s in &syllables {
        syllable_ok(&s.replace(['\'', '’'], ""))?;
    }
    let mut n = Norm::unchecked(syllables.join(" "));
    n.repair =
        repair.map(|fixed| format!("{} → {fixed}", v.split_whitespace().next().unwrap_or("")));
    Ok(n)
}

/// The listed surname `first` is a misread of: same letters, other marks, exactly one candidate.
fn surname_repair(first: &str) -> Option<String> {
    if SURNAMES.iter().any(|s| s.to_uppercase() == first) {
        return None;
    }
    let key = fold(first);
    let mut hits = SURNAMES.iter().filter(|s| fold(s) == key);
    match (hits.next(), hits.next()) {
        (Some(one), None) => Some(one.to_uppercase()),
        _ => None,
    }
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
        assert_eq!(name("HỒ KIM MAI").unwrap().repair, None);
    }

    #[test]
    fn surnames_get_their_marks_back() {
        let n = name("ĐỊNH PHƯƠNG HUYỀN").unwrap();
        assert_eq!(n.value, "ĐINH PHƯƠNG HUYỀN");
        assert_eq!(n.repair.as_deref(), Some("ĐỊNH → ĐINH"));
        assert_eq!(name("NGUYÊN MINH NGÂN").unwrap().value, "NGUYỄN MINH NGÂN");
        assert!(!n.checked, "a repaired name is still not proven");
        // Unknown surnames are left as read.
        assert_eq!(name("XA VĂN AN").unwrap().value, "XA VĂN AN");
        // LA and LÃ are both surnames: no guess.
        assert_eq!(name("LÀ VĂN AN").unwrap().value, "LÀ VĂN AN");
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
        assert!(name("KIM HỒ\u{301}").is_err(), "two tone marks");
        assert!(name("").is_err());
    }
}
