//! Personal ID (số định danh cá nhân): 12 digits = province code (3) + century/sex digit
//! (0/1 = male/female born 1900s, 2/3 = 2000s) + birth year (2) + serial (6). Old CMND: 9 digits.

use super::date::Date;
use super::lists::province;
use super::{Norm, Reason, repair_digits, tidy};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalId {
    pub digits: String,
    pub province: &'static str,
    pub female: bool,
    pub birth_year: u32,
}

impl PersonalId {
    /// Structure of a 12-digit ID; the reason names the part that is wrong.
    pub fn parse(digits: &str) -> Result<PersonalId, Reason> {
        if digits.len() != 12 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("{digits:?} is not 12 digits"));
        }
        let prov = province(&digits[..3])
            .ok_or_else(|| format!("{} is not a province code", &digits[..3]))?;
        let cs: u32 = digits[3..4].parse().unwrap_or(9);
        if cs > 3 {
            return Err(format!(
                "century/sex digit {cs} is not 0–3 (born 1900–2099)"
            ));
        }
        let yy: u32 = digits[4..6].parse().unwrap_or(0);
        Ok(PersonalId {
            digits: digits.to_string(),
            province: prov,
            female: cs % 2 == 1,
            birth_year: 1900 + 100 * (cs / 2) + yy,
        })
    }

    /// The ID must encode this birth year.
    pub fn check_birth_year(&self, year: u32) -> Result<(), Reason> {
        if self.birth_year == year {
            Ok(())
        } else {
            Err(format!(
                "ID encodes birth year {}, stated {year}",
                self.birth_year
            ))
        }
    }

    pub fn check_birth_date(&self, d: &Date) -> Result<(), Reason> {
        self.check_birth_year(d.year)
    }

    /// `sex` as normalized by [`super::sex`]: "Nam" or "Nữ".
    pub fn check_sex(&self, sex: &str) -> Result<(), Reason> {
        let female = match sex {
            "Nữ" => true,
            "Nam" => false,
            other => return Err(format!("sex {other:?} unknown")),
        };
        if female == self.female {
            Ok(())
        } else {
            Err(format!(
                "ID encodes {}, stated {sex}",
                if self.female { "Nữ" } else { "Nam" }
            ))
        }
    }
}

/// How many characters of the raw reading of an ID a normalized `value` changed: replaced look-
/// alikes and dropped or added digits (spaces and dots do not count).
pub fn repaired_chars(raw: &str, value: &str) -> usize {
    let compact: String = raw.chars().filter(|c| c.is_alphanumeric()).collect();
    strsim::levenshtein(&compact, value)
}

/// 12-digit IDs are checked for structure (province code, century/sex digit); look-alike letters
/// are repaired only when the result has that structure. 9-digit CMND numbers pass unchecked.
/// Digits with single spaces or dots between them.
static GROUPS: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(r"\d(?:[ .]?\d)+").expect("valid regex"));

pub fn personal_id(raw: &str) -> Result<Norm, Reason> {
    // "Căn.cước.số.083053926520...Bô.Công": the words of the ID paper glued to its number by
    // leader dots. One run of 12 (or 9) digits among words is the number.
    let parts: Vec<&str> = raw
        .split(|c: char| !c.is_alphanumeric())
        .filter(|p| !p.is_empty())
        .collect();
    let numbers: Vec<&str> = parts
        .iter()
        .copied()
        .filter(|p| p.chars().all(|c| c.is_ascii_digit()) && matches!(p.len(), 9 | 12))
        .collect();
    if let [number] = numbers.as_slice()
        && parts.iter().any(|p| p.chars().any(char::is_alphabetic))
    {
        return personal_id(number);
    }
    // "0831 73045002", "số.08908061.579.7.cấp.ngày": the number read in groups, split by a
    // space or a dot. One run of groups that makes 12 digits is the number.
    if numbers.is_empty() {
        let runs: Vec<String> = GROUPS
            .find_iter(raw)
            .map(|m| m.as_str().chars().filter(char::is_ascii_digit).collect())
            .filter(|d: &String| d.len() == 12)
            .collect();
        if let [number] = runs.as_slice() {
            return personal_id(number);
        }
    }
    let v = tidy(raw);
    let mut compact: String = v
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '.' && *c != ':')
        .collect();
    // "Căn cước số.001192014387": the word before the number, read glued to it.
    let mut head = compact.chars();
    if let (Some(a), Some(b), Some(c)) = (head.next(), head.next(), head.next())
        && crate::extract::fold::fold(&format!("{a}{b}")) == "so"
        && c.is_ascii_digit()
    {
        compact = compact.chars().skip(2).collect();
    }
    if compact.is_empty() {
        return Err("empty".into());
    }
    if compact.len() == 9 && compact.chars().all(|c| c.is_ascii_digit()) {
        return Ok(Norm::unchecked(compact));
    }
    if compact.len() == 13 && compact.chars().all(|c| c.is_ascii_digit()) {
        return doubled_digit(&compact);
    }
    if compact.chars().all(|c| c.is_ascii_digit()) {
        // Structure alone does not prove the serial digits: validators against the stated birth
        // date and sex (or a second reading) do.
        PersonalId::parse(&compact)?;
        return Ok(Norm::unchecked(compact));
    }
    let (fixed, subs) = repair_digits(&compact);
    if subs.is_empty() {
        return Err(format!("{compact:?} is not a personal ID"));
    }
    let id =
        PersonalId::parse(&fixed).map_err(|e| format!("{compact:?} is not a personal ID ({e})"))?;
    Ok(Norm {
        value: id.digits,
        repair: Some(subs.join(", ")),
        checked: false,
    })
}

/// OCR sometimes reads one digit twice. Dropping one digit of an adjacent equal pair is kept when
/// exactly one such drop gives a well-formed ID.
fn doubled_digit(s: &str) -> Result<Norm, Reason> {
    let b = s.as_bytes();
    let mut found: Vec<String> = (1..b.len())
        .filter(|&i| b[i] == b[i - 1])
        .map(|i| format!("{}{}", &s[..i], &s[i + 1..]))
        .filter(|c| PersonalId::parse(c).is_ok())
        .collect();
    found.dedup();
    match found.as_slice() {
        [one] => Ok(Norm {
            value: one.clone(),
            repair: Some("a doubled digit dropped".into()),
            checked: false,
        }),
        _ => Err(format!("{s:?} has 13 digits")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_ids() {
        let n = personal_id("072172124924").unwrap();
        assert_eq!(n.value, "072172124924");
        let id = PersonalId::parse("072172124924").unwrap();
        assert_eq!(
            (id.province, id.female, id.birth_year),
            ("Tây Ninh", true, 1972)
        );
        let id = PersonalId::parse("040300167123").unwrap();
        assert_eq!((id.female, id.birth_year), (true, 2000));
        assert!(id.check_birth_year(2000).is_ok());
        assert!(id.check_sex("Nữ").is_ok());
        assert_eq!(personal_id("123456789").unwrap().value, "123456789");
        assert!(!personal_id("123456789").unwrap().checked);
    }

    #[test]
    fn the_number_is_found_among_the_words_glued_to_it() {
        let n = personal_id("Căn.cước.số.083053926520...Bô.Công").unwrap();
        assert_eq!(n.value, "083053926520");
        assert_eq!(
            personal_id("025177893633.cấp").unwrap().value,
            "025177893633"
        );
        // Two numbers: nothing to choose by.
        assert!(personal_id("số.083053926520.và.083053926521").is_err());
    }

    #[test]
    fn a_number_read_in_groups_is_joined() {
        assert_eq!(personal_id("0831 73045002").unwrap().value, "083173045002");
        assert_eq!(
            personal_id("Găn.cước.công.dân.số.08908061.579.7.cấp.ngày.26/9/2023")
                .unwrap()
                .value,
            "089080615797"
        );
        // Two runs that could each be the number: none is taken.
        assert!(personal_id("0831 73045002 và 0831 73045003.").is_err());
    }

    #[test]
    fn repairs_look_alikes_only_into_valid_ids() {
        let n = personal_id("O72172124924").unwrap();
        assert_eq!(n.value, "072172124924");
        assert_eq!(n.repair.as_deref(), Some("O→0"));
        let n = personal_id("0721 7212 4924").unwrap();
        assert_eq!(n.value, "072172124924");
        let n = personal_id("0544091605169").unwrap();
        assert_eq!(n.value, "054091605169");
        assert!(n.repair.is_some());
        // Dropping either zero leaves province 041, which does not exist.
        assert!(personal_id("0041096985201").is_err());
        // Repaired into an unknown province: refused.
        assert!(personal_id("O03172124924").is_err());
    }

    #[test]
    fn bad_ids() {
        assert!(personal_id("").is_err());
        assert!(personal_id("07217212492").is_err(), "11 digits");
        assert!(personal_id("003172124924").is_err(), "no province 003");
        assert!(personal_id("072572124924").is_err(), "century digit 5");
        assert!(personal_id("Nguyễn Văn A").is_err());
        let id = PersonalId::parse("072172124924").unwrap();
        assert!(id.check_birth_year(1973).is_err());
        assert!(id.check_sex("Nam").is_err());
        assert!(id.check_sex("?").is_err());
    }
}
