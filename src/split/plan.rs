//! Where a scanned stack splits into dossiers, from what each page shows: separator sheets
//! (a code whose text is one of the configured separator texts, e.g. paperless-ngx's
//! `PATCHT`), counter receipts (a QR code `<receipt prefix><dossier code>`: the pages from it
//! on belong to that dossier), blank pages, and codes seen but too damaged to read (reported,
//! never guessed, and never split at). Pure: the worker reads the pages, this decides.

use serde::Serialize;

use super::codes::Code;

/// What splitting looks for; `[split]` in the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// Texts of separator sheets (QR or Code 39), compared exactly.
    pub separators: Vec<String>,
    /// QR payloads starting with this are counter receipts; the rest is the dossier code.
    pub receipt_prefix: String,
    /// Separator sheets are not kept as pages of any dossier.
    pub drop_separators: bool,
    /// Blank pages (a duplex scan's empty backs) are not kept.
    pub drop_blank: bool,
    pub blank_split: BlankSplit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlankSplit {
    /// Blank pages never split.
    Off,
    /// Two blank pages in a row (an empty sheet in a duplex scan) split.
    Sheet,
    /// Every blank page splits (simplex scans only: a duplex scan's blank backs would too).
    Page,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            separators: vec!["PATCHT".into(), "MOTCUA-SEPARATOR".into()],
            receipt_prefix: "MOTCUA-HS:".into(),
            drop_separators: true,
            drop_blank: true,
            blank_split: BlankSplit::Off,
        }
    }
}

/// What one page of the stack showed.
#[derive(Debug, Clone, Default)]
pub struct PageSeen {
    pub codes: Vec<Code>,
    pub blank: bool,
    /// A code was found on the page but could not be read.
    pub unreadable_code: bool,
}

/// Where a group of pages goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "code", rename_all = "snake_case")]
pub enum Target {
    /// The dossier the stack was uploaded to (pages before any separator or receipt).
    Upload,
    /// The dossier a receipt names.
    Dossier(String),
    /// A new dossier, of the upload's procedure and unit.
    New,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub target: Target,
    /// Page indices (0-based) of the stack, in order.
    pub pages: Vec<usize>,
}

/// Why a page is in no group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dropped {
    Separator,
    Blank,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Plan {
    pub groups: Vec<Group>,
    pub dropped: Vec<(usize, Dropped)>,
    /// Pages with a code that could not be read: a clerk should look (the stack was not split
    /// there).
    pub unreadable: Vec<usize>,
}

enum Signal {
    Separator,
    Receipt(String),
    Blank,
    Content,
}

fn signal(rules: &Rules, p: &PageSeen) -> Signal {
    for c in &p.codes {
        if rules.separators.iter().any(|s| *s == c.text.trim()) {
            return Signal::Separator;
        }
        if let Some(code) = c.text.trim().strip_prefix(rules.receipt_prefix.as_str())
            && !code.is_empty()
            && c.symbology == super::codes::Symbology::Qr
        {
            return Signal::Receipt(code.to_string());
        }
    }
    if p.blank && p.codes.is_empty() && !p.unreadable_code {
        Signal::Blank
    } else {
        Signal::Content
    }
}

/// The groups of `pages` under `rules`.
pub fn plan(rules: &Rules, pages: &[PageSeen]) -> Plan {
    let mut out = Plan::default();
    let mut current = Group {
        target: Target::Upload,
        pages: Vec::new(),
    };
    // Blank pages in a row (`BlankSplit::Sheet`).
    let mut blank_run = 0usize;
    let close = |out: &mut Plan, g: &mut Group, next: Target| {
        let done = std::mem::replace(
            g,
            Group {
                target: next,
                pages: Vec::new(),
            },
        );
        if !done.pages.is_empty() {
            out.groups.push(done);
        }
    };
    for (i, p) in pages.iter().enumerate() {
        if p.unreadable_code && p.codes.is_empty() {
            out.unreadable.push(i);
        }
        match signal(rules, p) {
            Signal::Separator => {
                blank_run = 0;
                close(&mut out, &mut current, Target::New);
                if rules.drop_separators {
                    out.dropped.push((i, Dropped::Separator));
                } else {
                    current.pages.push(i);
                }
            }
            Signal::Receipt(code) => {
                blank_run = 0;
                close(&mut out, &mut current, Target::Dossier(code));
                current.pages.push(i);
            }
            Signal::Blank => {
                blank_run += 1;
                let split = match rules.blank_split {
                    BlankSplit::Off => false,
                    BlankSplit::Page => true,
                    BlankSplit::Sheet => blank_run == 2,
                };
                if split {
                    close(&mut out, &mut current, Target::New);
                }
                if rules.drop_blank {
                    out.dropped.push((i, Dropped::Blank));
                } else {
                    current.pages.push(i);
                }
            }
            Signal::Content => {
                blank_run = 0;
                current.pages.push(i);
            }
        }
    }
    close(&mut out, &mut current, Target::New);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::codes::Symbology;

    fn page(codes: &[(Symbology, &str)], blank: bool) -> PageSeen {
        PageSeen {
            codes: codes
                .iter()
                .map(|(s, t)| Code {
                    symbology: *s,
                    text: t.to_string(),
                    points: Vec::new(),
                })
                .collect(),
            blank,
            unreadable_code: false,
        }
    }

    fn text() -> PageSeen {
        page(&[], false)
    }

    fn blank() -> PageSeen {
        page(&[], true)
    }

    fn groups(p: &Plan) -> Vec<(Target, Vec<usize>)> {
        p.groups
            .iter()
            .map(|g| (g.target.clone(), g.pages.clone()))
            .collect()
    }

    #[test]
    fn separators_and_receipts_split_blank_backs_are_dropped() {
        use Symbology::*;
        let pages = [
            text(),                                           // 0 the upload's dossier
            blank(),                                          // 1 its back
            page(&[(Code39, "PATCHT")], false),               // 2 separator
            blank(),                                          // 3 the separator's back
            text(),                                           // 4 a new dossier
            text(),                                           // 5
            page(&[(Qr, "MOTCUA-SEPARATOR")], false),         // 6 separator
            page(&[(Qr, "MOTCUA-HS:HN-2026-000123")], false), // 7 receipt
            text(),                                           // 8 that dossier
            page(&[(Qr, "https://cccd.example/123")], false), // 9 an ID card's QR: content
        ];
        let p = plan(&Rules::default(), &pages);
        assert_eq!(
            groups(&p),
            [
                (Target::Upload, vec![0]),
                (Target::New, vec![4, 5]),
                (Target::Dossier("HN-2026-000123".into()), vec![7, 8, 9]),
            ]
        );
        assert_eq!(
            p.dropped,
            [
                (1, Dropped::Blank),
                (2, Dropped::Separator),
                (3, Dropped::Blank),
                (6, Dropped::Separator)
            ]
        );
        assert!(p.unreadable.is_empty());
    }

    #[test]
    fn a_code_too_damaged_to_read_is_reported_and_not_split_at() {
        let mut damaged = page(&[], false);
        damaged.unreadable_code = true;
        let pages = [text(), damaged, text()];
        let p = plan(&Rules::default(), &pages);
        assert_eq!(groups(&p), [(Target::Upload, vec![0, 1, 2])]);
        assert_eq!(p.unreadable, [1]);
    }

    #[test]
    fn blank_splitting_by_page_or_by_empty_sheet() {
        let pages = [text(), blank(), text(), blank(), blank(), text()];
        let sheet = Rules {
            blank_split: BlankSplit::Sheet,
            ..Rules::default()
        };
        // One blank back does not split; an empty sheet (two blank sides) does.
        assert_eq!(
            groups(&plan(&sheet, &pages)),
            [(Target::Upload, vec![0, 2]), (Target::New, vec![5])]
        );
        let by_page = Rules {
            blank_split: BlankSplit::Page,
            ..Rules::default()
        };
        assert_eq!(
            groups(&plan(&by_page, &pages)),
            [
                (Target::Upload, vec![0]),
                (Target::New, vec![2]),
                (Target::New, vec![5])
            ]
        );
        // Kept blank pages stay in their group; kept separators start theirs.
        let keep = Rules {
            drop_blank: false,
            drop_separators: false,
            ..Rules::default()
        };
        let pages = [
            text(),
            blank(),
            page(&[(Symbology::Code39, "PATCHT")], false),
            text(),
        ];
        assert_eq!(
            groups(&plan(&keep, &pages)),
            [(Target::Upload, vec![0, 1]), (Target::New, vec![2, 3])]
        );
    }

    #[test]
    fn a_stack_of_nothing_but_separators_has_no_group() {
        let sep = page(&[(Symbology::Code39, "PATCHT")], false);
        let p = plan(&Rules::default(), &[sep.clone(), blank(), sep]);
        assert!(p.groups.is_empty());
        assert_eq!(p.dropped.len(), 3);
    }
}
