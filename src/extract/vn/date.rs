//! Dates as `dd/mm/yyyy`, `ngày dd tháng mm năm yyyy` or spelled out in words → ISO `yyyy-mm-dd`;
//! years as four digits.

use std::sync::LazyLock;

use regex::Regex;

use super::numwords::parse_number;
use super::{Norm, Reason, repair_digits, tidy};
use crate::extract::fold::fold_words;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    pub year: u32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    pub fn new(year: u32, month: u32, day: u32) -> Result<Date, Reason> {
        if !(1900..=2100).contains(&year) {
            return Err(format!("year {year} out of range"));
        }
        if !(1..=12).contains(&month) {
            return Err(format!("month {month} does not exist"));
        }
        let leap =
            (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
        let days = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        if day == 0 || day > days {
            return Err(format!("{day}/{month}/{year} does not exist"));
        }
        Ok(Date { year, month, day })
    }

    pub fn iso(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// Parses the ISO form this module writes.
    pub fn from_iso(s: &str) -> Option<Date> {
        let mut it = s.splitn(3, '-').map(|p| p.parse::<u32>().ok());
        let (y, m, d) = (it.next()??, it.next()??, it.next()??);
        Date::new(y, m, d).ok()
    }
}

static NUMERIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|\D)(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})(?:\D|$)")
        .expect("valid regex")
});
static LABELLED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"ngay\s*(\d{1,2})\s*thang\s*(\d{1,2})\s*nam\s*(\d{4})").expect("valid regex")
});

/// `ngày 17 tháng 6 năm 2025` with `tháng` misread (`rháng`, `táng`, `1Nfhẳng`): the figures
/// and `năm` still make the date.
static LOOSE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\d{1,2})\s*[a-z]{2,6}\s*(\d{1,2})\s*nam\s*(\d{4})").expect("valid regex")
});

fn digits_date(s: &str) -> Option<Result<Date, Reason>> {
    let folded = fold_words(s).join(" ");
    let c = NUMERIC
        .captures(s)
        .or_else(|| LABELLED.captures(&folded))
        .or_else(|| LOOSE.captures(&folded))?;
    let n = |i: usize| c[i].parse::<u32>().unwrap_or(0);
    Some(Date::new(n(3), n(2), n(1)))
}

fn as_refs(r: &[String]) -> Vec<&str> {
    r.iter().map(String::as_str).collect()
}

/// `ngày <words> tháng <words> năm <words>`; "năm" is both the word for year and the number 5, so
/// every split of the words after "tháng" is tried and the first one that makes a date wins.
fn words_date(s: &str) -> Option<Date> {
    let w = fold_words(s);
    let ngay = w.iter().position(|x| x == "ngay")?;
    let thang = ngay + w[ngay..].iter().position(|x| x == "thang")?;
    let day = parse_number(&as_refs(&w[ngay + 1..thang]))?;
    let rest = &w[thang + 1..];
    (1..rest.len()).filter(|&k| rest[k] == "nam").find_map(|k| {
        let month = parse_number(&as_refs(&rest[..k]))?;
        let year = parse_number(&as_refs(&rest[k + 1..]))?;
        Date::new(year, month, day).ok()
    })
}

pub fn date(raw: &str) -> Result<Norm, Reason> {
    let v = tidy(raw);
    if v.is_empty() {
        return Err("empty".into());
    }
    match digits_date(&v) {
        Some(Ok(d)) => return Ok(Norm::unchecked(d.iso())),
        Some(Err(e)) => return Err(e),
        None => {}
    }
    if let Some(d) = words_date(&v) {
        return Ok(Norm::unchecked(d.iso()));
    }
    // Digit look-alikes: only a repair that yields a real date is kept.
    let (fixed, subs) = repair_digits(&v);
    if !subs.is_empty()
        && let Some(Ok(d)) = digits_date(&fixed)
    {
        return Ok(Norm {
            value: d.iso(),
            repair: Some(subs.join(", ")),
            checked: false,
        });
    }
    Err(format!("{v:?} is not a date"))
}

pub fn year(raw: &str) -> Result<Norm, Reason> {
    let v = tidy(raw);
    let parse = |s: &str| {
        let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (t.len() == 4 && t.chars().all(|c| c.is_ascii_digit()))
            .then(|| t.parse::<u32>().ok())
            .flatten()
            .filter(|y| (1900..=2100).contains(y))
    };
    if let Some(y) = parse(&v) {
        return Ok(Norm::unchecked(y.to_string()));
    }
    let (fixed, subs) = repair_digits(&v);
    match parse(&fixed) {
        Some(y) if !subs.is_empty() => Ok(Norm {
            value: y.to_string(),
            repair: Some(subs.join(", ")),
            checked: false,
        }),
        _ => Err(format!("{v:?} is not a year")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_dates() {
        assert_eq!(date("16/11/1972").unwrap().value, "1972-11-16");
        assert_eq!(date(": 5-3-2020 ....").unwrap().value, "2020-03-05");
        assert_eq!(
            date("ngày 07 tháng 05 năm 2020").unwrap().value,
            "2020-05-07"
        );
        assert_eq!(
            date("Phường 1, ngày 07 tháng 05 năm 2020").unwrap().value,
            "2020-05-07"
        );
        // `tháng` misread: the figures around it and `năm` still tell.
        for s in [
            "Hải Phòng, ngày 17... rháng 6.... năm 2025",
            "Tày17 táng 6 năm 2025",
        ] {
            assert_eq!(date(s).unwrap().value, "2025-06-17", "{s}");
        }
        assert!(date("ngày 17 và 6 người năm 2025").is_err());
    }

    #[test]
    fn dates_in_words() {
        let d = "ngày hai mươi lăm tháng năm năm hai nghìn không trăm hai mươi";
        assert_eq!(date(d).unwrap().value, "2020-05-25");
        assert_eq!(
            date("ngày mồng một tháng mười hai năm một nghìn chín trăm chín mươi")
                .unwrap()
                .value,
            "1990-12-01"
        );
    }

    #[test]
    fn repairs_only_into_real_dates() {
        let r = date("16/1I/1972").unwrap();
        assert_eq!(r.value, "1972-11-16");
        assert_eq!(r.repair.as_deref(), Some("I→1"));
        let r = date("O7/O5/2O2O").unwrap();
        assert_eq!(r.value, "2020-05-07");
        assert!(date("16/1X/1972").is_err());
    }

    #[test]
    fn bad_dates() {
        assert!(date("31/02/2020").is_err());
        assert!(date("29/02/2021").is_err());
        assert!(date("29/02/2020").is_ok());
        assert!(date("12/13/2020").is_err());
        assert!(date("01/01/1850").is_err());
        assert!(date("hôm qua").is_err());
        assert!(date("").is_err());
    }

    #[test]
    fn years() {
        assert_eq!(year("1996").unwrap().value, "1996");
        let r = year("199O").unwrap();
        assert_eq!(
            (r.value.as_str(), r.repair.as_deref()),
            ("1990", Some("O→0"))
        );
        assert!(year("96").is_err());
        assert!(year("3000").is_err());
        assert!(year("năm").is_err());
    }

    #[test]
    fn iso_round_trip() {
        assert_eq!(Date::from_iso("2020-05-25").unwrap().iso(), "2020-05-25");
        assert!(Date::from_iso("2020-02-30").is_none());
    }
}
