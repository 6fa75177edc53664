//! Vietnamese normalizers and validators. Each turns a raw OCR (or clerk) value into a
//! normalized value, says whether a check proved it, and records any repair it made. A repair of
//! an OCR confusion is kept only when the repaired value then passes the check.

mod closed;
mod date;
pub mod lists;
mod name;
mod numwords;
mod pid;

pub use closed::{ethnicity, nationality, sex};
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
    let v = tidy(&drop_leader_dots(raw, false));
    if v.is_empty() {
        return Err("empty".into());
    }
    Ok(Norm::unchecked(v))
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
