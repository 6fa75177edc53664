//! Values from closed lists: sex, ethnic group, nationality, relation.

use super::lists::{ETHNIC_GROUPS, NATIONALITIES, RELATIONS, SEXES};
use super::{Norm, Reason, tidy};
use crate::extract::fold::fold;
use crate::text::nfc;

/// Exact spelling (any case) is proven. A spelling equal without diacritics to exactly one entry
/// is repaired to it (OCR loses and confuses marks) and proven too, since the list is closed and
/// the folded forms of its entries differ.
/// The list entry `raw` is, or failing that the entry its first words are (a value read with
/// the leader after it as garbage: `Nữ xin các chi, 0ï á`), recorded as a repair and unchecked.
fn closed(raw: &str, list: &[&[&str]], what: &str) -> Result<Norm, Reason> {
    let whole = closed_exact(raw, list, what);
    if whole.is_ok() {
        return whole;
    }
    let v = tidy(&super::drop_leader_dots(raw, false));
    let words: Vec<&str> = v.split_whitespace().collect();
    for k in (1..words.len().min(5)).rev() {
        let head = words[..k].join(" ");
        if let Ok(mut n) = closed_exact(&head, list, what) {
            // What followed was not read as part of it: the entry is likely, not proven.
            n.repair = Some(format!("{v} → {}", n.value));
            n.checked = false;
            return Ok(n);
        }
    }
    whole
}

fn closed_exact(raw: &str, list: &[&[&str]], what: &str) -> Result<Norm, Reason> {
    let v = tidy(raw);
    if v.is_empty() {
        return Err("empty".into());
    }
    let lower = nfc(&v).to_lowercase();
    for entry in list {
        if entry.iter().any(|s| nfc(s).to_lowercase() == lower) {
            let canon = entry[0].to_string();
            let mut n = Norm::checked(canon.clone());
            if canon.to_lowercase() != lower {
                n.repair = Some(format!("{v} → {canon}"));
            }
            return Ok(n);
        }
    }
    let key = fold(&v);
    let hits: Vec<&[&str]> = list
        .iter()
        .copied()
        .filter(|e| e.iter().any(|s| fold(s) == key))
        .collect();
    match hits.as_slice() {
        [one] => Ok(Norm {
            value: one[0].to_string(),
            repair: Some(format!("{v} → {}", one[0])),
            checked: true,
        }),
        [] => Err(format!("{v:?} is not a known {what}")),
        _ => Err(format!("{v:?} could be more than one {what}")),
    }
}

pub fn sex(raw: &str) -> Result<Norm, Reason> {
    closed(raw, SEXES, "sex")
}

pub fn ethnicity(raw: &str) -> Result<Norm, Reason> {
    closed(raw, ETHNIC_GROUPS, "ethnic group")
}

/// A kin term is proven; any other wording (`Người làm chứng`, a hospital's representative) is
/// kept as written, unchecked: the list is of what is usual, not of what is allowed.
pub fn relation(raw: &str) -> Result<Norm, Reason> {
    closed(raw, RELATIONS, "relation").or_else(|_| super::text(raw))
}

/// Việt Nam is proven; another nationality is kept as written, unchecked.
pub fn nationality(raw: &str) -> Result<Norm, Reason> {
    closed(raw, NATIONALITIES, "nationality").or_else(|_| {
        let v = tidy(raw);
        if v.chars().any(|c| c.is_ascii_digit()) || v.is_empty() {
            Err(format!("{v:?} is not a nationality"))
        } else if let Some(n) = near_viet_nam(&v) {
            Ok(n)
        } else {
            Ok(Norm::unchecked(v))
        }
    })
}

/// Nearly every form states Việt Nam, and OCR drops or doubles a letter of it (`ViệNm`,
/// `Việ Nam`, `Việt Nam mm`). Within two edits of it (no other nationality is) the value is
/// repaired, but left unchecked: an edit distance proves nothing.
fn near_viet_nam(v: &str) -> Option<Norm> {
    let key = fold(v);
    let target = "vietnam";
    (key.chars().count() >= 5 && strsim::levenshtein(&key, target) <= 2).then(|| Norm {
        value: "Việt Nam".into(),
        repair: Some(format!("{v} → Việt Nam")),
        checked: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sex_good_and_bad() {
        assert_eq!(sex("Nữ").unwrap().value, "Nữ");
        assert_eq!(sex("NAM").unwrap().value, "Nam");
        let r = sex("Nu").unwrap();
        assert_eq!((r.value.as_str(), r.checked), ("Nữ", true));
        assert!(r.repair.is_some());
        assert!(sex("Nừa").is_err());
        assert!(sex("").is_err());
    }

    #[test]
    fn relation_from_kin_terms_and_any_other_wording_unchecked() {
        let r = relation("Mẹ").unwrap();
        assert_eq!(
            (r.value.as_str(), r.checked, r.repair.is_none()),
            ("Mẹ", true, true)
        );
        // A mark lost: one kin term folds to it.
        let r = relation("Me").unwrap();
        assert_eq!((r.value.as_str(), r.checked), ("Mẹ", true));
        assert!(r.repair.is_some());
        assert_eq!(relation("CON TRAI").unwrap().value, "Con trai");
        // `Ba` is a father in the south and `Bà` a grandmother: neither is repaired.
        let r = relation("Ba").unwrap();
        assert_eq!(
            (r.value.as_str(), r.checked, r.repair.is_none()),
            ("Ba", true, true)
        );
        let r = relation("Người làm chứng").unwrap();
        assert_eq!((r.value.as_str(), r.checked), ("Người làm chứng", false));
    }

    #[test]
    fn ethnicity_good_and_bad() {
        assert_eq!(ethnicity("H'Mông").unwrap().value, "H'Mông");
        assert_eq!(ethnicity("Mông").unwrap().value, "H'Mông");
        assert_eq!(ethnicity("Tay").unwrap().value, "Tày");
        // Folded spellings that fit two entries are refused, not guessed.
        let list: &[&[&str]] = &[&["Tày"], &["Tây"]];
        assert!(
            closed("Tay", list, "group")
                .unwrap_err()
                .contains("more than one")
        );
        assert_eq!(ethnicity("Thai").unwrap().value, "Thái");
        assert!(ethnicity("Klingon").is_err());
    }

    #[test]
    fn nationality_good_and_bad() {
        let v = nationality("Viet Nam").unwrap();
        assert_eq!((v.value.as_str(), v.checked), ("Việt Nam", true));
        let other = nationality("Lào").unwrap();
        assert!(!other.checked);
        assert!(nationality("12").is_err());
        for near in ["ViệNm", "Việ Nam", "Việt Nam mm"] {
            let n = nationality(near).unwrap();
            assert_eq!((n.value.as_str(), n.checked), ("Việt Nam", false), "{near}");
            assert!(n.repair.is_some());
        }
        for far in ["Việt Kiều Pháp", "Nhật Bản"] {
            assert_eq!(nationality(far).unwrap().value, far);
        }
    }
}
