//! Vietnam's administrative units (tỉnh, huyện, xã and their kin), the official list the General
//! Statistics Office publishes, used to correct the unit names in addresses: `tỉnh Nghê An`,
//! `huyện Nghi Lốc`, `tỉnh Gao Bằng`, `phường Hơp Giang` are misreadings of names the list has.
//!
//! A name is corrected only to a unit of the kind its marker says (`huyện` → a huyện), only to
//! one candidate that is nearer than every other, and only within the unit the address names to
//! its right (the xã within its huyện, the huyện within its tỉnh); without that context only a
//! difference of tone marks is corrected. A last name cut short by the page edge (`thành phố
//! Đà Nã`) is completed only from the unit the address names before it (its quận's city).
//!
//! The list is read from a TSV file (`scripts/places.sh` makes it from the PyPI package
//! `vietnam-provinces`, both the units before the 2025 reform and after): one unit per line,
//! `province<TAB>district<TAB>ward`, full names with their kind (`Tỉnh Nghệ An`, `Huyện Nghi
//! Lộc`, `Xã Nghi Thái`); the district is empty for the two-level units of 2025.

use std::collections::HashMap;
use std::path::Path;

use crate::extract::fold::fold;
use crate::text::nfc;

/// The kinds of unit, as written before their names.
const KINDS: [&str; 8] = [
    "thành phố",
    "thị xã",
    "thị trấn",
    "tỉnh",
    "huyện",
    "quận",
    "xã",
    "phường",
];

#[derive(Debug)]
struct Unit {
    /// Index into [`KINDS`].
    kind: usize,
    /// The name's syllables, NFC, as the list writes them.
    syllables: Vec<String>,
    parent: Option<usize>,
}

/// The administrative units, loaded once.
#[derive(Debug, Default)]
pub struct Places {
    units: Vec<Unit>,
    /// (parent, kind, name) → unit: the two lists share most of their provinces.
    index: HashMap<(Option<usize>, usize, String), usize>,
    /// Units by kind, for the candidates of a marker.
    by_kind: Vec<Vec<usize>>,
}

/// Most costly correction taken with the unit to the right as context (or among few units of a
/// kind: the tỉnh and the cities), and without it among many.
const MAX_COST: u32 = 3;
const MAX_COST_ALONE: u32 = 1;
const FEW: usize = 200;

impl Places {
    pub fn load(path: &Path) -> std::io::Result<Places> {
        Ok(Places::parse(&std::fs::read_to_string(path)?))
    }

    pub fn parse(tsv: &str) -> Places {
        let mut p = Places {
            by_kind: vec![Vec::new(); KINDS.len()],
            ..Places::default()
        };
        for line in tsv.lines() {
            let mut parent = None;
            for full in line.split('\t').filter(|s| !s.trim().is_empty()) {
                let Some((kind, name)) = split_kind(full) else {
                    break;
                };
                parent = Some(p.add(parent, kind, &name));
            }
        }
        p
    }

    fn add(&mut self, parent: Option<usize>, kind: usize, name: &str) -> usize {
        let key = (parent, kind, name.to_string());
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = self.units.len();
        self.units.push(Unit {
            kind,
            syllables: name.split_whitespace().map(modern_tone).collect(),
            parent,
        });
        self.by_kind[kind].push(i);
        self.index.insert(key, i);
        i
    }

    pub fn len(&self) -> usize {
        self.units.len()
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    fn within(&self, unit: usize, ancestor: usize) -> bool {
        let mut u = self.units[unit].parent;
        while let Some(p) = u {
            if p == ancestor {
                return true;
            }
            u = self.units[p].parent;
        }
        false
    }

    /// The address with its unit names corrected, and a note per correction; `None` when
    /// nothing changed.
    pub fn correct(&self, text: &str) -> Option<(String, Vec<String>)> {
        let mut tokens: Vec<String> = text.split(' ').map(str::to_string).collect();
        let spans = spans(&tokens);
        let mut notes = Vec::new();
        // Resolved unit per span, right to left: each gives the context of the one before it.
        let mut resolved: Vec<Option<usize>> = vec![None; spans.len()];
        let mut context: Option<usize> = None;
        for (si, s) in spans.iter().enumerate().rev() {
            let words: Vec<&str> = tokens[s.name.clone()].iter().map(|t| core(t)).collect();
            let best = self.best(s.kind, &words, context);
            if let Some((u, cost)) = best {
                resolved[si] = Some(u);
                if cost > 0 {
                    notes.push(self.replace(&mut tokens, s.name.clone(), u));
                } else {
                    tidy_name(&mut tokens[s.name.clone()]);
                }
            }
            context = resolved[si];
        }
        // Two units the list knows, one after the other, are two parts of the address.
        for (si, pair) in spans.windows(2).enumerate() {
            if resolved[si].is_some()
                && resolved[si + 1].is_some()
                && pair[0].name.end == pair[1].marker
                && let Some(t) = tokens[pair[0].name.clone()]
                    .iter_mut()
                    .rev()
                    .find(|t| !t.is_empty())
                && !t.ends_with(',')
            {
                t.push(',');
            }
        }
        // A known unit after a street or hamlet name (`Số 303 Lê Lợi phường Lạch Tray`,
        // `tổ 36 phường …`): a new part of the address. After a lower-case word it is part of a
        // name (`Bệnh viện Đa khoa tỉnh Nam Định`).
        for (si, sp) in spans.iter().enumerate() {
            let lower_marker = tokens[sp.marker]
                .chars()
                .next()
                .is_some_and(char::is_lowercase);
            let before = si
                .checked_sub(1)
                .is_none_or(|p| resolved[p].is_none() || spans[p].name.end != sp.marker);
            if resolved[si].is_none() || !lower_marker || !before || sp.marker == 0 {
                continue;
            }
            let mut before = tokens[..sp.marker]
                .iter_mut()
                .enumerate()
                .rev()
                .filter(|(_, t)| !t.is_empty());
            // A number, or a name's word in title case (not `UBND`), that is not the value's
            // first word (`Thôn xã …`: the hamlet's number is missing, not a comma).
            if let Some((k, t)) = before.next()
                && k > 0
                && (t.chars().all(|c| c.is_ascii_digit()) || title_case(t))
            {
                t.push(',');
            }
        }
        // A last name the page edge cut short: completed from the unit before it.
        if let (Some(last), Some(left)) = (spans.last(), spans.len().checked_sub(2))
            && resolved[spans.len() - 1].is_none()
            && last.name.end == tokens.len()
            && let Some(below) = resolved[left]
        {
            let words: Vec<&str> = tokens[last.name.clone()].iter().map(|t| core(t)).collect();
            let mut up = self.units[below].parent;
            let mut found = None;
            while let Some(a) = up {
                if self.units[a].kind == last.kind && is_prefix(&words, &self.units[a].syllables) {
                    found = Some(a);
                    break;
                }
                up = self.units[a].parent;
            }
            if let Some(a) = found {
                let range = last.name.clone();
                if range.is_empty() {
                    tokens.push(String::new());
                    notes.push(self.replace(&mut tokens, range.start..range.start + 1, a));
                } else {
                    notes.push(self.replace(&mut tokens, range, a));
                }
            }
        }
        let out: Vec<&str> = tokens
            .iter()
            .map(String::as_str)
            .filter(|t| !t.is_empty())
            .collect();
        let out = out.join(" ");
        (out != text).then_some((out, notes))
    }

    /// The unit of `kind` nearest `words`, if one is nearer than every other and near enough;
    /// with a context, among the units within it.
    fn best(&self, kind: usize, words: &[&str], context: Option<usize>) -> Option<(usize, u32)> {
        if words.is_empty() {
            return None;
        }
        let mut ranked: Vec<(u32, usize)> = self.by_kind[kind]
            .iter()
            .filter(|&&u| context.is_none_or(|c| self.within(u, c)))
            .filter_map(|&u| {
                // A letter is corrected only in a province's name: below that the list misses
                // units merged or renamed over the years, and a name read right but absent
                // (`Nghi Phong`) would be "corrected" into its neighbour (`Nghi Phương`).
                let letters = self.units[u].parent.is_none();
                cost(words, &self.units[u].syllables, letters).map(|c| (c, u))
            })
            .collect();
        if ranked.is_empty() && context.is_some() {
            return self.best(kind, words, None);
        }
        ranked.sort_unstable();
        let &(c, u) = ranked.first()?;
        let limit = if context.is_some() || self.by_kind[kind].len() < FEW {
            MAX_COST
        } else {
            MAX_COST_ALONE
        };
        // Another unit with another name as near: nothing to choose by.
        let tie = ranked
            .iter()
            .skip(1)
            .take_while(|(c2, _)| *c2 == c)
            .any(|&(_, u2)| self.units[u2].syllables != self.units[u].syllables);
        (c == 0 || (c <= limit && !tie)).then_some((u, c))
    }

    /// Writes unit `u`'s name over `range` of `tokens`, keeping the last token's trailing
    /// punctuation; returns the note.
    fn replace(&self, tokens: &mut [String], range: std::ops::Range<usize>, u: usize) -> String {
        let before = tokens[range.clone()].join(" ");
        let tail: String = tokens[range.end - 1]
            .chars()
            .rev()
            .take_while(|c| matches!(c, ',' | '.' | ';'))
            .collect();
        let name = self.units[u].syllables.join(" ");
        for t in &mut tokens[range.clone()] {
            t.clear();
        }
        tokens[range.start] = format!("{name}{tail}");
        let before = before.trim().trim_end_matches([',', '.', ';']);
        format!("{before:?} → {name:?} (official list of units)")
    }
}

/// A unit's name read right but with stray punctuation inside (`tỉnh -Thừa Thiên Huế`): the
/// words alone, the last one's trailing comma kept.
fn tidy_name(tokens: &mut [String]) {
    let last = tokens.len().saturating_sub(1);
    for (i, t) in tokens.iter_mut().enumerate() {
        let comma = i == last && t.ends_with(',');
        let mut c = core(t).to_string();
        if comma {
            c.push(',');
        }
        *t = c;
    }
}

/// `Lợi`, `Phê`: an upper-case letter, then lower-case ones only.
fn title_case(t: &str) -> bool {
    let mut cs = t.chars();
    cs.next().is_some_and(char::is_uppercase)
        && cs.clone().next().is_some()
        && cs.all(char::is_lowercase)
}

/// `Tỉnh Nghệ An` → (kind of `tỉnh`, `Nghệ An`).
fn split_kind(full: &str) -> Option<(usize, String)> {
    let full = nfc(full.trim());
    let lower = full.to_lowercase();
    KINDS.iter().enumerate().find_map(|(k, kind)| {
        let rest = lower.strip_prefix(kind)?.strip_prefix(' ')?;
        let name = &full[full.len() - rest.len()..];
        Some((k, name.trim().to_string()))
    })
}

/// A token without the punctuation around it.
fn core(t: &str) -> &str {
    t.trim_matches(|c: char| !c.is_alphanumeric())
}

/// A unit marker and the tokens of the name after it.
#[derive(Debug)]
struct Span {
    kind: usize,
    /// Where the marker starts.
    marker: usize,
    name: std::ops::Range<usize>,
}

/// The marker at `tokens[i..]`: its kind and how many tokens it takes.
fn marker(tokens: &[String], i: usize) -> Option<(usize, usize)> {
    let word = |j: usize| tokens.get(j).map(|t| core(t).to_lowercase());
    let one = word(i)?;
    // A marker ends its name's predecessor: `Xã, ` is a name's last word, not a marker.
    if tokens[i].ends_with(',') {
        return None;
    }
    if let Some(two) = word(i + 1) {
        let pair = format!("{one} {two}");
        if let Some(k) = KINDS.iter().position(|k| *k == pair) {
            return Some((k, 2));
        }
    }
    KINDS.iter().position(|k| *k == one).map(|k| (k, 1))
}

/// The unit names of an address: each marker and the words after it up to the next marker or
/// the first word ending with a comma, at most five.
fn spans(tokens: &[String]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let Some((kind, len)) = marker(tokens, i) else {
            i += 1;
            continue;
        };
        let start = i + len;
        let mut end = start;
        while end < tokens.len() && end - start < 5 && marker(tokens, end).is_none() {
            end += 1;
            if tokens[end - 1].ends_with(',') {
                break;
            }
        }
        out.push(Span {
            kind,
            marker: i,
            name: start..end,
        });
        i = end.max(i + 1);
    }
    out
}

/// Cost of reading `name` as `words`: 0 per syllable the same (case aside), 1 for a syllable
/// whose marks differ, 2 for one letter wrong, added or missing (when `letters`); `None` when
/// more differs.
fn cost(words: &[&str], name: &[String], letters: bool) -> Option<u32> {
    if words.len() != name.len() {
        return None;
    }
    words.iter().zip(name).try_fold(0, |acc, (w, n)| {
        let (w, n) = (modern_tone(w).to_lowercase(), n.to_lowercase());
        let c = if w == n {
            0
        } else {
            let (fw, fn_) = (fold(&w), fold(&n));
            if fw == fn_ {
                1
            } else if letters && edit_distance_at_most_one(&fw, &fn_) {
                2
            } else {
                return None;
            }
        };
        Some(acc + c)
    })
}

/// A syllable with its tone mark where today's spelling puts it: `Hoà` → `Hòa`, `Thuỷ` → `Thủy`
/// (the official list keeps the older placement; forms print both, and they are the same name).
pub fn modern_tone(syllable: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    const TONES: [char; 5] = ['\u{300}', '\u{301}', '\u{303}', '\u{309}', '\u{323}'];
    let mut chars: Vec<char> = syllable.nfd().collect();
    let n = chars.len();
    // …o/u, then a, e or y carrying the tone and nothing else, at the end; not after q (quà).
    if n >= 3 && TONES.contains(&chars[n - 1]) {
        let (glide, vowel) = (
            chars[n - 3].to_ascii_lowercase(),
            chars[n - 2].to_ascii_lowercase(),
        );
        let pair = matches!((glide, vowel), ('o', 'a') | ('o', 'e') | ('u', 'y'));
        let after_q = n >= 4 && chars[n - 4].eq_ignore_ascii_case(&'q');
        if pair && !after_q {
            let tone = chars.remove(n - 1);
            chars.insert(n - 2, tone);
        }
    }
    chars.into_iter().nfc().collect()
}

/// Is `words` the start of `name`, the last word possibly cut short (folded)?
fn is_prefix(words: &[&str], name: &[String]) -> bool {
    if words.len() > name.len() {
        return false;
    }
    let n = words.len();
    words.iter().zip(name).enumerate().all(|(i, (w, s))| {
        let (w, s) = (fold(w), fold(s));
        if i + 1 == n {
            s.starts_with(&w)
        } else {
            w == s
        }
    })
}

fn edit_distance_at_most_one(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let (short, long) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    match long.len() - short.len() {
        0 => {
            short
                .iter()
                .zip(long.iter())
                .filter(|(x, y)| x != y)
                .count()
                <= 1
        }
        1 => {
            let i = short
                .iter()
                .zip(long.iter())
                .take_while(|(x, y)| x == y)
                .count();
            short[i..] == long[i + 1..]
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "Tỉnh Nghệ An\tHuyện Nghi Lộc\tXã Nghi Thái\n\
        Tỉnh Nghệ An\tHuyện Nghi Lộc\tXã Nghi Phương\n\
        Tỉnh Nghệ An\tHuyện Nghi Lộc\tXã Nghi Xuân\n\
        Tỉnh Nghệ An\tThành phố Vinh\tPhường Hưng Bình\n\
        Tỉnh Hà Tĩnh\tHuyện Nghi Xuân\tXã Xuân Hội\n\
        Tỉnh Cao Bằng\tThành phố Cao Bằng\tPhường Hợp Giang\n\
        Tỉnh Lào Cai\tHuyện Bắc Hà\tXã Nghi Xuân\n\
        Tỉnh Lào Cai\tHuyện Bắc Hà\tXã Nghị Xuân\n\
        Thành phố Đà Nẵng\tQuận Hải Châu\tPhường Thạch Thang\n\
        Thành phố Hà Nội\tQuận Nam Từ Liêm\tPhường Cầu Diễn\n\
        Thành phố Hà Nội\t\tPhường Hoàn Kiếm\n";

    /// The list above among as many xã as a real province list has more than.
    fn places() -> Places {
        let mut list = LIST.to_string();
        for i in 0..FEW {
            list += &format!("Tỉnh Lào Cai\tHuyện Bắc Hà\tXã Khác {i}\n");
        }
        Places::parse(&list)
    }

    fn fix(s: &str) -> String {
        let p = places();
        p.correct(s)
            .map(|(t, _)| t)
            .unwrap_or_else(|| s.to_string())
    }

    #[test]
    fn marks_and_a_letter_are_corrected_within_the_unit_to_the_right() {
        assert_eq!(
            fix("Thôn 1, xã Nghi Thái, huyện Nghi Lốc, tỉnh Nghê An"),
            "Thôn 1, xã Nghi Thái, huyện Nghi Lộc, tỉnh Nghệ An"
        );
        assert_eq!(
            fix("Số 416 phố Vườn Cam, phường Hơp Giang, thành phố Cao Bằng, tỉnh Gao Bằng"),
            "Số 416 phố Vườn Cam, phường Hợp Giang, thành phố Cao Bằng, tỉnh Cao Bằng"
        );
        // Below a province only marks: a ward the list lacks keeps the name read.
        assert_eq!(
            fix("xã Nghi Phong, huyện Nghi Lộc, tỉnh Nghệ An"),
            "xã Nghi Phong, huyện Nghi Lộc, tỉnh Nghệ An"
        );
        // Right names stay as written, the street before them too.
        let right = "Số 82 Lý Thường Kiệt, phường Thạch Thang, quận Hải Châu, thành phố Đà Nẵng";
        assert_eq!(fix(right), right);
        assert!(places().correct(right).is_none());
    }

    #[test]
    fn two_units_read_without_their_comma_get_it_and_stray_marks_go() {
        let p = Places::parse(
            "Tỉnh Thừa Thiên Huế\tThành phố Huế\tPhường Vĩnh Ninh\nTỉnh Nam Định\t\t\n",
        );
        let fix = |s: &str| p.correct(s).map(|(t, _)| t);
        assert_eq!(
            fix("Số 102 ngõ 181, phường Vĩnh Ninh tỉnh -Thừa Thiên Huế").as_deref(),
            Some("Số 102 ngõ 181, phường Vĩnh Ninh, tỉnh Thừa Thiên Huế")
        );
        // A unit after words that are no unit is part of them.
        assert_eq!(fix("Bệnh viện Đa khoa tỉnh Nam Định"), None);
        // After a street's name or a number it begins a new part.
        assert_eq!(
            fix("Số 303 Lê Lợi phường Vĩnh Ninh, tỉnh Thừa Thiên Huế").as_deref(),
            Some("Số 303 Lê Lợi, phường Vĩnh Ninh, tỉnh Thừa Thiên Huế")
        );
        assert_eq!(
            fix("tổ 36 phường Vĩnh Ninh, tỉnh Thừa Thiên Huế").as_deref(),
            Some("tổ 36, phường Vĩnh Ninh, tỉnh Thừa Thiên Huế")
        );
        // Not after an acronym or a hamlet's word whose number was lost.
        assert_eq!(fix("tại UBND phường Vĩnh Ninh, tỉnh Thừa Thiên Huế"), None);
        assert_eq!(fix("Thôn phường Vĩnh Ninh, tỉnh Thừa Thiên Huế"), None);
        // Not before a unit the list does not know.
        assert_eq!(fix("Số 303 Lê Lợi phường Lạch Tray"), None);
        assert_eq!(fix("phường Vĩnh Ninh, tỉnh Thừa Thiên Huế"), None);
    }

    #[test]
    fn the_older_tone_placement_is_the_same_name() {
        assert_eq!(modern_tone("Hoà"), "Hòa");
        assert_eq!(modern_tone("Thuỷ"), "Thủy");
        assert_eq!(modern_tone("quà"), "quà");
        assert_eq!(modern_tone("Hoàng"), "Hoàng");
        let p = Places::parse("Tỉnh Phú Yên\tThành phố Tuy Hoà\tXã Bình Ngọc\n");
        assert!(
            p.correct("xã Bình Ngọc, thành phố Tuy Hòa, tỉnh Phú Yên")
                .is_none()
        );
        assert!(
            p.correct("xã Bình Ngọc, thành phố Tuy Hoà, tỉnh Phú Yên")
                .is_none()
        );
        assert_eq!(
            p.correct("xã Bình Ngọc, thành phố Tuy Hóa, tỉnh Phú Yên")
                .unwrap()
                .0,
            "xã Bình Ngọc, thành phố Tuy Hòa, tỉnh Phú Yên"
        );
    }

    #[test]
    fn without_context_only_marks_and_never_between_two_as_near() {
        // No unit to the right: a wrong letter is not guessed at.
        assert_eq!(fix("xã Ngi Thái"), "xã Ngi Thái");
        assert_eq!(fix("tỉnh Nghê An"), "tỉnh Nghệ An");
        // Lào Cai has both Nghi Xuân and Nghị Xuân: a reading of either stays.
        assert_eq!(
            fix("xã Nghị Xuân, tỉnh Lào Cai"),
            "xã Nghị Xuân, tỉnh Lào Cai"
        );
        assert_eq!(
            fix("xã Nghi Xuân, tỉnh Lào Cai"),
            "xã Nghi Xuân, tỉnh Lào Cai"
        );
        // A huyện is not corrected into a xã of the same name.
        assert_eq!(fix("huyện Nghị Xuân"), "huyện Nghi Xuân");
        assert_eq!(fix("phường Nghị Xuân"), "phường Nghị Xuân");
    }

    #[test]
    fn a_name_cut_short_at_the_end_is_completed_from_the_unit_before_it() {
        assert_eq!(
            fix("Số 202, phường Cầu Diễn, quận Nam Từ Liêm, thành phố Hà Nộ"),
            "Số 202, phường Cầu Diễn, quận Nam Từ Liêm, thành phố Hà Nội"
        );
        assert_eq!(
            fix("phường Thạch Thang, quận Hải Châu, thành phố Đ"),
            "phường Thạch Thang, quận Hải Châu, thành phố Đà Nẵng"
        );
        assert_eq!(
            fix("phường Thạch Thang, quận Hải Châu, thành phố"),
            "phường Thạch Thang, quận Hải Châu, thành phố Đà Nẵng"
        );
        // Only the city its quận is in, and only at the end of the text.
        assert_eq!(
            fix("quận Hải Châu, thành phố H"),
            "quận Hải Châu, thành phố H"
        );
        assert_eq!(
            fix("quận Hải Châu, thành phố Đ nơi"),
            "quận Hải Châu, thành phố Đ nơi"
        );
    }
}
