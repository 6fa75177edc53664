//! The chain of cross-reference sections a PDF's revisions form: `startxref` names the newest
//! section, each section's trailer (or cross-reference stream dictionary) names the one before
//! with `/Prev`. A chain that comes back to a section it has already passed is no revision
//! history at all: which revision's objects hold is undefined. lopdf stops at the repeat and
//! reads on; Pillow refuses such a file ("trailer loop found"), and so do we, as corrupt.
//!
//! Only a loop that is certain counts: a section that cannot be read here (an offset a little
//! off, which lopdf corrects, or a damaged table) ends the walk without a verdict.

use std::collections::HashSet;

/// Whether following `/Prev` from the section the last `startxref` names comes back to a section
/// already passed. Read from the file itself: lopdf rebuilds the table of a file whose chain
/// misses objects (Pillow's does) and then keeps no trace of the chain.
pub(super) fn prev_chain_loops(data: &[u8]) -> bool {
    let tail = &data[data.len().saturating_sub(1024)..];
    let Some(keyword) = tail.windows(9).rposition(|w| w == b"startxref") else {
        return false;
    };
    let number = skip_space(tail, keyword + 9);
    let digits = tail[number..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let start = std::str::from_utf8(&tail[number..number + digits]).ok();
    match start.and_then(|s| s.parse().ok()) {
        Some(start) => loops_from(data, start),
        None => false,
    }
}

/// Whether following `/Prev` from the section at `start` comes back to a section already passed.
fn loops_from(data: &[u8], start: usize) -> bool {
    let mut seen = HashSet::new();
    let mut at = start;
    // Each pass reads one trailer, so the walk is bounded by the file; the cap is for safety.
    for _ in 0..100_000 {
        at = skip_space(data, at);
        if !seen.insert(at) {
            return true;
        }
        match prev_of(data, at) {
            Some(prev) => at = prev,
            None => return false,
        }
    }
    false
}

/// The `/Prev` offset of the section at `at`; `None` when it has none or cannot be read.
fn prev_of(data: &[u8], at: usize) -> Option<usize> {
    let rest = data.get(at..)?;
    let dict = if rest.starts_with(b"xref") {
        // A table: its trailer follows the entries, which are digits, spaces, `n` and `f`.
        let table = rest[4..]
            .iter()
            .take_while(|b| b.is_ascii_digit() || b" \t\r\n\0\x0cfn".contains(b))
            .count();
        let trailer = 4 + table;
        rest[trailer..].starts_with(b"trailer").then_some(())?;
        skip_space(rest, trailer + 7)
    } else {
        // A cross-reference stream: `N G obj` and its dictionary.
        let mut i = 0;
        for _ in 0..2 {
            let digits = rest[i..].iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                return None;
            }
            i = skip_space(rest, i + digits);
        }
        skip_space(rest, i + rest.get(i..)?.strip_prefix(b"obj").map(|_| 3)?)
    };
    let value = top_level_value(rest.get(dict..)?, b"/Prev")?;
    let digits = value.iter().take_while(|b| b.is_ascii_digit()).count();
    let prev = std::str::from_utf8(&value[..digits]).ok()?.parse().ok()?;
    // `/Prev 12 0 R` is no offset.
    let after = skip_space(value, digits);
    if value.get(after).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    Some(prev)
}

/// What follows `key` at the top level of the dictionary `dict` starts with (`<<`), skipping
/// nested dictionaries, strings and hex strings; `None` when the key is not there.
fn top_level_value<'a>(dict: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    if !dict.starts_with(b"<<") {
        return None;
    }
    let (mut depth, mut i) = (0usize, 0);
    while i < dict.len() {
        match dict[i] {
            b'<' if dict.get(i + 1) == Some(&b'<') => {
                depth += 1;
                i += 2;
            }
            b'>' if dict.get(i + 1) == Some(&b'>') => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return None;
                }
                i += 2;
            }
            b'<' => i += find(&dict[i..], b">")? + 1,
            b'(' => i += string_end(&dict[i..])?,
            b'/' if depth == 1 && dict[i..].starts_with(key) => {
                let end = i + key.len();
                // `/Prev` and not `/PrevHash`.
                if dict.get(end).is_some_and(|b| b.is_ascii_alphanumeric()) {
                    i = end;
                    continue;
                }
                return Some(&dict[skip_space(dict, end)..]);
            }
            _ => i += 1,
        }
    }
    None
}

/// Length of the literal string `s` starts with, through its closing parenthesis.
fn string_end(s: &[u8]) -> Option<usize> {
    let (mut depth, mut i) = (0usize, 0);
    while i < s.len() {
        match s[i] {
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn skip_space(data: &[u8], mut at: usize) -> usize {
    while data.get(at).is_some_and(|b| b" \t\r\n\0\x0c".contains(b)) {
        at += 1;
    }
    at
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sections at the offsets named by `prevs` (`None`: no `/Prev`), each a one-entry table.
    fn chain(prevs: &[Option<usize>]) -> (Vec<u8>, Vec<usize>) {
        let mut out = b"%PDF-1.4\n".to_vec();
        let mut at = Vec::new();
        for p in prevs {
            at.push(out.len());
            // Fixed width, so that every variant of a chain has the same offsets.
            let prev = match p {
                Some(p) => format!("/Prev {p:010}"),
                None => format!("/None {:010}", 0),
            };
            out.extend(
                format!(
                    "xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 1 /ID [<ab> <cd>] \
                     /Info << /Title (a /Prev 9 \\) x) >> {prev} >>\n"
                )
                .bytes(),
            );
        }
        (out, at)
    }

    #[test]
    fn a_prev_chain_that_comes_back_loops_and_a_straight_one_does_not() {
        let (_, at) = chain(&[None, None, None]);
        let (data, _) = chain(&[None, Some(at[0]), Some(at[1])]);
        let tail = |mut d: Vec<u8>, start: usize| {
            d.extend_from_slice(format!("startxref\n{start}\n%%EOF\n").as_bytes());
            d
        };
        assert!(!prev_chain_loops(&tail(data, at[2])));
        let (data, _) = chain(&[Some(at[2]), Some(at[0]), Some(at[1])]);
        assert!(prev_chain_loops(&tail(data, at[2])));
        // A section naming itself, and a start a newline before the keyword.
        let (data, _) = chain(&[Some(at[0]), None, None]);
        assert!(prev_chain_loops(&tail(data, at[0] - 1)));
        // A section that is not there ends the walk without a verdict; so does no startxref.
        let (data, _) = chain(&[Some(3), None, None]);
        assert!(!loops_from(&data, at[0]));
        assert!(!prev_chain_loops(&data));
    }

    #[test]
    fn a_cross_reference_stream_names_its_predecessor_in_its_dictionary() {
        let data = b"%PDF-1.5\n7 0 obj\n<< /Type /XRef /Prev 9 /Size 8 >>\nstream\n";
        assert_eq!(prev_of(data, 9), Some(9));
        assert!(loops_from(data, 9));
        assert_eq!(prev_of(b"7 0 obj << /Prev 3 0 R >>", 0), None);
        assert_eq!(prev_of(b"7 0 obj << /PrevX 3 >>", 0), None);
    }
}
