//! Free text read twice: Tesseract's words and the value reader's line, merged word by word.
//! Neither reader is better at addresses as a whole: Tesseract keeps words and commas apart but
//! mistakes letters of unseen faces (`buyện`, `Pbụ`, `zs6`), the value reader reads those letters
//! but glues words (`LêLợi`) and invents commas. What decides a word is Vietnamese itself: every
//! word of a Vietnamese address is a syllable, and the syllables of the language are a closed set
//! (Debian's `hunspell-vi` lists them). Where the two readings differ, a word that is a syllable,
//! or a number, beats one that is neither; otherwise Tesseract's word stands. A word only one
//! reader saw is kept from Tesseract unless it holds no letter or digit, and taken from the value
//! reader only when it is a syllable of two letters or more (a dropped word at a line's end),
//! so the merge never loses a word Tesseract read and never adds the reader's specks.

use std::collections::HashSet;
use std::path::Path;

use crate::text::nfc;

/// The syllables of Vietnamese (and the few abbreviations a dictionary lists), lower case NFC.
#[derive(Debug, Default)]
pub struct Lexicon {
    words: HashSet<String>,
}

impl Lexicon {
    /// A hunspell dictionary (`vi_VN.dic`: a count line, then one `word[/flags]` a line).
    pub fn load(path: &Path) -> std::io::Result<Lexicon> {
        let text = std::fs::read_to_string(path)?;
        let words = text
            .lines()
            .skip(1)
            .filter_map(|l| l.split('/').next())
            .map(str::trim)
            .filter(|w| !w.is_empty());
        let lex = Lexicon::from_words(words);
        if lex.words.len() < 1000 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} words: not a Vietnamese syllable list", lex.words.len()),
            ));
        }
        Ok(lex)
    }

    pub fn from_words<'a>(words: impl IntoIterator<Item = &'a str>) -> Lexicon {
        Lexicon {
            words: words.into_iter().map(|w| nfc(w).to_lowercase()).collect(),
        }
    }

    pub fn knows(&self, word: &str) -> bool {
        self.words.contains(&nfc(word).to_lowercase())
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

/// One whitespace-separated token: punctuation around a core of letters and digits.
#[derive(Debug, Clone)]
struct Token<'a> {
    lead: &'a str,
    core: &'a str,
    trail: &'a str,
}

fn tokens(s: &str) -> Vec<Token<'_>> {
    s.split_whitespace()
        .map(|t| {
            let start = t.find(char::is_alphanumeric).unwrap_or(t.len());
            let end = t
                .rfind(char::is_alphanumeric)
                .map(|i| i + t[i..].chars().next().map_or(1, char::len_utf8))
                .unwrap_or(start)
                .max(start);
            Token {
                lead: &t[..start],
                core: &t[start..end],
                trail: &t[end..],
            }
        })
        // Specks (`°'``, `-`): no letter or digit, no word.
        .filter(|t| !t.core.is_empty())
        .collect()
}

/// How much a word looks like Vietnamese: 2 a syllable or a plain number (`256`, `160/60`),
/// 1 letters and digits mixed as in house numbers (`358A`), 0 anything else.
fn goodness(core: &str, lex: &Lexicon) -> u8 {
    if core.is_empty() {
        return 0;
    }
    if lex.knows(core) || core.chars().all(|c| c.is_ascii_digit() || c == '/') {
        return 2;
    }
    let digits = core.chars().filter(char::is_ascii_digit).count();
    let upper_or_digit = core
        .chars()
        .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase());
    u8::from(digits > 0 && upper_or_digit)
}

fn same(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    /// One word each (same or substituted).
    Pair,
    /// A word of Tesseract's only.
    Tess,
    /// A word of the value reader's only.
    Second,
    /// Two Tesseract words the value reader read as one (`Lê Lợi` / `LêLợi`).
    TessSplit,
    /// One Tesseract word the value reader read as two.
    SecondSplit,
}

/// Aligns the two token lists (edit distance over words; a substitution costs the share of
/// letters that differ, so similar words pair up before unrelated ones).
fn align(a: &[Token], b: &[Token]) -> Vec<(Op, usize, usize)> {
    const GAP: f32 = 1.0;
    let (n, m) = (a.len(), b.len());
    let mut cost = vec![vec![f32::INFINITY; m + 1]; n + 1];
    let mut back = vec![vec![Op::Pair; m + 1]; n + 1];
    cost[0][0] = 0.0;
    let sub = |x: &str, y: &str| {
        let len = x.chars().count().max(y.chars().count()).max(1);
        edit_distance(&x.to_lowercase(), &y.to_lowercase()) as f32 / len as f32
    };
    for i in 0..=n {
        for j in 0..=m {
            let here = cost[i][j];
            if !here.is_finite() {
                continue;
            }
            let mut relax = |ni: usize, nj: usize, c: f32, op: Op| {
                if ni <= n && nj <= m && here + c < cost[ni][nj] {
                    cost[ni][nj] = here + c;
                    back[ni][nj] = op;
                }
            };
            if i < n && j < m {
                relax(i + 1, j + 1, sub(a[i].core, b[j].core), Op::Pair);
            }
            if i < n {
                relax(i + 1, j, GAP, Op::Tess);
            }
            if j < m {
                relax(i, j + 1, GAP, Op::Second);
            }
            // Only the very same letters count as one word read as two.
            if i + 1 < n && j < m && same(&format!("{}{}", a[i].core, a[i + 1].core), b[j].core) {
                relax(i + 2, j + 1, 0.1, Op::TessSplit);
            }
            if i < n && j + 1 < m && same(a[i].core, &format!("{}{}", b[j].core, b[j + 1].core)) {
                relax(i + 1, j + 2, 0.1, Op::SecondSplit);
            }
        }
    }
    let (mut i, mut j) = (n, m);
    let mut ops = Vec::new();
    while i > 0 || j > 0 {
        let op = back[i][j];
        let (di, dj) = match op {
            Op::Pair => (1, 1),
            Op::Tess => (1, 0),
            Op::Second => (0, 1),
            Op::TessSplit => (2, 1),
            Op::SecondSplit => (1, 2),
        };
        i -= di;
        j -= dj;
        ops.push((op, i, j));
    }
    ops.reverse();
    ops
}

/// Whether merging another reading into `tess` could change more than add a word Tesseract
/// missed: some word of it is neither a syllable nor a number, so the other reader's word would
/// replace it. With every word good, Tesseract's words all stand.
pub fn could_mend(tess: &str, lex: &Lexicon) -> bool {
    let words = tokens(tess);
    words.is_empty() || words.iter().any(|t| goodness(t.core, lex) < 2)
}

/// Tesseract's reading of a free-text value merged with the value reader's, word by word.
pub fn merge_text(tess: &str, second: &str, lex: &Lexicon) -> String {
    let (a, b) = (tokens(tess), tokens(second));
    let mut out: Vec<String> = Vec::new();
    let whole = |t: &Token| format!("{}{}{}", t.lead, t.core, t.trail);
    for (op, i, j) in align(&a, &b) {
        match op {
            Op::Pair => {
                let (x, y) = (&a[i], &b[j]);
                if goodness(y.core, lex) > goodness(x.core, lex) {
                    out.push(format!("{}{}{}", x.lead, y.core, x.trail));
                } else {
                    out.push(whole(x));
                }
            }
            Op::Tess => out.push(whole(&a[i])),
            Op::Second => {
                let y = &b[j];
                if y.core.chars().count() >= 2 && lex.knows(y.core) {
                    // The reader's commas are unreliable; its word is not.
                    out.push(format!(
                        "{}{}",
                        y.core,
                        if y.trail == "," { "," } else { "" }
                    ));
                }
            }
            // The same letters either way: the words kept apart.
            Op::TessSplit => {
                out.push(whole(&a[i]));
                out.push(whole(&a[i + 1]));
            }
            Op::SecondSplit => {
                let (x, y0, y1) = (&a[i], &b[j], &b[j + 1]);
                if goodness(y0.core, lex) + goodness(y1.core, lex) >= 4 {
                    out.push(format!("{}{}", x.lead, y0.core));
                    out.push(format!("{}{}", y1.core, x.trail));
                } else {
                    out.push(whole(x));
                }
            }
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex() -> Lexicon {
        Lexicon::from_words(
            "số xã huyện tỉnh thành phố phường quận thôn tổ ấp phụ sản bệnh viện cần thơ mỹ \
             khánh phong điền lê lợi hải phòng ngọc bình hòa an cao bằng tam hưng tâm nghi \
             thái lộc nghệ"
                .split_whitespace(),
        )
    }

    #[test]
    fn only_a_word_neither_syllable_nor_number_can_be_mended() {
        let lex = lex();
        assert!(!could_mend("Thôn 8, xã Nghi Phong, huyện Nghi Lộc", &lex));
        assert!(!could_mend("Số 160/60 Lê Lợi", &lex));
        assert!(could_mend("Thôn 8, buyện Nghi Lộc", &lex));
        assert!(could_mend("Số 358A Lê Lợi", &lex));
        assert!(could_mend("", &lex));
    }

    #[test]
    fn a_syllable_beats_a_misread_word_and_tesseract_wins_ties() {
        let l = lex();
        assert_eq!(
            merge_text(
                "Bệnh oiện Pbụ sản thành phố Cần Thơ",
                "Bệnh viện Phụ sản thành phố Cản Thơ",
                &l
            ),
            "Bệnh viện Phụ sản thành phố Cần Thơ"
        );
        // Both words are syllables: Tesseract's stands.
        assert_eq!(merge_text("xã Tam Hưng", "xã Tâm Hưng", &l), "xã Tam Hưng");
    }

    #[test]
    fn numbers_beat_letters_and_glued_words_stay_apart() {
        let l = lex();
        assert_eq!(
            merge_text("Số zs6 Lê Lợi, phường", "Số 256 LêLợi phường", &l),
            "Số 256 Lê Lợi, phường"
        );
        assert_eq!(merge_text("Tổ 6, ấp 5", "Tổ6, ấp 5", &l), "Tổ 6, ấp 5");
    }

    #[test]
    fn words_only_one_reader_saw() {
        let l = lex();
        // A line's end Tesseract dropped comes back; the reader's specks do not.
        assert_eq!(
            merge_text(
                "Thôn 1, xã Nghỉ Thái, huyện Nghi Lôc, tỉnh",
                "(3) Thôn 1, xã Nghi Thái, huyện Nghi Lỗc, tỉnh Nghệ An c.?n",
                &l
            ),
            "Thôn 1, xã Nghi Thái, huyện Nghi Lôc, tỉnh Nghệ An"
        );
        // Tesseract's words are never dropped, only its specks.
        assert_eq!(
            merge_text("°'` Số 9 Krông Pắc", "Số 9 Kiông", &l),
            "Số 9 Krông Pắc"
        );
    }

    #[test]
    fn a_hunspell_dictionary_loads_and_a_short_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("vi.dic");
        std::fs::write(&p, "3\nxã\nhuyện/A\n").unwrap();
        assert!(Lexicon::load(&p).is_err());
        let many: String = (0..1200).map(|i| format!("w{i}\n")).collect();
        std::fs::write(&p, format!("1201\nHuyện/A\n{many}")).unwrap();
        let l = Lexicon::load(&p).unwrap();
        assert!(l.knows("huyện") && l.knows("HUYỆN") && !l.knows("buyện"));
    }
}
