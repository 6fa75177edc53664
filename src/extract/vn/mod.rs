//! Vietnamese normalizers and validators. Each turns a raw OCR (or clerk) value into a
//! normalized value, says whether a check proved it, and records any repair it made. A repair of
//! an OCR confusion is kept only when the repaired value then passes the check.

mod closed;
mod date;
pub mod lists;
mod name;
mod numwords;
mod pid;
pub mod places;

pub use closed::{ethnicity, nationality, relation, sex};
pub use date::{Date, date, year};
pub use name::name;
pub use numwords::parse_number;
pub use pid::{PersonalId, personal_id, repaired_chars};

use crate::text::nfc;

/// A value that passed its type's normalizer.
#[derive(Debug, Clone, PartialEq)]
pub struct Norm {
    pub value: String,
    /// What was changed beyond formatting, e.g. `O→0`.
    pub repair: Option<String>,
    /// True when a check proved the value (closed list, checksum-like structure); false when only
    /// its form was checked.
    pub checked: bool,
}

impl Norm {
    fn checked(value: String) -> Self {
        Norm {
            value,
            repair: None,
            checked: true,
        }
    }
    fn unchecked(value: String) -> Self {
        Norm {
            value,
            repair: None,
            checked: false,
        }
    }
}

/// Why a value was refused; the text is shown to clerks.
pub type Reason = String;

/// Free text (addresses, places): NFC, single spaces, leaders and stray punctuation trimmed.
pub fn text(raw: &str) -> Result<Norm, Reason> {
    let raw = s_look_alikes(raw);
    let v = without_marker(&tidy(&stray_dots(&drop_leader_dots(&raw, false))));
    if v.is_empty() {
        return Err("empty".into());
    }
    Ok(Norm::unchecked(v))
}

/// Dots of a leader typed over that survive in free text: after a whole word (`Đắk. Lắk`,
/// `phường. Vĩnh`), before a word after a space (`vùng .Tây`), beside a comma (`Linh,.`), and
/// inside a word after its capital (`V.ương`). Dots closing a short abbreviation (`TP.`, `P.5`,
/// `Tp. Hồ Chí Minh`) and between digits stay. Vietnamese addresses separate their parts with
/// commas, never with full stops.
fn stray_dots(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        if c != '.' {
            out.push(c);
            continue;
        }
        let before = i.checked_sub(1).map(|j| chars[j]);
        let after = chars.get(i + 1).copied();
        // The word before the dot, last letter first.
        let word: Vec<char> = chars[..i]
            .iter()
            .rev()
            .take_while(|c| c.is_alphanumeric())
            .copied()
            .collect();
        let letters = !word.is_empty() && word.iter().all(|c| c.is_alphabetic());
        let capital = word.last().is_some_and(|c| c.is_uppercase());
        if word.len() == 1 && capital && after.is_some_and(char::is_lowercase) {
            continue;
        }
        let abbreviation = letters && word.len() <= 2 && capital;
        let starts_word =
            before.is_none_or(char::is_whitespace) && after.is_some_and(char::is_alphanumeric);
        let by_comma = before == Some(',') || after == Some(',');
        if !abbreviation && (letters || starts_word || by_comma) {
            out.push(' ');
        } else {
            out.push('.');
        }
    }
    out
}

/// Words that begin an address or a place: a lone figure before one of them is a footnote
/// marker read without its brackets (`9 Số 303 Lê Lợi`, `2 ,Xóm 3`), not part of the value.
const PLACE_STARTS: &[&str] = &[
    "số",
    "căn",
    "xóm",
    "thôn",
    "ấp",
    "tổ",
    "bản",
    "buôn",
    "khu",
    "khóm",
    "khối",
    "làng",
    "tại",
    "đường",
    "phố",
    "ngõ",
    "nhà",
    "bệnh",
    "trạm",
    "xã",
    "phường",
    "thị",
    "huyện",
    "quận",
];

fn without_marker(s: &str) -> String {
    let trimmed = s.trim_start_matches(|c: char| !c.is_alphanumeric() && c != '(');
    let mut words = trimmed.splitn(2, ' ');
    let (Some(first), Some(rest)) = (words.next(), words.next()) else {
        return trimmed.to_string();
    };
    let marker = first.chars().filter(|c| c.is_ascii_digit()).count() == 1
        && first
            .chars()
            .all(|c| c.is_ascii_digit() || !c.is_alphanumeric());
    let next: String = rest
        .trim_start_matches(|c: char| !c.is_alphanumeric())
        .chars()
        .take_while(|c| c.is_alphanumeric())
        .collect();
    let starts_place = next.chars().next().is_some_and(char::is_uppercase)
        && PLACE_STARTS.contains(&next.to_lowercase().as_str());
    if marker && starts_place {
        rest.trim_start_matches(|c: char| !c.is_alphanumeric())
            .to_string()
    } else {
        trimmed.to_string()
    }
}

/// `$` and `§` read for an `S` that starts a word (`$ố 49`, `§ố 296`): neither is ever part of
/// a Vietnamese address or sentence, and trimmed as punctuation they would leave `ố 49`.
fn s_look_alikes(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let letter_after = chars.get(i + 1).is_some_and(|n| n.is_alphabetic());
            let word_start = i == 0 || !chars[i - 1].is_alphanumeric();
            if matches!(c, '$' | '§') && letter_after && word_start {
                'S'
            } else {
                c
            }
        })
        .collect()
}

/// Leader dots read between the words of a value typed over a dotted line (`QUÁCH.THỊ..HOA`,
/// `Số.416.ngõ..13`) become spaces: every run of two or more, and a single dot glued between
/// letters, or between a letter and a digit, unless it closes a short upper-case abbreviation
/// (`TP.HCM`, `P.5`). `names`: every dot (a name has none).
pub fn drop_leader_dots(raw: &str, names: bool) -> String {
    let chars: Vec<char> = raw.chars().collect();
    let is_dot = |c: char| matches!(c, '.' | '…' | '·');
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < chars.len() {
        if !is_dot(chars[i]) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_dot(chars[i]) {
            i += 1;
        }
        let run = i - start;
        let before = start.checked_sub(1).map(|j| chars[j]);
        let after = chars.get(i).copied();
        let word: String = chars[..start]
            .iter()
            .rev()
            .take_while(|c| c.is_alphanumeric())
            .collect();
        let abbreviation =
            word.chars().count() <= 2 && !word.is_empty() && word.chars().all(char::is_uppercase);
        let glued = before.is_some_and(char::is_alphabetic)
            && after.is_some_and(char::is_alphanumeric)
            || before.is_some_and(|c| c.is_ascii_digit()) && after.is_some_and(char::is_alphabetic);
        if names || run >= 2 || chars[start] == '…' || (glued && !abbreviation) {
            out.push(' ');
        } else {
            out.push('.');
        }
    }
    out
}

/// NFC, single spaces, no dotted leaders or separators at either end.
pub fn tidy(raw: &str) -> String {
    let s = nfc(raw);
    let joined = s.split_whitespace().collect::<Vec<_>>().join(" ");
    joined
        .trim_matches(|c: char| {
            matches!(c, '.' | '…' | ':' | ';' | ',' | '-' | '_' | '|' | '·') || c.is_whitespace()
        })
        .to_string()
}

/// Characters OCR reads for digits; mapped only inside tokens that are mostly digits.
fn digit_for(c: char) -> Option<char> {
    Some(match c {
        'O' | 'o' | 'D' | 'Q' | 'U' => '0',
        'I' | 'l' | 'i' | '|' | '!' | 'L' => '1',
        'Z' | 'z' => '2',
        'S' | 's' => '5',
        'G' | 'b' => '6',
        'T' => '7',
        'B' => '8',
        'g' | 'q' => '9',
        _ => return None,
    })
}

/// Replaces digit look-alikes inside tokens that are mostly digits already (so the words of
/// "ngày … tháng" are left alone); returns the new string and the substitutions made.
fn repair_digits(s: &str) -> (String, Vec<String>) {
    let mut subs = Vec::new();
    let tokens: Vec<String> = s
        .split(' ')
        .map(|tok| {
            let alnum = tok.chars().filter(|c| c.is_alphanumeric()).count();
            let digits = tok.chars().filter(char::is_ascii_digit).count();
            let alike = tok.chars().filter(|c| digit_for(*c).is_some()).count();
            if digits == 0 || (digits + alike) * 10 < alnum * 6 {
                return tok.to_string();
            }
            tok.chars()
                .map(|c| match digit_for(c) {
                    Some(d) => {
                        let note = format!("{c}→{d}");
                        if !subs.contains(&note) {
                            subs.push(note);
                        }
                        d
                    }
                    None => c,
                })
                .collect()
        })
        .collect();
    (tokens.join(" "), subs)
}

#[cfg(test)]
mod tests {
    use super::text;

    fn t(raw: &str) -> String {
        text(raw).unwrap().value
    }

    #[test]
    fn dots_of_a_leader_typed_over_leave_free_text() {
        assert_eq!(
            t("Thôn 1,.xã Ea Phê,.huyện Krông .Pắc, tỉnh. Đắk. Lắk"),
            "Thôn 1, xã Ea Phê, huyện Krông Pắc, tỉnh Đắk Lắk"
        );
        assert_eq!(
            t("Số 102 ngõ 181 phố Hùng V.ương,. phường. Vĩnh Ninh"),
            "Số 102 ngõ 181 phố Hùng Vương, phường Vĩnh Ninh"
        );
        // Abbreviations and numbers keep theirs.
        assert_eq!(t("Tp. Hồ Chí Minh"), "Tp. Hồ Chí Minh");
        assert_eq!(t("P.5, TP.HCM"), "P.5, TP.HCM");
        assert_eq!(t("Km 1.5 quốc lộ 1A"), "Km 1.5 quốc lộ 1A");
    }

    #[test]
    fn a_dollar_or_section_sign_starting_a_word_is_its_s() {
        assert_eq!(t(",$ố.49.ngõ.4"), "Số 49 ngõ 4");
        assert_eq!(t("® §ố 296 Trần Hưng Đạo"), "Số 296 Trần Hưng Đạo");
        // Elsewhere they are left to the readers.
        assert_eq!(t("giá 5$ một"), "giá 5$ một");
    }

    #[test]
    fn a_footnote_marker_before_an_address_goes_a_house_number_stays() {
        assert_eq!(t("9 Số 303 Lê Lợi"), "Số 303 Lê Lợi");
        assert_eq!(t("2 ,Xóm 3, xã Hòa Tiến"), "Xóm 3, xã Hòa Tiến");
        assert_eq!(t("°'` Số 160/60 hẻm 282"), "Số 160/60 hẻm 282");
        assert_eq!(t("5 Nguyễn Trãi, quận 1"), "5 Nguyễn Trãi, quận 1");
        assert_eq!(t("7 6, Ấp 5"), "7 6, Ấp 5");
        assert_eq!(t("(cũ) xã Yên Phong"), "(cũ) xã Yên Phong");
    }
}
